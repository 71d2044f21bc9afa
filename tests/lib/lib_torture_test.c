// SPDX-License-Identifier: GPL-2.0
/*
 * Crash torture: each protocol of the library (SPSC and MPMC channels,
 * the heap allocator with its channel, the event-buffer pool, the
 * controller/worker protocol) runs in a few processes while the driver
 * SIGKILLs one randomly chosen peer at a random moment, many times; and,
 * in a second pass, the victim dies exactly at each named kill point of
 * the library (test builds, internal.h) on the protocol's paths.  After
 * every trial:
 *
 *   - every survivor ended within LT_SOON_MS with success (no hang: a
 *     blocked survivor saw the death, -EOWNERDEAD / -EPIPE);
 *   - every committed message arrived exactly once: the driver drains
 *     what is left (taking over the dead side's role where the protocol
 *     has one) and checks the ledger (below);
 *   - the heap's free bytes are back to their start value after
 *     reclaim, the pool's buffers are all Empty;
 *   - introspection (the API of `shmipc ls/info`) shows no live peer but
 *     the driver, no more dead ones than were killed, no waiter, and no
 *     region of the trial once it was removed.
 *
 * The ledger (shared memory) says what each process committed: a
 * producer stores "attempt" (seq + 1) before a send and "next" (seq + 1)
 * after it succeeded, so a dead producer's only message in doubt is
 * seq == next when attempt == next + 1.  A consumer raises in_recv
 * before a receive and lowers it after recording the message: a consumer
 * that died with it raised may have taken one message unrecorded, an
 * allowance of one missing message.  Nothing is ever received twice.
 *
 * Environment:
 *   SHMIPC_TORTURE_TRIALS  random trials over all protocols (default
 *                          1000 on the host, 300 in the VM; 200 in
 *                          the ASan build)
 *   SHMIPC_TORTURE_KP_REPS trials per kill point (default 3)
 *   SHMIPC_TORTURE_SEED    the seed (printed; default from the clock)
 *   SHMIPC_TORTURE_TRIAL   run only this trial number (replay)
 * Kill timing is wall-clock, so a replay redoes the same choices
 * (victim, kill point and skip count, sizes) but not the same
 * interleaving.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "internal.h"
#include "lib_test.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define TP_MAX		4	/* forked processes per trial */
#define TX_MAX		2	/* more peers (ctl workers) */
#define TS_MAX		2048	/* seqs per producer */
#define WHY_LEN		120
#define SEND_MS		5000	/* a blocking call never waits so long */
#define POLL_MS		10	/* consumers' wait before looking at stop */
#define DRAIN_MS	30	/* the driver's drain: empty after this */
#define KP_HEAD_START_MS 50	/* a consumer victim's lead on its peers */
#define WORKER_ENV	"SHMIPC_TORTURE_WORKER"
#define WORKER_KP_ENV	"SHMIPC_TORTURE_KP"

/* What the processes of one trial committed and saw (shared). */
struct ledger {
	_Atomic uint32_t next[TP_MAX];
	_Atomic uint32_t attempt[TP_MAX];
	_Atomic uint32_t seen[TP_MAX][TS_MAX];
	_Atomic uint32_t in_recv[TP_MAX];
	_Atomic uint32_t ready;
	_Atomic uint32_t stop;
	_Atomic int32_t extra[TX_MAX];	/* ctl: the workers' pids */
	_Atomic uint32_t extra_killed;	/* ctl: workers seen SIGKILLed */
	char why[TP_MAX][WHY_LEN];	/* a child's reason to fail */
};

struct trial;

/* A kill point and the process (index) that arms it. */
struct kp_target {
	enum shmipc_kill_point kp;
	unsigned int idx;
	const char *name;
	unsigned int skips;	/* passes to let by: random below (0: 8) */
};

struct proto {
	const char *name;
	unsigned int nprod;	/* processes 0..nprod-1 produce */
	unsigned int nproc;	/* forked processes */
	unsigned int nextra;	/* peers in ledger->extra */
	unsigned int n;		/* messages per producer */
	int (*setup)(struct trial *t);
	void (*child)(struct trial *t, unsigned int idx);
	int (*finish)(struct trial *t);
	const struct kp_target *kps;
	unsigned int nkps;
};

struct trial {
	const struct proto *p;
	struct ledger *lg;
	uint64_t seed, rng;
	char name[64];
	struct shmipc_region *r;
	pid_t pid[TP_MAX + TX_MAX];
	int victim;			/* peer index, -1: none */
	const struct kp_target *kp;	/* kill point mode */
	bool killed;			/* the victim died by SIGKILL */
	unsigned int allowance;
	char why[160];
	/* the driver's handles */
	struct shmipc_mpmc *q;
	struct shmipc_heap *heap;
	struct shmipc_heap_channel *hch;
	struct shmipc_evpool *ev;
	uint64_t heap_free;
};

/* Figures for the summary line of a run. */
struct tally {
	unsigned int trials, kills, deaths, kp_fired;
	uint32_t span_us;	/* how long the work lasts, about */
};

static int fail(struct trial *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct trial *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* In a child: note why and leave with code 100. */
static void __attribute__((noreturn, format(printf, 3, 4)))
child_fail(struct trial *t, unsigned int idx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->lg->why[idx], WHY_LEN, fmt, ap);
	va_end(ap);
	_exit(100);
}

static uint32_t rnd(struct trial *t, uint32_t n)
{
	return n ? (uint32_t)(lt_rand(&t->rng) >> 16) % n : 0;
}

/* The message body of (producer @p, seq @s): id and check. */
struct tmsg {
	uint32_t id;
	uint32_t pad;
	uint64_t check;
};

static struct tmsg tmsg_make(const struct trial *t, unsigned int p, uint32_t s)
{
	struct tmsg m = { .id = p << 16 | s };

	m.check = lt_mix(m.id ^ t->seed);
	return m;
}

