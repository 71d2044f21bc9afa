// SPDX-License-Identifier: GPL-2.0
/*
 * Region lifetime: a name lives while a file description (or mapping)
 * refers to the region, or until UNLINK if it is persistent; holders of
 * an unlinked region keep using it; a crash leaks nothing; region fds are
 * close-on-exec.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "shmipc_test.h"

/*
 * exec() mode: this binary re-executes itself (/proc/self/exe) with
 * SX_EXEC_FD=<fd> [SX_EXEC_NAME=<name>] in its environment and exits
 * before the harness starts:
 *   without SX_EXEC_NAME: 0 if fd is closed (F_GETFD fails with EBADF);
 *   with SX_EXEC_NAME:    0 if fd is an open region fd of that name.
 */
static void __attribute__((constructor)) exec_mode(void)
{
	const char *fdstr = getenv("SX_EXEC_FD");
	const char *name = getenv("SX_EXEC_NAME");
	struct shmipc_info info;
	int fd;

	if (!fdstr)
		return;
	fd = atoi(fdstr);
	if (!name) {
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
			_exit(0);
		_exit(1);
	}
	if (sx_info(fd, &info))
		_exit(2);
	_exit(strcmp(info.name, name) ? 3 : 0);
}

/* Run /proc/self/exe in exec mode in a child; returns its exit code. */
static int exec_check(int fd, const char *name)
{
	char fdstr[16];
	pid_t pid;

	snprintf(fdstr, sizeof(fdstr), "%d", fd);
	pid = sx_fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[] = { "lifetime_test-exec", NULL };

		setenv("SX_EXEC_FD", fdstr, 1);
		if (name)
			setenv("SX_EXEC_NAME", name, 1);
		else
			unsetenv("SX_EXEC_NAME");
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return sx_reap(pid);
}

FIXTURE(life) {
	int dev;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(life)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	sx_unique_name(self->name, "life");
}

FIXTURE_TEARDOWN(life)
{
	/* persistent regions outlive the test process: never leave one */
	sx_unlink(self->dev, self->name);
	close(self->dev);
}

TEST_F(life, name_gone_when_last_fd_closes)
{
	struct shmipc_info info;
	struct sx_dbg_region r;
	int fd, fd2;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &info));
	fd2 = sx_open(self->dev, self->name, 0);
	ASSERT_LE(0, fd2);
	/* the creator's fd is not special */
	close(fd);
	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, sx_dbg_find_id(info.id, &r));
	EXPECT_EQ(1, r.files);
	close(fd2);
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(-ENOENT, sx_unlink(self->dev, self->name));
	EXPECT_EQ(-ENOENT, sx_dbg_find_id(info.id, &r));
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
}

TEST_F(life, nr_files_counts_descriptions)
{
	int fd, fd2, st, dup1;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, sx_nr_files(fd));
	/* a dup() shares the description */
	dup1 = dup(fd);
	ASSERT_LE(0, dup1);
	EXPECT_EQ(1, sx_nr_files(fd));
	fd2 = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(2, sx_nr_files(fd));
	st = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, st);
	EXPECT_EQ(3, sx_nr_files(fd));
	close(fd2);
	EXPECT_EQ(2, sx_nr_files(st));
	/* closing one of two dup()s closes no description */
	close(fd);
	EXPECT_EQ(2, sx_nr_files(st));
	close(dup1);
	EXPECT_EQ(1, sx_nr_files(st));
	close(st);
}

TEST_F(life, dup_keeps_region_alive)
{
	int fd, copy;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	ASSERT_LE(100, copy);
	close(fd);
	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, fd) TH_LOG("the dup'ed fd did not keep the name");
	close(fd);
	close(copy);
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
}

TEST_F(life, inherited_fd_keeps_region_alive)
{
	int go[2], fd;
	pid_t pid;

	ASSERT_EQ(0, pipe(go));
	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		sx_await_fd(go[0]);	/* holds fd until told (or EOF) */
		_exit(sx_nr_files(fd) == 1 ? 0 : 1);
	}
	close(go[0]);
	close(fd);
	/* only the child's copy is left, and it keeps the name */
	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
	close(go[1]);
}

