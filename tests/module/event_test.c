// SPDX-License-Identifier: GPL-2.0
/*
 * Peer events on a region fd: read() of whole records (a buffer smaller
 * than one: -EINVAL), blocking and O_NONBLOCK reads, poll(), one queue
 * per open file description, seq numbers, pids in the reader's pid
 * namespace, and the bounded queue: under a storm of deaths an OVERFLOW
 * record counts what was lost, so that JOIN/DEATH records plus the lost
 * count add up exactly to what happened, and the queue recovers.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define NR_READ		0	/* x86-64 */
#define STORM		200	/* > SHMIPC_EVENT_QUEUE_LEN / 2 peers */
#define CALM		40	/* 2 * CALM < SHMIPC_EVENT_QUEUE_LEN */

FIXTURE(event) {
	int dev;
	int fd;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(event)
{
	ASSERT_EQ(0, geteuid());
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	sx_unique_name(self->name, "event");
	self->fd = sx_create(self->dev, self->name, 4096, 0600,
			     SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(event)
{
	if (self->fd >= 0)
		close(self->fd);
	close(self->dev);
}

/* A child that attaches, detaches and exits: a JOIN and a LEAVE. */
static int join_leave(int fd, __u64 *id, pid_t *pid)
{
	*pid = sx_fork_peer(fd, id);
	if (*pid < 0)
		return -ECHILD;
	if (*pid == 0)
		_exit(sx_errcode(sx_detach(fd)));
	return sx_reap(*pid) ? -ECHILD : 0;
}

TEST_F(event, read_smaller_than_a_record_einval)
{
	struct shmipc_event ev[2];
	char buf[64];
	__u64 id;

	/* nothing pending */
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(ev[0]) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->fd, buf, 0));
	EXPECT_EQ(EINVAL, errno);
	/* one pending: refused, and not consumed */
	ASSERT_EQ(0, sx_attach(self->fd, &id));
	EXPECT_EQ(-1, read(self->fd, buf, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(ev[0]) - 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(1, sx_read_events(self->fd, ev, 2));
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(id, ev[0].peer_id);
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(event, nonblocking_read_eagain_and_poll)
{
	struct shmipc_event ev;
	int fl;
	__u64 id;

	fl = fcntl(self->fd, F_GETFL);
	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, sx_read_events(self->fd, &ev, 1));
	EXPECT_EQ(0, sx_poll(self->fd, POLLIN, 0));
	ASSERT_EQ(0, sx_attach(self->fd, &id));
	EXPECT_EQ(POLLIN, sx_poll(self->fd, POLLIN, 0) & (POLLIN | POLLHUP));
	EXPECT_EQ(1, sx_read_events(self->fd, &ev, 1));
	EXPECT_EQ(-EAGAIN, sx_read_events(self->fd, &ev, 1));
	EXPECT_EQ(0, sx_poll(self->fd, POLLIN, 0));
	EXPECT_EQ(0, sx_detach(self->fd));
	EXPECT_EQ(1, sx_read_events(self->fd, &ev, 1));
	EXPECT_EQ(SHMIPC_EVENT_LEAVE, ev.type);
	EXPECT_EQ(-EAGAIN, sx_read_events(self->fd, &ev, 1));
}

/* A child asleep in read() on its own fd wakes up with our JOIN. */
TEST_F(event, blocking_read_wakes_on_event)
{
	pid_t pid, me = getpid();
	__u64 id;
	int ready[2];

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_event ev[4];
		int fd, n;

		close(ready[0]);
		fd = sx_open(self->dev, self->name, 0);
		if (fd < 0)
			_exit(100);
		sx_signal_fd(ready[1]);
		n = sx_read_events(fd, ev, 4);
		if (n != 1)
			_exit(101);
		if (ev[0].type != SHMIPC_EVENT_JOIN || ev[0].pid != me)
			_exit(102);
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(0, sx_await_fd(ready[0]));
	close(ready[0]);
	ASSERT_TRUE(sx_wait_in_syscall(pid, NR_READ, NR_READ));
	ASSERT_EQ(0, sx_attach(self->fd, &id));
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(0, sx_detach(self->fd));
}

TEST_F(event, records_fields_and_increasing_seq)
{
	struct shmipc_event ev[16];
	pid_t leaver, victim;
	__u64 mine, lid, vid;
	int n, i;

	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	ASSERT_EQ(0, join_leave(self->fd, &lid, &leaver));
	victim = sx_fork_peer(self->fd, &vid);
	ASSERT_LE(0, victim);
	if (victim == 0) {
		pause();
		_exit(0);
	}
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(victim));
	ASSERT_TRUE(sx_wait_peers(self->fd, 1, 0));
	ASSERT_EQ(0, sx_detach(self->fd));

	n = sx_drain_events(self->fd, ev, 16);
	ASSERT_EQ(6, n);
	/* a fresh region counts from 1, with no gap */
	for (i = 0; i < n; i++) {
		EXPECT_EQ((__u64)i + 1, ev[i].seq) TH_LOG("event %d", i);
		EXPECT_EQ(0, ev[i].flags) TH_LOG("event %d", i);
	}
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(mine, ev[0].peer_id);
	EXPECT_EQ(getpid(), ev[0].pid);
	EXPECT_EQ(0, ev[0].status);
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[1].type);
	EXPECT_EQ(lid, ev[1].peer_id);
	EXPECT_EQ(leaver, ev[1].pid);
	EXPECT_EQ(SHMIPC_EVENT_LEAVE, ev[2].type);
	EXPECT_EQ(lid, ev[2].peer_id);
	EXPECT_EQ(leaver, ev[2].pid);
	EXPECT_EQ(0, ev[2].status);
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[3].type);
	EXPECT_EQ(vid, ev[3].peer_id);
	EXPECT_EQ(victim, ev[3].pid);
	EXPECT_EQ(SHMIPC_EVENT_DEATH, ev[4].type);
	EXPECT_EQ(vid, ev[4].peer_id);
	EXPECT_EQ(victim, ev[4].pid);
	EXPECT_TRUE(WIFSIGNALED(ev[4].status));
	EXPECT_EQ(SIGKILL, WTERMSIG(ev[4].status));
	EXPECT_EQ(SHMIPC_EVENT_LEAVE, ev[5].type);
	EXPECT_EQ(mine, ev[5].peer_id);
	EXPECT_EQ(getpid(), ev[5].pid);
}

