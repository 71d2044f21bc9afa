// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc MPMC channels: order and counts in one thread, several
 * producer and consumer threads and processes exchanging checksummed
 * tagged messages (each delivered exactly once, in order per producer as
 * seen by any one consumer), blocking with deadlines, and a hostile peer
 * corrupting the header and slot sequences (-EBADMSG, no crash, no hang).
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "lib_test.h"

#include <pthread.h>
#include <stdatomic.h>

#define RSIZE	(1024 * 1024)
#define CAP	16
#define NPROD	3
#define NCONS	3
#define PER_PROD 30000
/* struct mpmc_hdr (lib/mpmc.c): config line; enq_pos at +64, deq_pos at
 * +128; slots at +256, each a 16-byte header (seq first) + the message. */
#define H_MAGIC		0
#define H_VERSION	4
#define H_STRIDE	16
#define H_CAP		20
#define H_SLOTS		24
#define H_ENQ		64
#define H_DEQ		128
#define H_SLOT0		256

struct tmsg {
	uint32_t producer;
	uint32_t seq;
	uint64_t check;
};

static uint64_t tcheck(uint32_t p, uint32_t s)
{
	return lt_mix(((uint64_t)p << 32) | s);
}

FIXTURE(mpmc) {
	char name[64];
	struct shmipc_region *r;
	char *base;
	uint64_t off;
	struct shmipc_mpmc *q;
};

FIXTURE_SETUP(mpmc)
{
	int ret;

	lt_name(self->name, sizeof(self->name), "mpmc");
	ret = shmipc_region_open(self->name, RSIZE, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL,
				 &self->r);
	ASSERT_EQ(0, ret) TH_LOG("create: %s", shmipc_strerror(ret));
	self->base = shmipc_region_base(self->r);
	ASSERT_EQ(0, shmipc_mpmc_create(self->r, "q", sizeof(struct tmsg), CAP));
	ASSERT_EQ(0, shmipc_dir_find(self->r, "q", &self->off, NULL));
	ASSERT_EQ(0, shmipc_mpmc_open(self->r, "q", &self->q));
}

FIXTURE_TEARDOWN(mpmc)
{
	shmipc_mpmc_close(self->q);
	shmipc_region_close(self->r);
	shmipc_region_unlink(self->name);
}

static uint32_t *word(FIXTURE_DATA(mpmc) *self, unsigned int at)
{
	return (uint32_t *)(self->base + self->off + at);
}

TEST_F(mpmc, arguments)
{
	struct shmipc_mpmc *q = NULL;

	EXPECT_EQ(-EINVAL, shmipc_mpmc_create(self->r, "x", 8, 6));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_create(self->r, "x", 0, 8));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_create(self->r, "x", 8, 1));
	EXPECT_EQ(-EEXIST, shmipc_mpmc_create(self->r, "q", 8, 8));
	EXPECT_EQ(-ENOENT, shmipc_mpmc_open(self->r, "none", &q));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_open(self->r, "q", NULL));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_try_send(NULL, &q));
	EXPECT_EQ(sizeof(struct tmsg), shmipc_mpmc_slot_size(self->q));
	EXPECT_EQ(CAP, shmipc_mpmc_capacity(self->q));
}

TEST_F(mpmc, fifo_full_empty)
{
	struct tmsg m;
	uint32_t i;

	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
	for (i = 0; i < CAP; i++) {
		m.producer = 0;
		m.seq = i;
		m.check = tcheck(0, i);
		ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	}
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_send(self->q, &m));
	for (i = 0; i < CAP; i++) {
		ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));
		EXPECT_EQ(i, m.seq);
		EXPECT_EQ(tcheck(0, i), m.check);
	}
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
	for (i = 0; i < 5000; i++) {	/* many laps */
		m.seq = i;
		ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
		ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));
		ASSERT_EQ(i, m.seq);
	}
}

