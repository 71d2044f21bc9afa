// SPDX-License-Identifier: GPL-2.0
/*
 * mmap of region fds: shared memory across fds and processes, read-only
 * fds that can never gain write, bounds and offsets, STAT fds, mappings
 * that outlive their fd, and plain futex(2) on mapped words.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

/* Region of 2 pages and 100 bytes: its mappable length is 3 pages. */
#define NPAGES	3

FIXTURE(map) {
	int dev;
	int fd;
	size_t page;
	size_t size;	/* region size */
	size_t len;	/* page-rounded */
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(map)
{
	self->page = sx_page();
	self->size = 2 * self->page + 100;
	self->len = NPAGES * self->page;
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	sx_unique_name(self->name, "mmap");
	self->fd = sx_create(self->dev, self->name, self->size, 0644,
			     SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
}

FIXTURE_TEARDOWN(map)
{
	close(self->fd);
	close(self->dev);
}

static void *map(int fd, size_t len, int prot, int flags, off_t off)
{
	return mmap(NULL, len, prot, flags, fd, off);
}

TEST_F(map, map_whole_region_reads_zero)
{
	unsigned char *p;
	size_t i;

	p = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	for (i = 0; i < self->len; i++)
		if (p[i])
			break;
	EXPECT_EQ(self->len, i) TH_LOG("non-zero byte at %zu", i);
	/* writable to the end of the last (partial) page */
	p[0] = 1;
	p[self->size - 1] = 2;
	p[self->len - 1] = 3;
	EXPECT_EQ(1, p[0]);
	EXPECT_EQ(0, munmap(p, self->len));
}

TEST_F(map, shared_between_two_fds)
{
	unsigned int *a, *b;
	int fd2, i;

	fd2 = sx_open(self->dev, self->name, 0);
	ASSERT_LE(0, fd2);
	a = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = map(fd2, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_NE(a, b);
	for (i = 0; i < 1024; i++)
		a[i * 3] = 0x1000u + (unsigned int)i;
	for (i = 0; i < 1024; i++) {
		ASSERT_EQ(0x1000u + (unsigned int)i, b[i * 3]);
	}
	b[7] = 0xcafe;
	EXPECT_EQ(0xcafe, a[7]);
	munmap(a, self->len);
	munmap(b, self->len);
	close(fd2);
}

TEST_F(map, shared_across_processes)
{
	volatile unsigned int *p;
	int to_child[2], to_parent[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	p = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[1] = 41;

	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* opens the name on its own and maps it */
		volatile unsigned int *q;
		int fd;

		close(self->fd);
		fd = sx_open(self->dev, self->name, 0);
		if (fd < 0)
			_exit(sx_errcode(fd));
		q = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (q == MAP_FAILED)
			_exit(100);
		if (q[1] != 41)
			_exit(101);
		q[2] = 42;
		q[self->size / 4 - 1] = 43;
		sx_signal_fd(to_parent[1]);
		if (sx_await_fd(to_child[0]))
			_exit(102);
		_exit(q[3] == 44 ? 0 : 103);
	}
	ASSERT_EQ(0, sx_await_fd(to_parent[0]));
	EXPECT_EQ(42, p[2]);
	EXPECT_EQ(43, p[self->size / 4 - 1]);
	p[3] = 44;
	ASSERT_EQ(0, sx_signal_fd(to_child[1]));
	EXPECT_EQ(0, sx_reap(pid));
	munmap((void *)p, self->len);
}

TEST_F(map, rdonly_fd_prot_write_eacces)
{
	unsigned int *w, *r;
	int fd;

	w = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, w);
	w[0] = 77;
	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);

	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(fd, self->len, PROT_READ | PROT_WRITE,
				  MAP_SHARED, 0));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(fd, self->page, PROT_WRITE, MAP_SHARED, 0));
	EXPECT_EQ(EACCES, errno);

	/* read-only mapping works and follows the writer */
	r = map(fd, self->len, PROT_READ, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, r) TH_LOG("mmap PROT_READ: %s", strerror(errno));
	EXPECT_EQ(77, r[0]);
	w[0] = 78;
	EXPECT_EQ(78, r[0]);
	munmap(r, self->len);
	munmap(w, self->len);
	close(fd);
}

