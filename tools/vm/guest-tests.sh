#!/bin/sh
# Guest side of run-tests.sh: run every test binary in /tests in sorted
# order, each between markers so the host can attribute its output.
# A hung binary is killed after SHMIPC_TEST_TIMEOUT (300) seconds.
for path in /tests/*; do
	if [ ! -f "$path" ] || [ ! -x "$path" ]; then continue; fi
	t=${path##*/}
	echo "@@SHMIPC-TEST-BEGIN $t"
	timeout "${SHMIPC_TEST_TIMEOUT:-300}" "$path" </dev/null 2>&1
	rc=$?
	echo
	echo "@@SHMIPC-TEST-END $t rc=$rc"
done
