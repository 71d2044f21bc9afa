// SPDX-License-Identifier: GPL-2.0
/*
 * Quotas, module parameters writable by root at run time:
 *   max_region_size  -> -EFBIG, max_user_regions -> -EDQUOT,
 *   max_total_bytes  -> -ENOSPC.
 * The fixture saves all three and restores them in its teardown, which
 * runs after a failed ASSERT too.
 *
 * Limits are set relative to what debugfs shows already exists, so the
 * tests do not depend on being alone (though in the VM they are).
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "shmipc_test.h"

#define MAXFDS 16

static const char *const params[] = {
	"max_region_size", "max_user_regions", "max_total_bytes",
};

FIXTURE(quota) {
	int dev;
	unsigned long long saved[3];
	bool saved_ok;
	char name[SHMIPC_NAME_MAX];
	int fds[MAXFDS];
};

FIXTURE_SETUP(quota)
{
	int i;

	for (i = 0; i < MAXFDS; i++)
		self->fds[i] = -1;
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, sx_param_read(params[i], &self->saved[i]))
			TH_LOG("read %s", params[i]);
	}
	self->saved_ok = true;
	sx_unique_name(self->name, "quota");
}

FIXTURE_TEARDOWN(quota)
{
	char n[SHMIPC_NAME_MAX];
	int i;

	for (i = 0; i < MAXFDS; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	for (i = 0; i < MAXFDS; i++) {
		snprintf(n, sizeof(n), "%.50s-%d", self->name, i);
		sx_unlink(self->dev, n);	/* persistent ones */
	}
	if (self->saved_ok) {
		for (i = 0; i < 3; i++) {
			int ret = sx_param_write(params[i], self->saved[i]);

			EXPECT_EQ(0, ret) TH_LOG("restore %s", params[i]);
		}
	}
	close(self->dev);
}

static void nth_name(char out[SHMIPC_NAME_MAX], const char *base, int i)
{
	snprintf(out, SHMIPC_NAME_MAX, "%.50s-%d", base, i);
}

/* Create region #i of this test; its fd is kept in self->fds[i]. */
#define CREATE_NTH(i, size, flags) ({					\
	char __n[SHMIPC_NAME_MAX];					\
	int __fd;							\
	nth_name(__n, self->name, (i));					\
	__fd = sx_create(self->dev, __n, (size), 0600,			\
			 SHMIPC_CREATE_EXCL | (flags));			\
	if (__fd >= 0)							\
		self->fds[(i)] = __fd;					\
	__fd;								\
})

/* Live regions whose owner is @uid, and their page-rounded bytes. */
static int count_uid(unsigned int uid, unsigned long long *bytes)
{
	struct sx_dbg_region r[256];
	size_t page = sx_page();
	int n = sx_dbg_read(r, 256), i, found = 0;

	if (n < 0 || n > 256)
		return -1;
	if (bytes)
		*bytes = 0;
	for (i = 0; i < n; i++) {
		if (bytes)
			*bytes += (r[i].size + page - 1) / page * page;
		if (r[i].uid == uid)
			found++;
	}
	return found;
}

TEST_F(quota, params_readable_and_writable)
{
	unsigned long long v;
	struct shmipc_features f;

	ASSERT_EQ(0, sx_param_write("max_region_size", 123 * 4096ULL));
	ASSERT_EQ(0, sx_param_read("max_region_size", &v));
	EXPECT_EQ(123 * 4096ULL, v);
	/* GET_FEATURES reports the current value */
	ASSERT_EQ(0, sx_features(self->dev, &f));
	EXPECT_EQ(123 * 4096ULL, f.max_region_size);
	ASSERT_EQ(0, sx_param_write("max_user_regions", 77));
	ASSERT_EQ(0, sx_param_read("max_user_regions", &v));
	EXPECT_EQ(77, v);
	ASSERT_EQ(0, sx_param_write("max_total_bytes", 1ULL << 40));
	ASSERT_EQ(0, sx_param_read("max_total_bytes", &v));
	EXPECT_EQ(1ULL << 40, v);
}

