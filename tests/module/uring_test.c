// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring: IORING_OP_URING_CMD with cmd_op SHMIPC_URING_WAIT parks a
 * WAIT that completes with the WAIT result: 0 on wake, -EOWNERDEAD on
 * death, -ETIMEDOUT at its deadline, -EAGAIN on mismatch, -EIDRM on
 * destroy, -ECANCELED when its submitter closes the region fd or exits.
 * IORING_OP_POLL_ADD on region fds sees events and hang-up.  One thread
 * waits on several regions through one ring.  A child that parks waits
 * and exits (or is killed) leaves nothing behind.  Bad commands fail
 * with a CQE, never a hang.
 *
 * Runs in the VM as root with the module loaded; linked with liburing.
 */
#define _GNU_SOURCE
#define SX_URING

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define NR	4
#define REGION_SIZE 4096

FIXTURE(uring) {
	int dev;
	int fd[NR];
	volatile __u32 *w[NR];
	char name[NR][SHMIPC_NAME_MAX];
	struct io_uring ring;
	bool ring_ok;
	unsigned long long cap_ms;
	bool cap_saved;
};

/*
 * Parked waits end by themselves after max_uring_wait_ms (-EINTR, to be
 * resubmitted).  The fixture raises it far above anything a test does,
 * so that only the tests of the cap depend on it; they lower it.
 */
#define LONG_CAP_MS	120000
/*
 * A cap for the ways no ->flush reaches: long enough for a slow VM to
 * check that the waits are parked first.
 */
#define CAP_MS		1500

FIXTURE_SETUP(uring)
{
	char tag[16];
	int i;

	ASSERT_EQ(0, geteuid());
	for (i = 0; i < NR; i++) {
		self->fd[i] = -1;
		self->w[i] = MAP_FAILED;
	}
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	for (i = 0; i < NR; i++) {
		snprintf(tag, sizeof(tag), "uring%d", i);
		sx_unique_name(self->name[i], tag);
		self->fd[i] = sx_create(self->dev, self->name[i], REGION_SIZE,
					0600, SHMIPC_CREATE_EXCL);
		ASSERT_LE(0, self->fd[i]);
		self->w[i] = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
				  MAP_SHARED, self->fd[i], 0);
		ASSERT_NE(MAP_FAILED, self->w[i]);
	}
	ASSERT_EQ(0, io_uring_queue_init(64, &self->ring, 0));
	self->ring_ok = true;
	ASSERT_EQ(0, sx_param_read("max_uring_wait_ms", &self->cap_ms));
	self->cap_saved = true;
	ASSERT_EQ(0, sx_param_write("max_uring_wait_ms", LONG_CAP_MS));
}

FIXTURE_TEARDOWN(uring)
{
	int i;

	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->cap_saved)
		EXPECT_EQ(0, sx_param_write("max_uring_wait_ms", self->cap_ms));
	for (i = 0; i < NR; i++) {
		if (self->w[i] != MAP_FAILED)
			munmap((void *)self->w[i], REGION_SIZE);
		if (self->fd[i] >= 0)
			close(self->fd[i]);
	}
	close(self->dev);
}

/* One parked wait through the fixture's ring; 0 or -errno. */
static int park(FIXTURE_DATA(uring) *self, int fd, struct shmipc_wait *w,
		__u64 offset, __u32 expected, __u64 deadline, __u64 peer,
		__u64 ud)
{
	sx_wait_arg(w, offset, expected, deadline, peer);
	return sx_uring_wait(&self->ring, fd, w, ud);
}

/* CQEs collected so far. */
struct cqes {
	int n;
	__u64 ud[64];
	int res[64];
};

/* Collect CQEs until @want arrived or SX_SOON_MS passed. */
static int collect(struct io_uring *ring, struct cqes *c, int want)
{
	__u64 end = sx_deadline_ms(SX_SOON_MS);

	while (c->n < want && c->n < 64) {
		__u64 now = sx_now_ns();
		int ret;

		if (now >= end)
			break;
		ret = sx_uring_next(ring, (int)((end - now) / 1000000) + 1,
				    &c->ud[c->n], &c->res[c->n]);
		if (ret == -ETIME)
			continue;
		if (ret < 0)
			return ret;
		c->n++;
	}
	return c->n;
}

