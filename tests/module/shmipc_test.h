/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the shmipc kselftests: wrappers around the ioctls of
 * <linux/shmipc.h> that return -errno, the debugfs region list, module
 * parameters, and children that cannot outlive (or hang) the test.
 *
 * Every wrapper returns a value >= 0 on success and -errno on failure, so
 * tests compare with ASSERT_EQ(-EINVAL, sx_...(...)).
 *
 * Children forked by a test must never use the ASSERT and EXPECT macros (they
 * longjmp inside the harness' test process): they report through their
 * exit status (sx_errcode()) and always leave with _exit().
 */
#ifndef SHMIPC_TEST_H
#define SHMIPC_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/shmipc.h>

#define SX_DEV		"/dev/shmipc"
#define SX_DEBUGFS	"/sys/kernel/debug/shmipc/regions"
#define SX_DEBUGFS_DIR	"/sys/kernel/debug/shmipc"
#define SX_PARAMS	"/sys/module/shmipc/parameters/"
#define SX_HEADER	"id name size uid gid mode flags files waiters userns"

/* Deadline for anything that should happen "soon": only to avoid hangs. */
#define SX_SOON_MS	15000
/* Deadline of a WAIT in a child that the test expects to be woken. */
#define SX_CHILD_WAIT_MS	20000

/* ------------------------------------------------------------------ */
/* time */

static inline __u64 sx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static inline __u64 sx_deadline_ms(unsigned int ms)
{
	return sx_now_ns() + (__u64)ms * 1000000ULL;
}

static inline void sx_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ------------------------------------------------------------------ */
/* names */

/* Copy @src into a name array: no truncation, no NUL added if 64 bytes. */
static inline void sx_set_name(char dst[SHMIPC_NAME_MAX], const char *src)
{
	size_t n = strlen(src);

	if (n > SHMIPC_NAME_MAX)
		n = SHMIPC_NAME_MAX;
	memset(dst, 0, SHMIPC_NAME_MAX);
	memcpy(dst, src, n);
}

/* A name unique to this test process: "<tag>-<pid>". */
static inline void sx_unique_name(char out[SHMIPC_NAME_MAX], const char *tag)
{
	snprintf(out, SHMIPC_NAME_MAX, "%.40s-%d", tag, (int)getpid());
}

/* ------------------------------------------------------------------ */
/* ioctls */

static inline int sx_ioctl(int fd, unsigned long req, void *arg)
{
	int ret = ioctl(fd, req, arg);

	return ret < 0 ? -errno : ret;
}

static inline int sx_dev_open(void)
{
	int fd = open(SX_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int sx_features(int dev, struct shmipc_features *f)
{
	memset(f, 0, sizeof(*f));
	return sx_ioctl(dev, SHMIPC_IOC_GET_FEATURES, f);
}

/* Create (or open, without EXCL); returns the region fd or -errno. */
static inline int sx_create_res(int dev, const char *name, __u64 size,
				__u32 mode, __u32 flags, __u32 *result)
{
	struct shmipc_create c;
	int ret;

	memset(&c, 0, sizeof(c));
	sx_set_name(c.name, name);
	c.size = size;
	c.mode = mode;
	c.flags = flags;
	c.fd = -1;
	c.result = 0xdeadbeef;
	ret = sx_ioctl(dev, SHMIPC_IOC_CREATE, &c);
	if (ret < 0)
		return ret;
	if (result)
		*result = c.result;
	return c.fd;
}

static inline int sx_create(int dev, const char *name, __u64 size, __u32 mode,
			    __u32 flags)
{
	return sx_create_res(dev, name, size, mode, flags, NULL);
}

/* Open by name; returns the region fd or -errno, and the size if asked. */
static inline int sx_open_size(int dev, const char *name, __u32 flags,
			       __u64 *size)
{
	struct shmipc_open o;
	int ret;

	memset(&o, 0, sizeof(o));
	sx_set_name(o.name, name);
	o.flags = flags;
	o.fd = -1;
	ret = sx_ioctl(dev, SHMIPC_IOC_OPEN, &o);
	if (ret < 0)
		return ret;
	if (size)
		*size = o.size;
	return o.fd;
}

static inline int sx_open(int dev, const char *name, __u32 flags)
{
	return sx_open_size(dev, name, flags, NULL);
}

static inline int sx_unlink(int dev, const char *name)
{
	struct shmipc_unlink u;

	memset(&u, 0, sizeof(u));
	sx_set_name(u.name, name);
	return sx_ioctl(dev, SHMIPC_IOC_UNLINK, &u);
}

static inline int sx_info(int fd, struct shmipc_info *info)
{
	memset(info, 0, sizeof(*info));
	return sx_ioctl(fd, SHMIPC_IOC_INFO, info);
}

static inline int sx_wait(int fd, __u64 offset, __u32 expected, __u64 deadline)
{
	struct shmipc_wait w;

	memset(&w, 0, sizeof(w));
	w.offset = offset;
	w.expected = expected;
	w.deadline_ns = deadline;
	return sx_ioctl(fd, SHMIPC_IOC_WAIT, &w);
}

static inline int sx_wake(int fd, __u64 offset, __u32 count)
{
	struct shmipc_wake w;

	memset(&w, 0, sizeof(w));
	w.offset = offset;
	w.count = count;
	return sx_ioctl(fd, SHMIPC_IOC_WAKE, &w);
}

static inline void sx_entry(struct shmipc_waitv_entry *e, int fd,
			    __u64 offset, __u32 expected)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->offset = offset;
	e->expected = expected;
}

static inline int sx_waitv(int fd, struct shmipc_waitv_entry *e,
			   __u32 count, __u64 deadline)
{
	struct shmipc_waitv v;

	memset(&v, 0, sizeof(v));
	v.entries = (__u64)(uintptr_t)e;
	v.count = count;
	v.deadline_ns = deadline;
	return sx_ioctl(fd, SHMIPC_IOC_WAITV, &v);
}

/* nr_waiters of the region of @fd, or -errno. */
static inline int sx_nr_waiters(int fd)
{
	struct shmipc_info info;
	int ret = sx_info(fd, &info);

	return ret < 0 ? ret : (int)info.nr_waiters;
}

static inline int sx_nr_files(int fd)
{
	struct shmipc_info info;
	int ret = sx_info(fd, &info);

	return ret < 0 ? ret : (int)info.nr_files;
}

/*
 * Poll INFO until the region has exactly @n waiters; true when it did
 * before SX_SOON_MS.  This is how a test knows a child is asleep in WAIT.
 */
static inline bool sx_wait_waiters(int fd, int n)
{
	__u64 end = sx_deadline_ms(SX_SOON_MS);

	do {
		if (sx_nr_waiters(fd) == n)
			return true;
		usleep(1000);
	} while (sx_now_ns() < end);
	return false;
}

/* ------------------------------------------------------------------ */
/* debugfs: /sys/kernel/debug/shmipc/regions */

struct sx_dbg_region {
	unsigned long long id, size, userns;
	char name[SHMIPC_NAME_MAX];
	unsigned int uid, gid, mode;
	char flags[8];
	int files, waiters;
};

/*
 * Read the region list into @out (up to @max entries).  Returns the number
 * of regions (even beyond @max), -errno if the file cannot be read, or
 * -EPROTO if the header or a line is malformed.
 */
static inline int sx_dbg_read(struct sx_dbg_region *out, int max)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(SX_DEBUGFS, "re");

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f) ||
	    strcmp(line, SX_HEADER "\n")) {
		fclose(f);
		return -EPROTO;
	}
	while (fgets(line, sizeof(line), f)) {
		struct sx_dbg_region r;
		char name[128], flags[16];

		memset(&r, 0, sizeof(r));
		if (sscanf(line, "%llu %127s %llu %u %u %o %15s %d %d %llu",
			   &r.id, name, &r.size, &r.uid, &r.gid, &r.mode,
			   flags, &r.files, &r.waiters, &r.userns) != 10 ||
		    strlen(name) >= SHMIPC_NAME_MAX ||
		    strlen(flags) >= sizeof(r.flags)) {
			fclose(f);
			return -EPROTO;
		}
		strcpy(r.name, name);
		strcpy(r.flags, flags);
		if (out && n < max)
			out[n] = r;
		n++;
	}
	fclose(f);
	return n;
}

