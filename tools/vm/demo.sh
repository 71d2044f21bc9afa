#!/bin/sh
# Guest side of `make demo` (run by the VM's /init after insmod).
echo "== /dev/shmipc: $(ls -l /dev/shmipc)"
echo "== regions before:"
cat /sys/kernel/debug/shmipc/regions
echo "== running demo-min"
demo-min
echo "== demo-min exited with $?"
echo "== regions after:"
cat /sys/kernel/debug/shmipc/regions
