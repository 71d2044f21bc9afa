/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shmipc-demo: what the processes of the demo agree on, and the
 * interfaces between its files (one concern each):
 *
 *   main.c        options, the run loop, the two kills, the exit status
 *   status.c      the demo's own shared status block (set up, checked)
 *   controller.c  the controller side: 4 workers through transitions
 *   worker.c      a worker process (the demo binary run as --worker)
 *   builder.c     the event builder: a pool, 2 writers and 3 readers
 *   report.c      the progress line, the story of the run, the checks
 *                 and the latency/throughput table
 */
#ifndef SHMIPC_DEMO_H
#define SHMIPC_DEMO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <shmipc.h>

#define DEMO_WORKERS	4
#define DEMO_WRITERS	2
#define DEMO_READERS	3
#define DEMO_POOL_BUFS	16
#define DEMO_FRAG_SIZE	1024U	/* bytes of each writer's fragment */
#define DEMO_BUF_SIZE	4096U	/* two fragments and their headers fit */
#define DEMO_PINGS	300	/* round trips timed before the stream */
#define DEMO_KILL_AT	40	/* percent of a stream done: arm the kill */
#define DEMO_MS		1000000ULL
#define DEMO_POOL_KEY	"events"
#define DEMO_STATUS_KEY	"demo.status"
#define DEMO_PING	SHMIPC_CTL_USER	/* a transition that does no work */

/* ------------------------------------------------------------------ */
/* The shared status block (status.c): in the event builder's region,
 * written by every process of the demo, so everyone validates its header
 * before use and every index read from it.  The arrays after it hold
 * one word per pool event: delivered[] (releases) then latency_ns[]. */

#define DEMO_STATUS_MAGIC	0x53444d4fU	/* "OMDS" */
#define DEMO_STATUS_VERSION	1U

struct demo_status {
	uint32_t magic, version;
	uint32_t events;		/* pool events: ids 0..events-1 */
	_Atomic uint32_t readers_stop;	/* 1: readers leave once idle */
	/* Fault injection: the next worker to take a PROCESS, and the next
	 * reader to take an event, hold it until they are killed, so that
	 * the kill surely lands mid-event.  They publish who and what. */
	_Atomic uint32_t worker_stall, reader_stall;
	_Atomic int32_t stalled_worker_pid, stalled_reader_pid;
	_Atomic uint64_t stalled_event, stalled_seq;
	_Atomic uint32_t stalled_reader;
	/* The first event a reader got back from a dead one. */
	_Atomic uint32_t redelivered, redelivered_by;
	_Atomic uint64_t redelivered_seq, redelivered_at_ns;
	/* Progress and results. */
	_Atomic uint64_t released;		/* events released */
	_Atomic uint64_t bad_events;		/* failed verification */
	_Atomic uint64_t errors;		/* failed library calls */
	_Atomic int32_t first_error;		/* -errno */
	_Atomic uint64_t written[DEMO_WRITERS];	/* fragments committed */
	_Atomic uint64_t per_reader[DEMO_READERS];
	_Atomic uint64_t first_write_ns, last_release_ns;
	_Atomic uint32_t slots[];		/* delivered[], latency_ns[] */
};

size_t demo_status_size(uint32_t events);
/* Create the block in @r (events, header); 0 or -errno. */
int demo_status_create(struct shmipc_region *r, uint32_t events,
		       struct demo_status **out);
/* Find and validate it: 0, -ENOENT, -EBADMSG, -EPROTONOSUPPORT. */
uint32_t demo_status_events(void);
int demo_status_open(struct shmipc_region *r, struct demo_status **out);
_Atomic uint32_t *demo_delivered(struct demo_status *st, uint64_t seq);
_Atomic uint32_t *demo_latency(struct demo_status *st, uint64_t seq);
/* Record a failed library call (the first one's code is kept). */
void demo_status_error(struct demo_status *st, int err);

/* ------------------------------------------------------------------ */
/* Controller side (controller.c) */

struct demo_job {		/* PROCESS payload */
	uint64_t event;
};

struct demo_result {		/* PROCESS reply */
	uint64_t event;
	uint64_t digest;	/* demo_digest(event) */
	uint32_t pid;		/* the worker that computed it */
	uint32_t nth;		/* requests this process took */
};

/* A worker's death as the controller saw it. */
struct demo_worker_death {
	unsigned int slot;
	pid_t pid, new_pid;
	int wstatus;		/* -1 unknown */
	uint64_t event;		/* the event it held */
	bool expected;		/* the one the demo killed */
	bool resent;		/* a transition in flight went to the new one */
	bool resent_ok;		/* ... and was answered by the new one */
	uint64_t kill_ns, notice_ns, restarted_ns;
};

#define DEMO_DEATHS_MAX	8

