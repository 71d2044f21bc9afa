// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/shmipc control ioctls: GET_FEATURES, CREATE, OPEN, UNLINK and the
 * INFO of the region fds they return; every malformed input.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "shmipc_test.h"

FIXTURE(dev) {
	int dev;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(dev)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	sx_unique_name(self->name, "regions");
}

FIXTURE_TEARDOWN(dev)
{
	/* Persistent leftovers of a failed test; plain ones die with us. */
	sx_unlink(self->dev, self->name);
	close(self->dev);
}

/* ------------------------------------------------------------------ */
/* GET_FEATURES and ioctl dispatch */

TEST_F(dev, features)
{
	struct shmipc_features f;
	unsigned long long max;
	int i;

	ASSERT_EQ(0, sx_features(self->dev, &f));
	EXPECT_EQ(SHMIPC_API_VERSION, f.api_version);
	EXPECT_EQ(SHMIPC_NAME_MAX, f.name_max);
	EXPECT_EQ(SHMIPC_WAITV_MAX, f.waitv_max);
	EXPECT_EQ(SHMIPC_FEAT_REGIONS | SHMIPC_FEAT_WAIT | SHMIPC_FEAT_WAITV,
		  f.features & (SHMIPC_FEAT_REGIONS | SHMIPC_FEAT_WAIT |
				SHMIPC_FEAT_WAITV));
	EXPECT_EQ(SHMIPC_EVENT_QUEUE_LEN, f.event_queue_len);
	ASSERT_EQ(0, sx_param_read("max_region_size", &max));
	EXPECT_EQ(max, f.max_region_size);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, f.reserved[i]);
	}
}

TEST_F(dev, features_out_fields_overwritten)
{
	struct shmipc_features f;
	int i;

	/* Out fields are ignored on input: garbage in, clean answer out. */
	memset(&f, 0xa5, sizeof(f));
	ASSERT_EQ(0, sx_ioctl(self->dev, SHMIPC_IOC_GET_FEATURES, &f));
	EXPECT_EQ(SHMIPC_API_VERSION, f.api_version);
	EXPECT_EQ(SHMIPC_EVENT_QUEUE_LEN, f.event_queue_len);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, f.reserved[i]);
	}
}

TEST_F(dev, unknown_ioctl_enotty)
{
	char buf[256];

	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev, _IO(SHMIPC_IOC_MAGIC, 0x7f),
				    buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev,
				    _IOWR(SHMIPC_IOC_MAGIC, 0x04,
					  struct shmipc_create), buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev, _IOR('x', 0x01, int), buf));
	/* a tty ioctl on a device that is no tty */
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev, TCGETS, buf));
}

TEST_F(dev, wrong_size_or_direction_enotty)
{
	char buf[256];
	int fd;

	memset(buf, 0, sizeof(buf));
	sx_set_name(buf, self->name);
	/* CREATE's number with another size, or another direction */
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev,
		_IOC(_IOC_READ | _IOC_WRITE, SHMIPC_IOC_MAGIC, 0x01,
		     sizeof(struct shmipc_create) - 8), buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev,
		_IOC(_IOC_READ | _IOC_WRITE, SHMIPC_IOC_MAGIC, 0x01,
		     sizeof(struct shmipc_create) + 8), buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev,
		_IOC(_IOC_WRITE, SHMIPC_IOC_MAGIC, 0x01,
		     sizeof(struct shmipc_create)), buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev,
		_IOC(_IOC_READ, SHMIPC_IOC_MAGIC, 0x00,
		     sizeof(struct shmipc_features) + 8), buf));
	/* none of them created anything */
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd,
		_IOC(_IOC_READ, SHMIPC_IOC_MAGIC, 0x10,
		     sizeof(struct shmipc_info) - 8), buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd,
		_IOC(_IOC_WRITE, SHMIPC_IOC_MAGIC, 0x12,
		     sizeof(struct shmipc_wake) + 8), buf));
	close(fd);
}

