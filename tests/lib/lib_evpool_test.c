// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc event-buffer pool: every state transition and the invalid
 * ones, fragments from several writers (threads and processes) assembled
 * into the right events (checked by content), readers in sequence order
 * and in turn, broadcast, expiry of incomplete events, writers and
 * readers SIGKILLed while holding buffers (partial event dropped; event
 * redelivered, none lost or duplicated, checked by ids), a full pool
 * (-ETIMEDOUT), member slots, and a hostile peer corrupting the pool.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "lib_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define RSIZE	(2 * 1024 * 1024)
#define NBUF	8
#define BUFSZ	1024
#define DL_LONG	(20000 * LT_MS)

/* struct evp_hdr (lib/evpool.c): config line, lock at +64, sleep line at
 * +128, counters at +192, member slots (16 bytes) at +256, descriptors
 * (64 bytes: word, seq, start_ns, shares, expected, frags, used) at
 * +768. */
#define H_MAGIC		0
#define H_VERSION	4
#define H_NBUF		12
#define H_BUFSZ		16
#define H_STRIDE	20
#define H_FLAGS		24
#define H_DESCS		32
#define H_DATA		40
#define H_LOCK		64
#define H_DATA_WAITING	136
#define H_MEMBERS	256
#define H_DESC0		768
#define D_WORD		0
#define D_SEQ		8
#define D_SHARES	24
#define D_EXPECTED	32
#define D_FRAGS		36
#define D_USED		40

/* ------------------------------------------------------------------ */
/* Fragments with content derived from (sequence id, fragment id) */

static uint32_t frag_size(uint64_t seq, uint32_t id)
{
	return 1 + (uint32_t)((seq * 7 + id * 13) % 120);
}

static uint8_t frag_byte(uint64_t seq, uint32_t id, uint32_t i)
{
	uint64_t x = lt_mix(seq * 131 + id + 1);

	return (uint8_t)(x >> ((i % 8) * 8)) ^ (uint8_t)i;
}

static int add_frag(struct shmipc_evpool *w, uint64_t seq, uint32_t expected,
		    uint32_t id, uint64_t dl)
{
	uint8_t buf[128];
	uint32_t i, size = frag_size(seq, id);

	for (i = 0; i < size; i++)
		buf[i] = frag_byte(seq, id, i);
	return shmipc_evpool_add(w, seq, expected, id, buf, size, dl);
}

/*
 * 0 if @ev holds exactly ev->frags fragments with distinct ids below
 * ev->expected, each of the right size and content; else a code > 0.
 */
static int event_check(const struct shmipc_evpool_event *ev)
{
	struct shmipc_evpool_frag f;
	uint64_t pos = 0, seen = 0;
	uint32_t n = 0, i;
	int ret;

	while ((ret = shmipc_evpool_next_frag(ev, &pos, &f)) == 1) {
		const uint8_t *b = f.data;

		if (f.id >= ev->expected || f.id >= 64 ||
		    (seen & (1ULL << f.id)))
			return 2;
		seen |= 1ULL << f.id;
		if (f.size != frag_size(ev->seq, f.id))
			return 3;
		for (i = 0; i < f.size; i++)
			if (b[i] != frag_byte(ev->seq, f.id, i))
				return 4;
		n++;
	}
	if (ret < 0)
		return 5;
	return n == ev->frags ? 0 : 6;
}

/* ------------------------------------------------------------------ */

FIXTURE(evp) {
	char name[64];
	struct shmipc_region *r;
	char *base;
	uint64_t off;
	struct shmipc_evpool *w, *rd;
};

FIXTURE_SETUP(evp)
{
	int ret;

	ret = lt_region(self->name, sizeof(self->name), "evp", RSIZE,
			&self->r);
	ASSERT_EQ(0, ret) TH_LOG("create: %s", shmipc_strerror(ret));
	self->base = shmipc_region_base(self->r);
	ASSERT_EQ(0, shmipc_evpool_create(self->r, "ev", NBUF, BUFSZ, 0, 0));
	ASSERT_EQ(0, shmipc_dir_find(self->r, "ev", &self->off, NULL));
	ASSERT_EQ(0, shmipc_evpool_open(self->r, "ev", SHMIPC_PRODUCER,
					&self->w));
	ASSERT_EQ(0, shmipc_evpool_open(self->r, "ev", SHMIPC_CONSUMER,
					&self->rd));
}

FIXTURE_TEARDOWN(evp)
{
	shmipc_evpool_close(self->w);
	shmipc_evpool_close(self->rd);
	shmipc_region_close(self->r);
	shmipc_region_unlink(self->name);
}

static void *at(FIXTURE_DATA(evp) *self, const char *key, unsigned int off)
{
	uint64_t o;

	if (strcmp(key, "ev"))
		shmipc_dir_find(self->r, key, &o, NULL);
	else
		o = self->off;
	return self->base + o + off;
}

static _Atomic uint64_t *desc_word(FIXTURE_DATA(evp) *self, const char *key,
				   unsigned int b)
{
	return at(self, key, H_DESC0 + b * 64 + D_WORD);
}

static struct shmipc_evpool_stats stats_of(struct shmipc_evpool *p)
{
	struct shmipc_evpool_stats st;

