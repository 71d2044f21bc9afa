#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cases run via ktap_main
#
# The demo (tools/demo, `make demo-host`) on the host's backend, short:
# it must pass, tell the story it promises (who was killed, holding what,
# the restart and resend, the redelivery, the checks, the table), leave
# nothing behind, fail with exit 1 and FAIL lines when it cannot finish,
# and refuse bad options with exit 2.
# ktap.sh: beside this file in tests/lib, in sh/ once installed.
ktap=$(dirname "$0")/ktap.sh
[ -f "$ktap" ] || ktap=$(dirname "$0")/sh/ktap.sh
# shellcheck source=ktap.sh
. "$ktap"

demo=$TOP/build/demo/shmipc-demo

# The pid in the region names the demo printed ("demo-eb-<pid>").
demo_pid() { sed -n 's/^  event builder demo-eb-\([0-9]*\):.*/\1/p' "$1"; }

# No region of run $1 left (portable: /dev/shm), no process of it alive.
nothing_left() {
	local f
	for f in /dev/shm/shmipc.demo-ctl-"$1"* /dev/shm/shmipc.demo-eb-"$1"*; do
		[ -e "$f" ] || continue
		rm -f "$f"
		fail "$f left behind"
	done
	# Its workers name the event builder's region on their command line.
	! pgrep -f -- "--worker demo-eb-$1\$" > /dev/null ||
		fail "workers of run $1 still alive"
}

# `make demo-host`, short: exit 0 and the lines that tell what happened.
demo_host_passes() {
	local out=$KTAP_TMP/demo.out pid w_ev r_ev
	make -s --no-print-directory -C "$TOP" demo-host \
		DEMO_ARGS="--events 600 --progress lines" > "$out"
	cat "$out"
	pid=$(demo_pid "$out")
	[ -n "$pid" ] || fail "no region name printed"
	grep -qE '^shmipc demo: (portable|module) backend, [0-9]+ CPUs$' "$out"
	grep -qE '^  progress +[0-9.]+ s  controller [0-9]+/600 events  pool [0-9]+/600 events  kills [0-2]/2$' "$out"
	# The kills, live, and what they held.
	w_ev=$(sed -n 's/^  kill: SIGKILL worker [0-3] (pid [0-9]*) while it processes event \([0-9]*\)$/\1/p' "$out")
	r_ev=$(sed -n 's/^  kill: SIGKILL reader [0-2] (pid [0-9]*) while it holds event \([0-9]*\)$/\1/p' "$out")
	[ -n "$w_ev" ] || fail "no worker kill line"
	[ -n "$r_ev" ] || fail "no reader kill line"
	grep -qE '^  controller: worker [0-3] \(pid [0-9]+\) died \(SIGKILL\); restarted as pid [0-9]+, its PROCESS resent$' "$out"
	grep -qE "^  pool: event $r_ev back to Full, taken by reader [0-2]\$" "$out"
	# The story at the end.
	grep -qE "^  worker [0-3] \\(pid [0-9]+\\) killed by the demo: killed by SIGKILL while it processed event $w_ev\$" "$out"
	grep -qE '^    noticed by the controller [0-9.]+ [nmu]?s after the kill' "$out"
	grep -qE "^    restarted as pid [0-9]+ in [0-9.]+ [nmu]?s; PROCESS\\(event $w_ev\\) resent, answered by pid [0-9]+\$" "$out"
	grep -qE "^  reader [0-2] \\(pid [0-9]+\\) killed by the demo: killed by SIGKILL while it held event $r_ev\$" "$out"
	grep -qE '^    its buffer went back to Full \(REDELIVERED\), repaired by ' "$out"
	grep -qE "^    event $r_ev redelivered to reader [0-2] [0-9.]+ [nmu]?s after the kill\$" "$out"
	grep -qx '  pool at the end: 16 of 16 buffers Empty; 600 events completed, 1 returned by a dead reader, 0 partial events dropped' "$out"
	# Seven checks, all ok, and the verdict.
	[ "$(grep -c '^  ok    ' "$out")" = 7 ] || fail "not 7 ok lines"
	! grep -q '^  FAIL' "$out" || fail "a FAIL line"
	grep -qx '  ok    controller: 600/600 events acknowledged, each exactly once, every digest right' "$out"
	grep -qx '  ok    pool: 600/600 events delivered, 0 lost, 0 duplicated, 0 corrupt (every byte checked)' "$out"
	grep -qE '^  transition round trip \(PING, one at a time\) +[0-9.]+ [nmu]?s +[0-9.]+ [nmu]?s' "$out"
	grep -qE '^  PROCESS\(event\) round trip, 4 in flight .* [0-9]+ events/s$' "$out"
	grep -qE '^  pool event: last fragment written -> taken .* [0-9]+ events/s \([0-9.]+ MB/s\)$' "$out"
	grep -qE '^demo: PASS \(7 checks, 0 failed\) in [0-9.]+ s$' "$out"
	nothing_left "$pid"
}

# --progress tty redraws one line in place (erase, carriage return).
progress_in_place() {
	local out=$KTAP_TMP/tty.out
	"$demo" --events 200 --progress tty > "$out"
	grep -q $'\r\033\\[K' "$out" || fail "no line redrawn in place"
	! grep -q '^  progress ' "$out" || fail "plain progress lines on a tty"
	grep -qE '^demo: PASS' "$out"
	nothing_left "$(demo_pid "$out")"
}

# A run that cannot finish in time: exit 1, FAIL lines, nothing left.
fails_when_it_cannot_finish() {
	local out=$KTAP_TMP/fail.out rc=0
	"$demo" --events 1000000 --timeout 1 --progress none > "$out" || rc=$?
	cat "$out"
	[ "$rc" = 1 ] || fail "exit status $rc, not 1"
	grep -qx 'shmipc-demo: timed out after 1 s' "$out"
	grep -q '^  FAIL  controller: ' "$out"
	grep -qE '^demo: FAIL \(7 checks, [1-7] failed\)' "$out"
	nothing_left "$(demo_pid "$out")"
}

bad_options() {
	local o rc
	for o in "--events 5" "--events x" "--progress loud" "--timeout 0" "--bogus"; do
		rc=0
		# shellcheck disable=SC2086 # one word per option
		"$demo" $o > /dev/null 2> "$KTAP_TMP/err" || rc=$?
		[ "$rc" = 2 ] || fail "$o: exit status $rc, not 2"
		grep -q '^shmipc-demo: bad option or value' "$KTAP_TMP/err" || fail "$o: no message"
	done
	"$demo" --help | grep -q '^usage: shmipc-demo'
}

ktap_main demo_host_passes progress_in_place fails_when_it_cannot_finish bad_options
