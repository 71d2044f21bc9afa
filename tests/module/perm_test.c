// SPDX-License-Identifier: GPL-2.0
/*
 * Permissions (SysV IPC rules: owner, then group, then other bits;
 * CAP_IPC_OWNER overrides), STAT opens, and name isolation between user
 * namespaces.
 *
 * Runs in the VM as root with the module loaded: children drop to other
 * uids/gids with setresuid()/setresgid() (losing every capability), or
 * enter a new user namespace with unshare(CLONE_NEWUSER).
 */
#define _GNU_SOURCE
#include <sched.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define UID_A	1000
#define GID_A	1000
#define UID_B	2000
#define GID_B	2000
#define GID_SHARED 3000

FIXTURE(perm) {
	int dev;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(perm)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	ASSERT_EQ(0, geteuid()) TH_LOG("these tests run as root");
	sx_unique_name(self->name, "perm");
}

FIXTURE_TEARDOWN(perm)
{
	sx_unlink(self->dev, self->name);
	close(self->dev);
}

/* What a child does after dropping to another identity. */
enum act {
	ACT_OPEN_RW,
	ACT_OPEN_RO,
	ACT_OPEN_STAT,
	ACT_CREATE_EXISTING,	/* CREATE without EXCL of an existing name */
	ACT_UNLINK,
	ACT_MAP_RO,		/* open RDONLY, map, check word 0 == 0x5a */
	ACT_WRITE_RW,		/* open RW, map, store 0xa5 into word 1 */
};

/*
 * Fork, drop to (uid, gid, one supplementary group or none), do @act on
 * @name through the inherited control fd; returns the child's exit code:
 * 0 or the errno of the failed call (codes >= 100 are test errors).
 */
static int as_user(int dev, const char *name, uid_t uid, gid_t gid,
		   gid_t extra_group, enum act act)
{
	pid_t pid = sx_fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		gid_t groups[1] = { extra_group };
		volatile __u32 *p;
		int fd;

		if (sx_become(uid, gid, groups, extra_group ? 1 : 0))
			_exit(100);
		if (geteuid() != uid || setresuid(0, 0, 0) == 0)
			_exit(101);	/* must have really dropped root */
		switch (act) {
		case ACT_OPEN_RW:
			_exit(sx_errcode(sx_open(dev, name, 0)));
		case ACT_OPEN_RO:
			_exit(sx_errcode(sx_open(dev, name,
						 SHMIPC_OPEN_RDONLY)));
		case ACT_OPEN_STAT:
			_exit(sx_errcode(sx_open(dev, name, SHMIPC_OPEN_STAT)));
		case ACT_CREATE_EXISTING:
			_exit(sx_errcode(sx_create(dev, name, 4096, 0666, 0)));
		case ACT_UNLINK:
			_exit(sx_errcode(sx_unlink(dev, name)));
		case ACT_MAP_RO:
			fd = sx_open(dev, name, SHMIPC_OPEN_RDONLY);
			if (fd < 0)
				_exit(sx_errcode(fd));
			p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				_exit(errno);
			_exit(p[0] == 0x5a ? 0 : 110);
		case ACT_WRITE_RW:
			fd = sx_open(dev, name, 0);
			if (fd < 0)
				_exit(sx_errcode(fd));
			p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				_exit(errno);
			p[1] = 0xa5;
			_exit(0);
		}
		_exit(120);
	}
	return sx_reap(pid);
}

static volatile __u32 *map_rw(int fd)
{
	volatile __u32 *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

TEST_F(perm, mode_0600_other_uid_eacces)
{
	int fd = sx_create(self->dev, self->name, 4096, 0600, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_OPEN_RW));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_OPEN_RO));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_CREATE_EXISTING));
	/* the same gid as the region does not help: group bits are 0 */
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, 0, 0,
				  ACT_OPEN_RO));
	/* nothing got opened */
	EXPECT_EQ(1, sx_nr_files(fd));
	close(fd);
}

TEST_F(perm, mode_0644_other_reads_only)
{
	volatile __u32 *p;
	int fd = sx_create(self->dev, self->name, 4096, 0644, 0);

	ASSERT_LE(0, fd);
	p = map_rw(fd);
	ASSERT_NE(NULL, p);
	p[0] = 0x5a;
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_A, GID_A, 0,
			     ACT_OPEN_RO));
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_A, GID_A, 0,
			     ACT_MAP_RO));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_OPEN_RW));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_WRITE_RW));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_CREATE_EXISTING));
	EXPECT_EQ(0, p[1]);
	close(fd);
}

TEST_F(perm, mode_0666_other_writes)
{
	volatile __u32 *p;
	int fd = sx_create(self->dev, self->name, 4096, 0666, 0);

	ASSERT_LE(0, fd);
	p = map_rw(fd);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_B, GID_B, 0,
			     ACT_WRITE_RW));
	EXPECT_EQ(0xa5, p[1]);
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_B, GID_B, 0,
			     ACT_CREATE_EXISTING));
	close(fd);
}

