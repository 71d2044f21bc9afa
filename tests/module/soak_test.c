// SPDX-License-Identifier: GPL-2.0
/*
 * Soak: a fixed amount of work with SK_REGIONS regions (persistent, so
 * named with no fd open), SK_MEMBERS member processes attached to each
 * of SK_HOT hot regions at once (that many peers per region), and many
 * waiters: members sleep in WAIT and WAITV and are woken by other
 * members' WAKEs, by deaths (a word nobody wakes, only deaths end those
 * sleeps) and by their deadlines; they park io_uring waits, visit cold
 * regions (open, attach, own a word, reclaim the dead owners they find,
 * detach or not, close), and end by DETACH (a LEAVE), by exit without
 * one, or by the test's SIGKILL; the test starts a new member for each
 * one gone, SK_LIVES times (SHMIPC_SOAK_SCALE multiplies it; a debug
 * kernel does less, KASAN makes it ~5x slower).  SHMIPC_SOAK_SEED
 * replays the choices.
 *
 * At the end memory must be flat: debugfs lists the regions and peers
 * there were before, the quota's byte count matches them
 * (sx_check_total_bytes()), and the slab caches the module's objects
 * live in (kmalloc-*, shmem inodes, files, dentries, pids) hold what
 * they held before, within a small slack (see sk_slab_ok()), measured
 * after a short warm-up run (kernel workers and caches it starts stay).
 * Every figure is printed: regions, peers, lives, kills, waits by
 * result, events, slab before, at the peak and after.  Nothing is timed:
 * deadlines only bound hangs.
 *
 * Runs in the VM as root with the module loaded; linked with liburing.
 */
#define _GNU_SOURCE
#define SX_URING

#include <dirent.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define SK_REGIONS	1024
#define SK_HOT		4	/* regions every member attaches to */
#define SK_MEMBERS	72	/* members at once: peers per hot region */
#define SK_LIVES	5000	/* members started after the first ones */
#define SK_LIVES_DEBUG	200
#define SK_OPS		30	/* a member's operations: SK_OPS..2*SK_OPS */
#define SK_OPS_DEBUG	15
#define SK_WORDS	16	/* words of a hot region waited on, woken */
#define SK_DEATH_WORD	(SK_WORDS + 1)	/* nobody stores or wakes it */
#define SK_OWN_WORD	(SK_WORDS + 2)	/* owned in cold regions */
#define SK_SLEEP_MS	1000	/* a sleep that only a death should end */
/* Deadline of a WAIT or WAITV that a WAKE or a death should end. */
#define SK_WAIT_MS(m)	(10 + (unsigned int)sx_below(&(m)->rng, 140))
#define SK_EXIT_FAIL	42
#define SK_END_MS	120000	/* members left at the end are gone by then */
/* Slab figures may stay this many objects above the start (see below). */
#define SK_SLAB_SLACK	64
#define SK_SLAB_SLACK_DIV 32	/* plus this part of what a cache held */
#define SK_SLAB_PER_TASK 4	/* plus this many for each new kernel task */

enum sk_count {
	C_WAITS, C_WOKEN, C_AGAIN, C_TIMEDOUT, C_OWNERDEAD, C_ESRCH,
	C_DEATH_SLEEPS, C_WAKES, C_WOKE, C_COLD, C_OWNED, C_RECLAIMED,
	C_ATTACHES, C_DETACHES, C_PARKED, C_CQES, C_NCOUNT
};

static const char *const sk_count_name[C_NCOUNT] = {
	"waits", "woken by a wake", "EAGAIN", "ETIMEDOUT",
	"EOWNERDEAD (a death)", "ESRCH (named peer gone)",
	"sleeps only a death ends", "wakes", "waiters woken",
	"cold visits", "words owned", "dead reclaimed", "attaches",
	"detaches", "io_uring parked", "io_uring completed",
};

struct sk_shared {
	int go, stop, failed;
	char failure[512];
	char names[SK_REGIONS][SHMIPC_NAME_MAX];
	int ready[SK_MEMBERS];
	__u64 ids[SK_MEMBERS][SK_HOT];	/* members' peer ids, hot regions */
	__u64 n[C_NCOUNT];
};

/* One member process. */
struct sk_member {
	struct sk_shared *sh;
	int slot;
	struct sx_rng rng;
	int dev;
	int fd[SK_HOT];
	volatile __u32 *w[SK_HOT];
	struct io_uring ring;
	bool ring_ok;
	int inflight;
	struct shmipc_wait parked;	/* read during io_uring_submit() */
};