/* The result of @ud in @c, or INT_MIN if absent (-INT_MAX if twice). */
static int result_of(const struct cqes *c, __u64 ud)
{
	int i, found = INT_MIN, count = 0;

	for (i = 0; i < c->n; i++) {
		if (c->ud[i] == ud) {
			found = c->res[i];
			count++;
		}
	}
	return count > 1 ? -INT_MAX : found;
}

/* Wait for one CQE and return its res (INT_MIN if none came). */
static int one_cqe(struct io_uring *ring, __u64 want_ud)
{
	struct cqes c = { 0 };

	if (collect(ring, &c, 1) != 1)
		return INT_MIN;
	return c.ud[0] == want_ud ? c.res[0] : -INT_MAX;
}

/*
 * The scenario this exists for: one thread, one ring, four regions, and
 * a CQE for each thing that can happen to a parked wait.
 */
TEST_F(uring, one_ring_many_regions)
{
	struct shmipc_wait wt[6];
	struct io_uring_sqe *sqe;
	struct cqes c = { 0 };
	pid_t peer;
	__u64 pid1;
	int i;

	/* region 1 has a peer that will die */
	peer = sx_fork_peer(self->fd[1], &pid1);
	ASSERT_LE(0, peer);
	if (peer == 0) {
		pause();
		_exit(0);
	}
	ASSERT_EQ(0, sx_await_event(self->fd[1], SHMIPC_EVENT_JOIN, pid1,
				    NULL));
	self->w[2][1] = 5;

	sx_wait_arg(&wt[0], 0, 0, SHMIPC_DEADLINE_NONE, 0);	/* wake */
	sx_wait_arg(&wt[1], 0, 0, SHMIPC_DEADLINE_NONE, pid1);	/* death */
	sx_wait_arg(&wt[2], 0, 0, SHMIPC_DEADLINE_NONE, 0);	/* destroy */
	sx_wait_arg(&wt[3], 0, 0, SHMIPC_DEADLINE_NONE, 0);	/* close */
	sx_wait_arg(&wt[4], 4, 0, sx_deadline_ms(200), 0);	/* deadline */
	sx_wait_arg(&wt[5], 4, 4, SHMIPC_DEADLINE_NONE, 0);	/* mismatch */
	/* the deadline on region 0, the mismatch on region 2 */
	for (i = 0; i < 6; i++) {
		static const int region[6] = { 0, 1, 2, 3, 0, 2 };

		sqe = io_uring_get_sqe(&self->ring);
		ASSERT_NE(NULL, sqe);
		sx_uring_prep_wait(sqe, self->fd[region[i]], &wt[i], 100 + i);
	}
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_poll_add(sqe, self->fd[1], POLLIN);
	sqe->user_data = 201;
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_poll_add(sqe, self->fd[2], POLLIN);
	sqe->user_data = 202;
	ASSERT_EQ(8, io_uring_submit(&self->ring));

	/* parked: each region counts its waiters */
	EXPECT_TRUE(sx_wait_waiters(self->fd[1], 1));
	EXPECT_TRUE(sx_wait_waiters(self->fd[2], 1));
	EXPECT_TRUE(sx_wait_waiters(self->fd[3], 1));
	EXPECT_LE(1, sx_nr_waiters(self->fd[0]));

	/* wake region 0 word 0 */
	self->w[0][0] = 1;
	EXPECT_EQ(1, sx_wake(self->fd[0], 0, SHMIPC_WAKE_ALL));
	/* the peer of region 1 dies */
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(peer));
	/* region 2 is destroyed */
	EXPECT_EQ(0, sx_destroy(self->dev, self->name[2]));
	/* region 3's fd is closed under its parked wait */
	close(self->fd[3]);
	self->fd[3] = -1;

	ASSERT_EQ(8, collect(&self->ring, &c, 8));
	EXPECT_EQ(0, result_of(&c, 100));
	EXPECT_EQ(-EOWNERDEAD, result_of(&c, 101));
	EXPECT_EQ(-EIDRM, result_of(&c, 102));
	EXPECT_EQ(-ECANCELED, result_of(&c, 103));
	EXPECT_EQ(-ETIMEDOUT, result_of(&c, 104));
	EXPECT_EQ(-EAGAIN, result_of(&c, 105));
	EXPECT_TRUE(result_of(&c, 201) & POLLIN);
	EXPECT_TRUE(result_of(&c, 202) & POLLHUP);
	EXPECT_TRUE(sx_uring_idle(&self->ring));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, sx_nr_waiters(self->fd[i])) TH_LOG("region %d", i);
	}
}