TEST_F(dev, region_ioctls_on_dev_enotty)
{
	struct shmipc_info info;
	struct shmipc_wait wait;
	struct shmipc_wake wake;
	struct shmipc_waitv waitv;

	memset(&info, 0, sizeof(info));
	memset(&wait, 0, sizeof(wait));
	memset(&wake, 0, sizeof(wake));
	memset(&waitv, 0, sizeof(waitv));
	wake.count = 1;
	wait.deadline_ns = 0;
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev, SHMIPC_IOC_INFO, &info));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev, SHMIPC_IOC_WAIT, &wait));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev, SHMIPC_IOC_WAKE, &wake));
	EXPECT_EQ(-ENOTTY, sx_ioctl(self->dev, SHMIPC_IOC_WAITV, &waitv));
}

TEST_F(dev, control_ioctls_on_region_fd_enotty)
{
	struct shmipc_features f;
	struct shmipc_create c;
	struct shmipc_open o;
	struct shmipc_unlink u;
	char other[SHMIPC_NAME_MAX];
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	snprintf(other, sizeof(other), "%.50s-x", self->name);

	memset(&f, 0, sizeof(f));
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd, SHMIPC_IOC_GET_FEATURES, &f));
	memset(&c, 0, sizeof(c));
	sx_set_name(c.name, other);
	c.size = 4096;
	c.mode = 0600;
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd, SHMIPC_IOC_CREATE, &c));
	memset(&o, 0, sizeof(o));
	sx_set_name(o.name, self->name);
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd, SHMIPC_IOC_OPEN, &o));
	memset(&u, 0, sizeof(u));
	sx_set_name(u.name, self->name);
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd, SHMIPC_IOC_UNLINK, &u));
	/* nothing happened: other not created, ours still named */
	EXPECT_EQ(-ENOENT, sx_open(self->dev, other, SHMIPC_OPEN_STAT));
	EXPECT_EQ(0, sx_dbg_count_name(other));
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	close(fd);
}

TEST_F(dev, bad_user_pointer_efault)
{
	int fd;

	EXPECT_EQ(-EFAULT, sx_ioctl(self->dev, SHMIPC_IOC_GET_FEATURES, NULL));
	EXPECT_EQ(-EFAULT, sx_ioctl(self->dev, SHMIPC_IOC_CREATE, NULL));
	EXPECT_EQ(-EFAULT, sx_ioctl(self->dev, SHMIPC_IOC_OPEN,
				    (void *)16));
	EXPECT_EQ(-EFAULT, sx_ioctl(self->dev, SHMIPC_IOC_UNLINK, NULL));
	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EFAULT, sx_ioctl(fd, SHMIPC_IOC_INFO, NULL));
	EXPECT_EQ(-EFAULT, sx_ioctl(fd, SHMIPC_IOC_WAIT, NULL));
	EXPECT_EQ(-EFAULT, sx_ioctl(fd, SHMIPC_IOC_WAKE, NULL));
	EXPECT_EQ(-EFAULT, sx_ioctl(fd, SHMIPC_IOC_WAITV, NULL));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* CREATE */

TEST_F(dev, create_and_info)
{
	struct shmipc_info info;
	__u32 result = 0;
	int fd, i;

	fd = sx_create_res(self->dev, self->name, 12345, 0640,
			   SHMIPC_CREATE_EXCL, &result);
	ASSERT_LE(0, fd) TH_LOG("create: %s", strerror(-fd));
	EXPECT_EQ(SHMIPC_RESULT_CREATED, result);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);

	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_STREQ(self->name, info.name);
	EXPECT_EQ(12345, info.size);
	EXPECT_NE(0, info.id);
	EXPECT_EQ(geteuid(), info.uid);
	EXPECT_EQ(getegid(), info.gid);
	EXPECT_EQ(geteuid(), info.cuid);
	EXPECT_EQ(getegid(), info.cgid);
	EXPECT_EQ(0640, info.mode);
	EXPECT_EQ(SHMIPC_INFO_READ | SHMIPC_INFO_WRITE, info.flags);
	EXPECT_EQ(1, info.nr_files);
	EXPECT_EQ(0, info.nr_waiters);
	EXPECT_EQ(0, info.nr_peers);
	EXPECT_EQ(0, info.nr_dead);
	for (i = 0; i < (int)ARRAY_SIZE(info.reserved); i++) {
		EXPECT_EQ(0, info.reserved[i]);
	}
	close(fd);
}

