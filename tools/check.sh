#!/bin/bash
# Run every test, host then VM, and print as the last line
# "N passed, N failed[, N skipped]" summed over both.  Expects the module
# and tests built (make check does that).  Exit 1 if anything failed, was
# skipped in the VM, crashed, or the VM run was unhealthy.
# Env: HOST_TESTS (default build/tests/host), HOST_TEST_TIMEOUT (300 s);
#      run-tests.sh's for the VM.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
host_tests=${HOST_TESTS:-$root/build/tests/host}
mkdir -p "$root/build"
host_log=$root/build/host-tests.log

# Host: each executable between the same markers the VM guest prints.
: > "$host_log"
for t in "$host_tests"/*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	name=${t##*/}
	{
		echo "@@SHMIPC-TEST-BEGIN $name"
		timeout "${HOST_TEST_TIMEOUT:-300}" "$t" </dev/null 2>&1
		rc=$?
		echo
		echo "@@SHMIPC-TEST-END $name rc=$rc"
	} | tee -a "$host_log"
done
host=$("$root/tools/summarize.sh" host host "$host_log")
host_rc=$?
echo "$host"

"$root/tools/vm/run-tests.sh" | tee "$root/build/vm-tests.out"
vm_rc=${PIPESTATUS[0]}
vm=$(tail -n1 "$root/build/vm-tests.out")
# No summary line means the VM run broke before testing: one failure.
[[ $vm == *" passed, "* ]] || vm="vm: 0 passed, 1 failed"

# Sum the two "LABEL: P passed, F failed[, S skipped]" lines.
printf '%s\n%s\n' "${host##*$'\n'}" "$vm" | awk '
	{ for (i = 1; i < NF; i++) {
		if ($(i + 1) ~ /^passed/) p += $i
		if ($(i + 1) ~ /^failed/) f += $i
		if ($(i + 1) ~ /^skipped/) s += $i } }
	END { printf "%d passed, %d failed%s\n", p, f, s ? ", " s " skipped" : "" }'
[ "$host_rc" = 0 ] && [ "$vm_rc" = 0 ]
