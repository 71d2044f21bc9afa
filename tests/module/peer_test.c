// SPDX-License-Identifier: GPL-2.0
/*
 * Peers: ATTACH and DETACH, what a peer is (the process, not the fd:
 * fork creates none, an inherited fd neither keeps a dead peer alive nor
 * hides its death), LEAVE versus DEATH, WAIT naming a peer that left or
 * never existed, the max_region_peers quota, and the debugfs peer list.
 *
 * Runs in the VM as root with the module loaded.  Children report through
 * their exit status; deaths are observed through INFO and events, never
 * through timing.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define REGION_SIZE	(4 * 4096)

FIXTURE(peer) {
	int dev;
	int fd;
	char name[SHMIPC_NAME_MAX];
	unsigned long long max_peers;
	bool max_peers_saved;
};

FIXTURE_SETUP(peer)
{
	ASSERT_EQ(0, geteuid()) TH_LOG("these tests run as root");
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	sx_unique_name(self->name, "peer");
	self->fd = sx_create(self->dev, self->name, REGION_SIZE, 0600,
			     SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, sx_param_read("max_region_peers", &self->max_peers));
	self->max_peers_saved = true;
}

FIXTURE_TEARDOWN(peer)
{
	if (self->max_peers_saved)
		EXPECT_EQ(0, sx_param_write("max_region_peers",
					    self->max_peers));
	if (self->fd >= 0)
		close(self->fd);
	close(self->dev);
}

/* A second fd of the fixture's region (its own event queue). */
static int reopen(FIXTURE_DATA(peer) *self, __u32 flags)
{
	return sx_open(self->dev, self->name, flags);
}

/* Is any event of @type (for @peer_id, 0: any) in @ev[0..n)? */
static int count_events(const struct shmipc_event *ev, int n, __u32 type,
			__u64 peer_id)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		if (ev[i].type == type && (!peer_id || ev[i].peer_id == peer_id))
			c++;
	return c;
}

/*
 * A marker: a child attaches and detaches through @fd, and every event
 * of @reader up to the marker's LEAVE is returned in @ev (max @max).
 * Events are posted in order under the region's lock, so whatever was
 * posted before the marker's JOIN comes before it.
 */
static int events_until_marker(int fd, int reader, struct shmipc_event *ev,
			       int max)
{
	__u64 id;
	pid_t pid;
	int n = 0, ret;

	pid = sx_fork_peer(fd, &id);
	if (pid < 0)
		return -ECHILD;
	if (pid == 0)
		_exit(sx_errcode(sx_detach(fd)));
	ret = sx_reap(pid);
	if (ret)
		return -ECHILD;
	for (;;) {
		struct shmipc_event e;

		ret = sx_next_event(reader, &e, SX_SOON_MS);
		if (ret)
			return ret;
		if (n < max)
			ev[n] = e;
		n++;
		if (e.type == SHMIPC_EVENT_LEAVE && e.peer_id == id)
			return n;
	}
}

/*
 * A child that WAITs on @offset (expected 0) naming @peer_id, after
 * closing @closefd (a pipe end it must not hold).
 */
static pid_t fork_waiter(int fd, __u64 offset, __u64 peer_id, int closefd)
{
	pid_t pid = sx_fork();

	if (pid == 0) {
		if (closefd >= 0)
			close(closefd);
		_exit(sx_errcode(sx_wait_peer(fd, offset, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), peer_id)));
	}
	return pid;
}

TEST_F(peer, features_announce_peers)
{
	struct shmipc_features f;

	ASSERT_EQ(0, sx_features(self->dev, &f));
	EXPECT_TRUE(f.features & SHMIPC_FEAT_PEERS);
	EXPECT_TRUE(f.features & SHMIPC_FEAT_URING_CMD);
	EXPECT_EQ(SHMIPC_EVENT_QUEUE_LEN, f.event_queue_len);
}