TEST_F(map, rdonly_mprotect_write_fails)
{
	unsigned int *r;
	int fd;

	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, fd);
	r = map(fd, self->len, PROT_READ, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, r);
	errno = 0;
	EXPECT_EQ(-1, mprotect(r, self->len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(r, self->page, PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* still readable, the failure changed nothing */
	EXPECT_EQ(0, mprotect(r, self->len, PROT_READ));
	EXPECT_EQ(0, r[0]);
	/* even after the fd is gone */
	close(fd);
	errno = 0;
	EXPECT_EQ(-1, mprotect(r, self->len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(r, self->len);
}

TEST_F(map, rdonly_mremap_cannot_gain_write)
{
	void *r, *moved;
	int fd;

	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, fd);
	r = map(fd, self->page, PROT_READ, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, r);
	/* moving it (same size) keeps it read-only for good */
	moved = mremap(r, self->page, self->page, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, moved) TH_LOG("mremap: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, mprotect(moved, self->page, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* growing it is refused (and would not add write either) */
	EXPECT_EQ(MAP_FAILED, mremap(moved, self->page, 2 * self->page,
				     MREMAP_MAYMOVE));
	errno = 0;
	EXPECT_EQ(-1, mprotect(moved, self->page, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(moved, self->page);
	close(fd);
}

TEST_F(map, mremap_cannot_grow)
{
	unsigned int *p, *q;

	p = map(self->fd, self->page, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 5;
	/* not even inside the region's size */
	EXPECT_EQ(MAP_FAILED, mremap(p, self->page, 2 * self->page, 0));
	EXPECT_EQ(MAP_FAILED, mremap(p, self->page, 2 * self->page,
				     MREMAP_MAYMOVE));
	/* the mapping is intact */
	EXPECT_EQ(5, p[0]);
	/* shrinking is fine */
	munmap(p, self->page);
	p = map(self->fd, 2 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		0);
	ASSERT_NE(MAP_FAILED, p);
	q = mremap(p, 2 * self->page, self->page, 0);
	ASSERT_EQ(p, q);
	EXPECT_EQ(5, q[0]);
	munmap(q, self->page);
}

TEST_F(map, map_private_einval)
{
	int fd;

	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(self->fd, self->page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(self->fd, self->page, PROT_READ,
				  MAP_PRIVATE, 0));
	EXPECT_EQ(EINVAL, errno);
	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(fd, self->page, PROT_READ, MAP_PRIVATE, 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(map, map_beyond_size_enxio)
{
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(self->fd, self->len + self->page,
				  PROT_READ | PROT_WRITE, MAP_SHARED, 0));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(self->fd, 64 * self->page, PROT_READ,
				  MAP_SHARED, 0));
	EXPECT_EQ(ENXIO, errno);
}

TEST_F(map, map_at_page_offset)
{
	unsigned char *all, *p;

	all = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, all);
	all[self->page] = 0x11;
	all[2 * self->page + 99] = 0x22;

	p = map(self->fd, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		(off_t)self->page);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap at page 1: %s", strerror(errno));
	EXPECT_EQ(0x11, p[0]);
	p[1] = 0x33;
	EXPECT_EQ(0x33, all[self->page + 1]);
	munmap(p, self->page);

	/* the last page alone, and the last two pages */
	p = map(self->fd, self->page, PROT_READ, MAP_SHARED,
		(off_t)(2 * self->page));
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x22, p[99]);
	munmap(p, self->page);
	p = map(self->fd, 2 * self->page, PROT_READ, MAP_SHARED,
		(off_t)self->page);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x11, p[0]);
	munmap(p, 2 * self->page);
	munmap(all, self->len);
}

TEST_F(map, map_offset_beyond_enxio)
{
	/* starts past the end */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(self->fd, self->page, PROT_READ,
				  MAP_SHARED, (off_t)self->len));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(self->fd, self->page, PROT_READ,
				  MAP_SHARED, (off_t)(100 * self->page)));
	EXPECT_EQ(ENXIO, errno);
	/* starts inside, ends past the end */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(self->fd, 2 * self->page, PROT_READ,
				  MAP_SHARED, (off_t)(2 * self->page)));
	EXPECT_EQ(ENXIO, errno);
}

TEST_F(map, stat_fd_mmap_eacces)
{
	int fd;

	fd = sx_open(self->dev, self->name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(fd, self->page, PROT_READ, MAP_SHARED, 0));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map(fd, self->page, PROT_READ | PROT_WRITE,
				  MAP_SHARED, 0));
	EXPECT_EQ(EACCES, errno);
	close(fd);
}

