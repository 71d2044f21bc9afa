/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chanbench: the pieces a benchmark row is made of.
 *
 *   transport  how bytes move (tr_bare.c: cache-line and futex mailboxes;
 *              tr_spsc.c, tr_mpmc.c: libshmipc channels): a table of
 *              send/receive operations behind one interface, so a new
 *              transport (pipe, socket, ...) gets every pattern for free
 *   pattern    what is measured with it (pingpong.c: one-way latency,
 *              round trip, wake-up; stream.c: messages per second;
 *              memcpy.c: the copy bandwidth baseline)
 *   runner     runner.c: forks one pinned process per side, starts them
 *              together, bounds the run with a watchdog
 *   stats, report, timing: percentiles, the Markdown and JSON output,
 *              clocks and pinning
 *
 * Not a test: it reports figures, it asserts nothing about them.
 */
#ifndef CHANBENCH_H
#define CHANBENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BENCH_MAX_SIDES	4	/* processes in one row (2x2 MPMC) */
#define BENCH_BURST	32	/* messages per burst / zero-copy loan */
#define BENCH_MAX_SIZES	8
#define BENCH_MSG_MIN	8	/* every message carries a 64-bit word */
#define BENCH_MSG_MAX	(1U << 20)
#define BENCH_GRACE_NS	(30ULL * 1000000000ULL) /* deadline slack */

/*
 * Messages between two clock reads in throughput loops: few enough that
 * the end is seen on time even where copies are slow (a VM under TCG),
 * many enough that the read costs nothing per message.
 */
static inline uint64_t clock_every(size_t msg_size)
{
	uint64_t n = (64U << 10) / msg_size;

	return n < 1 ? 1 : n > 256 ? 256 : n;
}

/* The 64-bit word at the start of every message. */
#define SEQ_STOP	(1ULL << 63)	/* last message: the reader stops */
#define SEQ_MEASURED	(1ULL << 62)	/* ping-pong: sent while measuring */
#define SEQ_WARM	(1ULL << 61)	/* stream: sent during the warm-up */
#define SEQ_SRC_SHIFT	48		/* stream: producer index */
#define SEQ_COUNT_MASK	((1ULL << SEQ_SRC_SHIFT) - 1)

static inline void msg_put(void *msg, uint64_t v)
{
	memcpy(msg, &v, sizeof(v));
}

static inline uint64_t msg_get(const void *msg)
{
	uint64_t v;

	memcpy(&v, msg, sizeof(v));
	return v;
}

enum bench_mode {
	MODE_POLLED,	/* try_send / try_recv, spinning: one CPU each */
	MODE_BLOCKING,	/* send / recv with a deadline (spin, then sleep) */
	MODE_BURST,	/* send_burst / recv_burst of BENCH_BURST, spinning */
	MODE_ZEROCOPY,	/* loan / publish, borrow / give back, spinning */
};

/* Spinning modes only mean something with one CPU per process. */
static inline bool mode_spins(enum bench_mode m)
{
	return m != MODE_BLOCKING;
}

enum placement {
	PLACE_SAME_CPU,		/* every process on the first CPU */
	PLACE_CROSS_CPU,	/* processes alternate between two CPUs */
	PLACE_SINGLE_CPU,	/* one process (memcpy) */
	PLACES,
};

extern const char *const placement_names[PLACES];

struct bench_opts {
	uint64_t time_ns;	/* measured time per row */
	uint64_t warmup_ns;	/* run, not measured, before it */
	uint64_t gap_ns;	/* wake-up rows: pause before each message */
	size_t max_samples;	/* latency samples kept per row */
	int repeat;		/* runs per row; the best is reported */
	int cpus[2];		/* the CPUs of the two placements */
	int ncpus;		/* 1: cross-cpu rows are skipped */
	unsigned int placements; /* bit per enum placement to run */
	const char *json_path;	/* JSON lines go there (NULL: none) */
	const char *filter;	/* run rows whose "transport/bench" has it */
	const char *skip;	/* ... and none of these (comma-separated) */
	size_t lat_sizes[BENCH_MAX_SIZES];
	int n_lat_sizes;
	size_t tput_sizes[BENCH_MAX_SIZES];
	int n_tput_sizes;
};