struct demo_ctl {
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w[DEMO_WORKERS];
	uint64_t events, next, acked, bad_results, dup_acks;
	uint8_t *acks;			/* per event */
	uint64_t job[DEMO_WORKERS];	/* event in flight, or UINT64_MAX */
	uint64_t sent_at[DEMO_WORKERS];
	uint64_t per_worker[DEMO_WORKERS];
	uint64_t *rtt, n_rtt;		/* PROCESS round trips, ns */
	uint64_t ping[DEMO_PINGS];
	uint64_t start_ns, end_ns;
	uint64_t kill_ns;		/* when the demo killed a worker */
	pid_t killed_pid;
	struct demo_worker_death deaths[DEMO_DEATHS_MAX];
	unsigned int n_deaths;
	int error;			/* first fatal error, -errno */
	const char *error_what;
	bool done;
};

/* Create the controller @name, spawn the workers (@argv: the demo in
 * worker mode), INIT and BEGIN_RUN each, and time DEMO_PINGS round
 * trips.  0 or -errno (ctl->error_what says which step). */
int demo_ctl_start(struct demo_ctl *c, const char *name, uint64_t events,
		   char *const argv[]);
/* Keep the stream going: wait until @deadline_ns for one answer (or
 * death) and handle it.  0, or a fatal -errno. */
int demo_ctl_step(struct demo_ctl *c, uint64_t deadline_ns);
/* SIGKILL the worker whose pid is @pid (the stalled one): its slot, or
 * -errno. */
int demo_ctl_kill(struct demo_ctl *c, pid_t pid);
/* END_RUN and STOP every worker, then tear the controller down. */
int demo_ctl_finish(struct demo_ctl *c);
void demo_ctl_free(struct demo_ctl *c);
uint64_t demo_digest(uint64_t event);

/* The worker process: argv after "--worker" is the status region. */
int demo_worker_main(const char *status_region);

/* ------------------------------------------------------------------ */
/* Event builder (builder.c) */

/* The header each writer puts at the start of its fragment. */
struct demo_frag {
	uint64_t seq;
	uint32_t writer;
	uint32_t size;
	uint64_t written_ns;
};

struct demo_eb {
	char name[SHMIPC_NAME_LEN_MAX + 1];
	struct shmipc_region *r;
	struct shmipc_evpool *observer;
	struct demo_status *st;
	uint32_t events;
	pid_t writers[DEMO_WRITERS], readers[DEMO_READERS];
	int go_fd;			/* closed: the writers start */
	int writer_status[DEMO_WRITERS], reader_status[DEMO_READERS];
	unsigned int running;		/* children not reaped */
	/* The reader the demo killed. */
	int killed_reader;		/* index, or -1 */
	pid_t killed_pid;
	uint64_t killed_seq, kill_ns;
	uint64_t reaped_ns;		/* when the demo reaped it */
	unsigned int supervisor_repaired; /* buffers its reclaim repaired */
	struct shmipc_evpool_stats end;	/* the pool after the run */
	/* Read from the status block by demo_eb_finish(). */
	uint64_t released, missing, duplicated, bad_events, errors;
	int first_error;		/* of a child (or a worker) */
	uint64_t per_reader[DEMO_READERS], written[DEMO_WRITERS];
	bool redelivered;
	uint32_t redelivered_by;
	uint64_t redelivered_seq, redelivered_at_ns;
	uint64_t first_write_ns, last_release_ns;
	uint64_t *lat, n_lat;		/* fragment written -> taken, ns */
	int error;
	const char *error_what;
};

/* Create the region @name with the pool and the status block, and fork
 * the writers (they wait for demo_eb_go()) and the readers. */
int demo_eb_start(struct demo_eb *eb, const char *name, uint32_t events);
void demo_eb_go(struct demo_eb *eb);
/* Reap children that ended (never blocks).  0 or -errno. */
int demo_eb_step(struct demo_eb *eb);
/* SIGKILL the stalled reader.  0 or -errno. */
int demo_eb_kill(struct demo_eb *eb);
/* All events released: stop the readers, reap everyone until
 * @deadline_ns, read the pool's final stats, close and remove. */
int demo_eb_finish(struct demo_eb *eb, uint64_t deadline_ns);
/* Stop what still runs, close the region and remove its name; the
 * results stay for the report (demo_eb_free() frees them too). */
void demo_eb_close(struct demo_eb *eb);
void demo_eb_free(struct demo_eb *eb);

/* ------------------------------------------------------------------ */
/* Report (report.c) */

enum demo_progress { DEMO_PROGRESS_AUTO, DEMO_PROGRESS_TTY,
		     DEMO_PROGRESS_LINES, DEMO_PROGRESS_NONE };

void demo_progress_init(enum demo_progress mode);
/* The progress line (redrawn at most every 100 ms; lines: every s). */
void demo_progress(const struct demo_ctl *c, const struct demo_eb *eb,
		   uint64_t elapsed_ns, bool force);
/* A line that stays (the progress line is redrawn under it). */
void demo_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void demo_progress_end(void);
/* The story, the checks and the table (sorts the samples); returns how
 * many checks failed. */
int demo_report(struct demo_ctl *c, struct demo_eb *eb, uint64_t elapsed_ns,
		bool regions_left);
/* Name of a wait status ("SIGKILL", "exit 3", "?"). */
const char *demo_wstatus(int wstatus, char *buf, size_t len);

#endif /* SHMIPC_DEMO_H */