TEST_F(dev, create_shows_in_debugfs)
{
	struct sx_dbg_region r;
	struct shmipc_info info;
	int fd, fd2;

	fd = sx_create(self->dev, self->name, 8192, 0640, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &info));
	ASSERT_EQ(0, sx_dbg_find_id(info.id, &r));
	EXPECT_STREQ(self->name, r.name);
	EXPECT_EQ(8192, r.size);
	EXPECT_EQ(geteuid(), r.uid);
	EXPECT_EQ(getegid(), r.gid);
	EXPECT_EQ(0640, r.mode);
	EXPECT_STREQ("-", r.flags);
	EXPECT_EQ(1, r.files);
	EXPECT_EQ(0, r.waiters);
	EXPECT_EQ(sx_userns_ino(0), r.userns);

	fd2 = sx_open(self->dev, self->name, 0);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, sx_dbg_find_id(info.id, &r));
	EXPECT_EQ(2, r.files);
	close(fd2);
	close(fd);
	EXPECT_EQ(-ENOENT, sx_dbg_find_id(info.id, &r));
}

TEST_F(dev, create_out_fields_ignored)
{
	struct shmipc_create c;

	memset(&c, 0, sizeof(c));
	sx_set_name(c.name, self->name);
	c.size = 4096;
	c.mode = 0600;
	c.fd = 12345;
	c.result = 0xffffffff;
	ASSERT_EQ(0, sx_ioctl(self->dev, SHMIPC_IOC_CREATE, &c));
	EXPECT_LE(0, c.fd);
	EXPECT_NE(12345, c.fd);
	EXPECT_EQ(SHMIPC_RESULT_CREATED, c.result);
	EXPECT_EQ(0, c.reserved);
	EXPECT_EQ(0, c.pad);
	EXPECT_EQ(0, sx_nr_waiters(c.fd));
	close(c.fd);
}

TEST_F(dev, create_reserved_nonzero_einval)
{
	struct shmipc_create c;
	int i;

	for (i = 0; i < 3; i++) {
		memset(&c, 0, sizeof(c));
		sx_set_name(c.name, self->name);
		c.size = 4096;
		c.mode = 0600;
		if (i == 0)
			c.tie_fd = 1;	/* without SHMIPC_CREATE_TIED */
		else if (i == 1)
			c.pad = 1;
		else
			c.reserved = 1ULL << 40;
		EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_CREATE, &c))
			TH_LOG("field %d", i);
	}
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
}

TEST_F(dev, create_unknown_flags_einval)
{
	const __u32 bad[] = { 0x8, 0x10, 0x100, 0x80000000,
			      SHMIPC_CREATE_EXCL | 0x10 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, sx_create(self->dev, self->name, 4096,
					     0600, bad[i]))
			TH_LOG("flags 0x%x", bad[i]);
	}
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
}

TEST_F(dev, create_size_zero_einval)
{
	EXPECT_EQ(-EINVAL, sx_create(self->dev, self->name, 0, 0600, 0));
	EXPECT_EQ(-EINVAL, sx_create(self->dev, self->name, 0, 0600,
				     SHMIPC_CREATE_EXCL));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
}