TEST_F(life, crash_leaves_nothing)
{
	int ready[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = sx_create(self->dev, self->name, 1 << 20, 0600,
				   SHMIPC_CREATE_EXCL);
		volatile __u32 *p;

		if (fd < 0)
			_exit(sx_errcode(fd));
		p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (p == MAP_FAILED)
			_exit(100);
		p[0] = 1;
		sx_signal_fd(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	ASSERT_EQ(0, sx_await_fd(ready[0]));
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, sx_reap(pid));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
	close(ready[0]);
}

TEST_F(life, persistent_survives_close)
{
	struct shmipc_info info;
	struct sx_dbg_region r;
	volatile __u32 *p;
	int fd;

	fd = sx_create(self->dev, self->name, 8192, 0640,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_EQ(SHMIPC_INFO_PERSISTENT,
		  info.flags & (SHMIPC_INFO_PERSISTENT | SHMIPC_INFO_UNLINKED));
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[1500] = 0x5eed;
	munmap((void *)p, 8192);
	close(fd);

	/* no fd, no mapping: still there, with its memory */
	ASSERT_EQ(0, sx_dbg_find_id(info.id, &r));
	EXPECT_STREQ("p", r.flags);
	EXPECT_EQ(0, r.files);
	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("persistent region lost: %s", strerror(-fd));
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x5eed, p[1500]);
	munmap((void *)p, 8192);
	close(fd);

	/* UNLINK ends it */
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(-ENOENT, sx_dbg_find_id(info.id, &r));
	EXPECT_EQ(-ENOENT, sx_unlink(self->dev, self->name));
}

TEST_F(life, persistent_unlinked_while_open)
{
	struct shmipc_info info;
	struct sx_dbg_region r;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600,
		       SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_EQ(SHMIPC_INFO_PERSISTENT | SHMIPC_INFO_UNLINKED,
		  info.flags & (SHMIPC_INFO_PERSISTENT | SHMIPC_INFO_UNLINKED));
	ASSERT_EQ(0, sx_dbg_find_id(info.id, &r));
	EXPECT_STREQ("pu", r.flags);
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	/* the last close frees it */
	close(fd);
	EXPECT_EQ(-ENOENT, sx_dbg_find_id(info.id, &r));
}

TEST_F(life, persistent_reopened_by_create)
{
	struct shmipc_info a, b;
	__u32 result = 0xff;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &a));
	close(fd);
	fd = sx_create_res(self->dev, self->name, 4096, 0600, 0, &result);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, result);
	ASSERT_EQ(0, sx_info(fd, &b));
	EXPECT_EQ(a.id, b.id);
	EXPECT_EQ(SHMIPC_INFO_PERSISTENT, b.flags & SHMIPC_INFO_PERSISTENT);
	EXPECT_EQ(-EEXIST, sx_create(self->dev, self->name, 4096, 0600,
				     SHMIPC_CREATE_EXCL));
	close(fd);
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	/* a new EXCL create works after the unlink, with a new id */
	fd = sx_create_res(self->dev, self->name, 4096, 0600,
			   SHMIPC_CREATE_EXCL, &result);
	ASSERT_LE(0, fd);
	EXPECT_EQ(SHMIPC_RESULT_CREATED, result);
	ASSERT_EQ(0, sx_info(fd, &b));
	EXPECT_NE(a.id, b.id);
	EXPECT_EQ(0, b.flags & SHMIPC_INFO_PERSISTENT);
	close(fd);
}

