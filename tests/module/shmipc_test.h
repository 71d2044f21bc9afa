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
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
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
#define SX_DEBUGFS_PEERS "/sys/kernel/debug/shmipc/peers"
#define SX_DEBUGFS_DIR	"/sys/kernel/debug/shmipc"
#define SX_PARAMS	"/sys/module/shmipc/parameters/"
#define SX_HEADER	"id name size uid gid mode flags files waiters userns"
#define SX_PEERS_HEADER	"region peer pid state owned status"

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

/* CREATE with SHMIPC_CREATE_TIED (plus @flags) to @parent_fd. */
static inline int sx_create_tied(int dev, const char *name, __u64 size,
				 __u32 flags, int parent_fd)
{
	struct shmipc_create c;
	int ret;

	memset(&c, 0, sizeof(c));
	sx_set_name(c.name, name);
	c.size = size;
	c.mode = 0600;
	c.flags = SHMIPC_CREATE_TIED | flags;
	c.tie_fd = parent_fd;
	c.fd = -1;
	ret = sx_ioctl(dev, SHMIPC_IOC_CREATE, &c);
	return ret < 0 ? ret : c.fd;
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

/* UNLINK with @flags (SHMIPC_UNLINK_DESTROY). */
static inline int sx_unlink_flags(int dev, const char *name, __u64 flags)
{
	struct shmipc_unlink u;

	memset(&u, 0, sizeof(u));
	sx_set_name(u.name, name);
	u.flags = flags;
	return sx_ioctl(dev, SHMIPC_IOC_UNLINK, &u);
}

static inline int sx_destroy(int dev, const char *name)
{
	return sx_unlink_flags(dev, name, SHMIPC_UNLINK_DESTROY);
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

/* WAIT that also ends on the death of @peer_id (0: of any peer). */
static inline int sx_wait_peer(int fd, __u64 offset, __u32 expected,
			       __u64 deadline, __u64 peer_id)
{
	struct shmipc_wait w;

	memset(&w, 0, sizeof(w));
	w.offset = offset;
	w.expected = expected;
	w.deadline_ns = deadline;
	w.peer_id = peer_id;
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

static inline int sx_nr_peers(int fd)
{
	struct shmipc_info info;
	int ret = sx_info(fd, &info);

	return ret < 0 ? ret : (int)info.nr_peers;
}

static inline int sx_nr_dead(int fd)
{
	struct shmipc_info info;
	int ret = sx_info(fd, &info);

	return ret < 0 ? ret : (int)info.nr_dead;
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

/*
 * Poll INFO until the region has @peers attached and @dead marked peers
 * (-1: any).  Deaths are handled by the kernel right after the process
 * exits, but not synchronously with waitpid(): this is how a test knows
 * a death was processed.
 */
static inline bool sx_wait_peers(int fd, int peers, int dead)
{
	__u64 end = sx_deadline_ms(SX_SOON_MS);
	struct shmipc_info info;

	do {
		if (sx_info(fd, &info) == 0 &&
		    (peers < 0 || (int)info.nr_peers == peers) &&
		    (dead < 0 || (int)info.nr_dead == dead))
			return true;
		usleep(1000);
	} while (sx_now_ns() < end);
	return false;
}

/* ------------------------------------------------------------------ */
/* a test's own region, mapped */

struct sx_region {
	int dev;		/* /dev/shmipc */
	int fd;			/* the region */
	volatile __u32 *w;	/* its first map_len bytes, or MAP_FAILED */
	size_t map_len;
	char name[SHMIPC_NAME_MAX];
};

/*
 * Open the device, create "<tag>-<pid>" (@size bytes, 0600, EXCL) and
 * map its first @map_len bytes read-write: 0 or -errno.  Whatever it got
 * so far is for sx_region_teardown() to undo, even on failure.
 */
static inline int sx_region_setup(struct sx_region *r, const char *tag,
				  __u64 size, size_t map_len)
{
	r->fd = -1;
	r->w = MAP_FAILED;
	r->map_len = map_len;
	r->dev = sx_dev_open();
	if (r->dev < 0)
		return r->dev;
	sx_unique_name(r->name, tag);
	r->fd = sx_create(r->dev, r->name, size, 0600, SHMIPC_CREATE_EXCL);
	if (r->fd < 0)
		return r->fd;
	r->w = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		    r->fd, 0);
	return r->w == MAP_FAILED ? -errno : 0;
}

/* Unmap, close the region fd (unless -1) and the device. */
static inline void sx_region_teardown(struct sx_region *r)
{
	if (r->w != MAP_FAILED)
		munmap((void *)r->w, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	if (r->dev >= 0)
		close(r->dev);
}

/* ------------------------------------------------------------------ */
/* peers: ATTACH, DETACH, OWN, RECLAIM */

/* ATTACH the calling process; 0 and the peer id, or -errno. */
static inline int sx_attach(int fd, __u64 *peer_id)
{
	struct shmipc_attach a;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = sx_ioctl(fd, SHMIPC_IOC_ATTACH, &a);
	if (ret == 0 && peer_id)
		*peer_id = a.peer_id;
	return ret;
}

static inline int sx_detach(int fd)
{
	return ioctl(fd, SHMIPC_IOC_DETACH, 0) < 0 ? -errno : 0;
}

static inline int sx_own_flags(int fd, __u64 offset, __u32 flags)
{
	struct shmipc_own o;

	memset(&o, 0, sizeof(o));
	o.offset = offset;
	o.flags = flags;
	return sx_ioctl(fd, SHMIPC_IOC_OWN, &o);
}

static inline int sx_own(int fd, __u64 offset)
{
	return sx_own_flags(fd, offset, 0);
}

static inline int sx_release(int fd, __u64 offset)
{
	return sx_own_flags(fd, offset, SHMIPC_OWN_RELEASE);
}

static inline int sx_reclaim(int fd, __u64 peer_id)
{
	struct shmipc_reclaim r;

	memset(&r, 0, sizeof(r));
	r.peer_id = peer_id;
	return sx_ioctl(fd, SHMIPC_IOC_RECLAIM, &r);
}

/* ------------------------------------------------------------------ */
/* events: read() and poll() of a region fd */

/* One read() of up to @max records; the number read, or -errno. */
static inline int sx_read_events(int fd, struct shmipc_event *ev, int max)
{
	ssize_t n = read(fd, ev, (size_t)max * sizeof(*ev));

	if (n < 0)
		return -errno;
	if (n % (ssize_t)sizeof(*ev))
		return -EPROTO;		/* not whole records */
	return (int)(n / (ssize_t)sizeof(*ev));
}

/* poll() @fd for @events within @ms; the revents, 0 on timeout, -errno. */
static inline int sx_poll(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ret;

	do {
		ret = poll(&p, 1, ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ret ? p.revents : 0;
}

/*
 * The next event of @fd, waiting up to @ms for one: 0, -ETIMEDOUT when
 * none came, or -errno.
 */
static inline int sx_next_event(int fd, struct shmipc_event *ev, int ms)
{
	int ret = sx_poll(fd, POLLIN, ms);

	if (ret < 0)
		return ret;
	if (!(ret & POLLIN))
		return -ETIMEDOUT;
	ret = sx_read_events(fd, ev, 1);
	if (ret < 0)
		return ret;
	return ret == 1 ? 0 : -EPROTO;
}

/*
 * Every event pending on @fd now, into @ev (up to @max; the count goes on
 * beyond).  Returns the count, or -errno.
 */
static inline int sx_drain_events(int fd, struct shmipc_event *ev, int max)
{
	struct shmipc_event tmp[16];
	int n = 0, got, i;

	for (;;) {
		got = sx_poll(fd, POLLIN, 0);
		if (got < 0)
			return got;
		if (!(got & POLLIN))
			return n;
		got = sx_read_events(fd, tmp, 16);
		if (got < 0)
			return got;
		if (got == 0)
			return n;	/* destroyed: end of events */
		for (i = 0; i < got; i++, n++)
			if (ev && n < max)
				ev[n] = tmp[i];
	}
}

/*
 * Read events of @fd until one of @type for @peer_id (0: any peer)
 * arrives, within SX_SOON_MS; the ones skipped are lost.  0 and the
 * event in @out, or -ETIMEDOUT / -errno.
 */
static inline int sx_await_event(int fd, __u32 type, __u64 peer_id,
				 struct shmipc_event *out)
{
	__u64 end = sx_deadline_ms(SX_SOON_MS);
	struct shmipc_event ev;
	int ret;

	for (;;) {
		__u64 now = sx_now_ns();

		if (now >= end)
			return -ETIMEDOUT;
		ret = sx_next_event(fd, &ev, (int)((end - now) / 1000000) + 1);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret < 0)
			return ret;
		if (ev.type == type && (!peer_id || ev.peer_id == peer_id)) {
			if (out)
				*out = ev;
			return 0;
		}
	}
}

/* ------------------------------------------------------------------ */
/* debugfs: /sys/kernel/debug/shmipc/regions */

/*
 * Read the debugfs list @path: its first line must be @header, and
 * @parse turns each further line into a record of @size bytes; up to
 * @max go to @out.  Returns the number of lines (even beyond @max),
 * -errno if the file cannot be read, or -EPROTO if a line is malformed.
 */
static inline int sx_dbg_list(const char *path, const char *header,
			      bool (*parse)(const char *line, void *rec),
			      void *out, size_t size, int max)
{
	unsigned long long rec[32];	/* room for any record, aligned */
	char line[512];
	int n = 0;
	FILE *f;

	if (size > sizeof(rec))
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f) || strcmp(line, header)) {
		fclose(f);
		return -EPROTO;
	}
	while (fgets(line, sizeof(line), f)) {
		memset(rec, 0, size);
		if (!parse(line, rec)) {
			fclose(f);
			return -EPROTO;
		}
		if (out && n < max)
			memcpy((char *)out + (size_t)n * size, rec, size);
		n++;
	}
	fclose(f);
	return n;
}

struct sx_dbg_region {
	unsigned long long id, size, userns;
	char name[SHMIPC_NAME_MAX];
	unsigned int uid, gid, mode;
	char flags[8];
	int files, waiters;
};

/* One line of the region list into *@rec; false if malformed. */
static inline bool sx_dbg_parse_region(const char *line, void *rec)
{
	struct sx_dbg_region *r = rec;
	char name[128], flags[16];

	if (sscanf(line, "%llu %127s %llu %u %u %o %15s %d %d %llu",
		   &r->id, name, &r->size, &r->uid, &r->gid, &r->mode,
		   flags, &r->files, &r->waiters, &r->userns) != 10 ||
	    strlen(name) >= SHMIPC_NAME_MAX ||
	    strlen(flags) >= sizeof(r->flags))
		return false;
	strcpy(r->name, name);
	strcpy(r->flags, flags);
	return true;
}

/*
 * Read the region list into @out (up to @max entries).  Returns the number
 * of regions (even beyond @max), -errno if the file cannot be read, or
 * -EPROTO if the header or a line is malformed.
 */
static inline int sx_dbg_read(struct sx_dbg_region *out, int max)
{
	return sx_dbg_list(SX_DEBUGFS, SX_HEADER "\n", sx_dbg_parse_region,
			   out, sizeof(*out), max);
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
/* debugfs: /sys/kernel/debug/shmipc/peers */

struct sx_dbg_peer {
	unsigned long long region, peer;
	int pid;
	char state[16];
	unsigned int owned, status;
};

/* One line of the peer list into *@rec; false if malformed. */
static inline bool sx_dbg_parse_peer(const char *line, void *rec)
{
	struct sx_dbg_peer *p = rec;

	return sscanf(line, "%llu %llu %d %15s %u %u", &p->region, &p->peer,
		      &p->pid, p->state, &p->owned, &p->status) == 6 &&
	       (!strcmp(p->state, "attached") || !strcmp(p->state, "dead") ||
		!strcmp(p->state, "left"));
}

/* As sx_dbg_read(), for the peer list. */
static inline int sx_dbg_peers(struct sx_dbg_peer *out, int max)
{
	return sx_dbg_list(SX_DEBUGFS_PEERS, SX_PEERS_HEADER "\n",
			   sx_dbg_parse_peer, out, sizeof(*out), max);
}

/* The debugfs line of peer @peer_id: 0, -ENOENT, or -errno. */
static inline int sx_dbg_find_peer(unsigned long long peer_id,
				   struct sx_dbg_peer *out)
{
	struct sx_dbg_peer p[256];
	int n = sx_dbg_peers(p, 256), i;

	if (n < 0)
		return n;
	if (n > 256)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (p[i].peer == peer_id) {
			if (out)
				*out = p[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* Number of debugfs peer lines of region @region_id. */
static inline int sx_dbg_count_peers(unsigned long long region_id)
{
	struct sx_dbg_peer p[256];
	int n = sx_dbg_peers(p, 256), i, found = 0;

	if (n < 0)
		return n;
	if (n > 256)
		return -E2BIG;
	for (i = 0; i < n; i++)
		if (p[i].region == region_id)
			found++;
	return found;
}

/* ------------------------------------------------------------------ */
/* introspection: LIST (on /dev/shmipc) and PEERS (on a region fd) */

/* Offset of the id an entry of @req is paged by. */
static inline size_t sx_page_id_off(unsigned long req)
{
	return req == SHMIPC_IOC_LIST ?
	       offsetof(struct shmipc_region_entry, id) :
	       offsetof(struct shmipc_peer_entry, peer_id);
}

static inline size_t sx_page_entry_size(unsigned long req)
{
	return req == SHMIPC_IOC_LIST ? sizeof(struct shmipc_region_entry) :
					sizeof(struct shmipc_peer_entry);
}

/*
 * One LIST or PEERS call (@req) on @fd: @count entries of @entry_size
 * bytes at @entries, from @cursor.  0 or -errno; the struct as the
 * kernel left it in *@out (if not NULL).
 */
static inline int sx_list_call(int fd, unsigned long req, void *entries,
			       __u32 count, __u32 entry_size, __u64 cursor,
			       struct shmipc_list *out)
{
	struct shmipc_list l;
	int ret;

	memset(&l, 0, sizeof(l));
	l.entries = (__u64)(uintptr_t)entries;
	l.count = count;
	l.entry_size = entry_size;
	l.cursor = cursor;
	ret = sx_ioctl(fd, req, &l);
	if (out)
		*out = l;
	return ret;
}

/*
 * Every entry of LIST or PEERS (@req) on @fd, @page at a time, into @out
 * (up to @max entries of the kernel's size; the count goes on beyond).
 * Checks the paging contract on the way: at most @page per call, ids
 * strictly increasing across calls, .next the last id while entries
 * follow and 0 at the end.  Returns the count, -errno, or -EPROTO when
 * the contract was broken.
 */
static inline int sx_walk(int fd, unsigned long req, void *out, int max,
			  __u32 page)
{
	size_t esz = sx_page_entry_size(req), id_off = sx_page_id_off(req);
	unsigned char *buf = calloc(page ? page : 1, esz);
	struct shmipc_list l;
	__u64 cursor = 0, last = 0, id;
	int n = 0, ret;
	__u32 i;

	if (!buf)
		return -ENOMEM;
	do {
		ret = sx_list_call(fd, req, buf, page, (__u32)esz, cursor, &l);
		if (ret < 0)
			break;
		ret = -EPROTO;
		if (l.count > page || (l.next && l.count != page))
			break;
		for (i = 0; i < l.count; i++, n++) {
			memcpy(&id, buf + i * esz + id_off, sizeof(id));
			if (id <= last)
				goto out;
			last = id;
			if (out && n < max)
				memcpy((unsigned char *)out + (size_t)n * esz,
				       buf + i * esz, esz);
		}
		if (l.next && l.next != last)
			break;
		cursor = l.next;
		ret = 0;
	} while (cursor);
out:
	free(buf);
	return ret < 0 ? ret : n;
}

/* The LIST entry of region @name (in @e): 0, -ENOENT, or -errno. */
static inline int sx_list_find(int dev, const char *name,
			       struct shmipc_region_entry *e)
{
	struct shmipc_region_entry all[256];
	int n = sx_walk(dev, SHMIPC_IOC_LIST, all, 256, 16), i;

	if (n < 0)
		return n;
	if (n > 256)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (!strcmp(all[i].name, name)) {
			if (e)
				*e = all[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* The PEERS entry of @peer_id on region fd @fd: 0, -ENOENT, -errno. */
static inline int sx_peers_find(int fd, __u64 peer_id,
				struct shmipc_peer_entry *e)
{
	struct shmipc_peer_entry all[256];
	int n = sx_walk(fd, SHMIPC_IOC_PEERS, all, 256, 16), i;

	if (n < 0)
		return n;
	if (n > 256)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (all[i].peer_id == peer_id) {
			if (e)
				*e = all[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* ------------------------------------------------------------------ */
/* small files: module parameters, /proc */

/* One read() of @path into @buf, NUL-terminated: its length, or -errno. */
static inline int sx_read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return (int)n;
}

static inline int sx_param_read(const char *param, unsigned long long *val)
{
	char path[128], buf[64];
	int n;

	snprintf(path, sizeof(path), SX_PARAMS "%s", param);
	n = sx_read_file(path, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? n : -EIO;
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

/*
 * Create @name (4096 bytes, @mode, EXCL, persistent so it outlives the
 * child) as (uid, gid) in a child: its exit code, 0 or an errno.
 */
static inline int sx_create_as(int dev, const char *name, uid_t uid,
			       gid_t gid, __u32 mode)
{
	pid_t pid = sx_fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd;

		if (sx_become(uid, gid, NULL, 0))
			_exit(100);
		fd = sx_create(dev, name, 4096, mode,
			       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
		_exit(sx_errcode(fd));
	}
	return sx_reap(pid);
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

/*
 * Fork a child that ATTACHes to the region of @fd and tells its peer id
 * through a pipe.  In the parent: the child's pid once it is attached,
 * with its id in *@peer_id, or -1 (the child is reaped).  In the child:
 * 0 (it continues the caller's code, attached, and must _exit()).
 */
static inline pid_t sx_fork_peer(int fd, __u64 *peer_id)
{
	int p[2];
	pid_t pid;
	__u64 id = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = sx_fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (sx_attach(fd, &id))
			_exit(197);
		if (write(p[1], &id, sizeof(id)) != sizeof(id))
			_exit(196);
		close(p[1]);
		return 0;
	}
	close(p[1]);
	do {
		n = read(p[0], &id, sizeof(id));
	} while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != sizeof(id)) {
		sx_reap(pid);
		return -1;
	}
	*peer_id = id;
	return pid;
}

/* SIGKILL @pid and reap it: 128 + SIGKILL when it was still running. */
static inline int sx_kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	return sx_reap(pid);
}

/*
 * Fork a peer of @fd (sx_fork_peer()) that OWNs the @n words at @own,
 * then RELEASEs the @nrel words at @rel, and sleeps until it is killed.
 * Returns its pid once it did (its id in *@id), or -1 (it is reaped).
 */
static inline pid_t sx_fork_owner(int fd, const __u64 *own, int n,
				  const __u64 *rel, int nrel, __u64 *id)
{
	int done[2], i;
	pid_t pid;

	if (pipe2(done, O_CLOEXEC))
		return -1;
	pid = sx_fork_peer(fd, id);
	if (pid == 0) {
		close(done[0]);
		for (i = 0; i < n; i++)
			if (sx_own(fd, own[i]))
				_exit(100 + i);
		for (i = 0; i < nrel; i++)
			if (sx_release(fd, rel[i]))
				_exit(150 + i);
		sx_signal_fd(done[1]);
		pause();
		_exit(199);
	}
	close(done[1]);
	if (pid > 0 && sx_await_fd(done[0])) {
		sx_kill_reap(pid);
		pid = -1;
	}
	close(done[0]);
	return pid;
}

/* /proc/@pid/@file into @buf (NUL-terminated): its length, or -errno. */
static inline int sx_proc_read(pid_t pid, const char *file, char *buf,
			       size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return sx_read_file(path, buf, size);
}

/* The state letter of @pid in /proc/PID/stat ('S', 'Z', ...), 0 if none. */
static inline char sx_proc_state(pid_t pid)
{
	char buf[256], *p;

	if (sx_proc_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Is /proc/PID/comm of @pid @comm (after an exec, say)? */
static inline bool sx_comm_is(pid_t pid, const char *comm)
{
	char buf[64];

	if (sx_proc_read(pid, "comm", buf, sizeof(buf)) <= 0)
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	return !strcmp(buf, comm);
}

/*
 * Is @pid asleep in system call @nr (x86-64 numbers)?  From
 * /proc/PID/syscall (its first field is the number, or "running") and
 * the state in /proc/PID/stat.  How a test knows a child blocks in
 * read() or poll(), which INFO cannot show.
 */
static inline bool sx_in_syscall(pid_t pid, long nr)
{
	char buf[256], *p;

	if (sx_proc_read(pid, "syscall", buf, sizeof(buf)) <= 0)
		return false;
	if (strtol(buf, &p, 10) != nr || p == buf || *p != ' ')
		return false;
	return sx_proc_state(pid) == 'S';
}

/* Poll until @pid sleeps in syscall @nr or @nr2; true if it did soon. */
static inline bool sx_wait_in_syscall(pid_t pid, long nr, long nr2)
{
	__u64 end = sx_deadline_ms(SX_SOON_MS);

	do {
		if (sx_in_syscall(pid, nr) || sx_in_syscall(pid, nr2))
			return true;
		usleep(1000);
	} while (sx_now_ns() < end);
	return false;
}

/* Page size, as the module rounds regions to it. */
static inline size_t sx_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* ------------------------------------------------------------------ */
/* load tests: whole-module checks, seeds, debug kernels */

/*
 * The whole region list, however long, into a malloc()ed *@out (the
 * caller frees it).  Returns the count or -errno.
 */
static inline int sx_dbg_read_all(struct sx_dbg_region **out)
{
	int n, max = 0;

	*out = NULL;
	for (;;) {	/* the list may grow between two reads */
		n = sx_dbg_read(*out, max);
		if (n < 0 || n <= max)
			return n;
		free(*out);
		max = n + 64;
		*out = calloc((size_t)max, sizeof(**out));
		if (!*out)
			return -ENOMEM;
	}
}

/* Page-rounded bytes of every region debugfs lists: 0 or -errno. */
static inline int sx_dbg_total_bytes(unsigned long long *bytes)
{
	unsigned long long page = sx_page();
	struct sx_dbg_region *r;
	int n = sx_dbg_read_all(&r), i;

	if (n < 0)
		return n;
	*bytes = 0;
	for (i = 0; i < n; i++)
		*bytes += (r[i].size + page - 1) / page * page;
	free(r);
	return 0;
}

/*
 * Does the module's count of live region bytes (what max_total_bytes
 * bounds) equal the page-rounded sum of the regions debugfs lists?  It
 * is not shown anywhere, so the quota itself probes it: with the limit
 * at sum + page a one-page CREATE of @name must fit, with sum + page - 1
 * it must not (-ENOSPC); together: count == sum.  Needs a quiet module
 * (nothing else creating or dropping regions); restores the limit.
 * 0 if equal, -EDOM if not, else -errno.
 */
static inline int sx_check_total_bytes(int dev, const char *name)
{
	unsigned long long page = sx_page(), sum, saved;
	int ret, fd, fd2 = -1;

	ret = sx_param_read("max_total_bytes", &saved);
	if (ret)
		return ret;
	ret = sx_dbg_total_bytes(&sum);
	if (ret)
		return ret;
	ret = sx_param_write("max_total_bytes", sum + page);
	if (ret)
		return ret;
	fd = sx_create(dev, name, page, 0600, SHMIPC_CREATE_EXCL);
	if (fd >= 0) {
		close(fd);	/* not persistent: the region goes with it */
		ret = sx_param_write("max_total_bytes", sum + page - 1);
		if (!ret) {
			fd2 = sx_create(dev, name, page, 0600,
					SHMIPC_CREATE_EXCL);
			ret = fd2 == -ENOSPC ? 0 : -EDOM;
		}
	} else {
		ret = fd == -ENOSPC ? -EDOM : fd;
	}
	if (fd2 >= 0)
		close(fd2);
	sx_param_write("max_total_bytes", saved);
	return ret;
}

/* Seeded pseudo-random numbers (splitmix64): one seed replays a run. */
struct sx_rng {
	__u64 s;
};

static inline __u64 sx_rand(struct sx_rng *r)
{
	__u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, @n) for a test; 0 when @n is 0. */
static inline __u64 sx_below(struct sx_rng *r, __u64 n)
{
	return n ? sx_rand(r) % n : 0;
}

static inline bool sx_chance(struct sx_rng *r, unsigned int percent)
{
	return sx_below(r, 100) < percent;
}

/* The seed in $@env (any strtoull() base), else one from the clock. */
static inline __u64 sx_seed(const char *env)
{
	const char *s = getenv(env);
	struct sx_rng r = { sx_now_ns() ^ ((__u64)getpid() << 32) };

	if (s && *s)
		return strtoull(s, NULL, 0);
	return sx_rand(&r);
}

/* A positive number from $@env, else @def. */
static inline unsigned long long sx_env_num(const char *env,
					    unsigned long long def)
{
	const char *s = getenv(env);
	unsigned long long v;

	if (!s || !*s)
		return def;
	v = strtoull(s, NULL, 0);
	return v ? v : def;
}

/*
 * A debug kernel (lockdep or kmemleak, as tools/debug-kernel.sh builds:
 * KASAN makes it ~5x slower): load tests do less work there.
 */
static inline bool sx_debug_kernel(void)
{
	return access("/proc/lockdep", F_OK) == 0 ||
	       access("/sys/kernel/debug/kmemleak", F_OK) == 0;
}

/*
 * Reap every child, and every orphan when the caller is a subreaper,
 * until none is left: how many, or -ETIMEDOUT if some still run after
 * @ms (the caller kills what it knows of and calls again).
 */
static inline int sx_reap_all(unsigned int ms)
{
	__u64 end = sx_deadline_ms(ms);
	int n = 0;
	pid_t r;

	for (;;) {
		r = waitpid(-1, NULL, WNOHANG);
		if (r > 0) {
			n++;
			continue;
		}
		if (r < 0 && errno != EINTR)
			return n;	/* ECHILD: none left */
		if (sx_now_ns() >= end)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* ------------------------------------------------------------------ */
/* io_uring (tests that define SX_URING before including; link -luring) */

#ifdef SX_URING
#include <liburing.h>

/*
 * Prepare an IORING_OP_URING_CMD SHMIPC_URING_WAIT of @w on region fd
 * @fd (liburing 2.3 has no uring_cmd helper).  The kernel reads *@w when
 * it issues the command, during io_uring_submit().
 */
static inline void sx_uring_prep_wait(struct io_uring_sqe *sqe, int fd,
				      const struct shmipc_wait *w, __u64 ud)
{
	struct shmipc_uring_wait *uw;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = SHMIPC_URING_WAIT;
	uw = (struct shmipc_uring_wait *)sqe->cmd;
	memset(uw, 0, sizeof(*uw));
	uw->wait = (__u64)(uintptr_t)w;
	sqe->user_data = ud;
}

/* Fill @w; @deadline absolute (SHMIPC_DEADLINE_NONE: none). */
static inline void sx_wait_arg(struct shmipc_wait *w, __u64 offset,
			       __u32 expected, __u64 deadline, __u64 peer_id)
{
	memset(w, 0, sizeof(*w));
	w->offset = offset;
	w->expected = expected;
	w->deadline_ns = deadline;
	w->peer_id = peer_id;
}

/* Queue a parked wait and submit it; 0 or -errno. */
static inline int sx_uring_wait(struct io_uring *ring, int fd,
				const struct shmipc_wait *w, __u64 ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	sx_uring_prep_wait(sqe, fd, w, ud);
	ret = io_uring_submit(ring);
	return ret == 1 ? 0 : (ret < 0 ? ret : -EIO);
}

/*
 * The next CQE within @ms: 0 with its user_data and res, -ETIME when
 * none came (then nothing is consumed), else -errno.
 */
static inline int sx_uring_next(struct io_uring *ring, int ms, __u64 *ud,
				int *res)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long long)(ms % 1000) * 1000000LL,
	};
	struct io_uring_cqe *cqe;
	int ret;

	do {
		ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	} while (ret == -EINTR);
	if (ret < 0)
		return ret;
	*ud = cqe->user_data;
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/*
 * Park two waits on word 0 of region @fd (a child does, to go away with
 * them): the first through @fd, the second through @own, or with @fixed
 * through @own registered as fixed file 0 (then closed); @sqe_flags on
 * both.  0 or -errno.  @wt must outlive them (IOSQE_ASYNC reads it late).
 */
static inline int sx_uring_park_two(struct io_uring *ring, int fd, int own,
				    bool fixed, __u8 sqe_flags,
				    struct shmipc_wait wt[2])
{
	struct io_uring_sqe *sqe;
	int i, ret;

	if (fixed) {
		ret = io_uring_register_files(ring, &own, 1);
		if (ret)
			return ret < 0 ? ret : -EIO;
		close(own);	/* only the ring holds it now */
	}
	for (i = 0; i < 2; i++) {
		sx_wait_arg(&wt[i], 0, 0, SHMIPC_DEADLINE_NONE, 0);
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -EBUSY;
		sx_uring_prep_wait(sqe, i ? (fixed ? 0 : own) : fd, &wt[i],
				   (__u64)i);
		if (i && fixed)
			sqe->flags |= IOSQE_FIXED_FILE;
		sqe->flags |= sqe_flags;
	}
	ret = io_uring_submit(ring);
	return ret == 2 ? 0 : (ret < 0 ? ret : -EIO);
}

/* No CQE ready right now? */
static inline bool sx_uring_idle(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	return io_uring_peek_cqe(ring, &cqe) == -EAGAIN;
}
#endif /* SX_URING */

#endif /* SHMIPC_TEST_H */
