// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc MPMC channels: order and counts in one thread, bursts, bulks
 * and variable-size messages, several producer and consumer threads and
 * processes exchanging checksummed tagged messages (each delivered
 * exactly once, in order per producer as seen by any one consumer),
 * blocking with deadlines, processes killed (or stopped) at every named
 * point of a claim, a repair and an open (the queue is repaired, the loss
 * reported once, a slow claimer keeps its message), and a hostile peer
 * corrupting the header, the slot words and the registry (-EBADMSG, no
 * crash, no hang).
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "internal.h"
#include "lib_test.h"

#include <pthread.h>
#include <stdatomic.h>

#define RSIZE	(1024 * 1024)
#define CAP	16
#define NPROD	3
#define NCONS	3
#define PER_PROD 30000
#define NSURV	3	/* survivors blocked behind a victim */
/* struct mpmc_hdr (lib/mpmc.c): config line (slots_off at +24,
 * users_off at +32); enq_pos at +64, deq_pos at +128, the consumers'
 * waiter flag at +192; the registry at +256 (64-byte entries: peer id,
 * generation, claiming counts); then the slots, each a 16-byte header
 * (the 64-bit word: seq, then holder; the length at +8) + the message. */
#define H_MAGIC		0
#define H_VERSION	4
#define H_STRIDE	16
#define H_CAP		20
#define H_SLOTS		24
#define H_USERS_OFF	32
#define H_USERS		40
#define H_ENQ		64
#define H_DEQ		128
#define H_CONS_WAITERS	192
#define H_REGISTRY	256
#define S_SEQ		0
#define S_HOLDER	4
#define S_LEN		8

struct tmsg {
	uint32_t producer;
	uint32_t seq;
	uint64_t check;
};

static uint64_t tcheck(uint32_t p, uint32_t s)
{
	return lt_mix(((uint64_t)p << 32) | s);
}

/* The fields and setup of both fixtures: a region with the queue "q". */
#define QENV_FIELDS							\
	char name[64];							\
	struct shmipc_region *r;					\
	char *base;							\
	uint64_t off;							\
	struct shmipc_mpmc *q

#define QENV_SETUP(tag) do {						\
	int ret_;							\
									\
	lt_name(self->name, sizeof(self->name), tag);			\
	ret_ = shmipc_region_open(self->name, RSIZE, 0600,		\
				  SHMIPC_REGION_CREATE |		\
				  SHMIPC_REGION_EXCL, &self->r);	\
	ASSERT_EQ(0, ret_) TH_LOG("create: %s", shmipc_strerror(ret_)); \
	self->base = shmipc_region_base(self->r);			\
	ASSERT_EQ(0, shmipc_mpmc_create(self->r, "q",			\
					sizeof(struct tmsg), CAP));	\
	ASSERT_EQ(0, shmipc_dir_find(self->r, "q", &self->off, NULL));	\
	ASSERT_EQ(0, shmipc_mpmc_open(self->r, "q", &self->q));	\
} while (0)

#define QENV_TEARDOWN() do {						\
	shmipc_mpmc_close(self->q);					\
	shmipc_region_close(self->r);					\
	shmipc_region_unlink(self->name);				\
} while (0)

FIXTURE(mpmc) {
	QENV_FIELDS;
};

FIXTURE_SETUP(mpmc)
{
	QENV_SETUP("mpmc");
}

FIXTURE_TEARDOWN(mpmc)
{
	QENV_TEARDOWN();
}

/* The 32-bit word at @at of the queue, and the header of slot @i. */
#define word(self, at) ((uint32_t *)((self)->base + (self)->off + (at)))
/* ... read atomically, where a thread of ours may be writing it */
#define load_word(self, at)						\
	atomic_load_explicit((_Atomic uint32_t *)word(self, at),	\
			     memory_order_relaxed)
#define slot_hdr(self, i)						\
	((char *)(self)->base + *(uint64_t *)word(self, H_SLOTS) +	\
	 (size_t)(i) * *word(self, H_STRIDE))
#define slot_u32(self, i, at) ((uint32_t *)(slot_hdr(self, i) + (at)))

/* In a child: open the region and the queue by name, or exit. */
static struct shmipc_mpmc *child_open(const char *name)
{
	struct shmipc_region *r;
	struct shmipc_mpmc *q;
	int ret = shmipc_region_open(name, 0, 0, 0, &r);

	if (ret)
		_exit(lt_code(ret));
	ret = shmipc_mpmc_open(r, "q", &q);
	if (ret)
		_exit(lt_code(ret));
	return q;
}

static void fill(struct tmsg *m, uint32_t producer, uint32_t seq)
{
	m->producer = producer;
	m->seq = seq;
	m->check = tcheck(producer, seq);
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
	bool burst;		/* bursts and bulks of up to 8 */
	int ret;
	uint32_t got;
	uint64_t bad;
	uint8_t *seen;			/* NPROD * PER_PROD, shared */
	_Atomic uint32_t *total;	/* messages received by all */
};