TEST_F(dev, create_huge_size_efbig)
{
	unsigned long long max;
	struct shmipc_features f;

	ASSERT_EQ(0, sx_features(self->dev, &f));
	EXPECT_EQ(-EFBIG, sx_create(self->dev, self->name, ~0ULL, 0600, 0));
	EXPECT_EQ(-EFBIG, sx_create(self->dev, self->name, 1ULL << 63, 0600,
				    0));
	EXPECT_EQ(-EFBIG, sx_create(self->dev, self->name,
				    f.max_region_size + 1, 0600, 0));
	ASSERT_EQ(0, sx_param_read("max_region_size", &max));
	EXPECT_EQ(-EFBIG, sx_create(self->dev, self->name, max + 4096,
				    0600, 0));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
}

TEST_F(dev, create_bad_mode_einval)
{
	const __u32 bad[] = { 01000, 02600, 04600, 07777, 0x10000,
			      0x80000000 };
	size_t i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, sx_create(self->dev, self->name, 4096,
					     bad[i], 0))
			TH_LOG("mode 0%o", bad[i]);
	}
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
	/* the extremes of the valid range */
	fd = sx_create(self->dev, self->name, 4096, 0777, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	close(fd);
	fd = sx_create(self->dev, self->name, 4096, 0, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	close(fd);
}

TEST_F(dev, create_duplicate_excl_eexist)
{
	struct shmipc_info info;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EEXIST, sx_create(self->dev, self->name, 4096, 0600,
				     SHMIPC_CREATE_EXCL));
	EXPECT_EQ(-EEXIST, sx_create(self->dev, self->name, 4096, 0644,
				     SHMIPC_CREATE_EXCL |
				     SHMIPC_CREATE_PERSISTENT));
	/* the first one is untouched */
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_EQ(1, info.nr_files);
	EXPECT_EQ(0600, info.mode);
	EXPECT_EQ(0, info.flags & SHMIPC_INFO_PERSISTENT);
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	close(fd);
}

TEST_F(dev, create_opens_existing)
{
	struct shmipc_info a, b;
	__u32 result = 0xff;
	int fd, fd2;

	fd = sx_create(self->dev, self->name, 3 * 4096, 0640, 0);
	ASSERT_LE(0, fd);
	/* smaller size, other mode, persistent: an open, nothing changes */
	fd2 = sx_create_res(self->dev, self->name, 4096, 0666,
			    SHMIPC_CREATE_PERSISTENT, &result);
	ASSERT_LE(0, fd2) TH_LOG("open-or-create: %s", strerror(-fd2));
	EXPECT_EQ(0, result);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, sx_info(fd, &a));
	ASSERT_EQ(0, sx_info(fd2, &b));
	EXPECT_EQ(a.id, b.id);
	EXPECT_EQ(3 * 4096, b.size);
	EXPECT_EQ(0640, b.mode);
	EXPECT_EQ(0, b.flags & SHMIPC_INFO_PERSISTENT);
	EXPECT_EQ(SHMIPC_INFO_READ | SHMIPC_INFO_WRITE,
		  b.flags & (SHMIPC_INFO_READ | SHMIPC_INFO_WRITE));
	EXPECT_EQ(2, b.nr_files);
	/* the same size is fine too */
	close(fd2);
	fd2 = sx_create_res(self->dev, self->name, 3 * 4096, 0600, 0, &result);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, result);
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	close(fd2);
	close(fd);
	/* it was never persistent: the name is gone */
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
}

TEST_F(dev, create_existing_larger_einval)
{
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, sx_create(self->dev, self->name, 4097, 0600, 0));
	EXPECT_EQ(-EINVAL, sx_create(self->dev, self->name, 8192, 0600, 0));
	EXPECT_EQ(1, sx_nr_files(fd));
	close(fd);
}

TEST_F(dev, ids_unique)
{
	struct shmipc_info a, b, c;
	char n2[SHMIPC_NAME_MAX];
	int fd, fd2;

	snprintf(n2, sizeof(n2), "%.50s-2", self->name);
	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	fd2 = sx_create(self->dev, n2, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, sx_info(fd, &a));
	ASSERT_EQ(0, sx_info(fd2, &b));
	EXPECT_NE(a.id, b.id);
	/* a region made again under a dead name gets a new id */
	close(fd);
	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &c));
	EXPECT_NE(a.id, c.id);
	EXPECT_NE(b.id, c.id);
	close(fd);
	close(fd2);
}

