// SPDX-License-Identifier: GPL-2.0
/*
 * Multi-process stress of the MPMC channel: N producer and M consumer
 * processes on one queue, variable-size checksummed messages, every
 * message checked; first undisturbed (every message exactly once), then
 * with seeded random SIGKILLs of producers and consumers (plus children
 * that arm a random named kill point of the library, to die inside the
 * windows of a claim or a repair), each dead child replaced so the work
 * goes on.  The checker then knows exactly what each process committed
 * or received:
 *
 *   - a producer stores "attempt" (seq + 1) before each send and "next"
 *     (seq + 1) after it returned 0: a dead producer's only message in
 *     doubt is seq == next when attempt == next + 1; its replacement goes
 *     on after it.  Committed messages (seq < next, not in doubt) must
 *     arrive exactly once.
 *   - a consumer receives straight into its own shared "pending" buffer
 *     and records the receipt with one CAS on owner[id] (0 -> its
 *     incarnation + 1; a failed CAS is a duplicate).  A dead consumer
 *     whose pending buffer holds an intact unrecorded message had taken
 *     it: counted as received.  One whose buffer does not (killed inside
 *     a receive) may have taken one message that is lost: at most one
 *     per such death (the "allowance").
 *
 * So: no duplicate ever, no corrupt message, every committed message
 * received unless the allowance covers it, nothing received that was
 * never attempted, no more -EOWNERDEAD reports than deaths.
 *
 * The payload is built and checked through struct payload_ops, so that a
 * later mode can carry a record of the shared heap (allocated by the
 * producer, its offset in the message, freed by the consumer, and the
 * heap's free space checked at the end) instead of inline bytes.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "internal.h"
#include "lib_test.h"

#include <stdatomic.h>
#include <sys/mman.h>

#define SLOT		64		/* slot size of the queue */
#define QCAP		64		/* queue capacity: it fills and wraps */
#define HDR_BYTES	24		/* struct smsg before the payload */
#define MSG_MAGIC	0x4d534753U
#define STOP_MAGIC	0x504f5453U
#define PROD_MAX	4
#define PROD_IDS	(1U << 20)	/* ids per logical producer */
#define INCARN_MAX	1024		/* consumer incarnations */
#define CHILD_MAX	(2 * PROD_MAX)
#define SEND_WAIT_MS	30000		/* a send never waits this long */
#define RECV_WAIT_MS	2000

struct smsg {
	uint32_t magic;
	uint32_t id;		/* producer * PROD_IDS + seq */
	uint32_t stream;	/* the producer incarnation that sent it */
	uint32_t len;		/* payload bytes */
	uint64_t check;
	unsigned char payload[SLOT - HDR_BYTES];
};

_Static_assert(sizeof(struct smsg) == SLOT, "message layout");

/* What a logical producer committed; written by its live incarnation,
 * and by the parent between incarnations. */
struct prod_rec {
	_Atomic uint32_t next;		/* seqs below: send returned 0 */
	_Atomic uint32_t attempt;	/* seq + 1 of the send under way */
	_Atomic uint32_t reports;	/* -EOWNERDEAD from send */
};

/* One consumer incarnation. */
struct cons_rec {
	_Atomic uint32_t in_recv;	/* 1 from a receive to its record */
	_Atomic uint32_t got;
	_Atomic uint32_t reports;	/* -EOWNERDEAD from recv */
	_Atomic uint32_t bad;		/* corrupt messages */
	_Atomic uint32_t dups;		/* receipts recorded before */
	struct smsg pending;		/* the receive buffer */
};

struct shared {
	_Atomic uint32_t stop;		/* producers: finish now */
	struct prod_rec prod[PROD_MAX];
	struct cons_rec cons[INCARN_MAX];
	_Atomic uint16_t owner[PROD_MAX * PROD_IDS];	/* incarnation + 1 */
};

/* ------------------------------------------------------------------ */
/* Payloads */

struct payload_ops {
	const char *name;
	/* Producer: fill @m as message @id of @stream; its length. */
	size_t (*make)(struct smsg *m, uint32_t id, uint32_t stream);
	/* Consumer (and checker): 0 if @m of @len bytes is intact. */
	int (*verify)(const struct smsg *m, size_t len);
};

