// SPDX-License-Identifier: GPL-2.0
/*
 * Deaths under load, bounded in time (a few seconds of guest time each):
 *  - peers die while another peer WAKEs in a tight loop: every waiter
 *    that names the dying peer (or no peer) sees -EOWNERDEAD; a lost
 *    wake-up would leave it asleep until its long deadline;
 *  - peers die while waiters come and go (short deadlines, vectors):
 *    every waiter ends, every death is one DEATH event;
 *  - a peer killed while it ATTACHes and DETACHes in a loop: every JOIN
 *    is closed by exactly one LEAVE or DEATH.
 * The VM runner also fails the run on any kernel WARNING or BUG.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define REGION_SIZE	4096
#define W_STOP		0	/* word index: 1 = children stop */
#define W_A		1	/* the word waited on */
#define W_B		2	/* a second word (vectors) */
#define W_OWNED		3	/* owned by victims */
#define W_COUNT		8	/* counters from here */
#define OFF(i)		((__u64)(i) * 4)

#define BUDGET_MS	2500	/* per test, then stop starting rounds */
#define MIN_ROUNDS	5
#define MAX_ROUNDS	150

FIXTURE(stress) {
	struct sx_region r;
};

FIXTURE_SETUP(stress)
{
	ASSERT_EQ(0, geteuid());
	ASSERT_EQ(0, sx_region_setup(&self->r, "dstress", REGION_SIZE,
				     REGION_SIZE));
}

FIXTURE_TEARDOWN(stress)
{
	if (self->r.w != MAP_FAILED)
		__atomic_store_n(&self->r.w[W_STOP], 1, __ATOMIC_SEQ_CST);
	sx_region_teardown(&self->r);
}

static bool stop(volatile __u32 *w)
{
	return __atomic_load_n(&w[W_STOP], __ATOMIC_SEQ_CST) != 0;
}

/* Another peer that WAKEs both words in a tight loop until told to stop. */
static pid_t fork_waker(int fd, volatile __u32 *w)
{
	__u64 id;
	pid_t pid = sx_fork_peer(fd, &id);

	if (pid == 0) {
		while (!stop(w)) {
			if (sx_wake(fd, OFF(W_A), SHMIPC_WAKE_ALL) < 0 ||
			    sx_wake(fd, OFF(W_B), SHMIPC_WAKE_ALL) < 0)
				_exit(100);
		}
		_exit(sx_errcode(sx_detach(fd)));
	}
	return pid;
}

/* A victim: attached, owns W_OWNED (so it stays marked), sleeps. */
static pid_t fork_victim(int fd, __u64 *id)
{
	static const __u64 own[] = { OFF(W_OWNED) };

	return sx_fork_owner(fd, own, 1, NULL, 0, id);
}

/*
 * A waiter that must see the death of @victim: it waits (kind @kind)
 * again after every wake-up of the storm and exits with the first other
 * result.  Its deadline is long: if the death's wake-up were lost it
 * would exit with ETIMEDOUT.  Kinds: 0 names the victim; 1 names no peer
 * and also waits on the victim's owned word (a death before it sleeps
 * changed that word: -EAGAIN); 2 names the victim in one entry of a
 * vector.
 */
static pid_t fork_death_waiter(int fd, volatile __u32 *w, __u64 victim,
			       int kind)
{
	pid_t pid = sx_fork();

	if (pid == 0) {
		__u64 deadline = sx_deadline_ms(SX_CHILD_WAIT_MS);
		struct shmipc_waitv_entry e[2];
		int ret;

		do {
			switch (kind) {
			case 0:		/* names the victim */
				ret = sx_wait_peer(fd, OFF(W_A), 0, deadline,
						   victim);
				break;
			case 1:		/* names no peer */
				sx_entry(&e[0], fd, OFF(W_A), 0);
				sx_entry(&e[1], fd, OFF(W_OWNED), 0);
				ret = sx_waitv(fd, e, 2, deadline);
				if (ret == -EAGAIN &&
				    (w[W_OWNED] & SHMIPC_OWNER_DIED))
					ret = -EOWNERDEAD;
				break;
			default:	/* a vector naming it in one entry */
				sx_entry(&e[0], fd, OFF(W_B), 0);
				sx_entry(&e[1], fd, OFF(W_A), 0);
				e[1].peer_id = victim;
				ret = sx_waitv(fd, e, 2, deadline);
				break;
			}
		} while (ret >= 0 || ret == -EAGAIN);
		_exit(sx_errcode(ret));
	}
	return pid;
}