static inline int sx_dbg_count(void)
{
	return sx_dbg_read(NULL, 0);
}

/* Number of regions named @name (any namespace); -errno on error. */
static inline int sx_dbg_count_name(const char *name)
{
	struct sx_dbg_region r[256];
	int n = sx_dbg_read(r, 256), i, found = 0;

	if (n < 0)
		return n;
	if (n > 256)
		return -E2BIG;
	for (i = 0; i < n; i++)
		if (!strcmp(r[i].name, name))
			found++;
	return found;
}

/* The region with id @id; 0 if found, -ENOENT if not, else -errno. */
static inline int sx_dbg_find_id(unsigned long long id,
				 struct sx_dbg_region *out)
{
	struct sx_dbg_region r[256];
	int n = sx_dbg_read(r, 256), i;

	if (n < 0)
		return n;
	if (n > 256)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (r[i].id == id) {
			*out = r[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* The region of @fd as debugfs shows it. */
static inline int sx_dbg_find_fd(int fd, struct sx_dbg_region *out)
{
	struct shmipc_info info;
	int ret = sx_info(fd, &info);

	return ret < 0 ? ret : sx_dbg_find_id(info.id, out);
}

/* Inode number of the user namespace of @pid (0: self). */
static inline unsigned long long sx_userns_ino(pid_t pid)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/user");
	if (stat(path, &st))
		return 0;
	return (unsigned long long)st.st_ino;
}

/* ------------------------------------------------------------------ */
/* module parameters */

static inline int sx_param_read(const char *param, unsigned long long *val)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SX_PARAMS "%s", param);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	*val = strtoull(buf, NULL, 0);
	return 0;
}

