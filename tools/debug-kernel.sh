#!/bin/bash
# Build a debug kernel from Debian's linux-source-6.1 (KASAN, lockdep,
# atomic-sleep checks, kmemleak, list/refcount debugging) for testing the
# module under it; cached outside the repo so a warm machine reuses it.
# Usage: debug-kernel.sh   -> prints the build tree (bzImage inside)
# Env: SHMIPC_CACHE (default ~/.cache/shmipc).
set -euo pipefail

cache=${SHMIPC_CACHE:-$HOME/.cache/shmipc}
tree=$cache/linux-debug
stamp=$tree/.shmipc-built
if [ -f "$stamp" ] && [ -f "$tree/arch/x86/boot/bzImage" ] &&
   [ -f "$tree/Module.symvers" ]; then
	echo "$tree"
	exit 0
fi
mkdir -p "$cache"
if [ ! -f "$tree/Makefile" ]; then
	rm -rf "$tree" "$cache/linux-source-6.1"
	tar -xf /usr/src/linux-source-6.1.tar.xz -C "$cache"
	mv "$cache/linux-source-6.1" "$tree"
fi
cd "$tree"
make -s x86_64_defconfig kvm_guest.config >&2
cfg=scripts/config
# What the module and its tests need.
$cfg -e MODULES -e MODULE_UNLOAD -d MODULE_SIG -e SHMEM -e TMPFS \
	-e DEBUG_FS -e IO_URING -e USER_NS -e BLK_DEV_INITRD -e DEVTMPFS \
	-e SERIAL_8250 -e SERIAL_8250_CONSOLE -e FUTEX
# What finds our bugs.
$cfg -e KASAN -e KASAN_GENERIC -e KASAN_INLINE \
	-e PROVE_LOCKING -e DEBUG_ATOMIC_SLEEP -e DEBUG_LIST \
	-e DEBUG_KMEMLEAK -e DEBUG_KMEMLEAK_AUTO_SCAN \
	-e DEBUG_OBJECTS -e DEBUG_OBJECTS_WORK -e DEBUG_OBJECTS_TIMERS \
	-e REFCOUNT_FULL -e DETECT_HUNG_TASK -e SOFTLOCKUP_DETECTOR \
	-e UBSAN -d UBSAN_ALIGNMENT \
	-d DEBUG_WX -d DEBUG_INFO -d DEBUG_INFO_BTF -d RANDOMIZE_BASE
make -s olddefconfig >&2
# modules too: it writes the Module.symvers an out-of-tree build needs.
make -s -j"$(nproc)" bzImage modules >&2
touch "$stamp"
echo "$tree"