static uint64_t msg_check(const struct smsg *m)
{
	uint64_t h = lt_mix(((uint64_t)m->id << 32 | m->stream) ^
			    ((uint64_t)m->len << 52) ^ m->magic);
	uint32_t i;

	for (i = 0; i < m->len; i++)
		h = lt_mix(h ^ ((uint64_t)m->payload[i] << (8 * (i & 7))) ^ i);
	return h;
}

static size_t inline_make(struct smsg *m, uint32_t id, uint32_t stream)
{
	uint32_t i;

	m->magic = MSG_MAGIC;
	m->id = id;
	m->stream = stream;
	m->len = (uint32_t)(lt_mix(id + 1) % (sizeof(m->payload) + 1));
	for (i = 0; i < m->len; i++)
		m->payload[i] = (unsigned char)lt_mix((uint64_t)id << 8 | i);
	m->check = msg_check(m);
	return HDR_BYTES + m->len;
}

static int inline_verify(const struct smsg *m, size_t len)
{
	uint32_t i;

	if (len < HDR_BYTES || m->magic != MSG_MAGIC ||
	    m->len > sizeof(m->payload) || len != HDR_BYTES + m->len ||
	    m->id / PROD_IDS >= PROD_MAX || m->check != msg_check(m))
		return -EBADMSG;
	for (i = 0; i < m->len; i++)
		if (m->payload[i] !=
		    (unsigned char)lt_mix((uint64_t)m->id << 8 | i))
			return -EBADMSG;
	return 0;
}

static const struct payload_ops inline_payload = {
	.name = "inline", .make = inline_make, .verify = inline_verify,
};

/* ------------------------------------------------------------------ */
/* Children */

static struct shmipc_mpmc *open_queue(const char *name,
				      struct shmipc_region **r, int *err)
{
	struct shmipc_mpmc *q = NULL;

	*err = shmipc_region_open(name, 0, 0, 0, r);
	if (*err)
		return NULL;
	*err = shmipc_mpmc_open(*r, "q", &q);
	return q;
}

/* Logical producer @p, incarnation @stream: seqs next .. @end - 1. */
static int producer_main(const char *name, const struct payload_ops *ops,
			 struct shared *sh, uint32_t p, uint32_t stream,
			 uint32_t end)
{
	struct prod_rec *pr = &sh->prod[p];
	struct shmipc_region *r;
	struct shmipc_mpmc *q;
	struct smsg m;
	uint32_t seq;
	size_t len;
	int ret;

	q = open_queue(name, &r, &ret);
	if (!q)
		return ret;
	for (seq = atomic_load(&pr->next);
	     seq < end && !atomic_load(&sh->stop); seq++) {
		len = ops->make(&m, p * PROD_IDS + seq, stream);
		atomic_store(&pr->attempt, seq + 1);
		do {
			ret = shmipc_mpmc_send_var(
				q, &m, len,
				shmipc_deadline_in(SEND_WAIT_MS * LT_MS));
			if (ret == -EOWNERDEAD)
				atomic_fetch_add(&pr->reports, 1);
		} while (ret == -EOWNERDEAD);
		if (ret)
			return ret;
		atomic_store(&pr->next, seq + 1);
	}
	return 0;
}

/* Consumer incarnation @k: until a stop message. */
static int consumer_main(const char *name, const struct payload_ops *ops,
			 struct shared *sh, uint32_t k)
{
	struct cons_rec *cr = &sh->cons[k];
	struct shmipc_region *r;
	struct shmipc_mpmc *q;
	size_t len;
	int ret;

	q = open_queue(name, &r, &ret);
	if (!q)
		return ret;
	for (;;) {
		uint16_t none = 0;

		memset(&cr->pending, 0, sizeof(cr->pending));
		atomic_store(&cr->in_recv, 1);
		ret = shmipc_mpmc_recv_var(q, &cr->pending,
					   sizeof(cr->pending), &len,
					   shmipc_deadline_in(RECV_WAIT_MS *
							      LT_MS));
		if (ret == -EOWNERDEAD)
			atomic_fetch_add(&cr->reports, 1);
		if (ret == -EOWNERDEAD || ret == -ETIMEDOUT) {
			atomic_store(&cr->in_recv, 0);
			continue;
		}
		if (ret)
			return ret;
		if (len == sizeof(uint32_t) &&
		    cr->pending.magic == STOP_MAGIC) {
			atomic_store(&cr->in_recv, 0);
			return 0;
		}
		if (ops->verify(&cr->pending, len)) {
			atomic_fetch_add(&cr->bad, 1);
		} else {
			if (!atomic_compare_exchange_strong(
				    &sh->owner[cr->pending.id], &none,
				    (uint16_t)(k + 1)))
				atomic_fetch_add(&cr->dups, 1);
			atomic_fetch_add(&cr->got, 1);
		}
		atomic_store(&cr->in_recv, 0);
	}
}

