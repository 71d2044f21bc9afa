#!/bin/bash
# `make bench`: chanbench, memory and ctlscale on the host (portable
# backend), then every benchmark in the VM (module backend: chanbench,
# kill-to-wake, memory and ctlscale), then kill-to-wake on the host
# (libshmipc's portable backend and the alternatives, with the module's
# figures from the VM for issue 6's target), and the results of all in
#   build/bench/results.md     the tables, host first
#   build/bench/results.jsonl  one JSON object per row (chanbench's fields)
#   build/bench/results-memory.jsonl  the memory figures (their own fields)
#   build/bench/latency-host.png, latency-vm.png  round trip against size
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
load=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== host: chanbench ${args[*]}"
"$out/chanbench" --json "$out/host-chanbench.jsonl" "${args[@]}" |
	tee "$out/host-chanbench.md"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "bench: chanbench failed on the host" >&2; rc=1; }

echo "== host: memory"
"$out/memory" --json "$out/host-memory.jsonl" | tee "$out/host-memory.md"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "bench: memory failed on the host" >&2; rc=1; }

echo "== host: ctlscale"
"$out/ctlscale" --json "$out/host-ctlscale.jsonl" | tee "$out/host-ctlscale.md"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "bench: ctlscale failed on the host" >&2; rc=1; }

echo "== VM"
CHANBENCH_ARGS="${args[*]}" "$root/tools/vm/run-bench.sh" || rc=1

# After the VM: its module rows go into the kill-to-wake target.
echo "== host: kill-to-wake"
"$out/kill-to-wake" --json "$out/host-kill-to-wake.jsonl" \
	--module-json "$out/vm-kill-to-wake.jsonl" | tee "$out/host-kill-to-wake.md"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "bench: kill-to-wake failed on the host" >&2; rc=1; }

{
	echo "# shmipc benchmarks"
	echo
	echo "Made by \`make bench\`${args[*]:+ with CHANBENCH_ARGS=\"${args[*]}\"} on $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB, kernel $(uname -r); load average at the start: $load (a machine shared with other jobs: best-of-N runs per row)."
	echo "Host: the portable backend; VM: QEMU (TCG, 2 vCPUs) with shmipc.ko, the module backend."
	echo "Figures from a VM under TCG are for comparing rows of the same run, not with the host;"
	echo "there a spinning row needs both vCPU threads on host cores at once, and on a busy host"
	echo "such rows swing by orders of magnitude: the VM is for the blocking rows and kill-to-wake."
	echo
	echo "## Host"
	echo
	cat "$out/host-chanbench.md" 2>/dev/null
	echo
	echo "![round trip against message size, host](latency-host.png)"
	echo
	cat "$out/host-memory.md" 2>/dev/null
	echo
	cat "$out/host-ctlscale.md" 2>/dev/null
	echo
	cat "$out/host-kill-to-wake.md" 2>/dev/null
	for md in "$out"/vm-*.md; do
		[ -f "$md" ] || continue
		name=${md##*/vm-}
		echo
		echo "## VM: ${name%.md}"
		echo
		cat "$md"
	done
	[ -f "$out/vm-chanbench.md" ] &&
		printf '\n![round trip against message size, VM](latency-vm.png)\n'
} > "$out/results.md"
cat "$out/host-chanbench.jsonl" "$out/vm-chanbench.jsonl" \
	"$out/vm-kill-to-wake.jsonl" "$out/host-kill-to-wake.jsonl" \
	"$out/host-ctlscale.jsonl" \
	"$out/vm-ctlscale.jsonl" > "$out/results.jsonl" 2>/dev/null
cat "$out/host-memory.jsonl" "$out/vm-memory.jsonl" \
	> "$out/results-memory.jsonl" 2>/dev/null
"$root/tools/bench/plot.sh" "$out/host-chanbench.jsonl" "$out/latency-host.png" \
	"host (portable backend)" || rc=1
if [ -s "$out/vm-chanbench.jsonl" ]; then
	"$root/tools/bench/plot.sh" "$out/vm-chanbench.jsonl" "$out/latency-vm.png" \
		"VM (module backend, TCG)" || rc=1
fi
echo "bench: $(wc -l < "$out/results.jsonl") rows in $out/results.jsonl, tables in $out/results.md"
exit "$rc"
