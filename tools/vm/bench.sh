#!/bin/sh
# Guest side of `make bench`: run each benchmark in /bin/bench-* with
# --json, and print its table and its JSON lines between markers for
# tools/vm/run-bench.sh.  chanbench's options come from the kernel
# command line (chanbench_args=--time-ms=50,--warmup-ms=5: commas for
# spaces), which the kernel hands to /init as an environment variable.
for b in /bin/bench-*; do
	name=${b##*/bench-}
	args=
	# Under TCG a clock read costs ~1 us: the wake rows get a longer
	# pause than on the host.  Fewer rows than on the host, to stay in
	# make bench's time: the module's blocking rows and two kernel
	# channels beside them (later options win).
	[ "$name" = chanbench ] &&
		args="--gap-us 3000 --repeat 1 --time-ms 100 --skip unix-,posix-mq,-polled,burst,zerocopy --lat-sizes 8,4096,65536,1048576 --tput-sizes 8,4096,1048576 $(echo "${chanbench_args:-}" | tr , ' ')"
	echo "@@BENCH-MD-BEGIN $name"
	# shellcheck disable=SC2086  # word splitting of args is intended
	"$b" --json "/tmp/$name.jsonl" $args
	rc=$?
	echo "@@BENCH-MD-END $name rc=$rc"
	echo "@@BENCH-JSON-BEGIN $name"
	cat "/tmp/$name.jsonl" 2>/dev/null
	echo "@@BENCH-JSON-END $name"
done