TEST_F(quota, max_region_size_efbig)
{
	size_t page = sx_page();
	struct shmipc_features f;
	int fd;

	ASSERT_EQ(0, sx_param_write("max_region_size", 2 * page));
	ASSERT_EQ(0, sx_features(self->dev, &f));
	EXPECT_EQ(2 * page, f.max_region_size);
	EXPECT_EQ(-EFBIG, CREATE_NTH(0, 2 * page + 1, 0));
	EXPECT_EQ(-EFBIG, CREATE_NTH(0, 3 * page, 0));
	/* the limit itself is allowed */
	fd = CREATE_NTH(1, 2 * page, 0);
	EXPECT_LE(0, fd);
	/* raising it again lets the bigger one in */
	ASSERT_EQ(0, sx_param_write("max_region_size", 3 * page));
	fd = CREATE_NTH(0, 3 * page, 0);
	EXPECT_LE(0, fd) TH_LOG("after raising: %s", strerror(-fd));
}

TEST_F(quota, max_region_size_spares_existing_regions)
{
	size_t page = sx_page();
	char n[SHMIPC_NAME_MAX];
	int fd, fd2;

	fd = CREATE_NTH(0, 4 * page, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_param_write("max_region_size", page));
	/* opening a region bigger than today's limit is fine */
	nth_name(n, self->name, 0);
	fd2 = sx_open(self->dev, n, 0);
	EXPECT_LE(0, fd2);
	close(fd2);
	/* and so is mapping all of it */
	{
		void *p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, 0);

		EXPECT_NE(MAP_FAILED, p);
		munmap(p, 4 * page);
	}
}

TEST_F(quota, max_user_regions_edquot)
{
	int base, i, fd;

	base = count_uid(geteuid(), NULL);
	ASSERT_LE(0, base);
	ASSERT_EQ(0, sx_param_write("max_user_regions", base + 3));
	for (i = 0; i < 3; i++) {
		ASSERT_LE(0, CREATE_NTH(i, 4096, 0)) TH_LOG("region %d", i);
	}
	EXPECT_EQ(-EDQUOT, CREATE_NTH(3, 4096, 0));
	EXPECT_EQ(-EDQUOT, CREATE_NTH(4, 4096, SHMIPC_CREATE_PERSISTENT));
	/* opening existing regions is no new region */
	{
		char n[SHMIPC_NAME_MAX];
		int fd2;

		nth_name(n, self->name, 0);
		fd2 = sx_open(self->dev, n, 0);
		EXPECT_LE(0, fd2);
		close(fd2);
		fd2 = sx_create(self->dev, n, 4096, 0600, 0);
		EXPECT_LE(0, fd2) TH_LOG("create of an existing name");
		close(fd2);
	}
	/* one region dies: room for one more */
	close(self->fds[1]);
	self->fds[1] = -1;
	fd = CREATE_NTH(3, 4096, 0);
	EXPECT_LE(0, fd);
	EXPECT_EQ(-EDQUOT, CREATE_NTH(4, 4096, 0));
}

TEST_F(quota, max_user_regions_is_per_uid)
{
	int base;
	pid_t pid;

	base = count_uid(geteuid(), NULL);
	ASSERT_LE(0, base);
	ASSERT_EQ(0, count_uid(1000, NULL));
	ASSERT_EQ(0, sx_param_write("max_user_regions", base + 1));
	ASSERT_LE(0, CREATE_NTH(0, 4096, 0));
	ASSERT_EQ(-EDQUOT, CREATE_NTH(1, 4096, 0));

	/* uid 1000 has its own count */
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char n[SHMIPC_NAME_MAX];
		int fd;

		if (sx_become(1000, 1000, NULL, 0))
			_exit(100);
		nth_name(n, self->name, 2);
		fd = sx_create(self->dev, n, 4096, 0600, SHMIPC_CREATE_EXCL);
		if (fd < 0)
			_exit(sx_errcode(fd));
		nth_name(n, self->name, 3);
		_exit(sx_create(self->dev, n, 4096, 0600,
				SHMIPC_CREATE_EXCL) == -EDQUOT ? 0 : 101);
	}
	EXPECT_EQ(0, sx_reap(pid));
	/* root is still at its limit */
	EXPECT_EQ(-EDQUOT, CREATE_NTH(1, 4096, 0));
}

