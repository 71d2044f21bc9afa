#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# VM test (installed as build/tests/vm/demo_test; busybox sh in the
# guest): the demo, short, on the module backend.  It must exit 0, on
# the module backend, with both kills, the restart, the redelivery and
# seven ok checks.  Exit 0 (pass) or 1 (fail), with the output.
out=/tmp/demo_test.out
/tests/bin/shmipc-demo --events 600 --progress lines > "$out" 2>&1
rc=$?
cat "$out"
fail=0
check() {
	grep -qE "$1" "$out" || { echo "FAIL: no line /$1/"; fail=1; }
}
[ "$rc" = 0 ] || { echo "FAIL: shmipc-demo exited with $rc"; fail=1; }
check '^shmipc demo: module backend'
check '^  kill: SIGKILL worker [0-3] \(pid [0-9]+\) while it processes event [0-9]+$'
check '^  kill: SIGKILL reader [0-2] \(pid [0-9]+\) while it holds event [0-9]+$'
check 'resent, answered by pid [0-9]+$'
check '^    event [0-9]+ redelivered to reader [0-2] '
[ "$(grep -c '^  ok    ' "$out")" = 7 ] || { echo "FAIL: not 7 ok lines"; fail=1; }
check '^demo: PASS \(7 checks, 0 failed\)'
exit $fail
