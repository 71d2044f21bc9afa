// SPDX-License-Identifier: GPL-2.0
/*
 * WAIT, WAKE and WAITV: futex semantics on 32-bit words of a region.
 *
 * No test asserts on elapsed time (the VM runs under TCG): deadlines only
 * bound hangs, and "a child sleeps in WAIT" is observed through INFO's
 * nr_waiters, never assumed after a sleep.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "shmipc_test.h"

#define REGION_SIZE	(2 * 4096 + 8)	/* last valid word: REGION_SIZE - 4 */

FIXTURE(wait) {
	int dev;
	int fd;
	volatile __u32 *w;	/* the region, mapped read-write */
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(wait)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	sx_unique_name(self->name, "wait");
	self->fd = sx_create(self->dev, self->name, REGION_SIZE, 0600,
			     SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	self->w = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->w);
}

FIXTURE_TEARDOWN(wait)
{
	if (self->w != MAP_FAILED && self->w)
		munmap((void *)self->w, REGION_SIZE);
	close(self->fd);
	close(self->dev);
}

/*
 * A child that WAITs on (fd, offset, expected) until a generous deadline
 * and exits with 0 if woken (0), else sx_errcode() of the result.
 */
static pid_t fork_waiter(int fd, __u64 offset, __u32 expected)
{
	pid_t pid = sx_fork();

	if (pid == 0) {
		int ret = sx_wait(fd, offset, expected,
				  sx_deadline_ms(SX_CHILD_WAIT_MS));
		_exit(sx_errcode(ret));
	}
	return pid;
}

/* ------------------------------------------------------------------ */
/* argument checks */

/* WAIT and WAKE at each of the @n offsets @bad fail with -EINVAL. */
static void expect_bad_offsets(struct __test_metadata *_metadata, int fd,
			       const __u64 *bad, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		EXPECT_EQ(-EINVAL, sx_wait(fd, bad[i], 0, 0))
			TH_LOG("WAIT offset %llu", (unsigned long long)bad[i]);
		EXPECT_EQ(-EINVAL, sx_wake(fd, bad[i], 1))
			TH_LOG("WAKE offset %llu", (unsigned long long)bad[i]);
	}
}

TEST_F(wait, unaligned_offset_einval)
{
	const __u64 bad[] = { 1, 2, 3, 5, 4094, 4097, REGION_SIZE - 5 };

	expect_bad_offsets(_metadata, self->fd, bad, ARRAY_SIZE(bad));
}

TEST_F(wait, offset_out_of_range_einval)
{
	const __u64 bad[] = { REGION_SIZE, REGION_SIZE + 4, 3 * 4096,
			      1ULL << 32, 1ULL << 62, ~0ULL - 3 };

	expect_bad_offsets(_metadata, self->fd, bad, ARRAY_SIZE(bad));
	/* the last word is in range: a past deadline times out */
	EXPECT_EQ(-ETIMEDOUT, sx_wait(self->fd, REGION_SIZE - 4, 0, 0));
	EXPECT_EQ(0, sx_wake(self->fd, REGION_SIZE - 4, 1));
}

TEST_F(wait, flags_or_reserved_nonzero_einval)
{
	struct shmipc_wait wt;
	struct shmipc_wake wk;

	memset(&wt, 0, sizeof(wt));
	wt.flags = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_WAIT, &wt));
	wt.flags = 0x80000000;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_WAIT, &wt));
	wt.flags = 0;
	/* the old reserved field is now peer_id: an unknown peer */
	wt.peer_id = ~0ULL;
	EXPECT_EQ(-ESRCH, sx_ioctl(self->fd, SHMIPC_IOC_WAIT, &wt));

	memset(&wk, 0, sizeof(wk));
	wk.count = 1;
	wk.flags = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_WAKE, &wk));
	wk.flags = 0;
	wk.reserved = 1ULL << 63;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_WAKE, &wk));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
}