/* What each side reports to the parent (in shared memory). */
struct side_out {
	int err;		/* 0 or -errno */
	char what[40];		/* the step that failed */
	uint64_t msgs;		/* messages this side received (measured) */
	uint64_t cpu_ns;	/* its CPU time over the measured part */
	uint64_t t_start;	/* CLOCK_MONOTONIC: measuring from */
	uint64_t t_end;		/* ... to */
};

/* One anonymous shared mapping per row, made before the fork. */
struct trial_shared {
	_Atomic uint64_t go_ns;		/* start time, set by the parent */
	_Atomic int producers_done;	/* stream: the last one sends STOPs */
	_Atomic uint64_t nsamples;	/* filled part of samples[] */
	struct side_out out[BENCH_MAX_SIDES];
	uint64_t samples[];		/* max_samples latency samples, ns */
};

struct trial;

/*
 * A transport: endpoints of numbered one-way channels between the sides
 * of a row.  Channel 0 goes from side 0 (or the producers) to side 1 (or
 * the consumers), channel 1 back.  Every operation returns 0 (a count
 * where said) or -errno; -EAGAIN: nothing done now.  Operations a
 * transport lacks are NULL and the patterns that need them are not run.
 */
struct transport {
	const char *name;
	/* Can it carry messages of @msg_size bytes here (NULL: any)?  Rows
	 * of sizes it cannot are not run. */
	bool (*carries)(size_t msg_size);
	/* Once per run, before its first row / at the end (a daemon). */
	int (*start)(void);
	void (*stop)(void);
	/* Bytes of anonymous shared memory it needs (trial->scratch). */
	size_t (*scratch_bytes)(const struct trial *t);
	/* Parent, before the fork / after the children ended. */
	int (*setup)(struct trial *t);
	void (*teardown)(struct trial *t);
	/* Child: join (e.g. open the region), open endpoints, leave. */
	int (*attach)(struct trial *t);
	void (*detach)(struct trial *t);
	int (*open)(struct trial *t, int chan, bool sender, void **ep);
	void (*close)(void *ep);
	/* One message of trial->msg_size bytes. */
	int (*try_send)(void *ep, const void *msg);
	int (*try_recv)(void *ep, void *msg);
	int (*send)(void *ep, const void *msg, uint64_t deadline_ns);
	int (*recv)(void *ep, void *msg, uint64_t deadline_ns);
	/* Up to @n contiguous messages: how many went (0 when full). */
	int (*send_burst)(void *ep, const void *msgs, unsigned int n);
	int (*recv_burst)(void *ep, void *msgs, unsigned int n);
	/* Zero copy: up to @n slots (pointers in @slots); count, 0 if none. */
	int (*loan)(void *ep, unsigned int n, void **slots);
	int (*publish)(void *ep, unsigned int k);
	int (*borrow)(void *ep, unsigned int n, const void **slots);
	int (*give_back)(void *ep, unsigned int k);
};

struct row;

/* A pattern: what each side does, and how the row is computed. */
struct pattern {
	const char *name;
	int (*side)(struct trial *t, int side);
	void (*finish)(const struct trial *t, struct row *row);
	/* Can @tr serve this pattern in @mode? */
	bool (*supports)(const struct transport *tr, enum bench_mode mode);
};

/* One row being measured. */
struct trial {
	const struct transport *tr;	/* NULL for memcpy */
	const struct pattern *pat;
	enum bench_mode mode;
	size_t msg_size;
	int producers, consumers;	/* stream; ping-pong: 1 and 1 */
	int nsides;
	int cpu[BENCH_MAX_SIDES];
	const struct bench_opts *opts;
	struct trial_shared *sh;
	void *scratch;			/* transport's shared bytes */
	int index;			/* row number: unique names */
	void *state;			/* transport's, parent side */
	void *conn;			/* transport's, in each child */
	int ready_fd, go_fd;		/* runner's pipes, in each child */
	bool ready;			/* in a child: said ready or failed */
};

