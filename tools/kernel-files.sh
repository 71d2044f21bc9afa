#!/bin/bash
# Extract the few kernel-source files we use (selftest harness, checkpatch)
# from Debian's linux-source tarball into OUTDIR, keeping their paths.
# We never copy kernel files into the repo; this is a build cache.
set -euo pipefail

out=${1:-build/ksrc}
tarball=${KSRC_TARBALL:-$(printf '%s\n' /usr/src/linux-source-*.tar.xz | sort -V | tail -n1)}
files=(
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

if [ -z "$tarball" ] || [ ! -r "$tarball" ]; then
	echo "kernel-files: no /usr/src/linux-source-*.tar.xz (apt-get install linux-source-6.1)" >&2
	exit 1
fi

# The stamp names the tarball we extracted from, so an upgrade re-extracts.
stamp="$out/.stamp"
want="$tarball $(stat -c '%s %Y' "$tarball")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	missing=0
	for f in "${files[@]}"; do [ -f "$out/$f" ] || missing=1; done
	[ "$missing" = 0 ] && exit 0
fi

top=$(basename "$tarball" .tar.xz)	# linux-source-6.1
mkdir -p "$out"
echo "kernel-files: extracting ${#files[@]} files from $tarball into $out"
tar -xJf "$tarball" -C "$out" --strip-components=1 "${files[@]/#/$top/}"
chmod +x "$out/scripts/checkpatch.pl"
echo "$want" > "$stamp"