TEST_F(uring, wake_counts_parked_waits)
{
	struct shmipc_wait wt[4];
	struct cqes c = { 0 };
	pid_t child;
	int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, park(self, self->fd[0], &wt[i], 8, 0,
				  SHMIPC_DEADLINE_NONE, 0, i));
	}
	/* and one blocking WAIT of a child on the same word */
	child = sx_fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(sx_errcode(sx_wait(self->fd[0], 8, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	ASSERT_TRUE(sx_wait_waiters(self->fd[0], 5));
	EXPECT_EQ(2, sx_wake(self->fd[0], 8, 2));
	ASSERT_EQ(2, collect(&self->ring, &c, 2));
	EXPECT_EQ(0, c.res[0]);
	EXPECT_EQ(0, c.res[1]);
	EXPECT_EQ(3, sx_nr_waiters(self->fd[0]));
	EXPECT_EQ(3, sx_wake(self->fd[0], 8, SHMIPC_WAKE_ALL));
	EXPECT_EQ(0, sx_reap(child));
	ASSERT_EQ(4, collect(&self->ring, &c, 4));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, result_of(&c, i)) TH_LOG("wait %d", i);
	}
	EXPECT_EQ(0, sx_nr_waiters(self->fd[0]));
	EXPECT_EQ(0, sx_wake(self->fd[0], 8, SHMIPC_WAKE_ALL));
}

/* The kernel reads struct shmipc_wait when it issues the command. */
TEST_F(uring, wait_struct_read_at_submit)
{
	struct shmipc_wait wt;

	ASSERT_EQ(0, park(self, self->fd[0], &wt, 0, 0, SHMIPC_DEADLINE_NONE,
			  0, 7));
	memset(&wt, 0xff, sizeof(wt));	/* garbage afterwards */
	ASSERT_TRUE(sx_wait_waiters(self->fd[0], 1));
	EXPECT_TRUE(sx_uring_idle(&self->ring));
	EXPECT_EQ(1, sx_wake(self->fd[0], 0, 1));
	EXPECT_EQ(0, one_cqe(&self->ring, 7));
}

TEST_F(uring, immediate_results)
{
	struct shmipc_wait wt[3];
	struct cqes c = { 0 };

	self->w[0][0] = 9;
	ASSERT_EQ(0, park(self, self->fd[0], &wt[0], 0, 8,
			  SHMIPC_DEADLINE_NONE, 0, 1));
	ASSERT_EQ(0, park(self, self->fd[0], &wt[1], 4, 0, 0, 0, 2));
	ASSERT_EQ(0, park(self, self->fd[0], &wt[2], 4, 0,
			  SHMIPC_DEADLINE_NONE, ~0ULL, 3));
	ASSERT_EQ(3, collect(&self->ring, &c, 3));
	EXPECT_EQ(-EAGAIN, result_of(&c, 1));
	EXPECT_EQ(-ETIMEDOUT, result_of(&c, 2));
	EXPECT_EQ(-ESRCH, result_of(&c, 3));
	EXPECT_EQ(0, sx_nr_waiters(self->fd[0]));
}

TEST_F(uring, named_peer_leaves_esrch)
{
	struct shmipc_wait wt;
	int go[2];
	__u64 id;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = sx_fork_peer(self->fd[0], &id);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		if (sx_await_fd(go[0]))
			_exit(100);
		_exit(sx_errcode(sx_detach(self->fd[0])));
	}
	close(go[0]);
	ASSERT_EQ(0, park(self, self->fd[0], &wt, 0, 0, SHMIPC_DEADLINE_NONE,
			  id, 1));
	ASSERT_TRUE(sx_wait_waiters(self->fd[0], 1));
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(-ESRCH, one_cqe(&self->ring, 1));
	close(go[1]);
}

