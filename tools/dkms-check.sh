#!/bin/bash
# Prove the DKMS package builds: copy the module's tree to
# /usr/src/shmipc-VERSION, dkms add + build for $KVER, then remove it all.
# Safe to rerun after an interrupted run (it removes leftovers first).
# Usage: dkms-check.sh VERSION   (needs root, as dkms does)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ver=$1
kver=$(KVER=${KVER:-} "$root/tools/kver.sh")
src=/usr/src/shmipc-$ver

cleanup() {
	if dkms status -m shmipc -v "$ver" 2>/dev/null | grep -q .; then
		dkms remove -m shmipc -v "$ver" --all >/dev/null 2>&1 || true
	fi
	rm -rf "$src" "/var/lib/dkms/shmipc/$ver"
}
cleanup
trap cleanup EXIT

mkdir -p "$src"
cp -r "$root/Kbuild" "$root/Makefile" "$root/dkms.conf" "$root/module" "$root/uapi" "$src/"
# Only sources: objects from a local build would make dkms' copy stale.
find "$src" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' -o -name '*.mod*' \) -delete

dkms add -m shmipc -v "$ver"
if dkms build -m shmipc -v "$ver" -k "$kver"; then
	ko=$(find "/var/lib/dkms/shmipc/$ver/$kver" -name 'shmipc.ko*' | head -n1)
	echo "dkms-check: PASS (shmipc/$ver built for $kver: ${ko:-?})"
else
	log=/var/lib/dkms/shmipc/$ver/build/make.log
	[ -f "$log" ] && cat "$log"
	echo "dkms-check: FAIL (dkms build shmipc/$ver for $kver)"
	exit 1
fi
