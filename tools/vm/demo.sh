#!/bin/sh
# Guest side of `make demo` (run by the VM's /init after insmod): run
# shmipc-demo on the module backend.  Its options come from the kernel
# command line (demo_args=--events,500: commas for spaces), which the
# kernel hands to /init as an environment variable.  The console is a
# serial line logged by the host: progress as plain lines.
echo "== shmipc.ko loaded: $(ls -l /dev/shmipc)"
# shellcheck disable=SC2086  # word splitting of the options is intended
shmipc-demo --progress lines $(echo "${demo_args:-}" | tr , ' ')
rc=$?
echo "== regions left in the kernel (debugfs): $(tail -n +2 /sys/kernel/debug/shmipc/regions | wc -l)"
echo "== shmipc-demo exited with status $rc"