static void sk_add(struct sk_shared *sh, int c, __u64 v)
{
	/* Relaxed: counters, read once every member has been reaped. */
	__atomic_fetch_add(&sh->n[c], v, __ATOMIC_RELAXED);
}

static void __attribute__((noreturn))
sk_fail(struct sk_member *m, const char *what, long ret)
{
	/* The first failure is kept: the exchange makes it exclusive. */
	if (!__atomic_exchange_n(&m->sh->failed, 1, __ATOMIC_ACQ_REL))
		snprintf(m->sh->failure, sizeof(m->sh->failure),
			 "member %d (pid %d): %s -> %ld", m->slot,
			 (int)getpid(), what, ret);
	_exit(SK_EXIT_FAIL);
}

/* Count a WAIT or WAITV result; anything else fails the member. */
static void sk_wait_result(struct sk_member *m, int ret, const char *what)
{
	int c;

	if (ret >= 0)
		c = C_WOKEN;
	else if (ret == -EAGAIN)
		c = C_AGAIN;
	else if (ret == -ETIMEDOUT)
		c = C_TIMEDOUT;
	else if (ret == -EOWNERDEAD)
		c = C_OWNERDEAD;
	else if (ret == -ESRCH)
		c = C_ESRCH;
	else
		sk_fail(m, what, ret);
	sk_add(m->sh, C_WAITS, 1);
	sk_add(m->sh, c, 1);
}

/* A peer id of another member in hot region @h, or 0. */
static __u64 sk_other_peer(struct sk_member *m, int h)
{
	int s = (int)sx_below(&m->rng, SK_MEMBERS);

	if (s == m->slot)
		return 0;
	/* Relaxed: any id will do, a stale one gives ESRCH. */
	return __atomic_load_n(&m->sh->ids[s][h], __ATOMIC_RELAXED);
}

static void sk_wait_one(struct sk_member *m)
{
	int h = (int)sx_below(&m->rng, SK_HOT);
	int word = (int)sx_below(&m->rng, SK_WORDS);
	/* Relaxed: WAIT compares again; a stale value gives EAGAIN. */
	__u32 expected = __atomic_load_n(&m->w[h][word], __ATOMIC_RELAXED);
	__u64 peer = sx_chance(&m->rng, 50) ? 0 : sk_other_peer(m, h);

	sk_wait_result(m, sx_wait_peer(m->fd[h], (__u64)word * 4, expected,
				       sx_deadline_ms(SK_WAIT_MS(m)),
				       peer), "WAIT");
}

static void sk_waitv(struct sk_member *m)
{
	struct shmipc_waitv_entry e[3];
	int i, n = 2 + (int)sx_below(&m->rng, 2), ret;

	for (i = 0; i < n; i++) {
		int h = (int)sx_below(&m->rng, SK_HOT);
		int word = (int)sx_below(&m->rng, SK_WORDS);

		/* Relaxed: as in sk_wait_one() */
		sx_entry(&e[i], m->fd[h], (__u64)word * 4,
			 __atomic_load_n(&m->w[h][word], __ATOMIC_RELAXED));
		if (sx_chance(&m->rng, 30))
			e[i].peer_id = sk_other_peer(m, h);
	}
	ret = sx_waitv(m->fd[0], e, (__u32)n,
		       sx_deadline_ms(SK_WAIT_MS(m)));
	if (ret >= n)
		sk_fail(m, "WAITV index", ret);
	sk_wait_result(m, ret, "WAITV");
}

static void sk_wake(struct sk_member *m)
{
	int h = (int)sx_below(&m->rng, SK_HOT);
	int word = (int)sx_below(&m->rng, SK_WORDS);
	int ret;

	/* Seq-cst: visible to every waiter's compare before WAKE looks. */
	__atomic_fetch_add(&m->w[h][word], 1, __ATOMIC_SEQ_CST);
	ret = sx_wake(m->fd[h], (__u64)word * 4,
		      sx_chance(&m->rng, 50) ? 1 : SHMIPC_WAKE_ALL);
	if (ret < 0)
		sk_fail(m, "WAKE", ret);
	sk_add(m->sh, C_WAKES, 1);
	sk_add(m->sh, C_WOKE, (__u64)ret);
}