/* ------------------------------------------------------------------ */
/* names */

/* Every control ioctl on a raw name array; returns -errno or 0 (closing fds). */
static int try_name_all(int dev, const char raw[SHMIPC_NAME_MAX], int out[3])
{
	struct shmipc_create c;
	struct shmipc_open o;
	struct shmipc_unlink u;

	memset(&c, 0, sizeof(c));
	memcpy(c.name, raw, SHMIPC_NAME_MAX);
	c.size = 4096;
	c.mode = 0600;
	out[0] = sx_ioctl(dev, SHMIPC_IOC_CREATE, &c);
	if (out[0] == 0)
		close(c.fd);
	memset(&o, 0, sizeof(o));
	memcpy(o.name, raw, SHMIPC_NAME_MAX);
	out[1] = sx_ioctl(dev, SHMIPC_IOC_OPEN, &o);
	if (out[1] == 0)
		close(o.fd);
	memset(&u, 0, sizeof(u));
	memcpy(u.name, raw, SHMIPC_NAME_MAX);
	out[2] = sx_ioctl(dev, SHMIPC_IOC_UNLINK, &u);
	return 0;
}

TEST_F(dev, name_empty_einval)
{
	char raw[SHMIPC_NAME_MAX];
	int r[3];

	memset(raw, 0, sizeof(raw));
	try_name_all(self->dev, raw, r);
	EXPECT_EQ(-EINVAL, r[0]);
	EXPECT_EQ(-EINVAL, r[1]);
	EXPECT_EQ(-EINVAL, r[2]);
}

TEST_F(dev, name_without_nul_enametoolong)
{
	char raw[SHMIPC_NAME_MAX];
	int r[3];

	memset(raw, 'a', sizeof(raw));
	try_name_all(self->dev, raw, r);
	EXPECT_EQ(-ENAMETOOLONG, r[0]);
	EXPECT_EQ(-ENAMETOOLONG, r[1]);
	EXPECT_EQ(-ENAMETOOLONG, r[2]);
	/* 64 valid characters of an existing 63-byte name + 1 */
	memset(raw, 'b', sizeof(raw));
	raw[SHMIPC_NAME_MAX - 1] = '\0';
	snprintf(raw, 20, "%d-", (int)getpid());
	raw[strlen(raw)] = 'b';		/* undo snprintf's NUL */
	{
		int fd = sx_create(self->dev, raw, 4096, 0600, 0);

		ASSERT_LE(0, fd);
		raw[SHMIPC_NAME_MAX - 1] = 'b';
		try_name_all(self->dev, raw, r);
		EXPECT_EQ(-ENAMETOOLONG, r[0]);
		EXPECT_EQ(-ENAMETOOLONG, r[1]);
		EXPECT_EQ(-ENAMETOOLONG, r[2]);
		EXPECT_EQ(1, sx_nr_files(fd));
		close(fd);
	}
}