/* A child may arm one random kill point of its role, to die inside a
 * claim, after a publish, in a repair or while it opens the queue. */
static void maybe_arm(uint64_t *seed, bool producer)
{
	static const enum shmipc_kill_point prod_kp[] = {
		SHMIPC_KP_SEND_CLAIMED, SHMIPC_KP_SEND_MARKED,
		SHMIPC_KP_SEND_DONE, SHMIPC_KP_REPAIRED, SHMIPC_KP_USER_TAKEN,
	};
	static const enum shmipc_kill_point cons_kp[] = {
		SHMIPC_KP_RECV_CLAIMED, SHMIPC_KP_RECV_MARKED,
		SHMIPC_KP_RECV_DONE, SHMIPC_KP_REPAIRED, SHMIPC_KP_USER_TAKEN,
	};
	const enum shmipc_kill_point *kp = producer ? prod_kp : cons_kp;
	uint64_t r = lt_rand(seed);
	enum shmipc_kill_point which;

	if (r % 3)
		return;
	which = kp[(r >> 8) % 5];
	lt_arm_kill_point(which, SIGKILL,
			  which == SHMIPC_KP_REPAIRED ||
			  which == SHMIPC_KP_USER_TAKEN ? 0 :
			  (r >> 16) % 2000);
}

/* ------------------------------------------------------------------ */
/* The driver */

struct run_cfg {
	unsigned int nprod, ncons;
	uint32_t per_prod;		/* messages per logical producer */
	unsigned int kills;		/* SIGKILLs to send (0: none) */
	bool spare_consumers;		/* kill producers only */
	unsigned int kill_gap_ms;	/* up to this between kills */
	unsigned int budget_ms;		/* stop producing after this */
	bool kill_points;		/* children may arm one */
	uint64_t seed;
	const struct payload_ops *ops;
};

struct child {
	pid_t pid;
	bool producer;
	uint32_t index;		/* logical producer, or incarnation */
	bool killed;		/* by the driver */
};

struct run {
	const struct run_cfg *cfg;
	const char *name;
	struct shared *sh;
	struct shmipc_mpmc *q;	/* the driver's handle (stop messages) */
	uint64_t rng;
	struct child live[CHILD_MAX];
	unsigned int nlive;
	uint32_t streams, incarns;
	bool replace_producers, arm;
	unsigned int stops_owed;	/* stop messages still to send */
	/* outcome */
	unsigned int kills, window_deaths, failures;
	uint8_t *doubt;		/* [id]: in doubt */
	uint32_t ndoubt;
	uint32_t allowance;
	uint8_t *dead_taken;	/* [id]: in a dead consumer's buffer */
};

static int spawn(struct run *run, bool producer, uint32_t index)
{
	const struct run_cfg *cfg = run->cfg;
	uint64_t seed = lt_rand(&run->rng) | 1;
	struct child *c;
	uint32_t id;
	pid_t pid;

	if (run->nlive >= CHILD_MAX)
		return -ENOSPC;
	if (!producer && run->incarns >= INCARN_MAX)
		return -ENOSPC;
	id = producer ? run->streams++ : run->incarns++;
	pid = lt_fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int ret;

		if (run->arm && (producer || !cfg->spare_consumers))
			maybe_arm(&seed, producer);
		ret = producer ?
		      producer_main(run->name, cfg->ops, run->sh, index, id,
				    cfg->per_prod) :
		      consumer_main(run->name, cfg->ops, run->sh, id);
		_exit(lt_code(ret));
	}
	c = &run->live[run->nlive++];
	c->pid = pid;
	c->producer = producer;
	c->index = producer ? index : id;
	c->killed = false;
	return 0;
}