	memset(&st, 0xff, sizeof(st));
	if (shmipc_evpool_stats(p, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

/* Buffers per state: empty, writing, full, reading. */
#define EXPECT_STATES(p, e, wr, f, rd) do {				\
		struct shmipc_evpool_stats st_ = stats_of(p);		\
		EXPECT_EQ(e, st_.empty);				\
		EXPECT_EQ(wr, st_.writing);				\
		EXPECT_EQ(f, st_.full);					\
		EXPECT_EQ(rd, st_.reading);				\
	} while (0)

static struct shmipc_evpool *open_as(FIXTURE_DATA(evp) *self, const char *key,
				     int role)
{
	struct shmipc_evpool *p = NULL;

	if (shmipc_evpool_open(self->r, key, role, &p))
		return NULL;
	return p;
}

TEST_F(evp, arguments)
{
	struct shmipc_evpool *p = NULL, *obs;
	struct shmipc_evpool_event ev;
	struct shmipc_evpool_frag f;
	uint64_t pos = 0;
	void *data;
	char big[BUFSZ];

	EXPECT_EQ(-EINVAL, shmipc_evpool_create(self->r, "x", 0, 64, 0, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_create(self->r, "x", 5000, 64, 0, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_create(self->r, "x", 4, 8, 0, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_create(self->r, "x", 4, 20, 0, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_create(self->r, "x", 4, 64, 0x80, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_create(NULL, "x", 4, 64, 0, 0));
	EXPECT_EQ(-EEXIST, shmipc_evpool_create(self->r, "ev", 4, 64, 0, 0));
	EXPECT_EQ(-ENOENT, shmipc_evpool_open(self->r, "none", 0, &p));
	EXPECT_EQ(-EINVAL, shmipc_evpool_open(self->r, "ev", 7, &p));
	EXPECT_EQ(-EINVAL, shmipc_evpool_open(self->r, "ev", 0, NULL));
	EXPECT_EQ(NBUF, shmipc_evpool_buffers(self->w));
	EXPECT_EQ(BUFSZ, shmipc_evpool_buffer_size(self->rd));

	/* Roles. */
	EXPECT_EQ(-EPERM, shmipc_evpool_get(self->w, &ev, 0));
	EXPECT_EQ(-EPERM, add_frag(self->rd, 1, 1, 0, 0));
	EXPECT_EQ(-EPERM, shmipc_evpool_frag_commit(self->rd));
	ASSERT_NE(NULL, obs = open_as(self, "ev", 0));
	EXPECT_EQ(-EPERM, add_frag(obs, 1, 1, 0, 0));
	EXPECT_EQ(-EPERM, shmipc_evpool_get(obs, &ev, 0));
	EXPECT_EQ(-EPERM, shmipc_evpool_expire(obs, 0));
	EXPECT_EQ(0, shmipc_evpool_reclaim(obs));
	EXPECT_EQ(0, stats_of(obs).full);
	EXPECT_EQ(1, stats_of(obs).writers);
	EXPECT_EQ(1, stats_of(obs).readers);
	shmipc_evpool_close(obs);

	/* Fragments. */
	EXPECT_EQ(-EINVAL, add_frag(self->w, 1, 0, 0, 0));
	EXPECT_EQ(-EINVAL, add_frag(self->w, 1, SHMIPC_EVPOOL_FRAGS_MAX + 1,
				    0, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_add(self->w, 1, 1, 0, NULL, 4, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_frag_begin(self->w, 1, 1, 0, 4,
						    NULL, 0));
	memset(big, 0, sizeof(big));
	EXPECT_EQ(-EMSGSIZE, shmipc_evpool_add(self->w, 1, 1, 0, big,
					       BUFSZ - 7, 0));
	EXPECT_EQ(-EMSGSIZE, shmipc_evpool_frag_begin(self->w, 1, 1, 0,
						      UINT32_MAX, &data, 0));
	/* The largest fragment fits exactly. */
	EXPECT_EQ(1, shmipc_evpool_add(self->w, 1, 1, 0, big, BUFSZ - 8, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_frag_commit(self->w));
	EXPECT_EQ(-EINVAL, shmipc_evpool_frag_abort(self->w));
	EXPECT_EQ(-EINVAL, shmipc_evpool_get(self->rd, NULL, 0));
	EXPECT_EQ(-EINVAL, shmipc_evpool_release(self->rd, NULL));
	EXPECT_EQ(-EINVAL, shmipc_evpool_next_frag(NULL, &pos, &f));
	EXPECT_EQ(-EINVAL, shmipc_evpool_stats(self->w, NULL));
	EXPECT_EQ(-EINVAL, shmipc_evpool_stats(NULL, NULL));
	EXPECT_EQ(0, shmipc_evpool_close(NULL));
	/* An event that does not fit in its buffer. */
	EXPECT_EQ(0, shmipc_evpool_add(self->w, 2, 2, 0, big, BUFSZ - 100, 0));
	EXPECT_EQ(-ENOSPC, shmipc_evpool_add(self->w, 2, 2, 1, big, 100, 0));
	EXPECT_EQ(1, shmipc_evpool_add(self->w, 2, 2, 1, big, 50, 0));
	ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
	EXPECT_EQ(1, ev.seq);
	pos = 3;
	EXPECT_EQ(-EINVAL, shmipc_evpool_next_frag(&ev, &pos, &f));
	pos = 0;
	EXPECT_EQ(1, shmipc_evpool_next_frag(&ev, &pos, &f));
	EXPECT_EQ(BUFSZ - 8, f.size);
	EXPECT_EQ(0, shmipc_evpool_next_frag(&ev, &pos, &f));
	EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
}

/* Every transition, the generation bumped by each, and the invalid ones
 * refused. */
TEST_F(evp, transitions)
{
	struct shmipc_evpool *w2, *rd2;
	struct shmipc_evpool_event ev, ev2, old;
	uint64_t g, g2;
	void *data;
	int b;

	ASSERT_NE(NULL, w2 = open_as(self, "ev", SHMIPC_PRODUCER));
	ASSERT_NE(NULL, rd2 = open_as(self, "ev", SHMIPC_CONSUMER));
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);

	/* Empty -> Writing (held by w). */
	ASSERT_EQ(0, shmipc_evpool_frag_begin(self->w, 10, 2, 0,
					      frag_size(10, 0), &data, 0));
	for (b = 0; b < NBUF; b++)
		if (atomic_load(desc_word(self, "ev", b)) & 3)
			break;
	ASSERT_GT(NBUF, b);
	g = atomic_load(desc_word(self, "ev", b)) >> 16;
	EXPECT_STATES(self->w, NBUF - 1, 1, 0, 0);
	/* Held: another writer cannot append now, nor a second begin. */
	EXPECT_EQ(-EAGAIN, add_frag(w2, 10, 2, 1, 0));
	EXPECT_EQ(-ETIMEDOUT, add_frag(w2, 10, 2, 1,
				       shmipc_deadline_in(20 * LT_MS)));
	EXPECT_EQ(-EINVAL, shmipc_evpool_frag_begin(self->w, 11, 1, 0, 4,
						    &data, 0));
	memset(data, 0, frag_size(10, 0));
	{
		uint32_t i;

		for (i = 0; i < frag_size(10, 0); i++)
			((uint8_t *)data)[i] = frag_byte(10, 0, i);
	}
	/* Writing (held) -> Writing (idle): not complete. */
	EXPECT_EQ(0, shmipc_evpool_frag_commit(self->w));
	g2 = atomic_load(desc_word(self, "ev", b)) >> 16;
	EXPECT_LT(g, g2);
	g = g2;
	EXPECT_EQ(-EINVAL, shmipc_evpool_frag_commit(self->w));
	EXPECT_EQ(-EINVAL, shmipc_evpool_frag_abort(self->w));
	EXPECT_STATES(self->w, NBUF - 1, 1, 0, 0);
	/* Expected count of another value: refused, event unchanged. */
	EXPECT_EQ(-EINVAL, add_frag(w2, 10, 3, 1, 0));
	/* Nothing Full yet. */
	EXPECT_EQ(-EAGAIN, shmipc_evpool_get(self->rd, &ev, 0));

	/* Writing -> Full: the second fragment, from another writer. */
	EXPECT_EQ(1, add_frag(w2, 10, 2, 1, 0));
	g2 = atomic_load(desc_word(self, "ev", b)) >> 16;
	EXPECT_LT(g, g2);
	g = g2;
	EXPECT_STATES(self->w, NBUF - 1, 0, 1, 0);
	EXPECT_EQ(-EALREADY, add_frag(self->w, 10, 2, 1, 0));

	/* Full -> Reading. */
	ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
	EXPECT_EQ(10, ev.seq);
	EXPECT_EQ(2, ev.frags);
	EXPECT_EQ(2, ev.expected);
	EXPECT_EQ(0, ev.flags);
	EXPECT_EQ(b, (int)ev.buffer);
	EXPECT_EQ(0, event_check(&ev));
	EXPECT_STATES(self->w, NBUF - 1, 0, 0, 1);
	EXPECT_EQ(-EALREADY, add_frag(self->w, 10, 2, 0, 0));
	EXPECT_EQ(-EAGAIN, shmipc_evpool_get(rd2, &ev2, 0));
	/* Another reader's ticket, a writer releasing: refused. */
	EXPECT_EQ(-EPERM, shmipc_evpool_release(rd2, &ev));
	EXPECT_EQ(-EPERM, shmipc_evpool_release(self->w, &ev));
	old = ev;
	old.buffer = NBUF;
	EXPECT_EQ(-EINVAL, shmipc_evpool_release(self->rd, &old));

	/* Reading -> Empty; twice is refused. */
	EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	g2 = atomic_load(desc_word(self, "ev", b)) >> 16;
	EXPECT_LT(g, g2);
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
	EXPECT_EQ(-EINVAL, shmipc_evpool_release(self->rd, &ev));

	/* A stale ticket for a buffer in use again by the same reader. */
	old = ev;
	for (b = 0; b < 2 * NBUF; b++) {
		ASSERT_EQ(1, add_frag(self->w, 100 + b, 1, 0, 0));
		ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
		if (ev.buffer == old.buffer)
			break;
		ASSERT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	}
	ASSERT_EQ(old.buffer, ev.buffer);
	EXPECT_EQ(-EINVAL, shmipc_evpool_release(self->rd, &old));
	EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));

	/* Begin + abort of a new event: Writing -> Empty. */
	ASSERT_EQ(0, shmipc_evpool_frag_begin(self->w, 20, 2, 0, 8, &data, 0));
	EXPECT_STATES(self->w, NBUF - 1, 1, 0, 0);
	EXPECT_EQ(0, shmipc_evpool_frag_abort(self->w));
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
	/* Begin + abort on an event with fragments: it stays, unchanged. */
	ASSERT_EQ(0, add_frag(self->w, 21, 2, 0, 0));
	ASSERT_EQ(0, shmipc_evpool_frag_begin(w2, 21, 2, 1, 8, &data, 0));
	EXPECT_EQ(0, shmipc_evpool_frag_abort(w2));
	EXPECT_STATES(self->w, NBUF - 1, 1, 0, 0);
	EXPECT_EQ(1, add_frag(w2, 21, 2, 1, 0));
	ASSERT_EQ(0, shmipc_evpool_get(rd2, &ev, 0));
	EXPECT_EQ(21, ev.seq);
	EXPECT_EQ(0, event_check(&ev));
	EXPECT_EQ(0, shmipc_evpool_release(rd2, &ev));
	EXPECT_EQ(2, stats_of(self->w).writers);
	EXPECT_EQ(2, stats_of(self->w).readers);
	shmipc_evpool_close(w2);
	shmipc_evpool_close(rd2);
	EXPECT_EQ(1, stats_of(self->w).writers);
	EXPECT_EQ(1, stats_of(self->w).readers);
}

/* Lowest sequence id first, whatever the order of completion. */
TEST_F(evp, lowest_sequence_first)
{
	static const uint64_t order[] = { 50, 20, 40, 10, 30 };
	struct shmipc_evpool_event ev;
	unsigned int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(1, add_frag(self->w, order[i], 1, 0, 0));
	for (i = 1; i <= 5; i++) {
		ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
		EXPECT_EQ(i * 10, ev.seq);
		EXPECT_EQ(0, event_check(&ev));
		EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	}
	EXPECT_EQ(-EAGAIN, shmipc_evpool_get(self->rd, &ev, 0));
}

/* Readers asking in turn get the events in turn, each once. */
TEST_F(evp, round_robin_readers)
{
	struct shmipc_evpool *rs[3];
	struct shmipc_evpool_event ev[6];
	unsigned int i;

	rs[0] = self->rd;
	ASSERT_NE(NULL, rs[1] = open_as(self, "ev", SHMIPC_CONSUMER));
	ASSERT_NE(NULL, rs[2] = open_as(self, "ev", SHMIPC_CONSUMER));
	for (i = 1; i <= 6; i++)
		ASSERT_EQ(1, add_frag(self->w, i, 1, 0, 0));
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, shmipc_evpool_get(rs[i % 3], &ev[i], 0));
		EXPECT_EQ(i + 1, ev[i].seq);
	}
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-EAGAIN, shmipc_evpool_get(rs[i], &ev[0], 0));
	EXPECT_STATES(self->w, NBUF - 6, 0, 0, 6);
	for (i = 0; i < 6; i++)
		EXPECT_EQ(0, shmipc_evpool_release(rs[i % 3], &ev[i]));
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
	EXPECT_EQ(6, stats_of(self->w).taken);
	shmipc_evpool_close(rs[1]);
	shmipc_evpool_close(rs[2]);
}

extern _Atomic unsigned long shmipc_test_wakes;

/* No sleeper, no wake syscall; a sleeping reader is woken by a writer. */
static void *late_add(void *arg)
{
	lt_sleep_ms(100);
	add_frag(arg, 5, 1, 0, 0);
	return NULL;
}

TEST_F(evp, sleeper_woken_no_syscall_otherwise)
{
	struct shmipc_evpool_event ev;
	uint64_t dl = shmipc_deadline_in(DL_LONG);
	unsigned long before = atomic_load(&shmipc_test_wakes);
	struct shmipc_evpool *w2;
	pthread_t t;
	int i;

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(1, add_frag(self->w, i, 1, 0, 0));
		ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
		ASSERT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	}
	EXPECT_EQ(before, atomic_load(&shmipc_test_wakes));
	ASSERT_NE(NULL, w2 = open_as(self, "ev", SHMIPC_PRODUCER));
	ASSERT_EQ(0, pthread_create(&t, NULL, late_add, w2));
	ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, dl));
	EXPECT_EQ(5, ev.seq);
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	pthread_join(t, NULL);
	shmipc_evpool_close(w2);
}

/* ------------------------------------------------------------------ */
/* Threads: NW writers each add one fragment of every event; NR readers
 * check each event's content; every event exactly once. */

#define NW	3
#define NR	3
#define EVENTS	3000

struct tctx {
	struct shmipc_evpool *p;
	uint32_t id;
	int ret;
	uint32_t got, bad;
	_Atomic uint8_t *seen;		/* EVENTS counters, shared */
	_Atomic uint32_t *total;
	uint64_t *last;			/* broadcast: per reader */
};

/* Events not seen exactly once. */
static unsigned int count_not_once(_Atomic uint8_t *seen)
{
	unsigned int i, bad = 0;

	for (i = 0; i < EVENTS; i++)
		bad += seen[i] != 1;
	return bad;
}

static void *twriter(void *arg)
{
	struct tctx *c = arg;
	uint64_t s;
	int ret;

	for (s = 0; s < EVENTS; s++) {
		ret = add_frag(c->p, s, NW, c->id,
			       shmipc_deadline_in(60000 * LT_MS));
		if (ret < 0) {
			c->ret = ret;
			break;
		}
	}
	return NULL;
}

static void *treader(void *arg)
{
	struct tctx *c = arg;
	struct shmipc_evpool_event ev;

	while (!c->ret && atomic_load(c->total) < EVENTS) {
		int ret = shmipc_evpool_get(c->p, &ev,
					    shmipc_deadline_in(100 * LT_MS));

		if (ret == -ETIMEDOUT)
			continue;	/* maybe all were taken */
		c->ret = ret;
		if (ret)
			break;
		if (ev.seq >= EVENTS || ev.flags || event_check(&ev))
			c->bad++;
		else
			atomic_fetch_add(&c->seen[ev.seq], 1);
		c->got++;
		atomic_fetch_add(c->total, 1);
		c->ret = shmipc_evpool_release(c->p, &ev);
	}
	return NULL;
}

TEST_F_TIMEOUT(evp, threads_assemble_exactly_once, 300)
{
	struct tctx w[NW], rd[NR];
	pthread_t wt[NW], rt[NR];
	_Atomic uint32_t total = 0;
	_Atomic uint8_t *seen = calloc(EVENTS, 1);
	uint32_t i, sum = 0;

	ASSERT_NE(NULL, seen);
	for (i = 0; i < NR; i++) {
		memset(&rd[i], 0, sizeof(rd[i]));
		rd[i].p = i ? open_as(self, "ev", SHMIPC_CONSUMER) : self->rd;
		ASSERT_NE(NULL, rd[i].p);
		rd[i].seen = seen;
		rd[i].total = &total;
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, treader, &rd[i]));
	}
	for (i = 0; i < NW; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].p = i ? open_as(self, "ev", SHMIPC_PRODUCER) : self->w;
		ASSERT_NE(NULL, w[i].p);
		w[i].id = i;
		ASSERT_EQ(0, pthread_create(&wt[i], NULL, twriter, &w[i]));
	}
	for (i = 0; i < NW; i++) {
		pthread_join(wt[i], NULL);
		EXPECT_EQ(0, w[i].ret) TH_LOG("writer %u: %s", i,
					      shmipc_strerror(w[i].ret));
	}
	for (i = 0; i < NR; i++) {
		pthread_join(rt[i], NULL);
		EXPECT_EQ(0, rd[i].ret) TH_LOG("reader %u: %s", i,
					       shmipc_strerror(rd[i].ret));
		EXPECT_EQ(0, rd[i].bad);
		sum += rd[i].got;
	}
	EXPECT_EQ(EVENTS, sum);
	EXPECT_EQ(0, count_not_once(seen));
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
	EXPECT_EQ(EVENTS, stats_of(self->w).completed);
	for (i = 1; i < NW; i++)
		shmipc_evpool_close(w[i].p);
	for (i = 1; i < NR; i++)
		shmipc_evpool_close(rd[i].p);
	free((void *)seen);
}