/*
 * Each open file description has its own queue (dup()s share it) and
 * sees the events posted after it was opened; seq is per region.
 */
TEST_F(event, one_queue_per_open_file)
{
	struct shmipc_event ev[4];
	int late, dupfd;
	pid_t pid;
	__u64 a, b;

	dupfd = dup(self->fd);
	ASSERT_LE(0, dupfd);
	ASSERT_EQ(0, join_leave(self->fd, &a, &pid));
	late = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, late);
	EXPECT_EQ(0, sx_poll(late, POLLIN, 0));
	ASSERT_EQ(0, join_leave(self->fd, &b, &pid));

	/* the late fd: only b's two events, seq 3 and 4 */
	ASSERT_EQ(2, sx_drain_events(late, ev, 4));
	EXPECT_EQ(b, ev[0].peer_id);
	EXPECT_EQ(3, ev[0].seq);
	EXPECT_EQ(4, ev[1].seq);
	/* half through the dup, the rest through the original */
	ASSERT_EQ(2, sx_read_events(dupfd, ev, 2));
	EXPECT_EQ(a, ev[0].peer_id);
	EXPECT_EQ(1, ev[0].seq);
	EXPECT_EQ(2, ev[1].seq);
	ASSERT_EQ(2, sx_drain_events(self->fd, ev, 4));
	EXPECT_EQ(b, ev[0].peer_id);
	EXPECT_EQ(3, ev[0].seq);
	EXPECT_EQ(0, sx_poll(dupfd, POLLIN, 0));
	close(late);
	close(dupfd);
}