TEST_F(mpmc, deadlines)
{
	struct tmsg m = { 0 };
	uint64_t t0 = shmipc_now_ns();
	int i;

	EXPECT_EQ(-ETIMEDOUT, shmipc_mpmc_recv(self->q, &m,
					       shmipc_deadline_in(50 * LT_MS)));
	EXPECT_LE(t0 + 50 * LT_MS, shmipc_now_ns());
	for (i = 0; i < CAP; i++)
		ASSERT_EQ(0, shmipc_mpmc_send(self->q, &m, 0));
	EXPECT_EQ(-ETIMEDOUT, shmipc_mpmc_send(self->q, &m,
					       shmipc_deadline_in(50 * LT_MS)));
}

/* ------------------------------------------------------------------ */
/* Threads */

struct tctx {
	struct shmipc_mpmc *q;
	uint32_t id;
	int ret;
	uint32_t got;
	uint64_t bad;
	uint8_t *seen;			/* NPROD * PER_PROD, shared */
	_Atomic uint32_t *total;	/* messages received by all */
};

static void *tprod(void *arg)
{
	struct tctx *c = arg;
	struct tmsg m;
	uint32_t i;

	for (i = 0; i < PER_PROD; i++) {
		m.producer = c->id;
		m.seq = i;
		m.check = tcheck(c->id, i);
		c->ret = shmipc_mpmc_send(c->q, &m,
					  shmipc_deadline_in(30000 * LT_MS));
		if (c->ret)
			break;
	}
	return NULL;
}

static void *tcons(void *arg)
{
	struct tctx *c = arg;
	uint32_t last[NPROD];
	struct tmsg m;
	int i;

	for (i = 0; i < NPROD; i++)
		last[i] = UINT32_MAX;
	while (atomic_load(c->total) < NPROD * PER_PROD) {
		c->ret = shmipc_mpmc_recv(c->q, &m,
					  shmipc_deadline_in(100 * LT_MS));
		if (c->ret == -ETIMEDOUT)
			continue;	/* maybe everything was taken */
		if (c->ret)
			break;
		atomic_fetch_add(c->total, 1);
		c->got++;
		if (m.producer >= NPROD || m.seq >= PER_PROD ||
		    m.check != tcheck(m.producer, m.seq)) {
			c->bad++;
			continue;
		}
		/* Per producer, one consumer sees increasing sequences. */
		if (last[m.producer] != UINT32_MAX && m.seq <= last[m.producer])
			c->bad++;
		last[m.producer] = m.seq;
		c->seen[m.producer * PER_PROD + m.seq]++;
	}
	if (c->ret == -ETIMEDOUT)
		c->ret = 0;
	return NULL;
}

TEST_F_TIMEOUT(mpmc, threads_exactly_once, 180)
{
	struct tctx p[NPROD], c[NCONS];
	pthread_t pt[NPROD], ct[NCONS];
	_Atomic uint32_t total = 0;
	uint8_t *seen = calloc(NPROD * PER_PROD, 1);
	uint32_t i, sum = 0, dup = 0, miss = 0;

	ASSERT_NE(NULL, seen);
	for (i = 0; i < NCONS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].q = self->q;
		c[i].seen = seen;
		c[i].total = &total;
	}
	/* One array per consumer would be cleaner; a shared byte array with
	 * each index written by exactly one consumer is race-free as long
	 * as delivery is exactly-once, and TSan checks that too. */
	for (i = 0; i < NCONS; i++)
		ASSERT_EQ(0, pthread_create(&ct[i], NULL, tcons, &c[i]));
	for (i = 0; i < NPROD; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].q = self->q;
		p[i].id = i;
		ASSERT_EQ(0, pthread_create(&pt[i], NULL, tprod, &p[i]));
	}
	for (i = 0; i < NPROD; i++) {
		pthread_join(pt[i], NULL);
		EXPECT_EQ(0, p[i].ret);
	}
	for (i = 0; i < NCONS; i++) {
		pthread_join(ct[i], NULL);
		EXPECT_EQ(0, c[i].ret) TH_LOG("consumer %u: %s", i,
					      shmipc_strerror(c[i].ret));
		EXPECT_EQ(0, c[i].bad);
		sum += c[i].got;
	}
	EXPECT_EQ(NPROD * PER_PROD, sum);
	for (i = 0; i < NPROD * PER_PROD; i++) {
		if (seen[i] == 0)
			miss++;
		else if (seen[i] > 1)
			dup++;
	}
	EXPECT_EQ(0, miss);
	EXPECT_EQ(0, dup);
	free(seen);
}