/* ------------------------------------------------------------------ */
/* Processes: NW writer and NR reader processes; readers count what they
 * release in shared memory and stop at a "stop" event (seq >= EVENTS). */

static struct shmipc_evpool *child_open(const char *name, const char *key,
					int role)
{
	struct shmipc_region *r;
	struct shmipc_evpool *p;
	int ret = shmipc_region_open(name, 0, 0, 0, &r);

	if (ret)
		_exit(lt_code(ret));
	ret = shmipc_evpool_open(r, key, role, &p);
	if (ret)
		_exit(lt_code(ret));
	return p;
}

/*
 * A reader process: take, check, count in @seen, release, until a stop
 * event.  If @hold_at: after taking that many events, tell @fd and wait
 * to be killed, holding the last one.
 */
static void child_reader(const char *name, _Atomic uint8_t *seen,
			 uint32_t hold_at, int fd)
{
	struct shmipc_evpool *p = child_open(name, "ev", SHMIPC_CONSUMER);
	struct shmipc_evpool_event ev;
	uint64_t dl = shmipc_deadline_in(120000 * LT_MS);
	uint32_t got = 0;
	int ret;

	for (;;) {
		ret = shmipc_evpool_get(p, &ev, dl);
		if (ret)
			_exit(lt_code(ret));
		if (ev.seq >= EVENTS)
			break;
		if (event_check(&ev))
			_exit(100);
		if (++got == hold_at) {
			lt_signal(fd);
			for (;;)
				pause();
		}
		atomic_fetch_add(&seen[ev.seq], 1);
		ret = shmipc_evpool_release(p, &ev);
		if (ret)
			_exit(lt_code(ret));
	}
	_exit(shmipc_evpool_release(p, &ev) ? 101 : 0);
}