TEST_F(event, read_returns_whole_records)
{
	struct shmipc_event ev[16];
	char *buf = (char *)ev;
	ssize_t n;
	pid_t pid;
	__u64 id;
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, join_leave(self->fd, &id, &pid));
	}
	/* room for 2.5 records: 2 records */
	n = read(self->fd, buf, sizeof(ev[0]) * 5 / 2);
	EXPECT_EQ((ssize_t)sizeof(ev[0]) * 2, n);
	EXPECT_EQ(1, ev[0].seq);
	EXPECT_EQ(2, ev[1].seq);
	/* room for many: the rest, in one or more reads, in order */
	n = sx_drain_events(self->fd, ev, 16);
	EXPECT_EQ(4, n);
	for (i = 0; i < 4 && i < n; i++) {
		EXPECT_EQ((__u64)i + 3, ev[i].seq);
	}
}

/* A STAT fd "allows INFO and events only": it polls and reads events. */
TEST_F(event, stat_fd_polls_and_reads_events)
{
	struct shmipc_event ev[2];
	__u64 id;
	int st;

	st = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, st);
	EXPECT_EQ(0, sx_poll(st, POLLIN, 0));
	ASSERT_EQ(0, sx_attach(self->fd, &id));
	EXPECT_TRUE(sx_poll(st, POLLIN, 0) & POLLIN);
	EXPECT_EQ(1, sx_read_events(st, ev, 2));
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(id, ev[0].peer_id);
	EXPECT_EQ(0, sx_detach(self->fd));
	close(st);
}

/* A read() that faults loses nothing silently: an OVERFLOW counts it. */
TEST_F(event, read_fault_is_counted)
{
	struct shmipc_event ev[8];
	void *bad;
	pid_t pid;
	__u64 id;
	int n;

	ASSERT_EQ(0, join_leave(self->fd, &id, &pid));	/* seq 1, 2 */
	ASSERT_EQ(0, join_leave(self->fd, &id, &pid));	/* seq 3, 4 */
	/* a buffer of 4 records, unmapped */
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);
	EXPECT_EQ(-1, read(self->fd, bad, 4 * sizeof(ev[0])));
	EXPECT_EQ(EFAULT, errno);
	munmap(bad, 4096);

	ASSERT_EQ(0, join_leave(self->fd, &id, &pid));	/* seq 5, 6 */
	n = sx_drain_events(self->fd, ev, 8);
	ASSERT_EQ(3, n);
	EXPECT_EQ(SHMIPC_EVENT_OVERFLOW, ev[0].type);
	EXPECT_EQ(4, ev[0].status);
	EXPECT_EQ(5, ev[1].seq);
	EXPECT_EQ(id, ev[1].peer_id);
	EXPECT_EQ(6, ev[2].seq);
}

/* pids are those of the reader's pid namespace, 0 if not there. */
TEST_F(event, pids_in_reader_pid_namespace)
{
	struct shmipc_event ev;
	int ready[2], go[2];
	pid_t mid;
	__u64 mine;

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	mid = sx_fork();
	ASSERT_LE(0, mid);
	if (mid == 0) {
		pid_t inner;

		close(ready[0]);
		close(go[1]);
		if (unshare(CLONE_NEWPID))
			_exit(100);
		inner = fork();
		if (inner < 0)
			_exit(101);
		if (inner == 0) {
			struct shmipc_event e;
			__u64 id;
			int fd;

			if (getpid() != 1)
				_exit(102);
			fd = sx_open(self->dev, self->name, 0);
			if (fd < 0)
				_exit(103);
			sx_signal_fd(ready[1]);
			if (sx_await_fd(go[0]))
				_exit(104);
			/* the outer test process: not in this namespace */
			if (sx_next_event(fd, &e, SX_SOON_MS) ||
			    e.type != SHMIPC_EVENT_JOIN || e.pid != 0)
				_exit(105);
			if (sx_attach(fd, &id))
				_exit(106);
			if (sx_next_event(fd, &e, SX_SOON_MS) ||
			    e.type != SHMIPC_EVENT_JOIN || e.peer_id != id ||
			    e.pid != 1)
				_exit(107);
			_exit(sx_errcode(sx_detach(fd)));
		}
		_exit(sx_reap(inner) & 0xff);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(0, sx_await_fd(ready[0]));
	ASSERT_EQ(0, sx_attach(self->fd, &mine));
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(mid));
	/* its JOIN as this process sees it: its real pid, not 1 */
	ASSERT_EQ(0, sx_next_event(self->fd, &ev, SX_SOON_MS));
	EXPECT_EQ(mine, ev.peer_id);
	EXPECT_EQ(getpid(), ev.pid);
	ASSERT_EQ(0, sx_next_event(self->fd, &ev, SX_SOON_MS));
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev.type);
	EXPECT_NE(mine, ev.peer_id);
	EXPECT_LT(1, ev.pid);
	EXPECT_NE(getpid(), ev.pid);
	EXPECT_EQ(0, sx_detach(self->fd));
	close(ready[0]);
	close(go[1]);
}

