// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The portable backend: a region is the POSIX shm object
 * /dev/shm/shmipc.<name>; waits are shared futex(2) calls on the mapped
 * word; peers are (peer id, pid, start time) records in the region
 * header's peer table, probed with pidfd_open() + poll().
 */
#include "internal.h"
#include "introspect_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static void shm_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/shmipc.%s", name);
}

/* ------------------------------------------------------------------ */
/* Liveness */

/* Field 22 (starttime) of /proc/<pid>/stat, and its state; 0 if unknown. */
static uint64_t proc_start_time(pid_t pid, char *state)
{
	char path[64], buf[512], *p;
	unsigned long long st = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	if (!p || p[1] != ' ')
		return 0;
	p += 2;			/* field 3: state */
	if (state)
		*state = *p;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		st = strtoull(p, NULL, 10);
	return st;
}

/* 1 if the process @pid that started at @start still runs, else 0. */
static int pid_alive(pid_t pid, uint64_t start)
{
	struct pollfd pfd;
	uint64_t now_start;
	char state = '?';
	int pidfd, ret;

	if (pid <= 0)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return 0;
		if (errno != ENOSYS && errno != EPERM)
			return 1;	/* cannot tell: assume alive */
		if (kill(pid, 0) && errno == ESRCH)
			return 0;
		now_start = proc_start_time(pid, &state);
		if (state == 'Z' || state == 'X' ||
		    (start && now_start && now_start != start))
			return 0;
		return 1;
	}
	/* The pidfd refers to the process that had @pid when it was opened
	 * (it does not stop the pid being reused after that process is
	 * reaped); a start time that differs says the pid was reused. */
	now_start = proc_start_time(pid, NULL);
	if (start && now_start && now_start != start) {
		close(pidfd);
		return 0;	/* the pid was reused */
	}
	pfd.fd = pidfd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ret = poll(&pfd, 1, 0);
	close(pidfd);
	/* POLLIN: the process has exited (a zombie counts as dead). */
	return !(ret > 0 && (pfd.revents & (POLLIN | POLLHUP)));
}

static int portable_peer_alive(const struct shmipc_region *r,
			       uint64_t peer_id)
{
	struct rhdr *h = region_hdr(r);
	unsigned int i;

	if (!peer_id)
		return -EPIPE;
	for (i = 0; i < SHMIPC_PEERS_MAX; i++) {
		struct rhdr_peer *p = &h->peers[i];
		uint32_t pid;
		uint64_t start;

		/* Acquire: pairs with the release of peer_id in attach. */
		if (atomic_load_explicit(&p->peer_id, memory_order_acquire) !=
		    peer_id)
			continue;
		pid = RHDR_PID(atomic_load_explicit(&p->owner,
						    memory_order_relaxed));
		start = atomic_load_explicit(&p->start_time,
					     memory_order_relaxed);
		if (pid == 0 || pid > INT_MAX)
			return 1;	/* being attached (or garbage): wait */
		return pid_alive((pid_t)pid, start) ? 1 : -EOWNERDEAD;
	}
	return -EPIPE;
}

/* ------------------------------------------------------------------ */
/* Regions */

