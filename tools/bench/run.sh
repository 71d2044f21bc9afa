#!/bin/bash
# `make bench`: chanbench on the host (portable backend), then every
# benchmark in the VM (module backend: chanbench and kill-to-wake), and
# the results of both in
#   build/bench/results.md     the tables, host first
#   build/bench/results.jsonl  one JSON object per row (chanbench's fields)
# Not a test: it asserts nothing about the figures.  Exit 1 if a
# benchmark failed or the VM was unhealthy.
# Env: CHANBENCH_ARGS (options for chanbench on both sides, e.g.
#      "--time-ms 50 --warmup-ms 5" for a quick run), plus run-bench.sh's.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/bench
# shellcheck disable=SC2206  # word splitting of the options is intended
args=(${CHANBENCH_ARGS:-})
rc=0

echo "== host: chanbench ${args[*]}"
"$out/chanbench" --json "$out/host-chanbench.jsonl" "${args[@]}" |
	tee "$out/host-chanbench.md"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "bench: chanbench failed on the host" >&2; rc=1; }

echo "== VM"
CHANBENCH_ARGS="${args[*]}" "$root/tools/vm/run-bench.sh" || rc=1

{
	echo "# shmipc benchmarks"
	echo
	echo "Made by \`make bench\`${args[*]:+ with CHANBENCH_ARGS=\"${args[*]}\"} on $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "Host: the portable backend; VM: QEMU (TCG, 2 vCPUs) with shmipc.ko, the module backend."
	echo "Figures from a VM under TCG are for comparing rows of the same run, not with the host;"
	echo "there a spinning row needs both vCPU threads on host cores at once, and on a busy host"
	echo "such rows swing by orders of magnitude: the VM is for the blocking rows and kill-to-wake."
	echo
	echo "## Host"
	echo
	cat "$out/host-chanbench.md" 2>/dev/null
	for md in "$out"/vm-*.md; do
		[ -f "$md" ] || continue
		name=${md##*/vm-}
		echo
		echo "## VM: ${name%.md}"
		echo
		cat "$md"
	done
} > "$out/results.md"
cat "$out/host-chanbench.jsonl" "$out"/vm-*.jsonl > "$out/results.jsonl" 2>/dev/null
echo "bench: $(wc -l < "$out/results.jsonl") rows in $out/results.jsonl, tables in $out/results.md"
exit "$rc"
