// SPDX-License-Identifier: GPL-2.0
/*
 * Owned words: OWN registers a word of the caller's peer; when that peer
 * dies the kernel ORs SHMIPC_OWNER_DIED (bit 31) into each of its owned
 * words and wakes all their waiters with -EOWNERDEAD, even waiters that
 * name another peer.  Words not owned, released, or owned by a peer that
 * DETACHed cleanly are untouched.  And every error of OWN.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define REGION_SIZE	(3 * 4096)
#define UNTOUCHED	(2 * 4096 + 100)	/* a word of a page never used */

FIXTURE(owned) {
	int dev;
	int fd;
	volatile __u32 *w;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(owned)
{
	ASSERT_EQ(0, geteuid());
	self->w = MAP_FAILED;
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	sx_unique_name(self->name, "owned");
	self->fd = sx_create(self->dev, self->name, REGION_SIZE, 0600,
			     SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->fd);
	/* the first two pages only: the third is never touched from here */
	self->w = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->w);
}

FIXTURE_TEARDOWN(owned)
{
	if (self->w != MAP_FAILED)
		munmap((void *)self->w, 2 * 4096);
	close(self->fd);
	close(self->dev);
}

/*
 * Fork a peer that owns the words at @offsets (then releases those at
 * @released), says so, and sleeps.  Returns its pid, or -1.
 */
static pid_t fork_owner(int fd, const __u64 *offsets, int n,
			const __u64 *released, int nrel, __u64 *id)
{
	int done[2], i;
	pid_t pid;

	if (pipe2(done, O_CLOEXEC))
		return -1;
	pid = sx_fork_peer(fd, id);
	if (pid == 0) {
		close(done[0]);
		for (i = 0; i < n; i++)
			if (sx_own(fd, offsets[i]))
				_exit(100 + i);
		for (i = 0; i < nrel; i++)
			if (sx_release(fd, released[i]))
				_exit(150 + i);
		sx_signal_fd(done[1]);
		pause();
		_exit(199);
	}
	close(done[1]);
	if (pid > 0 && sx_await_fd(done[0])) {
		sx_reap(pid);
		pid = -1;
	}
	close(done[0]);
	return pid;
}

TEST_F(owned, own_not_attached_enoent)
{
	EXPECT_EQ(-ENOENT, sx_own(self->fd, 0));
	EXPECT_EQ(-ENOENT, sx_release(self->fd, 0));
}

TEST_F(owned, own_bad_offset_einval)
{
	const __u64 bad[] = { 1, 2, 3, 4097, REGION_SIZE, REGION_SIZE - 2,
			      REGION_SIZE + 4, 1ULL << 40, ~0ULL, ~3ULL };
	__u64 id;
	size_t i;

	ASSERT_EQ(0, sx_attach(self->fd, &id));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, sx_own(self->fd, bad[i]))
			TH_LOG("offset %llu", (unsigned long long)bad[i]);
		EXPECT_EQ(-EINVAL, sx_release(self->fd, bad[i]))
			TH_LOG("offset %llu", (unsigned long long)bad[i]);
	}
	/* the first and last words are fine */
	EXPECT_EQ(0, sx_own(self->fd, 0));
	EXPECT_EQ(0, sx_own(self->fd, REGION_SIZE - 4));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(owned, own_bad_flags_or_reserved_einval)
{
	struct shmipc_own o;
	__u64 id;

	ASSERT_EQ(0, sx_attach(self->fd, &id));
	memset(&o, 0, sizeof(o));
	o.flags = 0x2;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_OWN, &o));
	o.flags = SHMIPC_OWN_RELEASE | 0x80000000;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_OWN, &o));
	o.flags = 0;
	o.reserved = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_OWN, &o));
	o.reserved = 0;
	EXPECT_EQ(0, sx_ioctl(self->fd, SHMIPC_IOC_OWN, &o));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(owned, own_twice_eexist_release_enoent)
{
	__u64 id;

	ASSERT_EQ(0, sx_attach(self->fd, &id));
	EXPECT_EQ(0, sx_own(self->fd, 8));
	EXPECT_EQ(-EEXIST, sx_own(self->fd, 8));
	EXPECT_EQ(-ENOENT, sx_release(self->fd, 12));
	EXPECT_EQ(0, sx_release(self->fd, 8));
	EXPECT_EQ(-ENOENT, sx_release(self->fd, 8));
	EXPECT_EQ(0, sx_own(self->fd, 8));
	EXPECT_EQ(0, sx_detach(self->fd));
	/* DETACH drops what it owned: a new peer starts with nothing */
	ASSERT_EQ(0, sx_attach(self->fd, &id));
	EXPECT_EQ(-ENOENT, sx_release(self->fd, 8));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(owned, own_more_than_max_enospc)
{
	__u64 id;
	int i;

	ASSERT_EQ(0, sx_attach(self->fd, &id));
	for (i = 0; i < SHMIPC_OWNED_MAX; i++) {
		ASSERT_EQ(0, sx_own(self->fd, (__u64)i * 4)) TH_LOG("word %d", i);
	}
	EXPECT_EQ(-ENOSPC, sx_own(self->fd, SHMIPC_OWNED_MAX * 4));
	EXPECT_EQ(-ENOSPC, sx_own(self->fd, REGION_SIZE - 4));
	/* already owned is still EEXIST when full */
	EXPECT_EQ(-EEXIST, sx_own(self->fd, 0));
	/* a release makes room for exactly one */
	EXPECT_EQ(0, sx_release(self->fd, 40));
	EXPECT_EQ(0, sx_own(self->fd, REGION_SIZE - 4));
	EXPECT_EQ(-ENOSPC, sx_own(self->fd, 40));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(owned, own_needs_a_writable_fd)
{
	int ro, st;
	__u64 id;

	ro = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, ro);
	st = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, st);
	ASSERT_EQ(0, sx_attach(ro, &id));
	EXPECT_EQ(-EBADF, sx_own(ro, 0));
	EXPECT_EQ(-EBADF, sx_own(st, 0));
	EXPECT_EQ(0, sx_own(self->fd, 0));
	EXPECT_EQ(-EBADF, sx_release(ro, 0));
	EXPECT_EQ(0, sx_release(self->fd, 0));
	EXPECT_EQ(-ENOTTY, sx_own(self->dev, 0));
	EXPECT_EQ(0, sx_detach(ro));
	close(st);
	close(ro);
}

