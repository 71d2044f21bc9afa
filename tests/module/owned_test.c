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
	struct sx_region r;
};

FIXTURE_SETUP(owned)
{
	ASSERT_EQ(0, geteuid());
	/* the first two pages only: the third is never touched from here */
	ASSERT_EQ(0, sx_region_setup(&self->r, "owned", REGION_SIZE,
				     2 * 4096));
}

FIXTURE_TEARDOWN(owned)
{
	sx_region_teardown(&self->r);
}

TEST_F(owned, own_not_attached_enoent)
{
	EXPECT_EQ(-ENOENT, sx_own(self->r.fd, 0));
	EXPECT_EQ(-ENOENT, sx_release(self->r.fd, 0));
}

TEST_F(owned, own_bad_offset_einval)
{
	const __u64 bad[] = { 1, 2, 3, 4097, REGION_SIZE, REGION_SIZE - 2,
			      REGION_SIZE + 4, 1ULL << 40, ~0ULL, ~3ULL };
	__u64 id;
	size_t i;

	ASSERT_EQ(0, sx_attach(self->r.fd, &id));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, sx_own(self->r.fd, bad[i]))
			TH_LOG("offset %llu", (unsigned long long)bad[i]);
		EXPECT_EQ(-EINVAL, sx_release(self->r.fd, bad[i]))
			TH_LOG("offset %llu", (unsigned long long)bad[i]);
	}
	/* the first and last words are fine */
	EXPECT_EQ(0, sx_own(self->r.fd, 0));
	EXPECT_EQ(0, sx_own(self->r.fd, REGION_SIZE - 4));
	EXPECT_EQ(0, sx_detach(self->r.fd));
}

TEST_F(owned, own_bad_flags_or_reserved_einval)
{
	struct shmipc_own o;
	__u64 id;

	ASSERT_EQ(0, sx_attach(self->r.fd, &id));
	memset(&o, 0, sizeof(o));
	o.flags = 0x2;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->r.fd, SHMIPC_IOC_OWN, &o));
	o.flags = SHMIPC_OWN_RELEASE | 0x80000000;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->r.fd, SHMIPC_IOC_OWN, &o));
	o.flags = 0;
	o.reserved = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->r.fd, SHMIPC_IOC_OWN, &o));
	o.reserved = 0;
	EXPECT_EQ(0, sx_ioctl(self->r.fd, SHMIPC_IOC_OWN, &o));
	EXPECT_EQ(0, sx_detach(self->r.fd));
}

TEST_F(owned, own_twice_eexist_release_enoent)
{
	__u64 id;

	ASSERT_EQ(0, sx_attach(self->r.fd, &id));
	EXPECT_EQ(0, sx_own(self->r.fd, 8));
	EXPECT_EQ(-EEXIST, sx_own(self->r.fd, 8));
	EXPECT_EQ(-ENOENT, sx_release(self->r.fd, 12));
	EXPECT_EQ(0, sx_release(self->r.fd, 8));
	EXPECT_EQ(-ENOENT, sx_release(self->r.fd, 8));
	EXPECT_EQ(0, sx_own(self->r.fd, 8));
	EXPECT_EQ(0, sx_detach(self->r.fd));
	/* DETACH drops what it owned: a new peer starts with nothing */
	ASSERT_EQ(0, sx_attach(self->r.fd, &id));
	EXPECT_EQ(-ENOENT, sx_release(self->r.fd, 8));
	EXPECT_EQ(0, sx_detach(self->r.fd));
}

TEST_F(owned, own_more_than_max_enospc)
{
	__u64 id;
	int i;

	ASSERT_EQ(0, sx_attach(self->r.fd, &id));
	for (i = 0; i < SHMIPC_OWNED_MAX; i++) {
		ASSERT_EQ(0, sx_own(self->r.fd, (__u64)i * 4))
			TH_LOG("word %d", i);
	}
	EXPECT_EQ(-ENOSPC, sx_own(self->r.fd, SHMIPC_OWNED_MAX * 4));
	EXPECT_EQ(-ENOSPC, sx_own(self->r.fd, REGION_SIZE - 4));
	/* already owned is still EEXIST when full */
	EXPECT_EQ(-EEXIST, sx_own(self->r.fd, 0));
	/* a release makes room for exactly one */
	EXPECT_EQ(0, sx_release(self->r.fd, 40));
	EXPECT_EQ(0, sx_own(self->r.fd, REGION_SIZE - 4));
	EXPECT_EQ(-ENOSPC, sx_own(self->r.fd, 40));
	EXPECT_EQ(0, sx_detach(self->r.fd));
}

