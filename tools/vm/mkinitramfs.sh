#!/bin/bash
# Build an uncompressed busybox initramfs for the test VM (uncompressed:
# under TCG, decompressing in the guest costs more than reading the bytes).
# Usage: mkinitramfs.sh -o OUT -k MODULE.ko -g GUEST_SCRIPT [-t TESTDIR] [-b FILE]...
#   /shmipc.ko <- MODULE.ko, /guest.sh <- GUEST_SCRIPT (run by /init),
#   /tests/ <- TESTDIR (its top-level executables are the tests; helpers
#   they need go in subdirectories), /bin/ <- each FILE.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out='' ko='' guest='' testdir='' bins=()
while getopts o:k:g:t:b: opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) ko=$OPTARG ;;
	g) guest=$OPTARG ;;
	t) testdir=$OPTARG ;;
	b) bins+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
if [ -z "$out" ] || [ -z "$ko" ] || [ -z "$guest" ]; then
	echo "usage: $0 -o OUT -k MODULE.ko -g GUEST_SCRIPT [-t TESTDIR] [-b FILE]..." >&2
	exit 2
fi
[ -f "$ko" ] || { echo "mkinitramfs: no module $ko (make module)" >&2; exit 1; }
busybox=/bin/busybox	# from busybox-static: the guest has no libc
if readelf -l "$busybox" 2>/dev/null | grep -q INTERP; then
	echo "mkinitramfs: $busybox is dynamic (apt-get install busybox-static)" >&2
	exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"	# the guest's /: mktemp made it 0700, closed to non-root
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,tests}
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"		# for /init's #! line; the rest at boot
install -m 755 "$here/init.sh" "$stage/init"
install -m 755 "$guest" "$stage/guest.sh"
install -m 644 "$ko" "$stage/shmipc.ko"
# /dev/console lets the kernel give /init a console before devtmpfs is up.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
if [ -n "$testdir" ] && [ -d "$testdir" ]; then
	cp -r "$testdir/." "$stage/tests/"
fi
for b in "${bins[@]}"; do install -m 755 "$b" "$stage/bin/"; done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