TEST_F(wait, mismatch_eagain)
{
	self->w[0] = 5;
	self->w[3] = 0xffffffff;
	EXPECT_EQ(-EAGAIN, sx_wait(self->fd, 0, 4, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(-EAGAIN, sx_wait(self->fd, 0, 0, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(-EAGAIN, sx_wait(self->fd, 12, 0x7fffffff,
				   SHMIPC_DEADLINE_NONE));
	/* the last word too */
	self->w[REGION_SIZE / 4 - 1] = 1;
	EXPECT_EQ(-EAGAIN, sx_wait(self->fd, REGION_SIZE - 4, 0,
				   SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
}

TEST_F(wait, deadline_in_past_etimedout)
{
	__u64 before, deadline;

	self->w[1] = 9;
	EXPECT_EQ(-ETIMEDOUT, sx_wait(self->fd, 4, 9, 0));
	EXPECT_EQ(-ETIMEDOUT, sx_wait(self->fd, 4, 9, 1));
	EXPECT_EQ(-ETIMEDOUT, sx_wait(self->fd, 4, 9, sx_now_ns() - 1));
	/* a short deadline in the future: never returns before it */
	before = sx_now_ns();
	deadline = before + 20 * 1000000ULL;
	EXPECT_EQ(-ETIMEDOUT, sx_wait(self->fd, 4, 9, deadline));
	EXPECT_LE(deadline, sx_now_ns());
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
}

TEST_F(wait, deadline_above_int64_max_einval)
{
	const __u64 bad[] = { (__u64)INT64_MAX + 1, 1ULL << 63 | 12345,
			      SHMIPC_DEADLINE_NONE - 1 };
	size_t i;

	/* the word matches: a module that ignored the check would sleep */
	self->w[0] = 0;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, sx_wait(self->fd, 0, 0, bad[i]))
			TH_LOG("deadline 0x%llx", (unsigned long long)bad[i]);
	}
	/* INT64_MAX itself is a valid (far) deadline: mismatch answers */
	self->w[0] = 1;
	EXPECT_EQ(-EAGAIN, sx_wait(self->fd, 0, 0, (__u64)INT64_MAX));
	EXPECT_EQ(-EAGAIN, sx_wait(self->fd, 0, 0, SHMIPC_DEADLINE_NONE));
}

TEST_F(wait, wake_nobody_returns_0)
{
	EXPECT_EQ(0, sx_wake(self->fd, 0, 1));
	EXPECT_EQ(0, sx_wake(self->fd, 4, 100));
	EXPECT_EQ(0, sx_wake(self->fd, REGION_SIZE - 4, SHMIPC_WAKE_ALL));
}

TEST_F(wait, wake_count_zero_einval)
{
	pid_t pid;

	EXPECT_EQ(-EINVAL, sx_wake(self->fd, 0, 0));
	/* even with a waiter, which stays asleep */
	pid = fork_waiter(self->fd, 0, 0);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(sx_wait_waiters(self->fd, 1));
	EXPECT_EQ(-EINVAL, sx_wake(self->fd, 0, 0));
	EXPECT_EQ(1, sx_nr_waiters(self->fd));
	EXPECT_EQ(1, sx_wake(self->fd, 0, 1));
	EXPECT_EQ(0, sx_reap(pid));
}

TEST_F(wait, region_need_not_be_mapped)
{
	int fd2;

	/* a second fd, never mapped, sees the words the first one wrote */
	fd2 = sx_open(self->dev, self->name, 0);
	ASSERT_LE(0, fd2);
	self->w[2] = 0x12345678;
	EXPECT_EQ(-EAGAIN, sx_wait(fd2, 8, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, sx_wait(fd2, 8, 0x12345678, 0));
	self->w[2] = 0;
	EXPECT_EQ(-ETIMEDOUT, sx_wait(fd2, 8, 0, 0));
	/* and a word on the second page */
	self->w[1024 + 1] = 77;
	EXPECT_EQ(-EAGAIN, sx_wait(fd2, 4096 + 4, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, sx_wait(fd2, 4096 + 4, 77, 0));
	close(fd2);
}

TEST_F(wait, stat_fd_wait_wake_waitv_ebadf)
{
	struct shmipc_waitv_entry e;
	int st;

	st = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, st);
	EXPECT_EQ(-EBADF, sx_wait(st, 0, 0, 0));
	EXPECT_EQ(-EBADF, sx_wait(st, 0, 1, 0));
	EXPECT_EQ(-EBADF, sx_wake(st, 0, 1));
	sx_entry(&e, st, 0, 0);
	EXPECT_EQ(-EBADF, sx_waitv(self->fd, &e, 1, 0));
	/* nor on a STAT fd with entries on a good one */
	sx_entry(&e, self->fd, 0, 1);
	EXPECT_EQ(-EBADF, sx_waitv(st, &e, 1, 0));
	close(st);
}

TEST_F(wait, rdonly_fd_can_wait_and_wake)
{
	int ro;
	pid_t pid;

	ro = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, ro);
	self->w[0] = 3;
	EXPECT_EQ(-EAGAIN, sx_wait(ro, 0, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, sx_wait(ro, 0, 3, 0));
	pid = fork_waiter(ro, 0, 3);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(sx_wait_waiters(self->fd, 1));
	self->w[0] = 4;
	EXPECT_EQ(1, sx_wake(ro, 0, 1));
	EXPECT_EQ(0, sx_reap(pid));
	close(ro);
}

/* ------------------------------------------------------------------ */
/* wake-ups between processes */

TEST_F(wait, wake_child_across_fork)
{
	struct sx_dbg_region r;
	pid_t pid;

	self->w[0] = 0;
	pid = fork_waiter(self->fd, 0, 0);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(sx_wait_waiters(self->fd, 1))
		TH_LOG("the child never slept in WAIT");
	/* introspection agrees */
	ASSERT_EQ(0, sx_dbg_find_fd(self->fd, &r));
	EXPECT_EQ(1, r.waiters);
	EXPECT_FALSE(sx_exited(pid));

	self->w[0] = 1;
	EXPECT_EQ(1, sx_wake(self->fd, 0, 1));
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
	ASSERT_EQ(0, sx_dbg_find_fd(self->fd, &r));
	EXPECT_EQ(0, r.waiters);
}

/*
 * Two children that share nothing but the name: each opens /dev/shmipc
 * and the region by itself, one waits, the other writes and wakes.
 */
TEST_F(wait, wake_between_unrelated_openers)
{
	pid_t waiter, waker;
	int probe;

	probe = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, probe);
	self->w[4] = 0;

	waiter = sx_fork();
	ASSERT_LE(0, waiter);
	if (waiter == 0) {
		int dev, fd;

		close(self->fd);
		close(self->dev);
		dev = sx_dev_open();
		if (dev < 0)
			_exit(100);
		fd = sx_open(dev, self->name, SHMIPC_OPEN_RDONLY);
		if (fd < 0)
			_exit(101);
		_exit(sx_errcode(sx_wait(fd, 16, 0,
					 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	}
	ASSERT_TRUE(sx_wait_waiters(probe, 1));

	waker = sx_fork();
	ASSERT_LE(0, waker);
	if (waker == 0) {
		volatile __u32 *p;
		int dev, fd, n;

		close(self->fd);
		close(self->dev);
		dev = sx_dev_open();
		if (dev < 0)
			_exit(100);
		fd = sx_open(dev, self->name, 0);
		if (fd < 0)
			_exit(101);
		p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			_exit(102);
		p[4] = 1;
		n = sx_wake(fd, 16, 1);
		_exit(n == 1 ? 0 : 110 + (n < 0 ? 0 : n));
	}
	EXPECT_EQ(0, sx_reap(waker));
	EXPECT_EQ(0, sx_reap(waiter));
	EXPECT_EQ(1, self->w[4]);
	close(probe);
}

TEST_F(wait, wake_count_wakes_exactly_that_many)
{
	pid_t pids[8];
	int i, exited, status;
	__u64 end;

	self->w[0] = 0;
	for (i = 0; i < 8; i++) {
		pids[i] = fork_waiter(self->fd, 0, 0);
		ASSERT_LE(0, pids[i]);
	}
	ASSERT_TRUE(sx_wait_waiters(self->fd, 8))
		TH_LOG("%d waiters", sx_nr_waiters(self->fd));

	EXPECT_EQ(3, sx_wake(self->fd, 0, 3));
	/* exactly three leave: reap them, the other five stay queued */
	exited = 0;
	end = sx_deadline_ms(SX_SOON_MS);
	while (exited < 3 && sx_now_ns() < end) {
		for (i = 0; i < 8; i++) {
			if (pids[i] > 0 &&
			    waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				EXPECT_TRUE(WIFEXITED(status));
				EXPECT_EQ(0, WEXITSTATUS(status));
				pids[i] = -1;
				exited++;
			}
		}
		usleep(1000);
	}
	EXPECT_EQ(3, exited);
	EXPECT_EQ(5, sx_nr_waiters(self->fd));
	for (i = 0; i < 8; i++)
		if (pids[i] > 0) {
			EXPECT_FALSE(sx_exited(pids[i]));
		}

	EXPECT_EQ(5, sx_wake(self->fd, 0, SHMIPC_WAKE_ALL));
	for (i = 0; i < 8; i++)
		if (pids[i] > 0) {
			EXPECT_EQ(0, sx_reap(pids[i]));
		}
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
	EXPECT_EQ(0, sx_wake(self->fd, 0, SHMIPC_WAKE_ALL));
}

TEST_F(wait, wake_count_larger_than_waiters)
{
	pid_t pids[3];
	int i;

	for (i = 0; i < 3; i++) {
		pids[i] = fork_waiter(self->fd, 8, 0);
		ASSERT_LE(0, pids[i]);
	}
	ASSERT_TRUE(sx_wait_waiters(self->fd, 3));
	EXPECT_EQ(3, sx_wake(self->fd, 8, 1000));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, sx_reap(pids[i]));
	}
}

TEST_F(wait, wake_only_the_matching_word)
{
	/* 16 words: with any hashing, several share a bucket */
	pid_t pids[16];
	int i;

	for (i = 0; i < 16; i++) {
		pids[i] = fork_waiter(self->fd, (__u64)i * 64, 0);
		ASSERT_LE(0, pids[i]);
	}
	ASSERT_TRUE(sx_wait_waiters(self->fd, 16));
	/* a word nobody waits on, next to them */
	EXPECT_EQ(0, sx_wake(self->fd, 4, SHMIPC_WAKE_ALL));
	EXPECT_EQ(16, sx_nr_waiters(self->fd));
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(1, sx_wake(self->fd, (__u64)i * 64, SHMIPC_WAKE_ALL))
			TH_LOG("word %d", i);
		EXPECT_EQ(0, sx_reap(pids[i])) TH_LOG("waiter %d", i);
		EXPECT_EQ(15 - i, sx_nr_waiters(self->fd));
	}
}

TEST_F(wait, wake_only_the_matching_region)
{
	char other[SHMIPC_NAME_MAX];
	int fd2;
	pid_t pid;

	snprintf(other, sizeof(other), "%.50s-b", self->name);
	fd2 = sx_create(self->dev, other, REGION_SIZE, 0600,
			SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd2);
	pid = fork_waiter(self->fd, 0, 0);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(sx_wait_waiters(self->fd, 1));
	/* same offset, other region: nobody */
	EXPECT_EQ(0, sx_wake(fd2, 0, SHMIPC_WAKE_ALL));
	EXPECT_EQ(0, sx_nr_waiters(fd2));
	EXPECT_EQ(1, sx_nr_waiters(self->fd));
	EXPECT_FALSE(sx_exited(pid));
	EXPECT_EQ(1, sx_wake(self->fd, 0, 1));
	EXPECT_EQ(0, sx_reap(pid));
	close(fd2);
}

TEST_F(wait, wake_through_another_fd_of_the_region)
{
	int fd2;
	pid_t pid;

	fd2 = sx_open(self->dev, self->name, 0);
	ASSERT_LE(0, fd2);
	pid = fork_waiter(self->fd, 0, 0);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(sx_wait_waiters(fd2, 1));
	EXPECT_EQ(1, sx_wake(fd2, 0, 1));
	EXPECT_EQ(0, sx_reap(pid));
	close(fd2);
}

TEST_F(wait, waiter_times_out_and_leaves_queue)
{
	pid_t pid;

	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sx_errcode(sx_wait(self->fd, 0, 0,
					 sx_deadline_ms(300))));
	EXPECT_EQ(ETIMEDOUT, sx_reap(pid));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
	EXPECT_EQ(0, sx_wake(self->fd, 0, SHMIPC_WAKE_ALL));
}

TEST_F(wait, killed_waiter_leaves_queue)
{
	pid_t pid;

	pid = fork_waiter(self->fd, 0, 0);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(sx_wait_waiters(self->fd, 1));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, sx_reap(pid));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
	EXPECT_EQ(0, sx_wake(self->fd, 0, SHMIPC_WAKE_ALL));
}

/*
 * No lost wake-up: parent and child hand a token back and forth through
 * one word many times; each side waits for its value, the other stores
 * it and wakes.  A WAKE issued after the store can never be missed, so
 * every round ends well before the generous deadline.
 */
TEST_F(wait, ping_pong_no_lost_wakeup)
{
	const unsigned int rounds = 300;
	unsigned int i;
	pid_t pid;
	int ret;

	self->w[0] = 0;
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < rounds; i++) {
			/* wait for 2i+1, answer 2i+2 */
			while (self->w[0] != 2 * i + 1) {
				ret = sx_wait(self->fd, 0, 2 * i,
					      sx_deadline_ms(SX_CHILD_WAIT_MS));
				if (ret && ret != -EAGAIN)
					_exit(sx_errcode(ret));
			}
			__atomic_store_n(&self->w[0], 2 * i + 2,
					 __ATOMIC_SEQ_CST);
			if (sx_wake(self->fd, 0, 1) < 0)
				_exit(150);
		}
		_exit(0);
	}
	for (i = 0; i < rounds; i++) {
		__atomic_store_n(&self->w[0], 2 * i + 1, __ATOMIC_SEQ_CST);
		ASSERT_LE(0, sx_wake(self->fd, 0, 1));
		while (self->w[0] != 2 * i + 2) {
			ret = sx_wait(self->fd, 0, 2 * i + 1,
				      sx_deadline_ms(SX_CHILD_WAIT_MS));
			if (ret && ret != -EAGAIN) {
				ASSERT_EQ(0, ret) TH_LOG("round %u", i);
			}
		}
	}
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(2 * rounds, self->w[0]);
}

