#!/bin/bash
# Lint the module three ways and fail on any finding:
#   1. a W=1 build, 2. sparse on every file (C=2), 3. checkpatch --strict
#   on every .c/.h in module/ and uapi/.
# Builds run in a scratch copy so every file is compiled afresh and the
# normal build is left alone.
# Env: KVER, KDIR (default /lib/modules/$KVER/build).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
kver=$(KVER=${KVER:-} "$root/tools/kver.sh")
kdir=${KDIR:-/lib/modules/$kver/build}
"$root/tools/kernel-files.sh" "$root/build/ksrc"
out=$root/build/lint
rm -rf "$out"
mkdir -p "$out/tree"
cp -r "$root/Kbuild" "$root/module" "$root/uapi" "$out/tree/"
# Drop objects left by a normal build, so the copy compiles from scratch.
find "$out/tree" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' -o -name '*.mod*' \) -delete

# Findings are the compiler's / sparse's / modpost's "warning" or "error" lines.
count() { grep -ciE '(warning|error)[: ]' "$1" || true; }

set +e
make -C "$kdir" M="$out/tree" W=1 modules > "$out/w1.log" 2>&1
w1_rc=$?
# Same flags, so nothing recompiles: this pass prints sparse's findings only.
make -C "$kdir" M="$out/tree" W=1 C=2 modules > "$out/sparse.log" 2>&1
sp_rc=$?
mapfile -t srcs < <(cd "$root" && find module uapi -type f -name '*.[ch]' ! -name '*.mod.c' | sort)
(cd "$root" && perl build/ksrc/scripts/checkpatch.pl --strict --no-tree -f "${srcs[@]}") \
	> "$out/checkpatch.log" 2>&1
set -e

w1=$(count "$out/w1.log")
sp=$(count "$out/sparse.log")
cp_n=$(grep -cE '^(ERROR|WARNING|CHECK):' "$out/checkpatch.log" || true)
[ "$w1_rc" = 0 ] || w1=$((w1 + 1))
[ "$sp_rc" = 0 ] || sp=$((sp + 1))
[ "${#srcs[@]}" -gt 0 ] || { echo "lint: no .c/.h files in module/ or uapi/" >> "$out/checkpatch.log"; cp_n=1; }

show() {	# print a log whose step found something
	[ "$2" = 0 ] && return
	echo "---- $1 ($2 findings) ----"
	sed "s|$out/tree/||g" "$out/$1"	# name files as in the repo
}
show w1.log "$w1"
show sparse.log "$sp"
show checkpatch.log "$cp_n"
verdict="W=1 build: $w1, sparse: $sp, checkpatch --strict: $cp_n (${#srcs[@]} files)"
if [ "$w1" = 0 ] && [ "$sp" = 0 ] && [ "$cp_n" = 0 ]; then
	echo "lint: PASS ($verdict)"
else
	echo "lint: FAIL ($verdict)"
	exit 1
fi