/* Record a received message: 0, or why it is wrong. */
static int record(struct trial *t, const struct tmsg *m, char *why)
{
	unsigned int p = m->id >> 16, s = m->id & 0xffff;

	if (p >= t->p->nprod || s >= t->p->n ||
	    m->check != lt_mix(m->id ^ t->seed)) {
		snprintf(why, WHY_LEN, "corrupt message id %#x", m->id);
		return -1;
	}
	if (atomic_fetch_add(&t->lg->seen[p][s], 1)) {
		snprintf(why, WHY_LEN, "message %u/%u received twice", p, s);
		return -1;
	}
	return 0;
}

static void child_record(struct trial *t, unsigned int idx,
			 const struct tmsg *m)
{
	if (record(t, m, t->lg->why[idx]))
		_exit(100);
}

static struct shmipc_region *child_open(struct trial *t, unsigned int idx)
{
	struct shmipc_region *r = NULL;
	int ret = shmipc_region_open(t->name, 0, 0, 0, &r);

	if (ret)
		child_fail(t, idx, "region open: %d", ret);
	return r;
}

/*
 * A producer: messages 0..n-1, each by @send_one(t, idx, seq, h) (0 once
 * committed), in the ledger.  -EOWNERDEAD: with @until_gone the consumer
 * died (stop), else a dead peer's slot was repaired and ours was not
 * sent (again).
 */
static void produce(struct trial *t, unsigned int idx,
		    int (*send_one)(struct trial *, unsigned int, uint32_t,
				    void *),
		    void *h, bool until_gone)
{
	uint32_t s;
	int ret;

	for (s = 0; s < t->p->n; s++) {
		atomic_store(&t->lg->attempt[idx], s + 1);
		while ((ret = send_one(t, idx, s, h)) == -EOWNERDEAD &&
		       !until_gone)
			;
		if (ret == -EOWNERDEAD)
			return;
		if (ret)
			child_fail(t, idx, "send %u: %d", s, ret);
		atomic_store(&t->lg->next[idx], s + 1);
	}
}

/*
 * A consumer: @recv_one(t, idx, h) receives and records one message
 * (0), in_recv raised around it.  With @until_gone, until the producer
 * is gone (-EPIPE / -EOWNERDEAD, after all it sent); else until the
 * driver says stop and a wait found nothing.
 */
static void consume(struct trial *t, unsigned int idx,
		    int (*recv_one)(struct trial *, unsigned int, void *),
		    void *h, bool until_gone)
{
	int ret;

	/* A consumer's kill point: the victim gets the first messages
	 * (else its peers may take them all, on a slow VM). */
	if (t->kp && t->kp->idx >= t->p->nprod && t->kp->idx != idx)
		lt_sleep_ms(KP_HEAD_START_MS);
	for (;;) {
		atomic_store(&t->lg->in_recv[idx], 1);
		ret = recv_one(t, idx, h);
		atomic_store(&t->lg->in_recv[idx], 0);
		if (ret == 0 || (ret == -EOWNERDEAD && !until_gone))
			continue;
		if (until_gone && (ret == -EOWNERDEAD || ret == -EPIPE))
			return;
		if (until_gone || (ret != -ETIMEDOUT && ret != -EAGAIN))
			child_fail(t, idx, "receive: %d", ret);
		if (atomic_load(&t->lg->stop))
			return;
	}
}

static uint64_t send_deadline(void)
{
	return shmipc_deadline_in(SEND_MS * LT_MS);
}

static uint64_t poll_deadline(void)
{
	return shmipc_deadline_in(POLL_MS * LT_MS);
}

/* ------------------------------------------------------------------ */
/* SPSC channel: one producer, one consumer */

static const struct kp_target spsc_kps[] = {
	{ SHMIPC_KP_SPSC_COPIED, 0, "spsc_send_copied", 0 },
	{ SHMIPC_KP_SPSC_PUBLISHED, 0, "spsc_send_published", 0 },
	{ SHMIPC_KP_SPSC_COPIED, 1, "spsc_recv_copied", 0 },
	{ SHMIPC_KP_SPSC_PUBLISHED, 1, "spsc_recv_published", 0 },
};

static int spsc_setup(struct trial *t)
{
	return shmipc_spsc_create(t->r, "c", sizeof(struct tmsg), 64);
}

static int spsc_send(struct trial *t, unsigned int idx, uint32_t s, void *h)
{
	struct tmsg m = tmsg_make(t, idx, s);

	return shmipc_spsc_send(h, &m, send_deadline());
}

static int spsc_recv(struct trial *t, unsigned int idx, void *h)
{
	struct tmsg m;
	int ret = shmipc_spsc_recv(h, &m, send_deadline());

	if (ret == 0)
		child_record(t, idx, &m);
	return ret;
}

static void spsc_child(struct trial *t, unsigned int idx)
{
	struct shmipc_region *r = child_open(t, idx);
	struct shmipc_spsc *ch;
	int ret;

	ret = shmipc_spsc_open(r, "c", idx ? SHMIPC_CONSUMER : SHMIPC_PRODUCER,
			       &ch);
	if (ret)
		child_fail(t, idx, "open: %d", ret);
	atomic_fetch_add(&t->lg->ready, 1);
	if (idx == 0)
		produce(t, idx, spsc_send, ch, true);
	else
		consume(t, idx, spsc_recv, ch, true);
	shmipc_spsc_close(ch);
	shmipc_region_close(r);
	_exit(0);
}