static int portable_open(struct shmipc_region *r, const char *name,
			 size_t size, unsigned int mode, unsigned int flags,
			 int tie_fd)
{
	char path[SHMIPC_NAME_LEN_MAX + 16];
	uint64_t end = shmipc_now_ns() + RHDR_INIT_WAIT_MS * 1000000ULL;
	struct stat st;
	int fd = -1;

	(void)tie_fd;	/* no ties: names outlive their handles anyway */
	shm_path(path, sizeof(path), name);
	for (;;) {
		if (flags & SHMIPC_REGION_CREATE) {
			fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL |
				      O_CLOEXEC, mode);
			if (fd >= 0) {
				/* shm_open applied the umask; honour @mode. */
				if (fchmod(fd, mode) ||
				    ftruncate(fd, (off_t)size)) {
					int err = -errno;

					close(fd);
					shm_unlink(path);
					return err;
				}
				r->fd = fd;
				r->size = size;
				r->created = 1;
				r->mode = mode;
				return 0;
			}
			if (errno != EEXIST || (flags & SHMIPC_REGION_EXCL))
				return -errno;
		}
		fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
		if (fd >= 0)
			break;
		if (errno != ENOENT || !(flags & SHMIPC_REGION_CREATE))
			return -errno;
		/* Unlinked between our two calls: try creating again. */
	}
	/* The creator may not have sized it yet: wait for it, bounded. */
	for (;;) {
		if (fstat(fd, &st)) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (st.st_size > 0)
			break;
		if (shmipc_now_ns() >= end) {
			close(fd);
			return -EAGAIN;
		}
		usleep(1000);
	}
	if (size && (uint64_t)st.st_size < size) {
		close(fd);
		return -EINVAL;
	}
	r->fd = fd;
	r->size = (size_t)st.st_size;
	r->mode = st.st_mode & 0777;
	return 0;
}

static int portable_unlink(const char *name)
{
	char path[SHMIPC_NAME_LEN_MAX + 16];

	shm_path(path, sizeof(path), name);
	return shm_unlink(path) ? -errno : 0;
}

static int portable_attach(struct shmipc_region *r)
{
	struct rhdr *h = region_hdr(r);
	uint64_t id, start = proc_start_time(getpid(), NULL);
	unsigned int i, pass;

	/* Relaxed: only uniqueness matters, which the RMW gives. */
	id = atomic_fetch_add_explicit(&h->next_peer_id, 1,
				       memory_order_relaxed) + 1;
	if (id == 0)
		id = atomic_fetch_add_explicit(&h->next_peer_id, 1,
					       memory_order_relaxed) + 1;
	/* Pass 0: a free slot; pass 1: the slot of a dead process. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < SHMIPC_PEERS_MAX; i++) {
			struct rhdr_peer *p = &h->peers[i];
			/* Acquire: the start time written by its claimer
			 * before it published its peer id is read below only
			 * for a pass-1 probe; the CAS decides. */
			uint64_t old = atomic_load_explicit(
				&p->owner, memory_order_acquire);
			uint32_t pid = RHDR_PID(old);

			if (pass == 0 && pid != 0)
				continue;
			if (pass == 1 && pid != 0 &&
			    (pid > INT_MAX ||
			     pid_alive((pid_t)pid,
				       atomic_load_explicit(
					       &p->start_time,
					       memory_order_relaxed))))
				continue;
			/* Claim the slot from exactly what we inspected
			 * (acq_rel: a whole-slot handover). */
			if (!atomic_compare_exchange_strong_explicit(
				    &p->owner, &old,
				    (old & ~0xffffffffULL) + RHDR_OWNER_GEN +
					    (uint32_t)getpid(),
				    memory_order_acq_rel,
				    memory_order_relaxed))
				continue;
			atomic_store_explicit(&p->start_time, start,
					      memory_order_relaxed);
			/* Release: a prober that finds our id (acquire) sees
			 * our pid and start time. */
			atomic_store_explicit(&p->peer_id, id,
					      memory_order_release);
			r->peer_id = id;
			r->peer_slot = (int)i;
			return 0;
		}
	}
	return -EUSERS;
}

static void portable_detach(struct shmipc_region *r)
{
	struct rhdr_peer *p;
	uint64_t mine = r->peer_id, owner;

	if (r->peer_slot < 0)
		return;
	p = &region_hdr(r)->peers[r->peer_slot];
	/* Relaxed: our own claim, read back (checked by the CASes). */
	owner = atomic_load_explicit(&p->owner, memory_order_relaxed);
	/* Release the slot only if it is still ours (a peer may have taken
	 * it, thinking us dead): CAS the peer id first, and free the owner
	 * word only if that succeeded and only from the exact word of our
	 * claim, never the word of the slot's new holder.  Release: our
	 * use of the region comes before the slot is free. */
	if (RHDR_PID(owner) == (uint32_t)getpid() &&
	    atomic_compare_exchange_strong_explicit(&p->peer_id, &mine, 0,
						    memory_order_release,
						    memory_order_relaxed))
		atomic_compare_exchange_strong_explicit(
			&p->owner, &owner, owner & ~0xffffffffULL,
			memory_order_release, memory_order_relaxed);
	r->peer_slot = -1;
}

