// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: libshmipc's channels beside raw baselines measured in the
 * same run.  Not a test.
 *
 *   chanbench [--time-ms N] [--warmup-ms N] [--gap-us N] [--max-samples N]
 *             [--repeat N] [--placement same|cross|both] [--cpus A,B] [--filter TEXT]
 *             [--skip LIST]
 *             [--lat-sizes LIST] [--tput-sizes LIST] [--json FILE]
 *
 * Rows (see cases[]): the baselines first (a bare cache-line ping-pong,
 * a bare futex ping-pong and wake-up, memcpy), then what users would
 * pick instead (pipe, Unix sockets, eventfd + shared memory, POSIX and
 * Boost message queues, iceoryx), then the SPSC and MPMC channels and the
 * event-buffer pool, each
 * with its ratio to the matching baseline row; at the end, issue 6's
 * targets as met or missed (targets.c).  Every
 * row runs in both placements (all processes on one CPU; alternating
 * between two CPUs), except spinning rows, which only mean something
 * with a CPU per process and are skipped on one CPU.  Each row is run
 * --repeat times and the best run is reported (lowest p50, highest
 * rate): other load on a shared machine only ever makes a run worse.
 *
 * Exit: 0, 1 if a row failed (the table says which and why), 2 on bad
 * options.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "shmipc.h"

enum sizes { SIZES_LAT, SIZES_TPUT, SIZES_FIRST };

struct bench_case {
	const char *bench;		/* the row's name */
	const struct pattern *pat;
	enum bench_mode mode;
	const struct transport *tr;	/* NULL: memcpy */
	enum sizes sizes;
	int producers, consumers;
	const char *baseline;		/* "transport/bench", NULL if one */
};

#define PP(b, p, m, tr, sz, base) { b, p, m, tr, sz, 1, 1, base }
#define CACHELINE "cacheline/latency-polled"
#define FUTEX_RTT "futex/rtt-blocking"
#define FUTEX_WAKE "futex/wake-blocking"
#define MEMCPY "memcpy/bandwidth"
#define PIPE_TPUT "pipe/throughput-blocking"

/* The rows of a transport with blocking calls. */
#define BLOCKING(tr)							\
	PP("rtt-blocking", &pat_rtt, MODE_BLOCKING, tr, SIZES_LAT,	\
	   FUTEX_RTT),							\
	PP("wake-blocking", &pat_wake, MODE_BLOCKING, tr, SIZES_FIRST,	\
	   FUTEX_WAKE),							\
	PP("throughput-blocking", &pat_stream, MODE_BLOCKING, tr,	\
	   SIZES_TPUT, MEMCPY)

/* ... and of one with non-blocking calls too. */
#define CHANNEL(tr)							\
	PP("latency-polled", &pat_latency, MODE_POLLED, tr, SIZES_LAT,	\
	   CACHELINE),							\
	BLOCKING(tr),							\
	PP("throughput-polled", &pat_stream, MODE_POLLED, tr,		\
	   SIZES_TPUT, MEMCPY)

#define ZEROCOPY(tr)							\
	PP("throughput-zerocopy", &pat_stream, MODE_ZEROCOPY, tr,	\
	   SIZES_TPUT, PIPE_TPUT)

/* In order: every baseline before the rows compared to it. */
static const struct bench_case cases[] = {
	PP("bandwidth", &pat_memcpy, MODE_POLLED, NULL, SIZES_TPUT, NULL),
	PP("latency-polled", &pat_latency, MODE_POLLED, &tr_cacheline,
	   SIZES_LAT, NULL),
	PP("rtt-blocking", &pat_rtt, MODE_BLOCKING, &tr_futex, SIZES_LAT, NULL),
	PP("wake-blocking", &pat_wake, MODE_BLOCKING, &tr_futex, SIZES_FIRST,
	   NULL),

	/* What users would pick instead. */
	BLOCKING(&tr_pipe),
	BLOCKING(&tr_unix_stream),
	BLOCKING(&tr_unix_dgram),
	BLOCKING(&tr_eventfd),
	BLOCKING(&tr_mq),
#ifdef CHANBENCH_BOOST
	CHANNEL(&tr_boostmq),
#endif
#ifdef CHANBENCH_ICEORYX
	CHANNEL(&tr_iceoryx),
	ZEROCOPY(&tr_iceoryx),
#endif

	CHANNEL(&tr_spsc),
	PP("throughput-burst32", &pat_stream, MODE_BURST, &tr_spsc, SIZES_TPUT,
	   MEMCPY),
	ZEROCOPY(&tr_spsc),

	CHANNEL(&tr_mpmc),
	{ "throughput-blocking-2x2", &pat_stream, MODE_BLOCKING, &tr_mpmc,
	  SIZES_TPUT, 2, 2, MEMCPY },
	ZEROCOPY(&tr_mpmc),

	CHANNEL(&tr_evpool),
	ZEROCOPY(&tr_evpool),
};

