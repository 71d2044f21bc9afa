// SPDX-License-Identifier: GPL-2.0
/*
 * Tied regions (SHMIPC_CREATE_TIED): a name that outlives its creator's
 * fds, and its creator, for as long as the parent region lives; gone
 * with the parent or at UNLINK; every malformed tie refused.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "shmipc_test.h"

FIXTURE(tied) {
	int dev;
	int parent;			/* region fd of @pname */
	char pname[SHMIPC_NAME_MAX];
	char cname[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(tied)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	sx_unique_name(self->pname, "tied-parent");
	sx_unique_name(self->cname, "tied-child");
	self->parent = sx_create(self->dev, self->pname, 4096, 0600,
				 SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->parent);
}

FIXTURE_TEARDOWN(tied)
{
	if (self->parent >= 0)
		close(self->parent);
	sx_unlink(self->dev, self->cname);
	sx_unlink(self->dev, self->pname);
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
	close(self->dev);
}

static __u32 info_flags(int fd)
{
	struct shmipc_info info;

	return sx_info(fd, &info) ? ~0U : info.flags;
}

static bool named(FIXTURE_DATA(tied) *self, const char *name)
{
	int fd = sx_open(self->dev, name, SHMIPC_OPEN_STAT);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

TEST_F(tied, feature_bit)
{
	struct shmipc_features f;

	ASSERT_EQ(0, sx_features(self->dev, &f));
	EXPECT_TRUE(f.features & SHMIPC_FEAT_TIED);
}

TEST_F(tied, name_outlives_own_fds_until_parent_goes)
{
	int c = sx_create_tied(self->dev, self->cname, 8192, 0, self->parent);
	int again;

	ASSERT_LE(0, c);
	EXPECT_EQ(SHMIPC_INFO_TIED, info_flags(c) & (SHMIPC_INFO_TIED |
		  SHMIPC_INFO_PERSISTENT | SHMIPC_INFO_UNLINKED));
	EXPECT_EQ(0, info_flags(self->parent) & SHMIPC_INFO_TIED);
	close(c);
	/* No fd of its own: the parent keeps the name and the memory. */
	EXPECT_EQ(1, sx_dbg_count_name(self->cname));
	again = sx_open(self->dev, self->cname, 0);
	ASSERT_LE(0, again);
	EXPECT_EQ(SHMIPC_INFO_TIED, info_flags(again) & SHMIPC_INFO_TIED);
	close(again);
	/* The parent's last fd: both names go. */
	close(self->parent);
	self->parent = -1;
	EXPECT_FALSE(named(self, self->cname));
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
	EXPECT_EQ(0, sx_dbg_count_name(self->pname));
}

TEST_F(tied, open_fd_survives_parent_without_name)
{
	int c = sx_create_tied(self->dev, self->cname, 4096, 0, self->parent);
	__u32 *w;

	ASSERT_LE(0, c);
	w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, c, 0);
	ASSERT_NE(MAP_FAILED, w);
	close(self->parent);
	self->parent = -1;
	/* A tie does not hold the parent; the child loses only its name. */
	EXPECT_EQ(0, sx_dbg_count_name(self->pname));
	EXPECT_EQ(SHMIPC_INFO_UNLINKED,
		  info_flags(c) & (SHMIPC_INFO_UNLINKED | SHMIPC_INFO_TIED));
	EXPECT_FALSE(named(self, self->cname));
	w[0] = 7;
	EXPECT_EQ(0, sx_wake(c, 0, 1));	/* the fd still works */
	munmap(w, 4096);
	close(c);
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
}

