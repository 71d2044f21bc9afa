#!/bin/bash
# The VM half of `make bench`: boot the VM with shmipc.ko and the static
# benchmarks build/bench/bench-* (module backend), then split the console
# log into build/bench/vm-NAME.md (the table) and vm-NAME.jsonl.
# Exit 1 if the VM was unhealthy or a benchmark failed.
# Env: KO (default ./shmipc.ko), BENCH_DIR (default build/bench),
#      CHANBENCH_ARGS (chanbench's options, e.g. "--time-ms 50"), plus
#      boot.sh's KVER, VM_TIMEOUT.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/vm
bench_dir=${BENCH_DIR:-$root/build/bench}
bins=()
for b in "$bench_dir"/bench-*; do
	[ -x "$b" ] && bins+=(-b "$b")
done
[ ${#bins[@]} -gt 0 ] || { echo "bench: nothing built (make bench)" >&2; exit 1; }
"$root/tools/vm/mkinitramfs.sh" -o "$out/bench.cpio" -k "${KO:-$root/shmipc.ko}" \
	-g "$root/tools/vm/bench.sh" "${bins[@]}"
# Options reach the guest as one kernel parameter: no spaces in it.
args=${CHANBENCH_ARGS:-}
VM_APPEND="${VM_APPEND:-} chanbench_args=${args// /,}" \
	"$root/tools/vm/boot.sh" "$out/bench.cpio" "$out/bench.log" || true
health=0
"$root/tools/summarize.sh" demo bench "$out/bench.log" || health=1

# Split the log: the table and JSON lines of each benchmark.
rm -f "$bench_dir"/vm-*.md "$bench_dir"/vm-*.jsonl
failed=$(sed 's/\r$//' "$out/bench.log" | awk -v dir="$bench_dir" '
	/^@@BENCH-MD-BEGIN / { f = dir "/vm-" $2 ".md"; next }
	/^@@BENCH-MD-END / { close(f); f = ""; if ($3 != "rc=0") bad = bad " " $2; next }
	/^@@BENCH-JSON-BEGIN / { f = dir "/vm-" $2 ".jsonl"; printf "" > f; next }
	/^@@BENCH-JSON-END / { close(f); f = ""; next }
	f != "" { print > f }
	END { print bad }')
if [ -n "$failed" ]; then
	echo "bench: failed in the VM:$failed" >&2
	exit 1
fi
exit "$health"