static void child_writer(const char *name, uint32_t id, uint32_t nw)
{
	struct shmipc_evpool *p = child_open(name, "ev", SHMIPC_PRODUCER);
	uint64_t dl = shmipc_deadline_in(120000 * LT_MS), s;
	int ret;

	for (s = 0; s < EVENTS; s++) {
		ret = add_frag(p, s, nw, id, dl);
		if (ret < 0)
			_exit(lt_code(ret));
	}
	_exit(0);
}

/*
 * Wait for a child's byte on the pipe @fds.  The parent's write end is
 * closed first: a child that exits without writing gives an error here,
 * not a hang.
 */
static int await_child(int fds[2])
{
	if (fds[1] >= 0) {
		close(fds[1]);
		fds[1] = -1;
	}
	return lt_await(fds[0]);
}

static _Atomic uint8_t *shared_counts(void)
{
	void *m = mmap(NULL, EVENTS, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

TEST_F_TIMEOUT(evp, processes_assemble_exactly_once, 300)
{
	_Atomic uint8_t *seen = shared_counts();
	pid_t pids[NW + NR];
	int i;

	ASSERT_NE(NULL, seen);
	for (i = 0; i < NW + NR; i++) {
		pids[i] = lt_fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			if (i < NW)
				child_writer(self->name, (uint32_t)i, NW);
			child_reader(self->name, seen, 0, -1);
		}
	}
	for (i = 0; i < NW; i++)
		EXPECT_EQ(0, lt_reap_ms(pids[i], 240000));
	for (i = 0; i < NR; i++)
		ASSERT_EQ(1, add_frag(self->w, EVENTS + i, 1, 0,
				      shmipc_deadline_in(DL_LONG)));
	for (i = 0; i < NR; i++)
		EXPECT_EQ(0, lt_reap_ms(pids[NW + i], 240000));
	EXPECT_EQ(0, count_not_once(seen));
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
	munmap((void *)seen, EVENTS);
}

/* A reader killed while holding an event: it is redelivered to another
 * reader; every event is consumed exactly once (by ids).  The victim
 * reads alone until it holds its 10th event; then the others start. */
TEST_F_TIMEOUT(evp, reader_killed_no_loss_no_dup, 300)
{
	_Atomic uint8_t *seen = shared_counts();
	pid_t pids[1 + NR];
	int fds[2], i, ret;

	ASSERT_NE(NULL, seen);
	ASSERT_EQ(0, pipe(fds));
	for (i = 0; i < 1 + NR; i++) {
		pids[i] = lt_fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			if (i == 0)
				child_writer(self->name, 0, 1);
			child_reader(self->name, seen, i == 1 ? 10 : 0,
				     fds[1]);
		}
		if (i != 1)
			continue;
		ret = await_child(fds);
		if (ret)
			TH_LOG("writer: %d, victim: %d", lt_reap(pids[0]),
			       lt_reap(pids[1]));
		ASSERT_EQ(0, ret);
	}
	kill(pids[1], SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pids[1]));
	/* A supervisor that reaped it reclaims at once (a blocked reader
	 * may have done so already). */
	EXPECT_LE(0, shmipc_evpool_reclaim(self->w));
	EXPECT_EQ(0, lt_reap_ms(pids[0], 240000));
	for (i = 0; i < NR - 1; i++)
		ASSERT_EQ(1, add_frag(self->w, EVENTS + i, 1, 0,
				      shmipc_deadline_in(DL_LONG)));
	for (i = 2; i < 1 + NR; i++)
		EXPECT_EQ(0, lt_reap_ms(pids[i], 240000));
	EXPECT_EQ(0, count_not_once(seen));
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
	EXPECT_EQ(1, stats_of(self->w).dead_reader_returns);
	munmap((void *)seen, EVENTS);
	close(fds[0]);
}

/* ------------------------------------------------------------------ */
/* Deaths of holders, one at a time */

/* 0 if @killer (if any) finished and @victim died of SIGKILL. */
static int reap_killed(pid_t killer, pid_t victim)
{
	int k = killer > 0 ? lt_reap(killer) : 0;

	return lt_reap(victim) == 128 + SIGKILL && k == 0 ? 0 : -1;
}

/* What a holder child holds while it waits to be killed. */
enum hold { HOLD_FRAGMENT, HOLD_EVENT };

/*
 * Fork a child that opens "ev" and holds a buffer (a begun fragment of
 * @seq, id 1 of 2; or the lowest Full event), then waits to be killed.
 * Its pid once it holds it, or -1.
 */
static pid_t start_holder(const char *name, enum hold what, uint64_t seq)
{
	int fds[2], ret;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = lt_fork();
	if (pid == 0) {
		struct shmipc_evpool *p = child_open(
			name, "ev", what == HOLD_EVENT ? SHMIPC_CONSUMER :
							 SHMIPC_PRODUCER);
		struct shmipc_evpool_event ev;
		void *data;

		if (what == HOLD_EVENT)
			ret = shmipc_evpool_get(p, &ev, 0);
		else
			ret = shmipc_evpool_frag_begin(p, seq, 2, 1, 16,
						       &data, 0);
		if (ret)
			_exit(lt_code(ret));
		lt_signal(fds[1]);
		for (;;)
			pause();
	}
	ret = pid > 0 ? await_child(fds) : -1;
	close(fds[0]);
	if (ret && pid > 0) {
		kill(pid, SIGKILL);
		lt_reap(pid);
		return -1;
	}
	return pid;
}

TEST_F_TIMEOUT(evp, writer_killed_partial_event_dropped, 60)
{
	struct shmipc_evpool_stats st;
	pid_t pid;

	ASSERT_EQ(0, add_frag(self->w, 77, 2, 0, 0));
	ASSERT_LT(0, pid = start_holder(self->name, HOLD_FRAGMENT, 77));
	EXPECT_STATES(self->w, NBUF - 1, 1, 0, 0);	/* alive: kept */
	kill(pid, SIGKILL);
	EXPECT_EQ(0, reap_killed(0, pid));
	st = stats_of(self->rd);
	EXPECT_EQ(NBUF, st.empty);
	EXPECT_EQ(0, st.writing);
	EXPECT_EQ(1, st.dead_writer_drops);
	EXPECT_EQ(77, st.last_dropped_seq);
	EXPECT_EQ(1, st.writers);		/* its slot was freed */
	/* The pool goes on. */
	EXPECT_EQ(1, add_frag(self->w, 78, 1, 0, 0));
}

/* A writer blocked on a full pool is woken by the death of the writer
 * holding a buffer, and gets the reclaimed buffer. */