TEST_F(uring, dead_owner_wakes_and_is_checked_at_submit)
{
	static const __u64 own[] = { 12 };
	struct shmipc_wait wt[2];
	__u64 id, mine;
	pid_t pid;

	ASSERT_EQ(0, sx_attach(self->fd[0], &mine));
	pid = sx_fork_owner(self->fd[0], own, 1, NULL, 0, &id);
	ASSERT_LE(0, pid);
	/* a wait on its owned word naming another (live) peer */
	ASSERT_EQ(0, park(self, self->fd[0], &wt[0], 12, 0,
			  SHMIPC_DEADLINE_NONE, mine, 1));
	ASSERT_TRUE(sx_wait_waiters(self->fd[0], 1));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	EXPECT_EQ(-EOWNERDEAD, one_cqe(&self->ring, 1));
	EXPECT_EQ(SHMIPC_OWNER_DIED, self->w[0][3]);
	/* dead and marked: at once */
	ASSERT_EQ(0, park(self, self->fd[0], &wt[1], 0, 0,
			  SHMIPC_DEADLINE_NONE, id, 2));
	EXPECT_EQ(-EOWNERDEAD, one_cqe(&self->ring, 2));
	EXPECT_EQ(0, sx_nr_waiters(self->fd[0]));
	EXPECT_EQ(0, sx_reclaim(self->fd[0], id));
	EXPECT_EQ(0, sx_detach(self->fd[0]));
}

/* Closing one fd cancels the waits parked through it, not others. */
TEST_F(uring, close_cancels_only_that_fds_waits)
{
	struct shmipc_wait wt[2];
	struct cqes c = { 0 };
	int other;

	other = sx_open(self->dev, self->name[0], 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, park(self, self->fd[0], &wt[0], 0, 0,
			  SHMIPC_DEADLINE_NONE, 0, 1));
	ASSERT_EQ(0, park(self, other, &wt[1], 0, 0,
			  SHMIPC_DEADLINE_NONE, 0, 2));
	ASSERT_TRUE(sx_wait_waiters(self->fd[0], 2));
	close(other);
	EXPECT_EQ(-ECANCELED, one_cqe(&self->ring, 2));
	EXPECT_EQ(1, sx_nr_waiters(self->fd[0]));
	EXPECT_EQ(1, sx_wake(self->fd[0], 0, SHMIPC_WAKE_ALL));
	ASSERT_EQ(1, collect(&self->ring, &c, 1));
	EXPECT_EQ(0, result_of(&c, 1));
}

