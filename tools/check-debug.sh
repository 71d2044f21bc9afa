#!/bin/bash
# `make check-debug`: every VM test under a debug kernel (KASAN, lockdep,
# atomic-sleep, list and object debugging, kmemleak) built from Debian's
# linux-source-6.1 and cached in ~/.cache/shmipc (a cold build takes
# ~20 min on 2 cores; warm runs reuse it).  Any kernel report fails it,
# and so does a kmemleak that cannot scan at the end.  On success it
# records the pass in .ci/debug-lane.sha256 (tools/debug-lane.sh), which
# tells CI it need not run the lane again on these module sources.
# Usage: check-debug.sh [NAME...]  (only those VM test binaries; a subset
# records nothing).  Last line: "vm: P passed, F failed".
# Env: VM_TIMEOUT (1800 s), SHMIPC_HUNG_TASK_SECS (60: KASAN under TCG
# makes legitimate waits ~10x longer than the normal lane's 10 s),
# SHMIPC_TEST_TIMEOUT (600 s per binary), VM_APPEND (more of the command line).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$root/tools/debug-kernel.sh")
mod=$root/build/debug-module
rm -rf "$mod"
mkdir -p "$mod"
cp -r "$root/Kbuild" "$root/module" "$root/uapi" "$mod/"
# Not make -j's jobserver (a script is no make rule): a small serial build.
MAKEFLAGS= make -s -C "$tree" M="$mod" modules
# Unknown name=value words of the kernel command line reach /init's
# environment (tools/vm/init.sh, guest-tests.sh).
KO=$mod/shmipc.ko VM_KERNEL=$tree/arch/x86/boot/bzImage \
	VM_TIMEOUT=${VM_TIMEOUT:-1800} \
	VM_APPEND="SHMIPC_KMEMLEAK=1 SHMIPC_HUNG_TASK_SECS=${SHMIPC_HUNG_TASK_SECS:-60} SHMIPC_TEST_TIMEOUT=${SHMIPC_TEST_TIMEOUT:-600} ${VM_APPEND:-}" \
	"$root/tools/vm/run-tests.sh" "$@"
[ $# -gt 0 ] || "$root/tools/debug-lane.sh" record
