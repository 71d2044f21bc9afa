#!/bin/bash
# `make demo`: boot the VM with shmipc.ko and run tools/vm/demo.sh there.
# Env: KO (default ./shmipc.ko), DEMO_BIN (default build/demo/demo-min),
#      plus boot.sh's KVER, VM_TIMEOUT.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/vm
"$root/tools/vm/mkinitramfs.sh" -o "$out/demo.cpio" -k "${KO:-$root/shmipc.ko}" \
	-g "$root/tools/vm/demo.sh" -b "${DEMO_BIN:-$root/build/demo/demo-min}"
"$root/tools/vm/boot.sh" "$out/demo.cpio" "$out/demo.log" || true
"$root/tools/summarize.sh" demo demo "$out/demo.log"
