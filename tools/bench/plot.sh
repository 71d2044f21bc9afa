#!/bin/bash
# Plot latency against message size from chanbench's JSON lines: the p50
# of every transport's blocking round trip (rtt-blocking), one panel per
# placement, log-log.  PNG, with gnuplot (gnuplot-nox).
# Usage: plot.sh RESULTS.jsonl OUT.png TITLE
set -euo pipefail

[ $# = 3 ] || { echo "usage: $0 RESULTS.jsonl OUT.png TITLE" >&2; exit 2; }
in=$1 out=$2 title=$3
command -v gnuplot >/dev/null || { echo "plot: no gnuplot (tools/install-deps.sh --bench)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One data file per placement and transport: "size p50" lines.
awk -v dir="$tmp" '
	function field(k,   m) {
		if (match($0, "\"" k "\":(\"[^\"]*\"|[^,}]*)")) {
			m = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
			gsub(/"/, "", m)
			return m
		}
		return ""
	}
	field("bench") == "rtt-blocking" && field("p50_ns") != "null" {
		print field("msg_size"), field("p50_ns") > (dir "/" field("placement") "." field("transport"))
	}' "$in"

order="futex pipe unix-stream unix-dgram eventfd-shm posix-mq boost-mq iceoryx spsc mpmc cacheline"
plots() {
	local place=$1 sep='' f t
	for f in "$tmp/$place".*; do
		[ -f "$f" ] || continue
		t=${f##*/"$place".}
		# shmipc's own rows stand out.
		case $t in spsc|mpmc) w=3 ;; *) w=1 ;; esac
		# The same colour for a transport in both panels.
		lt=$(echo " $order " | awk -v t="$t" '{ for (i = 1; i <= NF; i++) if ($i == t) { print i; exit } print 12 }')
		printf '%s"%s" using 1:($2/1000) with linespoints lt %s lw %s title "%s"' \
			"$sep" "$f" "$lt" "$w" "$t"
		sep=', '
	done
}
same=$(plots same-cpu)
cross=$(plots cross-cpu)
[ -n "$same$cross" ] || { echo "plot: no rtt-blocking rows in $in" >&2; exit 1; }

{
	echo "set terminal pngcairo size 1400,600 font 'sans,10'"
	echo "set output '$out'"
	echo "set multiplot layout 1,2 title '$title: blocking round trip (p50) against message size'"
	echo "set logscale xy"
	echo "set xrange [5:1.6e6]"
	echo "set xtics ('8' 8, '64' 64, '4K' 4096, '64K' 65536, '1M' 1048576)"
	# Twelve colours, so no two transports share one.
	i=1
	for c in '#1f77b4' '#ff7f0e' '#2ca02c' '#d62728' '#9467bd' '#8c564b' \
		 '#e377c2' '#7f7f7f' '#bcbd22' '#17becf' '#000000' '#aec7e8'; do
		echo "set linetype $i lc rgb '$c' pt $i"
		i=$((i + 1))
	done
	echo "set linetype cycle 12"
	echo "set xlabel 'message size (bytes)'"
	echo "set ylabel 'round trip p50 (us)'"
	echo "set key top left font ',9'"
	echo "set grid"
	[ -n "$same" ] && { echo "set title 'same CPU'"; echo "plot $same"; }
	[ -n "$cross" ] && { echo "set title 'different CPUs'"; echo "plot $cross"; }
	echo "unset multiplot"
} > "$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