static int spsc_finish(struct trial *t)
{
	uint64_t end = shmipc_deadline_in(LT_SOON_MS * LT_MS);
	char why[WHY_LEN];
	struct shmipc_spsc *ch;
	struct tmsg m;
	int ret;

	/* Take the consumer's role over (module: a death is marked a
	 * moment after waitpid(), until then -EBUSY). */
	while ((ret = shmipc_spsc_open(t->r, "c", SHMIPC_CONSUMER, &ch)) ==
	       -EBUSY && shmipc_now_ns() < end)
		lt_sleep_ms(1);
	if (ret)
		return fail(t, "consumer takeover: %d", ret);
	while ((ret = shmipc_spsc_try_recv(ch, &m)) == 0)
		if (record(t, &m, why))
			break;
	shmipc_spsc_close(ch);
	if (ret == 0)
		return fail(t, "%s", why);
	if (ret != -EAGAIN && ret != -EPIPE && ret != -EOWNERDEAD)
		return fail(t, "drain: %d", ret);
	return 0;
}

/* ------------------------------------------------------------------ */
/* MPMC channel: two producers, two consumers */

static const struct kp_target mpmc_kps[] = {
	{ SHMIPC_KP_SEND_CLAIMED, 0, "send_claimed", 0 },
	{ SHMIPC_KP_SEND_MARKED, 1, "send_marked", 0 },
	{ SHMIPC_KP_SEND_DONE, 0, "send_done", 0 },
	{ SHMIPC_KP_RECV_CLAIMED, 2, "recv_claimed", 2 },
	{ SHMIPC_KP_RECV_MARKED, 3, "recv_marked", 2 },
	{ SHMIPC_KP_RECV_DONE, 2, "recv_done", 2 },
	{ SHMIPC_KP_USER_TAKEN, 3, "user_taken", 1 },	/* at the open */
};

static int mpmc_setup(struct trial *t)
{
	return shmipc_mpmc_create(t->r, "q", sizeof(struct tmsg), 32) ?:
	       shmipc_mpmc_open(t->r, "q", &t->q);
}

static int mpmc_send(struct trial *t, unsigned int idx, uint32_t s, void *h)
{
	struct tmsg m = tmsg_make(t, idx, s);

	return shmipc_mpmc_send(h, &m, send_deadline());
}

static int mpmc_recv(struct trial *t, unsigned int idx, void *h)
{
	struct tmsg m;
	int ret = shmipc_mpmc_recv(h, &m, poll_deadline());

	if (ret == 0)
		child_record(t, idx, &m);
	return ret;
}

static void mpmc_child(struct trial *t, unsigned int idx)
{
	struct shmipc_region *r = child_open(t, idx);
	struct shmipc_mpmc *q;
	int ret;

	ret = shmipc_mpmc_open(r, "q", &q);
	if (ret)
		child_fail(t, idx, "open: %d", ret);
	atomic_fetch_add(&t->lg->ready, 1);
	if (idx < t->p->nprod)
		produce(t, idx, mpmc_send, q, false);
	else
		consume(t, idx, mpmc_recv, q, false);
	shmipc_mpmc_close(q);
	shmipc_region_close(r);
	_exit(0);
}

static int mpmc_finish(struct trial *t)
{
	char why[WHY_LEN];
	struct tmsg m;
	int ret;

	for (;;) {
		ret = shmipc_mpmc_recv(t->q, &m,
				       shmipc_deadline_in(DRAIN_MS * LT_MS));
		if (ret == -EOWNERDEAD)
			continue;
		if (ret)
			break;
		if (record(t, &m, why))
			return fail(t, "%s", why);
	}
	shmipc_mpmc_close(t->q);
	t->q = NULL;
	return ret == -ETIMEDOUT ? 0 : fail(t, "drain: %d", ret);
}

/* ------------------------------------------------------------------ */
/* Heap allocator and heap channel: two senders, two receivers */

#define HEAP_BYTES	(2U << 20)
#define HEAP_BIG	70000U		/* a run of pages */

static const struct kp_target heap_kps[] = {
	{ SHMIPC_KP_HEAP_CLAIMED, 0, "heap_claimed", 0 },
	{ SHMIPC_KP_HEAP_CACHED, 2, "heap_cached", 2 },
	{ SHMIPC_KP_HEAP_FLIGHT, 1, "heap_flight", 0 },
	{ SHMIPC_KP_HEAP_DEQUEUED, 3, "heap_dequeued", 2 },
	{ SHMIPC_KP_SEND_MARKED, 0, "heap_send_marked", 0 },
	{ SHMIPC_KP_RECV_CLAIMED, 2, "heap_recv_claimed", 2 },
};

static int heap_setup(struct trial *t)
{
	struct shmipc_heap_stats st;
	int ret = shmipc_heap_create(t->r, "h", HEAP_BYTES) ?:
		  shmipc_heap_open(t->r, "h", &t->heap) ?:
		  shmipc_heap_stats(t->heap, &st);

	if (ret)
		return ret;
	t->heap_free = st.free_bytes;	/* before the channel's ring */
	return shmipc_heap_channel_add(t->heap, "c", 64) ?:
	       shmipc_heap_channel_open(t->heap, "c", &t->hch);
}

/* The size of message @s of producer @p: small, sometimes a run. */
static uint64_t heap_msg_size(const struct trial *t, unsigned int p,
			      uint32_t s)
{
	uint64_t x = lt_mix(t->seed + (p << 16 | s));

	return x % 16 == 0 ? HEAP_BIG : sizeof(struct tmsg) + x % 2000;
}

/* Check a received record and free it: 0 or why it is wrong. */
static int heap_take(struct trial *t, struct shmipc_heap *h, uint64_t off,
		     char *why)
{
	struct tmsg m;
	uint64_t size;
	void *ptr;
	int ret = shmipc_heap_record(h, off, &ptr, &size);

	if (ret) {
		snprintf(why, WHY_LEN, "record %#" PRIx64 ": %d", off, ret);
		return -1;
	}
	memcpy(&m, ptr, sizeof(m));
	if (record(t, &m, why))
		return -1;
	if (size < heap_msg_size(t, m.id >> 16, m.id & 0xffff)) {
		snprintf(why, WHY_LEN, "record of %" PRIu64 " bytes", size);
		return -1;
	}
	ret = shmipc_heap_free(h, off);
	if (ret) {
		snprintf(why, WHY_LEN, "free: %d", ret);
		return -1;
	}
	return 0;
}