/* ------------------------------------------------------------------ */
/* signals */

static volatile sig_atomic_t *handled;

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_add_fetch(handled, 1, __ATOMIC_SEQ_CST);
}

/* Map a fresh shared *handled and catch SIGUSR1 in on_usr1: 0 or -errno. */
static int catch_usr1(int sa_flags)
{
	struct sigaction sa;

	handled = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (handled == MAP_FAILED)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = sa_flags;
	return sigaction(SIGUSR1, &sa, NULL) ? -errno : 0;
}

/* A child that sends SIGUSR1 to its parent once the parent sleeps. */
static pid_t fork_signaller(int fd)
{
	pid_t parent = getpid();
	pid_t pid = sx_fork();

	if (pid == 0) {
		if (!sx_wait_waiters(fd, 1))
			_exit(100);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	return pid;
}

TEST_F(wait, signal_interrupts_wait_eintr)
{
	pid_t pid;

	ASSERT_EQ(0, catch_usr1(0));	/* no SA_RESTART */

	pid = fork_signaller(self->fd);
	ASSERT_LE(0, pid);
	EXPECT_EQ(-EINTR, sx_wait(self->fd, 0, 0,
				  sx_deadline_ms(SX_CHILD_WAIT_MS)));
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
}

TEST_F(wait, signal_interrupts_waitv_eintr)
{
	struct shmipc_waitv_entry e[2];
	pid_t pid;

	ASSERT_EQ(0, catch_usr1(0));

	sx_entry(&e[0], self->fd, 0, 0);
	sx_entry(&e[1], self->fd, 4, 0);
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* both entries queued: 2 waiters */
		if (!sx_wait_waiters(self->fd, 2))
			_exit(100);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	EXPECT_EQ(-EINTR, sx_waitv(self->fd, e, 2,
				   sx_deadline_ms(SX_CHILD_WAIT_MS)));
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
}

/*
 * With SA_RESTART the WAIT restarts after the handler (the deadline is
 * absolute, so that is safe) and later completes with the WAKE.
 */
TEST_F(wait, signal_with_sa_restart_restarts_wait)
{
	pid_t parent = getpid();
	pid_t pid;

	ASSERT_EQ(0, catch_usr1(SA_RESTART));
	self->w[0] = 0;

	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u64 end = sx_deadline_ms(SX_SOON_MS);
		int n = 0;

		if (!sx_wait_waiters(self->fd, 1))
			_exit(100);
		kill(parent, SIGUSR1);
		while (*handled == 0 && sx_now_ns() < end)
			usleep(1000);
		if (*handled == 0)
			_exit(101);
		/* the restarted WAIT queues again */
		if (!sx_wait_waiters(self->fd, 1))
			_exit(102);
		self->w[0] = 1;
		while (n == 0 && sx_now_ns() < end) {
			n = sx_wake(self->fd, 0, 1);
			if (n == 0)
				usleep(1000);
		}
		_exit(n == 1 ? 0 : 103);
	}
	EXPECT_EQ(0, sx_wait(self->fd, 0, 0,
			     sx_deadline_ms(SX_CHILD_WAIT_MS)));
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, sx_reap(pid));
}

