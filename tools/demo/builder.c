// SPDX-License-Identifier: GPL-2.0
/*
 * The event builder of the demo: a pool of DEMO_POOL_BUFS buffers;
 * DEMO_WRITERS writer processes each add one fragment to every event
 * (like two halves of a detector), so an event is complete with both;
 * DEMO_READERS reader processes share the complete events, check every
 * byte, and count each event they release in the status block.  When
 * the demo arms the fault injection, the next reader to take an event
 * keeps it until it is SIGKILLed: the pool must give that event back to
 * the other readers (Reading -> Full, flagged REDELIVERED).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "demo.h"

#define ADD_DEADLINE	(30000 * DEMO_MS)	/* pool full that long: stuck */
#define GET_SLICE	(50 * DEMO_MS)		/* readers look at the stop flag */

/* The bytes of writer @w's fragment of event @seq after its header. */
static uint64_t pattern(uint64_t seq, uint32_t w, size_t i)
{
	return demo_digest(seq * DEMO_WRITERS + w) ^ (i * 0x100000001b3ULL);
}

static void fill(void *data, uint64_t seq, uint32_t w)
{
	struct demo_frag h = { .seq = seq, .writer = w, .size = DEMO_FRAG_SIZE };
	uint64_t *words = (uint64_t *)((char *)data + sizeof(h));
	size_t i, n = (DEMO_FRAG_SIZE - sizeof(h)) / sizeof(uint64_t);

	for (i = 0; i < n; i++)
		words[i] = pattern(seq, w, i);
	h.written_ns = shmipc_now_ns();
	memcpy(data, &h, sizeof(h));
}

/* Every fragment there, from each writer once, every byte right; the
 * latest write time in *@written_ns.  Reads shared memory: trusts
 * nothing in it. */
static bool verify(const struct shmipc_evpool_event *ev, uint64_t *written_ns)
{
	struct shmipc_evpool_frag f;
	unsigned int seen = 0;
	uint64_t pos = 0;
	int ret;

	*written_ns = 0;
	if (ev->frags != DEMO_WRITERS || ev->expected != DEMO_WRITERS)
		return false;
	while ((ret = shmipc_evpool_next_frag(ev, &pos, &f)) == 1) {
		struct demo_frag h;
		uint64_t word;
		size_t i, n = (DEMO_FRAG_SIZE - sizeof(h)) / sizeof(word);

		if (f.size != DEMO_FRAG_SIZE || f.id >= DEMO_WRITERS ||
		    (seen & (1U << f.id)))
			return false;
		seen |= 1U << f.id;
		memcpy(&h, f.data, sizeof(h));
		if (h.seq != ev->seq || h.writer != f.id ||
		    h.size != DEMO_FRAG_SIZE)
			return false;
		for (i = 0; i < n; i++) {
			memcpy(&word, (const char *)f.data + sizeof(h) +
				      i * sizeof(word), sizeof(word));
			if (word != pattern(ev->seq, f.id, i))
				return false;
		}
		if (h.written_ns > *written_ns)
			*written_ns = h.written_ns;
	}
	return ret == 0 && seen == (1U << DEMO_WRITERS) - 1;
}

/* The read end of the start pipe, in the children. */
static int go_rd = -1;

static int open_child(const char *name, int role, struct shmipc_region **r,
		      struct demo_status **st, struct shmipc_evpool **p)
{
	int ret;

	/* A child of the demo does not outlive it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return -EOWNERDEAD;
	ret = shmipc_region_open(name, 0, 0, 0, r);
	if (ret)
		return ret;
	ret = demo_status_open(*r, st);
	if (!ret)
		ret = shmipc_evpool_open(*r, DEMO_POOL_KEY, role, p);
	return ret;
}

static int writer_main(const char *name, uint32_t w)
{
	struct shmipc_region *r;
	struct shmipc_evpool *p;
	struct demo_status *st;
	uint64_t seq, zero = 0;
	char c;
	int ret;

	ret = open_child(name, SHMIPC_PRODUCER, &r, &st, &p);
	if (ret)
		return 20;
	/* Sleep until demo_eb_go() closes the pipe (end of file). */
	while (read(go_rd, &c, 1) < 0 && errno == EINTR)
		;
	atomic_compare_exchange_strong_explicit(&st->first_write_ns, &zero,
						shmipc_now_ns(),
						memory_order_relaxed,
						memory_order_relaxed);
	for (seq = 0; seq < st->events && !ret; seq++) {
		void *data;

		ret = shmipc_evpool_frag_begin(p, seq, DEMO_WRITERS, w,
					       DEMO_FRAG_SIZE, &data,
					       shmipc_deadline_in(ADD_DEADLINE));
		if (ret)
			break;
		fill(data, seq, w);
		ret = shmipc_evpool_frag_commit(p);
		if (ret >= 0) {
			ret = 0;
			/* Relaxed: a progress counter. */
			atomic_fetch_add_explicit(&st->written[w], 1,
						  memory_order_relaxed);
		}
	}
	if (ret)
		demo_status_error(st, ret);
	shmipc_evpool_close(p);
	shmipc_region_close(r);
	return ret ? 21 : 0;
}