/* ------------------------------------------------------------------ */
/* many deaths at once */

struct victim {
	pid_t pid;
	__u64 id;
	int joins, deaths;
};

/*
 * Fork @n children that attach to @fd and sleep; fill @v.  0 or -errno.
 * They report (pid, id) through one pipe: writes of 16 bytes are atomic.
 */
static int spawn_victims(int fd, struct victim *v, int n)
{
	struct { __s64 pid; __u64 id; } msg;
	int rp[2], i, j;

	if (pipe2(rp, O_CLOEXEC))
		return -errno;
	for (i = 0; i < n; i++) {
		pid_t pid = sx_fork();

		if (pid < 0)
			return -errno;
		if (pid == 0) {
			close(rp[0]);
			msg.pid = getpid();
			if (sx_attach(fd, &msg.id))
				_exit(100);
			if (write(rp[1], &msg, sizeof(msg)) != sizeof(msg))
				_exit(101);
			close(rp[1]);
			pause();
			_exit(102);
		}
		memset(&v[i], 0, sizeof(v[i]));
		v[i].pid = pid;
	}
	close(rp[1]);
	for (i = 0; i < n; i++) {
		if (read(rp[0], &msg, sizeof(msg)) != sizeof(msg))
			break;
		for (j = 0; j < n; j++)
			if (v[j].pid == (pid_t)msg.pid)
				v[j].id = msg.id;
	}
	close(rp[0]);
	return i == n ? 0 : -ECHILD;
}

static int kill_victims(struct victim *v, int n)
{
	int i, bad = 0;

	for (i = 0; i < n; i++)
		kill(v[i].pid, SIGKILL);
	for (i = 0; i < n; i++)
		if (sx_reap(v[i].pid) != 128 + SIGKILL)
			bad++;
	return bad;
}

static struct victim *find_victim(struct victim *v, int n, __u64 id)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/*
 * Below the bound nothing is lost: CALM peers attach and are killed, and
 * all 2 * CALM records are there, each DEATH with its pid and status.
 */
TEST_F(event, below_the_bound_nothing_lost)
{
	struct shmipc_event ev[SHMIPC_EVENT_QUEUE_LEN + 8];
	struct victim v[CALM];
	int n, i;

	ASSERT_EQ(0, spawn_victims(self->fd, v, CALM));
	EXPECT_EQ(CALM, sx_nr_peers(self->fd));
	EXPECT_EQ(0, kill_victims(v, CALM));
	ASSERT_TRUE(sx_wait_peers(self->fd, 0, 0));

	n = sx_drain_events(self->fd, ev, SHMIPC_EVENT_QUEUE_LEN + 8);
	ASSERT_EQ(2 * CALM, n);
	for (i = 0; i < n; i++) {
		struct victim *p = find_victim(v, CALM, ev[i].peer_id);

		EXPECT_EQ((__u64)i + 1, ev[i].seq);
		ASSERT_NE(NULL, p) TH_LOG("event %d: unknown peer %llu", i,
					  (unsigned long long)ev[i].peer_id);
		EXPECT_EQ(p->pid, ev[i].pid);
		if (ev[i].type == SHMIPC_EVENT_JOIN) {
			EXPECT_EQ(0, p->deaths);
			p->joins++;
		} else {
			EXPECT_EQ(SHMIPC_EVENT_DEATH, ev[i].type);
			EXPECT_TRUE(WIFSIGNALED(ev[i].status));
			EXPECT_EQ(SIGKILL, WTERMSIG(ev[i].status));
			p->deaths++;
		}
	}
	for (i = 0; i < CALM; i++) {
		EXPECT_EQ(1, v[i].joins) TH_LOG("peer %d", i);
		EXPECT_EQ(1, v[i].deaths) TH_LOG("peer %d", i);
	}
}

