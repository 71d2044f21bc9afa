// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Introspection on the portable backend: regions are the files
 * /dev/shm/shmipc.<name>; peers are the region header's peer table,
 * probed by pid; events come from comparing that table with what it
 * held at the last look, every SHMIPC_PORTABLE_SLICE_MS.
 */
#include "introspect_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define SHM_DIR		"/dev/shm"
#define SHM_PREFIX	"shmipc."

/* Re-reads of a slot that changes under us before we give up on it. */
#define SLOT_READS	8

/* ------------------------------------------------------------------ */
/* The peer table */

/*
 * A consistent look at slot @i: the peer id is written last by an
 * attacher (release) and cleared first by a detacher, so the pid and
 * start time read between two equal loads of it belong to it.  0 and
 * *@s, or -EBADMSG when the slot holds garbage (or never settles).
 */
static int read_slot(const struct rhdr *h, unsigned int i,
		     struct inspect_slot *s)
{
	const struct rhdr_peer *p = &h->peers[i];
	unsigned int tries;

	for (tries = 0; tries < SLOT_READS; tries++) {
		/* Acquire: pairs with the attacher's release of its id. */
		uint64_t id = atomic_load_explicit(&p->peer_id,
						   memory_order_acquire);
		uint64_t owner = atomic_load_explicit(&p->owner,
						      memory_order_relaxed);
		uint64_t start = atomic_load_explicit(&p->start_time,
						      memory_order_relaxed);

		/* Acquire fence: the loads above happen before the re-check. */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&p->peer_id, memory_order_relaxed) !=
		    id)
			continue;
		memset(s, 0, sizeof(*s));
		if (!id)
			return 0;
		if (RHDR_PID(owner) == 0 || RHDR_PID(owner) > INT_MAX)
			return -EBADMSG;
		s->peer_id = id;
		s->pid = (int32_t)RHDR_PID(owner);
		s->start_time = start;
		return 0;
	}
	return -EBADMSG;
}

static bool slot_alive(const struct inspect_slot *s)
{
	return shmipc_portable_pid_alive((pid_t)s->pid, s->start_time);
}

/* ------------------------------------------------------------------ */
/* One region */

static int portable_open(struct shmipc_inspect *in, const char *name)
{
	char path[SHMIPC_NAME_LEN_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "/" SHM_PREFIX "%s", name);
	in->r.fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (in->r.fd < 0)
		return -errno;
	if (fstat(in->r.fd, &st))
		return -errno;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	in->r.size = (size_t)st.st_size;
	return 0;
}

/* Queue one event of the peer in @s. */
static void push(struct shmipc_inspect *in, uint32_t type,
		 const struct inspect_slot *s, uint32_t flags)
{
	struct shmipc_peer_event ev = {
		.type = type,
		.pid = s->pid,
		.seq = ++in->seq,
		.peer_id = s->peer_id,
		.status = type == SHMIPC_PEER_DEATH ? SHMIPC_STAT_UNKNOWN : 0,
		.flags = flags,
	};

	shmipc_inspect_queue(in, &ev);
}

/*
 * The table as it is now is what later events are measured against;
 * its dead peers are reported first, as replays (at most
 * SHMIPC_PEERS_MAX events: the queue, empty here, has room).
 */