TEST_F(tied, creator_killed_reader_opens_later)
{
	int fds[2], c;
	__u32 *w;
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The writer: its own parent fd, a tied region, a value. */
		int p = sx_open(self->dev, self->pname, 0);
		int fd = p < 0 ? p : sx_create_tied(self->dev, self->cname,
						    4096, SHMIPC_CREATE_EXCL,
						    p);
		__u32 *m;

		if (fd < 0)
			_exit(1);
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(2);
		m[1] = 0xfeed;
		if (write(fds[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();	/* SIGKILLed here */
	}
	close(fds[1]);
	ASSERT_EQ(1, read(fds[0], &(char){ 0 }, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	close(fds[0]);
	/* Its creator is gone, the parent is still open here. */
	c = sx_open(self->dev, self->cname, 0);
	ASSERT_LE(0, c);
	w = mmap(NULL, 4096, PROT_READ, MAP_SHARED, c, 0);
	ASSERT_NE(MAP_FAILED, w);
	EXPECT_EQ(0xfeedU, w[1]);
	munmap(w, 4096);
	close(c);
	close(self->parent);
	self->parent = -1;
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
}

TEST_F(tied, unlink_removes_it_before_the_parent)
{
	int c = sx_create_tied(self->dev, self->cname, 4096, 0, self->parent);

	ASSERT_LE(0, c);
	close(c);
	EXPECT_EQ(0, sx_unlink(self->dev, self->cname));
	EXPECT_FALSE(named(self, self->cname));
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
	EXPECT_EQ(-ENOENT, sx_unlink(self->dev, self->cname));
	/* And again under the same name, then the parent goes first. */
	c = sx_create_tied(self->dev, self->cname, 4096, SHMIPC_CREATE_EXCL,
			   self->parent);
	ASSERT_LE(0, c);
	close(c);
	close(self->parent);
	self->parent = -1;
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
}

TEST_F(tied, persistent_parent_keeps_it_until_unlinked)
{
	char pp[SHMIPC_NAME_MAX];
	int p, c;

	snprintf(pp, sizeof(pp), "%.40s-p", self->pname);
	p = sx_create(self->dev, pp, 4096, 0600,
		      SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, p);
	c = sx_create_tied(self->dev, self->cname, 4096, 0, p);
	ASSERT_LE(0, c);
	close(c);
	close(p);
	/* No fd anywhere: the persistent parent's name keeps both. */
	EXPECT_TRUE(named(self, self->cname));
	EXPECT_EQ(0, sx_unlink(self->dev, pp));
	EXPECT_FALSE(named(self, self->cname));
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
	EXPECT_EQ(0, sx_dbg_count_name(pp));
}

TEST_F(tied, many_children_go_with_the_parent)
{
	char n[SHMIPC_NAME_MAX];
	int i, c;

	for (i = 0; i < 50; i++) {
		snprintf(n, sizeof(n), "%.40s-%d", self->cname, i);
		c = sx_create_tied(self->dev, n, 4096, SHMIPC_CREATE_EXCL,
				   self->parent);
		ASSERT_LE(0, c);
		close(c);
	}
	EXPECT_EQ(0, sx_unlink(self->dev, n));	/* one goes early */
	close(self->parent);
	self->parent = -1;
	for (i = 0; i < 50; i++) {
		snprintf(n, sizeof(n), "%.40s-%d", self->cname, i);
		EXPECT_EQ(0, sx_dbg_count_name(n)) TH_LOG("%s", n);
	}
}

/* A child that outlived its parent's release is still no parent. */
TEST_F(tied, orphaned_child_is_no_parent)
{
	int c = sx_create_tied(self->dev, self->cname, 4096, 0, self->parent);

	ASSERT_LE(0, c);
	close(self->parent);
	self->parent = -1;
	EXPECT_EQ(SHMIPC_INFO_UNLINKED,
		  info_flags(c) & (SHMIPC_INFO_UNLINKED | SHMIPC_INFO_TIED));
	EXPECT_EQ(-EINVAL, sx_create_tied(self->dev, "tied-grandchild", 4096,
					  0, c));
	EXPECT_EQ(0, sx_dbg_count_name("tied-grandchild"));
	close(c);
}

/* UNLINK_DESTROY of the parent takes its children's names at once. */
TEST_F(tied, destroyed_parent_unnames_children)
{
	int c = sx_create_tied(self->dev, self->cname, 4096, 0, self->parent);
	char other[SHMIPC_NAME_MAX];
	int o;

	ASSERT_LE(0, c);
	snprintf(other, sizeof(other), "%.40s-o", self->cname);
	o = sx_create_tied(self->dev, other, 4096, 0, self->parent);
	ASSERT_LE(0, o);
	close(o);
	EXPECT_EQ(0, sx_destroy(self->dev, self->pname));
	EXPECT_FALSE(named(self, self->cname));
	EXPECT_FALSE(named(self, other));
	EXPECT_EQ(0, sx_dbg_count_name(other));
	/* The open child is not destroyed, only unnamed. */
	EXPECT_EQ(SHMIPC_INFO_UNLINKED,
		  info_flags(c) & (SHMIPC_INFO_UNLINKED | SHMIPC_INFO_TIED |
				   SHMIPC_INFO_DESTROYED));
	close(c);
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
}

TEST_F(tied, existing_name_is_opened_not_tied)
{
	int plain = sx_create(self->dev, self->cname, 4096, 0600,
			      SHMIPC_CREATE_EXCL);
	__u32 res = 0;
	struct shmipc_create cr;
	int c;

	ASSERT_LE(0, plain);
	memset(&cr, 0, sizeof(cr));
	sx_set_name(cr.name, self->cname);
	cr.size = 4096;
	cr.flags = SHMIPC_CREATE_TIED;
	cr.tie_fd = self->parent;
	ASSERT_EQ(0, sx_ioctl(self->dev, SHMIPC_IOC_CREATE, &cr));
	c = cr.fd;
	res = cr.result;
	EXPECT_EQ(0U, res & SHMIPC_RESULT_CREATED);
	EXPECT_EQ(0U, info_flags(c) & SHMIPC_INFO_TIED);
	close(c);
	close(plain);
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
	/* With EXCL, the name is taken. */
	plain = sx_create(self->dev, self->cname, 4096, 0600,
			  SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, plain);
	EXPECT_EQ(-EEXIST, sx_create_tied(self->dev, self->cname, 4096,
					  SHMIPC_CREATE_EXCL, self->parent));
	close(plain);
}

TEST_F(tied, bad_ties_refused)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ro = sx_open(self->dev, self->pname, SHMIPC_OPEN_RDONLY);
	int st = sx_open(self->dev, self->pname, SHMIPC_OPEN_STAT);
	int c, gc;
	struct shmipc_create cr;

	ASSERT_LE(0, null);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, st);
	EXPECT_EQ(-EBADF, sx_create_tied(self->dev, self->cname, 4096, 0, -1));
	EXPECT_EQ(-EBADF, sx_create_tied(self->dev, self->cname, 4096, 0,
					 9999));
	EXPECT_EQ(-EBADF, sx_create_tied(self->dev, self->cname, 4096, 0,
					 null));
	EXPECT_EQ(-EBADF, sx_create_tied(self->dev, self->cname, 4096, 0,
					 self->dev));
	EXPECT_EQ(-EBADF, sx_create_tied(self->dev, self->cname, 4096, 0, ro));
	EXPECT_EQ(-EBADF, sx_create_tied(self->dev, self->cname, 4096, 0, st));
	EXPECT_EQ(-EINVAL, sx_create_tied(self->dev, self->cname, 4096,
					  SHMIPC_CREATE_PERSISTENT,
					  self->parent));
	/* tie_fd, pad or reserved set without the flag. */
	memset(&cr, 0, sizeof(cr));
	sx_set_name(cr.name, self->cname);
	cr.size = 4096;
	cr.tie_fd = self->parent;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_CREATE, &cr));
	cr.tie_fd = 0;
	cr.pad = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_CREATE, &cr));
	cr.pad = 0;
	cr.reserved = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_CREATE, &cr));
	cr.reserved = 0;
	cr.flags = SHMIPC_CREATE_TIED;
	cr.tie_fd = self->parent;
	cr.pad = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_CREATE, &cr));
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
	/* No chains: a tied region is no parent. */
	c = sx_create_tied(self->dev, self->cname, 4096, 0, self->parent);
	ASSERT_LE(0, c);
	EXPECT_EQ(-EINVAL, sx_create_tied(self->dev, "tied-grandchild", 4096,
					  0, c));
	EXPECT_EQ(0, sx_dbg_count_name("tied-grandchild"));
	/* Not even once unnamed (unlinked). */
	EXPECT_EQ(0, sx_unlink(self->dev, self->cname));
	gc = sx_create_tied(self->dev, "tied-grandchild", 4096, 0, c);
	EXPECT_EQ(-EINVAL, gc);
	if (gc >= 0)
		close(gc);
	EXPECT_EQ(0, sx_dbg_count_name("tied-grandchild"));
	close(c);
	/* A destroyed parent takes no new ties. */
	EXPECT_EQ(0, sx_destroy(self->dev, self->pname));
	EXPECT_EQ(-EIDRM, sx_create_tied(self->dev, self->cname, 4096, 0,
					 self->parent));
	EXPECT_EQ(0, sx_dbg_count_name(self->cname));
	close(null);
	close(ro);
	close(st);
}

TEST_HARNESS_MAIN