static void portable_close(struct shmipc_region *r)
{
	close(r->fd);
	r->fd = -1;
}

static int portable_info(const struct shmipc_region *r,
			 struct shmipc_region_info *info)
{
	struct rhdr *h = region_hdr(r);
	struct stat st;
	unsigned int i;

	if (fstat(r->fd, &st))
		return -errno;
	info->mode = st.st_mode & 0777;
	info->uid = st.st_uid;
	for (i = 0; i < SHMIPC_PEERS_MAX; i++) {
		uint64_t id = atomic_load_explicit(&h->peers[i].peer_id,
						   memory_order_relaxed);

		if (id && portable_peer_alive(r, id) == 1)
			info->nr_peers++;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Wait / wake */

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts, uint32_t val3)
{
	return syscall(SYS_futex, (uint32_t *)uaddr, op, val, ts, NULL, val3);
}

/*
 * One sleep of at most SHMIPC_PORTABLE_SLICE_MS: returning 0 after a
 * slice is a "spurious" wake, and the caller re-checks its condition
 * and the peer (that is how a death is noticed within a slice).
 */
static int portable_wait(const struct shmipc_region *r,
			 _Atomic uint32_t *word, uint32_t expected,
			 uint64_t deadline_ns, uint64_t peer_id)
{
	uint64_t now, until;
	struct timespec ts;
	int ret;

	if (peer_id) {
		ret = portable_peer_alive(r, peer_id);
		if (ret < 0)
			return ret;
	}
	now = shmipc_now_ns();
	if (deadline_ns != SHMIPC_FOREVER && now >= deadline_ns)
		return -ETIMEDOUT;
	until = now + SHMIPC_PORTABLE_SLICE_MS * 1000000ULL;
	if (until > deadline_ns)
		until = deadline_ns;
	ts.tv_sec = (time_t)(until / 1000000000ULL);
	ts.tv_nsec = (long)(until % 1000000000ULL);
	/* Absolute CLOCK_MONOTONIC timeout (no FUTEX_CLOCK_REALTIME); not
	 * FUTEX_PRIVATE_FLAG: the word is shared between processes. */
	if (futex(word, FUTEX_WAIT_BITSET, expected, &ts,
		  FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	switch (errno) {
	case EAGAIN:
		return -EAGAIN;
	case EINTR:
		return -EINTR;
	case ETIMEDOUT:
		return until == deadline_ns ? -ETIMEDOUT : 0;
	default:
		return -errno;
	}
}

static int portable_wake(const struct shmipc_region *r,
			 _Atomic uint32_t *word, uint32_t count)
{
	long ret;

	(void)r;
	SHMIPC_TEST_COUNT_WAKE();
	ret = futex(word, FUTEX_WAKE, count > INT_MAX ? INT_MAX : count,
		    NULL, 0);
	return ret < 0 ? -errno : (int)ret;
}

static int portable_own(const struct shmipc_region *r,
			_Atomic uint32_t *word, bool release)
{
	(void)r;
	(void)word;
	(void)release;
	return 0;
}

static void portable_reclaim(const struct shmipc_region *r, uint64_t peer_id)
{
	(void)r;
	(void)peer_id;
}

const struct shmipc_backend_ops shmipc_portable_ops = {
	.kind = SHMIPC_BACKEND_PORTABLE,
	.open = portable_open,
	.unlink = portable_unlink,
	.attach = portable_attach,
	.detach = portable_detach,
	.close = portable_close,
	.info = portable_info,
	.wait = portable_wait,
	.wake = portable_wake,
	.peer_alive = portable_peer_alive,
	.own = portable_own,
	.reclaim = portable_reclaim,
};

int shmipc_portable_pid_alive(pid_t pid, uint64_t start)
{
	return pid_alive(pid, start);
}