TEST_F(peer, attach_gives_ids_never_reused)
{
	__u64 a = 0, b = 0, c = 0;
	struct shmipc_attach at;
	int other;
	char oname[SHMIPC_NAME_MAX];

	EXPECT_EQ(0, sx_nr_peers(self->fd));
	/* out fields are ignored on input */
	memset(&at, 0, sizeof(at));
	at.peer_id = 12345;
	ASSERT_EQ(0, sx_ioctl(self->fd, SHMIPC_IOC_ATTACH, &at));
	a = at.peer_id;
	EXPECT_NE(0, a);
	EXPECT_NE(12345, a);
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	ASSERT_EQ(0, sx_detach(self->fd));
	EXPECT_EQ(0, sx_nr_peers(self->fd));

	/* attaching again gives a new id */
	ASSERT_EQ(0, sx_attach(self->fd, &b));
	EXPECT_NE(0, b);
	EXPECT_NE(a, b);

	/* another region: another id */
	snprintf(oname, sizeof(oname), "%.50s-o", self->name);
	other = sx_create(self->dev, oname, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, sx_attach(other, &c));
	EXPECT_NE(0, c);
	EXPECT_NE(a, c);
	EXPECT_NE(b, c);
	/* one peer each */
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	EXPECT_EQ(1, sx_nr_peers(other));
	EXPECT_EQ(0, sx_detach(other));
	EXPECT_EQ(0, sx_detach(self->fd));
	close(other);
}

TEST_F(peer, attach_twice_ebusy_whatever_the_fd)
{
	__u64 id, id2 = 0;
	int fd2, ro;

	ASSERT_EQ(0, sx_attach(self->fd, &id));
	EXPECT_EQ(-EBUSY, sx_attach(self->fd, &id2));
	/* the peer is the process, not the fd */
	fd2 = reopen(self, 0);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-EBUSY, sx_attach(fd2, &id2));
	ro = reopen(self, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBUSY, sx_attach(ro, &id2));
	EXPECT_EQ(0, id2);
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	/* detach through any fd of the region */
	EXPECT_EQ(0, sx_detach(fd2));
	EXPECT_EQ(-ENOENT, sx_detach(self->fd));
	/* a read-only fd is enough to be a peer */
	EXPECT_EQ(0, sx_attach(ro, &id2));
	EXPECT_NE(id, id2);
	EXPECT_EQ(0, sx_detach(ro));
	close(ro);
	close(fd2);
}

static void *attach_thread(void *arg)
{
	int fd = *(int *)arg;
	__u64 id;

	return (void *)(intptr_t)sx_attach(fd, &id);
}

TEST_F(peer, attach_from_another_thread_ebusy)
{
	pthread_t t;
	void *ret;
	__u64 id;

	ASSERT_EQ(0, sx_attach(self->fd, &id));
	ASSERT_EQ(0, pthread_create(&t, NULL, attach_thread, &self->fd));
	ASSERT_EQ(0, pthread_join(t, &ret));
	EXPECT_EQ(-EBUSY, (int)(intptr_t)ret);
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(peer, attach_bad_flags_or_reserved_einval)
{
	struct shmipc_attach at;

	memset(&at, 0, sizeof(at));
	at.flags = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_ATTACH, &at));
	at.flags = 0x80000000;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_ATTACH, &at));
	at.flags = 0;
	at.reserved = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, SHMIPC_IOC_ATTACH, &at));
	EXPECT_EQ(0, sx_nr_peers(self->fd));
	EXPECT_EQ(-ENOENT, sx_detach(self->fd));
	/* no JOIN was posted */
	EXPECT_EQ(0, sx_drain_events(self->fd, NULL, 0));
}

TEST_F(peer, attach_stat_fd_ebadf)
{
	int st = reopen(self, SHMIPC_OPEN_STAT);
	__u64 id;

	ASSERT_LE(0, st);
	EXPECT_EQ(-EBADF, sx_attach(st, &id));
	EXPECT_EQ(0, sx_nr_peers(self->fd));
	EXPECT_EQ(-EBADF, sx_detach(st));
	/* attached through another fd: still not through a STAT fd */
	ASSERT_EQ(0, sx_attach(self->fd, &id));
	EXPECT_EQ(-EBADF, sx_detach(st));
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	EXPECT_EQ(0, sx_detach(self->fd));
	close(st);
}