TEST_F(dev, name_longest)
{
	char name[SHMIPC_NAME_MAX];
	struct shmipc_info info;
	int fd, fd2;

	memset(name, 'z', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(name, 20, "%d-", (int)getpid());
	name[strlen(name)] = 'z';	/* undo snprintf's NUL */
	ASSERT_EQ(SHMIPC_NAME_MAX - 1, strlen(name));

	fd = sx_create(self->dev, name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd) TH_LOG("63-byte name: %s", strerror(-fd));
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_STREQ(name, info.name);
	EXPECT_EQ(1, sx_dbg_count_name(name));
	fd2 = sx_open(self->dev, name, SHMIPC_OPEN_RDONLY);
	EXPECT_LE(0, fd2);
	close(fd2);
	close(fd);
}

TEST_F(dev, name_garbage_after_nul_einval)
{
	char raw[SHMIPC_NAME_MAX];
	int fd, r[3];

	/* "abc\0" then one stray byte, at two places */
	memset(raw, 0, sizeof(raw));
	memcpy(raw, self->name, strlen(self->name));
	raw[strlen(self->name) + 1] = 'x';
	try_name_all(self->dev, raw, r);
	EXPECT_EQ(-EINVAL, r[0]);
	EXPECT_EQ(-EINVAL, r[1]);
	EXPECT_EQ(-EINVAL, r[2]);
	memset(raw, 0, sizeof(raw));
	memcpy(raw, self->name, strlen(self->name));
	raw[SHMIPC_NAME_MAX - 1] = 1;
	try_name_all(self->dev, raw, r);
	EXPECT_EQ(-EINVAL, r[0]);
	EXPECT_EQ(0, sx_dbg_count_name(self->name));

	/* and the clean name exists: garbage must not alias it */
	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	try_name_all(self->dev, raw, r);
	EXPECT_EQ(-EINVAL, r[1]);
	EXPECT_EQ(-EINVAL, r[2]);
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	close(fd);
}

TEST_F(dev, name_invalid_chars_einval)
{
	const char bad[] = { '/', ' ', '\n', '\t', '*', ':', '\\', '@', '~',
			     '"', '\x7f', '\x80', '\xff', '\x01' };
	char raw[SHMIPC_NAME_MAX];
	size_t i;
	int r[3];

	for (i = 0; i < sizeof(bad); i++) {
		memset(raw, 0, sizeof(raw));
		snprintf(raw, sizeof(raw), "bad%d-", (int)getpid());
		raw[strlen(raw)] = bad[i];
		raw[strlen(raw)] = 'z';
		try_name_all(self->dev, raw, r);
		EXPECT_EQ(-EINVAL, r[0]) TH_LOG("char 0x%02x", bad[i] & 0xff);
		EXPECT_EQ(-EINVAL, r[1]) TH_LOG("char 0x%02x", bad[i] & 0xff);
		EXPECT_EQ(-EINVAL, r[2]) TH_LOG("char 0x%02x", bad[i] & 0xff);
	}
}

TEST_F(dev, name_dot_and_dotdot_einval)
{
	char raw[SHMIPC_NAME_MAX];
	int r[3];

	memset(raw, 0, sizeof(raw));
	raw[0] = '.';
	try_name_all(self->dev, raw, r);
	EXPECT_EQ(-EINVAL, r[0]);
	EXPECT_EQ(-EINVAL, r[1]);
	EXPECT_EQ(-EINVAL, r[2]);
	raw[1] = '.';
	try_name_all(self->dev, raw, r);
	EXPECT_EQ(-EINVAL, r[0]);
	EXPECT_EQ(-EINVAL, r[1]);
	EXPECT_EQ(-EINVAL, r[2]);
}

TEST_F(dev, name_all_valid_chars)
{
	char name[SHMIPC_NAME_MAX], dots[SHMIPC_NAME_MAX];
	struct shmipc_info info;
	int fd, fd2;

	/* every class of allowed byte, and dots that are not "."/".." */
	snprintf(name, sizeof(name), "AZaz09._-%d", (int)getpid());
	fd = sx_create(self->dev, name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", name, strerror(-fd));
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_STREQ(name, info.name);
	close(fd);

	snprintf(dots, sizeof(dots), "...");
	fd = sx_create(self->dev, dots, 4096, 0600, 0);
	ASSERT_LE(0, fd) TH_LOG("\"...\": %s", strerror(-fd));
	fd2 = sx_create(self->dev, ".-", 4096, 0600, 0);
	ASSERT_LE(0, fd2) TH_LOG("\".-\": %s", strerror(-fd2));
	close(fd2);
	close(fd);
}

TEST_F(dev, names_are_case_sensitive)
{
	char upper[SHMIPC_NAME_MAX];
	struct shmipc_info a, b;
	size_t i;
	int fd, fd2;

	snprintf(upper, sizeof(upper), "%s", self->name);
	for (i = 0; upper[i]; i++)
		if (upper[i] >= 'a' && upper[i] <= 'z')
			upper[i] -= 'a' - 'A';
	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOENT, sx_open(self->dev, upper, 0));
	fd2 = sx_create(self->dev, upper, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, sx_info(fd, &a));
	ASSERT_EQ(0, sx_info(fd2, &b));
	EXPECT_NE(a.id, b.id);
	close(fd2);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* OPEN */

TEST_F(dev, open_read_write)
{
	struct shmipc_info a, b;
	__u64 size = 0;
	int fd, fd2;

	fd = sx_create(self->dev, self->name, 10000, 0600, 0);
	ASSERT_LE(0, fd);
	fd2 = sx_open_size(self->dev, self->name, 0, &size);
	ASSERT_LE(0, fd2) TH_LOG("open: %s", strerror(-fd2));
	EXPECT_NE(fd, fd2);
	EXPECT_EQ(10000, size);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(fd2, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(0, sx_info(fd, &a));
	ASSERT_EQ(0, sx_info(fd2, &b));
	EXPECT_EQ(a.id, b.id);
	EXPECT_EQ(SHMIPC_INFO_READ | SHMIPC_INFO_WRITE, b.flags);
	EXPECT_EQ(2, b.nr_files);
	close(fd2);
	EXPECT_EQ(1, sx_nr_files(fd));
	close(fd);
}

TEST_F(dev, open_rdonly)
{
	struct shmipc_info info;
	__u64 size = 0;
	int fd, fd2;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	fd2 = sx_open_size(self->dev, self->name, SHMIPC_OPEN_RDONLY, &size);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(4096, size);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, sx_info(fd2, &info));
	EXPECT_EQ(SHMIPC_INFO_READ, info.flags);
	EXPECT_EQ(2, info.nr_files);
	close(fd2);
	close(fd);
}

TEST_F(dev, open_stat)
{
	struct shmipc_info info;
	__u64 size = 0;
	int fd, fd2;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	fd2 = sx_open_size(self->dev, self->name, SHMIPC_OPEN_STAT, &size);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(4096, size);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, sx_info(fd2, &info));
	EXPECT_STREQ(self->name, info.name);
	EXPECT_EQ(0, info.flags & (SHMIPC_INFO_READ | SHMIPC_INFO_WRITE));
	EXPECT_EQ(0600, info.mode);
	EXPECT_EQ(2, info.nr_files);
	close(fd2);
	close(fd);
}

TEST_F(dev, open_missing_enoent)
{
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, 0));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name,
				   SHMIPC_OPEN_RDONLY));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
}