TEST_F(wait, ignored_signal_does_not_interrupt)
{
	pid_t parent = getpid();
	pid_t pid;

	signal(SIGUSR2, SIG_IGN);
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (!sx_wait_waiters(self->fd, 1))
			_exit(100);
		kill(parent, SIGUSR2);
		/* still waiting after an ignored signal: then wake */
		if (!sx_wait_waiters(self->fd, 1))
			_exit(101);
		_exit(sx_wake(self->fd, 0, 1) == 1 ? 0 : 102);
	}
	EXPECT_EQ(0, sx_wait(self->fd, 0, 0,
			     sx_deadline_ms(SX_CHILD_WAIT_MS)));
	EXPECT_EQ(0, sx_reap(pid));
}

/* ------------------------------------------------------------------ */
/* WAITV */

FIXTURE(waitv) {
	int dev;
	int a, b;
	volatile __u32 *pa, *pb;
	char name[SHMIPC_NAME_MAX];
	char name_b[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(waitv)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	sx_unique_name(self->name, "waitv-a");
	sx_unique_name(self->name_b, "waitv-b");
	self->a = sx_create(self->dev, self->name, 4096, 0600,
			    SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->a);
	self->b = sx_create(self->dev, self->name_b, 8192, 0600,
			    SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->b);
	self->pa = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			self->a, 0);
	ASSERT_NE(MAP_FAILED, self->pa);
	self->pb = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED,
			self->b, 0);
	ASSERT_NE(MAP_FAILED, self->pb);
}

