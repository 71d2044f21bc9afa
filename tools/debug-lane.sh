#!/bin/bash
# When the debug-kernel lane (make check-debug) must run: when the module's
# sources changed since its last pass.  The pass is recorded in the repo,
# in .ci/debug-lane.sha256 (committed with the module change): a hash of
# every source file of module/, uapi/ and Kbuild (tracked or new, not
# ignored build products), names and contents.
# Usage: debug-lane.sh hash     print the sources' hash
#        debug-lane.sh stale    exit 0 if the lane must run (sources differ
#                               from the recorded pass), 1 if it passed on them
#        debug-lane.sh record   record a pass on the current sources
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
record=$root/.ci/debug-lane.sha256

sources_hash() {
	cd "$root"
	git ls-files -z --cached --others --exclude-standard -- module uapi Kbuild |
		LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

case ${1:-} in
hash)
	sources_hash ;;
stale)
	[ "$(sources_hash)" != "$(head -n1 "$record" 2>/dev/null)" ] ;;
record)
	{
		sources_hash
		echo "# make check-debug passed on these module/, uapi/, Kbuild sources"
		echo "# (tools/debug-lane.sh hash); CI skips the lane while they match."
	} > "$record" ;;
*)
	echo "usage: $0 hash|stale|record" >&2
	exit 2 ;;
esac