TEST_F(dev, open_bad_flags_or_reserved_einval)
{
	const __u32 bad[] = { 0x4, 0x8, 0x80000000, SHMIPC_OPEN_RDONLY | 0x100 };
	struct shmipc_open o;
	size_t i;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, sx_open(self->dev, self->name, bad[i]))
			TH_LOG("flags 0x%x", bad[i]);
	}
	for (i = 0; i < 2; i++) {
		memset(&o, 0, sizeof(o));
		sx_set_name(o.name, self->name);
		o.reserved[i] = 1;
		EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_OPEN, &o))
			TH_LOG("reserved[%zu]", i);
	}
	EXPECT_EQ(1, sx_nr_files(fd));
	close(fd);
}

TEST_F(dev, open_out_fields_ignored)
{
	struct shmipc_open o;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	memset(&o, 0, sizeof(o));
	sx_set_name(o.name, self->name);
	o.fd = 4242;
	o.size = ~0ULL;
	ASSERT_EQ(0, sx_ioctl(self->dev, SHMIPC_IOC_OPEN, &o));
	EXPECT_LE(0, o.fd);
	EXPECT_NE(4242, o.fd);
	EXPECT_EQ(4096, o.size);
	EXPECT_EQ(2, sx_nr_files(o.fd));
	close(o.fd);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* UNLINK */

TEST_F(dev, unlink_missing_enoent)
{
	EXPECT_EQ(-ENOENT, sx_unlink(self->dev, self->name));
}

TEST_F(dev, unlink_bad_flags_or_reserved_einval)
{
	struct shmipc_info info;
	struct shmipc_unlink u;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	memset(&u, 0, sizeof(u));
	sx_set_name(u.name, self->name);
	/* 0x1 is SHMIPC_UNLINK_DESTROY; every other bit is unknown */
	u.flags = 0x2;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_UNLINK, &u));
	u.flags = SHMIPC_UNLINK_DESTROY | 0x4;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_UNLINK, &u));
	u.flags = 1ULL << 63;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_UNLINK, &u));
	u.flags = 0;
	u.reserved = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->dev, SHMIPC_IOC_UNLINK, &u));
	/* still named */
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	EXPECT_EQ(0, sx_info(fd, &info));
	EXPECT_EQ(0, info.flags & SHMIPC_INFO_UNLINKED);
	u.reserved = 0;
	EXPECT_EQ(0, sx_ioctl(self->dev, SHMIPC_IOC_UNLINK, &u));
	EXPECT_EQ(-ENOENT, sx_open(self->dev, self->name, SHMIPC_OPEN_STAT));
	EXPECT_EQ(-ENOENT, sx_unlink(self->dev, self->name));
	close(fd);
}

