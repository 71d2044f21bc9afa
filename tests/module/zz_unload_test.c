// SPDX-License-Identifier: GPL-2.0
/*
 * Module unload and reload.  Named zz_ so that it runs after every other
 * test binary: it unloads shmipc and loads it again from $SHMIPC_KO
 * (default /shmipc.ko).  Every test starts and ends with the module
 * loaded (the fixture reloads it if a test failed half-way).
 *
 * delete_module(O_NONBLOCK) of a module in use fails with EWOULDBLOCK
 * (== EAGAIN) in 6.1 ("Resource temporarily unavailable"; rmmod calls it
 * "in use").
 *
 * Peers, deaths and parked io_uring waits must not keep the module in:
 * once every fd is closed (and a killed process' io_uring is torn down,
 * which is asynchronous), the module unloads.
 *
 * Runs in the VM as root.
 */
#define _GNU_SOURCE
#define SX_URING
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define SYSMOD	"/sys/module/shmipc"

static const char *ko_path(void)
{
	const char *ko = getenv("SHMIPC_KO");

	return ko && *ko ? ko : "/shmipc.ko";
}

static bool mod_loaded(void)
{
	struct stat st;

	return stat(SYSMOD, &st) == 0;
}

static int mod_unload(void)
{
	return syscall(SYS_delete_module, "shmipc", O_NONBLOCK) ? -errno : 0;
}