TEST_F(perm, group_bits_apply_to_group_members)
{
	volatile __u32 *p;
	struct shmipc_info info;
	int fd;

	/* root creates with egid GID_SHARED: the region's group */
	ASSERT_EQ(0, setresgid(GID_SHARED, GID_SHARED, 0));
	fd = sx_create(self->dev, self->name, 4096, 0640, 0);
	ASSERT_EQ(0, setresgid(0, 0, 0));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_EQ(GID_SHARED, info.gid);
	EXPECT_EQ(GID_SHARED, info.cgid);
	p = map_rw(fd);
	ASSERT_NE(NULL, p);
	p[0] = 0x5a;

	/* primary group */
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_A, GID_SHARED, 0,
			     ACT_MAP_RO));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_SHARED,
				  0, ACT_OPEN_RW));
	/* supplementary group */
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_A, GID_A,
			     GID_SHARED, ACT_OPEN_RO));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A,
				  GID_SHARED, ACT_OPEN_RW));
	/* not a member: other bits (none) */
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_OPEN_RO));
	close(fd);
}

TEST_F(perm, owner_class_is_exclusive)
{
	/*
	 * A region of UID_A with mode 0066: its owner has no bits even
	 * though group and other have rw (owner bits, not the union).
	 */
	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0066));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_OPEN_RO));
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_B, GID_B, 0,
			     ACT_OPEN_RW));
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_B, GID_A, 0,
			     ACT_OPEN_RW));
	/* root overrides with CAP_IPC_OWNER */
	EXPECT_LE(0, sx_open(self->dev, self->name, 0));
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
}

TEST_F(perm, owner_opens_own_0600_region)
{
	struct shmipc_info info;
	int fd;

	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0600));
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_A, GID_B, 0,
			     ACT_OPEN_RW));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_B, GID_A, 0,
				  ACT_OPEN_RO));
	/* INFO tells the creator and owner ids; debugfs agrees */
	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_EQ(UID_A, info.uid);
	EXPECT_EQ(GID_A, info.gid);
	EXPECT_EQ(UID_A, info.cuid);
	EXPECT_EQ(GID_A, info.cgid);
	EXPECT_EQ(0600, info.mode);
	{
		struct sx_dbg_region r;

		ASSERT_EQ(0, sx_dbg_find_id(info.id, &r));
		EXPECT_EQ(UID_A, r.uid);
		EXPECT_EQ(GID_A, r.gid);
		EXPECT_EQ(0600, r.mode);
		EXPECT_STREQ("p", r.flags);
	}
	close(fd);
}

TEST_F(perm, root_overrides_with_cap_ipc_owner)
{
	struct shmipc_info info;
	int fd;

	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0));
	fd = sx_open(self->dev, self->name, 0);
	ASSERT_LE(0, fd) TH_LOG("root open of a mode 0 region: %s",
				strerror(-fd));
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_EQ(SHMIPC_INFO_READ | SHMIPC_INFO_WRITE,
		  info.flags & (SHMIPC_INFO_READ | SHMIPC_INFO_WRITE));
	close(fd);
	/* and UNLINK of another user's region */
	EXPECT_EQ(0, sx_unlink(self->dev, self->name));
}

TEST_F(perm, unlink_needs_owner_or_creator)
{
	int fd = sx_create(self->dev, self->name, 4096, 0666,
			   SHMIPC_CREATE_PERSISTENT);

	ASSERT_LE(0, fd);
	/* even with rw access, another uid cannot unlink */
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_A, GID_A, 0,
			     ACT_OPEN_RW));
	EXPECT_EQ(EPERM, as_user(self->dev, self->name, UID_A, GID_A, 0,
				 ACT_UNLINK));
	EXPECT_EQ(EPERM, as_user(self->dev, self->name, UID_A, 0, 0,
				 ACT_UNLINK));
	EXPECT_LE(0, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	/* the owner can */
	EXPECT_EQ(0, sx_unlink(self->dev, self->name));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	close(fd);
}

TEST_F(perm, non_root_owner_unlinks)
{
	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0600));
	EXPECT_EQ(EPERM, as_user(self->dev, self->name, UID_B, GID_A, 0,
				 ACT_UNLINK));
	/* another process of the owner uid, without any capability */
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_A, GID_B, 0,
			     ACT_UNLINK));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(ENOENT, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_UNLINK));
}

/*
 * STAT needs read permission, as IPC_STAT does (every fd pins the region);
 * a STAT fd then allows INFO only, never mapping or waiting.
 */
