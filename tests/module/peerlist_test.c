// SPDX-License-Identifier: GPL-2.0
/*
 * SHMIPC_IOC_PEERS: the peers of a region (attached ones, and dead ones
 * still marked with their exit status), paged by peer id; pids in the
 * caller's pid namespace; walks racing with attach/detach churn.  The
 * bad arguments of struct shmipc_list are in list_test.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

FIXTURE(peers) {
	int dev;
	int fd;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(peers)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	sx_unique_name(self->name, "peerlist");
	self->fd = sx_create(self->dev, self->name, 4 * 4096, 0600,
			     SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(peers)
{
	close(self->fd);
	close(self->dev);
}

/* A peer that sleeps until killed: sx_fork_owner() owning nothing. */
static pid_t fork_sleeper(int fd, __u64 *id)
{
	return sx_fork_owner(fd, NULL, 0, NULL, 0, id);
}

TEST_F(peers, lists_attached_peers_in_id_order)
{
	struct shmipc_peer_entry e[8];
	__u64 own[2] = { 0, 4096 }, me, a, b;
	pid_t pa, pb;
	int n;

	EXPECT_EQ(0, sx_walk(self->fd, SHMIPC_IOC_PEERS, e, 8, 4));
	ASSERT_EQ(0, sx_attach(self->fd, &me));
	pa = fork_sleeper(self->fd, &a);
	ASSERT_LT(0, pa);
	pb = sx_fork_owner(self->fd, own, 2, NULL, 0, &b);
	ASSERT_LT(0, pb);

	n = sx_walk(self->fd, SHMIPC_IOC_PEERS, e, 8, 8);
	ASSERT_EQ(3, n);
	EXPECT_EQ(me, e[0].peer_id);
	EXPECT_EQ(getpid(), e[0].pid);
	EXPECT_EQ(a, e[1].peer_id);
	EXPECT_EQ(pa, e[1].pid);
	EXPECT_EQ(b, e[2].peer_id);
	EXPECT_EQ(pb, e[2].pid);
	EXPECT_EQ(0, e[0].nr_owned);
	EXPECT_EQ(0, e[1].nr_owned);
	EXPECT_EQ(2, e[2].nr_owned);
	for (n = 0; n < 3; n++) {
		EXPECT_EQ(SHMIPC_PEER_STATE_ALIVE, e[n].state);
		EXPECT_EQ(0, e[n].status);
		EXPECT_EQ(0, e[n].reserved);
	}
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pa));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pb));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(peers, killed_peer_shown_dead_until_reclaimed)
{
	struct shmipc_peer_entry e;
	struct shmipc_list l;
	__u64 own = 8, id;
	pid_t pid;

	pid = sx_fork_owner(self->fd, &own, 1, NULL, 0, &id);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, sx_peers_find(self->fd, id, &e));
	EXPECT_EQ(SHMIPC_PEER_STATE_ALIVE, e.state);
	ASSERT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	ASSERT_TRUE(sx_wait_peers(self->fd, 0, 1));

	ASSERT_EQ(0, sx_peers_find(self->fd, id, &e));
	EXPECT_EQ(SHMIPC_PEER_STATE_DEAD, e.state);
	EXPECT_TRUE(WIFSIGNALED(e.status));
	EXPECT_EQ(SIGKILL, WTERMSIG(e.status));
	EXPECT_EQ(pid, e.pid);
	EXPECT_EQ(1, e.nr_owned);
	ASSERT_EQ(0, sx_list_call(self->fd, SHMIPC_IOC_PEERS, &e, 1,
				  sizeof(e), 0, &l));
	EXPECT_EQ(1, l.total);

	ASSERT_EQ(0, sx_reclaim(self->fd, id));
	EXPECT_EQ(-ENOENT, sx_peers_find(self->fd, id, NULL));
	EXPECT_EQ(0, sx_walk(self->fd, SHMIPC_IOC_PEERS, NULL, 0, 4));
}

TEST_F(peers, exit_status_of_dead_peer)
{
	struct shmipc_peer_entry e;
	__u64 id;
	pid_t pid;
	int go[2];

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = sx_fork_peer(self->fd, &id);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		if (sx_own(self->fd, 12))
			_exit(100);
		sx_await_fd(go[0]);
		_exit(7);
	}
	close(go[0]);
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 0));
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	ASSERT_EQ(7, sx_reap(pid));
	ASSERT_TRUE(sx_wait_peers(self->fd, 0, 1));
	ASSERT_EQ(0, sx_peers_find(self->fd, id, &e));
	EXPECT_EQ(SHMIPC_PEER_STATE_DEAD, e.state);
	EXPECT_TRUE(WIFEXITED(e.status));
	EXPECT_EQ(7, WEXITSTATUS(e.status));
	EXPECT_EQ(0, sx_reclaim(self->fd, id));
	close(go[1]);
}