TEST_F(peer, attach_on_control_device_enotty)
{
	__u64 id;

	EXPECT_EQ(-ENOTTY, sx_attach(self->dev, &id));
	EXPECT_EQ(-ENOTTY, sx_detach(self->dev));
}

TEST_F(peer, detach_errors)
{
	__u64 id;

	EXPECT_EQ(-ENOENT, sx_detach(self->fd));
	ASSERT_EQ(0, sx_attach(self->fd, &id));
	/* DETACH takes no argument: anything else is refused, still attached */
	EXPECT_EQ(-1, ioctl(self->fd, SHMIPC_IOC_DETACH, 1UL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, SHMIPC_IOC_DETACH, &id));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	EXPECT_EQ(0, sx_detach(self->fd));
	EXPECT_EQ(-ENOENT, sx_detach(self->fd));
	EXPECT_EQ(0, sx_nr_peers(self->fd));
}

TEST_F(peer, detach_is_leave_not_death)
{
	struct shmipc_event ev[16];
	__u64 id;
	pid_t pid;
	int n, i;

	pid = sx_fork_peer(self->fd, &id);
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sx_errcode(sx_detach(self->fd)));
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_TRUE(sx_wait_peers(self->fd, 0, 0));

	n = events_until_marker(self->fd, self->fd, ev, 16);
	ASSERT_EQ(4, n);
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(id, ev[0].peer_id);
	EXPECT_EQ(pid, ev[0].pid);
	EXPECT_EQ(SHMIPC_EVENT_LEAVE, ev[1].type);
	EXPECT_EQ(id, ev[1].peer_id);
	EXPECT_EQ(pid, ev[1].pid);
	EXPECT_EQ(0, ev[1].status);
	EXPECT_EQ(0, ev[1].flags);
	for (i = 0; i < n; i++) {
		EXPECT_NE(SHMIPC_EVENT_DEATH, ev[i].type) TH_LOG("event %d", i);
	}
	/* nothing late either */
	sx_sleep_ms(100);
	EXPECT_EQ(0, sx_drain_events(self->fd, NULL, 0));
}

TEST_F(peer, detach_wakes_waiters_naming_it_esrch_only)
{
	int go[2];
	pid_t peer, w_named, w_named2, w_any;
	__u64 id;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	peer = sx_fork_peer(self->fd, &id);
	ASSERT_LE(0, peer);
	if (peer == 0) {
		close(go[1]);
		if (sx_await_fd(go[0]))
			_exit(100);
		if (sx_detach(self->fd))
			_exit(101);
		/* now a non-peer: its exit is no death */
		if (sx_await_fd(go[0]) != -EIO)
			_exit(102);
		_exit(0);
	}
	close(go[0]);

	w_named = fork_waiter(self->fd, 0, id, go[1]);
	ASSERT_LE(0, w_named);
	w_named2 = fork_waiter(self->fd, 8, id, go[1]);
	ASSERT_LE(0, w_named2);
	w_any = fork_waiter(self->fd, 0, 0, go[1]);
	ASSERT_LE(0, w_any);
	ASSERT_TRUE(sx_wait_waiters(self->fd, 3));

	ASSERT_EQ(0, sx_signal_fd(go[1]));	/* detach */
	EXPECT_EQ(ESRCH, sx_reap(w_named));
	EXPECT_EQ(ESRCH, sx_reap(w_named2));
	EXPECT_TRUE(sx_wait_waiters(self->fd, 1));
	EXPECT_FALSE(sx_exited(w_any));

	/* the former peer exits: no death, the any-peer waiter sleeps on */
	close(go[1]);
	EXPECT_EQ(0, sx_reap(peer));
	EXPECT_EQ(0, sx_await_event(self->fd, SHMIPC_EVENT_LEAVE, id, NULL));
	sx_sleep_ms(100);
	EXPECT_FALSE(sx_exited(w_any));
	EXPECT_EQ(1, sx_nr_waiters(self->fd));
	EXPECT_EQ(1, sx_wake(self->fd, 0, SHMIPC_WAKE_ALL));
	EXPECT_EQ(0, sx_reap(w_any));
	EXPECT_EQ(0, sx_drain_events(self->fd, NULL, 0));
}