/* A burst / bulk that moved nothing (0, -EAGAIN): one blocking send
 * (30 s) or receive (100 ms) instead.  The count moved, or -errno. */
static int or_block(struct shmipc_mpmc *q, bool send, struct tmsg *m, int ret)
{
	if (ret != 0 && ret != -EAGAIN)
		return ret;
	ret = send ? shmipc_mpmc_send(q, m, shmipc_deadline_in(30000 * LT_MS)) :
		     shmipc_mpmc_recv(q, m, shmipc_deadline_in(100 * LT_MS));
	return ret ? ret : 1;
}

static void *tprod(void *arg)
{
	struct tctx *c = arg;
	struct tmsg m[8];
	uint32_t i, k, n;
	int ret;

	for (i = 0; i < PER_PROD; i += (uint32_t)ret) {
		n = c->burst ? 1 + i % 8 : 1;
		if (n > PER_PROD - i)
			n = PER_PROD - i;
		for (k = 0; k < n; k++)
			fill(&m[k], c->id, i + k);
		ret = !c->burst ? -EAGAIN :
		      (i & 1) ? shmipc_mpmc_send_burst(c->q, m, n, NULL) :
				shmipc_mpmc_send_bulk(c->q, m, n, NULL);
		ret = or_block(c->q, true, m, ret);
		if (ret < 0) {
			c->ret = ret;
			break;
		}
	}
	return NULL;
}

static void *tcons(void *arg)
{
	struct tctx *c = arg;
	uint32_t last[NPROD];
	struct tmsg m[8];
	int i, k;

	for (i = 0; i < NPROD; i++)
		last[i] = UINT32_MAX;
	while (atomic_load(c->total) < NPROD * PER_PROD) {
		c->ret = or_block(c->q, false, m,
				  c->burst ? shmipc_mpmc_recv_burst(c->q, m, 8,
								    NULL) :
					     -EAGAIN);
		if (c->ret == -ETIMEDOUT)
			continue;	/* maybe everything was taken */
		if (c->ret < 0)
			break;
		atomic_fetch_add(c->total, (uint32_t)c->ret);
		c->got += (uint32_t)c->ret;
		for (k = 0; k < c->ret; k++) {
			if (m[k].producer >= NPROD || m[k].seq >= PER_PROD ||
			    m[k].check != tcheck(m[k].producer, m[k].seq)) {
				c->bad++;
				continue;
			}
			/* Per producer, one consumer sees increasing
			 * sequences. */
			if (last[m[k].producer] != UINT32_MAX &&
			    m[k].seq <= last[m[k].producer])
				c->bad++;
			last[m[k].producer] = m[k].seq;
			c->seen[m[k].producer * PER_PROD + m[k].seq]++;
		}
	}
	if (c->ret == -ETIMEDOUT || c->ret > 0)
		c->ret = 0;
	return NULL;
}

static void threads_exactly_once(struct __test_metadata *_metadata,
				 struct shmipc_mpmc *q, bool burst)
{
	struct tctx p[NPROD], c[NCONS];
	pthread_t pt[NPROD], ct[NCONS];
	_Atomic uint32_t total = 0;
	uint8_t *seen = calloc(NPROD * PER_PROD, 1);
	uint32_t i, sum = 0, dup = 0, miss = 0;

	ASSERT_NE(NULL, seen);
	/* One array per consumer would be cleaner; a shared byte array with
	 * each index written by exactly one consumer is race-free as long
	 * as delivery is exactly-once, and TSan checks that too. */
	for (i = 0; i < NCONS; i++) {
		c[i] = (struct tctx){ .q = q, .burst = burst, .seen = seen,
				      .total = &total };
		ASSERT_EQ(0, pthread_create(&ct[i], NULL, tcons, &c[i]));
	}
	for (i = 0; i < NPROD; i++) {
		p[i] = (struct tctx){ .q = q, .id = i, .burst = burst };
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
		miss += seen[i] == 0;
		dup += seen[i] > 1;
	}
	EXPECT_EQ(0, miss);
	EXPECT_EQ(0, dup);
	free(seen);
}

TEST_F_TIMEOUT(mpmc, threads_exactly_once, 180)
{
	threads_exactly_once(_metadata, self->q, false);
}