FIXTURE_TEARDOWN(waitv)
{
	close(self->a);
	close(self->b);
	close(self->dev);
}

/* Child WAITV on @n entries; exits with the index + 1, or 100 + errcode. */
static pid_t fork_waitv(int fd, struct shmipc_waitv_entry *e, __u32 n)
{
	pid_t pid = sx_fork();

	if (pid == 0) {
		int ret = sx_waitv(fd, e, n, sx_deadline_ms(SX_CHILD_WAIT_MS));

		_exit(ret >= 0 ? ret + 1 : 100 + sx_errcode(ret) % 100);
	}
	return pid;
}

TEST_F(waitv, returns_index_of_woken_entry)
{
	struct shmipc_waitv_entry e[3];
	pid_t pid;
	int i;

	/* three words in two regions; wake each one in turn */
	for (i = 0; i < 3; i++) {
		sx_entry(&e[0], self->a, 0, 0);
		sx_entry(&e[1], self->b, 4096, 0);
		sx_entry(&e[2], self->b, 8, 0);
		pid = fork_waitv(self->a, e, 3);
		ASSERT_LE(0, pid);
		ASSERT_TRUE(sx_wait_waiters(self->a, 1));
		ASSERT_TRUE(sx_wait_waiters(self->b, 2));
		EXPECT_EQ(1, sx_wake(i == 0 ? self->a : self->b,
				     e[i].offset, 1));
		EXPECT_EQ(i + 1, sx_reap(pid)) TH_LOG("woke entry %d", i);
		EXPECT_EQ(0, sx_nr_waiters(self->a));
		EXPECT_EQ(0, sx_nr_waiters(self->b));
	}
}