TEST_F(map, mapping_outlives_its_fd)
{
	volatile unsigned int *p;
	pid_t pid;

	p = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[10] = 1234;
	/* close every fd of the region: only the mapping is left */
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(1234, p[10]);
	p[11] = 5678;
	EXPECT_EQ(5678, p[11]);
	p[self->len / 4 - 1] = 9;

	/* a child inherits the mapping, and writes through it */
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		p[12] = 91011;
		_exit(p[11] == 5678 ? 0 : 1);
	}
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_EQ(91011, p[12]);

	munmap((void *)p, self->len);
}

TEST_F(map, munmap_and_map_again_keeps_data)
{
	unsigned int *p;

	p = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[100] = 0xabcdef;
	ASSERT_EQ(0, munmap(p, self->len));
	p = map(self->fd, self->len, PROT_READ, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0xabcdef, p[100]);
	munmap(p, self->len);
}

static long futex(volatile unsigned int *uaddr, int op, unsigned int val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

TEST_F(map, futex_mismatch_eagain)
{
	volatile unsigned int *p;
	struct timespec ts = { 0, 1000 };

	p = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 3;
	errno = 0;
	EXPECT_EQ(-1, futex(p, FUTEX_WAIT, 2, &ts));
	EXPECT_EQ(EAGAIN, errno);
	errno = 0;
	EXPECT_EQ(-1, futex(p, FUTEX_WAIT, 3, &ts));
	EXPECT_EQ(ETIMEDOUT, errno);
	EXPECT_EQ(0, futex(p, FUTEX_WAKE, 1, NULL));
	munmap((void *)p, self->len);
}

/*
 * Plain futex(2) between two processes that map the region through two
 * different fds (so the futex key must be the shared page, not the mm).
 */
TEST_F(map, futex_wait_wake_across_fork)
{
	volatile unsigned int *p;
	long woken = 0, total = 0;
	__u64 end;
	pid_t pid;

	p = map(self->fd, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[self->page / 4] = 0;

	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile unsigned int *q;
		struct timespec ts = { SX_CHILD_WAIT_MS / 1000, 0 };
		int fd = sx_open(self->dev, self->name, 0);

		if (fd < 0)
			_exit(sx_errcode(fd));
		q = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (q == MAP_FAILED)
			_exit(100);
		munmap((void *)p, self->len);
		while (q[self->page / 4] == 0) {
			if (futex(&q[self->page / 4], FUTEX_WAIT, 0, &ts) &&
			    errno != EAGAIN && errno != EINTR)
				_exit(errno == ETIMEDOUT ? 101 : 102);
		}
		_exit(q[self->page / 4] == 7 ? 0 : 103);
	}

	/* Wake until it finds the sleeping child: proves it was queued. */
	end = sx_deadline_ms(SX_SOON_MS);
	while (woken == 0 && sx_now_ns() < end) {
		woken = futex(&p[self->page / 4], FUTEX_WAKE, 1, NULL);
		if (!woken)
			usleep(2000);
	}
	EXPECT_EQ(1, woken) TH_LOG("the child never slept on the futex");
	total = woken;
	p[self->page / 4] = 7;
	total += futex(&p[self->page / 4], FUTEX_WAKE, 1, NULL);
	EXPECT_EQ(0, sx_reap(pid));
	EXPECT_LE(1, total);
	munmap((void *)p, self->len);
}

TEST_HARNESS_MAIN