/* ------------------------------------------------------------------ */
/* Processes: NPROD producers and NCONS consumers, each its own process;
 * consumers report (count, xor and sum of checks) through a pipe. */

TEST_F_TIMEOUT(mpmc, processes_exactly_once, 180)
{
	uint64_t want_xor = 0, want_sum = 0, got_xor = 0, got_sum = 0;
	uint64_t got_n = 0, bad = 0;
	pid_t pids[NPROD + NCONS];
	int fds[2], i;
	uint32_t s;

	ASSERT_EQ(0, pipe(fds));
	for (i = 0; i < NPROD + NCONS; i++) {
		pids[i] = lt_fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			struct shmipc_region *r;
			struct shmipc_mpmc *q;
			int ret = shmipc_region_open(self->name, 0, 0, 0, &r);
			uint64_t dl = shmipc_deadline_in(60000 * LT_MS);

			if (ret)
				_exit(lt_code(ret));
			ret = shmipc_mpmc_open(r, "q", &q);
			if (ret)
				_exit(lt_code(ret));
			if (i < NPROD) {
				struct tmsg m;

				for (s = 0; s < PER_PROD; s++) {
					m.producer = (uint32_t)i;
					m.seq = s;
					m.check = tcheck((uint32_t)i, s);
					ret = shmipc_mpmc_send(q, &m, dl);
					if (ret)
						_exit(lt_code(ret));
				}
			} else {
				uint64_t rep[4] = { 0, 0, 0, 0 };
				struct tmsg m;

				/* Until a "stop" message (producer NPROD). */
				for (;;) {
					ret = shmipc_mpmc_recv(q, &m, dl);
					if (ret)
						_exit(lt_code(ret));
					if (m.producer == NPROD)
						break;
					if (m.check != tcheck(m.producer, m.seq))
						rep[3]++;
					rep[0]++;
					rep[1] ^= m.check;
					rep[2] += m.check;
				}
				if (write(fds[1], rep, sizeof(rep)) !=
				    sizeof(rep))
					_exit(101);
			}
			_exit(0);
		}
	}
	for (i = 0; i < NPROD; i++)
		EXPECT_EQ(0, lt_reap_ms(pids[i], 120000));
	for (i = 0; i < NCONS; i++) {
		struct tmsg stop = { NPROD, 0, 0 };

		ASSERT_EQ(0, shmipc_mpmc_send(self->q, &stop,
					      shmipc_deadline_in(10000 * LT_MS)));
	}
	for (i = 0; i < NCONS; i++) {
		uint64_t rep[4];

		ASSERT_EQ(sizeof(rep), read(fds[0], rep, sizeof(rep)));
		got_n += rep[0];
		got_xor ^= rep[1];
		got_sum += rep[2];
		bad += rep[3];
	}
	for (i = 0; i < NCONS; i++)
		EXPECT_EQ(0, lt_reap(pids[NPROD + i]));
	for (i = 0; i < NPROD; i++) {
		for (s = 0; s < PER_PROD; s++) {
			want_xor ^= tcheck((uint32_t)i, s);
			want_sum += tcheck((uint32_t)i, s);
		}
	}
	EXPECT_EQ(NPROD * PER_PROD, got_n);
	EXPECT_EQ(want_xor, got_xor);
	EXPECT_EQ(want_sum, got_sum);
	EXPECT_EQ(0, bad);
	close(fds[0]);
	close(fds[1]);
}

/* A consumer thread asleep in recv is woken by a later send. */
static void *late_send(void *arg)
{
	struct shmipc_mpmc *q = arg;
	struct tmsg m = { 1, 2, 3 };

	lt_sleep_ms(100);
	shmipc_mpmc_try_send(q, &m);
	return NULL;
}

TEST_F(mpmc, sleeper_is_woken)
{
	pthread_t t;
	struct tmsg m;
	uint64_t dl = shmipc_deadline_in(10000 * LT_MS);

	ASSERT_EQ(0, pthread_create(&t, NULL, late_send, self->q));
	ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
	EXPECT_EQ(2, m.seq);
	EXPECT_GT(dl, shmipc_now_ns());
	pthread_join(t, NULL);
}