/* A consumer incarnation died: what its pending buffer says. */
static void consumer_died(struct run *run, uint32_t k)
{
	struct cons_rec *cr = &run->sh->cons[k];
	const struct smsg *m = &cr->pending;

	if (!atomic_load(&cr->in_recv))
		return;
	if (!run->cfg->ops->verify(m, HDR_BYTES + m->len)) {
		uint16_t o = atomic_load(&run->sh->owner[m->id]);

		if (o == 0)
			run->dead_taken[m->id]++;	/* taken, unrecorded */
		else if (o != k + 1)
			atomic_fetch_add(&cr->dups, 1);
		return;
	}
	run->allowance++;	/* inside a receive: one message may be lost */
}

/* A producer incarnation died: its message in doubt, if any; the next
 * incarnation goes on after it. */
static void producer_died(struct run *run, uint32_t p)
{
	struct prod_rec *pr = &run->sh->prod[p];
	uint32_t next = atomic_load(&pr->next);

	if (atomic_load(&pr->attempt) == next + 1) {
		run->doubt[p * PROD_IDS + next] = 1;
		run->ndoubt++;
		atomic_store(&pr->next, next + 1);
	}
}

/* Reap live[i] (status @st): book its end; replace it if wanted. */
static void ended(struct run *run, unsigned int i, int st, bool replace)
{
	struct child c = run->live[i];
	bool died = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;

	run->live[i] = run->live[--run->nlive];
	if (!died) {
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("# %s %u ended with status 0x%x (%s)\n",
			       c.producer ? "producer" : "consumer", c.index,
			       st, WIFEXITED(st) ?
			       shmipc_strerror(-WEXITSTATUS(st)) : "signal");
			run->failures++;
		}
		return;
	}
	if (!c.killed)
		run->window_deaths++;
	if (c.producer)
		producer_died(run, c.index);
	else
		consumer_died(run, c.index);
	if (c.producer && !(replace && run->replace_producers))
		return;
	if (c.producer && atomic_load(&run->sh->prod[c.index].next) >=
			  run->cfg->per_prod)
		return;
	if (!replace)
		return;
	if (spawn(run, c.producer, c.index))
		run->failures++;
	else if (!c.producer && atomic_load(&run->sh->stop))
		run->stops_owed++;
}

/* Reap every child that ended (@block: wait for one at least). */
static void reap(struct run *run, bool block, bool replace)
{
	int st;
	pid_t pid;
	unsigned int i;

	for (;;) {
		pid = waitpid(-1, &st, block ? 0 : WNOHANG);
		if (pid <= 0)
			return;
		block = false;
		for (i = 0; i < run->nlive; i++)
			if (run->live[i].pid == pid)
				break;
		if (i < run->nlive)
			ended(run, i, st, replace);
	}
}

static unsigned int count_live(const struct run *run, bool producer)
{
	unsigned int i, n = 0;

	for (i = 0; i < run->nlive; i++)
		n += run->live[i].producer == producer;
	return n;
}

/* One stop message; while the queue is full, dead consumers are
 * replaced (and owe one more stop each). */
static int send_stop(struct run *run)
{
	uint64_t end = shmipc_deadline_in(SEND_WAIT_MS * LT_MS);
	uint32_t stop = STOP_MAGIC;
	int ret;

	do {
		ret = shmipc_mpmc_send_var(run->q, &stop, sizeof(stop),
					   shmipc_deadline_in(100 * LT_MS));
		if (ret == -ETIMEDOUT)
			reap(run, false, true);
	} while ((ret == -ETIMEDOUT || ret == -EOWNERDEAD) &&
		 shmipc_now_ns() < end);
	return ret;
}

