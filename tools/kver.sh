#!/bin/bash
# Print the Debian kernel version to build and boot against: $KVER if set,
# else the newest /usr/src/linux-headers-*-amd64 that has a /boot/vmlinuz.
# Never `uname -r`: the kernel this machine runs is not Debian's.
set -euo pipefail

if [ -n "${KVER:-}" ]; then
	echo "$KVER"
	exit 0
fi
for d in $(printf '%s\n' /usr/src/linux-headers-*-amd64 | sort -rV); do
	v=${d#/usr/src/linux-headers-}
	if [ -e "/boot/vmlinuz-$v" ] && [ -e "/lib/modules/$v/build" ]; then
		echo "$v"
		exit 0
	fi
done
echo "kver: no /usr/src/linux-headers-*-amd64 with a matching /boot/vmlinuz-*" \
	"(apt-get install linux-image-amd64 linux-headers-amd64, or set KVER=)" >&2
exit 1
