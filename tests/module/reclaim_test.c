// SPDX-License-Identifier: GPL-2.0
/*
 * Binder's rule: a dead peer that owned words stays *marked* (INFO
 * nr_dead) until someone repairs its words and calls RECLAIM, and a
 * region fd opened meanwhile still reads its DEATH, flagged
 * SHMIPC_EVENT_REPLAY.  RECLAIM drops it; its errors; a dead peer that
 * owned nothing is not kept.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define REGION_SIZE	4096

FIXTURE(reclaim) {
	struct sx_region r;
	bool persistent;
};

FIXTURE_SETUP(reclaim)
{
	ASSERT_EQ(0, geteuid());
	ASSERT_EQ(0, sx_region_setup(&self->r, "reclaim", REGION_SIZE,
				     REGION_SIZE));
}

FIXTURE_TEARDOWN(reclaim)
{
	if (self->persistent)
		sx_unlink(self->r.dev, self->r.name);
	sx_region_teardown(&self->r);
}

/*
 * A peer of @fd that owns @n words (from offset 0) and is SIGKILLed;
 * returns once its death is processed (@marked dead peers in all), with
 * its pid and id.  0 or -1.
 */
static int owner_dies(int fd, int n, int marked, pid_t *pid, __u64 *id)
{
	static const __u64 words[] = { 0, 4, 8, 12 };

	if (n > (int)ARRAY_SIZE(words))
		return -1;
	*pid = sx_fork_owner(fd, words, n, NULL, 0, id);
	if (*pid < 0 || sx_kill_reap(*pid) != 128 + SIGKILL)
		return -1;
	return sx_wait_peers(fd, -1, marked) ? 0 : -1;
}

/* The DEATH of @id among the events of @fd (all drained); 0 or -ENOENT. */
static int find_death(int fd, __u64 id, struct shmipc_event *out, int *n)
{
	struct shmipc_event ev[32];
	int i, found = -ENOENT;

	*n = sx_drain_events(fd, ev, 32);
	for (i = 0; i < *n && i < 32; i++) {
		if (ev[i].type == SHMIPC_EVENT_DEATH && ev[i].peer_id == id) {
			*out = ev[i];
			found = 0;
		}
	}
	return found;
}

TEST_F(reclaim, marked_death_is_replayed_to_new_fds)
{
	struct shmipc_event orig, ev[4];
	struct shmipc_info info;
	int late, ro, n;
	pid_t pid;
	__u64 id;

	ASSERT_EQ(0, owner_dies(self->r.fd, 2, 1, &pid, &id));
	ASSERT_EQ(0, sx_info(self->r.fd, &info));
	EXPECT_EQ(0, info.nr_peers);
	EXPECT_EQ(1, info.nr_dead);
	/* the fd that was there saw it live, no replay flag */
	ASSERT_EQ(0, find_death(self->r.fd, id, &orig, &n));
	EXPECT_EQ(0, orig.flags);
	EXPECT_EQ(pid, orig.pid);

	/* an fd opened afterwards learns it at once */
	late = sx_open(self->r.dev, self->r.name, 0);
	ASSERT_LE(0, late);
	EXPECT_TRUE(sx_poll(late, POLLIN, 0) & POLLIN);
	ASSERT_EQ(1, sx_drain_events(late, ev, 4));
	EXPECT_EQ(SHMIPC_EVENT_DEATH, ev[0].type);
	EXPECT_EQ(SHMIPC_EVENT_REPLAY, ev[0].flags);
	EXPECT_EQ(id, ev[0].peer_id);
	EXPECT_EQ(pid, ev[0].pid);
	EXPECT_EQ(orig.seq, ev[0].seq);
	EXPECT_EQ(orig.status, ev[0].status);
	EXPECT_TRUE(WIFSIGNALED(ev[0].status));
	EXPECT_EQ(SIGKILL, WTERMSIG(ev[0].status));
	/* once */
	EXPECT_EQ(0, sx_poll(late, POLLIN, 0));
	/* a read-only fd too */
	ro = sx_open(self->r.dev, self->r.name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, ro);
	ASSERT_EQ(1, sx_drain_events(ro, ev, 4));
	EXPECT_EQ(SHMIPC_EVENT_REPLAY, ev[0].flags);
	EXPECT_EQ(id, ev[0].peer_id);
	/* and it stays marked */
	EXPECT_EQ(1, sx_nr_dead(self->r.fd));
	EXPECT_EQ(0, sx_reclaim(self->r.fd, id));
	close(ro);
	close(late);
}