/* Run the producers and consumers (killing some), then stop everyone. */
static int drive(struct run *run)
{
	const struct run_cfg *cfg = run->cfg;
	uint64_t end = shmipc_deadline_in((uint64_t)cfg->budget_ms * LT_MS);
	unsigned int i;
	int ret, st;

	run->replace_producers = true;
	run->arm = cfg->kill_points;
	for (i = 0; i < cfg->nprod; i++)
		if (spawn(run, true, i))
			return -ENOSPC;
	for (i = 0; i < cfg->ncons; i++)
		if (spawn(run, false, 0))
			return -ENOSPC;
	/* Kill phase: until the kills are done or the budget spent. */
	while (count_live(run, true) && shmipc_now_ns() < end &&
	       (!cfg->kills || run->kills < cfg->kills)) {
		lt_sleep_ms(1 + (unsigned int)(lt_rand(&run->rng) %
					       (cfg->kill_gap_ms + 1)));
		reap(run, false, true);
		if (!cfg->kills || !run->nlive)
			continue;
		i = (unsigned int)(lt_rand(&run->rng) % run->nlive);
		if (cfg->spare_consumers && !run->live[i].producer)
			continue;
		run->live[i].killed = true;
		kill(run->live[i].pid, SIGKILL);
		run->kills++;
		if (waitpid(run->live[i].pid, &st, 0) == run->live[i].pid)
			ended(run, i, st, true);
	}
	/* Producers finish (no more replacements, no more kill points in
	 * new consumers); consumers still get replaced. */
	atomic_store(&run->sh->stop, 1);
	run->replace_producers = false;
	run->arm = false;
	while (count_live(run, true))
		reap(run, true, true);
	/* One stop message per consumer; a consumer that dies now (it may
	 * have taken one with it) is replaced and owes one more. */
	run->stops_owed = count_live(run, false);
	while (count_live(run, false)) {
		while (run->stops_owed) {
			ret = send_stop(run);
			if (ret)
				return ret;
			run->stops_owed--;
		}
		reap(run, true, true);
	}
	return 0;
}

struct verdict {
	uint64_t committed, received, doubt_received, missing, phantom;
	uint32_t dups, bad, reports;
};

static void check(struct run *run, struct verdict *v)
{
	struct shared *sh = run->sh;
	uint32_t p, seq, k;

	memset(v, 0, sizeof(*v));
	for (k = 0; k < run->incarns; k++) {
		v->dups += atomic_load(&sh->cons[k].dups);
		v->bad += atomic_load(&sh->cons[k].bad);
		v->reports += atomic_load(&sh->cons[k].reports);
	}
	for (p = 0; p < run->cfg->nprod; p++) {
		uint32_t next = atomic_load(&sh->prod[p].next);

		v->reports += atomic_load(&sh->prod[p].reports);
		for (seq = 0; seq < PROD_IDS; seq++) {
			uint32_t id = p * PROD_IDS + seq;
			bool got = atomic_load(&sh->owner[id]) ||
				   run->dead_taken[id];

			if (run->dead_taken[id] > 1 ||
			    (run->dead_taken[id] && atomic_load(&sh->owner[id])))
				v->dups++;
			if (seq >= next) {
				v->phantom += got;	/* never attempted */
				continue;
			}
			if (run->doubt[id]) {
				v->doubt_received += got;
				continue;
			}
			v->committed++;
			v->received += got;
			v->missing += !got;
		}
	}
}