TEST_F(waitv, issued_on_any_region_fd)
{
	struct shmipc_waitv_entry e;
	pid_t pid;

	/* the ioctl goes to region a, the only entry is in region b */
	sx_entry(&e, self->b, 12, 0);
	pid = fork_waitv(self->a, &e, 1);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(sx_wait_waiters(self->b, 1));
	EXPECT_EQ(0, sx_nr_waiters(self->a));
	EXPECT_EQ(1, sx_wake(self->b, 12, 1));
	EXPECT_EQ(1, sx_reap(pid));
}

TEST_F(waitv, woken_once_counted_once)
{
	struct shmipc_waitv_entry e[2];
	pid_t pid;

	/* one task on two words: the second WAKE finds nobody to wake */
	sx_entry(&e[0], self->a, 0, 0);
	sx_entry(&e[1], self->a, 4, 0);
	pid = fork_waitv(self->a, e, 2);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(sx_wait_waiters(self->a, 2));
	EXPECT_EQ(1, sx_wake(self->a, 4, SHMIPC_WAKE_ALL));
	EXPECT_EQ(0, sx_wake(self->a, 0, SHMIPC_WAKE_ALL));
	EXPECT_EQ(2, sx_reap(pid));
	EXPECT_EQ(0, sx_nr_waiters(self->a));
}