TEST_F(peer, wait_naming_a_peer_that_left_esrch)
{
	struct shmipc_waitv_entry e;
	__u64 id;
	pid_t pid;

	pid = sx_fork_peer(self->fd, &id);
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sx_errcode(sx_detach(self->fd)));
	ASSERT_EQ(0, sx_reap(pid));
	EXPECT_EQ(-ESRCH, sx_wait_peer(self->fd, 0, 0, SHMIPC_DEADLINE_NONE,
				       id));
	sx_entry(&e, self->fd, 0, 0);
	e.peer_id = id;
	EXPECT_EQ(-ESRCH, sx_waitv(self->fd, &e, 1, SHMIPC_DEADLINE_NONE));

	/* the same for one's own former peer id */
	ASSERT_EQ(0, sx_attach(self->fd, &id));
	ASSERT_EQ(0, sx_detach(self->fd));
	EXPECT_EQ(-ESRCH, sx_wait_peer(self->fd, 0, 0, SHMIPC_DEADLINE_NONE,
				       id));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
}

TEST_F(peer, wait_naming_unknown_peer_esrch)
{
	struct shmipc_waitv_entry e[2];
	char oname[SHMIPC_NAME_MAX];
	__u64 mine, theirs;
	int other;

	EXPECT_EQ(-ESRCH, sx_wait_peer(self->fd, 0, 0, SHMIPC_DEADLINE_NONE,
				       ~0ULL));
	EXPECT_EQ(-ESRCH, sx_wait_peer(self->fd, 0, 0, SHMIPC_DEADLINE_NONE,
				       1ULL << 62));
	/* a live peer of another region is unknown here */
	snprintf(oname, sizeof(oname), "%.50s-o", self->name);
	other = sx_create(self->dev, oname, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, sx_attach(other, &theirs));
	EXPECT_EQ(-ESRCH, sx_wait_peer(self->fd, 0, 0, SHMIPC_DEADLINE_NONE,
				       theirs));
	/* the same in a vector: one bad entry fails the whole call */
	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	sx_entry(&e[0], self->fd, 0, 0);
	e[0].peer_id = mine;
	sx_entry(&e[1], self->fd, 4, 0);
	e[1].peer_id = theirs;
	EXPECT_EQ(-ESRCH, sx_waitv(self->fd, e, 2, SHMIPC_DEADLINE_NONE));
	/* a live peer of this region is fine: the wait times out */
	EXPECT_EQ(-ETIMEDOUT, sx_wait_peer(self->fd, 0, 0, 0, mine));
	e[1].peer_id = 0;
	EXPECT_EQ(-ETIMEDOUT, sx_waitv(self->fd, e, 2, 0));
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
	EXPECT_EQ(0, sx_detach(self->fd));
	EXPECT_EQ(0, sx_detach(other));
	close(other);
}

/*
 * fork() of an attached process creates no peer: the child is not
 * attached (DETACH and OWN say so), its death is nobody's death, and
 * when it ATTACHes it gets a new id.
 */