TEST_F_TIMEOUT(stress, deaths_during_a_wake_storm, 120)
{
	__u64 start = sx_now_ns(), id;
	pid_t waker, victim, waiters[3];
	int round, i, bad = 0;

	waker = fork_waker(self->r.fd, self->r.w);
	ASSERT_LE(0, waker);
	for (round = 0; round < MAX_ROUNDS; round++) {
		if (round >= MIN_ROUNDS &&
		    sx_now_ns() - start > BUDGET_MS * 1000000ULL)
			break;
		victim = fork_victim(self->r.fd, &id);
		ASSERT_LE(0, victim);
		for (i = 0; i < 3; i++) {
			waiters[i] = fork_death_waiter(self->r.fd, self->r.w,
						       id, i);
			ASSERT_LE(0, waiters[i]);
		}
		/* kill it at varying moments: before, while, after they queue */
		if (round % 3)
			usleep((round % 7) * 700);
		EXPECT_EQ(128 + SIGKILL, sx_kill_reap(victim));
		for (i = 0; i < 3; i++) {
			int r = sx_reap(waiters[i]);

			if (r != EOWNERDEAD) {
				bad++;
				TH_LOG("round %d waiter %d: exit %d", round,
				       i, r);
			}
		}
		/* processed and marked: repair the word and reclaim */
		ASSERT_TRUE(sx_wait_peers(self->r.fd, 1, 1));
		EXPECT_EQ(SHMIPC_OWNER_DIED,
			  self->r.w[W_OWNED] & SHMIPC_OWNER_DIED);
		self->r.w[W_OWNED] = 0;
		ASSERT_EQ(0, sx_reclaim(self->r.fd, id));
	}
	TH_LOG("%d rounds", round);
	EXPECT_EQ(0, bad);
	__atomic_store_n(&self->r.w[W_STOP], 1, __ATOMIC_SEQ_CST);
	EXPECT_EQ(0, sx_reap(waker));
	EXPECT_TRUE(sx_wait_waiters(self->r.fd, 0));
	EXPECT_TRUE(sx_wait_peers(self->r.fd, 0, 0));
}

/*
 * Waiters that come and go (short deadlines, WAIT and WAITV, naming no
 * peer) while peers keep dying: each ends on its own, and every death is
 * exactly one DEATH event of a reader that drains between deaths.
 */