TEST_F(owned, own_needs_a_writable_fd)
{
	int ro, st;
	__u64 id;

	ro = sx_open(self->r.dev, self->r.name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, ro);
	st = sx_open(self->r.dev, self->r.name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, st);
	ASSERT_EQ(0, sx_attach(ro, &id));
	EXPECT_EQ(-EBADF, sx_own(ro, 0));
	EXPECT_EQ(-EBADF, sx_own(st, 0));
	EXPECT_EQ(0, sx_own(self->r.fd, 0));
	EXPECT_EQ(-EBADF, sx_release(ro, 0));
	EXPECT_EQ(0, sx_release(self->r.fd, 0));
	EXPECT_EQ(-ENOTTY, sx_own(self->r.dev, 0));
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

	self->r.w[1] = 5;			/* owned */
	self->r.w[2] = 0x7fffffff;	/* owned */
	self->r.w[3] = 9;			/* not owned */
	self->r.w[4] = 11;		/* owned, then released */
	self->r.w[5] = 0x80000001;	/* owned, already has the bit */
	self->r.w[1024 + 2] = 0;		/* owned, second page */
	pid = sx_fork_owner(self->r.fd, own, ARRAY_SIZE(own), rel, 1, &id);
	ASSERT_LE(0, pid);
	EXPECT_EQ(5, self->r.w[1]);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	ASSERT_TRUE(sx_wait_peers(self->r.fd, 0, 1));

	EXPECT_EQ(5 | SHMIPC_OWNER_DIED, self->r.w[1]);
	EXPECT_EQ(0xffffffff, self->r.w[2]);
	EXPECT_EQ(9, self->r.w[3]);
	EXPECT_EQ(11, self->r.w[4]);
	EXPECT_EQ(0x80000001, self->r.w[5]);
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->r.w[1024 + 2]);
	EXPECT_EQ(0, self->r.w[0]);
	EXPECT_EQ(0, self->r.w[6]);
	third = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->r.fd, 2 * 4096);
	ASSERT_NE(MAP_FAILED, third);
	EXPECT_EQ(SHMIPC_OWNER_DIED, third[(UNTOUCHED - 2 * 4096) / 4]);
	EXPECT_EQ(0, third[0]);
	munmap((void *)third, 4096);
	EXPECT_EQ(0, sx_reclaim(self->r.fd, id));
}

/* A clean DETACH marks nothing and keeps nothing. */
TEST_F(owned, detach_marks_nothing)
{
	const __u64 own[] = { 4, 8 };
	__u64 id;
	pid_t pid;

	self->r.w[1] = 1;
	pid = sx_fork_peer(self->r.fd, &id);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (sx_own(self->r.fd, own[0]) || sx_own(self->r.fd, own[1]))
			_exit(100);
		_exit(sx_errcode(sx_detach(self->r.fd)));
	}
	EXPECT_EQ(0, sx_reap(pid));
	ASSERT_EQ(0, sx_await_event(self->r.fd, SHMIPC_EVENT_LEAVE, id, NULL));
	EXPECT_EQ(1, self->r.w[1]);
	EXPECT_EQ(0, self->r.w[2]);
	EXPECT_EQ(0, sx_nr_dead(self->r.fd));
	EXPECT_EQ(0, sx_nr_peers(self->r.fd));
}

