#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cases run via ktap_main
#
# The libFuzzer targets of tests/fuzz (build/tests/fuzz/fuzz_*: the
# library's parsers of shared structures under a hostile peer), each for
# a bounded number of inputs from the seed corpus it writes itself:
# any crash, sanitizer report, timeout (10 s for one input) or region
# left behind fails its case.  SHMIPC_FUZZ_RUNS (20000) and
# SHMIPC_FUZZ_SECONDS (60, a guard) bound each target; a failing input is
# printed in hex and kept as $SHMIPC_FUZZ_ARTIFACTS/<target>-crash-*
# (default build/tests/fuzz/artifacts) to replay: fuzz_<target> FILE.
ktap=$(dirname "$0")/ktap.sh
[ -f "$ktap" ] || ktap=$(dirname "$0")/sh/ktap.sh
# shellcheck source=ktap.sh
. "$ktap"

fuzz_bin=$TOP/build/tests/fuzz
artifacts=${SHMIPC_FUZZ_ARTIFACTS:-$fuzz_bin/artifacts}

fuzz_one() {
	local t=$1 bin=$fuzz_bin/fuzz_$1 dir=$KTAP_TMP/$1 rc=0 f pid
	[ -x "$bin" ] || fail "$bin not built (make -C tests/fuzz)"
	mkdir -p "$dir/corpus" "$artifacts"
	SHMIPC_FUZZ_SEEDS=$dir/corpus "$bin"
	[ -n "$(ls "$dir/corpus")" ] || fail "no seed written"
	# In the background for its pid: its regions are "fz-<pid>-x...".
	"$bin" -runs="${SHMIPC_FUZZ_RUNS:-20000}" \
		-max_total_time="${SHMIPC_FUZZ_SECONDS:-60}" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
		"$dir/corpus" > "$dir/log" 2>&1 &
	pid=$!
	wait "$pid" || rc=$?
	grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)' \
		"$dir/log" || true
	if [ "$rc" != 0 ]; then
		grep -vE '^#[0-9]+ ' "$dir/log" | tail -n 60
		for f in "$artifacts/$t-"*; do
			[ -f "$f" ] || continue
			echo "input $f:"
			od -An -tx1 "$f" | head -n 40
		done
		fail "fuzz_$t: exit $rc"
	fi
	for f in /dev/shm/shmipc.fz-"$pid"-*; do
		[ -e "$f" ] || continue
		rm -f "$f"
		fail "region $f left behind"
	done
}

region() { fuzz_one region; }
spsc() { fuzz_one spsc; }
mpmc() { fuzz_one mpmc; }
heap() { fuzz_one heap; }
evpool() { fuzz_one evpool; }
vring() { fuzz_one vring; }
growbuf() { fuzz_one growbuf; }
stream() { fuzz_one stream; }
ctl() { fuzz_one ctl; }

ktap_main region spsc mpmc heap evpool vring growbuf stream ctl