TEST_F_TIMEOUT(mpmc, threads_bursts_exactly_once, 180)
{
	threads_exactly_once(_metadata, self->q, true);
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

/*
 * A lost wake-up with two consumers: consumer A, blocked on the empty
 * queue, has set its sleep flag but not re-checked (stopped there) when
 * a message comes.  The send takes the flag and bumps the sequence word;
 * consumer B takes the message first.  A's re-check finds nothing, yet
 * the next message must still wake it: it read the word before setting
 * the flag, so its wait returns and it arms again.  (Read after, it slept
 * with no flag set and the next send did not wake it; the portable
 * backend's slices hid that as a 20 ms delay, so the flag is checked too.)
 */
TEST_F_TIMEOUT(mpmc, woken_after_another_consumer_took_the_message, 60)
{
	uint64_t dl = shmipc_deadline_in(20000 * LT_MS);
	struct tmsg m;
	pid_t pid;

	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_mpmc *q = child_open(self->name);
		int ret;

		lt_arm_kill_point(SHMIPC_KP_SLEEP_ARMED, SIGSTOP, 0);
		ret = shmipc_mpmc_recv(q, &m, dl);
		if (ret)
			_exit(lt_code(ret));
		_exit(m.seq == 2 && m.check == tcheck(0, 2) ? 0 : 100);
	}
	ASSERT_EQ(0, lt_await_stop(pid));
	fill(&m, 0, 1);
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));	/* takes A's flag */
	ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));	/* B */
	EXPECT_EQ(1, m.seq);
	ASSERT_EQ(0, kill(pid, SIGCONT));
	ASSERT_EQ(0, lt_await_asleep(pid));
	/* Asleep, so its flag is set: nothing took it since it armed. */
	EXPECT_EQ(1, load_word(self, H_CONS_WAITERS));
	fill(&m, 0, 2);
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));	/* must wake A */
	EXPECT_EQ(0, lt_reap(pid));
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
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
	struct shmipc_mpmc *q = child_open(name);
	uint32_t t;
	int ret;

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
	SPOIL(H_USERS_OFF, 64, -EBADMSG);
	SPOIL(H_USERS, 65, -EBADMSG);
	SPOIL(H_USERS, 0, -EBADMSG);
#undef SPOIL
	EXPECT_EQ(0, reopen_q(self));
}

TEST_F(mpmc, corrupt_sequences)
{
	uint64_t dl = shmipc_deadline_in(10000 * LT_MS);
	struct tmsg m = { 0 };
	unsigned int i;

	/* A slot sequence far behind any position: refused. */
	*slot_u32(self, 0, S_SEQ) = 0xc0000000;
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_try_send(self->q, &m));
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_send(self->q, &m, dl));
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_try_recv(self->q, &m));
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_recv(self->q, &m, dl));
	*slot_u32(self, 0, S_SEQ) = 0;
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));

	/* Every slot says "taken by someone far ahead" (as for a stale
	 * or lagging cursor): bounded steps, then -EAGAIN. */
	for (i = 0; i < CAP; i++)
		*slot_u32(self, i, S_SEQ) = *word(self, H_ENQ) + 0x40000000;
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
	for (i = 0; i < 10000 && !*word(self, H_CONS_WAITERS); i++)
		lt_sleep_ms(1);
	ASSERT_NE(0, *word(self, H_CONS_WAITERS));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	memset(&m, 0, sizeof(m));
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	before = atomic_load(&shmipc_test_wakes);
	for (i = 1; i < 6; i++)
		ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	EXPECT_EQ(before, atomic_load(&shmipc_test_wakes));
}

/* ------------------------------------------------------------------ */
/* Bursts and bulks */

TEST_F(mpmc, burst_bulk)
{
	struct tmsg in[CAP + 4], out[CAP + 4];
	unsigned int left, i, lap;

	for (i = 0; i < CAP + 4; i++)
		fill(&in[i], 0, i);
	EXPECT_EQ(-EINVAL, shmipc_mpmc_send_burst(NULL, in, 1, NULL));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_send_burst(self->q, NULL, 1, NULL));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_recv_bulk(self->q, NULL, 1, NULL));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_send_bulk(self->q, in, CAP + 1, NULL));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_recv_bulk(self->q, out, CAP + 1, NULL));
	EXPECT_EQ(0, shmipc_mpmc_send_burst(self->q, NULL, 0, &left));
	EXPECT_EQ(CAP, left);
	EXPECT_EQ(0, shmipc_mpmc_recv_burst(self->q, out, 4, &left));
	EXPECT_EQ(0, left);
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_recv_bulk(self->q, out, 1, &left));

	EXPECT_EQ(5, shmipc_mpmc_send_burst(self->q, in, 5, &left));
	EXPECT_EQ(CAP - 5, left);
	/* All or none: one more than fits sends nothing. */
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_send_bulk(self->q, in + 5, CAP - 4,
						 &left));
	EXPECT_EQ(CAP - 5, left);
	/* More than the capacity: as many as fit. */
	EXPECT_EQ(CAP - 5, shmipc_mpmc_send_burst(self->q, in + 5, CAP + 4,
						  &left));
	EXPECT_EQ(0, left);
	EXPECT_EQ(0, shmipc_mpmc_send_burst(self->q, in, 1, &left));
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_send(self->q, in));

	EXPECT_EQ(3, shmipc_mpmc_recv_bulk(self->q, out, 3, &left));
	EXPECT_EQ(CAP - 3, left);
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_recv_bulk(self->q, out + 3, CAP - 2,
						 &left));
	ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, out + 3));
	EXPECT_EQ(CAP - 4, shmipc_mpmc_recv_burst(self->q, out + 4, CAP + 4,
						  &left));
	EXPECT_EQ(0, left);
	for (i = 0; i < CAP; i++) {
		EXPECT_EQ(i, out[i].seq);
		EXPECT_EQ(tcheck(0, i), out[i].check);
	}
	/* Many laps, bursts across the end of the slot array. */
	for (lap = 0; lap < 2000; lap++) {
		unsigned int n = 1 + lap % 7;

		for (i = 0; i < n; i++)
			fill(&in[i], 1, lap * 8 + i);
		ASSERT_EQ((int)n, shmipc_mpmc_send_bulk(self->q, in, n, NULL));
		ASSERT_EQ((int)n, shmipc_mpmc_recv_burst(self->q, out, CAP,
							 NULL));
		for (i = 0; i < n; i++)
			ASSERT_EQ(lap * 8 + i, out[i].seq);
	}
}