TEST_F(reclaim, reclaim_drops_the_mark)
{
	struct sx_dbg_peer dp;
	struct shmipc_event ev;
	int late;
	pid_t pid;
	__u64 id;

	ASSERT_EQ(0, owner_dies(self->r.fd, 1, 1, &pid, &id));
	ASSERT_EQ(0, sx_dbg_find_peer(id, &dp));
	EXPECT_STREQ("dead", dp.state);
	/* the survivor repairs the word, then reclaims */
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->r.w[0]);
	self->r.w[0] = 0;
	ASSERT_EQ(0, sx_reclaim(self->r.fd, id));
	EXPECT_EQ(0, sx_nr_dead(self->r.fd));
	EXPECT_EQ(0, sx_nr_peers(self->r.fd));
	EXPECT_EQ(-ENOENT, sx_dbg_find_peer(id, NULL));
	EXPECT_EQ(0, self->r.w[0]);
	/* later opens get no replay */
	late = sx_open(self->r.dev, self->r.name, 0);
	ASSERT_LE(0, late);
	EXPECT_EQ(0, sx_poll(late, POLLIN, 0));
	ASSERT_EQ(0, fcntl(late, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, sx_read_events(late, &ev, 1));
	close(late);
	/* reclaimed once only */
	EXPECT_EQ(-ESRCH, sx_reclaim(self->r.fd, id));
}

TEST_F(reclaim, reclaim_errors)
{
	struct shmipc_reclaim r;
	__u64 mine, left, dead;
	pid_t pid;
	int ro, st;

	/* live: this process */
	ASSERT_EQ(0, sx_attach(self->r.fd, &mine));
	EXPECT_EQ(-EBUSY, sx_reclaim(self->r.fd, mine));
	/* unknown */
	EXPECT_EQ(-ESRCH, sx_reclaim(self->r.fd, ~0ULL));
	EXPECT_EQ(-ESRCH, sx_reclaim(self->r.fd, mine + 1000000));
	/* left cleanly */
	pid = sx_fork_peer(self->r.fd, &left);
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sx_errcode(sx_detach(self->r.fd)));
	ASSERT_EQ(0, sx_reap(pid));
	EXPECT_EQ(-ESRCH, sx_reclaim(self->r.fd, left));

	/* dead and marked: not through a read-only fd, not with reserved */
	ASSERT_EQ(0, owner_dies(self->r.fd, 1, 1, &pid, &dead));
	ro = sx_open(self->r.dev, self->r.name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, ro);
	st = sx_open(self->r.dev, self->r.name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, st);
	EXPECT_EQ(-EBADF, sx_reclaim(ro, dead));
	EXPECT_EQ(-EBADF, sx_reclaim(st, dead));
	memset(&r, 0, sizeof(r));
	r.peer_id = dead;
	r.reserved = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->r.fd, SHMIPC_IOC_RECLAIM, &r));
	EXPECT_EQ(-ENOTTY, sx_reclaim(self->r.dev, dead));
	EXPECT_EQ(1, sx_nr_dead(self->r.fd));
	/* any writable fd may reclaim, attached or not */
	EXPECT_EQ(0, sx_detach(self->r.fd));
	EXPECT_EQ(0, sx_reclaim(self->r.fd, dead));
	EXPECT_EQ(0, sx_nr_dead(self->r.fd));
	close(st);
	close(ro);
}

