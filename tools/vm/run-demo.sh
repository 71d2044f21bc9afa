#!/bin/bash
# `make demo`: boot the VM with shmipc.ko and build/demo/vm/shmipc-demo,
# run tools/vm/demo.sh there, then check the guest's health.
# Env: KO (default ./shmipc.ko), DEMO_BIN (default build/demo/vm/shmipc-demo),
#      DEMO_ARGS (shmipc-demo's options, e.g. "--events 500"), plus
#      boot.sh's KVER, VM_TIMEOUT.
# Exit 1 if the demo failed a check or the VM was unhealthy.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/vm
log=$out/demo.log
"$root/tools/vm/mkinitramfs.sh" -o "$out/demo.cpio" -k "${KO:-$root/shmipc.ko}" \
	-g "$root/tools/vm/demo.sh" -b "${DEMO_BIN:-$root/build/demo/vm/shmipc-demo}"
# Options reach the guest as one kernel parameter: no spaces in it.
args=${DEMO_ARGS:-}
VM_APPEND="${VM_APPEND:-} demo_args=${args// /,}" \
	"$root/tools/vm/boot.sh" "$out/demo.cpio" "$log" || true
health=0
"$root/tools/summarize.sh" demo demo "$log" || health=1
if ! grep -aqxE $'== shmipc-demo exited with status 0\r?' "$log"; then
	echo "demo: FAIL (shmipc-demo did not pass; the log: $log)"
	exit 1
fi
exit "$health"