TEST_F(uring, bad_commands)
{
	static const struct { __u64 ptr; const char *what; } bad_ptr[] = {
		{ 0, "NULL" }, { 8, "low" }, { 0xffff888000000000ULL, "kernel" },
		{ 0x7ffffffff000ULL, "unmapped" },
	};
	struct io_uring_sqe *sqe;
	struct shmipc_wait wt;
	__u32 ops[] = { SHMIPC_IOC_WAKE, SHMIPC_IOC_INFO, 0, 0x12345678 };
	size_t i;
	int st;

	sx_wait_arg(&wt, 0, 0, SHMIPC_DEADLINE_NONE, 0);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		sqe = io_uring_get_sqe(&self->ring);
		ASSERT_NE(NULL, sqe);
		sx_uring_prep_wait(sqe, self->fd[0], &wt, 10);
		sqe->cmd_op = ops[i];
		ASSERT_EQ(1, io_uring_submit(&self->ring));
		EXPECT_EQ(-ENOTTY, one_cqe(&self->ring, 10))
			TH_LOG("cmd_op %#x", ops[i]);
	}
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	sx_uring_prep_wait(sqe, self->fd[0], &wt, 11);
	((struct shmipc_uring_wait *)sqe->cmd)->reserved = 1;
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_EQ(-EINVAL, one_cqe(&self->ring, 11));
	for (i = 0; i < ARRAY_SIZE(bad_ptr); i++) {
		sqe = io_uring_get_sqe(&self->ring);
		ASSERT_NE(NULL, sqe);
		sx_uring_prep_wait(sqe, self->fd[0], &wt, 12);
		((struct shmipc_uring_wait *)sqe->cmd)->wait = bad_ptr[i].ptr;
		ASSERT_EQ(1, io_uring_submit(&self->ring));
		EXPECT_EQ(-EFAULT, one_cqe(&self->ring, 12))
			TH_LOG("%s pointer", bad_ptr[i].what);
	}
	/* the struct shmipc_wait is checked as for WAIT */
	sx_wait_arg(&wt, 0, 0, SHMIPC_DEADLINE_NONE, 0);
	wt.flags = 1;
	ASSERT_EQ(0, sx_uring_wait(&self->ring, self->fd[0], &wt, 13));
	EXPECT_EQ(-EINVAL, one_cqe(&self->ring, 13));
	sx_wait_arg(&wt, 2, 0, SHMIPC_DEADLINE_NONE, 0);
	ASSERT_EQ(0, sx_uring_wait(&self->ring, self->fd[0], &wt, 14));
	EXPECT_EQ(-EINVAL, one_cqe(&self->ring, 14));
	sx_wait_arg(&wt, REGION_SIZE, 0, SHMIPC_DEADLINE_NONE, 0);
	ASSERT_EQ(0, sx_uring_wait(&self->ring, self->fd[0], &wt, 15));
	EXPECT_EQ(-EINVAL, one_cqe(&self->ring, 15));
	sx_wait_arg(&wt, 0, 0, (__u64)INT64_MAX + 1, 0);
	ASSERT_EQ(0, sx_uring_wait(&self->ring, self->fd[0], &wt, 16));
	EXPECT_EQ(-EINVAL, one_cqe(&self->ring, 16));
	/* a STAT fd may not wait */
	st = sx_open(self->dev, self->name[0], SHMIPC_OPEN_STAT);
	ASSERT_LE(0, st);
	sx_wait_arg(&wt, 0, 0, SHMIPC_DEADLINE_NONE, 0);
	ASSERT_EQ(0, sx_uring_wait(&self->ring, st, &wt, 17));
	EXPECT_EQ(-EBADF, one_cqe(&self->ring, 17));
	close(st);
	/* the control device has no uring_cmd at all */
	ASSERT_EQ(0, sx_uring_wait(&self->ring, self->dev, &wt, 18));
	EXPECT_EQ(-EOPNOTSUPP, one_cqe(&self->ring, 18));
	EXPECT_EQ(0, sx_nr_waiters(self->fd[0]));
	EXPECT_TRUE(sx_uring_idle(&self->ring));
}

/* ------------------------------------------------------------------ */
/* children that park waits and go away */

enum park_how {
	PARK_EXIT,		/* parks, then _exit(0) */
	PARK_KILLED,		/* parks, then sleeps until SIGKILL */
	PARK_ASYNC_KILLED,	/* IOSQE_ASYNC, then SIGKILL */
	PARK_FIXED_EXIT,	/* through a registered file, then _exit(0) */
	PARK_EXEC,		/* parks, then execs "busybox sleep" */
};

/*
 * A child parks a wait on @region's word 0 through the fd it inherited
 * (same open file), and one through an fd of its own (so that the
 * release of its own file can be watched in nr_files); checks that both
 * are parked, says so on @ready, then goes as @how when @go reads a byte
 * (or EOF), or sleeps until killed.
 */
