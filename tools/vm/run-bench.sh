#!/bin/bash
# `make bench`: boot the VM with shmipc.ko and run the benchmarks there.
# Results (tables and JSON lines) go to the console and build/vm/bench.log.
# Env: KO (default ./shmipc.ko), BENCH_DIR (default build/bench), plus
#      boot.sh's KVER, VM_TIMEOUT.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/vm
bins=()
for b in "${BENCH_DIR:-$root/build/bench}"/bench-*; do
	[ -x "$b" ] && bins+=(-b "$b")
done
[ ${#bins[@]} -gt 0 ] || { echo "bench: nothing built (make bench)" >&2; exit 1; }
"$root/tools/vm/mkinitramfs.sh" -o "$out/bench.cpio" -k "${KO:-$root/shmipc.ko}" \
	-g "$root/tools/vm/bench.sh" "${bins[@]}"
"$root/tools/vm/boot.sh" "$out/bench.cpio" "$out/bench.log" || true
"$root/tools/summarize.sh" demo bench "$out/bench.log"