TEST_F(dev, unlink_then_create_new_region)
{
	struct shmipc_info a, b;
	__u32 result = 0;
	int fd, fd2;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	ASSERT_EQ(0, sx_info(fd, &a));
	EXPECT_EQ(SHMIPC_INFO_UNLINKED, a.flags & SHMIPC_INFO_UNLINKED);
	/* the name is free again: EXCL succeeds, and it is a new region */
	fd2 = sx_create_res(self->dev, self->name, 8192, 0600,
			    SHMIPC_CREATE_EXCL, &result);
	ASSERT_LE(0, fd2) TH_LOG("re-create: %s", strerror(-fd2));
	EXPECT_EQ(SHMIPC_RESULT_CREATED, result);
	ASSERT_EQ(0, sx_info(fd2, &b));
	EXPECT_NE(a.id, b.id);
	EXPECT_EQ(8192, b.size);
	EXPECT_EQ(0, b.flags & SHMIPC_INFO_UNLINKED);
	/* both in debugfs under one name, the old one marked unlinked */
	EXPECT_EQ(2, sx_dbg_count_name(self->name));
	close(fd2);
	close(fd);
	EXPECT_EQ(0, sx_dbg_count_name(self->name));
}

/* ------------------------------------------------------------------ */
/* region fd basics */

TEST_F(dev, region_fd_unknown_ioctl_enotty)
{
	char buf[256];
	int fd;

	memset(buf, 0, sizeof(buf));
	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd, _IO(SHMIPC_IOC_MAGIC, 0x14), buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd, _IOR(SHMIPC_IOC_MAGIC, 0x7f, __u64),
				    buf));
	EXPECT_EQ(-ENOTTY, sx_ioctl(fd, TCGETS, buf));
	close(fd);
}

TEST_F(dev, info_out_fields_overwritten)
{
	struct shmipc_info info;
	int fd, i;

	fd = sx_create(self->dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, sx_ioctl(fd, SHMIPC_IOC_INFO, &info));
	EXPECT_STREQ(self->name, info.name);
	/* the name array is NUL padded, reserved is zero */
	for (i = (int)strlen(self->name); i < SHMIPC_NAME_MAX; i++) {
		EXPECT_EQ(0, info.name[i]);
	}
	for (i = 0; i < (int)ARRAY_SIZE(info.reserved); i++) {
		EXPECT_EQ(0, info.reserved[i]);
	}
	EXPECT_EQ(0, info.nr_waiters);
	EXPECT_EQ(0, info.nr_peers);
	EXPECT_EQ(0, info.nr_dead);
	close(fd);
}

TEST_HARNESS_MAIN