static pid_t fork_parker(FIXTURE_DATA(uring) *self, int region,
			 enum park_how how, int go[2])
{
	int ready[2];
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = sx_fork();
	if (pid == 0) {
		struct shmipc_wait wt[2];
		struct io_uring ring;
		__u8 flags;
		int own;

		close(ready[0]);
		close(go[1]);
		own = sx_open(self->dev, self->name[region], 0);
		if (own < 0)
			_exit(100);
		if (io_uring_queue_init(8, &ring, 0))
			_exit(101);
		flags = how == PARK_ASYNC_KILLED ? IOSQE_ASYNC : 0;
		if (sx_uring_park_two(&ring, self->fd[region], own,
				      how == PARK_FIXED_EXIT, flags, wt))
			_exit(104);
		if (!sx_wait_waiters(self->fd[region], 2))
			_exit(105);
		if (sx_nr_files(self->fd[region]) != 2)
			_exit(106);
		sx_signal_fd(ready[1]);
		if (how == PARK_KILLED || how == PARK_ASYNC_KILLED)
			pause();
		sx_await_fd(go[0]);
		if (how == PARK_EXEC)
			execl("/bin/busybox", "busybox", "sleep", "1000",
			      (char *)NULL);
		_exit(0);
	}
	close(ready[1]);
	if (pid > 0 && sx_await_fd(ready[0])) {
		printf("# parker %d failed: exit %d\n", (int)pid,
		       sx_kill_reap(pid));
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

/* Poll until the region of @fd has @n open files. */
static bool wait_files(int fd, int n)
{
	__u64 end = sx_deadline_ms(SX_SOON_MS);

	do {
		if (sx_nr_files(fd) == n)
			return true;
		usleep(1000);
	} while (sx_now_ns() < end);
	return false;
}

/*
 * A child parks two waits and goes as @how; with @cap_ms, the parked-wait
 * cap is lowered to that first (for the ways that never reach ->flush).
 */
static void parker_goes(struct __test_metadata *_metadata,
			FIXTURE_DATA(uring) *self, enum park_how how,
			unsigned int cap_ms)
{
	int code = how == PARK_EXIT || how == PARK_FIXED_EXIT ? 0 :
		   128 + SIGKILL;
	pid_t pid;
	int i, go[2];


	if (cap_ms) {
		ASSERT_EQ(0, sx_param_write("max_uring_wait_ms", cap_ms));
	}
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork_parker(self, 0, how, go);
	close(go[0]);
	ASSERT_LE(0, pid);
	if (!cap_ms) {
		/* parked until it goes (with a cap, they may end any time) */
		EXPECT_EQ(2, sx_nr_waiters(self->fd[0]));
		EXPECT_EQ(2, sx_nr_files(self->fd[0]));
	}
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	close(go[1]);
	if (how == PARK_EXEC) {
		__u64 end = sx_deadline_ms(SX_SOON_MS);

		/* exec waits for the task's io_uring requests: the cap */
		while (!sx_comm_is(pid, "busybox") && sx_now_ns() < end)
			usleep(1000);
		EXPECT_TRUE(sx_comm_is(pid, "busybox"));
	}
	if (code)
		kill(pid, SIGKILL);
	/* it does not hang */
	EXPECT_EQ(code, sx_reap(pid));
	/* its parked waits are gone, and its own file with them */
	if (sx_wait_waiters(self->fd[0], 0)) {
		EXPECT_TRUE(wait_files(self->fd[0], 1));
	} else {
		EXPECT_EQ(0, sx_nr_waiters(self->fd[0]));
		/* unstick them, so that the rest of the run is not affected */
		TH_LOG("%d parked waits outlived their process: waking them",
		       sx_nr_waiters(self->fd[0]));
		sx_wake(self->fd[0], 0, SHMIPC_WAKE_ALL);
		EXPECT_TRUE(wait_files(self->fd[0], 1));
	}
	/* every fd closed: the regions are gone */
	for (i = 0; i < NR; i++) {
		munmap((void *)self->w[i], REGION_SIZE);
		self->w[i] = MAP_FAILED;
		close(self->fd[i]);
		self->fd[i] = -1;
	}
	for (i = 0; i < NR; i++) {
		__u64 end = sx_deadline_ms(SX_SOON_MS);

		while (sx_dbg_count_name(self->name[i]) && sx_now_ns() < end)
			usleep(1000);
		EXPECT_EQ(0, sx_dbg_count_name(self->name[i]))
			TH_LOG("region %d", i);
	}
	/* this binary's other tests closed theirs: the list is empty */
	EXPECT_EQ(0, sx_dbg_count());
}

TEST_F_TIMEOUT(uring, child_parks_and_exits, 90)
{
	parker_goes(_metadata, self, PARK_EXIT, 0);
}

TEST_F_TIMEOUT(uring, child_parks_and_is_killed, 90)
{
	parker_goes(_metadata, self, PARK_KILLED, 0);
}

TEST_F_TIMEOUT(uring, child_parks_async_and_is_killed, 90)
{
	parker_goes(_metadata, self, PARK_ASYNC_KILLED, 0);
}

/*
 * Ways that never reach ->flush first: the child's own region file is
 * reachable only through its ring's registered files when it exits, or
 * the child execs (which waits for its io_uring requests before closing
 * close-on-exec fds).  The cap (max_uring_wait_ms) ends them.
 */
TEST_F_TIMEOUT(uring, child_parks_through_registered_file_and_exits, 90)
{
	parker_goes(_metadata, self, PARK_FIXED_EXIT, CAP_MS);
}

TEST_F_TIMEOUT(uring, child_parks_and_execs, 90)
{
	if (access("/bin/busybox", X_OK))
		SKIP(return, "no /bin/busybox to exec");
	parker_goes(_metadata, self, PARK_EXEC, CAP_MS);
}

/* The cap: a parked wait longer than max_uring_wait_ms gives -EINTR. */
TEST_F(uring, cap_ends_long_parked_waits_eintr)
{
	struct shmipc_wait wt[3];
	struct cqes c = { 0 };

	ASSERT_EQ(0, sx_param_write("max_uring_wait_ms", 100));
	ASSERT_EQ(0, park(self, self->fd[0], &wt[0], 0, 0,
			  SHMIPC_DEADLINE_NONE, 0, 1));
	ASSERT_EQ(0, park(self, self->fd[0], &wt[1], 4, 0,
			  sx_deadline_ms(SX_CHILD_WAIT_MS), 0, 2));
	ASSERT_EQ(2, collect(&self->ring, &c, 2));
	EXPECT_EQ(-EINTR, result_of(&c, 1));
	EXPECT_EQ(-EINTR, result_of(&c, 2));
	EXPECT_EQ(0, sx_nr_waiters(self->fd[0]));
	/* a deadline before the cap is a plain deadline */
	ASSERT_EQ(0, sx_param_write("max_uring_wait_ms", LONG_CAP_MS));
	ASSERT_EQ(0, park(self, self->fd[0], &wt[2], 0, 0,
			  sx_deadline_ms(100), 0, 3));
	EXPECT_EQ(-ETIMEDOUT, one_cqe(&self->ring, 3));
	/* resubmitted after -EINTR, a wait works as before */
	ASSERT_EQ(0, park(self, self->fd[0], &wt[0], 0, 0,
			  SHMIPC_DEADLINE_NONE, 0, 4));
	ASSERT_TRUE(sx_wait_waiters(self->fd[0], 1));
	EXPECT_EQ(1, sx_wake(self->fd[0], 0, 1));
	EXPECT_EQ(0, one_cqe(&self->ring, 4));
}

/*
 * The parent closing its fd (the same open file the child waits through)
 * cancels only the parent's parked waits: the child's is woken later.
 */
TEST_F(uring, close_by_another_process_cancels_nothing_of_ours)
{
	struct shmipc_wait wt;
	int ready[2], fd;
	pid_t pid;

	fd = dup(self->fd[1]);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct io_uring ring;
		struct cqes c = { 0 };

		close(ready[0]);
		if (io_uring_queue_init(8, &ring, 0))
			_exit(100);
		sx_wait_arg(&wt, 0, 0, SHMIPC_DEADLINE_NONE, 0);
		if (sx_uring_wait(&ring, fd, &wt, 1))
			_exit(101);
		sx_signal_fd(ready[1]);
		if (collect(&ring, &c, 1) != 1)
			_exit(102);
		_exit(c.res[0] == 0 ? 0 : sx_errcode(c.res[0]));
	}
	close(ready[1]);
	ASSERT_EQ(0, sx_await_fd(ready[0]));
	close(ready[0]);
	ASSERT_TRUE(sx_wait_waiters(self->fd[1], 1));
	/* and a parked wait of ours on the same file */
	ASSERT_EQ(0, park(self, fd, &wt, 0, 0, SHMIPC_DEADLINE_NONE, 0, 9));
	ASSERT_TRUE(sx_wait_waiters(self->fd[1], 2));
	close(fd);
	EXPECT_EQ(-ECANCELED, one_cqe(&self->ring, 9));
	EXPECT_EQ(1, sx_nr_waiters(self->fd[1]));
	EXPECT_FALSE(sx_exited(pid));
	EXPECT_EQ(1, sx_wake(self->fd[1], 0, 1));
	EXPECT_EQ(0, sx_reap(pid));
}

TEST_HARNESS_MAIN
