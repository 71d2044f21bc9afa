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
# Report a task stuck in D state within SHMIPC_HUNG_TASK_SECS (10 s), not
# the default 120 s.  Set on the kernel command line (VM_APPEND): the debug
# lane gives more, as KASAN under TCG makes legitimate waits ~10x longer.
[ -w /proc/sys/kernel/hung_task_timeout_secs ] &&
	echo "${SHMIPC_HUNG_TASK_SECS:-10}" > /proc/sys/kernel/hung_task_timeout_secs
# Debug kernels: kmemleak scans only when asked (at the end, below).  Its
# automatic scan would slow the tests and hold the scan lock, on which
# its thread then sleeps uninterruptibly: a false hung task.  The thread
# still sleeps out its first minute, so stopping it cannot race a scan.
kmemleak=/sys/kernel/debug/kmemleak
# Leaks from before the module (the kernel's own, found by a first scan
# once boot's objects are 5 s old) are cleared: they are not ours.
if [ -e $kmemleak ]; then
	echo scan=off > $kmemleak || echo "@@SHMIPC-FAIL kmemleak: scan=off refused"
	sleep 6
	{ echo scan > $kmemleak && echo clear > $kmemleak; } ||
		echo "@@SHMIPC-FAIL kmemleak: scan refused (kmemleak disabled?)"
elif [ -n "${SHMIPC_KMEMLEAK:-}" ]; then
	echo "@@SHMIPC-FAIL kmemleak wanted (SHMIPC_KMEMLEAK) but $kmemleak is missing"
fi
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

# Debug kernels: report leaks now (objects must be 5 s old to count; a
# second scan confirms what the first found).  A refused scan means
# kmemleak turned itself off (an internal error): that fails the run.
if [ -e $kmemleak ]; then
	sleep 6
	echo "@@SHMIPC-KMEMLEAK-SCAN $(cut -d' ' -f1 /proc/uptime)"
	if echo scan > $kmemleak && echo scan > $kmemleak; then
		echo "@@SHMIPC-KMEMLEAK-BEGIN $(cut -d' ' -f1 /proc/uptime)"
		cat $kmemleak
		echo "@@SHMIPC-KMEMLEAK-END"
	else
		echo "@@SHMIPC-FAIL kmemleak: scan refused (kmemleak disabled?)"
	fi
fi

echo "@@SHMIPC-DMESG-BEGIN"
dmesg
echo "@@SHMIPC-DMESG-END"
echo "@@SHMIPC-DONE"
poweroff -f