TEST_F(peer, fork_creates_no_peer)
{
	struct shmipc_event ev[16];
	__u64 mine, child_id;
	int p[2], reader, n;
	pid_t pid;

	reader = reopen(self, 0);
	ASSERT_LE(0, reader);
	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u64 id = 0;

		close(p[0]);
		if (sx_detach(self->fd) != -ENOENT)
			_exit(100);
		if (sx_own(self->fd, 0) != -ENOENT)
			_exit(101);
		if (sx_attach(self->fd, &id))
			_exit(102);
		if (write(p[1], &id, sizeof(id)) != sizeof(id))
			_exit(103);
		pause();
		_exit(104);
	}
	close(p[1]);
	ASSERT_EQ(sizeof(child_id), read(p[0], &child_id, sizeof(child_id)));
	close(p[0]);
	EXPECT_NE(0, child_id);
	EXPECT_NE(mine, child_id);
	EXPECT_EQ(2, sx_nr_peers(self->fd));

	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	EXPECT_TRUE(sx_wait_peers(self->fd, 1, 0));
	/* the death is the child's, the parent is alive and attached */
	n = events_until_marker(self->fd, reader, ev, 16);
	ASSERT_EQ(5, n);
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(mine, ev[0].peer_id);
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[1].type);
	EXPECT_EQ(child_id, ev[1].peer_id);
	EXPECT_EQ(SHMIPC_EVENT_DEATH, ev[2].type);
	EXPECT_EQ(child_id, ev[2].peer_id);
	EXPECT_EQ(pid, ev[2].pid);
	EXPECT_EQ(0, count_events(ev, n, SHMIPC_EVENT_DEATH, mine));
	EXPECT_EQ(-ETIMEDOUT, sx_wait_peer(self->fd, 0, 0, 0, mine));
	EXPECT_EQ(0, sx_detach(self->fd));
	close(reader);
}

TEST_F(peer, death_of_forked_non_peer_child_is_no_event)
{
	struct shmipc_event ev[16];
	int reader, n;
	__u64 mine;
	pid_t a, b;

	reader = reopen(self, 0);
	ASSERT_LE(0, reader);
	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	/* one child killed, one exits, one crashes: none attached */
	a = sx_fork();
	ASSERT_LE(0, a);
	if (a == 0) {
		pause();
		_exit(0);
	}
	b = sx_fork();
	ASSERT_LE(0, b);
	if (b == 0)
		_exit(3);
	EXPECT_EQ(3, sx_reap(b));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(a));

	EXPECT_EQ(1, sx_nr_peers(self->fd));
	n = events_until_marker(self->fd, reader, ev, 16);
	ASSERT_EQ(3, n);
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(mine, ev[0].peer_id);
	EXPECT_EQ(0, count_events(ev, n, SHMIPC_EVENT_DEATH, 0));
	sx_sleep_ms(100);
	EXPECT_EQ(0, sx_drain_events(reader, NULL, 0));
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	EXPECT_EQ(0, sx_detach(self->fd));
	close(reader);
}

/*
 * The attached process P forks C, which inherits P's region fd and
 * outlives P.  P is SIGKILLed: this process (a third one) must see P's
 * DEATH while C still holds the fd open.
 */