/* Sleep on a word nobody wakes: only a death (or the deadline) ends it. */
static void sk_sleep_for_a_death(struct sk_member *m)
{
	int h = (int)sx_below(&m->rng, SK_HOT);

	sk_add(m->sh, C_DEATH_SLEEPS, 1);
	sk_wait_result(m, sx_wait_peer(m->fd[h], SK_DEATH_WORD * 4, 0,
				       sx_deadline_ms(SK_SLEEP_MS), 0),
		       "WAIT for a death");
}

static void sk_uring_reap(struct sk_member *m)
{
	struct io_uring_cqe *cqe;
	int res;

	while (m->inflight && io_uring_peek_cqe(&m->ring, &cqe) == 0) {
		res = cqe->res;
		io_uring_cqe_seen(&m->ring, cqe);
		m->inflight--;
		sk_add(m->sh, C_CQES, 1);
		/* -EINTR: max_uring_wait_ms capped it */
		if (res && res != -EOWNERDEAD && res != -EINTR &&
		    res != -ETIMEDOUT && res != -EAGAIN && res != -ESRCH)
			sk_fail(m, "io_uring wait", res);
	}
}

/* Park a wait on a death word through io_uring (left parked at exit). */
static void sk_park(struct sk_member *m)
{
	int h = (int)sx_below(&m->rng, SK_HOT);

	if (!m->ring_ok) {
		if (io_uring_queue_init(8, &m->ring, 0))
			sk_fail(m, "io_uring_queue_init", -errno);
		m->ring_ok = true;
	}
	sk_uring_reap(m);
	if (m->inflight == 8)
		return;
	sx_wait_arg(&m->parked, SK_DEATH_WORD * 4, 0,
		    sx_chance(&m->rng, 50) ? SHMIPC_DEADLINE_NONE :
		    sx_deadline_ms(500), 0);
	if (sx_uring_wait(&m->ring, m->fd[h], &m->parked, 0))
		sk_fail(m, "io_uring submit", -EIO);
	m->inflight++;
	sk_add(m->sh, C_PARKED, 1);
}

/* Reclaim every dead owner the REPLAY events of a fresh fd report. */
static void sk_reclaim_dead(struct sk_member *m, int fd)
{
	struct shmipc_event ev[16];
	int n, i, ret;

	n = sx_drain_events(fd, ev, 16);
	if (n < 0)
		sk_fail(m, "events of a cold region", n);
	for (i = 0; i < n && i < 16; i++) {
		if (ev[i].type != SHMIPC_EVENT_DEATH)
			continue;
		ret = sx_reclaim(fd, ev[i].peer_id);
		/* another visitor may have been first */
		if (ret && ret != -ESRCH)
			sk_fail(m, "RECLAIM", ret);
		if (!ret)
			sk_add(m->sh, C_RECLAIMED, 1);
	}
}

/*
 * Visit a cold region: open, reclaim the dead, attach, maybe own a word
 * (a death then leaves a marked peer for a later visitor), wake, detach
 * or stay attached until exit, close.
 */
static void sk_visit_cold(struct sk_member *m)
{
	int c = SK_HOT + (int)sx_below(&m->rng, SK_REGIONS - SK_HOT);
	int fd, ret;

	fd = sx_open(m->dev, m->sh->names[c], 0);
	if (fd < 0)
		sk_fail(m, "OPEN of a cold region", fd);
	sk_add(m->sh, C_COLD, 1);
	if (sx_nr_dead(fd) > 0)
		sk_reclaim_dead(m, fd);
	ret = sx_attach(fd, NULL);
	if (ret == -EBUSY) {	/* still attached from an earlier visit */
		close(fd);
		return;
	}
	if (ret)
		sk_fail(m, "ATTACH to a cold region", ret);
	sk_add(m->sh, C_ATTACHES, 1);
	if (sx_chance(&m->rng, 30)) {
		ret = sx_own(fd, SK_OWN_WORD * 4);
		if (ret)
			sk_fail(m, "OWN", ret);
		sk_add(m->sh, C_OWNED, 1);
	}
	ret = sx_wake(fd, 0, SHMIPC_WAKE_ALL);
	if (ret < 0)
		sk_fail(m, "WAKE of a cold region", ret);
	if (sx_chance(&m->rng, 60)) {
		ret = sx_detach(fd);
		if (ret)
			sk_fail(m, "DETACH from a cold region", ret);
		sk_add(m->sh, C_DETACHES, 1);
	}
	close(fd);
}