TEST_F(quota, max_user_regions_counts_persistent_and_unlinked)
{
	char n[SHMIPC_NAME_MAX];
	int base;

	base = count_uid(geteuid(), NULL);
	ASSERT_LE(0, base);
	ASSERT_EQ(0, sx_param_write("max_user_regions", base + 2));
	/* a persistent region with no fd still counts */
	ASSERT_LE(0, CREATE_NTH(0, 4096, SHMIPC_CREATE_PERSISTENT));
	close(self->fds[0]);
	self->fds[0] = -1;
	/* an unlinked region that is still open counts */
	ASSERT_LE(0, CREATE_NTH(1, 4096, 0));
	nth_name(n, self->name, 1);
	ASSERT_EQ(0, sx_unlink(self->dev, n));
	EXPECT_EQ(-EDQUOT, CREATE_NTH(2, 4096, 0));
	/* unlinking the persistent one frees its slot */
	nth_name(n, self->name, 0);
	ASSERT_EQ(0, sx_unlink(self->dev, n));
	EXPECT_LE(0, CREATE_NTH(2, 4096, 0));
	EXPECT_EQ(-EDQUOT, CREATE_NTH(3, 4096, 0));
	/* closing the unlinked one frees another */
	close(self->fds[1]);
	self->fds[1] = -1;
	EXPECT_LE(0, CREATE_NTH(3, 4096, 0));
}

TEST_F(quota, max_total_bytes_enospc)
{
	size_t page = sx_page();
	unsigned long long bytes;
	int before;

	before = count_uid(geteuid(), &bytes);
	ASSERT_LE(0, before);
	ASSERT_EQ(0, sx_param_write("max_total_bytes", bytes + 4 * page));
	ASSERT_LE(0, CREATE_NTH(0, 3 * page, 0));
	EXPECT_EQ(-ENOSPC, CREATE_NTH(1, 2 * page, 0));
	EXPECT_EQ(-ENOSPC, CREATE_NTH(1, 64 * page, 0));
	/* exactly what is left still fits */
	EXPECT_LE(0, CREATE_NTH(1, page, 0));
	EXPECT_EQ(-ENOSPC, CREATE_NTH(2, page, 0));
	/* freeing makes room again */
	close(self->fds[0]);
	self->fds[0] = -1;
	EXPECT_LE(0, CREATE_NTH(2, 3 * page, 0));
}

TEST_F(quota, all_quotas_released_after_close)
{
	size_t page = sx_page();
	unsigned long long bytes;
	int before, i;

	before = sx_dbg_count();
	ASSERT_LE(0, before);
	ASSERT_LE(0, count_uid(geteuid(), &bytes));
	ASSERT_EQ(0, sx_param_write("max_user_regions",
				    count_uid(geteuid(), NULL) + 4));
	ASSERT_EQ(0, sx_param_write("max_total_bytes", bytes + 8 * page));
	for (i = 0; i < 4; i++) {
		ASSERT_LE(0, CREATE_NTH(i, 2 * page, 0));
	}
	EXPECT_EQ(before + 4, sx_dbg_count());
	EXPECT_EQ(-EDQUOT, CREATE_NTH(4, page, 0));
	for (i = 0; i < 4; i++) {
		close(self->fds[i]);
		self->fds[i] = -1;
	}
	/* nothing of ours is left, and it all fits again */
	EXPECT_EQ(before, sx_dbg_count());
	for (i = 0; i < 4; i++) {
		ASSERT_LE(0, CREATE_NTH(i, 2 * page, 0)) TH_LOG("again %d", i);
	}
	EXPECT_EQ(-EDQUOT, CREATE_NTH(4, page, 0));
}

TEST_F(quota, quota_released_when_holder_is_killed)
{
	int base, ready[2];
	pid_t pid;

	base = count_uid(geteuid(), NULL);
	ASSERT_LE(0, base);
	ASSERT_EQ(0, sx_param_write("max_user_regions", base + 2));
	ASSERT_EQ(0, pipe(ready));
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (CREATE_NTH(0, 4096, 0) < 0 || CREATE_NTH(1, 4096, 0) < 0)
			_exit(100);
		sx_signal_fd(ready[1]);
		for (;;)
			pause();
	}
	ASSERT_EQ(0, sx_await_fd(ready[0]));
	EXPECT_EQ(-EDQUOT, CREATE_NTH(2, 4096, 0));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, sx_reap(pid));
	EXPECT_EQ(base, count_uid(geteuid(), NULL));
	EXPECT_LE(0, CREATE_NTH(2, 4096, 0));
	EXPECT_LE(0, CREATE_NTH(3, 4096, 0));
}

TEST_HARNESS_MAIN