/* Rows measured so far: the baselines are looked up among them. */
static struct row *done_rows;
static size_t n_done;
static int failed_rows;

static const char *case_transport(const struct bench_case *c)
{
	return c->tr ? c->tr->name : "memcpy";
}

static const struct row *find_row(const char *key, enum placement p,
				  size_t msg_size)
{
	size_t i;
	char k[80];

	for (i = 0; i < n_done; i++) {
		const struct row *r = &done_rows[i];

		snprintf(k, sizeof(k), "%s/%s", r->transport, r->bench);
		if (!strcmp(k, key) && r->msg_size == msg_size && !r->err &&
		    (r->placement == p || r->placement == PLACE_SINGLE_CPU))
			return r;
	}
	return NULL;
}

static void set_ratio(const struct bench_case *c, struct row *row)
{
	const struct row *base;

	if (!c->baseline)
		return;
	snprintf(row->baseline, sizeof(row->baseline), "%s", c->baseline);
	base = find_row(c->baseline, row->placement, row->msg_size);
	if (!base || row->err)
		return;
	/* A zero baseline (a coarse clock) gives no ratio (NAN: null). */
	if (c->pat == &pat_stream)
		row->ratio = base->bytes_per_s > 0 ?
				     row->bytes_per_s / base->bytes_per_s : NAN;
	else
		row->ratio = base->p50_ns > 0 ? row->p50_ns / base->p50_ns :
						NAN;
}