/*
 * Death: bit 31 is ORed into the previous value of every owned word
 * (wherever it is, even in a page nobody touched), nothing else changes.
 */
TEST_F(owned, death_marks_owned_words_only)
{
	const __u64 own[] = { 4, 8, 16, 20, 4096 + 8, UNTOUCHED };
	const __u64 rel[] = { 16 };
	volatile __u32 *third;
	__u64 id;
	pid_t pid;

	self->w[1] = 5;			/* owned */
	self->w[2] = 0x7fffffff;	/* owned */
	self->w[3] = 9;			/* not owned */
	self->w[4] = 11;		/* owned, then released */
	self->w[5] = 0x80000001;	/* owned, already has the bit */
	self->w[1024 + 2] = 0;		/* owned, second page */
	pid = fork_owner(self->fd, own, ARRAY_SIZE(own), rel, 1, &id);
	ASSERT_LE(0, pid);
	EXPECT_EQ(5, self->w[1]);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	ASSERT_TRUE(sx_wait_peers(self->fd, 0, 1));

	EXPECT_EQ(5 | SHMIPC_OWNER_DIED, self->w[1]);
	EXPECT_EQ(0xffffffff, self->w[2]);
	EXPECT_EQ(9, self->w[3]);
	EXPECT_EQ(11, self->w[4]);
	EXPECT_EQ(0x80000001, self->w[5]);
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->w[1024 + 2]);
	EXPECT_EQ(0, self->w[0]);
	EXPECT_EQ(0, self->w[6]);
	third = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 2 * 4096);
	ASSERT_NE(MAP_FAILED, third);
	EXPECT_EQ(SHMIPC_OWNER_DIED, third[(UNTOUCHED - 2 * 4096) / 4]);
	EXPECT_EQ(0, third[0]);
	munmap((void *)third, 4096);
	EXPECT_EQ(0, sx_reclaim(self->fd, id));
}

/* A clean DETACH marks nothing and keeps nothing. */
TEST_F(owned, detach_marks_nothing)
{
	const __u64 own[] = { 4, 8 };
	__u64 id;
	pid_t pid;

	self->w[1] = 1;
	pid = sx_fork_peer(self->fd, &id);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (sx_own(self->fd, own[0]) || sx_own(self->fd, own[1]))
			_exit(100);
		_exit(sx_errcode(sx_detach(self->fd)));
	}
	EXPECT_EQ(0, sx_reap(pid));
	ASSERT_EQ(0, sx_await_event(self->fd, SHMIPC_EVENT_LEAVE, id, NULL));
	EXPECT_EQ(1, self->w[1]);
	EXPECT_EQ(0, self->w[2]);
	EXPECT_EQ(0, sx_nr_dead(self->fd));
	EXPECT_EQ(0, sx_nr_peers(self->fd));
}

