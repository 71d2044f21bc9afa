#!/bin/sh
# /init of the test VM (busybox): set up, load shmipc.ko, run /guest.sh,
# dump dmesg between markers for the host to check, power off.
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# Report a task stuck in D state within 10 s, not the default 120 s.
[ -w /proc/sys/kernel/hung_task_timeout_secs ] &&
	echo 10 > /proc/sys/kernel/hung_task_timeout_secs
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp SHMIPC_KO=/shmipc.ko
cd /tmp || exit 1

# Kernel reports stamped before this are not the module's (summarize.sh).
echo "@@SHMIPC-INSMOD-AT $(cut -d' ' -f1 /proc/uptime)"
if ! insmod /shmipc.ko; then
	echo "@@SHMIPC-FAIL insmod /shmipc.ko failed"
elif [ ! -c /dev/shmipc ]; then
	echo "@@SHMIPC-FAIL /dev/shmipc missing after insmod"
else
	sh /guest.sh
fi

# Debug kernels: report leaks now (objects must be 5 s old to count).
if [ -w /sys/kernel/debug/kmemleak ]; then
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak
fi

echo "@@SHMIPC-DMESG-BEGIN"
dmesg
echo "@@SHMIPC-DMESG-END"
echo "@@SHMIPC-DONE"
poweroff -f