static void __attribute__((noreturn))
sk_member_run(struct sk_shared *sh, int slot, __u64 seed, int ops)
{
	struct sk_member m;
	__u64 id, end;
	int h, i, r;

	memset(&m, 0, sizeof(m));
	m.sh = sh;
	m.slot = slot;
	m.rng.s = seed;
	m.dev = sx_dev_open();
	if (m.dev < 0)
		sk_fail(&m, "open /dev/shmipc", m.dev);
	for (h = 0; h < SK_HOT; h++) {
		m.fd[h] = sx_open(m.dev, sh->names[h], 0);
		if (m.fd[h] < 0)
			sk_fail(&m, "OPEN of a hot region", m.fd[h]);
		m.w[h] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			      m.fd[h], 0);
		if (m.w[h] == MAP_FAILED)
			sk_fail(&m, "mmap", -errno);
		r = sx_attach(m.fd[h], &id);
		if (r)
			sk_fail(&m, "ATTACH to a hot region", r);
		sk_add(sh, C_ATTACHES, 1);
		/* Relaxed: a hint for other members' waits */
		__atomic_store_n(&sh->ids[slot][h], id, __ATOMIC_RELAXED);
	}
	/* Release: the test counts peers after it sees this. */
	__atomic_store_n(&sh->ready[slot], 1, __ATOMIC_RELEASE);
	end = sx_deadline_ms(SK_END_MS);
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE)) {
		if (sx_now_ns() > end)
			sk_fail(&m, "no go from the test", 0);
		usleep(1000);
	}
	/* Relaxed: stopping an operation later is harmless. */
	for (i = 0; i < ops && !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED);
	     i++) {
		r = (int)sx_below(&m.rng, 100);
		if (r < 35)
			sk_wait_one(&m);
		else if (r < 45)
			sk_waitv(&m);
		else if (r < 70)
			sk_wake(&m);
		else if (r < 80)
			sk_sleep_for_a_death(&m);
		else if (r < 95)
			sk_visit_cold(&m);
		else
			sk_park(&m);
		if (m.ring_ok)
			sk_uring_reap(&m);
	}
	/* A LEAVE from every hot region, or a death with status 0. */
	if (sx_chance(&m.rng, 50)) {
		for (h = 0; h < SK_HOT; h++) {
			r = sx_detach(m.fd[h]);
			if (r)
				sk_fail(&m, "DETACH from a hot region", r);
			sk_add(sh, C_DETACHES, 1);
		}
	}
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* slab accounting */

struct sk_cache {
	char name[48];
	long objs;		/* active objects */
	long size;		/* bytes per object */
};

#define SK_CACHES	512

/*
 * The caches the module's objects live in: kmalloc (regions, peers,
 * region files and their event queues, waiters), shmem inodes (one per
 * region), files and dentries (region fds, shmem files), pids (peers,
 * event readers).  Caches of unrelated kernel activity are left out.
 */
static bool sk_watched(const char *name)
{
	static const char *const names[] = {
		"shmem_inode_cache", "filp", "dentry", "pid",
	};
	unsigned int i;

	if (!strncmp(name, "kmalloc-", 8))
		return true;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/*
 * Tasks in /proc, kernel threads included: workqueue workers started by
 * the load (io_uring teardown, deaths) stay idle for minutes, each with
 * a few slab objects.
 */
static int sk_tasks(void)
{
	struct dirent *d;
	int n = 0;
	DIR *dir = opendir("/proc");

	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9')
			n++;
	closedir(dir);
	return n;
}

/* The watched caches of /proc/slabinfo; their count or -errno. */
static int sk_slab_read(struct sk_cache *c, int max)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/slabinfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (sscanf(line, "%47s %ld %*d %ld", c[n].name, &c[n].objs,
			   &c[n].size) == 3 && sk_watched(c[n].name))
			n++;
	}
	fclose(f);
	return n;
}

static void sk_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd >= 0) {
		n = write(fd, s, strlen(s));
		(void)n;	/* best effort: the figures tell */
		close(fd);
	}
}

/*
 * Make /proc/slabinfo count objects in use, not slab slack: drop unused
 * dentries and inodes (@drop), then shrink each watched cache, which
 * flushes its per-CPU slabs (SLUB counts their free objects as active)
 * and, under KASAN, its quarantine of freed objects.
 */
static void sk_slab_settle(bool drop)
{
	struct sk_cache c[SK_CACHES];
	char path[128];
	int n, i;

	if (drop)
		sk_write("/proc/sys/vm/drop_caches", "2\n");
	n = sk_slab_read(c, SK_CACHES);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/sys/kernel/slab/%.47s/shrink",
			 c[i].name);
		sk_write(path, "1\n");
	}
}