static int stress(const char *name, const struct run_cfg *cfg,
		  struct verdict *v, struct run *out)
{
	struct shmipc_region *r = NULL;
	struct run *run = out;
	int ret;

	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->name = name;
	run->rng = cfg->seed | 1;
	run->sh = mmap(NULL, sizeof(*run->sh), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	run->doubt = calloc(PROD_MAX * PROD_IDS, 1);
	run->dead_taken = calloc(PROD_MAX * PROD_IDS, 1);
	if (run->sh == MAP_FAILED || !run->doubt || !run->dead_taken)
		return -ENOMEM;
	ret = shmipc_region_open(name, 1 << 20, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL, &r);
	if (!ret)
		ret = shmipc_mpmc_create(r, "q", SLOT, QCAP);
	if (!ret)
		ret = shmipc_mpmc_open(r, "q", &run->q);
	if (!ret)
		ret = drive(run);
	if (!ret)
		check(run, v);
	/* Nothing of ours may live on (a failed drive leaves some). */
	while (run->nlive) {
		kill(run->live[0].pid, SIGKILL);
		waitpid(run->live[0].pid, NULL, 0);
		run->live[0] = run->live[--run->nlive];
	}
	shmipc_mpmc_close(run->q);
	shmipc_region_close(r);
	shmipc_region_unlink(name);
	munmap(run->sh, sizeof(*run->sh));
	free(run->doubt);
	free(run->dead_taken);
	return ret;
}

/* The VM (module backend, under TCG) gets a smaller, shorter run. */
static bool small_run(void)
{
	return shmipc_backend() == SHMIPC_BACKEND_MODULE;
}

static uint64_t pick_seed(void)
{
	const char *env = getenv("SHMIPC_STRESS_SEED");

	if (env && *env)
		return strtoull(env, NULL, 0);
	return shmipc_now_ns() ^ ((uint64_t)getpid() << 32);
}

static void report(const struct run_cfg *cfg, const struct run *run,
		   const struct verdict *v)
{
	printf("# %ux%u, payload %s, seed %llu (SHMIPC_STRESS_SEED)\n",
	       cfg->nprod, cfg->ncons, cfg->ops->name,
	       (unsigned long long)cfg->seed);
	printf("# kills %u, deaths at kill points %u, producers %u, consumers %u\n",
	       run->kills, run->window_deaths, run->streams, run->incarns);
	printf("# committed %llu, received %llu, missing %llu (allowed %u), "
	       "in doubt %u (%llu received), reports %u\n",
	       (unsigned long long)v->committed,
	       (unsigned long long)v->received,
	       (unsigned long long)v->missing, run->allowance, run->ndoubt,
	       (unsigned long long)v->doubt_received, v->reports);
	fflush(stdout);
}

FIXTURE(stress) {
	char name[64];
	struct run run;
	struct verdict v;
};

/* Who dies: nobody (every message exactly once), producers only (exact:
 * nothing committed may be missing), or anyone.  Host, then VM sizes. */
FIXTURE_VARIANT(stress) {
	unsigned int kills[2];
	bool spare_consumers;
};

FIXTURE_VARIANT_ADD(stress, exactly_once) {
	.kills = { 0, 0 },
};

FIXTURE_VARIANT_ADD(stress, producer_kills) {
	.kills = { 100, 15 }, .spare_consumers = true,
};

FIXTURE_VARIANT_ADD(stress, random_kills) {
	.kills = { 300, 30 },
};

FIXTURE_SETUP(stress)
{
	lt_name(self->name, sizeof(self->name), "stress");
}

FIXTURE_TEARDOWN(stress)
{
	shmipc_region_unlink(self->name);
}

TEST_F_TIMEOUT(stress, run, 180)
{
	bool vm = small_run();
	unsigned int kills = variant->kills[vm];
	struct run_cfg cfg = {
		.nprod = vm ? 3 : 4,
		.ncons = vm ? 3 : 4,
		/* Undisturbed: a fixed count; else until the kills are done. */
		.per_prod = kills ? PROD_IDS : vm ? 2000 : 25000,
		.kills = kills,
		.spare_consumers = variant->spare_consumers,
		.kill_gap_ms = vm ? 40 : 4,
		.budget_ms = kills ? (vm ? 8000 : 30000) : 100000,
		.kill_points = kills > 0,
		.seed = pick_seed(),
		.ops = &inline_payload,
	};
	struct verdict *v = &self->v;
	struct run *run = &self->run;
	int ret = stress(self->name, &cfg, v, run);

	ASSERT_EQ(0, ret) TH_LOG("%s", shmipc_strerror(ret));
	report(&cfg, run, v);
	EXPECT_EQ(0, run->failures);
	EXPECT_LT(0, v->received);
	EXPECT_EQ(0, v->dups);
	EXPECT_EQ(0, v->bad);
	EXPECT_EQ(0, v->phantom);
	EXPECT_GE(run->allowance, v->missing);
	/* Each death loses at most one position, reported at most once. */
	EXPECT_GE(run->kills + run->window_deaths, v->reports);
	if (!kills) {
		EXPECT_EQ((uint64_t)cfg.nprod * cfg.per_prod, v->committed);
		EXPECT_EQ(0, v->reports);
		EXPECT_EQ(0, run->ndoubt);
	} else {
		EXPECT_LT(0, run->kills);
	}
	if (!kills || cfg.spare_consumers) {
		EXPECT_EQ(0, run->allowance);
		EXPECT_EQ(v->committed, v->received);
	}
}

TEST_HARNESS_MAIN