/* ------------------------------------------------------------------ */
/* Variable-size messages */

TEST_F(mpmc, variable_size)
{
	uint64_t dl = shmipc_deadline_in(10000 * LT_MS);
	const size_t slot = sizeof(struct tmsg);
	struct shmipc_mpmc *q2 = NULL;
	unsigned char buf[64], big[64];
	struct tmsg m;
	size_t len;
	uint32_t at;

	memset(big, 'b', sizeof(big));
	EXPECT_EQ(-EMSGSIZE, shmipc_mpmc_try_send_var(self->q, big, slot + 1));
	EXPECT_EQ(-EMSGSIZE, shmipc_mpmc_send_var(self->q, big, slot + 1, dl));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_try_send_var(self->q, NULL, 3));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_try_recv_var(self->q, buf, 8, NULL));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_try_recv_var(self->q, NULL, 8, &len));
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv_var(self->q, buf, 8, &len));

	/* Empty, short and full-size messages, in order. */
	ASSERT_EQ(0, shmipc_mpmc_try_send_var(self->q, NULL, 0));
	ASSERT_EQ(0, shmipc_mpmc_try_send_var(self->q, "abcdefgh", 5));
	ASSERT_EQ(0, shmipc_mpmc_send_var(self->q, big, slot, dl));
	len = 99;
	ASSERT_EQ(0, shmipc_mpmc_try_recv_var(self->q, NULL, 0, &len));
	EXPECT_EQ(0, len);
	/* Too small a buffer: the message stays queued, its size told. */
	len = 0;
	EXPECT_EQ(-EMSGSIZE, shmipc_mpmc_try_recv_var(self->q, buf, 4, &len));
	EXPECT_EQ(5, len);
	EXPECT_EQ(-EMSGSIZE, shmipc_mpmc_recv_var(self->q, buf, 4, &len, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	/* ... for any consumer with room. */
	ASSERT_EQ(0, shmipc_mpmc_open(self->r, "q", &q2));
	ASSERT_EQ(0, shmipc_mpmc_recv_var(q2, buf, 5, &len, dl));
	EXPECT_EQ(5, len);
	EXPECT_EQ(0, memcmp(buf, "abcde", 5));
	ASSERT_EQ(0, shmipc_mpmc_try_recv_var(self->q, buf, sizeof(buf),
					      &len));
	EXPECT_EQ(slot, len);
	EXPECT_EQ(0, memcmp(buf, big, slot));

	/* A fixed receive of a short message: the rest reads 0. */
	ASSERT_EQ(0, shmipc_mpmc_try_send_var(self->q, "xyz", 3));
	memset(&m, 0xff, sizeof(m));
	ASSERT_EQ(0, shmipc_mpmc_try_recv(q2, &m));
	EXPECT_EQ(0, memcmp(&m, "xyz", 3));
	for (len = 3; len < slot; len++)
		EXPECT_EQ(0, ((unsigned char *)&m)[len]);
	/* A var receive of a fixed message: slot_size bytes. */
	fill(&m, 4, 5);
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	ASSERT_EQ(0, shmipc_mpmc_recv_var(q2, buf, sizeof(buf), &len, dl));
	EXPECT_EQ(slot, len);
	EXPECT_EQ(0, memcmp(buf, &m, slot));

	/* A corrupt length (above slot_size) is dropped with -EBADMSG,
	 * once; the queue goes on. */
	at = *word(self, H_ENQ);
	ASSERT_EQ(0, shmipc_mpmc_try_send_var(self->q, "1234", 4));
	ASSERT_EQ(0, shmipc_mpmc_try_send_var(self->q, "5678", 4));
	*slot_u32(self, at & (CAP - 1), S_LEN) = 1000;
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_try_recv_var(self->q, buf,
						     sizeof(buf), &len));
	ASSERT_EQ(0, shmipc_mpmc_try_recv_var(self->q, buf, sizeof(buf),
					      &len));
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(buf, "5678", 4));
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv_var(self->q, buf, sizeof(buf),
						    &len));
	shmipc_mpmc_close(q2);
}