TEST_F(peers, left_and_ownerless_dead_peers_are_gone)
{
	__u64 left, dead, stay;
	pid_t pl, pd, ps;

	ps = fork_sleeper(self->fd, &stay);
	ASSERT_LT(0, ps);
	/* leaves cleanly */
	pl = sx_fork_peer(self->fd, &left);
	ASSERT_LE(0, pl);
	if (pl == 0)
		_exit(sx_errcode(sx_detach(self->fd)));
	ASSERT_EQ(0, sx_reap(pl));
	/* dies owning nothing */
	pd = fork_sleeper(self->fd, &dead);
	ASSERT_LT(0, pd);
	ASSERT_EQ(128 + SIGKILL, sx_kill_reap(pd));
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 0));

	EXPECT_EQ(-ENOENT, sx_peers_find(self->fd, left, NULL));
	EXPECT_EQ(-ENOENT, sx_peers_find(self->fd, dead, NULL));
	EXPECT_EQ(0, sx_peers_find(self->fd, stay, NULL));
	EXPECT_EQ(1, sx_walk(self->fd, SHMIPC_IOC_PEERS, NULL, 0, 4));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(ps));
}

TEST_F(peers, stat_fd_lists_and_other_region_does_not)
{
	struct shmipc_peer_entry e[4];
	char other[SHMIPC_NAME_MAX];
	int st, ofd;
	__u64 me;

	ASSERT_EQ(0, sx_attach(self->fd, &me));
	st = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, st);
	ASSERT_EQ(1, sx_walk(st, SHMIPC_IOC_PEERS, e, 4, 4));
	EXPECT_EQ(me, e[0].peer_id);
	snprintf(other, sizeof(other), "%s-o", self->name);
	ofd = sx_create(self->dev, other, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, ofd);
	EXPECT_EQ(0, sx_walk(ofd, SHMIPC_IOC_PEERS, e, 4, 4));
	close(ofd);
	close(st);
	EXPECT_EQ(0, sx_detach(self->fd));
}

#define NPEERS 6

TEST_F(peers, pages_cover_every_peer_once)
{
	struct shmipc_peer_entry all[NPEERS + 2], page[NPEERS];
	__u32 sizes[] = { 1, 2, 4, 5, 6, 32 };
	__u64 ids[NPEERS];
	pid_t pids[NPEERS];
	struct shmipc_list l;
	unsigned int s;
	int i;

	for (i = 0; i < NPEERS; i++) {
		pids[i] = fork_sleeper(self->fd, &ids[i]);
		ASSERT_LT(0, pids[i]);
	}
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		ASSERT_EQ(NPEERS, sx_walk(self->fd, SHMIPC_IOC_PEERS, all,
					  NPEERS + 2, sizes[s]));
		for (i = 0; i < NPEERS; i++) {
			EXPECT_EQ(ids[i], all[i].peer_id);
			EXPECT_EQ(pids[i], all[i].pid);
		}
	}
	/* one call by hand: the first 4, then the rest from .next */
	ASSERT_EQ(0, sx_list_call(self->fd, SHMIPC_IOC_PEERS, page, 4,
				  sizeof(page[0]), 0, &l));
	EXPECT_EQ(4, l.count);
	EXPECT_EQ(NPEERS, l.total);
	EXPECT_EQ(ids[3], l.next);
	ASSERT_EQ(0, sx_list_call(self->fd, SHMIPC_IOC_PEERS, page, 4,
				  sizeof(page[0]), l.next, &l));
	EXPECT_EQ(NPEERS - 4, l.count);
	EXPECT_EQ(0, l.next);
	EXPECT_EQ(ids[4], page[0].peer_id);
	for (i = 0; i < NPEERS; i++) {
		EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pids[i]));
	}
}