TEST_F_TIMEOUT(stress, deaths_while_waiters_come_and_go, 120)
{
	volatile __u32 *cnt = &self->r.w[W_COUNT];
	int reader, round, i, joins = 0, deaths = 0, other = 0;
	__u64 start = sx_now_ns(), id;
	pid_t churn[4], victim;

	reader = sx_open(self->r.dev, self->r.name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, reader);
	for (i = 0; i < 4; i++) {
		churn[i] = sx_fork();
		ASSERT_LE(0, churn[i]);
		if (churn[i] == 0) {
			struct shmipc_waitv_entry e[2];
			unsigned int n = 0;
			int ret;

			while (!stop(self->r.w)) {
				__u64 dl = sx_deadline_ms(n++ % 3);

				if (i % 2) {
					ret = sx_wait_peer(self->r.fd, OFF(W_A),
							   0, dl, 0);
				} else {
					sx_entry(&e[0], self->r.fd, OFF(W_A),
						 0);
					sx_entry(&e[1], self->r.fd,
						 OFF(W_OWNED),
						 self->r.w[W_OWNED]);
					ret = sx_waitv(self->r.fd, e, 2, dl);
				}
				if (ret == -EOWNERDEAD)
					__atomic_add_fetch(&cnt[i], 1,
							   __ATOMIC_SEQ_CST);
				else if (ret < 0 && ret != -ETIMEDOUT &&
					 ret != -EAGAIN)
					_exit(sx_errcode(ret));
			}
			_exit(0);
		}
	}
	for (round = 0; round < MAX_ROUNDS; round++) {
		struct shmipc_event ev[8];
		int n, k;

		if (round >= MIN_ROUNDS &&
		    sx_now_ns() - start > BUDGET_MS * 1000000ULL)
			break;
		victim = fork_victim(self->r.fd, &id);
		ASSERT_LE(0, victim);
		if (round % 2)
			usleep((round % 5) * 500);
		EXPECT_EQ(128 + SIGKILL, sx_kill_reap(victim));
		ASSERT_TRUE(sx_wait_peers(self->r.fd, 0, 1));
		self->r.w[W_OWNED] = 0;
		ASSERT_EQ(0, sx_reclaim(self->r.fd, id));
		n = sx_drain_events(reader, ev, 8);
		for (k = 0; k < n && k < 8; k++) {
			if (ev[k].type == SHMIPC_EVENT_JOIN &&
			    ev[k].peer_id == id)
				joins++;
			else if (ev[k].type == SHMIPC_EVENT_DEATH &&
				 ev[k].peer_id == id &&
				 WTERMSIG(ev[k].status) == SIGKILL)
				deaths++;
			else
				other++;
		}
	}
	__atomic_store_n(&self->r.w[W_STOP], 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, sx_reap(churn[i])) TH_LOG("churner %d", i);
	}
	TH_LOG("%d rounds; the churners saw %u %u %u %u deaths", round,
	       cnt[0], cnt[1], cnt[2], cnt[3]);
	EXPECT_EQ(round, joins);
	EXPECT_EQ(round, deaths);
	EXPECT_EQ(0, other);
	EXPECT_TRUE(sx_wait_waiters(self->r.fd, 0));
	EXPECT_EQ(0, sx_nr_peers(self->r.fd));
	EXPECT_EQ(0, sx_nr_dead(self->r.fd));
	close(reader);
}

/*
 * A peer that ATTACHes and DETACHes in a loop is killed at any moment:
 * every JOIN is closed by exactly one LEAVE or DEATH, and a DEATH only
 * for the id it held last.
 */
TEST_F_TIMEOUT(stress, killed_while_attaching_and_detaching, 120)
{
	__u64 start = sx_now_ns();
	int round, bad = 0;

	for (round = 0; round < MAX_ROUNDS; round++) {
		static struct shmipc_event ev[64];
		__u64 ids[24];
		int closed[24];
		int n, k, j, nids = 0;
		pid_t pid;

		if (round >= MIN_ROUNDS &&
		    sx_now_ns() - start > BUDGET_MS * 1000000ULL)
			break;
		pid = sx_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			__u64 id;
			int k2;

			/* at most 20 rounds (40 events), then stay attached */
			for (k2 = 0; k2 < 20; k2++) {
				if (sx_attach(self->r.fd, &id))
					_exit(100);
				if (k2 < 19 && sx_detach(self->r.fd))
					_exit(101);
			}
			pause();
			_exit(102);
		}
		usleep((round % 6) * 300);
		EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
		ASSERT_TRUE(sx_wait_peers(self->r.fd, 0, 0));

		n = sx_drain_events(self->r.fd, ev, 64);
		ASSERT_GE(40, n);
		for (k = 0; k < n; k++) {
			if (ev[k].type == SHMIPC_EVENT_JOIN) {
				ASSERT_GT(24, nids);
				ids[nids] = ev[k].peer_id;
				closed[nids++] = 0;
				continue;
			}
			for (j = 0; j < nids; j++)
				if (ids[j] == ev[k].peer_id)
					break;
			if (j == nids || closed[j]) {
				bad++;
				TH_LOG("round %d: event %u of peer %llu",
				       round, ev[k].type,
				       (unsigned long long)ev[k].peer_id);
				continue;
			}
			closed[j] = ev[k].type;
			/* only the last id can die; the others left */
			if (ev[k].type == SHMIPC_EVENT_DEATH && j != nids - 1)
				bad++;
		}
		for (j = 0; j < nids; j++) {
			if (!closed[j]) {
				bad++;
				TH_LOG("round %d: peer %llu never ended", round,
				       (unsigned long long)ids[j]);
			}
		}
	}
	TH_LOG("%d rounds", round);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, sx_nr_peers(self->r.fd));
}

TEST_HARNESS_MAIN