/* Hold @ev until killed (the fault injection; see the top). */
static void stall_until_killed(struct demo_status *st, uint32_t idx,
			       const struct shmipc_evpool_event *ev)
{
	/* Relaxed: the release of the pid publishes them. */
	atomic_store_explicit(&st->stalled_seq, ev->seq, memory_order_relaxed);
	atomic_store_explicit(&st->stalled_reader, idx, memory_order_relaxed);
	atomic_store_explicit(&st->stalled_reader_pid, (int32_t)getpid(),
			      memory_order_release);
	for (;;)
		pause();
}

/* The first redelivered event: who got it, when. */
static void note_redelivery(struct demo_status *st, uint32_t idx,
			    uint64_t seq, uint64_t now)
{
	uint32_t zero = 0;

	/* Relaxed for the fields: the release of the flag publishes them;
	 * the compare-and-swap picks the first reader. */
	if (!atomic_compare_exchange_strong_explicit(&st->redelivered, &zero,
						     2, memory_order_relaxed,
						     memory_order_relaxed))
		return;
	atomic_store_explicit(&st->redelivered_seq, seq, memory_order_relaxed);
	atomic_store_explicit(&st->redelivered_by, idx, memory_order_relaxed);
	atomic_store_explicit(&st->redelivered_at_ns, now,
			      memory_order_relaxed);
	atomic_store_explicit(&st->redelivered, 1, memory_order_release);
}

/* ns from @then to @now, in 32 bits (saturating; 0 if unknown). */
static uint32_t since(uint64_t then, uint64_t now)
{
	if (!then || now <= then)
		return 0;
	return now - then < UINT32_MAX ? (uint32_t)(now - then) : UINT32_MAX;
}

static int reader_main(const char *name, uint32_t idx)
{
	struct shmipc_region *r;
	struct shmipc_evpool *p;
	struct demo_status *st;
	int ret;

	ret = open_child(name, SHMIPC_CONSUMER, &r, &st, &p);
	if (ret)
		return 30;
	for (;;) {
		struct shmipc_evpool_event ev;
		uint64_t written, now;

		ret = shmipc_evpool_get(p, &ev,
					shmipc_deadline_in(GET_SLICE));
		if (ret == -ETIMEDOUT) {
			ret = 0;
			/* Acquire: pairs with demo_eb_finish()'s store. */
			if (atomic_load_explicit(&st->readers_stop,
						 memory_order_acquire))
				break;
			continue;
		}
		if (ret)
			break;
		now = shmipc_now_ns();
		if (ev.flags & SHMIPC_EVPOOL_EV_REDELIVERED)
			note_redelivery(st, idx, ev.seq, now);
		/* Armed by the sequence itself, not by the demo's loop,
		 * which may look only after a fast pool is done.  Relaxed:
		 * a one-shot token; the exchange picks one reader. */
		if ((uint64_t)ev.seq * 100 >=
		    (uint64_t)demo_status_events() * DEMO_KILL_AT &&
		    atomic_load_explicit(&st->reader_stall,
					 memory_order_relaxed) &&
		    atomic_exchange_explicit(&st->reader_stall, 0,
					     memory_order_relaxed))
			stall_until_killed(st, idx, &ev);
		if (!verify(&ev, &written))
			atomic_fetch_add_explicit(&st->bad_events, 1,
						  memory_order_relaxed);
		ret = shmipc_evpool_release(p, &ev);
		if (ret)
			break;
		/* Relaxed: counters read once the readers are reaped (and
		 * for the progress line). */
		atomic_store_explicit(demo_latency(st, ev.seq),
				      since(written, now), memory_order_relaxed);
		atomic_fetch_add_explicit(demo_delivered(st, ev.seq), 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&st->per_reader[idx], 1,
					  memory_order_relaxed);
		atomic_store_explicit(&st->last_release_ns, shmipc_now_ns(),
				      memory_order_relaxed);
		atomic_fetch_add_explicit(&st->released, 1,
					  memory_order_relaxed);
	}
	if (ret)
		demo_status_error(st, ret);
	shmipc_evpool_close(p);
	shmipc_region_close(r);
	return ret ? 31 : 0;
}