/* ------------------------------------------------------------------ */
/* Zero copy, and holders that die */

TEST_F(mpmc, zero_copy)
{
	const void *rd;
	void *wr;
	uint32_t t, t2;
	struct tmsg m;

	ASSERT_EQ(0, shmipc_mpmc_reserve(self->q, &wr, &t));
	((struct tmsg *)wr)->seq = 77;
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_commit(self->q, t + 1));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_release(self->q, t));
	ASSERT_EQ(0, shmipc_mpmc_commit(self->q, t));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_commit(self->q, t));	/* twice */
	ASSERT_EQ(0, shmipc_mpmc_peek(self->q, &rd, &t2));
	EXPECT_EQ(t, t2);
	EXPECT_EQ(77, ((const struct tmsg *)rd)->seq);
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_peek(self->q, &rd, &t2));
	ASSERT_EQ(0, shmipc_mpmc_release(self->q, t));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_release(self->q, t));
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
}

/* Child: open the queue; hold a slot (0: reserve, 1: peek); tell the
 * parent; wait to be killed. */
static void child_hold(const char *name, int how, int fd)
{
	struct shmipc_region *r;
	struct shmipc_mpmc *q;
	uint32_t t;
	int ret = shmipc_region_open(name, 0, 0, 0, &r);

	if (ret)
		_exit(lt_code(ret));
	ret = shmipc_mpmc_open(r, "q", &q);
	if (ret)
		_exit(lt_code(ret));
	if (how == 0) {
		void *wr;

		ret = shmipc_mpmc_reserve(q, &wr, &t);
	} else {
		const void *rd;

		ret = shmipc_mpmc_peek(q, &rd, &t);
	}
	if (ret)
		_exit(lt_code(ret));
	lt_signal(fd);
	for (;;)
		pause();
}

/* A producer dies holding a reserved slot while a consumer blocks behind
 * it: the consumer gets -EOWNERDEAD (not a hang), and the queue goes on. */
TEST_F_TIMEOUT(mpmc, producer_dies_holding_slot, 60)
{
	uint64_t dl = shmipc_deadline_in(20000 * LT_MS);
	struct tmsg m = { 0, 0, 0 };
	int fds[2];
	pid_t pid, killer;

	ASSERT_EQ(0, pipe(fds));
	m.seq = 1;
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		child_hold(self->name, 0, fds[1]);
	ASSERT_EQ(0, lt_await(fds[0]));
	m.seq = 3;			/* behind the held slot */
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
	EXPECT_EQ(1, m.seq);
	killer = lt_kill_later(pid, 200);
	ASSERT_LE(0, killer);
	EXPECT_EQ(-EOWNERDEAD, shmipc_mpmc_recv(self->q, &m, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	/* Repaired: the message behind the lost one comes next. */
	ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
	EXPECT_EQ(3, m.seq);
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
	EXPECT_EQ(0, lt_reap(killer));
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	close(fds[0]);
	close(fds[1]);
}

/* A consumer dies holding a peeked slot of a full queue while a producer
 * blocks: -EOWNERDEAD, the slot is freed, sending goes on. */
TEST_F_TIMEOUT(mpmc, consumer_dies_holding_slot, 60)
{
	uint64_t dl = shmipc_deadline_in(20000 * LT_MS);
	struct tmsg m = { 0, 0, 0 };
	int fds[2], i;
	pid_t pid, killer;

	ASSERT_EQ(0, pipe(fds));
	for (i = 0; i < CAP; i++) {
		m.seq = (uint32_t)i;
		ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	}
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		child_hold(self->name, 1, fds[1]);	/* holds message 0 */
	ASSERT_EQ(0, lt_await(fds[0]));
	m.seq = 100;
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_send(self->q, &m));
	killer = lt_kill_later(pid, 200);
	ASSERT_LE(0, killer);
	EXPECT_EQ(-EOWNERDEAD, shmipc_mpmc_send(self->q, &m, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	ASSERT_EQ(0, shmipc_mpmc_send(self->q, &m, dl));
	for (i = 1; i < CAP; i++) {
		ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));
		EXPECT_EQ(i, m.seq);
	}
	ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));
	EXPECT_EQ(100, m.seq);
	EXPECT_EQ(0, lt_reap(killer));
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	close(fds[0]);
	close(fds[1]);
}