/* A consumer asleep in recv_var is woken by a later send_var. */
static void *late_send_var(void *arg)
{
	lt_sleep_ms(100);
	shmipc_mpmc_send_var(arg, "late", 4, shmipc_deadline_in(10000 * LT_MS));
	return NULL;
}

TEST_F(mpmc, var_sleeper_is_woken)
{
	uint64_t dl = shmipc_deadline_in(10000 * LT_MS);
	char buf[16];
	size_t len = 0;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, late_send_var, self->q));
	ASSERT_EQ(0, shmipc_mpmc_recv_var(self->q, buf, sizeof(buf), &len,
					  dl));
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(buf, "late", 4));
	pthread_join(t, NULL);
}

/* ------------------------------------------------------------------ */
/* The registry of handles */

/* SHMIPC_MPMC_HANDLES_MAX handles at once; a process killed while
 * taking an entry does not leak it; a closed handle's entry is reused. */
TEST_F_TIMEOUT(mpmc, handles_registry, 60)
{
	struct shmipc_mpmc *h[SHMIPC_MPMC_HANDLES_MAX];
	struct shmipc_mpmc *extra = NULL;
	unsigned int i, n = 0;
	pid_t pid;

	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_region *r;

		if (shmipc_region_open(self->name, 0, 0, 0, &r))
			_exit(2);
		lt_arm_kill_point(SHMIPC_KP_USER_TAKEN, SIGKILL, 0);
		shmipc_mpmc_open(r, "q", &extra);
		_exit(1);
	}
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	/* The module marks the death a moment after the reap. */
	EXPECT_EQ(0, lt_await_peers(self->r, 1));
	/* self->q holds one entry, the dead child one: the rest plus the
	 * dead one's can be opened, no more. */
	for (i = 0; i < SHMIPC_MPMC_HANDLES_MAX; i++) {
		int ret = shmipc_mpmc_open(self->r, "q", &h[i]);

		if (ret) {
			EXPECT_EQ(-EUSERS, ret);
			break;
		}
		n++;
	}
	EXPECT_EQ(SHMIPC_MPMC_HANDLES_MAX - 1, n);
	EXPECT_EQ(-EUSERS, shmipc_mpmc_open(self->r, "q", &extra));
	EXPECT_EQ(NULL, extra);
	ASSERT_LT(0, n);
	shmipc_mpmc_close(h[0]);
	ASSERT_EQ(0, shmipc_mpmc_open(self->r, "q", &h[0]));
	/* Every handle sends and receives. */
	for (i = 0; i < n; i++) {
		struct tmsg m;

		fill(&m, i, i);
		ASSERT_EQ(0, shmipc_mpmc_try_send(h[i], &m));
		ASSERT_EQ(0, shmipc_mpmc_try_recv(h[(i + 1) % n], &m));
		EXPECT_EQ(i, m.seq);
	}
	for (i = 0; i < n; i++)
		shmipc_mpmc_close(h[i]);
}

/* A handle closed while it holds slots abandons them: repaired, once,
 * also by a call whose deadline has passed (a try that repairs). */
TEST_F(mpmc, close_abandons_held_slots)
{
	uint64_t dl = shmipc_deadline_in(10000 * LT_MS);
	struct shmipc_mpmc *q2;
	struct tmsg m;
	uint32_t t;
	void *wr;

	ASSERT_EQ(0, shmipc_mpmc_open(self->r, "q", &q2));
	ASSERT_EQ(0, shmipc_mpmc_reserve(q2, &wr, &t));
	EXPECT_EQ(-EINVAL, shmipc_mpmc_commit(self->q, t)); /* not ours */
	fill(&m, 0, 9);
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	shmipc_mpmc_close(q2);
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
	EXPECT_EQ(-EOWNERDEAD, shmipc_mpmc_recv(self->q, &m, 0));
	ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
	EXPECT_EQ(9, m.seq);
	EXPECT_EQ(-ETIMEDOUT, shmipc_mpmc_recv(self->q, &m, 0));
}

