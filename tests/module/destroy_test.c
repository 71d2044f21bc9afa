// SPDX-License-Identifier: GPL-2.0
/*
 * UNLINK with SHMIPC_UNLINK_DESTROY: the name goes and the region is torn
 * down: blocked waiters (WAIT, WAITV, whatever peer they name) return
 * -EIDRM, pollers see POLLHUP, readers get their pending events then 0,
 * and new WAIT, WAITV, ATTACH and mmap calls give -EIDRM; INFO says
 * SHMIPC_INFO_DESTROYED.  Only the owner, the creator or CAP_IPC_OWNER
 * may destroy.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define REGION_SIZE	4096
#define NR_READ		0	/* x86-64 */
#define NR_POLL		7
#define NR_PPOLL	271
#define UID_A		1000
#define GID_A		1000

FIXTURE(destroy) {
	int dev;
	int fd;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(destroy)
{
	ASSERT_EQ(0, geteuid());
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	sx_unique_name(self->name, "destroy");
	self->fd = sx_create(self->dev, self->name, REGION_SIZE, 0666,
			     SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(destroy)
{
	sx_unlink(self->dev, self->name);
	if (self->fd >= 0)
		close(self->fd);
	close(self->dev);
}

static bool destroyed(int fd)
{
	struct shmipc_info info;

	return sx_info(fd, &info) == 0 &&
	       (info.flags & SHMIPC_INFO_DESTROYED);
}

TEST_F(destroy, blocked_waiters_eidrm)
{
	char oname[SHMIPC_NAME_MAX];
	pid_t w_any, w_named, w_v, w_other;
	struct shmipc_info info;
	int other;
	__u64 mine;

	snprintf(oname, sizeof(oname), "%.50s-o", self->name);
	other = sx_create(self->dev, oname, REGION_SIZE, 0600,
			  SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, sx_attach(self->fd, &mine));

	w_any = sx_fork();
	ASSERT_LE(0, w_any);
	if (w_any == 0)
		_exit(sx_errcode(sx_wait_peer(self->fd, 0, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), 0)));
	w_named = sx_fork();
	ASSERT_LE(0, w_named);
	if (w_named == 0)
		_exit(sx_errcode(sx_wait_peer(self->fd, 4, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), mine)));
	/* a vector over both regions: the destroyed one ends it */
	w_v = sx_fork();
	ASSERT_LE(0, w_v);
	if (w_v == 0) {
		struct shmipc_waitv_entry e[2];

		sx_entry(&e[0], other, 0, 0);
		sx_entry(&e[1], self->fd, 8, 0);
		_exit(sx_errcode(sx_waitv(other, e, 2,
				 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	}
	/* a waiter of the other region only: untouched */
	w_other = sx_fork();
	ASSERT_LE(0, w_other);
	if (w_other == 0)
		_exit(sx_errcode(sx_wait(other, 4, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	ASSERT_TRUE(sx_wait_waiters(self->fd, 3));
	ASSERT_TRUE(sx_wait_waiters(other, 2));

	ASSERT_EQ(0, sx_destroy(self->dev, self->name));
	EXPECT_EQ(EIDRM, sx_reap(w_any));
	EXPECT_EQ(EIDRM, sx_reap(w_named));
	EXPECT_EQ(EIDRM, sx_reap(w_v));
	EXPECT_TRUE(sx_wait_waiters(other, 1));
	EXPECT_FALSE(sx_exited(w_other));
	EXPECT_EQ(1, sx_wake(other, 4, 1));
	EXPECT_EQ(0, sx_reap(w_other));

	ASSERT_EQ(0, sx_info(self->fd, &info));
	EXPECT_EQ(SHMIPC_INFO_DESTROYED, info.flags & SHMIPC_INFO_DESTROYED);
	EXPECT_EQ(SHMIPC_INFO_UNLINKED, info.flags & SHMIPC_INFO_UNLINKED);
	EXPECT_EQ(0, info.nr_waiters);
	EXPECT_FALSE(destroyed(other));
	close(other);
}

/* A reader asleep in read() returns 0; a poller wakes with POLLHUP. */
TEST_F(destroy, blocked_reader_and_poller_wake)
{
	pid_t reader, poller;
	int ready[2];

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	reader = sx_fork();
	ASSERT_LE(0, reader);
	if (reader == 0) {
		struct shmipc_event ev;
		int fd = sx_open(self->dev, self->name, 0);

		close(ready[0]);
		if (fd < 0)
			_exit(100);
		sx_signal_fd(ready[1]);
		_exit(read(fd, &ev, sizeof(ev)) == 0 ? 0 : 101);
	}
	poller = sx_fork();
	ASSERT_LE(0, poller);
	if (poller == 0) {
		int fd = sx_open(self->dev, self->name, 0), r;

		close(ready[0]);
		if (fd < 0)
			_exit(100);
		sx_signal_fd(ready[1]);
		r = sx_poll(fd, POLLIN, SX_CHILD_WAIT_MS);
		_exit(r & POLLHUP ? 0 : 101);
	}
	close(ready[1]);
	ASSERT_EQ(0, sx_await_fd(ready[0]));
	ASSERT_EQ(0, sx_await_fd(ready[0]));
	close(ready[0]);
	ASSERT_TRUE(sx_wait_in_syscall(reader, NR_READ, NR_READ));
	ASSERT_TRUE(sx_wait_in_syscall(poller, NR_POLL, NR_PPOLL));
	ASSERT_EQ(0, sx_destroy(self->dev, self->name));
	EXPECT_EQ(0, sx_reap(reader));
	EXPECT_EQ(0, sx_reap(poller));
}

/* Pending events are still read, then read() says end of file. */
TEST_F(destroy, pending_events_then_end_of_file)
{
	struct shmipc_event ev[4];
	int revents, fl;
	__u64 id;

	ASSERT_EQ(0, sx_attach(self->fd, &id));
	ASSERT_EQ(0, sx_detach(self->fd));
	ASSERT_EQ(0, sx_destroy(self->dev, self->name));
	revents = sx_poll(self->fd, POLLIN, 0);
	EXPECT_EQ(POLLIN | POLLHUP, revents & (POLLIN | POLLHUP));
	ASSERT_EQ(2, sx_read_events(self->fd, ev, 4));
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(SHMIPC_EVENT_LEAVE, ev[1].type);
	EXPECT_EQ(0, sx_read_events(self->fd, ev, 4));
	EXPECT_EQ(0, sx_read_events(self->fd, ev, 4));
	EXPECT_EQ(POLLHUP, sx_poll(self->fd, POLLIN, 0) & (POLLIN | POLLHUP));
	/* O_NONBLOCK too: end of file, not EAGAIN */
	fl = fcntl(self->fd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(0, sx_read_events(self->fd, ev, 4));
	/* the size rule still holds */
	EXPECT_EQ(-1, read(self->fd, ev, 1));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(destroy, new_calls_eidrm)
{
	struct shmipc_waitv_entry e;
	struct shmipc_info info;
	void *p;
	__u64 id;
	int fd;

	/* a mapping made before keeps working */
	p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, sx_destroy(self->dev, self->name));

	EXPECT_EQ(-EIDRM, sx_wait(self->fd, 0, 0, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(-EIDRM, sx_wait(self->fd, 0, 0, 0));
	sx_entry(&e, self->fd, 0, 0);
	EXPECT_EQ(-EIDRM, sx_waitv(self->fd, &e, 1, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(-EIDRM, sx_attach(self->fd, &id));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, REGION_SIZE, PROT_READ, MAP_SHARED,
				   self->fd, 0));
	EXPECT_EQ(EIDRM, errno);
	EXPECT_EQ(0, sx_nr_waiters(self->fd));
	EXPECT_EQ(0, sx_nr_peers(self->fd));
	ASSERT_EQ(0, sx_info(self->fd, &info));
	EXPECT_TRUE(info.flags & SHMIPC_INFO_DESTROYED);
	EXPECT_TRUE(info.flags & SHMIPC_INFO_UNLINKED);
	*(volatile __u32 *)p = 7;
	EXPECT_EQ(7, *(volatile __u32 *)p);
	munmap(p, REGION_SIZE);

	/* the name is gone: a new region may take it, not destroyed */
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(-ENOENT, sx_destroy(self->dev, self->name));
	fd = sx_create(self->dev, self->name, REGION_SIZE, 0600,
		       SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	EXPECT_FALSE(destroyed(fd));
	EXPECT_EQ(-ETIMEDOUT, sx_wait(fd, 0, 0, 0));
	close(fd);
}

TEST_F(destroy, persistent_region)
{
	char pname[SHMIPC_NAME_MAX];
	int fd;

	snprintf(pname, sizeof(pname), "%.50s-p", self->name);
	fd = sx_create(self->dev, pname, REGION_SIZE, 0600,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_destroy(self->dev, pname));
	EXPECT_TRUE(destroyed(fd));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, pname, SHMIPC_OPEN_STAT));
	EXPECT_EQ(1, sx_dbg_count_name(pname));
	close(fd);
	EXPECT_EQ(0, sx_dbg_count_name(pname));
}

/* Attached peers when the region is torn down: they may die later. */
TEST_F(destroy, peers_die_after_destroy)
{
	__u64 id;
	pid_t pid;

	pid = sx_fork_peer(self->fd, &id);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	ASSERT_EQ(0, sx_destroy(self->dev, self->name));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	/* the kernel is still fine: the fd answers, then the region goes */
	EXPECT_TRUE(sx_wait_peers(self->fd, 0, -1));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
	EXPECT_EQ(-ENOENT, sx_dbg_find_peer(id, NULL));
}

/* Only the owner, the creator or CAP_IPC_OWNER: others get EPERM. */
TEST_F(destroy, others_eperm)
{
	pid_t pid;
	int r, fd;

	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (sx_become(UID_A, GID_A, NULL, 0))
			_exit(100);
		/* it may use the region (mode 0666), not destroy it */
		fd = sx_open(self->dev, self->name, 0);
		if (fd < 0)
			_exit(101);
		r = sx_destroy(self->dev, self->name);
		_exit(sx_errcode(r));
	}
	EXPECT_EQ(EPERM, sx_reap(pid));
	EXPECT_FALSE(destroyed(self->fd));
	EXPECT_EQ(-ETIMEDOUT, sx_wait(self->fd, 0, 0, 0));
	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	EXPECT_LE(0, fd);
	close(fd);

	/* a region of its own: it may */
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char mine[SHMIPC_NAME_MAX];

		if (sx_become(UID_A, GID_A, NULL, 0))
			_exit(100);
		snprintf(mine, sizeof(mine), "%.50s-a", self->name);
		fd = sx_create(self->dev, mine, REGION_SIZE, 0600,
			       SHMIPC_CREATE_EXCL);
		if (fd < 0)
			_exit(101);
		r = sx_destroy(self->dev, mine);
		if (r)
			_exit(sx_errcode(r));
		_exit(destroyed(fd) ? 0 : 102);
	}
	EXPECT_EQ(0, sx_reap(pid));
}

TEST_HARNESS_MAIN