/* Pids as the caller's pid namespace sees them; 0 when it cannot. */
TEST_F(peers, pids_in_caller_pid_namespace)
{
	struct shmipc_peer_entry e;
	int ready[2], go[2];
	pid_t mid, inner_outer = 0;
	__u64 mine, inner_id = 0;

	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	mid = sx_fork();
	ASSERT_LE(0, mid);
	if (mid == 0) {
		struct { __s64 pid; __u64 id; } msg;
		int ip[2];
		pid_t inner;

		close(ready[0]);
		close(go[1]);
		if (unshare(CLONE_NEWPID) || pipe2(ip, O_CLOEXEC))
			_exit(100);
		inner = fork();
		if (inner < 0)
			_exit(101);
		if (inner == 0) {
			struct shmipc_peer_entry pe;
			__u64 id;

			if (getpid() != 1 || sx_attach(self->fd, &id))
				_exit(102);
			/* the outer test process: not in this namespace */
			if (sx_peers_find(self->fd, mine, &pe) || pe.pid != 0)
				_exit(103);
			if (sx_peers_find(self->fd, id, &pe) || pe.pid != 1)
				_exit(104);
			if (write(ip[1], &id, sizeof(id)) != sizeof(id))
				_exit(105);
			sx_await_fd(go[0]);
			_exit(0);
		}
		close(ip[1]);
		msg.pid = inner;	/* as this (outer) namespace sees it */
		if (read(ip[0], &msg.id, sizeof(msg.id)) != sizeof(msg.id))
			msg.id = 0;
		if (write(ready[1], &msg, sizeof(msg)) != sizeof(msg))
			_exit(106);
		_exit(sx_reap(inner) & 0xff);
	}
	close(ready[1]);
	close(go[0]);
	{
		struct { __s64 pid; __u64 id; } msg = { 0, 0 };

		ASSERT_EQ(sizeof(msg), read(ready[0], &msg, sizeof(msg)));
		inner_outer = (pid_t)msg.pid;
		inner_id = msg.id;
	}
	ASSERT_NE(0, inner_id) TH_LOG("the inner child failed its checks");
	ASSERT_EQ(0, sx_peers_find(self->fd, inner_id, &e));
	EXPECT_EQ(inner_outer, e.pid);
	EXPECT_LT(1, e.pid);
	ASSERT_EQ(0, sx_peers_find(self->fd, mine, &e));
	EXPECT_EQ(getpid(), e.pid);
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(mid));
	EXPECT_EQ(0, sx_detach(self->fd));
	close(ready[0]);
	close(go[1]);
}

/* ------------------------------------------------------------------ */
/* Walks during attach/detach churn and deaths */

#define CHURNERS	2
#define CHURN_ROUNDS	300

/* ATTACH and DETACH @rounds times; every third round dies attached. */
static int churn_peers(int fd, int rounds)
{
	int i;

	for (i = 0; i < rounds; i++) {
		if (i % 3 == 2) {
			pid_t pid = fork();

			if (pid < 0)
				return 10;
			if (pid == 0)	/* dies attached */
				_exit(sx_attach(fd, NULL) ? 1 : 0);
			if (sx_reap(pid))
				return 11;
			continue;
		}
		if (sx_attach(fd, NULL))
			return 12;
		if (sx_detach(fd))
			return 13;
	}
	return 0;
}

TEST_F(peers, walks_survive_attach_detach_churn)
{
	struct shmipc_peer_entry all[256];
	pid_t kids[CHURNERS], stay;
	__u64 me, other;
	int walks = 0, k, i, n;
	bool running = true;

	ASSERT_EQ(0, sx_attach(self->fd, &me));
	stay = fork_sleeper(self->fd, &other);
	ASSERT_LT(0, stay);
	for (k = 0; k < CHURNERS; k++) {
		kids[k] = sx_fork();
		ASSERT_LE(0, kids[k]);
		if (kids[k] == 0)
			_exit(churn_peers(self->fd, CHURN_ROUNDS));
	}
	while (running || walks < 5) {
		int seen_me = 0, seen_other = 0;

		n = sx_walk(self->fd, SHMIPC_IOC_PEERS, all, 256,
			    (__u32)(walks % 3 + 1));
		ASSERT_LE(2, n) TH_LOG("walk %d: %d", walks, n);
		ASSERT_GE(256, n);
		for (i = 0; i < n; i++) {
			seen_me += all[i].peer_id == me;
			seen_other += all[i].peer_id == other;
		}
		ASSERT_EQ(1, seen_me) TH_LOG("walk %d", walks);
		ASSERT_EQ(1, seen_other) TH_LOG("walk %d", walks);
		walks++;
		running = false;
		for (k = 0; k < CHURNERS; k++)
			running |= !sx_exited(kids[k]);
	}
	for (k = 0; k < CHURNERS; k++) {
		EXPECT_EQ(0, sx_reap(kids[k]));
	}
	ASSERT_TRUE(sx_wait_peers(self->fd, 2, 0));
	EXPECT_EQ(2, sx_walk(self->fd, SHMIPC_IOC_PEERS, all, 256, 1));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(stay));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_HARNESS_MAIN