/*
 * A consumer (a child) sleeps for the slot another handle (ours) holds
 * reserved; that handle's process is alive, so no death will wake the
 * sleeper.  Closing the handle abandons the slot and must wake it: it
 * repairs the slot (-EOWNERDEAD) and then gets the next message.  The
 * close's wake is counted too: the portable backend's slices would hide
 * a missing one as a 20 ms delay (the module: a sleep to the deadline).
 */
TEST_F_TIMEOUT(mpmc, close_wakes_a_sleeper_waiting_for_its_slots, 60)
{
	struct shmipc_mpmc *q2;
	unsigned long wakes;
	struct tmsg m;
	uint32_t t;
	void *wr;
	pid_t pid;

	ASSERT_EQ(0, shmipc_mpmc_open(self->r, "q", &q2));
	ASSERT_EQ(0, shmipc_mpmc_reserve(q2, &wr, &t));
	fill(&m, 0, 9);
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t dl = shmipc_deadline_in(20000 * LT_MS);
		struct shmipc_mpmc *q = child_open(self->name);
		int ret = shmipc_mpmc_recv(q, &m, dl);

		if (ret != -EOWNERDEAD)
			_exit(ret ? lt_code(ret) : 100);
		ret = shmipc_mpmc_recv(q, &m, dl);
		if (ret)
			_exit(lt_code(ret));
		_exit(m.seq == 9 && m.check == tcheck(0, 9) ? 0 : 101);
	}
	ASSERT_EQ(0, lt_await_asleep(pid));
	ASSERT_NE(0, load_word(self, H_CONS_WAITERS));
	wakes = atomic_load(&shmipc_test_wakes);
	shmipc_mpmc_close(q2);
	EXPECT_EQ(wakes + 1, atomic_load(&shmipc_test_wakes));
	EXPECT_EQ(0, lt_reap(pid));
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
}

/* ------------------------------------------------------------------ */
/* Killed at a named point */

/* A producer killed after publishing, before waking the consumer that
 * sleeps: the sleeper still gets the message (no lost wake-up). */
struct sleeper {
	struct shmipc_mpmc *q;
	struct tmsg m;
	int ret;
};

static void *sleeper_recv(void *arg)
{
	struct sleeper *s = arg;

	s->ret = shmipc_mpmc_recv(s->q, &s->m,
				  shmipc_deadline_in(20000 * LT_MS));
	return NULL;
}

TEST_F_TIMEOUT(mpmc, killed_before_wake, 60)
{
	struct sleeper sl = { .q = self->q, .ret = 1 };
	pthread_t t;
	pid_t pid;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper_recv, &sl));
	for (i = 0; i < 10000 && !load_word(self, H_CONS_WAITERS); i++)
		lt_sleep_ms(1);
	ASSERT_NE(0, load_word(self, H_CONS_WAITERS));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_mpmc *q = child_open(self->name);
		struct tmsg m;

		fill(&m, 7, 7);
		lt_arm_kill_point(SHMIPC_KP_SEND_DONE, SIGKILL, 0);
		shmipc_mpmc_try_send(q, &m);
		_exit(1);
	}
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	pthread_join(t, NULL);
	EXPECT_EQ(0, sl.ret);
	EXPECT_EQ(7, sl.m.seq);
	EXPECT_EQ(tcheck(7, 7), sl.m.check);
}

FIXTURE(mpmc_kill) {
	QENV_FIELDS;
};

/* Where the victim dies: as a producer (the survivors are consumers
 * waiting for its message) or as a consumer (the survivors are
 * producers waiting for its slot of a full queue). */
FIXTURE_VARIANT(mpmc_kill) {
	enum shmipc_kill_point kp;
	bool producer;
};

FIXTURE_VARIANT_ADD(mpmc_kill, send_claimed) {
	.kp = SHMIPC_KP_SEND_CLAIMED, .producer = true,
};

FIXTURE_VARIANT_ADD(mpmc_kill, send_marked) {
	.kp = SHMIPC_KP_SEND_MARKED, .producer = true,
};

FIXTURE_VARIANT_ADD(mpmc_kill, recv_claimed) {
	.kp = SHMIPC_KP_RECV_CLAIMED, .producer = false,
};

FIXTURE_VARIANT_ADD(mpmc_kill, recv_marked) {
	.kp = SHMIPC_KP_RECV_MARKED, .producer = false,
};

FIXTURE_SETUP(mpmc_kill)
{
	QENV_SETUP("mpmck");
}

FIXTURE_TEARDOWN(mpmc_kill)
{
	QENV_TEARDOWN();
}