/* Only the dead peer's words: another peer's owned words stay as they are. */
TEST_F(owned, other_peers_words_untouched)
{
	const __u64 own_a[] = { 4 }, own_b[] = { 8 };
	pid_t a, b;
	__u64 ida, idb;

	a = sx_fork_owner(self->r.fd, own_a, 1, NULL, 0, &ida);
	ASSERT_LE(0, a);
	b = sx_fork_owner(self->r.fd, own_b, 1, NULL, 0, &idb);
	ASSERT_LE(0, b);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(b));
	ASSERT_TRUE(sx_wait_peers(self->r.fd, 1, 1));
	EXPECT_EQ(0, self->r.w[1]);
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->r.w[2]);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(a));
	ASSERT_TRUE(sx_wait_peers(self->r.fd, 0, 2));
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->r.w[1]);
	EXPECT_EQ(0, sx_reclaim(self->r.fd, ida));
	EXPECT_EQ(0, sx_reclaim(self->r.fd, idb));
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

	self->r.w[1] = 77;
	a = sx_fork_owner(self->r.fd, own, 1, NULL, 0, &ida);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	b = sx_fork_peer(self->r.fd, &idb);
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
		_exit(sx_errcode(sx_wait_peer(self->r.fd, 4, 77,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), idb)));
	w_any = sx_fork();
	ASSERT_LE(0, w_any);
	if (w_any == 0)
		_exit(sx_errcode(sx_wait_peer(self->r.fd, 4, 77,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), 0)));
	w_v = sx_fork();
	ASSERT_LE(0, w_v);
	if (w_v == 0) {
		struct shmipc_waitv_entry e[2];

		sx_entry(&e[0], self->r.fd, 12, 0);
		e[0].peer_id = idb;
		sx_entry(&e[1], self->r.fd, 4, 77);
		e[1].peer_id = idb;
		_exit(sx_errcode(sx_waitv(self->r.fd, e, 2,
				 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	}
	w_other = sx_fork();
	ASSERT_LE(0, w_other);
	if (w_other == 0)
		_exit(sx_errcode(sx_wait_peer(self->r.fd, 8, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), idb)));
	ASSERT_TRUE(sx_wait_waiters(self->r.fd, 5));

	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(a));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_named_b));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_any));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_v));
	ASSERT_TRUE(sx_wait_waiters(self->r.fd, 1));
	EXPECT_FALSE(sx_exited(w_other));
	EXPECT_EQ(77 | SHMIPC_OWNER_DIED, self->r.w[1]);

	/* the word changed: the old value no longer waits */
	EXPECT_EQ(-EAGAIN, sx_wait(self->r.fd, 4, 77, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(-ETIMEDOUT,
		  sx_wait(self->r.fd, 4, 77 | SHMIPC_OWNER_DIED, 0));

	/* the living peer's waiter ends by a WAKE, then B leaves */
	EXPECT_EQ(1, sx_wake(self->r.fd, 8, 1));
	EXPECT_EQ(0, sx_reap(w_other));
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(b));
	close(go[1]);
	EXPECT_EQ(0, sx_reclaim(self->r.fd, ida));
}

/* A released word's waiters are not woken by the death. */
TEST_F(owned, released_word_waiters_sleep_on)
{
	const __u64 own[] = { 4, 8 }, rel[] = { 8 };
	pid_t a, w_rel;
	__u64 ida, mine;

	a = sx_fork_owner(self->r.fd, own, 2, rel, 1, &ida);
	ASSERT_LE(0, a);
	/*
	 * A waiter naming no peer wakes at any death; one naming a live
	 * peer (this process) wakes only if its word was owned by the dead.
	 */
	ASSERT_EQ(0, sx_attach(self->r.fd, &mine));
	w_rel = sx_fork();
	ASSERT_LE(0, w_rel);
	if (w_rel == 0)
		_exit(sx_errcode(sx_wait_peer(self->r.fd, 8, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), mine)));
	ASSERT_TRUE(sx_wait_waiters(self->r.fd, 1));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(a));
	ASSERT_TRUE(sx_wait_peers(self->r.fd, 1, 1));
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->r.w[1]);
	EXPECT_EQ(0, self->r.w[2]);
	sx_sleep_ms(100);
	EXPECT_FALSE(sx_exited(w_rel));
	EXPECT_EQ(1, sx_nr_waiters(self->r.fd));
	EXPECT_EQ(1, sx_wake(self->r.fd, 8, 1));
	EXPECT_EQ(0, sx_reap(w_rel));
	EXPECT_EQ(0, sx_detach(self->r.fd));
	EXPECT_EQ(0, sx_reclaim(self->r.fd, ida));
}

TEST_HARNESS_MAIN
