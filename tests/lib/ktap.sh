# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# KTAP output for the shell tests of tests/lib, in the format the
# kselftest harness prints and tools/summarize.sh reads: "ok N name" or
# "not ok N name" per case, then "# Totals: pass:P fail:F ...".
#
# Usage, at the end of a test script:  ktap_main case_a case_b ...
# Each case is a shell function, run in a subshell with errexit, nounset
# and pipefail: it fails at the first failing command or `fail MSG`.  Its
# output is printed as "# " comment lines.  $KTAP_TMP is a scratch
# directory of the whole run (removed at the end), $TOP the source tree.

# The source tree: the first directory above this file with dkms.conf and
# lib/include/shmipc.h (tests/lib/ or build/tests/host/).
ktap_find_top() {
	local d
	d=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	while [ "$d" != / ]; do
		if [ -f "$d/dkms.conf" ] && [ -f "$d/lib/include/shmipc.h" ]; then
			echo "$d"
			return 0
		fi
		d=$(dirname "$d")
	done
	echo "ktap: source tree not found above ${BASH_SOURCE[0]}" >&2
	return 1
}
# shellcheck disable=SC2034 # used by the scripts that source this file
TOP=${SHMIPC_TOP:-$(ktap_find_top)} || exit 1
KTAP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/shmipc-test.XXXXXX") || exit 1
trap 'rm -rf "$KTAP_TMP"' EXIT
# The tests run make themselves: nothing of an outer make's leaks in.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

fail() {
	echo "FAIL: $*"
	return 1
}

# wait_for FILE REGEX PID: until FILE has a line matching REGEX.  Fails
# when process PID exits first.  The bound only stops a hang (60 s); it
# is not a measurement.
wait_for() {
	local i
	for ((i = 0; i < 1200; i++)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || {
			grep -qE -- "$2" "$1" 2>/dev/null && return 0
			fail "process $3 exited before printing /$2/ in $1"
			return 1
		}
		sleep 0.05
	done
	fail "no /$2/ in $1"
}

# No background process outlives its case; the case's status stays.
ktap_reap() {
	local rc=$? pids
	pids=$(jobs -p)
	# shellcheck disable=SC2086 # one word per pid
	[ -z "$pids" ] || kill -9 $pids 2>/dev/null
	wait
	exit $rc
}

ktap_main() {
	local n=0 pass=0 failed=0 name rc
	echo "TAP version 13"
	echo "1..$#"
	for name in "$@"; do
		n=$((n + 1))
		echo "# RUN $name"
		(
			set -euo pipefail
			shopt -s inherit_errexit
			trap ktap_reap EXIT
			"$name"
		) > "$KTAP_TMP/.log" 2>&1
		rc=$?
		sed 's/^/# /' "$KTAP_TMP/.log"
		if [ "$rc" = 0 ]; then
			echo "ok $n $name"
			pass=$((pass + 1))
		else
			echo "not ok $n $name"
			failed=$((failed + 1))
		fi
	done
	echo "# Totals: pass:$pass fail:$failed xfail:0 xpass:0 skip:0 error:0"
	exit $((failed != 0))
}