static const struct sk_cache *sk_find(const struct sk_cache *c, int n,
				      const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

/*
 * Is every watched cache back to its start, within SK_SLAB_SLACK objects
 * plus 1/SK_SLAB_SLACK_DIV of what it held, plus SK_SLAB_PER_TASK for
 * each of the @new_tasks tasks more than at the start?  The slack is for
 * the rest of the kernel: workqueue workers the load started (they idle
 * for minutes), RCU callbacks not run yet, the test's own files; a few
 * dozen objects.  A leak of anything the soak makes once per region,
 * peer, fd or member is at least SK_REGIONS objects, many times that.
 */
static bool sk_slab_ok(const struct sk_cache *before, int nb,
		       const struct sk_cache *after, int na, int new_tasks,
		       bool print)
{
	bool ok = true;
	int i;

	for (i = 0; i < nb; i++) {
		const struct sk_cache *a = sk_find(after, na, before[i].name);
		long slack = SK_SLAB_SLACK + before[i].objs / SK_SLAB_SLACK_DIV +
			     SK_SLAB_PER_TASK * (new_tasks > 0 ? new_tasks : 0);

		if (!a)
			continue;
		if (a->objs - before[i].objs > slack) {
			ok = false;
			if (print)
				printf("# slab: %s grew by %ld objects (slack %ld)\n",
				       a->name, a->objs - before[i].objs, slack);
		}
	}
	return ok;
}

/* Objects in all watched caches. */
static long sk_slab_objs(const struct sk_cache *c, int n)
{
	long sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += c[i].objs;
	return sum;
}

/*
 * Settle and read the watched caches into @c until they stop falling
 * (RCU, delayed fput() and io_uring's teardown free things a little
 * later), within 3 * SX_SOON_MS.  Returns their count.
 */
static int sk_slab_quiet(struct sk_cache *c)
{
	__u64 end = sx_deadline_ms(3 * SX_SOON_MS);
	long total = LONG_MAX, now;
	int n;

	for (;;) {
		sk_slab_settle(true);
		n = sk_slab_read(c, SK_CACHES);
		now = sk_slab_objs(c, n);
		if (now >= total || sx_now_ns() > end)
			return n;
		total = now;
		usleep(500000);
	}
}

/* Print the watched caches: before, at the peak, after. */
static void sk_slab_print(const struct sk_cache *before, int nb,
			  const struct sk_cache *peak, int np,
			  const struct sk_cache *after, int na)
{
	long tb = 0, tp = 0, ta = 0;
	int i;

	printf("# slab cache            objects: before     peak    after\n");
	for (i = 0; i < nb; i++) {
		const struct sk_cache *p = sk_find(peak, np, before[i].name);
		const struct sk_cache *a = sk_find(after, na, before[i].name);

		if (!p || !a)
			continue;
		tb += before[i].objs * before[i].size;
		tp += p->objs * p->size;
		ta += a->objs * a->size;
		if (!before[i].objs && !p->objs && !a->objs)
			continue;
		printf("# %-28s %9ld %8ld %8ld\n", before[i].name,
		       before[i].objs, p->objs, a->objs);
	}
	printf("# watched slab bytes: before %ld, peak %ld, after %ld\n", tb,
	       tp, ta);
}

/* ------------------------------------------------------------------ */
/* the test */

FIXTURE(soak) {
	int dev;
	int hot[SK_HOT];	/* read-only fds: events and INFO */
	struct sk_shared *sh;
	pid_t pid[SK_MEMBERS];
	int created;
	int base_regions, base_peers;
};

FIXTURE_SETUP(soak)
{
	int i;

	ASSERT_EQ(0, geteuid());
	for (i = 0; i < SK_HOT; i++)
		self->hot[i] = -1;
	self->created = 0;
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	for (i = 0; i < SK_REGIONS; i++)
		snprintf(self->sh->names[i], SHMIPC_NAME_MAX, "sk%d-%d",
			 (int)getpid(), i);
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	self->base_regions = sx_dbg_count();
	self->base_peers = sx_dbg_peers(NULL, 0);
	ASSERT_LE(0, self->base_regions);
	ASSERT_LE(0, self->base_peers);
}

FIXTURE_TEARDOWN(soak)
{
	int i;

	for (i = 0; i < SK_MEMBERS; i++)
		if (self->pid[i] > 0)
			kill(self->pid[i], SIGKILL);
	sx_reap_all(SX_SOON_MS);
	for (i = 0; i < SK_HOT; i++)
		if (self->hot[i] >= 0)
			close(self->hot[i]);
	for (i = 0; i < self->created; i++)
		sx_unlink(self->dev, self->sh->names[i]);
	munmap(self->sh, sizeof(*self->sh));
	close(self->dev);
}

/* Start a member in @slot; its pid, or -1. */
static pid_t sk_spawn(struct sk_shared *sh, int slot, struct sx_rng *rng,
		      int ops)
{
	__u64 seed = sx_rand(rng);
	int n = ops + (int)sx_below(rng, (__u64)ops);
	pid_t pid;

	/* Relaxed: fork() orders it before the member's own store. */
	__atomic_store_n(&sh->ready[slot], 0, __ATOMIC_RELAXED);
	pid = sx_fork();
	if (pid == 0)
		sk_member_run(sh, slot, seed, n);
	return pid;
}

/* Events seen by the test on the hot regions, by type. */
struct sk_events {
	__u64 n[SHMIPC_EVENT_OVERFLOW + 1];
	__u64 lost;
	int bad;
};

static void sk_drain(int fd, struct sk_events *ev)
{
	struct shmipc_event e[32];
	int n, i;

	while ((n = sx_read_events(fd, e, 32)) > 0) {
		for (i = 0; i < n; i++) {
			if (e[i].type < SHMIPC_EVENT_JOIN ||
			    e[i].type > SHMIPC_EVENT_OVERFLOW) {
				ev->bad++;
				continue;
			}
			ev->n[e[i].type]++;
			if (e[i].type == SHMIPC_EVENT_OVERFLOW)
				ev->lost += e[i].status;
			else if (!e[i].peer_id || !e[i].seq)
				ev->bad++;
		}
	}
}

/* What one soak run did and saw. */
struct sk_run {
	int lives, ops;		/* in: members after the first; their ops */
	struct sk_cache *peak;	/* in: slab figures at the peak, or NULL */
	int npeak;
	int started, kills;
	int max_peers, min_peers, max_waiters;
	struct sk_events ev;
};

/* Reap the next member to end (within SK_END_MS); its slot. */
static int sk_reap_next(struct __test_metadata *_metadata,
			FIXTURE_DATA(soak) *self, struct sk_run *run)
{
	__u64 end = sx_deadline_ms(SK_END_MS);
	pid_t pid;
	int i, h, st;

	do {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0)
			break;
		for (h = 0; h < SK_HOT; h++)
			sk_drain(self->hot[h], &run->ev);
		usleep(1000);
	} while (sx_now_ns() < end);
	ASSERT_LT(0, pid) TH_LOG("no member ended in %d ms", SK_END_MS);
	for (i = 0; i < SK_MEMBERS; i++)
		if (self->pid[i] == pid)
			break;
	ASSERT_GT(SK_MEMBERS, i) TH_LOG("pid %d is no member", (int)pid);
	self->pid[i] = 0;
	ASSERT_TRUE((WIFEXITED(st) && !WEXITSTATUS(st)) ||
		    (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
		TH_LOG("member status 0x%x: %s", st, self->sh->failure);
	return i;
}

/*
 * One soak: make the regions; start SK_MEMBERS members and check that
 * each hot region has them all as peers at once; then @run->lives
 * rounds, each replacing the next member to end, every other one after
 * SIGKILLing a random member; stop the last ones; remove every region
 * and check that the hot regions end with no peer, dead peer or waiter.
 * A failed ASSERT leaves the rest to the teardown.
 */
static void sk_run(struct __test_metadata *_metadata,
		   FIXTURE_DATA(soak) *self, struct sx_rng *rng,
		   struct sk_run *run)
{
	struct sk_shared *sh = self->sh;
	struct shmipc_info info;
	int i, h, round;
	__u64 end;

	memset(sh->ready, 0, sizeof(sh->ready));
	memset(sh->ids, 0, sizeof(sh->ids));
	sh->go = sh->stop = 0;
	run->min_peers = INT_MAX;
	/* The regions: persistent, so no fd keeps them. */
	for (i = 0; i < SK_REGIONS; i++) {
		int fd = sx_create(self->dev, sh->names[i],
				   4096 * (1 + (__u64)(i % 3)), 0600,
				   SHMIPC_CREATE_EXCL |
				   SHMIPC_CREATE_PERSISTENT);

		ASSERT_LE(0, fd) TH_LOG("region %d", i);
		self->created++;
		close(fd);
	}
	for (h = 0; h < SK_HOT; h++) {
		self->hot[h] = sx_open(self->dev, sh->names[h],
				       SHMIPC_OPEN_RDONLY);
		ASSERT_LE(0, self->hot[h]);
		ASSERT_EQ(0, fcntl(self->hot[h], F_SETFL, O_NONBLOCK));
	}

	/* Every member attached to every hot region at once, then go. */
	for (i = 0; i < SK_MEMBERS; i++) {
		self->pid[i] = sk_spawn(sh, i, rng, run->ops);
		ASSERT_LT(0, self->pid[i]);
		run->started++;
	}
	end = sx_deadline_ms(SK_END_MS);
	for (i = 0; i < SK_MEMBERS; i++) {
		while (!__atomic_load_n(&sh->ready[i], __ATOMIC_ACQUIRE) &&
		       !sh->failed && sx_now_ns() < end)
			usleep(2000);
		ASSERT_TRUE(sh->ready[i]) TH_LOG("%s", sh->failure);
	}
	for (h = 0; h < SK_HOT; h++) {
		ASSERT_EQ(0, sx_info(self->hot[h], &info));
		EXPECT_EQ(SK_MEMBERS, (int)info.nr_peers) TH_LOG("hot %d", h);
		if ((int)info.nr_peers > run->max_peers)
			run->max_peers = (int)info.nr_peers;
	}
	if (run->peak) {	/* every region and every member there */
		sk_slab_settle(false);
		run->npeak = sk_slab_read(run->peak, SK_CACHES);
	}
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);

	for (round = 0; round < run->lives && !sh->failed; round++) {
		if (round % 2 == 0) {
			i = (int)sx_below(rng, SK_MEMBERS);
			if (self->pid[i] > 0 && !kill(self->pid[i], SIGKILL))
				run->kills++;
		}
		i = sk_reap_next(_metadata, self, run);
		self->pid[i] = sk_spawn(sh, i, rng, run->ops);
		ASSERT_LT(0, self->pid[i]);
		run->started++;
		for (h = 0; h < SK_HOT; h++) {
			if (sx_info(self->hot[h], &info))
				continue;
			if ((int)info.nr_peers < run->min_peers)
				run->min_peers = (int)info.nr_peers;
			if ((int)info.nr_waiters > run->max_waiters)
				run->max_waiters = (int)info.nr_waiters;
		}
	}
	/* The last ones end at their next operation (relaxed: see there). */
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < SK_MEMBERS; i++) {
		while (self->pid[i] > 0)	/* the next may be another's */
			sk_reap_next(_metadata, self, run);
	}
	EXPECT_EQ(0, sh->failed) TH_LOG("%s", sh->failure);

	/* Every death processed, every waiter gone, nothing marked. */
	for (h = 0; h < SK_HOT; h++) {
		EXPECT_TRUE(sx_wait_peers(self->hot[h], 0, 0)) TH_LOG("hot %d", h);
		EXPECT_TRUE(sx_wait_waiters(self->hot[h], 0));
		sk_drain(self->hot[h], &run->ev);
		close(self->hot[h]);
		self->hot[h] = -1;
	}
	for (i = 0; i < SK_REGIONS; i++)
		EXPECT_EQ(0, sx_unlink(self->dev, sh->names[i]));
	self->created = 0;
}