static pid_t fork_child(struct demo_eb *eb,
			int (*fn)(const char *, uint32_t), uint32_t idx)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(eb->go_fd);
		_exit(fn(eb->name, idx));
	}
	return pid;
}

static int fail(struct demo_eb *eb, int err, const char *what)
{
	if (!eb->error) {
		eb->error = err;
		eb->error_what = what;
	}
	return err;
}

int demo_eb_start(struct demo_eb *eb, const char *name, uint32_t events)
{
	size_t size;
	uint32_t i;
	int ret;

	int go[2];

	snprintf(eb->name, sizeof(eb->name), "%s", name);
	eb->events = events;
	eb->killed_reader = -1;
	eb->go_fd = -1;
	/* Close-on-exec: the workers the controller spawns do not hold it. */
	if (pipe2(go, O_CLOEXEC))
		return fail(eb, -errno, "pipe2");
	go_rd = go[0];
	eb->go_fd = go[1];
	size = SHMIPC_REGION_HDR_SIZE + 64 * 1024 +
	       (size_t)DEMO_POOL_BUFS * (DEMO_BUF_SIZE + 256) +
	       demo_status_size(events);
	ret = shmipc_region_open(name, size, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL,
				 &eb->r);
	if (ret)
		return fail(eb, ret, "shmipc_region_open");
	ret = demo_status_create(eb->r, events, &eb->st);
	if (ret)
		return fail(eb, ret, "demo_status_create");
	ret = shmipc_evpool_create(eb->r, DEMO_POOL_KEY, DEMO_POOL_BUFS,
				   DEMO_BUF_SIZE, 0, 0);
	if (ret)
		return fail(eb, ret, "shmipc_evpool_create");
	ret = shmipc_evpool_open(eb->r, DEMO_POOL_KEY, 0, &eb->observer);
	if (ret)
		return fail(eb, ret, "shmipc_evpool_open");
	for (i = 0; i < DEMO_READERS; i++) {
		eb->readers[i] = fork_child(eb, reader_main, i);
		if (eb->readers[i] < 0)
			return fail(eb, -errno, "fork");
		eb->running++;
	}
	for (i = 0; i < DEMO_WRITERS; i++) {
		eb->writers[i] = fork_child(eb, writer_main, i);
		if (eb->writers[i] < 0)
			return fail(eb, -errno, "fork");
		eb->running++;
	}
	close(go_rd);
	go_rd = -1;
	return 0;
}

void demo_eb_go(struct demo_eb *eb)
{
	if (eb->go_fd >= 0)
		close(eb->go_fd);
	eb->go_fd = -1;
}

/* Record child @pid's end.  A reader that died: repair what it held
 * now, as a supervisor should, rather than when a survivor has to wait
 * (the pool does not look for deaths while there is work at once). */
static void reaped(struct demo_eb *eb, pid_t pid, int status)
{
	unsigned int i;
	int n;

	for (i = 0; i < DEMO_WRITERS; i++)
		if (eb->writers[i] == pid)
			eb->writer_status[i] = status, eb->writers[i] = -pid;
	for (i = 0; i < DEMO_READERS; i++) {
		if (eb->readers[i] != pid)
			continue;
		eb->reader_status[i] = status;
		eb->readers[i] = -pid;
		if (!WIFSIGNALED(status))
			continue;
		eb->reaped_ns = shmipc_now_ns();
		n = shmipc_evpool_reclaim(eb->observer);
		if (n < 0)
			fail(eb, n, "shmipc_evpool_reclaim");
		else
			eb->supervisor_repaired += (unsigned int)n;
	}
	eb->running--;
}

static int reap(struct demo_eb *eb, int flags)
{
	unsigned int i;

	for (i = 0; i < DEMO_WRITERS + DEMO_READERS; i++) {
		pid_t pid = i < DEMO_WRITERS ? eb->writers[i] :
					       eb->readers[i - DEMO_WRITERS];
		int status;
		pid_t got;

		if (pid <= 0)
			continue;
		got = waitpid(pid, &status, flags);
		if (got == pid)
			reaped(eb, pid, status);
		else if (got < 0 && errno != EINTR)
			return fail(eb, -errno, "waitpid");
	}
	return 0;
}