static inline int sx_param_write(const char *param, unsigned long long val)
{
	char path[128], buf[64];
	int fd, len;
	ssize_t n;

	snprintf(path, sizeof(path), SX_PARAMS "%s", param);
	len = snprintf(buf, sizeof(buf), "%llu\n", val);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, (size_t)len);
	close(fd);
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

/* ------------------------------------------------------------------ */
/* children */

/* Exit status a child uses for "the call returned this". */
static inline int sx_errcode(int ret)
{
	if (ret >= 0)
		return 0;
	return -ret < 200 ? -ret : 199;
}

/*
 * fork() for a test: the child is killed when the test process ends (a
 * failed ASSERT cannot leave it blocked with regions open).
 */
static inline pid_t sx_fork(void)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(198);
	}
	return pid;
}

/*
 * Reap @pid within @ms milliseconds (SIGKILL it after that).  Returns its
 * exit code, 128 + signal if it was killed by one, or -1 on timeout.
 */
static inline int sx_reap_ms(pid_t pid, unsigned int ms)
{
	__u64 end = sx_deadline_ms(ms);
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -2;
		if (sx_now_ns() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -3;
}

static inline int sx_reap(pid_t pid)
{
	return sx_reap_ms(pid, SX_SOON_MS);
}

/* Has @pid exited (without reaping it)?  */
static inline bool sx_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT))
		return false;
	return si.si_pid == pid;
}

/* Drop root in a child: groups, gid, then uid (no capabilities left). */
static inline int sx_become(uid_t uid, gid_t gid, gid_t *groups, int ngroups)
{
	if (setgroups((size_t)ngroups, groups))
		return -errno;
	if (setresgid(gid, gid, gid))
		return -errno;
	if (setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

/* A one-byte pipe handshake: close the ends you don't use. */
static inline int sx_signal_fd(int fd)
{
	char c = 'x';

	return write(fd, &c, 1) == 1 ? 0 : -EIO;
}

static inline int sx_await_fd(int fd)
{
	char c;
	ssize_t n;

	do {
		n = read(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EIO;
}

/* Page size, as the module rounds regions to it. */
static inline size_t sx_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

#endif /* SHMIPC_TEST_H */