/* Wait until debugfs lists the regions and peers there were before. */
static void sk_back_to_start(struct __test_metadata *_metadata,
			     FIXTURE_DATA(soak) *self, int *regions,
			     int *peers)
{
	__u64 end = sx_deadline_ms(3 * SX_SOON_MS);

	do {
		*regions = sx_dbg_count();
		*peers = sx_dbg_peers(NULL, 0);
		if (*regions == self->base_regions &&
		    *peers == self->base_peers)
			break;
		usleep(20000);
	} while (sx_now_ns() < end);
	EXPECT_EQ(self->base_regions, *regions);
	EXPECT_EQ(self->base_peers, *peers);
}

/*
 * A short run first warms the kernel up: the workqueue workers that
 * deaths need, io_uring's, SLUB's per-CPU partial slabs all stay after
 * it (idle workers for minutes), and are not the module's.  Then the
 * figures: before, the soak (peak), after.
 */
TEST_F_TIMEOUT(soak, regions_peers_waiters_deaths, 290)
{
	static struct sk_cache before[SK_CACHES], peak[SK_CACHES],
			       after[SK_CACHES];
	struct sk_shared *sh = self->sh;
	unsigned long long scale = sx_env_num("SHMIPC_SOAK_SCALE", 1);
	bool debug = sx_debug_kernel();
	struct sx_rng rng = { sx_seed("SHMIPC_SOAK_SEED") };
	__u64 seed = rng.s, start;
	struct sk_run warm, run;
	char name[SHMIPC_NAME_MAX];
	int i, nb, na, regions, peers, tasks;

	memset(&warm, 0, sizeof(warm));
	memset(&run, 0, sizeof(run));
	run.lives = (int)((debug ? SK_LIVES_DEBUG : SK_LIVES) * scale);
	run.ops = debug ? SK_OPS_DEBUG : SK_OPS;
	run.peak = peak;
	warm.lives = SK_MEMBERS / 4;
	warm.ops = run.ops / 2;
	printf("# seed %llu (SHMIPC_SOAK_SEED), %d regions, %d members at "
	       "once, %d more lives, %d-%d operations each%s\n",
	       (unsigned long long)seed, SK_REGIONS, SK_MEMBERS, run.lives,
	       run.ops, 2 * run.ops - 1, debug ? ", debug kernel" : "");
	sx_unique_name(name, "skquota");
	ASSERT_EQ(0, sx_check_total_bytes(self->dev, name));

	sk_run(_metadata, self, &rng, &warm);
	sk_back_to_start(_metadata, self, &regions, &peers);
	ASSERT_EQ(0, sh->failed) TH_LOG("%s", sh->failure);
	memset(sh->n, 0, sizeof(sh->n));
	nb = sk_slab_quiet(before);
	ASSERT_LT(0, nb);
	tasks = sk_tasks();

	start = sx_now_ns();
	sk_run(_metadata, self, &rng, &run);
	printf("# %d members started, %d SIGKILLed by the test, %.1f s "
	       "(warm-up: %d, %d)\n",
	       run.started, run.kills, (double)(sx_now_ns() - start) / 1e9,
	       warm.started, warm.kills);

	/* Back to the start: module counts, quota bytes, slab. */
	sk_back_to_start(_metadata, self, &regions, &peers);
	EXPECT_EQ(0, sx_check_total_bytes(self->dev, name));
	na = sk_slab_quiet(after);

	printf("# peers per hot region: %d at the start, %d at least "
	       "later; up to %d waiters on one\n",
	       run.max_peers, run.min_peers, run.max_waiters);
	for (i = 0; i < C_NCOUNT; i++)
		printf("# %-28s %llu\n", sk_count_name[i],
		       (unsigned long long)sh->n[i]);
	printf("# events on the test's hot fds: %llu JOIN, %llu LEAVE, "
	       "%llu DEATH, %llu OVERFLOW (%llu lost)\n",
	       (unsigned long long)run.ev.n[SHMIPC_EVENT_JOIN],
	       (unsigned long long)run.ev.n[SHMIPC_EVENT_LEAVE],
	       (unsigned long long)run.ev.n[SHMIPC_EVENT_DEATH],
	       (unsigned long long)run.ev.n[SHMIPC_EVENT_OVERFLOW],
	       (unsigned long long)run.ev.lost);
	printf("# debugfs: regions %d -> %d -> %d, peers %d -> %d; tasks %d -> %d\n",
	       self->base_regions, self->base_regions + SK_REGIONS, regions,
	       self->base_peers, peers, tasks, sk_tasks());
	sk_slab_print(before, nb, peak, run.npeak, after, na);

	EXPECT_EQ(0, run.ev.bad + warm.ev.bad);
	/* The soak did what it says: wakes and deaths woke sleepers. */
	EXPECT_LT(0, sh->n[C_WOKEN]);
	EXPECT_LT(0, sh->n[C_OWNERDEAD]);
	EXPECT_LT(0, run.ev.n[SHMIPC_EVENT_DEATH]);
	/* The slab figures see the soak's objects: one shmem inode a region. */
	{
		const struct sk_cache *b = sk_find(before, nb, "shmem_inode_cache");
		const struct sk_cache *p = sk_find(peak, run.npeak,
						   "shmem_inode_cache");

		ASSERT_TRUE(b && p);
		EXPECT_LE(SK_REGIONS, p->objs - b->objs);
	}
	EXPECT_TRUE(sk_slab_ok(before, nb, after, na, sk_tasks() - tasks,
			       true));
}

TEST_HARNESS_MAIN