static int take_snapshot(struct shmipc_inspect *in)
{
	struct inspect_slot *snap;
	unsigned int i;
	int ret;

	snap = calloc(SHMIPC_PEERS_MAX, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	for (i = 0; i < SHMIPC_PEERS_MAX; i++) {
		ret = read_slot(region_hdr(&in->r), i, &snap[i]);
		if (ret) {
			free(snap);
			return ret;
		}
	}
	in->snap = snap;
	for (i = 0; i < SHMIPC_PEERS_MAX; i++) {
		if (snap[i].peer_id && !slot_alive(&snap[i])) {
			snap[i].dead = true;
			push(in, SHMIPC_PEER_DEATH, &snap[i],
			     SHMIPC_PEER_REPLAY);
		}
	}
	return 0;
}

/*
 * Without a valid header (or with a corrupt peer table) the snapshot
 * waits for the first look for events, which reports the error: the
 * rest of the region can still be inspected.
 */
static int portable_setup(struct shmipc_inspect *in)
{
	int ret = shmipc_inspect_hdr(in) ? 0 : take_snapshot(in);

	return ret == -EBADMSG ? 0 : ret;
}

static int count_peers(const struct shmipc_inspect *in, uint32_t *alive,
		       uint32_t *dead)
{
	struct inspect_slot s;
	unsigned int i;
	int ret;

	*alive = *dead = 0;
	for (i = 0; i < SHMIPC_PEERS_MAX; i++) {
		ret = read_slot(region_hdr(&in->r), i, &s);
		if (ret)
			return ret;
		if (s.peer_id && slot_alive(&s))
			(*alive)++;
		else if (s.peer_id)
			(*dead)++;
	}
	return 0;
}

static void stat_fill(struct shmipc_region_stat *st, const char *name,
		      const struct stat *sb)
{
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->size = (uint64_t)sb->st_size;
	st->id = (uint64_t)sb->st_ino;
	st->uid = sb->st_uid;
	st->gid = sb->st_gid;
	st->mode = sb->st_mode & 0777;
	st->flags = SHMIPC_STAT_PERSISTENT;	/* names outlive handles here */
	st->nr_peers = SHMIPC_STAT_UNKNOWN;
	st->nr_dead = SHMIPC_STAT_UNKNOWN;
	st->nr_waiters = SHMIPC_STAT_UNKNOWN;
	st->nr_files = SHMIPC_STAT_UNKNOWN;
	st->backend = SHMIPC_BACKEND_PORTABLE;
}

static int portable_stat(const struct shmipc_inspect *in,
			 struct shmipc_region_stat *st)
{
	struct stat sb;

	if (fstat(in->r.fd, &sb))
		return -errno;
	stat_fill(st, in->r.name, &sb);
	/* A region without a (valid) library header has no peer table. */
	if (!shmipc_inspect_hdr(in) &&
	    count_peers(in, &st->nr_peers, &st->nr_dead))
		st->nr_peers = st->nr_dead = SHMIPC_STAT_UNKNOWN;
	return 0;
}

static int portable_peers(const struct shmipc_inspect *in,
			  struct shmipc_peer_stat *out, size_t max)
{
	struct inspect_slot s;
	unsigned int i;
	int ret, n = 0;

	ret = shmipc_inspect_hdr(in);
	if (ret)
		return ret;
	for (i = 0; i < SHMIPC_PEERS_MAX; i++) {
		ret = read_slot(region_hdr(&in->r), i, &s);
		if (ret)
			return ret;
		if (!s.peer_id)
			continue;
		if ((size_t)n < max) {
			struct shmipc_peer_stat *p = &out[n];

			p->peer_id = s.peer_id;
			p->pid = s.pid;
			p->state = slot_alive(&s) ? SHMIPC_INSPECT_ALIVE :
						    SHMIPC_INSPECT_DEAD;
			p->nr_owned = SHMIPC_STAT_UNKNOWN;
			p->status = SHMIPC_STAT_UNKNOWN;
		}
		n++;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Regions */

static int portable_list(struct shmipc_region_stat *out, size_t max)
{
	DIR *dir = opendir(SHM_DIR);
	struct dirent *d;
	int n = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dir))) {
		const char *name = d->d_name + strlen(SHM_PREFIX);
		struct shmipc_inspect *in;
		struct stat sb;

		if (strncmp(d->d_name, SHM_PREFIX, strlen(SHM_PREFIX)) ||
		    shmipc_check_name(name) ||
		    fstatat(dirfd(dir), d->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(sb.st_mode))
			continue;	/* not ours, or gone meanwhile */
		if ((size_t)n < max) {
			/* What the directory says, if we cannot read it. */
			memset(&out[n], 0, sizeof(out[n]));
			stat_fill(&out[n], name, &sb);
			if (shmipc_inspect_open(name, &in) == 0) {
				shmipc_inspect_stat(in, &out[n]);
				shmipc_inspect_close(in);
			}
		}
		n++;
	}
	closedir(dir);
	return n;
}

static int portable_destroy(const char *name)
{
	(void)name;
	return -EOPNOTSUPP;
}

/* ------------------------------------------------------------------ */
/* Events: differences between two looks at the peer table */

/*
 * One look at the table: queue what changed since the last (at most
 * three events a slot: the old peer's end, the new one's JOIN and its
 * DEATH, which fit the queue when it is empty, as it is here).
 */
static int look(struct shmipc_inspect *in)
{
	const unsigned int cap = sizeof(in->queue) / sizeof(in->queue[0]);
	unsigned int i;
	int ret;

	for (i = 0; i < SHMIPC_PEERS_MAX && cap - in->q_len >= 3; i++) {
		struct inspect_slot *old = &in->snap[i], cur;

		ret = read_slot(region_hdr(&in->r), i, &cur);
		if (ret)
			return ret;
		if (cur.peer_id == old->peer_id) {
			/* Probe the pid it had when it joined, not a
			 * successor's being written into the slot. */
			if (old->peer_id && !old->dead && !slot_alive(old)) {
				old->dead = true;
				push(in, SHMIPC_PEER_DEATH, old, 0);
			}
			continue;
		}
		/* The slot changed hands.  Only a detach frees a slot (a
		 * dead peer stays until its slot is taken over), so a free
		 * one means a LEAVE even if the process has exited since;
		 * a slot taken over was left, or its peer died: ask. */
		if (old->peer_id && !old->dead)
			push(in, !cur.peer_id || slot_alive(old) ?
				 SHMIPC_PEER_LEAVE : SHMIPC_PEER_DEATH, old, 0);
		*old = cur;
		if (!cur.peer_id)
			continue;
		push(in, SHMIPC_PEER_JOIN, old, 0);
		if (!slot_alive(old)) {
			old->dead = true;
			push(in, SHMIPC_PEER_DEATH, old, 0);
		}
	}
	return 0;
}

static int portable_events(struct shmipc_inspect *in, uint64_t deadline_ns)
{
	int ret;

	for (;;) {
		uint64_t now, until;
		struct timespec ts;

		if (!in->snap) {
			/* No header at the open: look for one now. */
			ret = shmipc_inspect_hdr(in);
			if (ret && ret != -ENODATA)
				return ret;
			if (!ret && (ret = take_snapshot(in)))
				return ret;
		} else if (!in->q_len) {
			ret = look(in);
			if (ret)
				return ret;
		}
		if (in->q_len)
			return 0;
		now = shmipc_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		until = now + SHMIPC_PORTABLE_SLICE_MS * 1000000ULL;
		if (until > deadline_ns)
			until = deadline_ns;
		ts.tv_sec = (time_t)((until - now) / 1000000000ULL);
		ts.tv_nsec = (long)((until - now) % 1000000000ULL);
		nanosleep(&ts, NULL);	/* a signal only shortens a look */
	}
}

const struct inspect_ops shmipc_inspect_portable_ops = {
	.list = portable_list,
	.destroy = portable_destroy,
	.open = portable_open,
	.setup = portable_setup,
	.stat = portable_stat,
	.peers = portable_peers,
	.events = portable_events,
};