TEST_F(peer, inherited_fd_does_not_hide_death)
{
	struct shmipc_event ev;
	struct { __u64 id; pid_t child; } msg;
	int report[2], hold[2];
	pid_t p;
	int status;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, pipe2(report, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(hold, O_CLOEXEC));
	p = sx_fork();
	ASSERT_LE(0, p);
	if (p == 0) {
		pid_t c;
		int fd;

		close(report[0]);
		close(hold[1]);
		/* P's own fd, which C inherits */
		fd = sx_open(self->dev, self->name, 0);
		if (fd < 0)
			_exit(100);
		if (sx_attach(fd, &msg.id))
			_exit(101);
		c = fork();	/* no PDEATHSIG: C outlives P */
		if (c < 0)
			_exit(102);
		if (c == 0) {
			close(report[1]);
			/* hold fd until the test closes hold[1] */
			sx_await_fd(hold[0]);
			_exit(sx_nr_files(fd) > 0 ? 0 : 103);
		}
		msg.child = c;
		if (write(report[1], &msg, sizeof(msg)) != sizeof(msg))
			_exit(104);
		pause();
		_exit(105);
	}
	close(report[1]);
	close(hold[0]);
	ASSERT_EQ(sizeof(msg), read(report[0], &msg, sizeof(msg)));
	close(report[0]);
	/* this fd (inherited by P and C too) and P's own, which C holds */
	ASSERT_EQ(2, sx_nr_files(self->fd));
	ASSERT_EQ(1, sx_nr_peers(self->fd));

	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(p));
	ASSERT_EQ(0, sx_await_event(self->fd, SHMIPC_EVENT_DEATH, msg.id,
				    &ev));
	EXPECT_EQ(p, ev.pid);
	EXPECT_TRUE(WIFSIGNALED(ev.status));
	EXPECT_EQ(SIGKILL, WTERMSIG(ev.status));
	EXPECT_TRUE(sx_wait_peers(self->fd, 0, 0));
	/* C is alive and still holds P's fd */
	EXPECT_EQ(0, kill(msg.child, 0));
	EXPECT_FALSE(sx_exited(msg.child));
	EXPECT_EQ(2, sx_nr_files(self->fd));
	/* P owned nothing: forgotten, a WAIT naming it cannot sleep */
	EXPECT_EQ(-ESRCH, sx_wait_peer(self->fd, 0, 0, SHMIPC_DEADLINE_NONE,
				       msg.id));

	close(hold[1]);
	EXPECT_EQ(msg.child, waitpid(msg.child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, sx_nr_files(self->fd));
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* Closing every fd of a living peer is no death and no leave. */
TEST_F(peer, peer_survives_closing_its_fds)
{
	int go[2];
	__u64 id;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u64 again;
		int fd;

		close(go[1]);
		fd = sx_open(self->dev, self->name, 0);
		if (fd < 0 || sx_attach(fd, &id))
			_exit(100);
		close(fd);
		close(self->fd);
		if (sx_await_fd(go[0]))
			_exit(101);
		/* still the same peer through a new fd */
		fd = sx_open(self->dev, self->name, 0);
		if (fd < 0)
			_exit(102);
		if (sx_attach(fd, &again) != -EBUSY)
			_exit(103);
		_exit(sx_errcode(sx_detach(fd)));
	}
	close(go[0]);
	ASSERT_EQ(0, sx_await_event(self->fd, SHMIPC_EVENT_JOIN, 0, NULL));
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 0));
	/* the child holds no fd of the region now */
	{
		__u64 end = sx_deadline_ms(SX_SOON_MS);

		while (sx_nr_files(self->fd) != 1 && sx_now_ns() < end)
			usleep(1000);
	}
	EXPECT_EQ(1, sx_nr_files(self->fd));
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(0, sx_await_event(self->fd, SHMIPC_EVENT_LEAVE, 0, NULL));
	EXPECT_EQ(0, sx_nr_peers(self->fd));
	EXPECT_EQ(0, sx_drain_events(self->fd, NULL, 0));
	close(go[1]);
}

/* The region goes away under an attached peer, which then dies: no oops. */
TEST_F(peer, region_gone_before_its_peer_dies)
{
	char oname[SHMIPC_NAME_MAX];
	int other, go[2];
	__u64 id;
	pid_t pid;

	snprintf(oname, sizeof(oname), "%.50s-g", self->name);
	other = sx_create(self->dev, oname, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = sx_fork_peer(other, &id);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[0]);
		close(other);	/* only the parent's fd is left */
		sx_signal_fd(go[1]);
		pause();
		_exit(0);
	}
	close(go[1]);
	EXPECT_EQ(1, sx_nr_peers(other));
	ASSERT_EQ(0, sx_await_fd(go[0]));
	close(other);		/* the region is gone */
	EXPECT_EQ(0, sx_dbg_count_name(oname));
	EXPECT_EQ(-ENOENT, sx_dbg_find_peer(id, NULL));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	close(go[0]);
}