static void kill_children(struct demo_eb *eb)
{
	unsigned int i;

	for (i = 0; i < DEMO_WRITERS; i++)
		if (eb->writers[i] > 0)
			kill(eb->writers[i], SIGKILL);
	for (i = 0; i < DEMO_READERS; i++)
		if (eb->readers[i] > 0)
			kill(eb->readers[i], SIGKILL);
}

int demo_eb_step(struct demo_eb *eb)
{
	return eb->running ? reap(eb, WNOHANG) : 0;
}

int demo_eb_kill(struct demo_eb *eb)
{
	/* Acquire: pairs with the stalled reader's release of its pid. */
	pid_t pid = atomic_load_explicit(&eb->st->stalled_reader_pid,
					 memory_order_acquire);
	uint32_t idx = atomic_load_explicit(&eb->st->stalled_reader,
					    memory_order_relaxed);

	if (pid <= 0 || idx >= DEMO_READERS || eb->readers[idx] != pid)
		return fail(eb, -ESRCH, "the stalled reader");
	eb->killed_reader = (int)idx;
	eb->killed_pid = pid;
	eb->killed_seq = atomic_load_explicit(&eb->st->stalled_seq,
					      memory_order_relaxed);
	eb->kill_ns = shmipc_now_ns();
	if (kill(pid, SIGKILL))
		return fail(eb, -errno, "kill");
	return 0;
}

/* Everyone is reaped: read the results out of the status block.
 * Relaxed loads: the reaping ordered their stores before ours. */
static int collect(struct demo_eb *eb)
{
	struct demo_status *st = eb->st;
	uint64_t seq;
	unsigned int i;

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
	eb->released = LOAD(st->released);
	eb->bad_events = LOAD(st->bad_events);
	eb->errors = LOAD(st->errors);
	eb->first_error = LOAD(st->first_error);
	for (i = 0; i < DEMO_READERS; i++)
		eb->per_reader[i] = LOAD(st->per_reader[i]);
	for (i = 0; i < DEMO_WRITERS; i++)
		eb->written[i] = LOAD(st->written[i]);
	eb->redelivered = LOAD(st->redelivered) == 1;
	eb->redelivered_by = LOAD(st->redelivered_by);
	eb->redelivered_seq = LOAD(st->redelivered_seq);
	eb->redelivered_at_ns = LOAD(st->redelivered_at_ns);
	eb->first_write_ns = LOAD(st->first_write_ns);
	eb->last_release_ns = LOAD(st->last_release_ns);
	eb->lat = calloc(eb->events ? eb->events : 1, sizeof(*eb->lat));
	if (!eb->lat)
		return fail(eb, -ENOMEM, "allocating");
	for (seq = 0; seq < eb->events; seq++) {
		uint32_t n = LOAD(*demo_delivered(st, seq));
		uint32_t l = LOAD(*demo_latency(st, seq));

		if (n == 0)
			eb->missing++;
		else if (n > 1)
			eb->duplicated += n - 1;
		if (n)
			eb->lat[eb->n_lat++] = l;
	}
#undef LOAD
	return 0;
}

int demo_eb_finish(struct demo_eb *eb, uint64_t deadline_ns)
{
	int ret;

	/* Release: nothing to publish but the flag itself. */
	atomic_store_explicit(&eb->st->readers_stop, 1, memory_order_release);
	while (eb->running && shmipc_now_ns() < deadline_ns) {
		ret = reap(eb, WNOHANG);
		if (ret)
			return ret;
		if (eb->running)
			usleep(5000);
	}
	if (eb->running) {
		/* Stuck: stop them, and still count what was done. */
		fail(eb, -ETIMEDOUT, "waiting for writers and readers");
		kill_children(eb);
		reap(eb, 0);
	}
	ret = shmipc_evpool_stats(eb->observer, &eb->end);
	if (ret)
		return fail(eb, ret, "shmipc_evpool_stats");
	return collect(eb);
}

void demo_eb_close(struct demo_eb *eb)
{
	demo_eb_go(eb);	/* a writer still waiting to start ends */
	kill_children(eb);
	if (eb->running)
		reap(eb, 0);
	shmipc_evpool_close(eb->observer);
	eb->observer = NULL;
	if (eb->r) {
		shmipc_region_close(eb->r);
		/* Portable: the name outlives its handles; module: gone. */
		if (shmipc_backend() == SHMIPC_BACKEND_PORTABLE)
			shmipc_region_unlink(eb->name);
	}
	eb->r = NULL;
	eb->st = NULL;
}

void demo_eb_free(struct demo_eb *eb)
{
	demo_eb_close(eb);
	free(eb->lat);
	eb->lat = NULL;
}
