#!/bin/bash
# `make check-debug`: every VM test under a debug kernel (KASAN, lockdep,
# atomic-sleep, list and object debugging, kmemleak) built from Debian's
# linux-source-6.1 and cached in ~/.cache/shmipc (a cold build takes
# ~20 min on 2 cores; warm runs reuse it).  Any kernel report fails it.
# Last line: "vm: P passed, F failed".
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$root/tools/debug-kernel.sh")
mod=$root/build/debug-module
rm -rf "$mod"
mkdir -p "$mod"
cp -r "$root/Kbuild" "$root/module" "$root/uapi" "$mod/"
make -s -C "$tree" M="$mod" modules
KO=$mod/shmipc.ko VM_KERNEL=$tree/arch/x86/boot/bzImage \
	VM_TIMEOUT=${VM_TIMEOUT:-1800} "$root/tools/vm/run-tests.sh"