TEST_F(perm, stat_open_needs_read_permission)
{
	int fd = sx_create(self->dev, self->name, 4096, 0000, 0);
	pid_t pid;

	ASSERT_LE(0, fd);
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_OPEN_STAT));
	EXPECT_EQ(EACCES, as_user(self->dev, self->name, UID_A, GID_A, 0,
				  ACT_OPEN_RO));
	close(fd);	/* its last fd: the name goes */
	fd = sx_create(self->dev, self->name, 4096, 0444, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, as_user(self->dev, self->name, UID_A, GID_A, 0,
			     ACT_OPEN_STAT));

	/* what a STAT fd of another user can and cannot do */
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_info info;
		int st;

		if (sx_become(UID_A, GID_A, NULL, 0))
			_exit(100);
		st = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
		if (st < 0)
			_exit(101);
		if (sx_info(st, &info))
			_exit(102);
		if (strcmp(info.name, self->name) || info.mode != 0444 ||
		    info.uid != 0 || info.size != 4096 ||
		    (info.flags & (SHMIPC_INFO_READ | SHMIPC_INFO_WRITE)))
			_exit(103);
		if (sx_wait(st, 0, 0, 0) != -EBADF)
			_exit(104);
		if (sx_wake(st, 0, 1) != -EBADF)
			_exit(105);
		if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, st, 0) !=
		    MAP_FAILED || errno != EACCES)
			_exit(106);
		_exit(0);
	}
	EXPECT_EQ(0, sx_reap(pid));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* user namespaces */

/*
 * A child that enters a new user namespace (through the inherited control
 * fd it still reaches /dev/shmipc), checks that @name does not exist
 * there, creates its own region with that name and holds it until the
 * parent writes to @go.  Reports over @ready: one byte, 'k' if all went
 * well, else the step that failed.
 */
static pid_t fork_userns_creator(int dev, const char *name, int ready,
				 int go)
{
	pid_t pid = sx_fork();

	if (pid == 0) {
		char status = 'k';

		if (unshare(CLONE_NEWUSER))
			status = 'u';
		else if (sx_open(dev, name, SHMIPC_OPEN_STAT) != -ENOENT)
			status = 'o';
		else if (sx_unlink(dev, name) != -ENOENT)
			status = 'l';
		else if (sx_create(dev, name, 8192, 0600,
				   SHMIPC_CREATE_EXCL) < 0)
			status = 'c';	/* its fd stays open until _exit */
		else if (sx_open(dev, name, SHMIPC_OPEN_STAT) < 0)
			status = 's';
		if (write(ready, &status, 1) != 1)
			_exit(100);
		sx_await_fd(go);
		_exit(status == 'k' ? 0 : 101);
	}
	return pid;
}

TEST_F(perm, userns_names_are_isolated)
{
	struct shmipc_info outer;
	struct sx_dbg_region r[256];
	int fd, n, i, seen = 0, ready[2], go[2];
	unsigned long long inner_ns = 0;
	char status = 0;
	pid_t pid;

	fd = sx_create(self->dev, self->name, 4096, 0666, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &outer));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));

	pid = fork_userns_creator(self->dev, self->name, ready[1], go[0]);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready[0], &status, 1));
	EXPECT_EQ('k', status) TH_LOG("userns child failed at step '%c'",
				      status);

	/* two regions of that name, one per namespace */
	n = sx_dbg_read(r, 256);
	ASSERT_LE(0, n);
	for (i = 0; i < n && i < 256; i++) {
		if (strcmp(r[i].name, self->name))
			continue;
		seen++;
		if (r[i].id == outer.id) {
			EXPECT_EQ(sx_userns_ino(0), r[i].userns);
			EXPECT_EQ(4096, r[i].size);
		} else {
			inner_ns = r[i].userns;
			EXPECT_EQ(8192, r[i].size);
		}
	}
	EXPECT_EQ(2, seen);
	EXPECT_EQ(sx_userns_ino(pid), inner_ns);
	EXPECT_NE(sx_userns_ino(0), inner_ns);
	/* ours is untouched */
	EXPECT_EQ(1, sx_nr_files(fd));

	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	close(fd);
}

TEST_F(perm, userns_inner_name_invisible_outside)
{
	int ready[2], go[2];
	char status = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork_userns_creator(self->dev, self->name, ready[1], go[0]);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready[0], &status, 1));
	EXPECT_EQ('k', status);
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	/* the name lives in the child's namespace only */
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(-ENOENT, sx_unlink(self->dev, self->name));
	/* and creating it here is independent */
	{
		__u32 result = 0;
		int fd = sx_create_res(self->dev, self->name, 4096, 0600,
				       SHMIPC_CREATE_EXCL, &result);

		ASSERT_LE(0, fd);
		EXPECT_EQ(SHMIPC_RESULT_CREATED, result);
		EXPECT_EQ(2, sx_dbg_count_name(self->name));
		close(fd);
	}
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
}

TEST_HARNESS_MAIN