/* ------------------------------------------------------------------ */
/* Hostile peer */

static int reopen_q(FIXTURE_DATA(mpmc) *self)
{
	struct shmipc_mpmc *q = NULL;
	int ret = shmipc_mpmc_open(self->r, "q", &q);

	shmipc_mpmc_close(q);
	return ret;
}

TEST_F(mpmc, corrupt_header)
{
	char saved[64];

	memcpy(saved, word(self, 0), 64);
#define SPOIL(at, val, err) do {					\
		*word(self, at) = (val);				\
		EXPECT_EQ(err, reopen_q(self)) TH_LOG("field %d", at);	\
		memcpy(word(self, 0), saved, 64);			\
	} while (0)
	SPOIL(H_MAGIC, 0x1, -EBADMSG);
	SPOIL(H_VERSION, 7, -EPROTONOSUPPORT);
	SPOIL(H_STRIDE, 8, -EBADMSG);
	SPOIL(H_CAP, 6, -EBADMSG);
	SPOIL(H_CAP, 1 << 16, -EBADMSG);
	SPOIL(H_SLOTS, 0, -EBADMSG);
#undef SPOIL
	EXPECT_EQ(0, reopen_q(self));
}

TEST_F(mpmc, corrupt_sequences)
{
	uint64_t dl = shmipc_deadline_in(10000 * LT_MS);
	struct tmsg m = { 0 };
	uint32_t stride = *word(self, H_STRIDE);
	unsigned int i;

	/* A slot sequence far behind any position: refused. */
	*word(self, H_SLOT0) = 0xc0000000;
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_try_send(self->q, &m));
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_send(self->q, &m, dl));
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_try_recv(self->q, &m));
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_recv(self->q, &m, dl));
	*word(self, H_SLOT0) = 0;
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));

	/* Every slot says "taken by someone ahead" (as for a stale
	 * position): bounded retries, then -EAGAIN. */
	for (i = 0; i < CAP; i++)
		*word(self, H_SLOT0 + i * stride) = *word(self, H_ENQ) + 5;
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_send(self->q, &m));
	EXPECT_EQ(-ETIMEDOUT, shmipc_mpmc_send(self->q, &m,
					       shmipc_deadline_in(50 * LT_MS)));
	/* Cursors thrown anywhere: still only errors. */
	*word(self, H_ENQ) = 0x7fffffff;
	*word(self, H_DEQ) = 12345;
	EXPECT_NE(0, shmipc_mpmc_try_send(self->q, &m));
	EXPECT_NE(0, shmipc_mpmc_try_recv(self->q, &m));
	EXPECT_GT(dl, shmipc_now_ns());
}

extern _Atomic unsigned long shmipc_test_wakes;

/* A consumer killed while it sleeps cannot leave a waiter count behind:
 * the next send may wake once, later sends make no wake syscall. */
TEST_F_TIMEOUT(mpmc, killed_sleeper_no_stuck_waiters, 60)
{
	unsigned long before;
	struct tmsg m;
	pid_t pid;
	int i;

	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_region *r;
		struct shmipc_mpmc *q;

		if (shmipc_region_open(self->name, 0, 0, 0, &r) ||
		    shmipc_mpmc_open(r, "q", &q))
			_exit(2);
		shmipc_mpmc_recv(q, &m, SHMIPC_FOREVER);
		_exit(1);
	}
	/* Wait until it sleeps (the consumers' waiter word set). */
	for (i = 0; i < 10000 && !*word(self, 192); i++)
		lt_sleep_ms(1);
	ASSERT_NE(0, *word(self, 192));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	memset(&m, 0, sizeof(m));
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	before = atomic_load(&shmipc_test_wakes);
	for (i = 1; i < 6; i++)
		ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	EXPECT_EQ(before, atomic_load(&shmipc_test_wakes));
}

TEST_HARNESS_MAIN
