#!/bin/bash
# Count results in a test log made of blocks
#   @@SHMIPC-TEST-BEGIN name ... kselftest TAP ... @@SHMIPC-TEST-END name rc=N
# and print each problem, then a last line "LABEL: P passed, F failed[, S skipped]".
# Per block: the "# Totals:" line counts (pass+xfail passed, fail+xpass+error
# failed, skip skipped); a block without one counts as one test by its rc
# (0 pass, 4 = KSFT_SKIP skip, else fail); a nonzero rc or a "not ok" line
# makes at least one failure.  MODE vm also checks the guest's health: it
# must reach @@SHMIPC-DONE with no kernel error in the log, else one more
# failure; kernel reports stamped before the guest loaded shmipc.ko
# (@@SHMIPC-INSMOD-AT) are shown as NOTE, not counted.  MODE demo (demo,
# bench) checks only health.
# Usage: summarize.sh host|vm|demo LABEL LOG.  Exit 1 on any failure, and
# in vm mode on any skip too.
set -euo pipefail
mode=$1 label=$2 log=$3

awk -v mode="$mode" -v label="$label" '
function fail(msg) { print "FAIL: " msg }
function sick(msg) { print "FAIL: " msg; unhealthy = 1 }
function finish(rc,   f) {
	f = tfail
	if (!totals) {
		if (rc == 0) tpass = 1; else if (rc == 4) tskip = 1; else f = 1
	}
	if (notok > f) f = notok
	if (rc != 0 && rc != 4 && f == 0) f = 1
	if (rc > 0 && rc != 4) fail(cur " exited with rc=" rc)
	if (tskip && mode == "vm") print "SKIP: " cur ": " tskip " skipped"
	pass += tpass; failed += f; skip += tskip; inb = 0
}
{ sub(/\r$/, "") }
match($0, /@@SHMIPC-TEST-BEGIN [^ ]+/) {
	if (inb) { sick(cur " never finished"); finish(-1) }
	cur = substr($0, RSTART + 20, RLENGTH - 20)
	inb = 1; totals = tpass = tfail = tskip = notok = 0
	next
}
match($0, /@@SHMIPC-TEST-END [^ ]+ rc=[0-9-]+/) {
	n = split(substr($0, RSTART, RLENGTH), a, "rc=")
	if (inb) finish(a[n] + 0)
	next
}
/@@SHMIPC-DMESG-BEGIN/ { if (inb) { sick(cur " never finished"); finish(-1) } }
/@@SHMIPC-DONE/ { done = 1 }
match($0, /@@SHMIPC-INSMOD-AT [0-9.]+/) { t0 = substr($0, RSTART + 19) + 0 }
/@@SHMIPC-FAIL/ { sick("guest: " $0) }
inb && /# Totals: / {
	totals = 1
	for (i = 1; i <= NF; i++) {
		split($i, kv, ":")
		if (kv[1] == "pass" || kv[1] == "xfail") tpass += kv[2]
		else if (kv[1] == "fail" || kv[1] == "xpass" || kv[1] == "error") tfail += kv[2]
		else if (kv[1] == "skip") tskip += kv[2]
	}
}
inb && /^[ \t]*not ok / { notok++; print "FAIL: " cur ": " $0 }
mode != "host" && /BUG:|WARNING:|Oops|Kernel panic|general protection fault|soft lockup|hard LOCKUP|hung_task|blocked for more than|UBSAN|KASAN|unreferenced object|suspected memory leak|possible circular locking|inconsistent lock state|sleeping function called|refcount_t:|list_add corruption|list_del corruption/ {
	nrep++; rep[nrep] = $0
	rts[nrep] = match($0, /\[ *[0-9]+\.[0-9]+\]/) ? substr($0, RSTART + 1, RLENGTH - 2) + 0 : -1
}
END {
	# Judged at the end: the insmod time is known only once it is read.
	for (i = 1; i <= nrep; i++) {
		if (t0 && rts[i] >= 0 && rts[i] < t0)
			print "NOTE: kernel report before shmipc.ko was loaded, not counted: " rep[i]
		else
			sick("kernel: " rep[i])
	}
	if (inb) { sick(cur " never finished"); finish(-1) }
	if (mode != "host" && !done) sick("guest did not reach @@SHMIPC-DONE (crash, hang or timeout)")
	if (mode == "demo") {
		print label ": " (unhealthy ? "UNHEALTHY" : "healthy")
		exit unhealthy ? 1 : 0
	}
	# A sick VM counts as one more failure, even when every test passed.
	if (unhealthy) failed++
	line = label ": " (pass + 0) " passed, " (failed + 0) " failed"
	if (skip) line = line ", " skip " skipped"
	print line
	exit (failed || (mode == "vm" && skip)) ? 1 : 0
}' "$log"