TEST_F_TIMEOUT(evp, writer_killed_wakes_blocked_writer, 60)
{
	uint64_t dl = shmipc_deadline_in(DL_LONG);
	pid_t pid, killer;
	int i;

	for (i = 0; i < NBUF - 1; i++)
		ASSERT_EQ(0, add_frag(self->w, i, 2, 0, 0));
	ASSERT_LT(0, pid = start_holder(self->name, HOLD_FRAGMENT, 100));
	EXPECT_EQ(-EAGAIN, add_frag(self->w, 200, 1, 0, 0));
	ASSERT_LT(0, killer = lt_kill_later(pid, 200));
	EXPECT_EQ(1, add_frag(self->w, 200, 1, 0, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_EQ(0, reap_killed(killer, pid));
	EXPECT_EQ(1, stats_of(self->w).dead_writer_drops);
	EXPECT_STATES(self->w, 0, NBUF - 1, 1, 0);
}

/* A writer waiting to append to an event another writer holds is woken
 * by that writer's death (the partial event is dropped; the fragment
 * starts the event again). */
TEST_F_TIMEOUT(evp, writer_killed_wakes_appender, 60)
{
	uint64_t dl = shmipc_deadline_in(DL_LONG);
	pid_t pid, killer;

	ASSERT_EQ(0, add_frag(self->w, 5, 2, 0, 0));
	ASSERT_LT(0, pid = start_holder(self->name, HOLD_FRAGMENT, 5));
	ASSERT_LT(0, killer = lt_kill_later(pid, 200));
	EXPECT_EQ(0, add_frag(self->w, 5, 2, 0, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_EQ(0, reap_killed(killer, pid));
	EXPECT_EQ(1, stats_of(self->w).dead_writer_drops);
	EXPECT_STATES(self->w, NBUF - 1, 1, 0, 0);
	EXPECT_EQ(1, add_frag(self->w, 5, 2, 1, 0));
}

/*
 * A writer blocked on a full pool is woken by the death of a writer that
 * took an idle event after it went to sleep.  Its sweep saw one holder
 * (a reader) and the take woke nobody, so it must sleep for any death:
 * naming the reader, it would sleep on until the reader lets go (module
 * backend; the portable one looks again every slice).  Nothing here
 * sweeps between the death and the blocked writer's success.
 */
TEST_F_TIMEOUT(evp, writer_killed_holding_idle_event_wakes_blocked, 60)
{
	struct shmipc_evpool_event ev;
	struct shmipc_evpool_stats st;
	pid_t blocked, taker;
	int i, ret;

	for (i = 1; i < NBUF; i++)
		ASSERT_EQ(1, add_frag(self->w, i, 1, 0, 0));
	ASSERT_EQ(0, add_frag(self->w, 50, 2, 0, 0));	/* idle */
	ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
	EXPECT_STATES(self->w, 0, 1, NBUF - 2, 1);
	blocked = lt_fork();
	ASSERT_LE(0, blocked);
	if (blocked == 0) {
		struct shmipc_evpool *p = child_open(self->name, "ev",
						     SHMIPC_PRODUCER);

		/* Well past lt_reap()'s bound: only a wake gets it out. */
		ret = add_frag(p, 100, 1, 0,
			       shmipc_deadline_in(120000 * LT_MS));
		_exit(ret == 1 ? 0 : ret < 0 ? lt_code(ret) : 99);
	}
	ASSERT_EQ(0, lt_await_asleep(blocked));
	/* Takes the idle event (frag_begin of its 2nd fragment), waits. */
	taker = start_holder(self->name, HOLD_FRAGMENT, 50);
	EXPECT_LT(0, taker);
	if (taker > 0) {
		kill(taker, SIGKILL);
		EXPECT_EQ(0, reap_killed(0, taker));
	}
	EXPECT_EQ(0, lt_reap(blocked));
	st = stats_of(self->w);
	EXPECT_EQ(1, st.dead_writer_drops);
	EXPECT_EQ(50, st.last_dropped_seq);
	EXPECT_EQ(NBUF - 1, st.full);
	/* Every event is there, the blocked writer's last. */
	EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	for (i = 2; i <= NBUF; i++) {
		ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
		EXPECT_EQ(i < NBUF ? (uint64_t)i : 100, ev.seq);
		EXPECT_EQ(0, event_check(&ev));
		EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	}
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
}

/* A reader blocked in get receives, flagged, the event a killed reader
 * held. */
TEST_F_TIMEOUT(evp, reader_killed_event_redelivered, 60)
{
	uint64_t dl = shmipc_deadline_in(DL_LONG);
	struct shmipc_evpool_event ev;
	pid_t pid, killer;
	int i;

	for (i = 1; i <= 3; i++)
		ASSERT_EQ(1, add_frag(self->w, i, 1, 0, 0));
	ASSERT_LT(0, pid = start_holder(self->name, HOLD_EVENT, 0));
	for (i = 2; i <= 3; i++) {
		ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
		EXPECT_EQ(i, ev.seq);
		EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	}
	EXPECT_STATES(self->w, NBUF - 1, 0, 0, 1);
	ASSERT_LT(0, killer = lt_kill_later(pid, 200));
	ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_EQ(0, reap_killed(killer, pid));
	EXPECT_EQ(1, ev.seq);
	EXPECT_EQ(SHMIPC_EVPOOL_EV_REDELIVERED, ev.flags);
	EXPECT_EQ(0, event_check(&ev));
	EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	EXPECT_EQ(-EAGAIN, shmipc_evpool_get(self->rd, &ev, 0));
	EXPECT_EQ(1, stats_of(self->w).dead_reader_returns);
	EXPECT_EQ(1, stats_of(self->w).readers);
}

/* Closing a handle gives back what it holds. */
TEST_F(evp, close_gives_back)
{
	struct shmipc_evpool *rd2, *w2;
	struct shmipc_evpool_event ev;
	void *data;

	ASSERT_EQ(1, add_frag(self->w, 9, 1, 0, 0));
	ASSERT_NE(NULL, rd2 = open_as(self, "ev", SHMIPC_CONSUMER));
	ASSERT_EQ(0, shmipc_evpool_get(rd2, &ev, 0));
	shmipc_evpool_close(rd2);
	EXPECT_STATES(self->w, NBUF - 1, 0, 1, 0);
	ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
	EXPECT_EQ(9, ev.seq);
	EXPECT_EQ(SHMIPC_EVPOOL_EV_REDELIVERED, ev.flags);
	EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	ASSERT_NE(NULL, w2 = open_as(self, "ev", SHMIPC_PRODUCER));
	ASSERT_EQ(0, shmipc_evpool_frag_begin(w2, 10, 1, 0, 8, &data, 0));
	shmipc_evpool_close(w2);
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Full pool, expiry */

TEST_F(evp, full_pool_writer_times_out)
{
	uint64_t t0;
	int i;

	for (i = 0; i < NBUF; i++)
		ASSERT_EQ(0, add_frag(self->w, i, 2, 0, 0));
	EXPECT_STATES(self->w, 0, NBUF, 0, 0);
	EXPECT_EQ(-EAGAIN, add_frag(self->w, 100, 1, 0, 0));
	t0 = shmipc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, add_frag(self->w, 100, 1, 0,
				       shmipc_deadline_in(50 * LT_MS)));
	EXPECT_LE(t0 + 50 * LT_MS, shmipc_now_ns());
	/* Events already in the pool still take fragments. */
	EXPECT_EQ(1, add_frag(self->w, 3, 2, 1, 0));
	EXPECT_STATES(self->w, 0, NBUF - 1, 1, 0);
}

TEST_F(evp, expiry_delivers_incomplete)
{
	struct shmipc_evpool_event ev;
	struct shmipc_evpool_stats st;
	void *data;
	int i;

	for (i = 1; i <= 3; i++)
		ASSERT_EQ(0, add_frag(self->w, i, 3, 2, 0));
	ASSERT_EQ(0, add_frag(self->w, 4, 3, 0, 0));
	ASSERT_EQ(0, add_frag(self->w, 4, 3, 1, 0));
	EXPECT_EQ(0, shmipc_evpool_expire(self->w, UINT64_MAX));
	/* A buffer being appended to right now is left alone. */
	ASSERT_EQ(0, shmipc_evpool_frag_begin(self->w, 3, 3, 0, 8, &data, 0));
	EXPECT_EQ(3, shmipc_evpool_expire(self->rd, 0));
	EXPECT_EQ(0, shmipc_evpool_frag_abort(self->w));
	EXPECT_EQ(1, shmipc_evpool_expire(self->rd, 0));
	st = stats_of(self->w);
	EXPECT_EQ(4, st.full);
	EXPECT_EQ(4, st.expired_incomplete);
	EXPECT_EQ(0, st.completed);
	EXPECT_EQ(-EALREADY, add_frag(self->w, 2, 3, 0, 0));
	for (i = 1; i <= 4; i++) {
		ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
		EXPECT_EQ(i, ev.seq);
		EXPECT_EQ(SHMIPC_EVPOOL_EV_INCOMPLETE, ev.flags);
		EXPECT_EQ(i == 4 ? 2 : 1, ev.frags);
		EXPECT_EQ(3, ev.expected);
		EXPECT_EQ(0, event_check(&ev));
		EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));
	}
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
}

TEST_F(evp, expiry_drops)
{
	struct shmipc_evpool *w;
	struct shmipc_evpool_event ev;

	ASSERT_EQ(0, shmipc_evpool_create(self->r, "dr", 4, 256,
					  SHMIPC_EVPOOL_DROP_INCOMPLETE, 0));
	ASSERT_NE(NULL, w = open_as(self, "dr", SHMIPC_PRODUCER));
	ASSERT_EQ(0, add_frag(w, 1, 2, 0, 0));
	ASSERT_EQ(1, add_frag(w, 2, 1, 0, 0));
	EXPECT_EQ(1, shmipc_evpool_expire(w, 0));
	EXPECT_STATES(w, 3, 0, 1, 0);
	EXPECT_EQ(1, stats_of(w).expired_dropped);
	shmipc_evpool_close(w);
	ASSERT_NE(NULL, w = open_as(self, "dr", SHMIPC_CONSUMER));
	ASSERT_EQ(0, shmipc_evpool_get(w, &ev, 0));
	EXPECT_EQ(2, ev.seq);
	EXPECT_EQ(0, shmipc_evpool_release(w, &ev));
	shmipc_evpool_close(w);
}

/* A pool with an expiry age: a writer blocked on a full pool expires the
 * old incomplete events itself (drop mode frees them at once; deliver
 * mode makes them Full, for a reader to take: here one). */
static void *drain_one(void *arg)
{
	struct shmipc_evpool *p = arg;
	struct shmipc_evpool_event ev;
	intptr_t ok;

	if (shmipc_evpool_get(p, &ev, shmipc_deadline_in(DL_LONG)))
		return (void *)0;
	ok = ev.flags == SHMIPC_EVPOOL_EV_INCOMPLETE && ev.seq < 4 &&
	     ev.frags == 1 && !event_check(&ev);
	shmipc_evpool_release(p, &ev);
	return (void *)ok;
}

TEST_F_TIMEOUT(evp, expiry_on_writer_path, 60)
{
	static const char *const keys[] = { "ax-drop", "ax-deliver" };
	unsigned int k;
	int i;

	for (k = 0; k < 2; k++) {
		struct shmipc_evpool *w, *rd = NULL;
		void *n = NULL;
		pthread_t t;

		ASSERT_EQ(0, shmipc_evpool_create(
				     self->r, keys[k], 4, 256,
				     k ? 0 : SHMIPC_EVPOOL_DROP_INCOMPLETE,
				     50 * LT_MS));
		ASSERT_NE(NULL, w = open_as(self, keys[k], SHMIPC_PRODUCER));
		for (i = 0; i < 4; i++)
			ASSERT_EQ(0, add_frag(w, i, 2, 0, 0));
		if (k) {
			ASSERT_NE(NULL, rd = open_as(self, keys[k],
						     SHMIPC_CONSUMER));
			ASSERT_EQ(0, pthread_create(&t, NULL, drain_one, rd));
		}
		EXPECT_EQ(1, add_frag(w, 10, 1, 0,
				      shmipc_deadline_in(DL_LONG)));
		if (k) {
			pthread_join(t, &n);
			EXPECT_EQ(1, (int)(intptr_t)n);
			EXPECT_LE(1, stats_of(w).expired_incomplete);
			shmipc_evpool_close(rd);
		} else {
			EXPECT_LE(1, stats_of(w).expired_dropped);
		}
		shmipc_evpool_close(w);
	}
}

/* ------------------------------------------------------------------ */
/* Broadcast */

TEST_F(evp, broadcast_semantics)
{
	struct shmipc_evpool *w, *r1, *r2;
	struct shmipc_evpool_event e1, e2, e;

	ASSERT_EQ(0, shmipc_evpool_create(self->r, "bc", 4, 256,
					  SHMIPC_EVPOOL_BROADCAST, 0));
	ASSERT_NE(NULL, w = open_as(self, "bc", SHMIPC_PRODUCER));
	/* Nobody listening: dropped. */
	EXPECT_EQ(1, add_frag(w, 1, 1, 0, 0));
	EXPECT_STATES(w, 4, 0, 0, 0);
	EXPECT_EQ(1, stats_of(w).no_reader_drops);
	ASSERT_NE(NULL, r1 = open_as(self, "bc", SHMIPC_CONSUMER));
	ASSERT_NE(NULL, r2 = open_as(self, "bc", SHMIPC_CONSUMER));
	EXPECT_EQ(1, add_frag(w, 2, 1, 0, 0));
	EXPECT_EQ(1, add_frag(w, 3, 1, 0, 0));
	ASSERT_EQ(0, shmipc_evpool_get(r1, &e1, 0));
	EXPECT_EQ(2, e1.seq);
	EXPECT_EQ(0, event_check(&e1));
	EXPECT_STATES(w, 2, 0, 1, 1);
	EXPECT_EQ(0, shmipc_evpool_release(r1, &e1));
	EXPECT_EQ(-EINVAL, shmipc_evpool_release(r1, &e1));
	EXPECT_STATES(w, 2, 0, 1, 1);		/* r2 still to read it */
	ASSERT_EQ(0, shmipc_evpool_get(r1, &e1, 0));
	EXPECT_EQ(3, e1.seq);
	EXPECT_EQ(-EAGAIN, shmipc_evpool_get(r1, &e, 0));	/* no repeat */
	ASSERT_EQ(0, shmipc_evpool_get(r2, &e2, 0));
	EXPECT_EQ(2, e2.seq);
	EXPECT_EQ(0, event_check(&e2));
	EXPECT_EQ(0, shmipc_evpool_release(r2, &e2));
	EXPECT_STATES(w, 3, 0, 0, 1);
	/* A reader that closes releases its shares. */
	shmipc_evpool_close(r2);
	EXPECT_EQ(0, shmipc_evpool_release(r1, &e1));
	EXPECT_STATES(w, 4, 0, 0, 0);
	EXPECT_EQ(-EAGAIN, shmipc_evpool_get(r1, &e, 0));
	shmipc_evpool_close(r1);
	shmipc_evpool_close(w);
}

static void *tbreader(void *arg)
{
	struct tctx *c = arg;
	struct shmipc_evpool_event ev;
	uint64_t last = 0;

	while (c->got < EVENTS) {
		c->ret = shmipc_evpool_get(c->p, &ev,
					   shmipc_deadline_in(60000 * LT_MS));
		if (c->ret)
			break;
		if (ev.seq >= EVENTS || event_check(&ev) ||
		    (c->got && ev.seq <= last))
			c->bad++;
		last = ev.seq;
		c->got++;
		c->ret = shmipc_evpool_release(c->p, &ev);
		if (c->ret)
			break;
	}
	return NULL;
}

/* Every reader sees every event once, in order (one writer thread). */
TEST_F_TIMEOUT(evp, broadcast_every_reader_every_event, 300)
{
	struct tctx w, rd[NR];
	pthread_t rt[NR];
	unsigned int i;

	ASSERT_EQ(0, shmipc_evpool_create(self->r, "bc", NBUF, 512,
					  SHMIPC_EVPOOL_BROADCAST, 0));
	for (i = 0; i < NR; i++) {
		memset(&rd[i], 0, sizeof(rd[i]));
		ASSERT_NE(NULL, rd[i].p = open_as(self, "bc",
						  SHMIPC_CONSUMER));
	}
	for (i = 0; i < NR; i++)
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, tbreader, &rd[i]));
	memset(&w, 0, sizeof(w));
	ASSERT_NE(NULL, w.p = open_as(self, "bc", SHMIPC_PRODUCER));
	w.id = 0;
	{
		uint64_t s;

		for (s = 0; s < EVENTS; s++) {
			w.ret = add_frag(w.p, s, 1, 0,
					 shmipc_deadline_in(60000 * LT_MS));
			if (w.ret != 1)
				break;
		}
	}
	EXPECT_EQ(1, w.ret);
	for (i = 0; i < NR; i++) {
		pthread_join(rt[i], NULL);
		EXPECT_EQ(0, rd[i].ret) TH_LOG("reader %u: %s", i,
					       shmipc_strerror(rd[i].ret));
		EXPECT_EQ(EVENTS, rd[i].got);
		EXPECT_EQ(0, rd[i].bad);
	}
	EXPECT_STATES(w.p, NBUF, 0, 0, 0);
	EXPECT_EQ(EVENTS, stats_of(w.p).completed);
	for (i = 0; i < NR; i++)
		shmipc_evpool_close(rd[i].p);
	shmipc_evpool_close(w.p);
}

