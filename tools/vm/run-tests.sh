#!/bin/bash
# Run the VM tests: pack shmipc.ko and the static test binaries of
# build/tests/vm into an initramfs, boot it, check the serial log.
# Usage: run-tests.sh [NAME...]   (only those binaries; default all)
# Env: KO (default ./shmipc.ko), VM_TESTS (default build/tests/vm),
#      plus boot.sh's KVER, VM_TIMEOUT, VM_APPEND
#      (e.g. VM_APPEND=SHMIPC_TEST_TIMEOUT=60: per-binary limit in the guest).
# Last line: "vm: P passed, F failed[, S skipped]"; exit 1 on any failure,
# skip, timeout, crash or kernel warning.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
ko=${KO:-$root/shmipc.ko}
tests=${VM_TESTS:-$root/build/tests/vm}
out=$root/build/vm
mkdir -p "$out"

if [ $# -gt 0 ]; then	# a subset: just those, plus helper subdirectories
	rm -rf "$out/subset"
	mkdir -p "$out/subset"
	find "$tests" -mindepth 1 -maxdepth 1 -type d -exec cp -r {} "$out/subset/" \;
	for t in "$@"; do cp "$tests/$t" "$out/subset/"; done
	tests=$out/subset
fi
if [ -z "$(find "$tests" -maxdepth 1 -type f -perm -u+x 2>/dev/null)" ]; then
	echo "vm: no test binaries in $tests (make tests); booting to check insmod only"
fi

"$root/tools/vm/mkinitramfs.sh" -o "$out/tests.cpio" -k "$ko" \
	-g "$root/tools/vm/guest-tests.sh" -t "$tests"
"$root/tools/vm/boot.sh" "$out/tests.cpio" "$out/serial.log" || true
"$root/tools/summarize.sh" vm vm "$out/serial.log"