/* Only the dead peer's words: another peer's owned words stay as they are. */
TEST_F(owned, other_peers_words_untouched)
{
	const __u64 own_a[] = { 4 }, own_b[] = { 8 };
	pid_t a, b;
	__u64 ida, idb;

	a = fork_owner(self->fd, own_a, 1, NULL, 0, &ida);
	ASSERT_LE(0, a);
	b = fork_owner(self->fd, own_b, 1, NULL, 0, &idb);
	ASSERT_LE(0, b);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(b));
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 1));
	EXPECT_EQ(0, self->w[1]);
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->w[2]);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(a));
	ASSERT_TRUE(sx_wait_peers(self->fd, 0, 2));
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->w[1]);
	EXPECT_EQ(0, sx_reclaim(self->fd, ida));
	EXPECT_EQ(0, sx_reclaim(self->fd, idb));
}

/*
 * Waiters of an owned word wake with -EOWNERDEAD at its owner's death,
 * even those naming another (living) peer; waiters of other words that
 * name that living peer sleep on.
 */
TEST_F(owned, death_wakes_owned_word_waiters)
{
	const __u64 own[] = { 4 };
	pid_t a, b, w_named_b, w_any, w_v, w_other;
	int go[2];
	__u64 ida, idb;

	self->w[1] = 77;
	a = fork_owner(self->fd, own, 1, NULL, 0, &ida);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	b = sx_fork_peer(self->fd, &idb);
	ASSERT_LE(0, b);
	if (b == 0) {
		close(go[1]);
		sx_await_fd(go[0]);
		_exit(0);
	}
	close(go[0]);

	w_named_b = sx_fork();
	ASSERT_LE(0, w_named_b);
	if (w_named_b == 0)
		_exit(sx_errcode(sx_wait_peer(self->fd, 4, 77,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), idb)));
	w_any = sx_fork();
	ASSERT_LE(0, w_any);
	if (w_any == 0)
		_exit(sx_errcode(sx_wait_peer(self->fd, 4, 77,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), 0)));
	w_v = sx_fork();
	ASSERT_LE(0, w_v);
	if (w_v == 0) {
		struct shmipc_waitv_entry e[2];

		sx_entry(&e[0], self->fd, 12, 0);
		e[0].peer_id = idb;
		sx_entry(&e[1], self->fd, 4, 77);
		e[1].peer_id = idb;
		_exit(sx_errcode(sx_waitv(self->fd, e, 2,
				 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	}
	w_other = sx_fork();
	ASSERT_LE(0, w_other);
	if (w_other == 0)
		_exit(sx_errcode(sx_wait_peer(self->fd, 8, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), idb)));
	ASSERT_TRUE(sx_wait_waiters(self->fd, 5));

	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(a));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_named_b));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_any));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_v));
	ASSERT_TRUE(sx_wait_waiters(self->fd, 1));
	EXPECT_FALSE(sx_exited(w_other));
	EXPECT_EQ(77 | SHMIPC_OWNER_DIED, self->w[1]);

	/* the word changed: the old value no longer waits */
	EXPECT_EQ(-EAGAIN, sx_wait(self->fd, 4, 77, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(-ETIMEDOUT, sx_wait(self->fd, 4, 77 | SHMIPC_OWNER_DIED, 0));

	/* the living peer's waiter ends by a WAKE, then B leaves */
	EXPECT_EQ(1, sx_wake(self->fd, 8, 1));
	EXPECT_EQ(0, sx_reap(w_other));
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(b));
	close(go[1]);
	EXPECT_EQ(0, sx_reclaim(self->fd, ida));
}

/* A released word's waiters are not woken by the death. */
TEST_F(owned, released_word_waiters_sleep_on)
{
	const __u64 own[] = { 4, 8 }, rel[] = { 8 };
	pid_t a, w_rel;
	__u64 ida, mine;

	a = fork_owner(self->fd, own, 2, rel, 1, &ida);
	ASSERT_LE(0, a);
	/*
	 * A waiter naming no peer wakes at any death; one naming a live
	 * peer (this process) wakes only if its word was owned by the dead.
	 */
	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	w_rel = sx_fork();
	ASSERT_LE(0, w_rel);
	if (w_rel == 0)
		_exit(sx_errcode(sx_wait_peer(self->fd, 8, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), mine)));
	ASSERT_TRUE(sx_wait_waiters(self->fd, 1));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(a));
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 1));
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->w[1]);
	EXPECT_EQ(0, self->w[2]);
	sx_sleep_ms(100);
	EXPECT_FALSE(sx_exited(w_rel));
	EXPECT_EQ(1, sx_nr_waiters(self->fd));
	EXPECT_EQ(1, sx_wake(self->fd, 8, 1));
	EXPECT_EQ(0, sx_reap(w_rel));
	EXPECT_EQ(0, sx_detach(self->fd));
	EXPECT_EQ(0, sx_reclaim(self->fd, ida));
}

TEST_HARNESS_MAIN