/* A broadcast reader killed holding shares: the others go on, the
 * buffers empty. */
TEST_F_TIMEOUT(evp, broadcast_reader_killed, 60)
{
	struct shmipc_evpool *w, *r1;
	struct shmipc_evpool_event ev;
	int fds[2], i;
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(0, shmipc_evpool_create(self->r, "bc", 4, 256,
					  SHMIPC_EVPOOL_BROADCAST, 0));
	ASSERT_NE(NULL, w = open_as(self, "bc", SHMIPC_PRODUCER));
	ASSERT_NE(NULL, r1 = open_as(self, "bc", SHMIPC_CONSUMER));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_evpool *p = child_open(self->name, "bc",
						     SHMIPC_CONSUMER);

		lt_signal(fds[1]);
		if (shmipc_evpool_get(p, &ev, shmipc_deadline_in(DL_LONG)))
			_exit(2);
		lt_signal(fds[1]);
		for (;;)
			pause();
	}
	ASSERT_EQ(0, await_child(fds));
	for (i = 1; i <= 4; i++)
		ASSERT_EQ(1, add_frag(w, i, 1, 0, 0));
	ASSERT_EQ(0, await_child(fds));		/* it holds event 1 */
	for (i = 1; i <= 4; i++) {
		ASSERT_EQ(0, shmipc_evpool_get(r1, &ev, 0));
		EXPECT_EQ(i, ev.seq);
		EXPECT_EQ(0, shmipc_evpool_release(r1, &ev));
	}
	EXPECT_STATES(w, 0, 0, 0, 4);		/* its shares remain */
	EXPECT_EQ(-EAGAIN, add_frag(w, 5, 1, 0, 0));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	EXPECT_EQ(1, add_frag(w, 5, 1, 0, shmipc_deadline_in(DL_LONG)));
	ASSERT_EQ(0, shmipc_evpool_get(r1, &ev, 0));
	EXPECT_EQ(5, ev.seq);
	EXPECT_EQ(0, shmipc_evpool_release(r1, &ev));
	EXPECT_STATES(w, 4, 0, 0, 0);
	EXPECT_EQ(1, stats_of(w).readers);
	shmipc_evpool_close(r1);
	shmipc_evpool_close(w);
	close(fds[0]);
	close(fds[1]);
}