TEST_F(life, unlink_while_open_holders_keep_working)
{
	struct shmipc_info info;
	struct sx_dbg_region r;
	volatile __u32 *p, *q;
	int fd, fd2;
	pid_t pid;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	fd2 = sx_open(self->dev, self->name, 0);
	ASSERT_LE(0, fd2);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);

	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, 0));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(-ENOENT, sx_unlink(self->dev, self->name));
	ASSERT_EQ(0, sx_info(fd2, &info));
	EXPECT_EQ(SHMIPC_INFO_UNLINKED, info.flags & SHMIPC_INFO_UNLINKED);
	EXPECT_STREQ(self->name, info.name);
	EXPECT_EQ(2, info.nr_files);
	ASSERT_EQ(0, sx_dbg_find_id(info.id, &r));
	EXPECT_STREQ("u", r.flags);

	/* mapping through the other holder, after the unlink */
	q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	ASSERT_NE(MAP_FAILED, q);
	p[5] = 55;
	EXPECT_EQ(55, q[5]);

	/* wait and wake still work */
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sx_errcode(sx_wait(fd2, 0, 0,
					 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	ASSERT_TRUE(sx_wait_waiters(fd, 1));
	p[0] = 1;
	EXPECT_EQ(1, sx_wake(fd, 0, 1));
	EXPECT_EQ(0, sx_reap(pid));

	munmap((void *)p, 4096);
	munmap((void *)q, 4096);
	close(fd);
	close(fd2);
	EXPECT_EQ(-ENOENT, sx_dbg_find_id(info.id, &r));
}

/*
 * A mapping keeps the memory, not the name: with no fd left a
 * non-persistent region is gone (OPEN: ENOENT, debugfs: no line), yet the
 * mapping still reads and writes its pages, and nothing counts it.
 */
TEST_F(life, mapping_keeps_memory_not_name)
{
	volatile __u32 *p;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(1, sx_nr_files(fd));
	p[7] = 77;
	close(fd);

	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
	EXPECT_EQ(77, p[7]);
	p[7] = 78;
	EXPECT_EQ(78, p[7]);
	/* the name is free again: a new region of that name is new memory */
	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	{
		volatile __u32 *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED,
					 fd, 0);

		ASSERT_NE(MAP_FAILED, q);
		EXPECT_EQ(0, q[7]);
		munmap((void *)q, 4096);
	}
	close(fd);
	munmap((void *)p, 4096);
}

TEST_F(life, mapping_keeps_memory_after_unlink_and_close)
{
	volatile __u32 *p;
	pid_t pid;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	close(fd);
	/* memory still shared with a child through the mapping */
	p[0] = 1;
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		p[1] = p[0] + 1;
		_exit(0);
	}
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(2, p[1]);
	munmap((void *)p, 4096);
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
}

TEST_F(life, create_fd_is_cloexec_across_exec)
{
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* the exec'ed program does not have it */
	EXPECT_EQ(0, exec_check(fd, NULL));
	/* control: the same fd without FD_CLOEXEC does cross exec */
	ASSERT_EQ(0, fcntl(fd, F_SETFD, 0));
	EXPECT_EQ(0, exec_check(fd, self->name));
	close(fd);
}

TEST_F(life, open_fds_are_cloexec_across_exec)
{
	int fd, rw, ro, st;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	rw = sx_open(self->dev, self->name, 0);
	ro = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	st = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, rw);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, st);
	EXPECT_EQ(0, exec_check(rw, NULL));
	EXPECT_EQ(0, exec_check(ro, NULL));
	EXPECT_EQ(0, exec_check(st, NULL));
	/* control: a plain dup() has no FD_CLOEXEC and survives */
	fd = dup(ro);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, exec_check(fd, self->name));
	close(rw);
	close(ro);
	close(st);
	close(fd);
}

TEST_F(life, region_survives_dev_close)
{
	volatile __u32 *p;
	int fd, dev2;

	/* the control fd is only a door: closing it changes nothing */
	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	close(self->dev);
	self->dev = -1;
	EXPECT_EQ(1, sx_nr_files(fd));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 3;
	EXPECT_EQ(-EAGAIN, sx_wait(fd, 0, 0, 0));
	dev2 = sx_dev_open();
	ASSERT_LE(0, dev2);
	EXPECT_EQ(-EEXIST, sx_create(dev2, self->name, 4096, 0600,
				     SHMIPC_CREATE_EXCL));
	self->dev = dev2;
	munmap((void *)p, 4096);
	close(fd);
}

TEST_HARNESS_MAIN