/* A result line (JSON fields; NAN where a figure does not apply). */
struct row {
	char bench[40];
	char transport[24];
	const char *backend;
	enum placement placement;
	size_t msg_size;
	double p50_ns, p99_ns, p999_ns;
	double msgs_per_s, bytes_per_s, cpu_ns_per_msg;
	double ratio;
	char baseline[64];		/* "" when none */
	uint64_t samples;		/* latency samples, or messages */
	int err;			/* the row failed: -errno */
	char what[40];
};

/* runner.c */
int run_trial(struct trial *t, struct row *row);
/* In a side, after its setup: wait for the start; returns the go time. */
uint64_t side_ready(struct trial *t);
/* In a side: record a failure (returns @err for a tail call). */
int side_fail(struct trial *t, int side, const char *what, int err);
/* Blocking calls' deadline: well after the row's measured end. */
uint64_t trial_deadline(const struct trial *t, uint64_t go_ns);

/* timing.c */
uint64_t now_ns(void);
uint64_t cpu_ns(void);			/* this process, user + system */
int pin_cpu(int cpu);
int pick_cpus(int cpus[2]);		/* first two allowed; how many */
double clock_cost_ns(void);		/* median cost of one clock read */
void sleep_ns(uint64_t ns);
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* stats.c: sorts @v; nearest-rank percentile @p (0..100] of @n > 0. */
void sort_samples(uint64_t *v, size_t n);
uint64_t percentile(const uint64_t *sorted, size_t n, double p);

/* report.c */
int report_open(const struct bench_opts *o, const char *backend);
void report_section(enum placement p, const char *note);
void report_row(const struct row *row);
int report_close(void);
/* Only the JSON lines (to @path, if not NULL) of rows of @backend. */
int report_json_open(const char *path, const char *backend);
void report_json(const struct row *row);
/* targets.c: issue 6's targets as met / missed, after the table. */
void report_targets(const struct row *rows, size_t n);
/* ... and kill-to-wake's: the module's rows (@vm, from the VM) beside
 * the host's (@host: the portable backend and the alternatives). */
void report_kill_target(const struct row *vm, size_t n_vm,
			const struct row *host, size_t n_host);
void row_init(struct row *row, const char *bench, const char *transport,
	      enum placement p, size_t msg_size);

/* xfer.c: one message the way @mode moves it (spinning modes spin on
 * try_send / try_recv; blocking ones block until @deadline_ns). */
int xfer_send(const struct trial *t, void *ep, const void *msg,
	      uint64_t deadline_ns);
int xfer_recv(const struct trial *t, void *ep, void *msg,
	      uint64_t deadline_ns);
bool tr_supports(const struct transport *tr, enum bench_mode mode);
/* A zeroed message buffer of @n messages (aligned to a cache line). */
void *msg_alloc(const struct trial *t, unsigned int n);

/* roudi.c: classic iceoryx's daemon, started once per run and stopped
 * (SIGTERM) at its end; start: 0 once it said it is ready, or -errno. */
int roudi_start(void);
void roudi_stop(void);

/* The transports and patterns. */
extern const struct transport tr_cacheline, tr_futex, tr_spsc, tr_mpmc;
extern const struct transport tr_evpool;	/* tr_evpool.c */
/* What users would pick instead (tr_pipe.c, tr_sock.c, tr_eventfd.c,
 * tr_mq.c; tr_boostmq.c and tr_iceoryx.c where their libraries are). */
extern const struct transport tr_pipe, tr_unix_stream, tr_unix_dgram;
extern const struct transport tr_eventfd, tr_mq, tr_boostmq, tr_iceoryx;
extern const struct pattern pat_latency, pat_rtt, pat_wake;
extern const struct pattern pat_stream, pat_memcpy;

/* Shared by the shmipc transports (tr_region.c). */
struct shmipc_region;
int shmipc_trial_setup(struct trial *t, uint32_t chans,
		       int (*create)(struct shmipc_region *r, const char *key,
				     uint32_t slot_size, uint32_t capacity));
void shmipc_trial_teardown(struct trial *t);
int shmipc_trial_attach(struct trial *t);
void shmipc_trial_detach(struct trial *t);
uint32_t bench_capacity(size_t msg_size);

#endif /* CHANBENCH_H */