struct heap_ends {
	struct shmipc_heap *h;
	struct shmipc_heap_channel *ch;
};

static int heap_send(struct trial *t, unsigned int idx, uint32_t s, void *arg)
{
	struct tmsg m = tmsg_make(t, idx, s);
	uint64_t off, end = send_deadline();
	struct heap_ends *e = arg;
	void *ptr;
	int ret;

	/* Records held by a dead peer come back by the reclaim that an
	 * allocation runs before -ENOMEM: again, for a while. */
	while ((ret = shmipc_heap_alloc(e->h, heap_msg_size(t, idx, s),
					&off)) == -ENOMEM &&
	       shmipc_now_ns() < end)
		lt_sleep_ms(1);
	if (ret)
		child_fail(t, idx, "alloc: %d", ret);
	if (shmipc_heap_record(e->h, off, &ptr, NULL))
		child_fail(t, idx, "own record");
	memcpy(ptr, &m, sizeof(m));
	while ((ret = shmipc_heap_send(e->ch, off, send_deadline())) ==
	       -EOWNERDEAD)
		;
	return ret;
}

static int heap_recv(struct trial *t, unsigned int idx, void *arg)
{
	struct heap_ends *e = arg;
	uint64_t off;
	int ret = shmipc_heap_recv(e->ch, &off, poll_deadline());

	if (ret == 0 && heap_take(t, e->h, off, t->lg->why[idx]))
		_exit(100);
	return ret;
}

static void heap_child(struct trial *t, unsigned int idx)
{
	struct shmipc_region *r = child_open(t, idx);
	struct heap_ends e;
	int ret;

	ret = shmipc_heap_open(r, "h", &e.h) ?:
	      shmipc_heap_channel_open(e.h, "c", &e.ch);
	if (ret)
		child_fail(t, idx, "open: %d", ret);
	atomic_fetch_add(&t->lg->ready, 1);
	if (idx < t->p->nprod)
		produce(t, idx, heap_send, &e, false);
	else
		consume(t, idx, heap_recv, &e, false);
	/* Closing flushes this thread's cache (_exit runs no destructor). */
	shmipc_heap_channel_close(e.ch);
	shmipc_heap_close(e.h);
	shmipc_region_close(r);
	_exit(0);
}

