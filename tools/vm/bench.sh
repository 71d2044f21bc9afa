#!/bin/sh
# Guest side of `make bench`: run each benchmark in /bin/bench-*.
for b in /bin/bench-*; do
	echo "== ${b##*/bench-}"
	"$b"
	echo "== ${b##*/bench-} exited with $?"
done