/* ------------------------------------------------------------------ */
/* Member slots */

TEST_F_TIMEOUT(evp, member_slots_reused_after_death, 60)
{
	struct shmipc_evpool *p[SHMIPC_EVPOOL_MEMBERS_MAX];
	struct shmipc_evpool *extra = NULL;
	unsigned int i, n = SHMIPC_EVPOOL_MEMBERS_MAX - 2;
	int fds[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_region *r;

		if (shmipc_region_open(self->name, 0, 0, 0, &r))
			_exit(2);
		for (i = 0; i < n; i++)
			if (shmipc_evpool_open(r, "ev", SHMIPC_CONSUMER, &p[i]))
				_exit(3);
		lt_signal(fds[1]);
		for (;;)
			pause();
	}
	ASSERT_EQ(0, await_child(fds));
	EXPECT_EQ(-EUSERS, shmipc_evpool_open(self->r, "ev", SHMIPC_PRODUCER,
					      &extra));
	/* An observer needs no slot. */
	ASSERT_NE(NULL, extra = open_as(self, "ev", 0));
	EXPECT_EQ(n + 1, stats_of(extra).readers);
	shmipc_evpool_close(extra);
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	ASSERT_EQ(0, lt_await_peers(self->r, 1));	/* death marked (module) */
	for (i = 0; i < n; i++)
		ASSERT_NE(NULL, p[i] = open_as(self, "ev", SHMIPC_PRODUCER));
	EXPECT_EQ(-EUSERS, shmipc_evpool_open(self->r, "ev", SHMIPC_PRODUCER,
					      &extra));
	EXPECT_EQ(n + 1, stats_of(p[0]).writers);
	for (i = 0; i < n; i++)
		shmipc_evpool_close(p[i]);
	close(fds[0]);
	close(fds[1]);
}

/* ------------------------------------------------------------------ */
/* Hostile peer */

static int reopen(FIXTURE_DATA(evp) *self)
{
	struct shmipc_evpool *p = NULL;
	int ret = shmipc_evpool_open(self->r, "ev", 0, &p);

	shmipc_evpool_close(p);
	return ret;
}

TEST_F(evp, corrupt_header)
{
	char saved[64];

	memcpy(saved, at(self, "ev", 0), 64);
#define SPOIL(off, type, val, err) do {					\
		*(type *)at(self, "ev", off) = (val);			\
		EXPECT_EQ(err, reopen(self)) TH_LOG("field %d", off);	\
		memcpy(at(self, "ev", 0), saved, 64);			\
	} while (0)
	SPOIL(H_MAGIC, uint32_t, 0x1234, -EBADMSG);
	SPOIL(H_VERSION, uint32_t, 9, -EPROTONOSUPPORT);
	SPOIL(H_NBUF, uint32_t, 0, -EBADMSG);
	SPOIL(H_NBUF, uint32_t, 1000, -EBADMSG);
	SPOIL(H_BUFSZ, uint32_t, 1000000, -EBADMSG);
	SPOIL(H_BUFSZ, uint32_t, 1020, -EBADMSG);
	SPOIL(H_STRIDE, uint32_t, 64, -EBADMSG);
	SPOIL(H_FLAGS, uint32_t, 0x100, -EBADMSG);
	SPOIL(H_DESCS, uint64_t, 0, -EBADMSG);
	SPOIL(H_DATA, uint64_t, UINT64_MAX - 8, -EBADMSG);
#undef SPOIL
	EXPECT_EQ(0, reopen(self));
}