/* A dead peer that owns nothing at its death is not kept: no replay. */
TEST_F(reclaim, unmarked_dead_peer_not_kept)
{
	static const __u64 own[] = { 0 };
	struct shmipc_event ev;
	pid_t pid, pid2;
	__u64 id, id2;
	int late;

	ASSERT_EQ(0, owner_dies(self->r.fd, 0, 0, &pid, &id));
	ASSERT_EQ(0, sx_await_event(self->r.fd, SHMIPC_EVENT_DEATH, id, &ev));
	/* one that owned a word and released it */
	pid2 = sx_fork_owner(self->r.fd, own, 1, own, 1, &id2);
	ASSERT_LE(0, pid2);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid2));
	ASSERT_EQ(0, sx_await_event(self->r.fd, SHMIPC_EVENT_DEATH, id2, &ev));

	EXPECT_EQ(0, sx_nr_dead(self->r.fd));
	EXPECT_EQ(0, sx_nr_peers(self->r.fd));
	EXPECT_EQ(-ENOENT, sx_dbg_find_peer(id, NULL));
	EXPECT_EQ(-ENOENT, sx_dbg_find_peer(id2, NULL));
	EXPECT_EQ(0, self->r.w[0]);
	late = sx_open(self->r.dev, self->r.name, 0);
	ASSERT_LE(0, late);
	EXPECT_EQ(0, sx_poll(late, POLLIN, 0));
	close(late);
	EXPECT_EQ(-ESRCH, sx_reclaim(self->r.fd, id));
}

/* Several marked peers: each replayed once, RECLAIM drops exactly one. */
TEST_F(reclaim, several_marked_peers)
{
	struct shmipc_event ev[8];
	__u64 id[3];
	pid_t pid[3];
	int late, n, i, j, seen;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, owner_dies(self->r.fd, 1, i + 1, &pid[i], &id[i]));
	}
	late = sx_open(self->r.dev, self->r.name, 0);
	ASSERT_LE(0, late);
	n = sx_drain_events(late, ev, 8);
	ASSERT_EQ(3, n);
	for (i = 0; i < 3; i++) {
		seen = 0;
		for (j = 0; j < n; j++) {
			if (ev[j].peer_id != id[i])
				continue;
			seen++;
			EXPECT_EQ(SHMIPC_EVENT_DEATH, ev[j].type);
			EXPECT_EQ(SHMIPC_EVENT_REPLAY, ev[j].flags);
			EXPECT_EQ(pid[i], ev[j].pid);
		}
		EXPECT_EQ(1, seen) TH_LOG("peer %d", i);
	}
	close(late);

	ASSERT_EQ(0, sx_reclaim(self->r.fd, id[1]));
	EXPECT_EQ(2, sx_nr_dead(self->r.fd));
	late = sx_open(self->r.dev, self->r.name, 0);
	ASSERT_LE(0, late);
	n = sx_drain_events(late, ev, 8);
	ASSERT_EQ(2, n);
	EXPECT_NE(id[1], ev[0].peer_id);
	EXPECT_NE(id[1], ev[1].peer_id);
	close(late);
	EXPECT_EQ(0, sx_reclaim(self->r.fd, id[0]));
	EXPECT_EQ(0, sx_reclaim(self->r.fd, id[2]));
	EXPECT_EQ(0, sx_nr_dead(self->r.fd));
}

/*
 * A persistent region keeps its marked dead peers with no fd open: the
 * next process to open it learns of the death.
 */
TEST_F(reclaim, mark_outlives_every_fd_of_a_persistent_region)
{
	struct shmipc_event ev[4];
	pid_t pid;
	__u64 id;
	int fd;

	munmap((void *)self->r.w, REGION_SIZE);
	self->r.w = MAP_FAILED;
	close(self->r.fd);
	self->r.fd = -1;
	sx_unique_name(self->r.name, "reclaim-p");
	fd = sx_create(self->r.dev, self->r.name, REGION_SIZE, 0600,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	self->persistent = true;
	ASSERT_EQ(0, owner_dies(fd, 1, 1, &pid, &id));
	close(fd);
	ASSERT_EQ(1, sx_dbg_count_name(self->r.name));

	self->r.fd = sx_open(self->r.dev, self->r.name, 0);
	ASSERT_LE(0, self->r.fd);
	EXPECT_EQ(1, sx_nr_dead(self->r.fd));
	ASSERT_EQ(1, sx_drain_events(self->r.fd, ev, 4));
	EXPECT_EQ(SHMIPC_EVENT_DEATH, ev[0].type);
	EXPECT_EQ(SHMIPC_EVENT_REPLAY, ev[0].flags);
	EXPECT_EQ(id, ev[0].peer_id);
	EXPECT_EQ(pid, ev[0].pid);
	EXPECT_EQ(0, sx_reclaim(self->r.fd, id));
}

TEST_HARNESS_MAIN