static int heap_finish(struct trial *t)
{
	struct shmipc_heap_stats st;
	char why[WHY_LEN];
	uint64_t off;
	int ret;

	for (;;) {
		ret = shmipc_heap_recv(t->hch, &off,
				       shmipc_deadline_in(DRAIN_MS * LT_MS));
		if (ret == -EOWNERDEAD)
			continue;
		if (ret)
			break;
		if (heap_take(t, t->heap, off, why))
			return fail(t, "%s", why);
	}
	if (ret != -ETIMEDOUT)
		return fail(t, "drain: %d", ret);
	/* What dead handles held comes back by reclaim; what was in flight
	 * on the channel (and its ring) by its removal and last close. */
	ret = shmipc_heap_reclaim(t->heap);
	if (ret < 0)
		return fail(t, "reclaim: %d", ret);
	ret = shmipc_heap_channel_remove(t->heap, "c");
	shmipc_heap_channel_close(t->hch);
	t->hch = NULL;
	if (ret)
		return fail(t, "channel remove: %d", ret);
	ret = shmipc_heap_flush(t->heap) ?: shmipc_heap_stats(t->heap, &st);
	if (ret)
		return fail(t, "stats: %d", ret);
	if (st.free_bytes != t->heap_free || st.used_records ||
	    st.in_flight_records || st.cached_records || st.channels)
		return fail(t, "heap: free %" PRIu64 " of %" PRIu64
			    " at start, used %" PRIu64 ", in flight %" PRIu64
			    ", cached %" PRIu64 ", channels %u", st.free_bytes,
			    t->heap_free, st.used_records, st.in_flight_records,
			    st.cached_records, st.channels);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Event-buffer pool: two writers, two readers */

#define EVP_BUFFERS	8
#define EVP_BUFSIZE	2048

static const struct kp_target evp_kps[] = {
	{ SHMIPC_KP_EVP_LOCKED, 0, "evp_locked", 0 },
	{ SHMIPC_KP_EVP_CLAIMED, 1, "evp_claimed", 0 },
	{ SHMIPC_KP_EVP_FRAG_ADDED, 0, "evp_frag_added", 0 },
	{ SHMIPC_KP_EVP_TAKEN, 2, "evp_taken", 2 },
};

static int evp_setup(struct trial *t)
{
	/* Incomplete events of dead writers are dropped at the end. */
	return shmipc_evpool_create(t->r, "e", EVP_BUFFERS, EVP_BUFSIZE,
				    SHMIPC_EVPOOL_DROP_INCOMPLETE, 0) ?:
	       shmipc_evpool_open(t->r, "e", SHMIPC_CONSUMER, &t->ev);
}

/* Event k of writer w: seq, and how many fragments. */
static uint64_t evp_seq(unsigned int w, uint32_t k)
{
	return (uint64_t)k * 2 + w + 1;
}

static uint32_t evp_frags(uint32_t k)
{
	return 1 + k % 3;
}

/* Check an event taken from the pool, release and record it. */
static int evp_take(struct trial *t, struct shmipc_evpool *p,
		    const struct shmipc_evpool_event *ev, char *why)
{
	unsigned int w = (unsigned int)((ev->seq - 1) % 2);
	uint32_t k = (uint32_t)((ev->seq - 1) / 2), n = 0;
	struct shmipc_evpool_frag f;
	struct tmsg m = tmsg_make(t, w, k), got;
	uint64_t pos = 0;
	int ret;

	while ((ret = shmipc_evpool_next_frag(ev, &pos, &f)) == 1) {
		memcpy(&got, f.data, sizeof(got));
		if (f.size < sizeof(got) || memcmp(&got, &m, sizeof(m)) ||
		    f.id >= evp_frags(k))
			break;
		n++;
	}
	if (ret != 0 || n != evp_frags(k) || ev->expected != n ||
	    (ev->flags & SHMIPC_EVPOOL_EV_INCOMPLETE)) {
		snprintf(why, WHY_LEN, "event %" PRIu64 ": %u fragments (%d)",
			 ev->seq, n, ret);
		return -1;
	}
	ret = shmipc_evpool_release(p, ev);
	if (ret) {
		snprintf(why, WHY_LEN, "release: %d", ret);
		return -1;
	}
	return record(t, &m, why);
}

static int evp_send(struct trial *t, unsigned int idx, uint32_t k, void *p)
{
	struct tmsg m = tmsg_make(t, idx, k);
	uint32_t f;
	int ret;

	for (f = 0; f < evp_frags(k); f++) {
		/* -EOWNERDEAD: a dead holder was repaired while we waited;
		 * ours is not added. */
		while ((ret = shmipc_evpool_add(p, evp_seq(idx, k),
						evp_frags(k), f, &m, sizeof(m),
						send_deadline())) ==
		       -EOWNERDEAD)
			;
		if (ret != (f + 1 == evp_frags(k)))
			return ret < 0 ? ret : -EPROTO;
	}
	return 0;
}

static int evp_recv(struct trial *t, unsigned int idx, void *p)
{
	struct shmipc_evpool_event ev;
	int ret = shmipc_evpool_get(p, &ev, poll_deadline());

	if (ret == 0 && evp_take(t, p, &ev, t->lg->why[idx]))
		_exit(100);
	return ret;
}

static void evp_child(struct trial *t, unsigned int idx)
{
	struct shmipc_region *r = child_open(t, idx);
	bool writer = idx < t->p->nprod;
	struct shmipc_evpool *p;
	int ret;

	ret = shmipc_evpool_open(r, "e", writer ? SHMIPC_PRODUCER :
						  SHMIPC_CONSUMER, &p);
	if (ret)
		child_fail(t, idx, "open: %d", ret);
	atomic_fetch_add(&t->lg->ready, 1);
	if (writer)
		produce(t, idx, evp_send, p, false);
	else
		consume(t, idx, evp_recv, p, false);
	shmipc_evpool_close(p);
	shmipc_region_close(r);
	_exit(0);
}

static int evp_finish(struct trial *t)
{
	struct shmipc_evpool_event ev;
	struct shmipc_evpool_stats st;
	char why[WHY_LEN];
	int ret;

	/* Dead holders' buffers back, then incomplete events dropped. */
	ret = shmipc_evpool_reclaim(t->ev);
	if (ret >= 0)
		ret = shmipc_evpool_expire(t->ev, 0);
	if (ret < 0)
		return fail(t, "reclaim / expire: %d", ret);
	for (;;) {
		ret = shmipc_evpool_get(t->ev, &ev,
					shmipc_deadline_in(DRAIN_MS * LT_MS));
		if (ret == -EOWNERDEAD)
			continue;
		if (ret)
			break;
		if (evp_take(t, t->ev, &ev, why))
			return fail(t, "%s", why);
	}
	if (ret != -ETIMEDOUT)
		return fail(t, "drain: %d", ret);
	ret = shmipc_evpool_stats(t->ev, &st);
	if (ret)
		return fail(t, "stats: %d", ret);
	if (st.empty != st.buffers)
		return fail(t, "pool: %u of %u buffers empty (writing %u, full %u, reading %u)",
			    st.empty, st.buffers, st.writing, st.full,
			    st.reading);
	shmipc_evpool_close(t->ev);
	t->ev = NULL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Controller/worker: a controller process and its two spawned workers */

#define CTL_WORKERS	2
#define CTL_MAX		256

struct ctl_req {
	uint32_t seq;
	uint32_t pad;
	uint64_t check;
};

static const struct kp_target ctl_kps[] = {
	{ SHMIPC_KP_CTL_POSTED, 0, "ctl_posted", 0 },
	{ SHMIPC_KP_CTL_ACKED, 1, "ctl_acked", 0 },	/* 1: worker 0 */
	{ SHMIPC_KP_CTL_COMMITTED, 1, "ctl_committed", 0 },
};

/* The answer a worker gives to @req. */
static uint64_t ctl_answer(const struct ctl_req *req)
{
	return lt_mix(req->check + req->seq);
}

/* A worker: this binary started by the controller with WORKER_ENV set. */
static void __attribute__((noreturn)) ctl_worker_main(void)
{
	const char *kp = getenv(WORKER_KP_ENV);
	struct shmipc_worker *w;
	struct ctl_req req;
	unsigned long skip;
	unsigned int kind;
	const void *payload;
	uint64_t ans;
	size_t len;
	int ret, k;

	if (kp && sscanf(kp, "%d:%lu", &k, &skip) == 2)
		lt_arm_kill_point((enum shmipc_kill_point)k, SIGKILL, skip);
	ret = shmipc_worker_open(NULL, &w);
	/* The controller died before we attached (module: its region went
	 * with it): nothing to do. */
	if (ret == -ENOENT || ret == -EOWNERDEAD || ret == -EPIPE)
		_exit(0);
	if (ret)
		_exit(10);
	for (;;) {
		ret = shmipc_worker_next(w, &kind, &payload, &len,
					 SHMIPC_FOREVER);
		if (ret == -EOWNERDEAD || ret == -EPIPE)
			break;
		if (ret || len != sizeof(req))
			_exit(11);
		memcpy(&req, payload, sizeof(req));
		ans = ctl_answer(&req);
		ret = shmipc_worker_reply(w, &ans, sizeof(ans));
		if (ret == -EOWNERDEAD || ret == -EPIPE)
			break;
		if (ret)
			_exit(12);
	}
	shmipc_worker_close(w);
	_exit(0);
}

__attribute__((constructor)) static void ctl_worker_hook(void)
{
	if (getenv(WORKER_ENV))
		ctl_worker_main();
}

static int ctl_setup(struct trial *t)
{
	(void)t;	/* the controller process creates the region */
	return 0;
}

static void ctl_check(struct trial *t, uint32_t s, const void *reply,
		      size_t len)
{
	struct ctl_req req = { .seq = s, .check = t->seed };
	uint64_t ans;

	if (len != sizeof(ans))
		child_fail(t, 0, "reply %u: %zu bytes", s, len);
	memcpy(&ans, reply, sizeof(ans));
	if (ans != ctl_answer(&req))
		child_fail(t, 0, "reply %u: wrong answer", s);
}

static void ctl_child(struct trial *t, unsigned int idx)
{
	char *argv[] = { "/proc/self/exe", NULL };
	struct shmipc_ctl_worker *w[CTL_WORKERS];
	struct shmipc_ctl *ctl;
	struct ctl_req req = { .check = t->seed };
	const void *reply;
	char kp[32];
	size_t len;
	unsigned int i;
	uint32_t s;
	int ret;

	(void)idx;
	setenv(WORKER_ENV, "1", 1);
	ret = shmipc_ctl_create(t->name, CTL_WORKERS, CTL_MAX, &ctl);
	if (ret)
		child_fail(t, 0, "create: %d", ret);
	for (i = 0; i < CTL_WORKERS; i++) {
		/* Only the first incarnation of worker 0 arms its point. */
		if (i == 0 && t->kp && t->kp->idx == 1) {
			snprintf(kp, sizeof(kp), "%d:%u", (int)t->kp->kp,
				 rnd(t, 4));
			setenv(WORKER_KP_ENV, kp, 1);
		}
		ret = shmipc_ctl_spawn(ctl, i, argv, &w[i]);
		unsetenv(WORKER_KP_ENV);
		if (ret)
			child_fail(t, 0, "spawn: %d", ret);
		atomic_store(&t->lg->extra[i], shmipc_ctl_worker_pid(w[i]));
	}
	if (t->kp && t->kp->idx == 0)
		lt_arm_kill_point(t->kp->kp, SIGKILL, rnd(t, t->kp->skips ?: 8));
	atomic_fetch_add(&t->lg->ready, 1);
	for (s = 0; s < t->p->n; s++) {
		struct shmipc_ctl_worker *to = w[s % CTL_WORKERS];

		req.seq = s;
		atomic_store(&t->lg->attempt[0], s + 1);
		ret = shmipc_ctl_transition(to, SHMIPC_CTL_PROCESS, &req,
					    sizeof(req), &reply, &len,
					    shmipc_deadline_in(SEND_MS * LT_MS));
		/* A dead worker gets the transition again, exactly once. */
		if (ret == -EOWNERDEAD) {
			int st = 0;

			if (!shmipc_ctl_worker_status(to, &st) &&
			    WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
				atomic_fetch_add(&t->lg->extra_killed, 1);
			ret = shmipc_ctl_restart(to, &reply, &len,
					shmipc_deadline_in(SEND_MS * LT_MS));
			/* No reply: it died before this one was posted. */
			if (!ret && !reply)
				ret = shmipc_ctl_transition(to,
					SHMIPC_CTL_PROCESS, &req, sizeof(req),
					&reply, &len,
					shmipc_deadline_in(SEND_MS * LT_MS));
		}
		if (ret)
			child_fail(t, 0, "transition %u: %d", s, ret);
		ctl_check(t, s, reply, len);
		atomic_store(&t->lg->next[0], s + 1);
	}
	ret = shmipc_ctl_destroy(ctl);
	if (ret)
		child_fail(t, 0, "destroy: %d", ret);
	_exit(0);
}

static int ctl_finish(struct trial *t)
{
	if (atomic_load(&t->lg->next[0]) != t->p->n && t->victim != 0)
		return fail(t, "controller did %u of %u transitions",
			    atomic_load(&t->lg->next[0]), t->p->n);
	/* A dead controller leaves the names (portable) to remove. */
	shmipc_ctl_unlink(t->name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The driver */

static const struct proto protos[] = {
	{ "spsc", 1, 2, 0, 1000, spsc_setup, spsc_child, spsc_finish,
	  spsc_kps, ARRAY_SIZE(spsc_kps) },
	{ "mpmc", 2, 4, 0, 300, mpmc_setup, mpmc_child, mpmc_finish,
	  mpmc_kps, ARRAY_SIZE(mpmc_kps) },
	{ "heap", 2, 4, 0, 150, heap_setup, heap_child, heap_finish,
	  heap_kps, ARRAY_SIZE(heap_kps) },
	{ "evpool", 2, 4, 0, 100, evp_setup, evp_child, evp_finish,
	  evp_kps, ARRAY_SIZE(evp_kps) },
	{ "ctl", 1, 1, CTL_WORKERS, 30, ctl_setup, ctl_child, ctl_finish,
	  ctl_kps, ARRAY_SIZE(ctl_kps) },
};

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

static uint64_t the_seed;

/* Chosen before the harness forks its tests, so all share it. */
__attribute__((constructor)) static void seed_init(void)
{
	the_seed = env_ulong("SHMIPC_TORTURE_SEED",
			     shmipc_now_ns() ^ (uint64_t)getpid() << 32) ?: 1;
}

static uint64_t run_seed(void)
{
	return the_seed;
}

/* Reap peer @pid (ours, or reparented to us, or another's child) within
 * LT_SOON_MS: its exit code, 128 + signal, 0 if another reaped it, -1
 * if it hung (then it is killed). */
static int reap_peer(pid_t pid)
{
	uint64_t end = shmipc_deadline_in(LT_SOON_MS * LT_MS);
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		if (r < 0 && errno == ECHILD && kill(pid, 0) && errno == ESRCH)
			return 0;
		if (shmipc_now_ns() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		lt_sleep_ms(1);
	}
}

static bool name_listed(const char *prefix)
{
	struct shmipc_region_stat st[64];
	int n = shmipc_list_regions(st, ARRAY_SIZE(st)), i;

	for (i = 0; i < n && i < (int)ARRAY_SIZE(st); i++)
		if (!strncmp(st[i].name, prefix, strlen(prefix)))
			return true;
	return false;
}

/* Introspection: no live peer but us, no more dead than killed, no
 * waiter. */
static int check_peers(struct trial *t)
{
	struct shmipc_peer_stat ps[SHMIPC_PEERS_MAX];
	struct shmipc_region_stat st;
	struct shmipc_inspect *in;
	unsigned int dead = 0;
	int n, i, ret;

	ret = shmipc_inspect_open(t->name, &in);
	if (ret == -ENOENT && !t->r)
		return 0;	/* ctl, module: gone with its last peer */
	if (ret)
		return fail(t, "inspect: %d", ret);
	n = shmipc_inspect_peers(in, ps, ARRAY_SIZE(ps));
	ret = n < 0 ? n : shmipc_inspect_stat(in, &st);
	shmipc_inspect_close(in);
	if (ret < 0)
		return fail(t, "inspect peers: %d", ret);
	for (i = 0; i < n && i < (int)ARRAY_SIZE(ps); i++) {
		if (ps[i].state == SHMIPC_INSPECT_DEAD)
			dead++;
		else if (!t->r || ps[i].pid != getpid())
			return fail(t, "orphan live peer, pid %d", ps[i].pid);
	}
	if (dead > (t->killed ? 1U : 0U))
		return fail(t, "%u dead peers listed, %u killed", dead,
			    t->killed);
	if (st.nr_waiters && st.nr_waiters != SHMIPC_STAT_UNKNOWN)
		return fail(t, "%u waiters left", st.nr_waiters);
	return 0;
}

/* The ledger: every committed message exactly once (module doc). */
static int check_ledger(struct trial *t)
{
	unsigned int p, s, missing = 0;

	for (p = 0; p < t->p->nprod && t->p->setup != ctl_setup; p++) {
		uint32_t next = atomic_load(&t->lg->next[p]);
		uint32_t attempt = atomic_load(&t->lg->attempt[p]);

		for (s = 0; s < t->p->n; s++) {
			uint32_t seen = atomic_load(&t->lg->seen[p][s]);

			if (s < next)
				missing += !seen;
			else if (seen && !(s == next && attempt == next + 1))
				return fail(t, "message %u/%u never committed arrived",
					    p, s);
		}
	}
	if (missing > t->allowance)
		return fail(t, "%u committed messages lost (allowance %u)",
			    missing, t->allowance);
	return 0;
}

/* One trial; 0 or -1 with t->why. */
static int run_trial(struct trial *t, struct tally *ty)
{
	const struct proto *p = t->p;
	unsigned int npeers = p->nproc + p->nextra, i;
	uint64_t start = 0;
	int ret, rc[TP_MAX + TX_MAX];

	memset(t->lg, 0, sizeof(*t->lg));
	t->victim = t->kp ? (int)t->kp->idx : (int)rnd(t, npeers);
	t->killed = false;
	t->allowance = 0;
	t->why[0] = 0;
	t->r = NULL;
	lt_name(t->name, sizeof(t->name), p->name);
	if (p->setup != ctl_setup) {
		ret = shmipc_region_open(t->name, 4U << 20, 0600,
					 SHMIPC_REGION_CREATE |
					 SHMIPC_REGION_EXCL, &t->r);
		if (ret)
			return fail(t, "region: %d", ret);
	}
	ret = p->setup(t);
	if (ret)
		return fail(t, "setup: %d", ret);
	for (i = 0; i < p->nproc; i++) {
		t->pid[i] = lt_fork();
		if (t->pid[i] == 0) {
			t->rng ^= lt_mix(i + 1);
			if (t->kp && t->kp->idx == i && p->setup != ctl_setup)
				lt_arm_kill_point(t->kp->kp, SIGKILL,
						  rnd(t, t->kp->skips ?: 8));
			p->child(t, i);
		}
		if (t->pid[i] < 0)
			return fail(t, "fork: %d", errno);
	}
	if (!t->kp) {
		/* Random mode: once all are running, kill one of them. */
		uint64_t end = shmipc_deadline_in(LT_SOON_MS * LT_MS);

		while (atomic_load(&t->lg->ready) < p->nproc &&
		       shmipc_now_ns() < end)
			usleep(100);
		for (i = 0; i < p->nextra; i++)
			t->pid[p->nproc + i] = atomic_load(&t->lg->extra[i]);
		/* At a random moment of the work (as long as the last
		 * trial's producers took). */
		start = shmipc_now_ns();
		usleep(rnd(t, ty->span_us ?: 8000));
		if (t->pid[t->victim] > 0 && !kill(t->pid[t->victim], SIGKILL))
			ty->kills++;
	}
	/* Producers first; then the consumers may stop. */
	for (i = 0; i < npeers; i++) {
		if (i == p->nprod)
			atomic_store(&t->lg->stop, 1);
		if (i >= p->nproc && t->kp)
			t->pid[i] = atomic_load(&t->lg->extra[i - p->nproc]);
		rc[i] = t->pid[i] > 0 ? reap_peer(t->pid[i]) : 0;
		if (i + 1 == p->nprod && !t->kp)
			ty->span_us = (uint32_t)((shmipc_now_ns() - start) /
						 1000) + 1;
	}
	atomic_store(&t->lg->stop, 1);
	for (i = 0; i < npeers; i++) {
		/* A ctl worker is reaped by its controller, which notes how
		 * it died. */
		if ((int)i == t->victim && i >= p->nproc &&
		    atomic_load(&t->lg->extra_killed))
			rc[i] = 128 + SIGKILL;
		if (rc[i] == 128 + SIGKILL && (int)i == t->victim) {
			t->killed = true;
			t->allowance += atomic_load(&t->lg->in_recv[i]);
			continue;
		}
		if (rc[i] == -1)
			return fail(t, "peer %u hung (victim %d)", i, t->victim);
		if (rc[i])
			return fail(t, "peer %u ended with %d: %s (victim %d)",
				    i, rc[i], i < TP_MAX ? t->lg->why[i] : "",
				    t->victim);
	}
	if (t->kp)
		ty->kp_fired += t->killed;
	else
		ty->deaths += t->killed;
	/* Module: a death is marked a moment after waitpid(). */
	if (t->r && lt_await_peers(t->r, 1))
		return fail(t, "dead peers still counted");
	ret = check_peers(t) ?: p->finish(t) ?: check_ledger(t);
	if (t->r) {
		shmipc_mpmc_close(t->q);
		shmipc_heap_channel_close(t->hch);
		shmipc_heap_close(t->heap);
		shmipc_evpool_close(t->ev);
		t->q = NULL;
		t->hch = NULL;
		t->heap = NULL;
		t->ev = NULL;
		shmipc_region_close(t->r);
		shmipc_region_unlink(t->name);
	}
	if (!ret && name_listed(t->name))
		return fail(t, "region %s left behind", t->name);
	ty->trials++;
	return ret;
}

FIXTURE(torture) {
	struct ledger *lg;
	struct trial t;
};

FIXTURE_VARIANT(torture) {
	unsigned int proto;
};

FIXTURE_VARIANT_ADD(torture, spsc) { .proto = 0 };
FIXTURE_VARIANT_ADD(torture, mpmc) { .proto = 1 };
FIXTURE_VARIANT_ADD(torture, heap) { .proto = 2 };
FIXTURE_VARIANT_ADD(torture, evpool) { .proto = 3 };
FIXTURE_VARIANT_ADD(torture, ctl) { .proto = 4 };

FIXTURE_SETUP(torture)
{
	self->lg = mmap(NULL, sizeof(*self->lg), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->lg);
	memset(&self->t, 0, sizeof(self->t));
	self->t.lg = self->lg;
	self->t.p = &protos[variant->proto];
	/* Orphaned ctl workers come to us, to be reaped with a deadline. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
}

FIXTURE_TEARDOWN(torture)
{
	munmap(self->lg, sizeof(*self->lg));
}

static bool on_vm(void)
{
	return lt_expected_backend() == SHMIPC_BACKEND_MODULE;
}

/* Default trials: fewer in the VM (TCG) and under a sanitizer. */
static unsigned int default_trials(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return on_vm() ? 100 : 200;
#else
	return on_vm() ? 300 : 1000;
#endif
}

/* Seed of trial @n of protocol @proto in mode @mode. */
static uint64_t trial_seed(unsigned int mode, unsigned int proto,
			   unsigned int n)
{
	return lt_mix(run_seed() ^ lt_mix((uint64_t)mode << 40 |
					  (uint64_t)proto << 32 | n)) | 1;
}

static bool selected(unsigned int n)
{
	const char *only = getenv("SHMIPC_TORTURE_TRIAL");

	return !only || !*only || strtoul(only, NULL, 0) == n;
}

TEST_F_TIMEOUT(torture, random_kills, 900)
{
	unsigned int total = env_ulong("SHMIPC_TORTURE_TRIALS",
				       default_trials());
	unsigned int n = (total + ARRAY_SIZE(protos) - 1) / ARRAY_SIZE(protos);
	struct trial *t = &self->t;
	struct tally ty = { 0 };
	unsigned int i;

	ksft_print_msg("%s: seed %#" PRIx64 " (replay: SHMIPC_TORTURE_SEED=%#"
		       PRIx64 " [SHMIPC_TORTURE_TRIAL=N])\n", t->p->name,
		       run_seed(), run_seed());
	for (i = 0; i < n; i++) {
		if (!selected(i))
			continue;
		t->seed = t->rng = trial_seed(0, variant->proto, i);
		ASSERT_EQ(0, run_trial(t, &ty))
			TH_LOG("%s trial %u (SHMIPC_TORTURE_TRIAL=%u): %s",
			       t->p->name, i, i, t->why);
	}
	ksft_print_msg("%s: %u trials, %u SIGKILLs sent, %u victims killed at work\n",
		       t->p->name, ty.trials, ty.kills, ty.deaths);
	fflush(stdout);
}

TEST_F_TIMEOUT(torture, kill_points, 600)
{
	unsigned int reps = env_ulong("SHMIPC_TORTURE_KP_REPS",
				      3);
	struct trial *t = &self->t;
	unsigned int k, i, fired, ran;
	struct tally ty = { 0 };

	ksft_print_msg("%s: seed %#" PRIx64 "\n", t->p->name, run_seed());
	for (k = 0; k < t->p->nkps; k++) {
		t->kp = &t->p->kps[k];
		fired = ty.kp_fired;
		ran = 0;
		for (i = 0; i < reps; i++) {
			unsigned int n = k * reps + i;

			if (!selected(n))
				continue;
			ran++;
			t->seed = t->rng = trial_seed(1, variant->proto, n);
			ASSERT_EQ(0, run_trial(t, &ty))
				TH_LOG("%s at %s, trial %u (SHMIPC_TORTURE_TRIAL=%u): %s",
				       t->p->name, t->kp->name, n, n, t->why);
		}
		/* A replay of one trial runs one point. */
		if (ran) {
			EXPECT_LT(fired, ty.kp_fired)
				TH_LOG("kill point %s never reached",
				       t->kp->name);
		}
	}
	ksft_print_msg("%s: %u kill points, %u trials, %u deaths at a kill point\n",
		       t->p->name, t->p->nkps, ty.trials, ty.kp_fired);
	fflush(stdout);
}

TEST_HARNESS_MAIN