TEST_F(evp, corrupt_words_and_fields)
{
	_Atomic uint64_t *w0 = desc_word(self, "ev", 0);
	struct shmipc_evpool_event ev;
	struct shmipc_evpool_frag f;
	uint64_t saved, pos = 0;
	static const uint64_t bad[] = {
		0x4,		/* Empty with a holder */
		0x101,		/* Writing with a flag */
		0x2 | 5 << 2,	/* Full with a holder */
		0x3,		/* Reading by nobody (work sharing) */
		0x3 | 60 << 2,	/* Reading by slot 59 */
		0x2 | 0x400,	/* an unknown flag */
		0x1 | 33 << 2,	/* Writing by slot 32 */
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		atomic_store(w0, bad[i]);
		EXPECT_EQ(-EBADMSG, shmipc_evpool_get(self->rd, &ev, 0));
		EXPECT_EQ(-EBADMSG, add_frag(self->w, 1, 1, 0, 0));
		EXPECT_EQ(-EBADMSG, shmipc_evpool_stats(self->w,
				    &(struct shmipc_evpool_stats){ 0 }));
		EXPECT_EQ(-EBADMSG, shmipc_evpool_get(
				    self->rd, &ev, shmipc_deadline_in(LT_MS)));
		EXPECT_EQ(-EBADMSG, shmipc_evpool_expire(self->w, 0));
	}
	atomic_store(w0, 0);

	/* A Full event whose byte count exceeds its buffer: dropped. */
	ASSERT_EQ(1, add_frag(self->w, 1, 1, 0, 0));
	for (i = 0; i < NBUF; i++)
		if ((atomic_load(desc_word(self, "ev", i)) & 3) == 2)
			break;
	ASSERT_GT(NBUF, i);
	*(uint32_t *)at(self, "ev", H_DESC0 + i * 64 + D_USED) = BUFSZ + 8;
	EXPECT_EQ(-EBADMSG, shmipc_evpool_get(self->rd, &ev, 0));
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);
	/* Fragment counts that cannot be. */
	ASSERT_EQ(1, add_frag(self->w, 2, 1, 0, 0));
	*(uint32_t *)at(self, "ev", H_DESC0 + i * 64 + D_FRAGS) = 7;
	EXPECT_EQ(-EBADMSG, shmipc_evpool_get(self->rd, &ev, 0));
	ASSERT_EQ(0, add_frag(self->w, 3, 2, 0, 0));
	*(uint32_t *)at(self, "ev", H_DESC0 + i * 64 + D_EXPECTED) = 0;
	EXPECT_EQ(-EBADMSG, add_frag(self->w, 3, 2, 1, 0));
	EXPECT_STATES(self->w, NBUF, 0, 0, 0);

	/* A fragment header that does not fit: the walk stops. */
	ASSERT_EQ(1, add_frag(self->w, 4, 1, 0, 0));
	ASSERT_EQ(0, shmipc_evpool_get(self->rd, &ev, 0));
	((struct shmipc_evpool_frag_hdr *)ev.data)->size = BUFSZ;
	EXPECT_EQ(-EBADMSG, shmipc_evpool_next_frag(&ev, &pos, &f));
	((struct shmipc_evpool_frag_hdr *)ev.data)->size = UINT32_MAX - 2;
	EXPECT_EQ(-EBADMSG, shmipc_evpool_next_frag(&ev, &pos, &f));
	EXPECT_EQ(0, shmipc_evpool_release(self->rd, &ev));

	/* The creation lock naming no slot that can be. */
	saved = *(uint64_t *)at(self, "ev", H_LOCK);
	*(uint64_t *)at(self, "ev", H_LOCK) = 0x1ff;
	EXPECT_EQ(-EBADMSG, add_frag(self->w, 5, 1, 0, 0));
	EXPECT_EQ(-EBADMSG, shmipc_evpool_reclaim(self->w));
	/* Held by a slot whose owner is gone: taken over. */
	*(uint64_t *)at(self, "ev", H_LOCK) = 0x105;
	EXPECT_EQ(1, add_frag(self->w, 5, 1, 0, shmipc_deadline_in(DL_LONG)));
	*(uint64_t *)at(self, "ev", H_LOCK) = saved;

	/* Member slots with garbage peer ids: taken for dead, freed. */
	for (i = 10; i < 20; i++)
		*(uint64_t *)at(self, "ev", H_MEMBERS + i * 16) =
			0xdead0000ULL + i;
	EXPECT_EQ(1, stats_of(self->w).writers);
	EXPECT_EQ(0, *(uint64_t *)at(self, "ev", H_MEMBERS + 10 * 16));
}

TEST_F(evp, corrupt_broadcast_shares)
{
	struct shmipc_evpool *w, *r1;
	struct shmipc_evpool_event ev;
	unsigned int b;
	uint64_t *sh;

	ASSERT_EQ(0, shmipc_evpool_create(self->r, "bc", 4, 256,
					  SHMIPC_EVPOOL_BROADCAST, 0));
	ASSERT_NE(NULL, w = open_as(self, "bc", SHMIPC_PRODUCER));
	ASSERT_NE(NULL, r1 = open_as(self, "bc", SHMIPC_CONSUMER));
	ASSERT_EQ(1, add_frag(w, 1, 1, 0, 0));
	for (b = 0; b < 4; b++)
		if ((atomic_load(desc_word(self, "bc", b)) & 3) == 2)
			break;
	ASSERT_GT(4, b);
	sh = at(self, "bc", H_DESC0 + b * 64 + D_SHARES);
	*sh ^= 1ULL << 40;		/* the stamp of another round */
	EXPECT_EQ(-EBADMSG, shmipc_evpool_get(r1, &ev, 0));
	EXPECT_EQ(-EBADMSG, shmipc_evpool_get(r1, &ev,
					      shmipc_deadline_in(LT_MS)));
	*sh ^= 1ULL << 40;
	/* Shares for slots nobody holds: cleared by the next sweep. */
	*sh |= 0xff00;
	ASSERT_EQ(0, shmipc_evpool_get(r1, &ev, 0));
	EXPECT_EQ(0, shmipc_evpool_release(r1, &ev));
	EXPECT_EQ(3, atomic_load(desc_word(self, "bc", b)) & 3);  /* Reading */
	EXPECT_EQ(1, shmipc_evpool_reclaim(w));
	EXPECT_STATES(w, 4, 0, 0, 0);
	shmipc_evpool_close(r1);
	shmipc_evpool_close(w);
}

/* Random garbage over the shared lines: every call returns (an error or
 * not), before its deadline, and nothing crashes. */
TEST_F_TIMEOUT(evp, hostile_fuzz, 120)
{
	struct shmipc_evpool_event ev;
	uint64_t seed = 0x5eed1234abcdULL;
	unsigned int round, k;
	char *base = at(self, "ev", 0);
	size_t span = H_DESC0 + NBUF * 64;
	char *clean = malloc(span);

	ASSERT_NE(NULL, clean);
	memcpy(clean, base, span);
	for (round = 0; round < 3000; round++) {
		uint64_t dl = shmipc_deadline_in(2 * LT_MS), r = lt_rand(&seed);
		unsigned int off;
		int ret;

		if (round % 50 == 0)
			memcpy(base + 64, clean + 64, span - 64);
		for (k = 0; k < 1 + r % 4; k++) {
			/* Leave the config line alone (checked at open). */
			off = 64 + (unsigned int)(lt_rand(&seed) %
						  ((span - 64) / 4)) * 4;
			*(uint32_t *)(base + off) = lt_evil32(&seed);
		}
		switch (r % 6) {
		case 0:
			ret = add_frag(self->w, r % 16, 1 + r % 3, r % 3,
				       r & 64 ? 0 : dl);
			if (ret < 0)
				shmipc_evpool_frag_abort(self->w);
			break;
		case 1:
			ret = shmipc_evpool_get(self->rd, &ev, r & 64 ? 0 : dl);
			if (!ret) {
				event_check(&ev);
				shmipc_evpool_release(self->rd, &ev);
			}
			break;
		case 2:
			ret = shmipc_evpool_expire(self->w, r % 2 ? 0 :
							     UINT64_MAX);
			break;
		case 3:
			ret = shmipc_evpool_reclaim(self->w);
			break;
		case 4: {
			struct shmipc_evpool_stats st;

			ret = shmipc_evpool_stats(self->rd, &st);
			if (!ret)
				EXPECT_EQ(NBUF, st.empty + st.writing +
						st.full + st.reading);
			break;
		}
		default:
			ret = reopen(self);
			break;
		}
		(void)ret;
		/* No hang: each call returns (long) before a hang would. */
		ASSERT_GT(dl + 10000 * LT_MS, shmipc_now_ns())
			TH_LOG("round %u did not return", round);
	}
	/* Our own slots may have been freed as "dead": reopen to finish. */
	memcpy(base + 64, clean + 64, span - 64);
	free(clean);
}

TEST_HARNESS_MAIN