/* Fill the queue with messages 0..CAP-1 (for a consumer victim). */
static int fill_queue(struct shmipc_mpmc *q)
{
	struct tmsg m;
	uint32_t i;
	int ret;

	for (i = 0; i < CAP; i++) {
		fill(&m, 0, i);
		ret = shmipc_mpmc_try_send(q, &m);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The victim: a child that arms @kp with @sig and sends (message 1000)
 * or receives once.  After SIGSTOP, it finishes that call and exits 0
 * if it worked (a receiver: if it got message 0).
 */
static pid_t victim(const char *name, enum shmipc_kill_point kp,
		    bool producer, int sig)
{
	pid_t pid = lt_fork();

	if (pid == 0) {
		struct shmipc_mpmc *q = child_open(name);
		struct tmsg m;
		int ret;

		fill(&m, 1, 1000);
		lt_arm_kill_point(kp, sig, 0);
		ret = producer ? shmipc_mpmc_try_send(q, &m) :
				 shmipc_mpmc_try_recv(q, &m);
		if (ret)
			_exit(lt_code(ret));
		_exit(producer || (m.seq == 0 && m.check == tcheck(0, 0)) ?
		      0 : 100);
	}
	return pid;
}

/* A survivor: its own handle; one send (of message 2000 + id) or receive,
 * counting the -EOWNERDEAD reports on the way. */
struct survivor {
	const char *name;
	struct shmipc_region *r;
	bool producer;
	uint32_t id;
	int ret, dead;
	struct tmsg m;
};

static void *survive(void *arg)
{
	struct survivor *s = arg;
	struct shmipc_mpmc *q;
	uint64_t dl = shmipc_deadline_in(20000 * LT_MS);

	s->ret = shmipc_mpmc_open(s->r, "q", &q);
	if (s->ret)
		return NULL;
	fill(&s->m, 2, 2000 + s->id);
	do {
		s->ret = s->producer ? shmipc_mpmc_send(q, &s->m, dl) :
				       shmipc_mpmc_recv(q, &s->m, dl);
		s->dead += s->ret == -EOWNERDEAD;
	} while (s->ret == -EOWNERDEAD);
	shmipc_mpmc_close(q);
	return NULL;
}

/* Killed in the window: the survivors blocked behind the victim get
 * -EOWNERDEAD exactly once between them, then the queue flows. */
TEST_F_TIMEOUT(mpmc_kill, reported_once, 60)
{
	uint64_t dl = shmipc_deadline_in(20000 * LT_MS);
	struct survivor s[NSURV];
	pthread_t t[NSURV];
	uint32_t got = 0;
	struct tmsg m;
	int i, ret, dead = 0;
	pid_t pid;

	if (!variant->producer)
		ASSERT_EQ(0, fill_queue(self->q));
	pid = victim(self->name, variant->kp, variant->producer, SIGKILL);
	ASSERT_LE(0, pid);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	/* The non-blocking calls see the held head as full / empty. */
	ret = variant->producer ? shmipc_mpmc_try_recv(self->q, &m) :
				  shmipc_mpmc_try_send(self->q, &m);
	EXPECT_EQ(-EAGAIN, ret);
	for (i = 0; i < NSURV; i++) {
		s[i] = (struct survivor){ .name = self->name, .r = self->r,
					  .producer = !variant->producer,
					  .id = (uint32_t)i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, survive, &s[i]));
	}
	if (variant->producer) {
		/* Messages behind the lost one, for the survivors. */
		for (i = 0; i < NSURV; i++) {
			fill(&m, 3, (uint32_t)i);
			ASSERT_EQ(0, shmipc_mpmc_send(self->q, &m, dl));
		}
	} else {
		/* Drain: the messages behind the one the victim took,
		 * then the survivors'. */
		for (i = 1; i < CAP + NSURV; i++) {
			ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
			if (i < CAP) {
				EXPECT_EQ((uint32_t)i, m.seq);
			} else {
				EXPECT_EQ(2, m.producer);
				got |= 1U << (m.seq - 2000);
			}
		}
	}
	for (i = 0; i < NSURV; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, s[i].ret) TH_LOG("survivor %d: %s", i,
					      shmipc_strerror(s[i].ret));
		dead += s[i].dead;
		if (variant->producer) {
			EXPECT_EQ(3, s[i].m.producer);
			got |= 1U << s[i].m.seq;
		}
	}
	EXPECT_EQ(1, dead);
	EXPECT_EQ((1U << NSURV) - 1, got);
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
}

/* Stopped (not dead) in the window: nobody repairs it, and once it goes
 * on, its message is delivered once (or it gets its message). */