TEST_F(peer, max_region_peers_eusers)
{
	static const __u64 own[] = { 0 };
	__u64 a, b, mine;
	pid_t pa, pb;

	ASSERT_EQ(0, sx_param_write("max_region_peers", 2));
	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	pa = sx_fork_owner(self->fd, own, 1, NULL, 0, &a);
	ASSERT_LE(0, pa);
	EXPECT_EQ(2, sx_nr_peers(self->fd));

	/* a third process is one too many */
	pb = sx_fork();
	ASSERT_LE(0, pb);
	if (pb == 0)
		_exit(sx_errcode(sx_attach(self->fd, &b)));
	EXPECT_EQ(EUSERS, sx_reap(pb));
	EXPECT_EQ(2, sx_nr_peers(self->fd));

	/* a dead peer that owned a word still counts until RECLAIM */
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pa));
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 1));
	pb = sx_fork();
	ASSERT_LE(0, pb);
	if (pb == 0)
		_exit(sx_errcode(sx_attach(self->fd, &b)));
	EXPECT_EQ(EUSERS, sx_reap(pb));
	ASSERT_EQ(0, sx_reclaim(self->fd, a));
	pb = sx_fork();
	ASSERT_LE(0, pb);
	if (pb == 0)
		_exit(sx_errcode(sx_attach(self->fd, &b)));
	EXPECT_EQ(0, sx_reap(pb));
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 0));

	/* a lower limit does not evict anyone; a higher one admits more */
	ASSERT_EQ(0, sx_param_write("max_region_peers", 1));
	EXPECT_EQ(1, sx_nr_peers(self->fd));
	pb = sx_fork();
	ASSERT_LE(0, pb);
	if (pb == 0)
		_exit(sx_errcode(sx_attach(self->fd, &b)));
	EXPECT_EQ(EUSERS, sx_reap(pb));
	ASSERT_EQ(0, sx_param_write("max_region_peers", 3));
	pb = sx_fork();
	ASSERT_LE(0, pb);
	if (pb == 0)
		_exit(sx_errcode(sx_attach(self->fd, &b)));
	EXPECT_EQ(0, sx_reap(pb));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(peer, debugfs_lists_peers)
{
	static const __u64 own[] = { 0, 8 };
	struct shmipc_info info;
	struct sx_dbg_peer dp;
	__u64 mine, child;
	pid_t pid;

	ASSERT_EQ(0, sx_info(self->fd, &info));
	EXPECT_EQ(0, sx_dbg_count_peers(info.id));
	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	ASSERT_EQ(0, sx_dbg_find_peer(mine, &dp));
	EXPECT_EQ(info.id, dp.region);
	EXPECT_EQ(getpid(), dp.pid);
	EXPECT_STREQ("attached", dp.state);
	EXPECT_EQ(0, dp.owned);
	EXPECT_EQ(0, dp.status);

	pid = sx_fork_owner(self->fd, own, 2, NULL, 0, &child);
	ASSERT_LE(0, pid);
	EXPECT_EQ(2, sx_dbg_count_peers(info.id));
	ASSERT_EQ(0, sx_dbg_find_peer(child, &dp));
	EXPECT_EQ(info.id, dp.region);
	EXPECT_EQ(pid, dp.pid);
	EXPECT_STREQ("attached", dp.state);
	EXPECT_EQ(2, dp.owned);

	/* dead and marked (it owned words): listed as dead, with its status */
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 1));
	ASSERT_EQ(0, sx_dbg_find_peer(child, &dp));
	EXPECT_STREQ("dead", dp.state);
	EXPECT_EQ(pid, dp.pid);
	EXPECT_EQ(2, dp.owned);
	EXPECT_TRUE(WIFSIGNALED(dp.status));
	EXPECT_EQ(SIGKILL, WTERMSIG(dp.status));

	/* reclaimed: gone */
	ASSERT_EQ(0, sx_reclaim(self->fd, child));
	EXPECT_EQ(-ENOENT, sx_dbg_find_peer(child, NULL));
	EXPECT_EQ(1, sx_dbg_count_peers(info.id));
	/* detached: gone */
	ASSERT_EQ(0, sx_detach(self->fd));
	EXPECT_EQ(-ENOENT, sx_dbg_find_peer(mine, NULL));
	EXPECT_EQ(0, sx_dbg_count_peers(info.id));

	/* attached when the region goes: no line is left behind */
	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	EXPECT_EQ(1, sx_dbg_count_peers(info.id));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, sx_dbg_count_peers(info.id));
	EXPECT_EQ(0, sx_dbg_peers(NULL, 0));
}

TEST_HARNESS_MAIN