/*
 * A storm: STORM peers attach and are SIGKILLed while nobody reads, 2 *
 * STORM events for a queue of SHMIPC_EVENT_QUEUE_LEN.  Nothing is lost
 * silently: records plus the counts of OVERFLOW records add up exactly,
 * seq shows the gaps, and the queue works normally afterwards.
 */
TEST_F_TIMEOUT(event, overflow_is_counted_and_recovers, 120)
{
	static struct shmipc_event ev[2 * STORM + 16];
	static struct victim v[STORM];
	int n, i, joins = 0, deaths = 0, overflows = 0, kept = 0;
	__u64 lost = 0, next_seq = 1, id;
	pid_t pid;

	ASSERT_EQ(0, spawn_victims(self->fd, v, STORM));
	EXPECT_EQ(STORM, sx_nr_peers(self->fd));
	EXPECT_EQ(0, kill_victims(v, STORM));
	ASSERT_TRUE(sx_wait_peers(self->fd, 0, 0));

	n = sx_drain_events(self->fd, ev, 2 * STORM + 16);
	ASSERT_LT(0, n);
	ASSERT_GE(2 * STORM + 16, n);
	for (i = 0; i < n; i++) {
		if (ev[i].type == SHMIPC_EVENT_OVERFLOW) {
			overflows++;
			EXPECT_NE(0, ev[i].status);
			EXPECT_EQ(0, ev[i].seq);
			EXPECT_EQ(0, ev[i].peer_id);
			lost += ev[i].status;
			next_seq += ev[i].status;
			continue;
		}
		kept++;
		EXPECT_EQ(next_seq, ev[i].seq) TH_LOG("event %d", i);
		next_seq = ev[i].seq + 1;
		EXPECT_NE(NULL, find_victim(v, STORM, ev[i].peer_id));
		if (ev[i].type == SHMIPC_EVENT_JOIN)
			joins++;
		else if (ev[i].type == SHMIPC_EVENT_DEATH)
			deaths++;
		else
			TH_LOG("event %d: type %u", i, ev[i].type);
	}
	TH_LOG("%d records (%d JOIN, %d DEATH), %d OVERFLOW, %llu lost",
	       n, joins, deaths, overflows, (unsigned long long)lost);
	EXPECT_LE(1, overflows);
	EXPECT_GE(SHMIPC_EVENT_QUEUE_LEN, kept);
	EXPECT_EQ(kept, joins + deaths);
	EXPECT_EQ(2 * STORM, joins + deaths + (int)lost);
	EXPECT_EQ(2 * STORM + 1, next_seq);

	/* recovered: the next event arrives whole, right after the gap */
	ASSERT_EQ(0, join_leave(self->fd, &id, &pid));
	ASSERT_EQ(2, sx_drain_events(self->fd, ev, 4));
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(id, ev[0].peer_id);
	EXPECT_EQ(pid, ev[0].pid);
	EXPECT_EQ(next_seq, ev[0].seq);
	EXPECT_EQ(SHMIPC_EVENT_LEAVE, ev[1].type);
	EXPECT_EQ(next_seq + 1, ev[1].seq);
}

/*
 * An OVERFLOW record stands where the events were lost, also in the
 * middle of the queue: 138 events fill the queue and lose 10, five
 * records are read, then two more events come: OVERFLOW(10) is queued
 * before them, and seq resumes right after the gap.
 */