TEST_F_TIMEOUT(mpmc_kill, slow_claimer_keeps_its_message, 60)
{
	uint64_t dl;
	struct tmsg m;
	pid_t pid;
	int i, ret;

	if (!variant->producer)
		ASSERT_EQ(0, fill_queue(self->q));
	pid = victim(self->name, variant->kp, variant->producer, SIGSTOP);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_await_stop(pid));
	fill(&m, 4, 4);
	dl = shmipc_deadline_in(300 * LT_MS);
	ret = variant->producer ? shmipc_mpmc_recv(self->q, &m, dl) :
				  shmipc_mpmc_send(self->q, &m, dl);
	EXPECT_EQ(-ETIMEDOUT, ret);
	dl = shmipc_deadline_in(20000 * LT_MS);
	ASSERT_EQ(0, kill(pid, SIGCONT));
	EXPECT_EQ(0, lt_reap(pid));
	if (variant->producer) {
		ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
		EXPECT_EQ(1000, m.seq);
	} else {
		ASSERT_EQ(0, shmipc_mpmc_send(self->q, &m, dl));
		for (i = 1; i < CAP; i++) {
			ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));
			EXPECT_EQ((uint32_t)i, m.seq);
		}
		ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, &m));
		EXPECT_EQ(4, m.seq);
	}
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
}

/* The repairer itself is killed right after its repair: the queue goes
 * on without it (nobody else reports that loss). */
TEST_F_TIMEOUT(mpmc_kill, repairer_killed, 60)
{
	uint64_t dl = shmipc_deadline_in(20000 * LT_MS);
	struct tmsg m;
	pid_t pid, rep;
	int i;

	if (!variant->producer)
		ASSERT_EQ(0, fill_queue(self->q));
	pid = victim(self->name, variant->kp, variant->producer, SIGKILL);
	ASSERT_LE(0, pid);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	rep = lt_fork();
	ASSERT_LE(0, rep);
	if (rep == 0) {
		struct shmipc_mpmc *q = child_open(self->name);
		int ret;

		fill(&m, 5, 5);
		lt_arm_kill_point(SHMIPC_KP_REPAIRED, SIGKILL, 0);
		ret = variant->producer ? shmipc_mpmc_recv(q, &m, dl) :
					  shmipc_mpmc_send(q, &m, dl);
		_exit(lt_code(ret) ? lt_code(ret) : 1);
	}
	EXPECT_EQ(128 + SIGKILL, lt_reap(rep));
	fill(&m, 6, 6);
	if (variant->producer) {
		ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
		ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
		EXPECT_EQ(6, m.seq);
	} else {
		ASSERT_EQ(0, shmipc_mpmc_send(self->q, &m, dl));
		for (i = 1; i < CAP; i++) {
			ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
			EXPECT_EQ((uint32_t)i, m.seq);
		}
		ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
		EXPECT_EQ(6, m.seq);
	}
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
}

/* ------------------------------------------------------------------ */
/* Hostile registry and holders */

TEST_F(mpmc, corrupt_holders)
{
	uint64_t dl = shmipc_deadline_in(10000 * LT_MS);
	uint64_t seed = 0x5eed;
	struct tmsg m;
	unsigned int i;
	char *reg = self->base + self->off + H_REGISTRY;

	/* A holder index outside the registry: -EBADMSG from a blocked
	 * call (the non-blocking one sees a held head: empty). */
	*slot_u32(self, 0, S_HOLDER) = 0xff;
	EXPECT_EQ(-EAGAIN, shmipc_mpmc_try_recv(self->q, &m));
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_recv(self->q, &m, dl));
	/* A holder whose generation is not its entry's: gone, repaired. */
	*slot_u32(self, 0, S_HOLDER) = (0x123U << 8) | 1;
	EXPECT_EQ(-EOWNERDEAD, shmipc_mpmc_recv(self->q, &m, dl));
	fill(&m, 0, 1);
	ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, &m));
	ASSERT_EQ(0, shmipc_mpmc_recv(self->q, &m, dl));
	EXPECT_EQ(1, m.seq);

	/* Garbage everywhere in the registry and the holders: every call
	 * returns (whatever it says), none hangs or crashes. */
	for (i = 0; i < 300; i++) {
		uint32_t at = (uint32_t)(lt_rand(&seed) % (64 * 64 / 4)) * 4;
		int ret;

		*(uint32_t *)(reg + at) = lt_evil32(&seed);
		*slot_u32(self, lt_rand(&seed) % CAP, S_HOLDER) =
			lt_evil32(&seed);
		if (i % 3 == 0)
			*slot_u32(self, lt_rand(&seed) % CAP, S_SEQ) =
				*word(self, H_ENQ) + lt_rand(&seed) % 3;
		ret = (i & 1) ? shmipc_mpmc_recv(self->q, &m, 0) :
				shmipc_mpmc_send(self->q, &m, 0);
		EXPECT_TRUE(ret == 0 || ret == -EAGAIN || ret == -ETIMEDOUT ||
			    ret == -EOWNERDEAD || ret == -EBADMSG)
			TH_LOG("round %u: %d", i, ret);
		shmipc_mpmc_try_send(self->q, &m);
		shmipc_mpmc_try_recv(self->q, &m);
	}
	EXPECT_GT(dl, shmipc_now_ns());
}

TEST_HARNESS_MAIN