TEST_F(waitv, count_zero_or_over_max_einval)
{
	struct shmipc_waitv_entry e[SHMIPC_WAITV_MAX + 1];
	int i;

	for (i = 0; i <= SHMIPC_WAITV_MAX; i++)
		sx_entry(&e[i], self->a, 0, 0);
	EXPECT_EQ(-EINVAL, sx_waitv(self->a, e, 0, 0));
	EXPECT_EQ(-EINVAL, sx_waitv(self->a, e, SHMIPC_WAITV_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, sx_waitv(self->a, e, 0xffffffff, 0));
	/* exactly the maximum is fine (the words match: times out) */
	EXPECT_EQ(-ETIMEDOUT, sx_waitv(self->a, e, SHMIPC_WAITV_MAX, 0));
	/* and a mismatch in its last entry is seen */
	e[SHMIPC_WAITV_MAX - 1].expected = 1;
	EXPECT_EQ(-EAGAIN, sx_waitv(self->a, e, SHMIPC_WAITV_MAX, 0));
	EXPECT_EQ(0, sx_nr_waiters(self->a));
}

TEST_F(waitv, bad_entry_fd_ebadf)
{
	struct shmipc_waitv_entry e[2];
	int pipefd[2];

	ASSERT_EQ(0, pipe(pipefd));
	sx_entry(&e[0], self->a, 0, 0);
	sx_entry(&e[1], -1, 0, 0);
	EXPECT_EQ(-EBADF, sx_waitv(self->a, e, 2, 0));
	e[1].fd = 100000;	/* not open */
	EXPECT_EQ(-EBADF, sx_waitv(self->a, e, 2, 0));
	e[1].fd = pipefd[0];	/* open, not a region */
	EXPECT_EQ(-EBADF, sx_waitv(self->a, e, 2, 0));
	e[1].fd = self->dev;	/* the control device is no region */
	EXPECT_EQ(-EBADF, sx_waitv(self->a, e, 2, 0));
	EXPECT_EQ(0, sx_nr_waiters(self->a));
	close(pipefd[0]);
	close(pipefd[1]);
}

TEST_F(waitv, mismatch_eagain_unqueues_all)
{
	struct shmipc_waitv_entry e[3];

	self->pb[2] = 7;
	sx_entry(&e[0], self->a, 0, 0);
	sx_entry(&e[1], self->a, 4, 0);
	sx_entry(&e[2], self->b, 8, 6);	/* holds 7 */
	EXPECT_EQ(-EAGAIN, sx_waitv(self->a, e, 3, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(0, sx_nr_waiters(self->a));
	EXPECT_EQ(0, sx_nr_waiters(self->b));
	/* the first entry mismatching */
	e[2].expected = 7;
	self->pa[0] = 1;
	EXPECT_EQ(-EAGAIN, sx_waitv(self->b, e, 3, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(0, sx_nr_waiters(self->a));
}

TEST_F(waitv, deadline_past_etimedout_and_invalid_einval)
{
	struct shmipc_waitv_entry e[2];
	__u64 deadline;

	sx_entry(&e[0], self->a, 0, 0);
	sx_entry(&e[1], self->b, 0, 0);
	EXPECT_EQ(-ETIMEDOUT, sx_waitv(self->a, e, 2, 0));
	deadline = sx_now_ns() + 10 * 1000000ULL;
	EXPECT_EQ(-ETIMEDOUT, sx_waitv(self->a, e, 2, deadline));
	EXPECT_LE(deadline, sx_now_ns());
	EXPECT_EQ(-EINVAL, sx_waitv(self->a, e, 2, (__u64)INT64_MAX + 1));
	EXPECT_EQ(-EINVAL, sx_waitv(self->a, e, 2, SHMIPC_DEADLINE_NONE - 1));
	EXPECT_EQ(0, sx_nr_waiters(self->a));
	EXPECT_EQ(0, sx_nr_waiters(self->b));
}

TEST_F(waitv, flags_and_reserved_einval)
{
	struct shmipc_waitv_entry e[2];
	struct shmipc_waitv v;

	sx_entry(&e[0], self->a, 0, 0);
	sx_entry(&e[1], self->b, 0, 0);
	memset(&v, 0, sizeof(v));
	v.entries = (__u64)(uintptr_t)e;
	v.count = 2;
	v.flags = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
	v.flags = 0;
	v.reserved = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
	v.reserved = 0;
	e[1].flags = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
	e[1].flags = 0;
	e[1].reserved = 0x100;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
	e[1].reserved = 0;
	e[1].peer_id = ~0ULL;	/* no such peer */
	EXPECT_EQ(-ESRCH, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
	e[1].peer_id = 0;
	EXPECT_EQ(-ETIMEDOUT, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
}

TEST_F(waitv, bad_offsets_einval)
{
	struct shmipc_waitv_entry e[2];

	sx_entry(&e[0], self->a, 0, 0);
	sx_entry(&e[1], self->b, 2, 0);		/* unaligned */
	EXPECT_EQ(-EINVAL, sx_waitv(self->a, e, 2, 0));
	e[1].offset = 8192;			/* == size of b */
	EXPECT_EQ(-EINVAL, sx_waitv(self->a, e, 2, 0));
	e[1].offset = 4096;			/* fine in b, not in a */
	EXPECT_EQ(-ETIMEDOUT, sx_waitv(self->a, e, 2, 0));
	e[1].fd = self->a;
	EXPECT_EQ(-EINVAL, sx_waitv(self->a, e, 2, 0));
	EXPECT_EQ(0, sx_nr_waiters(self->a));
}

TEST_F(waitv, bad_entries_pointer_efault)
{
	struct shmipc_waitv v;

	memset(&v, 0, sizeof(v));
	v.count = 1;
	v.entries = 0;
	EXPECT_EQ(-EFAULT, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
	v.entries = 8;
	EXPECT_EQ(-EFAULT, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
	v.entries = ~0ULL - 4095;
	EXPECT_EQ(-EFAULT, sx_ioctl(self->a, SHMIPC_IOC_WAITV, &v));
}

TEST_F(waitv, wait_and_waitv_woken_together)
{
	struct shmipc_waitv_entry e[2];
	pid_t p1, p2;

	/* a WAIT and a WAITV on the same word: WAKE_ALL reaches both */
	p1 = sx_fork();
	ASSERT_LE(0, p1);
	if (p1 == 0)
		_exit(sx_errcode(sx_wait(self->a, 16, 0,
					 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	sx_entry(&e[0], self->b, 0, 0);
	sx_entry(&e[1], self->a, 16, 0);
	p2 = fork_waitv(self->b, e, 2);
	ASSERT_LE(0, p2);
	ASSERT_TRUE(sx_wait_waiters(self->a, 2));
	ASSERT_TRUE(sx_wait_waiters(self->b, 1));
	EXPECT_EQ(2, sx_wake(self->a, 16, SHMIPC_WAKE_ALL));
	EXPECT_EQ(0, sx_reap(p1));
	EXPECT_EQ(2, sx_reap(p2));
	EXPECT_EQ(0, sx_nr_waiters(self->b));
}

TEST_HARNESS_MAIN