TEST_F_TIMEOUT(event, overflow_record_where_events_were_lost, 120)
{
	static struct shmipc_event ev[SHMIPC_EVENT_QUEUE_LEN + 16];
	const int pairs = (SHMIPC_EVENT_QUEUE_LEN + 10) / 2;
	int n, i, overflows = 0, at = -1;
	__u64 next_seq = 1, lost = 0, id;
	pid_t pid;

	for (i = 0; i < pairs; i++) {
		ASSERT_EQ(0, join_leave(self->fd, &id, &pid));
	}
	ASSERT_EQ(5, sx_read_events(self->fd, ev, 5));
	for (i = 0; i < 5; i++) {
		EXPECT_EQ((__u64)i + 1, ev[i].seq);
	}
	ASSERT_EQ(0, join_leave(self->fd, &id, &pid));

	n = sx_drain_events(self->fd, ev, SHMIPC_EVENT_QUEUE_LEN + 16);
	next_seq = 6;
	for (i = 0; i < n; i++) {
		if (ev[i].type == SHMIPC_EVENT_OVERFLOW) {
			overflows++;
			at = i;
			lost += ev[i].status;
			next_seq += ev[i].status;
			continue;
		}
		EXPECT_EQ(next_seq, ev[i].seq) TH_LOG("event %d", i);
		next_seq = ev[i].seq + 1;
	}
	EXPECT_EQ(1, overflows);
	EXPECT_EQ(10, lost);
	/* the last two records are the new JOIN and LEAVE, after it */
	ASSERT_LE(2, n);
	EXPECT_EQ(n - 3, at);
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[n - 2].type);
	EXPECT_EQ(id, ev[n - 2].peer_id);
	EXPECT_EQ(SHMIPC_EVENT_LEAVE, ev[n - 1].type);
	EXPECT_EQ((__u64)2 * pairs + 2, ev[n - 1].seq);
	/* 5 read before + n - 1 records + 10 lost = every event */
	EXPECT_EQ(2 * pairs + 2, 5 + (n - overflows) + (int)lost);
}

/*
 * A reader that keeps up during the same storm loses nothing: a child
 * reads its own fd and tells how far it got; the storm comes in waves of
 * 20 peers (40 events) and each wave waits until the reader caught up.
 */
TEST_F_TIMEOUT(event, reader_keeping_up_loses_nothing, 120)
{
	static struct victim v[STORM];
	volatile int *progress;
	__u64 end;
	int reader, i;
	pid_t rd;

	progress = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, progress);
	progress[0] = 0;
	reader = sx_open(self->dev, self->name, 0);
	ASSERT_LE(0, reader);
	rd = sx_fork();
	ASSERT_LE(0, rd);
	if (rd == 0) {
		struct shmipc_event ev[8];
		__u64 next_seq = 1;
		int n, k, got = 0;

		while (got < 2 * STORM) {
			n = sx_read_events(reader, ev, 8);
			if (n <= 0)
				_exit(100);
			for (k = 0; k < n; k++) {
				if (ev[k].type == SHMIPC_EVENT_OVERFLOW)
					_exit(101);
				if (ev[k].seq != next_seq)
					_exit(102);
				next_seq++;
				got++;
			}
			__atomic_store_n(&progress[0], got, __ATOMIC_SEQ_CST);
		}
		_exit(0);
	}
	close(reader);
	for (i = 0; i < STORM; i += 20) {
		ASSERT_EQ(0, spawn_victims(self->fd, &v[i], 20));
		EXPECT_EQ(0, kill_victims(&v[i], 20));
		ASSERT_TRUE(sx_wait_peers(self->fd, 0, 0));
		end = sx_deadline_ms(SX_SOON_MS);
		while (__atomic_load_n(&progress[0], __ATOMIC_SEQ_CST) <
		       2 * (i + 20) && sx_now_ns() < end)
			usleep(1000);
		ASSERT_EQ(2 * (i + 20), progress[0]);
	}
	EXPECT_EQ(0, sx_reap(rd));
	munmap((void *)progress, 4096);
}

TEST_HARNESS_MAIN
