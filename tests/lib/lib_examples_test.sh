#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cases run via ktap_main
#
# The example programs of tools/examples (built into build/examples by
# `make -C tools/examples`): their output on a normal run, either SPSC side
# starting first, either side SIGKILLed (the survivor reports the death and
# removes the region), MPMC workers, and bad arguments.
# ktap.sh: beside this file in tests/lib, in sh/ once installed.
ktap=$(dirname "$0")/ktap.sh
[ -f "$ktap" ] || ktap=$(dirname "$0")/sh/ktap.sh
# shellcheck source=ktap.sh
. "$ktap"

ex=$TOP/build/examples

# A region name of our own: per test run and case.
region() { echo "ex-test-$$-$1"; }

# Σ i² for i in [0, count): what the consumer must print.
sum_of_squares() { echo $(( ($1 - 1) * $1 * (2 * $1 - 1) / 6 )); }

# On the portable backend a region is /dev/shm/shmipc.<name> until
# unlinked: the examples must leave none behind.
no_region_left() {
	if grep -q 'portable backend' "$KTAP_TMP"/*.out 2>/dev/null &&
	   [ -e "/dev/shm/shmipc.$1" ]; then
		rm -f "/dev/shm/shmipc.$1"
		fail "region $1 left in /dev/shm"
	fi
}

every_example_builds() {
	make -s --no-print-directory -C "$TOP/tools/examples"
	local c
	for c in "$TOP"/tools/examples/*.c; do
		c=${c##*/}
		[ -x "$ex/${c%.c}" ] || fail "$ex/${c%.c} not built"
	done
}

spsc_consumer_first() {
	local r c
	r=$(region spsc_consumer_first)
	rm -f "$KTAP_TMP"/*.out
	"$ex/spsc_consumer" "$r" > "$KTAP_TMP/c.out" &
	c=$!
	wait_for "$KTAP_TMP/c.out" '^consumer: ready' "$c"
	"$ex/spsc_producer" "$r" 10000 > "$KTAP_TMP/p.out"
	wait "$c" || fail "consumer exited with $?"
	cat "$KTAP_TMP/p.out" "$KTAP_TMP/c.out"
	grep -qx 'producer: sent 10000 messages' "$KTAP_TMP/p.out"
	grep -qx "consumer: received 10000 messages, sum $(sum_of_squares 10000)" "$KTAP_TMP/c.out"
	no_region_left "$r"
}

# The producer makes the region and fills the ring (1000 messages, 256
# slots) before any consumer exists; it waits for one.
spsc_producer_first() {
	local r p
	r=$(region spsc_producer_first)
	rm -f "$KTAP_TMP"/*.out
	"$ex/spsc_producer" "$r" 1000 > "$KTAP_TMP/p.out" &
	p=$!
	wait_for "$KTAP_TMP/p.out" '^producer: sending' "$p"
	"$ex/spsc_consumer" "$r" > "$KTAP_TMP/c.out"
	wait "$p" || fail "producer exited with $?"
	cat "$KTAP_TMP/p.out" "$KTAP_TMP/c.out"
	grep -qx 'producer: sent 1000 messages' "$KTAP_TMP/p.out"
	grep -qx "consumer: received 1000 messages, sum $(sum_of_squares 1000)" "$KTAP_TMP/c.out"
	no_region_left "$r"
}

# SIGKILL one side ($1: consumer or producer) while the producer streams.
# The survivor is told (-EOWNERDEAD), exits with 2 and removes the region:
# a producer once the ring is full; a consumer after it got every message
# sent before the death, in order (it checks each).
spsc_kill() {
	local victim=$1 r c p rc=0 survivor out
	r=$(region "kill-$victim")
	rm -f "$KTAP_TMP"/*.out
	"$ex/spsc_consumer" "$r" > "$KTAP_TMP/c.out" &
	c=$!
	wait_for "$KTAP_TMP/c.out" '^consumer: ready' "$c"
	"$ex/spsc_producer" "$r" 1000000000000 > "$KTAP_TMP/p.out" &
	p=$!
	wait_for "$KTAP_TMP/p.out" '^producer: sending' "$p"
	if [ "$victim" = consumer ]; then
		kill -9 "$c"
		survivor=producer out=$KTAP_TMP/p.out
		wait "$p" || rc=$?
	else
		kill -9 "$p"
		survivor=consumer out=$KTAP_TMP/c.out
		wait "$c" || rc=$?
	fi
	cat "$out"
	[ "$rc" = 2 ] || fail "$survivor exited with $rc, not 2"
	grep -qE "^$survivor: the $victim died after [0-9]+ messages\$" "$out"
	no_region_left "$r"
}
spsc_consumer_killed() { spsc_kill consumer; }
spsc_producer_killed() { spsc_kill producer; }

mpmc_workers() {
	local r
	rm -f "$KTAP_TMP"/*.out
	"$ex/mpmc_workers" 4 20000 > "$KTAP_TMP/m.out"
	cat "$KTAP_TMP/m.out"
	grep -qx 'mpmc_workers: 20000 results checked' "$KTAP_TMP/m.out"
	# One line per worker; together they did every job.
	[ "$(grep -c '^worker [0-3]: [0-9]* jobs$' "$KTAP_TMP/m.out")" = 4 ] || fail "worker lines"
	[ "$(awk '/^worker/ { s += $3 } END { print s }' "$KTAP_TMP/m.out")" = 20000 ] ||
		fail "the workers' jobs do not add up to 20000"
	r=$(sed -n 's/.*region \([^ ]*\) .*/\1/p' "$KTAP_TMP/m.out")
	[ -n "$r" ] || fail "no region name printed"
	no_region_left "$r"
	"$ex/mpmc_workers" 1 1 > "$KTAP_TMP/m.out"
	grep -qx 'worker 0: 1 jobs' "$KTAP_TMP/m.out"
}

bad_arguments() {
	local args
	for args in "0" "65" "2 0" "x" "2 10x" "-1" "1 2 3"; do
		# shellcheck disable=SC2086 # one word per argument
		if "$ex/mpmc_workers" $args > "$KTAP_TMP/m.out" 2> "$KTAP_TMP/m.err"; then
			fail "mpmc_workers $args succeeded"
		fi
		grep -q '^usage:' "$KTAP_TMP/m.err" || fail "mpmc_workers $args: no usage"
	done
	for args in "-5" "12x"; do
		if "$ex/spsc_producer" "ex-test-$$-bad" "$args" 2> "$KTAP_TMP/p.err"; then
			fail "spsc_producer COUNT $args succeeded"
		fi
		grep -q '^usage:' "$KTAP_TMP/p.err" || fail "spsc_producer $args: no usage"
	done
	# An invalid region name is refused by the library, reported, and
	# nothing is created.
	if "$ex/spsc_consumer" "bad/name" 2> "$KTAP_TMP/c.err"; then
		fail "spsc_consumer took a bad region name"
	fi
	cat "$KTAP_TMP/c.err"
	grep -q 'region bad/name: ' "$KTAP_TMP/c.err"
}

ktap_main every_example_builds spsc_consumer_first spsc_producer_first \
	spsc_consumer_killed spsc_producer_killed mpmc_workers bad_arguments