static int keep_row(const struct row *row)
{
	struct row *n = realloc(done_rows, (n_done + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	done_rows = n;
	done_rows[n_done++] = *row;
	return 0;
}

/* Is @a a better run than @b: lower p50, or higher rate? */
static bool better(const struct bench_case *c, const struct row *a,
		   const struct row *b)
{
	if (a->err || b->err)
		return !a->err;
	if (c->pat == &pat_stream || c->pat == &pat_memcpy)
		return a->msgs_per_s > b->msgs_per_s;
	return a->p50_ns < b->p50_ns;
}

/* Transports started (their daemon), stopped at the end. */
static const struct transport *started[8];
static int n_started;

static int start_transport(const struct transport *tr)
{
	int i, ret;

	for (i = 0; i < n_started; i++)
		if (started[i] == tr)
			return 0;
	if (n_started == (int)(sizeof(started) / sizeof(started[0])))
		return -ENOSPC;
	ret = tr->start();
	if (!ret)
		started[n_started++] = tr;
	return ret;
}

static void stop_transports(void)
{
	while (n_started)
		started[--n_started]->stop();
}

/* The best of --repeat runs of one row. */
static void run_case(const struct bench_opts *o, const struct bench_case *c,
		     enum placement p, size_t msg_size)
{
	static int index;
	struct trial t = {
		.tr = c->tr, .pat = c->pat, .mode = c->mode,
		.msg_size = msg_size, .producers = c->producers,
		.consumers = c->consumers,
		.nsides = c->tr ? c->producers + c->consumers : 1,
		.opts = o,
	};
	struct row row, run;
	int i, err = c->tr && c->tr->start ? start_transport(c->tr) : 0;

	for (i = 0; i < t.nsides; i++)
		t.cpu[i] = o->cpus[p == PLACE_CROSS_CPU ? i % 2 : 0];
	if (err) {
		row_init(&row, c->bench, case_transport(c), p, msg_size);
		row.err = err;
		snprintf(row.what, sizeof(row.what), "start");
	}
	for (i = 0; !err && i < o->repeat; i++) {
		row_init(&run, c->bench, case_transport(c), p, msg_size);
		t.index = index++;
		run_trial(&t, &run);
		if (!i || better(c, &run, &row))
			row = run;
	}
	set_ratio(c, &row);
	if (row.err)
		failed_rows++;
	report_row(&row);
	if (keep_row(&row)) {
		fprintf(stderr, "chanbench: out of memory\n");
		exit(1);
	}
}

/* Does @key contain one of the comma-separated items of @list? */
static bool skipped(const char *list, const char *key)
{
	const char *p = list;

	while (p && *p) {
		size_t len = strcspn(p, ",");
		const char *k;

		for (k = key; len && *k; k++)
			if (!strncmp(k, p, len))
				return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static bool wanted(const struct bench_opts *o, const struct bench_case *c)
{
	char k[80];

	snprintf(k, sizeof(k), "%s/%s", case_transport(c), c->bench);
	return (!o->filter || strstr(k, o->filter)) && !skipped(o->skip, k);
}

static void run_placement(const struct bench_opts *o, enum placement p)
{
	size_t i;
	int s, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bench_case *c = &cases[i];
		const size_t *sizes = c->sizes == SIZES_TPUT ? o->tput_sizes :
							      o->lat_sizes;

		if ((p == PLACE_SINGLE_CPU) != !c->tr || !wanted(o, c))
			continue;
		if (!c->pat->supports(c->tr, c->mode))
			continue;
		if (p == PLACE_SAME_CPU && mode_spins(c->mode))
			continue;
		n = c->sizes == SIZES_TPUT ? o->n_tput_sizes :
		    c->sizes == SIZES_LAT ? o->n_lat_sizes : 1;
		for (s = 0; s < n; s++)
			if (!c->tr || !c->tr->carries ||
			    c->tr->carries(sizes[s]))
				run_case(o, c, p, sizes[s]);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: chanbench [options]\n"
		"  --time-ms N         measured time per row (default 100)\n"
		"  --warmup-ms N       unmeasured run before it (default 20)\n"
		"  --gap-us N          wake rows: pause before each message, longer than\n"
		"                      the receiver's spin before it sleeps (default 500)\n"
		"  --max-samples N     latency samples per row, at most (default 1000000)\n"
		"  --repeat N          runs per row, the best reported (default 3)\n"
		"  --placement P       same, cross or both (default both)\n"
		"  --cpus A,B          the two CPUs (default: the first two allowed)\n"
		"  --filter TEXT       only rows whose transport/bench contains TEXT\n"
		"  --skip LIST         no rows whose transport/bench contains an item of\n"
		"                      LIST (comma-separated)\n"
		"  --lat-sizes LIST    latency message sizes (default 8,64,4096,65536,1048576)\n"
		"  --tput-sizes LIST   throughput message sizes (default the same)\n"
		"  --json FILE         also write one JSON object per row to FILE\n"
		"Sizes: %u..%u bytes.  Markdown table on stdout.\n",
		BENCH_MSG_MIN, BENCH_MSG_MAX);
}

/* A decimal in [lo, hi]; false if it is not one (or is empty). */
static bool parse_num(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && end != s && !*end && *s != '-' && *v >= lo &&
	       *v <= hi;
}

static bool parse_list(const char *s, size_t *out, int *n, uint64_t lo,
		       uint64_t hi)
{
	char buf[256], *rest = buf, *tok;
	uint64_t v;

	if (strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	/* strsep, not strtok: "8,,9" has an empty item, and is refused. */
	while ((tok = strsep(&rest, ","))) {
		if (*n == BENCH_MAX_SIZES || !parse_num(tok, lo, hi, &v))
			return false;
		out[(*n)++] = (size_t)v;
	}
	return true;
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longs[] = {
		{ "time-ms", required_argument, NULL, 't' },
		{ "warmup-ms", required_argument, NULL, 'w' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "max-samples", required_argument, NULL, 'm' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "placement", required_argument, NULL, 'p' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "filter", required_argument, NULL, 'f' },
		{ "skip", required_argument, NULL, 'x' },
		{ "lat-sizes", required_argument, NULL, 'l' },
		{ "tput-sizes", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	size_t cpus[BENCH_MAX_SIZES];
	uint64_t v;
	int opt, n, li = 0;

	while ((opt = getopt_long(argc, argv, "h", longs, &li)) != -1) {
		bool ok = true;

		switch (opt) {
		case 't':
			ok = parse_num(optarg, 1, 3600000, &v);
			o->time_ns = v * 1000000;
			break;
		case 'w':
			ok = parse_num(optarg, 0, 60000, &v);
			o->warmup_ns = v * 1000000;
			break;
		case 'g':
			ok = parse_num(optarg, 0, 1000000, &v);
			o->gap_ns = v * 1000;
			break;
		case 'm':
			ok = parse_num(optarg, 1, 100000000, &v);
			o->max_samples = (size_t)v;
			break;
		case 'r':
			ok = parse_num(optarg, 1, 1000, &v);
			o->repeat = (int)v;
			break;
		case 'p':
			if (!strcmp(optarg, "same"))
				o->placements = 1U << PLACE_SAME_CPU;
			else if (!strcmp(optarg, "cross"))
				o->placements = 1U << PLACE_CROSS_CPU;
			else if (!strcmp(optarg, "both"))
				o->placements = (1U << PLACE_SAME_CPU) |
						(1U << PLACE_CROSS_CPU);
			else
				ok = false;
			break;
		case 'c':
			ok = parse_list(optarg, cpus, &n, 0, CPU_SETSIZE - 1) &&
			     n == 2 && cpus[0] != cpus[1];
			o->cpus[0] = (int)cpus[0];
			o->cpus[1] = (int)cpus[1];
			o->ncpus = 2;
			break;
		case 'f':
			o->filter = optarg;
			break;
		case 'x':
			o->skip = optarg;
			break;
		case 'l':
			ok = parse_list(optarg, o->lat_sizes, &o->n_lat_sizes,
					BENCH_MSG_MIN, BENCH_MSG_MAX);
			break;
		case 's':
			ok = parse_list(optarg, o->tput_sizes, &o->n_tput_sizes,
					BENCH_MSG_MIN, BENCH_MSG_MAX);
			break;
		case 'j':
			o->json_path = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			ok = false;
		}
		if (!ok) {
			if (opt != '?')
				fprintf(stderr, "chanbench: bad value for --%s: %s\n",
					longs[li].name, optarg);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "chanbench: unexpected argument %s\n",
			argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.time_ns = 100 * 1000000ULL,
		.warmup_ns = 20 * 1000000ULL,
		.gap_ns = 500 * 1000ULL,
		.max_samples = 1000000,
		.repeat = 3,
		.placements = (1U << PLACE_SAME_CPU) | (1U << PLACE_CROSS_CPU),
		.lat_sizes = { 8, 64, 4096, 65536, 1048576 },
		.n_lat_sizes = 5,
		.tput_sizes = { 8, 64, 4096, 65536, 1048576 },
		.n_tput_sizes = 5,
	};
	int backend, ret;

	if (parse_opts(argc, argv, &o))
		return 2;
	if (!o.ncpus) {
		ret = pick_cpus(o.cpus);
		if (ret < 1) {
			fprintf(stderr, "chanbench: no CPU allowed\n");
			return 1;
		}
		o.ncpus = ret;
	}
	backend = shmipc_backend();
	if (backend < 0) {
		fprintf(stderr, "chanbench: no libshmipc backend: %s\n",
			shmipc_strerror(backend));
		return 1;
	}
	if (report_open(&o, shmipc_backend_name(backend))) {
		fprintf(stderr, "chanbench: %s: %s\n", o.json_path,
			strerror(errno));
		return 2;
	}
	report_section(PLACE_SINGLE_CPU, "one process");
	run_placement(&o, PLACE_SINGLE_CPU);
	if (o.placements & (1U << PLACE_SAME_CPU)) {
		report_section(PLACE_SAME_CPU,
			       "spinning rows skipped (a spinning process only waits for the scheduler to preempt it)");
		run_placement(&o, PLACE_SAME_CPU);
	}
	if (o.placements & (1U << PLACE_CROSS_CPU)) {
		if (o.ncpus < 2) {
			report_section(PLACE_CROSS_CPU,
				       "skipped: only one CPU allowed");
		} else {
			report_section(PLACE_CROSS_CPU,
				       "processes alternate between the two CPUs");
			run_placement(&o, PLACE_CROSS_CPU);
		}
	}
	stop_transports();
	report_targets(done_rows, n_done);
	if (report_close()) {
		fprintf(stderr, "chanbench: writing %s: %s\n", o.json_path,
			strerror(errno));
		return 1;
	}
	free(done_rows);
	if (failed_rows)
		fprintf(stderr, "chanbench: %d rows failed\n", failed_rows);
	return failed_rows ? 1 : 0;
}