static int mod_load(const char *params)
{
	int fd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* Wait for /dev/shmipc to be (or not be) there. */
static bool dev_present(bool want)
{
	__u64 end = sx_deadline_ms(5000);
	struct stat st;

	do {
		if ((stat(SX_DEV, &st) == 0) == want)
			return true;
		usleep(2000);
	} while (sx_now_ns() < end);
	return false;
}

static long mod_refcnt(void)
{
	char buf[32];
	ssize_t n;
	int fd = open(SYSMOD "/refcnt", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

FIXTURE(mod) {
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(mod)
{
	ASSERT_EQ(0, geteuid());
	if (!mod_loaded()) {
		ASSERT_EQ(0, mod_load(""));
	}
	ASSERT_TRUE(dev_present(true));
	sx_unique_name(self->name, "unload");
}

FIXTURE_TEARDOWN(mod)
{
	int dev;

	/* leave the module loaded, with our name gone */
	if (!mod_loaded()) {
		EXPECT_EQ(0, mod_load(""));
	}
	dev = sx_dev_open();
	if (dev >= 0) {
		sx_unlink(dev, self->name);
		close(dev);
	}
}

/*
 * First, while the module loaded by the VM's init is still in: the test
 * binaries before this one (named to sort first) each cleaned up after
 * themselves, so a region still listed here leaked in the module.
 */
TEST_F(mod, no_region_left_behind)
{
	struct sx_dbg_region r[16];
	int n, i;

	n = sx_dbg_read(r, 16);
	ASSERT_LE(0, n);
	for (i = 0; i < n && i < 16; i++) {
		TH_LOG("left: id %llu name %s files %d flags %s", r[i].id,
		       r[i].name, r[i].files, r[i].flags);
	}
	EXPECT_EQ(0, n);
}

/* Nor a peer: every region went, and its peers with it. */
TEST_F(mod, no_peer_left_behind)
{
	struct sx_dbg_peer p[16];
	int n, i;

	n = sx_dbg_peers(p, 16);
	ASSERT_LE(0, n);
	for (i = 0; i < n && i < 16; i++) {
		TH_LOG("left: region %llu peer %llu pid %d %s", p[i].region,
		       p[i].peer, p[i].pid, p[i].state);
	}
	EXPECT_EQ(0, n);
}

TEST_F(mod, load_twice_eexist)
{
	EXPECT_EQ(-EEXIST, mod_load(""));
	EXPECT_TRUE(mod_loaded());
	EXPECT_TRUE(dev_present(true));
}

TEST_F(mod, fds_hold_the_module)
{
	long base;
	int dev, fd;

	base = mod_refcnt();
	ASSERT_LE(0, base);
	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	EXPECT_LT(base, mod_refcnt());
	fd = sx_create(dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	close(dev);
	/* the region fd alone holds it */
	EXPECT_LT(base, mod_refcnt());
	close(fd);
	EXPECT_EQ(base, mod_refcnt());
}

TEST_F(mod, unload_busy_while_region_fd_open)
{
	struct shmipc_info info;
	int dev, fd;

	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	fd = sx_create(dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	close(dev);

	EXPECT_EQ(-EWOULDBLOCK, mod_unload());
	EXPECT_TRUE(mod_loaded());
	/* nothing was torn down */
	EXPECT_EQ(0, sx_info(fd, &info));
	EXPECT_STREQ(self->name, info.name);
	EXPECT_EQ(-ETIMEDOUT, sx_wait(fd, 0, 0, 0));
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	close(fd);
}

TEST_F(mod, unload_busy_while_a_child_waits)
{
	int dev, fd;
	pid_t pid;

	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	fd = sx_create(dev, self->name, 4096, 0600, 0);
	ASSERT_LE(0, fd);
	close(dev);
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(sx_errcode(sx_wait(fd, 0, 0,
					 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	ASSERT_TRUE(sx_wait_waiters(fd, 1));
	close(fd);	/* only the sleeping child holds the region now */
	EXPECT_EQ(-EWOULDBLOCK, mod_unload());
	/* wake it through a new fd */
	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	fd = sx_open(dev, self->name, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, sx_wake(fd, 0, 1));
	EXPECT_EQ(0, sx_reap(pid));
	close(fd);
	close(dev);
}

TEST_F(mod, unload_busy_while_dev_open)
{
	int dev;

	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	EXPECT_EQ(-EWOULDBLOCK, mod_unload());
	EXPECT_TRUE(mod_loaded());
	close(dev);
}

TEST_F(mod, unload_after_close_and_reload)
{
	struct shmipc_features f;
	struct stat st;
	int dev, fd;

	/* a persistent region with no fd does not pin the module */
	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	fd = sx_create(dev, self->name, 4096, 0600,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	close(fd);
	close(dev);
	ASSERT_EQ(1, sx_dbg_count_name(self->name));

	ASSERT_EQ(0, mod_unload());
	EXPECT_FALSE(mod_loaded());
	EXPECT_EQ(-1, stat(SX_DEBUGFS_DIR, &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_TRUE(dev_present(false));
	EXPECT_GT(0, sx_dev_open());
	EXPECT_EQ(-ENOENT, mod_unload());

	ASSERT_EQ(0, mod_load("")) TH_LOG("finit_module(%s)", ko_path());
	EXPECT_TRUE(mod_loaded());
	ASSERT_TRUE(dev_present(true));
	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, sx_features(dev, &f));
	EXPECT_EQ(SHMIPC_API_VERSION, f.api_version);
	/* a fresh module: the persistent region went with the old one */
	EXPECT_EQ(0, sx_dbg_count());
	EXPECT_EQ(-ENOENT, sx_open(dev, self->name, SHMIPC_OPEN_STAT));
	fd = sx_create(dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	EXPECT_LE(0, fd);
	close(fd);
	close(dev);
}

TEST_F(mod, reload_with_parameters)
{
	unsigned long long defaults[3], v;
	const char *params[3] = { "max_region_size", "max_user_regions",
				  "max_total_bytes" };
	int dev, i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, sx_param_read(params[i], &defaults[i]));
	}
	ASSERT_EQ(0, mod_unload());
	ASSERT_EQ(0, mod_load("max_region_size=8192 max_user_regions=5 "
			      "max_total_bytes=1048576"));
	ASSERT_EQ(0, sx_param_read("max_region_size", &v));
	EXPECT_EQ(8192, v);
	ASSERT_EQ(0, sx_param_read("max_user_regions", &v));
	EXPECT_EQ(5, v);
	ASSERT_EQ(0, sx_param_read("max_total_bytes", &v));
	EXPECT_EQ(1048576, v);
	ASSERT_TRUE(dev_present(true));
	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	EXPECT_EQ(-EFBIG, sx_create(dev, self->name, 8193, 0600, 0));
	close(dev);

	/* back to the defaults */
	ASSERT_EQ(0, mod_unload());
	ASSERT_EQ(0, mod_load(""));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, sx_param_read(params[i], &v));
		EXPECT_EQ(defaults[i], v) TH_LOG("%s", params[i]);
	}
	ASSERT_TRUE(dev_present(true));
}

/* Poll until the module's reference count is @want; true if it was soon. */
static bool refcnt_back_to(long want)
{
	__u64 end = sx_deadline_ms(SX_SOON_MS);

	do {
		if (mod_refcnt() == want)
			return true;
		usleep(2000);
	} while (sx_now_ns() < end);
	return false;
}

/*
 * A child parks io_uring waits (through the fd it inherited and through
 * one of its own) and is SIGKILLed, or exits, or parks through a
 * registered file (which no ->flush reaches: max_uring_wait_ms ends it).
 * Every fd closed, the module must unload.
 */
static void parked_then_unload(struct __test_metadata *_metadata,
			       const char *name, bool killed, bool fixed)
{
	int dev, fd, ready[2], go[2];
	long base;
	pid_t pid;

	base = mod_refcnt();
	ASSERT_LE(0, base);
	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	if (fixed) {
		/* long enough for a slow VM to see them parked first */
		ASSERT_EQ(0, sx_param_write("max_uring_wait_ms", 1500));
	}
	fd = sx_create(dev, name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_wait wt[2];
		struct io_uring ring;
		int own;

		close(ready[0]);
		close(go[1]);
		own = sx_open(dev, name, 0);
		if (own < 0 || io_uring_queue_init(8, &ring, 0))
			_exit(100);
		if (sx_uring_park_two(&ring, fd, own, fixed, 0, wt))
			_exit(103);
		if (!sx_wait_waiters(fd, 2))
			_exit(104);
		sx_signal_fd(ready[1]);
		if (killed)
			pause();
		sx_await_fd(go[0]);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(0, sx_await_fd(ready[0]));
	close(ready[0]);
	if (!fixed) {
		EXPECT_EQ(2, sx_nr_waiters(fd));
	}
	/* A killed child has no reader of @go left: writing there could
	 * raise SIGPIPE once it is gone. */
	if (killed)
		kill(pid, SIGKILL);
	else
		sx_signal_fd(go[1]);
	close(go[1]);
	EXPECT_EQ(killed ? 128 + SIGKILL : 0, sx_reap(pid));
	EXPECT_TRUE(sx_wait_waiters(fd, 0));
	close(fd);
	close(dev);
	EXPECT_TRUE(refcnt_back_to(base));
	ASSERT_EQ(0, mod_unload());
	EXPECT_FALSE(mod_loaded());
}

TEST_F(mod, unload_after_child_with_parked_waits_killed)
{
	parked_then_unload(_metadata, self->name, true, false);
}

TEST_F(mod, unload_after_child_with_parked_waits_exited)
{
	parked_then_unload(_metadata, self->name, false, false);
}

TEST_F(mod, unload_after_parked_wait_through_registered_file)
{
	parked_then_unload(_metadata, self->name, false, true);
}

/*
 * Peers when the module goes: a persistent region with no fd open keeps
 * a marked dead peer (it owned a word) and an attached peer that is
 * still alive.  Unload frees them, and the live one's later death (its
 * pidfd hook must be gone with the module) harms nothing.
 */
TEST_F(mod, unload_with_marked_dead_peer_in_persistent_region)
{
	static const __u64 own[] = { 0 };
	int dev, fd;
	__u64 id;
	long base;
	pid_t pid;

	base = mod_refcnt();
	ASSERT_LE(0, base);
	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	fd = sx_create(dev, self->name, 4096, 0600,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	pid = sx_fork_owner(fd, own, 1, NULL, 0, &id);
	ASSERT_LE(0, pid);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
	ASSERT_TRUE(sx_wait_peers(fd, 0, 1));
	/* a live peer that closed its fds, too */
	pid = sx_fork_peer(fd, &id);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fd);
		close(dev);
		pause();
		_exit(0);
	}
	close(fd);
	close(dev);
	EXPECT_TRUE(refcnt_back_to(base));
	EXPECT_EQ(1, sx_dbg_count_name(self->name));
	ASSERT_EQ(0, mod_unload());
	EXPECT_FALSE(mod_loaded());
	/* its death after the module is gone: nothing to notify */
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(pid));
}

/* Tied names of a persistent parent, nothing open: unload drops them all. */
TEST_F(mod, unload_with_tied_regions_of_persistent_parent)
{
	char child[SHMIPC_NAME_MAX];
	int dev, fd, c, i;
	long base;

	base = mod_refcnt();
	ASSERT_LE(0, base);
	dev = sx_dev_open();
	ASSERT_LE(0, dev);
	fd = sx_create(dev, self->name, 4096, 0600,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		snprintf(child, sizeof(child), "%.40s-t%d", self->name, i);
		c = sx_create_tied(dev, child, 8192, SHMIPC_CREATE_EXCL, fd);
		ASSERT_LE(0, c);
		close(c);
	}
	close(fd);
	close(dev);
	EXPECT_TRUE(refcnt_back_to(base));
	EXPECT_EQ(1, sx_dbg_count_name(child));
	ASSERT_EQ(0, mod_unload());
	EXPECT_FALSE(mod_loaded());
}

TEST_HARNESS_MAIN
