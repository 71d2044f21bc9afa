// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded, seeded fuzzer of /dev/shmipc and region fds.
 *
 * sweep: every ioctl number of the magic, and of the magics either side
 * (0xB1, 0xB3), with every direction bit pair and the size of every
 * struct of the uapi, on the device, a read-write region fd, a STAT fd
 * and /dev/null: every one the uapi does not define gives -ENOTTY.
 *
 * random_calls: FZ_WORKERS processes make SHMIPC_FUZZ_CALLS calls in all
 * (default FZ_CALLS; FZ_CALLS_DEBUG on a debug kernel, where KASAN makes
 * everything ~5x slower): every ioctl with valid, mutated and random
 * arguments (names with odd bytes or no NUL, sizes, offsets unaligned or
 * out of range or huge, flags with unknown bits, reserved fields, past,
 * present, far and endless deadlines, peer ids of anyone), through
 * unreadable pointers (NULL, unmapped, kernel, crossing into a guard
 * page) and read-only ones for output structs, on region fds (read-write,
 * read-only, STAT), the device, other file types and closed fds; LIST and
 * PEERS with entry arrays valid, NULL, unmapped, in the kernel,
 * read-only, too small for count * entry_size or running into a guard
 * page, counts 0, 1, at the batch edges or huge, strides below, at and
 * above the entry struct, cursors from the last .next, at the end or
 * anywhere; and read() and poll() of event queues, mmap/munmap/
 * mprotect/mremap and stores into the mappings, io_uring
 * SHMIPC_URING_WAIT commands with random arguments, EMFILE, fork (some
 * children drop privileges), exit and SIGKILL of siblings at any moment,
 * and a thread that closes an fd or unmaps memory while a call runs on
 * it.
 *
 * Each result is checked against a table of the errnos the uapi header
 * documents for that call (and that fd), and successes against their
 * out fields; an unreadable argument must give exactly -EFAULT.  LIST
 * and PEERS: bad flags, reserved or entry_size give exactly -EINVAL, a
 * writable struct and array never -EFAULT, a failure writes nothing, and
 * a success never more entries than asked nor a byte past them; its
 * entries have increasing ids past the cursor, zeroed bytes past the
 * struct, valid NUL-terminated names, regions the caller may read, the
 * caller's own peer alive; a whole walk in one call lists every region
 * the caller holds and its own peer.  Any other result fails the test
 * with the call printed.  Nothing can block for long: a call that might
 * sleep runs under a FZ_TIMER_MS interval timer (-EINTR), and a watchdog
 * fails the test when a worker makes no progress for FZ_HANG_MS.  At the
 * end every region is destroyed, and debugfs must list no region and no
 * peer beyond those there before, and the quota's byte count must match
 * what is left.  The VM runner fails
 * the run on any oops, WARN, BUG, lockdep, KASAN or hung-task report.
 *
 * The seed is printed; SHMIPC_FUZZ_SEED=N replays each worker's choices
 * (how the workers interleave, and so some results, is up to the
 * scheduler).
 *
 * Runs in the VM as root with the module loaded; linked with liburing.
 */
#define _GNU_SOURCE
#define SX_URING
#include <pthread.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define FZ_WORKERS	4
#define FZ_CALLS	200000	/* random calls in all (sweep not counted) */
#define FZ_CALLS_DEBUG	40000
#define FZ_NAMES	6	/* region names all workers share */
#define FZ_REGS		12	/* region fds one process holds at most */
#define FZ_MAPS		8	/* region mappings one process holds */
#define FZ_DEAD		16	/* dead peer ids remembered (RECLAIM) */
#define FZ_IDS		8	/* peer ids each worker shows its siblings */
#define FZ_FOREIGN	8	/* fds of other types */
#define FZ_INFLIGHT	16	/* io_uring commands in flight at most */
#define FZ_TIMER_MS	20	/* interrupts any call that could sleep */
#define FZ_HANG_MS	30000	/* a worker without progress: a hang */
#define FZ_CHILD_MS	20000	/* a forked child must be gone by then */
#define FZ_CLOSED_FD	1000	/* fds from here up are never open */
#define FZ_ARGMAX	192	/* bytes of an ioctl argument we keep */
#define FZ_NRES		136	/* result buckets: 0 ok, errno, other */
#define FZ_EXIT_FAIL	42	/* a process found a bad result */
#define FZ_UNPRIV	65534	/* uid and gid of unprivileged children */
#define FZ_LPAGES	8	/* read-write pages of LIST/PEERS arrays */
#define FZ_LSLACK	1024	/* bytes past an array checked untouched */
#define FZ_LFILL	0xa5	/* what an array holds before the call */
#define FZ_MINE		16	/* regions a process remembers its peer of */
/* Features this test knows the ioctls of. */
#define FZ_KNOWN_FEATURES (SHMIPC_FEAT_REGIONS | SHMIPC_FEAT_WAIT | \
			   SHMIPC_FEAT_WAITV | SHMIPC_FEAT_PEERS | \
			   SHMIPC_FEAT_URING_CMD | SHMIPC_FEAT_LIST)

/* What a call was, for the counts. */
enum fz_kind {
	K_FEATURES, K_CREATE, K_OPEN, K_UNLINK, K_INFO, K_WAIT, K_WAKE,
	K_WAITV, K_ATTACH, K_DETACH, K_OWN, K_RECLAIM, K_LIST, K_PEERS,
	K_UNKNOWN,	/* other ioctl numbers */
	K_READ, K_POLL, K_MMAP, K_MUNMAP, K_MPROTECT, K_MREMAP,
	K_URING, K_CQE, K_FDOP, K_FORK, K_KILL, K_EXIT,
	K_NR
};

static const char *const fz_kind_name[K_NR] = {
	"GET_FEATURES", "CREATE", "OPEN", "UNLINK", "INFO", "WAIT", "WAKE",
	"WAITV", "ATTACH", "DETACH", "OWN", "RECLAIM", "LIST", "PEERS",
	"other-ioctl",
	"read", "poll", "mmap", "munmap", "mprotect", "mremap",
	"uring-submit", "uring-cqe", "fd-op", "fork", "kill", "exit",
};

/* What the fd of a call is. */
enum fz_target { T_DEV, T_REGION, T_FOREIGN, T_CLOSED };
static const char *const fz_target_name[] = {
	"dev", "region", "other-type", "closed",
};

/* Where the argument of a call is. */
enum fz_ptr { P_OK, P_RO, P_BAD, P_INT };
static const char *const fz_ptr_name[] = {
	"ok", "read-only", "unreadable", "integer",
};

/* What a region fd may do (INFO flags READ, WRITE). */
#define A_READ	1
#define A_WRITE	2

/* The uapi's contract for one ioctl. */
struct fz_ioc {
	unsigned long cmd;
	int kind;
	bool on_dev;		/* else on a region fd */
	bool output;		/* writes its struct back */
	unsigned int needs;	/* A_*: an fd without gives EBADF */
	int unpriv;		/* errno only unprivileged callers get */
	int errs[12];		/* every other errno it may give */
};

static const struct fz_ioc fz_iocs[] = {
	{ SHMIPC_IOC_GET_FEATURES, K_FEATURES, true, true, 0, 0,
	  { EFAULT } },
	{ SHMIPC_IOC_CREATE, K_CREATE, true, true, 0, EACCES,
	  { EFAULT, EINVAL, ENAMETOOLONG, EFBIG, EEXIST, EDQUOT, ENOSPC,
	    ENOMEM, EMFILE, ENFILE, EBADF, EIDRM } },	/* EBADF: tie_fd */
	{ SHMIPC_IOC_OPEN, K_OPEN, true, true, 0, EACCES,
	  { EFAULT, EINVAL, ENAMETOOLONG, ENOENT, ENOMEM, EMFILE, ENFILE } },
	{ SHMIPC_IOC_UNLINK, K_UNLINK, true, false, 0, EPERM,
	  { EFAULT, EINVAL, ENAMETOOLONG, ENOENT } },
	{ SHMIPC_IOC_INFO, K_INFO, false, true, 0, 0, { EFAULT } },
	{ SHMIPC_IOC_WAIT, K_WAIT, false, false, A_READ, 0,
	  { EFAULT, EINVAL, ESRCH, EOWNERDEAD, EAGAIN, ETIMEDOUT, EINTR,
	    EIDRM, ENOMEM } },
	{ SHMIPC_IOC_WAKE, K_WAKE, false, false, A_READ, 0,
	  { EFAULT, EINVAL } },
	{ SHMIPC_IOC_WAITV, K_WAITV, false, false, 0, 0,
	  { EFAULT, EINVAL, EBADF, ESRCH, EOWNERDEAD, EAGAIN, ETIMEDOUT,
	    EINTR, EIDRM, ENOMEM } },
	{ SHMIPC_IOC_ATTACH, K_ATTACH, false, true, A_READ, 0,
	  { EFAULT, EINVAL, EIDRM, EBUSY, EUSERS, ENOMEM } },
	{ SHMIPC_IOC_DETACH, K_DETACH, false, false, A_READ, 0,
	  { EINVAL, ENOENT } },
	{ SHMIPC_IOC_OWN, K_OWN, false, false, A_WRITE, 0,
	  { EFAULT, EINVAL, ENOENT, EEXIST, ENOSPC } },
	{ SHMIPC_IOC_RECLAIM, K_RECLAIM, false, false, A_WRITE, 0,
	  { EFAULT, EINVAL, ESRCH, EBUSY } },
	/* EFAULT: the struct or the entry array; unreadable regions: left out */
	{ SHMIPC_IOC_LIST, K_LIST, true, true, 0, 0,
	  { EFAULT, EINVAL, ENOMEM } },
	{ SHMIPC_IOC_PEERS, K_PEERS, false, true, 0, 0,
	  { EFAULT, EINVAL, ENOMEM } },
};

#define FZ_NIOC	(sizeof(fz_iocs) / sizeof(fz_iocs[0]))

/* The call a process is making: shown when it fails or hangs. */
struct fz_call {
	__u64 seq;		/* the process' call number */
	int kind;		/* K_* */
	int fd;
	int target;		/* T_* */
	int ptr;		/* P_* */
	unsigned int access;	/* A_* of a region fd */
	unsigned long op;	/* ioctl cmd, or mmap prot, read count... */
	__u64 a, b;		/* more operands (mmap length, offset...) */
	int len;		/* bytes of @arg */
	unsigned char arg[FZ_ARGMAX];
};

struct fz_worker {
	pid_t pid;		/* 0 while not running */
	unsigned int gen;	/* respawns of this slot */
	__u64 progress;		/* calls made from this slot */
	__u64 peer_ids[FZ_IDS];	/* its recent ATTACHes */
	struct fz_call last;	/* its call (or its child's) in progress */
};

/* Shared by the test and every worker (MAP_SHARED). */
struct fz_shared {
	__u64 seed;
	__u64 target;		/* calls to make in all */
	__u64 calls;		/* made so far */
	__u64 features;		/* GET_FEATURES of the module */
	__u64 untabled;		/* results of ioctls unknown to the test */
	int stop;
	int failed;
	char failure[2048];
	char names[FZ_NAMES][SHMIPC_NAME_MAX];
	__u64 count[K_NR][FZ_NRES];
	struct fz_worker w[FZ_WORKERS];
};

struct fz_reg {
	int fd;
	unsigned int access;	/* A_* */
	__u64 size;
	__u64 id;		/* of the region, from INFO */
};

struct fz_map {
	unsigned char *addr;
	size_t len;
	int prot;
	bool maywrite;		/* its fd was writable */
};

/* One process' fuzzing state. */
struct fz {
	struct fz_shared *sh;
	int idx;		/* worker slot */
	bool child;		/* a forked child of a worker */
	bool unpriv;		/* dropped root */
	bool racing;		/* a thread may close race_fd meanwhile */
	int race_fd;
	struct sx_rng rng;
	__u64 seq;
	int dev;
	struct fz_reg reg[FZ_REGS];
	int nreg;
	int foreign[FZ_FOREIGN];
	int nforeign;
	struct fz_map map[FZ_MAPS];
	int nmap;
	unsigned char *arena;	/* 4 pages: RO, RW, RW, none */
	unsigned char *lbuf;	/* LIST/PEERS arrays: RO, FZ_LPAGES RW, none */
	size_t page;
	struct io_uring ring;
	bool ring_ok;
	int inflight;
	__u64 dead[FZ_DEAD];	/* peer ids of DEATH events */
	int ndead;
	/* This process' peers: mine_peer[i] is attached to region mine_reg[i] */
	__u64 mine_reg[FZ_MINE], mine_peer[FZ_MINE];
	int nmine;
	__u64 lnext[2];		/* LIST, PEERS: the last .next returned */
	__u64 lmax[2];		/* LIST, PEERS: the largest id seen */
	struct fz_call call;
	size_t room;		/* writable bytes where fz_place() put it */
};

/* ------------------------------------------------------------------ */
/* recording, counting, failing */

static void fz_alarm(int sig)
{
	(void)sig;	/* only interrupts the call (no SA_RESTART) */
}

/*
 * Arm (or disarm) the timer that interrupts a sleeping call.  It repeats:
 * a loaded machine may run the signal before the call even starts.
 */
static void fz_timer(bool on)
{
	struct itimerval it = {
		.it_value = { 0, on ? FZ_TIMER_MS * 1000 : 0 },
		.it_interval = { 0, on ? FZ_TIMER_MS * 1000 : 0 },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

static __u64 fz_rand(struct fz *fz, __u64 n)
{
	return sx_below(&fz->rng, n);
}

static bool fz_pct(struct fz *fz, unsigned int pct)
{
	return sx_chance(&fz->rng, pct);
}

/* Start recording a call; the watchdog shows it if it hangs. */
static void fz_begin(struct fz *fz, int kind, int fd, int target,
		     unsigned long op)
{
	memset(&fz->call, 0, offsetof(struct fz_call, arg));
	fz->call.seq = ++fz->seq;
	fz->call.kind = kind;
	fz->call.fd = fd;
	fz->call.target = target;
	fz->call.op = op;
	fz->call.ptr = P_OK;
}

static void fz_arg(struct fz *fz, const void *arg, size_t len)
{
	if (len > FZ_ARGMAX)
		len = FZ_ARGMAX;
	fz->call.len = (int)len;
	memcpy(fz->call.arg, arg, len);
}

/* Publish the call about to be made (after fz_begin() and fz_arg()). */
static void fz_publish(struct fz *fz)
{
	fz->sh->w[fz->idx].last = fz->call;
}

/* Count a result: every call made counts towards the target. */
static void fz_count(struct fz *fz, int kind, long ret)
{
	long e = ret < 0 ? -ret : 0;

	if (e >= FZ_NRES)
		e = FZ_NRES - 1;
	/* Relaxed: counters, read once every writer has been reaped. */
	__atomic_fetch_add(&fz->sh->count[kind][e], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&fz->sh->calls, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&fz->sh->w[fz->idx].progress, 1, __ATOMIC_RELAXED);
}

static int fz_fmt_call(char *buf, size_t size, const struct fz_call *c)
{
	int n, i;

	n = snprintf(buf, size, "call #%llu %s fd %d (%s, access %u) "
		     "op 0x%lx a 0x%llx b 0x%llx arg %s",
		     (unsigned long long)c->seq,
		     c->kind >= 0 && c->kind < K_NR ? fz_kind_name[c->kind] : "?",
		     c->fd, fz_target_name[c->target & 3], c->access, c->op,
		     (unsigned long long)c->a, (unsigned long long)c->b,
		     fz_ptr_name[c->ptr & 3]);
	for (i = 0; i < c->len && n > 0 && (size_t)n + 3 < size; i++)
		n += snprintf(buf + n, size - (size_t)n, "%s%02x",
			      i ? (i % 8 ? "" : " ") : ": ", c->arg[i]);
	return n;
}

/* A result the contract does not allow: record it (first one wins), end. */
static void __attribute__((noreturn))
fz_fail(struct fz *fz, long ret, const char *why)
{
	char call[1200], path[64], file[128] = "";

	fz_fmt_call(call, sizeof(call), &fz->call);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fz->call.fd);
	if (readlink(path, file, sizeof(file) - 1) < 0)
		strcpy(file, "-");
	/* The first failure is kept: the exchange makes it exclusive. */
	if (!__atomic_exchange_n(&fz->sh->failed, 1, __ATOMIC_ACQ_REL))
		snprintf(fz->sh->failure, sizeof(fz->sh->failure),
			 "worker %d gen %u%s%s, seed %llu: %s (fd is %s) -> %ld (%s): %s",
			 fz->idx, fz->sh->w[fz->idx].gen,
			 fz->child ? " child" : "",
			 fz->unpriv ? " unprivileged" : "",
			 (unsigned long long)fz->sh->seed, call, file, ret,
			 ret < 0 ? strerror((int)-ret) : "ok", why);
	/* Relaxed: the others stop a call or two later, that is fine. */
	__atomic_store_n(&fz->sh->stop, 1, __ATOMIC_RELAXED);
	_exit(FZ_EXIT_FAIL);
}

/* Results of ioctls the test has no table for (a newer module)? */
static bool fz_untabled(struct fz *fz)
{
	if (!(fz->sh->features & ~(__u64)FZ_KNOWN_FEATURES))
		return false;
	__atomic_fetch_add(&fz->sh->untabled, 1, __ATOMIC_RELAXED); /* count */
	return true;
}

static const struct fz_ioc *fz_ioc_of(unsigned long cmd)
{
	unsigned int i;

	for (i = 0; i < FZ_NIOC; i++)
		if (fz_iocs[i].cmd == cmd)
			return &fz_iocs[i];
	return NULL;
}

static bool fz_in(const int *errs, int n, int e)
{
	int i;

	for (i = 0; i < n && errs[i]; i++)
		if (errs[i] == e)
			return true;
	return false;
}

/*
 * Is @ret what ioctl(@cmd) may give on the fd of fz->call?  NULL if so,
 * else why not.
 */
static const char *fz_judge_ioctl(struct fz *fz, unsigned long cmd, int ret)
{
	const struct fz_ioc *ioc = fz_ioc_of(cmd);
	const struct fz_call *c = &fz->call;
	int e = ret < 0 ? -ret : 0;

	if (fz->racing && (e == EBADF || e == ENOTTY))
		return NULL;	/* the fd was closed or replaced meanwhile */
	switch (c->target) {
	case T_CLOSED:
		return e == EBADF ? NULL : "a closed fd gives EBADF";
	case T_FOREIGN:
		return e == ENOTTY ? NULL : "another file type gives ENOTTY";
	}
	if (!ioc || ioc->on_dev != (c->target == T_DEV)) {
		if (e == ENOTTY || fz_untabled(fz))
			return NULL;
		return "an ioctl this fd does not have gives ENOTTY";
	}
	/* WAITV checks its fd before it reads anything */
	if (c->ptr == P_BAD && !(ioc->kind == K_WAITV && e == EBADF &&
				 !(c->access & A_READ)))
		return e == EFAULT ? NULL : "an unreadable argument gives EFAULT";
	if (ret >= 0) {
		if (c->ptr == P_RO && ioc->output)
			return "succeeded without writing its result";
		if (ret > 0 && ioc->kind != K_WAKE && ioc->kind != K_WAITV)
			return "success is 0";
		return NULL;
	}
	if (fz_in(ioc->errs, 12, e))
		return NULL;
	if (e == EBADF && (c->access & ioc->needs) != ioc->needs)
		return NULL;
	if (fz->unpriv && ioc->unpriv == e)
		return NULL;
	return "errno not in the uapi's table for this ioctl";
}

/* ioctl() through the recorder: counts and judges; the result or -errno. */
static int fz_ioctl(struct fz *fz, unsigned long cmd, unsigned long arg,
		    bool may_sleep)
{
	const struct fz_ioc *ioc = fz_ioc_of(cmd);
	const char *why;
	int ret;

	fz->call.kind = ioc ? ioc->kind : K_UNKNOWN;
	fz->call.op = cmd;
	fz_publish(fz);
	if (may_sleep)
		fz_timer(true);
	ret = ioctl(fz->call.fd, cmd, arg);
	if (ret < 0)
		ret = -errno;
	if (may_sleep)
		fz_timer(false);
	fz_count(fz, fz->call.kind, ret);
	why = fz_judge_ioctl(fz, cmd, ret);
	if (why)
		fz_fail(fz, ret, why);
	return ret;
}

/* ------------------------------------------------------------------ */
/* choosing fds, names, numbers, pointers */

static struct fz_reg *fz_pick_reg(struct fz *fz)
{
	return fz->nreg ? &fz->reg[fz_rand(fz, (__u64)fz->nreg)] : NULL;
}

static int fz_closed_fd(struct fz *fz)
{
	static const int other[] = { -1, INT_MAX, -100 };

	if (fz_pct(fz, 80))
		return FZ_CLOSED_FD + (int)fz_rand(fz, 16);
	return other[fz_rand(fz, 3)];
}

/*
 * The fd of the next call, of kind @want mostly, else any other kind;
 * fills the target of fz->call.  *@reg is the region slot, or NULL.
 */
static int fz_pick_fd(struct fz *fz, int want, struct fz_reg **reg)
{
	int t = want;
	int fd;

	*reg = NULL;
	if (fz_pct(fz, 12))
		t = (int)fz_rand(fz, 4);
	if (t == T_REGION && !fz->nreg)
		t = T_DEV;
	if (t == T_DEV && fz->dev < 0)
		t = T_CLOSED;
	switch (t) {
	case T_REGION:
		*reg = fz_pick_reg(fz);
		for (fd = 0; fz->racing && fd < fz->nreg; fd++)
			if (fz->reg[fd].fd == fz->race_fd && fz_pct(fz, 75))
				*reg = &fz->reg[fd];
		fd = (*reg)->fd;
		fz->call.access = (*reg)->access;
		break;
	case T_DEV:
		fd = fz->dev;
		break;
	case T_FOREIGN:
		fd = fz->foreign[fz_rand(fz, (__u64)fz->nforeign)];
		break;
	default:
		t = T_CLOSED;
		fd = fz_closed_fd(fz);
		break;
	}
	fz->call.fd = fd;
	fz->call.target = t;
	return fd;
}

/* A value fuzzers like, for any integer field. */
static __u64 fz_interesting(struct fz *fz)
{
	static const __u64 v[] = {
		0, 1, 2, 3, 4, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000,
		0x1001, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
		0x100000000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
		0xfffffffffffffffcULL, 0xffffffffffffffffULL,
	};

	return v[fz_rand(fz, sizeof(v) / sizeof(v[0]))];
}

/* Flip bits, or put interesting or random values, here and there. */
static void fz_mutate(struct fz *fz, void *buf, size_t len)
{
	unsigned char *p = buf;
	int n = 1 + (int)fz_rand(fz, 3);
	__u64 v;
	__u32 v32;
	size_t at;

	if (!len)
		return;
	while (n--) {
		switch (fz_rand(fz, 5)) {
		case 0:
			p[fz_rand(fz, len)] ^= (unsigned char)(1 << fz_rand(fz, 8));
			break;
		case 1:
			p[fz_rand(fz, len)] = (unsigned char)fz_rand(fz, 256);
			break;
		case 2:
			if (len < 4)
				break;
			at = fz_rand(fz, len / 4) * 4;
			v32 = (__u32)fz_interesting(fz);
			memcpy(p + at, &v32, 4);
			break;
		case 3:
			if (len < 8)
				break;
			at = fz_rand(fz, len / 8) * 8;
			v = fz_interesting(fz);
			memcpy(p + at, &v, 8);
			break;
		default:	/* everything random */
			for (at = 0; at < len; at++)
				p[at] = (unsigned char)fz_rand(fz, 256);
			break;
		}
	}
}

/* A name: mostly one of the shared ones, else a broken one. */
static void fz_name(struct fz *fz, char name[SHMIPC_NAME_MAX])
{
	static const char odd[] = { '/', ' ', '\n', '*', (char)0x80,
				    (char)0xff, '\\', ':' };
	const char *base = fz->sh->names[fz_rand(fz, FZ_NAMES)];
	size_t len = strlen(base);

	memset(name, 0, SHMIPC_NAME_MAX);
	memcpy(name, base, len);
	switch (fz_rand(fz, 24)) {
	case 0:		/* no NUL */
		memset(name, 'a', SHMIPC_NAME_MAX);
		break;
	case 1:		/* the longest valid one, ours alone */
		memset(name + len, 'x', SHMIPC_NAME_MAX - 1 - len);
		break;
	case 2:
		memset(name, 0, SHMIPC_NAME_MAX);
		break;
	case 3:
		strcpy(name, fz_pct(fz, 50) ? "." : "..");
		memset(name + 3, 0, SHMIPC_NAME_MAX - 3);
		break;
	case 4:		/* an odd byte */
		name[fz_rand(fz, len)] = odd[fz_rand(fz, sizeof(odd))];
		break;
	case 5:		/* garbage after the NUL */
		name[len + 1 + fz_rand(fz, SHMIPC_NAME_MAX - len - 1)] = 'z';
		break;
	default:
		break;
	}
}

static __u64 fz_size(struct fz *fz)
{
	static const __u64 v[] = {
		4096, 4096, 4096, 8192, 1, 4, 100, 4097, 3 * 4096 + 4,
		65536, 1 << 20, 64 << 20, 3ULL << 30, 5ULL << 30, 0,
		~0ULL,
	};

	return v[fz_rand(fz, sizeof(v) / sizeof(v[0]))];
}

/* A word offset for a region of @size bytes: mostly valid. */
static __u64 fz_offset(struct fz *fz, __u64 size)
{
	__u64 last = size >= 4 ? (size & ~3ULL) - 4 : 0;

	switch (fz_rand(fz, 20)) {
	case 0: case 1: case 2: case 3:
		return 0;
	case 4:
		return last;
	case 5:
		return size;
	case 6:
		return size ? size - 1 : 1;
	case 7:
		return 1 + fz_rand(fz, 3);
	case 8:
		return fz_interesting(fz);
	case 9: case 10: case 11:
		return fz_rand(fz, size / 4 + 1) * 4;
	default:
		return fz_rand(fz, 16) * 4;
	}
}

static __u64 fz_deadline(struct fz *fz)
{
	switch (fz_rand(fz, 20)) {
	case 0: case 1: case 2: case 3: case 4:
		return 0;
	case 5: case 6: case 7:
		return sx_now_ns();
	case 8:
		return sx_deadline_ms(10000);		/* far: the timer */
	case 9: case 10:
		return SHMIPC_DEADLINE_NONE;		/* the timer */
	case 11:
		return (__u64)INT64_MAX;		/* the timer */
	case 12:
		return (__u64)INT64_MAX + 1;		/* EINVAL */
	case 13:
		return SHMIPC_DEADLINE_NONE - 1;	/* EINVAL */
	default:
		return sx_now_ns() + fz_rand(fz, 4000000);
	}
}

/* Does a deadline need the timer to end soon? */
static bool fz_far(__u64 deadline)
{
	return deadline > sx_now_ns() + 5000000ULL;
}

static __u64 fz_peer_id(struct fz *fz)
{
	const struct fz_worker *w = &fz->sh->w[fz_rand(fz, FZ_WORKERS)];

	switch (fz_rand(fz, 10)) {
	case 0: case 1: case 2: case 3:
		return 0;
	case 4: case 5: case 6:
		return w->peer_ids[fz_rand(fz, FZ_IDS)];
	case 7:
		return fz->ndead ? fz->dead[fz_rand(fz, (__u64)fz->ndead)] : 1;
	case 8:
		return fz_rand(fz, 1000);
	default:
		return fz_interesting(fz);
	}
}

/* A value to expect in a word: the module's memory starts zero. */
static __u32 fz_expected(struct fz *fz)
{
	return fz_pct(fz, 80) ? (__u32)fz_rand(fz, 3) : (__u32)fz_interesting(fz);
}

/*
 * Put the @len bytes of @src where the kernel reads them: mostly in the
 * read-write page (now and then unaligned), else in the read-only page,
 * across the end into the guard page, or nowhere readable.
 */
static unsigned long fz_place(struct fz *fz, const void *src, size_t len)
{
	static const unsigned long bad[] = {
		0, 1, 0xffffffff81000000UL, 0xffff888000000000UL,
		0x0000800000000000UL, ~0UL,
	};
	unsigned char *ro = fz->arena, *rw = fz->arena + fz->page;
	unsigned char *guard = fz->arena + 3 * fz->page;
	size_t k;
	int r = (int)fz_rand(fz, 100);

	fz->room = 0;
	if (r < 82 || !len) {
		k = fz_pct(fz, 15) ? 1 + fz_rand(fz, 7) : 0;
		memcpy(rw + k, src, len);
		fz->call.ptr = P_OK;
		fz->room = len;
		return (unsigned long)(rw + k);
	}
	if (r < 89) {
		mprotect(ro, fz->page, PROT_READ | PROT_WRITE);
		memcpy(ro, src, len);
		mprotect(ro, fz->page, PROT_READ);
		fz->call.ptr = P_RO;
		return (unsigned long)ro;
	}
	fz->call.ptr = P_BAD;
	if (r < 94) {	/* the last @k bytes before the guard page */
		k = 1 + fz_rand(fz, len - 1 ? len - 1 : 1);
		if (k >= len)
			k = len - 1;
		if (!k)
			return (unsigned long)guard;
		memcpy(guard - k, src, k);
		fz->room = k;
		return (unsigned long)(guard - k);
	}
	if (r < 97)
		return (unsigned long)guard;
	return bad[fz_rand(fz, sizeof(bad) / sizeof(bad[0]))];
}

/* ------------------------------------------------------------------ */
/* region fds */

/* Forget region slot @i (closing its fd unless told not to). */
static void fz_drop_reg(struct fz *fz, int i, bool do_close)
{
	if (do_close)
		close(fz->reg[i].fd);
	fz->reg[i] = fz->reg[--fz->nreg];
}

static void fz_check_info(struct fz *fz, const struct shmipc_info *info,
			  const struct fz_reg *reg)
{
	unsigned int access = 0;

	if (info->flags & SHMIPC_INFO_READ)
		access |= A_READ;
	if (info->flags & SHMIPC_INFO_WRITE)
		access |= A_WRITE;
	if (info->reserved[0] || info->reserved[1] || info->reserved[2])
		fz_fail(fz, 0, "INFO: reserved not 0");
	if (info->flags & ~(SHMIPC_INFO_PERSISTENT | SHMIPC_INFO_UNLINKED |
			    SHMIPC_INFO_READ | SHMIPC_INFO_WRITE |
			    SHMIPC_INFO_DESTROYED | SHMIPC_INFO_TIED) ||
	    info->mode & ~0777U || !info->nr_files ||
	    strnlen(info->name, SHMIPC_NAME_MAX) == SHMIPC_NAME_MAX)
		fz_fail(fz, 0, "INFO: out of range");
	if (reg && (info->size != reg->size || access != reg->access))
		fz_fail(fz, 0, "INFO: not what this fd was");
}

/* Take a new region fd from CREATE or OPEN into a slot. */
static void fz_adopt(struct fz *fz, int fd)
{
	struct shmipc_info info;
	struct fz_reg reg;
	int fl = fcntl(fd, F_GETFD);
	int ret;

	if (fl < 0 || !(fl & FD_CLOEXEC))
		fz_fail(fz, fd, "a new region fd is close-on-exec");
	fz_begin(fz, K_INFO, fd, T_REGION, SHMIPC_IOC_INFO);
	fz_publish(fz);
	ret = sx_info(fd, &info);
	fz_count(fz, K_INFO, ret);
	if (ret)
		fz_fail(fz, ret, "INFO of a new region fd");
	reg.fd = fd;
	reg.size = info.size;
	reg.id = info.id;
	reg.access = (info.flags & SHMIPC_INFO_READ ? A_READ : 0) |
		     (info.flags & SHMIPC_INFO_WRITE ? A_WRITE : 0);
	fz_check_info(fz, &info, NULL);
	if (fz->nreg == FZ_REGS)
		fz_drop_reg(fz, (int)fz_rand(fz, FZ_REGS), true);
	fz->reg[fz->nreg++] = reg;
}

/* RLIMIT_NOFILE just below the next free fd: the next fd gives EMFILE. */
static bool fz_squeeze_fds(struct fz *fz, struct rlimit *saved)
{
	struct rlimit rl;
	int fd = fcntl(fz->foreign[0], F_DUPFD_CLOEXEC, 0);

	if (fd < 0 || getrlimit(RLIMIT_NOFILE, saved)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	rl = *saved;
	rl.rlim_cur = (rlim_t)fd;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* ------------------------------------------------------------------ */
/* this process' peers */

/* This process' peer id in region @region, if it knows it; else 0. */
static __u64 fz_mine_of(const struct fz *fz, __u64 region)
{
	int i;

	for (i = 0; i < fz->nmine; i++)
		if (fz->mine_reg[i] == region)
			return fz->mine_peer[i];
	return 0;
}

/* Remember this process' @peer in region @region; @peer 0: forget it. */
static void fz_mine_set(struct fz *fz, __u64 region, __u64 peer)
{
	int i;

	for (i = 0; i < fz->nmine && fz->mine_reg[i] != region; i++)
		;
	if (!peer) {
		if (i < fz->nmine) {
			fz->nmine--;
			fz->mine_reg[i] = fz->mine_reg[fz->nmine];
			fz->mine_peer[i] = fz->mine_peer[fz->nmine];
		}
		return;
	}
	if (i == fz->nmine) {	/* new; when full, forget one (no check) */
		if (fz->nmine < FZ_MINE)
			fz->nmine++;
		else
			i = (int)fz_rand(fz, FZ_MINE);
	}
	fz->mine_reg[i] = region;
	fz->mine_peer[i] = peer;
}

/* ------------------------------------------------------------------ */
/* ioctls */

static void fz_check_features(struct fz *fz, const struct shmipc_features *f)
{
	if (f->api_version != SHMIPC_API_VERSION ||
	    f->name_max != SHMIPC_NAME_MAX ||
	    f->waitv_max != SHMIPC_WAITV_MAX ||
	    f->event_queue_len != SHMIPC_EVENT_QUEUE_LEN ||
	    !(f->features & SHMIPC_FEAT_REGIONS) ||
	    f->reserved[0] || f->reserved[1] || f->reserved[2] ||
	    f->reserved[3])
		fz_fail(fz, 0, "GET_FEATURES: unexpected values");
}

/* The ioctls of the device: CREATE, OPEN, UNLINK, GET_FEATURES. */
static void fz_op_dev(struct fz *fz)
{
	union {
		struct shmipc_features f;
		struct shmipc_create c;
		struct shmipc_open o;
		struct shmipc_unlink u;
		unsigned char raw[FZ_ARGMAX];
	} a;
	struct rlimit saved;
	bool squeezed = false;
	struct fz_reg *reg;
	unsigned long cmd, p;
	int r = (int)fz_rand(fz, 100), ret;

	fz_begin(fz, K_CREATE, -1, T_DEV, 0);
	fz_pick_fd(fz, T_DEV, &reg);
	memset(&a, 0, sizeof(a));
	if (r < 42) {
		cmd = SHMIPC_IOC_CREATE;
		fz_name(fz, a.c.name);
		a.c.size = fz_size(fz);
		a.c.mode = fz_pct(fz, 80) ? 0600 : (fz_pct(fz, 80) ?
			   (__u32)fz_rand(fz, 01000) : (__u32)fz_rand(fz, ~0U));
		a.c.flags = (__u32)fz_rand(fz, 8);	/* up to TIED */
		a.c.fd = (int)fz_rand(fz, 100);		/* out: ignored */
		if (a.c.flags & SHMIPC_CREATE_TIED || fz_pct(fz, 5)) {
			struct fz_call save = fz->call;
			struct fz_reg *parent;

			a.c.tie_fd = fz_pick_fd(fz, T_REGION, &parent);
			fz->call = save;
		}
	} else if (r < 82) {
		static const __u32 flags[] = {
			0, 0, 0, SHMIPC_OPEN_RDONLY, SHMIPC_OPEN_STAT,
			SHMIPC_OPEN_RDONLY | SHMIPC_OPEN_STAT, 4,
		};

		cmd = SHMIPC_IOC_OPEN;
		fz_name(fz, a.o.name);
		a.o.flags = flags[fz_rand(fz, 7)];
		a.o.size = fz_interesting(fz);		/* out: ignored */
	} else if (r < 88) {
		cmd = SHMIPC_IOC_UNLINK;
		fz_name(fz, a.u.name);
		a.u.flags = fz_pct(fz, 30) ? SHMIPC_UNLINK_DESTROY : 0;
	} else {
		cmd = SHMIPC_IOC_GET_FEATURES;
		if (fz_pct(fz, 30))		/* out fields: ignored */
			fz_mutate(fz, &a, sizeof(a.f));
	}
	if (fz_pct(fz, 20))
		fz_mutate(fz, &a, _IOC_SIZE(cmd));
	fz_arg(fz, &a, _IOC_SIZE(cmd));
	p = fz_place(fz, &a, _IOC_SIZE(cmd));
	if (cmd != SHMIPC_IOC_UNLINK && cmd != SHMIPC_IOC_GET_FEATURES &&
	    fz_pct(fz, 4))
		squeezed = fz_squeeze_fds(fz, &saved);
	ret = fz_ioctl(fz, cmd, p, false);
	if (squeezed) {
		setrlimit(RLIMIT_NOFILE, &saved);
		if (ret >= 0 && fz->call.target == T_DEV)
			fz_fail(fz, ret, "a new fd past RLIMIT_NOFILE");
	}
	if (ret < 0 || fz->call.target != T_DEV || fz->call.ptr != P_OK)
		return;
	memcpy(&a, (void *)p, _IOC_SIZE(cmd));
	if (cmd == SHMIPC_IOC_GET_FEATURES) {
		fz_check_features(fz, &a.f);
	} else if (cmd == SHMIPC_IOC_CREATE) {
		if (a.c.result & ~SHMIPC_RESULT_CREATED ||
		    (a.c.flags & SHMIPC_CREATE_EXCL && !a.c.result))
			fz_fail(fz, ret, "CREATE: result");
		fz_adopt(fz, a.c.fd);
	} else if (cmd == SHMIPC_IOC_OPEN) {
		fz_adopt(fz, a.o.fd);
		if (fz->reg[fz->nreg - 1].size != a.o.size)
			fz_fail(fz, ret, "OPEN: size is not INFO's");
	}
}

/* WAITV entries in the second read-write page. */
static unsigned long fz_waitv_entries(struct fz *fz, __u32 count)
{
	struct shmipc_waitv_entry *e =
		(void *)(fz->arena + 2 * fz->page);
	__u32 i, n = count < SHMIPC_WAITV_MAX ? count : SHMIPC_WAITV_MAX;
	struct fz_reg *reg;

	for (i = 0; i < n; i++) {
		struct fz_call save = fz->call;

		memset(&e[i], 0, sizeof(e[i]));
		e[i].fd = fz_pick_fd(fz, T_REGION, &reg);
		fz->call = save;
		e[i].offset = fz_offset(fz, reg ? reg->size : 4096);
		e[i].expected = fz_expected(fz);
		e[i].peer_id = fz_pct(fz, 70) ? 0 : fz_peer_id(fz);
		if (fz_pct(fz, 3))
			fz_mutate(fz, &e[i], sizeof(e[i]));
	}
	return (unsigned long)e;
}

/* The ioctls of region fds, on a region fd mostly. */
static void fz_op_region(struct fz *fz)
{
	static const unsigned long cmds[] = {
		SHMIPC_IOC_INFO, SHMIPC_IOC_WAIT, SHMIPC_IOC_WAIT,
		SHMIPC_IOC_WAIT, SHMIPC_IOC_WAKE, SHMIPC_IOC_WAKE,
		SHMIPC_IOC_WAKE, SHMIPC_IOC_WAITV, SHMIPC_IOC_WAITV,
		SHMIPC_IOC_ATTACH, SHMIPC_IOC_ATTACH, SHMIPC_IOC_DETACH,
		SHMIPC_IOC_OWN, SHMIPC_IOC_OWN, SHMIPC_IOC_RECLAIM,
		SHMIPC_IOC_GET_FEATURES,
	};
	union {
		struct shmipc_info i;
		struct shmipc_wait w;
		struct shmipc_wake k;
		struct shmipc_waitv v;
		struct shmipc_attach t;
		struct shmipc_own o;
		struct shmipc_reclaim r;
		unsigned char raw[FZ_ARGMAX];
	} a;
	unsigned long cmd = cmds[fz_rand(fz, sizeof(cmds) / sizeof(cmds[0]))];
	__u64 size, deadline = 0;
	struct fz_reg *reg;
	unsigned long p;
	int ret, i;

	fz_begin(fz, K_INFO, -1, T_REGION, cmd);
	fz_pick_fd(fz, T_REGION, &reg);
	size = reg ? reg->size : 4096;
	memset(&a, 0, sizeof(a));
	switch (cmd) {
	case SHMIPC_IOC_INFO:
	case SHMIPC_IOC_ATTACH:
		if (fz_pct(fz, 30))		/* out fields: ignored */
			fz_mutate(fz, &a, _IOC_SIZE(cmd));
		break;
	case SHMIPC_IOC_WAIT:
		a.w.offset = fz_offset(fz, size);
		a.w.expected = fz_expected(fz);
		a.w.deadline_ns = fz_deadline(fz);
		a.w.peer_id = fz_peer_id(fz);
		break;
	case SHMIPC_IOC_WAKE:
		a.k.offset = fz_offset(fz, size);
		a.k.count = fz_pct(fz, 80) ? (fz_pct(fz, 50) ? 1 :
			    SHMIPC_WAKE_ALL) : (__u32)fz_interesting(fz);
		break;
	case SHMIPC_IOC_WAITV:
		a.v.count = fz_pct(fz, 85) ? 1 + (__u32)fz_rand(fz, 4) :
			    (__u32)fz_interesting(fz);
		a.v.deadline_ns = fz_deadline(fz);
		a.v.entries = fz_waitv_entries(fz, a.v.count);
		break;
	case SHMIPC_IOC_OWN:
		a.o.offset = fz_offset(fz, size);
		a.o.flags = fz_pct(fz, 30) ? SHMIPC_OWN_RELEASE : 0;
		break;
	case SHMIPC_IOC_RECLAIM:
		a.r.peer_id = fz_pct(fz, 60) && fz->ndead ?
			      fz->dead[fz_rand(fz, (__u64)fz->ndead)] :
			      fz_peer_id(fz);
		break;
	}
	if (cmd == SHMIPC_IOC_DETACH) {
		p = fz_pct(fz, 90) ? 0 : (unsigned long)fz_interesting(fz);
		fz->call.ptr = P_INT;
		fz->call.a = p;
		ret = fz_ioctl(fz, cmd, p, false);
		if (!ret && fz->call.target == T_REGION)
			fz_mine_set(fz, reg->id, 0);
		return;
	}
	if (fz_pct(fz, 20))
		fz_mutate(fz, &a, _IOC_SIZE(cmd));
	if (cmd == SHMIPC_IOC_WAIT)
		deadline = a.w.deadline_ns;
	else if (cmd == SHMIPC_IOC_WAITV)
		deadline = a.v.deadline_ns;
	fz_arg(fz, &a, _IOC_SIZE(cmd));
	p = fz_place(fz, &a, _IOC_SIZE(cmd));
	ret = fz_ioctl(fz, cmd, p, fz_far(deadline));
	if (ret < 0 || fz->call.target != T_REGION)
		return;
	if (cmd == SHMIPC_IOC_WAKE && a.k.count != SHMIPC_WAKE_ALL &&
	    (__u32)ret > a.k.count)
		fz_fail(fz, ret, "WAKE woke more than asked");
	if (cmd == SHMIPC_IOC_WAITV && (__u32)ret >= a.v.count)
		fz_fail(fz, ret, "WAITV: index out of range");
	if (fz->call.ptr != P_OK)
		return;
	memcpy(&a, (void *)p, _IOC_SIZE(cmd));
	if (cmd == SHMIPC_IOC_INFO) {
		fz_check_info(fz, &a.i, reg);
		/* Destroyed: mostly useless now, make room. */
		if (a.i.flags & SHMIPC_INFO_DESTROYED && fz_pct(fz, 50))
			fz_drop_reg(fz, (int)(reg - fz->reg), true);
	} else if (cmd == SHMIPC_IOC_ATTACH) {
		if (!a.t.peer_id)
			fz_fail(fz, ret, "ATTACH: peer id 0");
		if (fz_mine_of(fz, reg->id))
			fz_fail(fz, ret, "ATTACH: this process is a peer already");
		fz_mine_set(fz, reg->id, a.t.peer_id);
		i = (int)fz_rand(fz, FZ_IDS);
		__atomic_store_n(&fz->sh->w[fz->idx].peer_ids[i], a.t.peer_id,
				 __ATOMIC_RELAXED);	/* a hint, no order */
	}
}

/* ------------------------------------------------------------------ */
/* LIST and PEERS */

/* One LIST or PEERS call: what was asked, and where it may write. */
struct fz_list_call {
	bool peers;		/* PEERS, else LIST */
	size_t esz;		/* the kernel's entry struct */
	struct shmipc_list in;	/* as given */
	unsigned char *buf;	/* the array, when in lbuf's writable pages */
	__u64 room;		/* writable bytes at buf (0: none) */
	__u64 span;		/* bytes at buf filled with FZ_LFILL */
	bool valid;		/* flags, reserved and entry_size are right */
};

/* A stride: mostly the entry struct's, else larger, or wrong. */
static __u32 fz_list_entry_size(struct fz *fz, size_t esz)
{
	__u32 s = (__u32)esz;

	switch (fz_rand(fz, 20)) {
	case 0: case 1: case 2: case 3: case 4: case 5:
	case 6: case 7: case 8: case 9: case 10:
		return s;
	case 11: case 12:
		return s + 8 * (1 + (__u32)fz_rand(fz, 16));
	case 13:
		return SHMIPC_LIST_ENTRY_MAX;
	case 14:			/* below the struct */
		return (__u32)fz_rand(fz, s / 8) * 8;
	case 15:			/* not a multiple of 8 */
		return s + 1 + (__u32)fz_rand(fz, 7);
	case 16:
		return SHMIPC_LIST_ENTRY_MAX + (fz_pct(fz, 50) ? 8 : 1);
	case 17:
		return (__u32)fz_rand(fz, s);
	default:
		return (__u32)fz_interesting(fz);
	}
}

/*
 * The entry array: mostly at the start of lbuf's writable pages (now and
 * then not 8-aligned), else with room for a few entries and part of one
 * before the guard page, or read-only, NULL, unmapped, in the kernel.
 */
static void fz_list_array(struct fz *fz, struct fz_list_call *lc)
{
	static const unsigned long unmapped[] = {
		0x1000,			/* below mmap_min_addr: never mapped */
		1UL << 47,		/* past the user address space */
	};
	static const unsigned long kernel[] = {
		0xffffffff81000000UL, 0xffff888000000000UL, ~0UL - 4095,
	};
	unsigned char *rw = fz->lbuf + fz->page;
	unsigned char *guard = rw + FZ_LPAGES * fz->page;
	__u64 es = lc->in.entry_size, room;
	int r = (int)fz_rand(fz, 100);

	lc->buf = NULL;
	lc->room = 0;
	if (r < 70) {
		lc->buf = rw;
		if (fz_pct(fz, 20))
			lc->buf += fz_rand(fz, 64) * 8;
		else if (fz_pct(fz, 10))
			lc->buf += 1 + fz_rand(fz, 7);
	} else if (r < 82) {
		room = fz_rand(fz, 3) * es +
		       (fz_pct(fz, 50) ? fz_rand(fz, es) : 0);
		if (room > FZ_LPAGES * fz->page)
			room = FZ_LPAGES * fz->page;
		lc->buf = guard - room;	/* room 0: the guard page itself */
	} else if (r < 86) {
		lc->in.entries = (__u64)(uintptr_t)fz->lbuf;
		return;
	} else if (r < 90) {
		lc->in.entries = 0;
		return;
	} else if (r < 95) {
		lc->in.entries = unmapped[fz_rand(fz, 2)];
		return;
	} else {
		lc->in.entries = kernel[fz_rand(fz, 3)];
		return;
	}
	lc->in.entries = (__u64)(uintptr_t)lc->buf;
	lc->room = (__u64)(guard - lc->buf);
}

/* Room for no entry, one, a few, exactly as many as fit, or far more. */
static __u32 fz_list_count(struct fz *fz, const struct fz_list_call *lc)
{
	static const __u32 edges[] = { 31, 32, 33, 63, 64, 65 };
	static const __u32 huge[] = {
		0xffffffff, 0x80000000, 0x7fffffff, 0x10000, 1000,
	};
	__u64 fit = lc->in.entry_size ? lc->room / lc->in.entry_size : 0;

	if (fit > 0xffffffff)
		fit = 0xffffffff;
	switch (fz_rand(fz, 20)) {
	case 0: case 1:
		return 0;
	case 2: case 3: case 4:
		return 1;
	case 5: case 6: case 7: case 8: case 9: case 10:
		return 2 + (__u32)fz_rand(fz, 40);
	case 11: case 12: case 13:
		return (__u32)fit;
	case 14:
		return (__u32)fit + 1 + (__u32)fz_rand(fz, 8);
	case 15: case 16:
		return edges[fz_rand(fz, 6)];
	case 17: case 18:
		return huge[fz_rand(fz, 5)];
	default:
		return (__u32)fz_interesting(fz);
	}
}

/* From the start, on from the last call, at or past the end, anywhere. */
static __u64 fz_list_cursor(struct fz *fz, bool peers)
{
	switch (fz_rand(fz, 10)) {
	case 0: case 1: case 2: case 3: case 4:
		return 0;
	case 5: case 6:
		return fz->lnext[peers];
	case 7:
		return fz->lmax[peers] + fz_rand(fz, 2);
	case 8:
		return fz_rand(fz, fz->lmax[peers] + 2);
	default:
		return fz_interesting(fz);
	}
}

static bool fz_name_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static void fz_check_region_entry(struct fz *fz,
				  const struct shmipc_region_entry *e)
{
	size_t len = strnlen(e->name, SHMIPC_NAME_MAX), i;
	unsigned int granted = e->mode;

	if (!len || len == SHMIPC_NAME_MAX)
		fz_fail(fz, 0, "LIST: a name empty or not NUL-terminated");
	for (i = 0; i < SHMIPC_NAME_MAX; i++)
		if (i < len ? !fz_name_byte(e->name[i]) : e->name[i] != 0)
			fz_fail(fz, 0, "LIST: a name with a bad byte, or bytes after its NUL");
	if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
		fz_fail(fz, 0, "LIST: a name that is . or ..");
	if (!e->id || !e->size || e->mode & ~0777U ||
	    e->flags & ~(SHMIPC_INFO_PERSISTENT | SHMIPC_INFO_UNLINKED |
			 SHMIPC_INFO_DESTROYED | SHMIPC_INFO_TIED) ||
	    e->reserved[0] || e->reserved[1])
		fz_fail(fz, 0, "LIST: an entry field out of range");
	/* root has CAP_IPC_OWNER; FZ_UNPRIV has no supplementary group */
	if (fz->unpriv) {
		if (e->uid == FZ_UNPRIV)
			granted >>= 6;
		else if (e->gid == FZ_UNPRIV)
			granted >>= 3;
		if (!(granted & 4))
			fz_fail(fz, 0, "LIST: a region the caller may not read");
	}
}

/* @mine: this process' peer id in the region, if known (else 0). */
static void fz_check_peer_entry(struct fz *fz,
				const struct shmipc_peer_entry *e, __u64 mine)
{
	if (!e->peer_id || e->pid <= 0 || e->nr_owned > SHMIPC_OWNED_MAX ||
	    e->reserved ||
	    (e->state != SHMIPC_PEER_STATE_ALIVE &&
	     e->state != SHMIPC_PEER_STATE_DEAD))
		fz_fail(fz, 0, "PEERS: an entry field out of range");
	if (e->state == SHMIPC_PEER_STATE_ALIVE ? e->status != 0 :
	    !e->nr_owned)
		fz_fail(fz, 0, "PEERS: a live peer with a status, or a dead one owning no word");
	if (mine && e->peer_id == mine &&
	    (e->state != SHMIPC_PEER_STATE_ALIVE || e->pid != getpid()))
		fz_fail(fz, 0, "PEERS: this process' own peer is not it, alive");
}

/* Bytes [@from, span) of the array must still be FZ_LFILL. */
static void fz_list_untouched(struct fz *fz, const struct fz_list_call *lc,
			      __u64 from, long ret)
{
	static unsigned char fill[4096];
	__u64 n;

	if (!fill[0])
		memset(fill, FZ_LFILL, sizeof(fill));
	for (; from < lc->span; from += n) {
		n = lc->span - from < sizeof(fill) ? lc->span - from :
						     sizeof(fill);
		if (memcmp(lc->buf + from, fill, n))
			fz_fail(fz, ret, "LIST/PEERS wrote past the entries it returned");
	}
}

/* Is @id among the @n entries of @lc at its buf? */
static bool fz_list_has(const struct fz_list_call *lc, __u32 n, __u64 id)
{
	size_t off = lc->peers ? offsetof(struct shmipc_peer_entry, peer_id) :
				 offsetof(struct shmipc_region_entry, id);
	__u64 v;
	__u32 i;

	for (i = 0; i < n; i++) {
		memcpy(&v, lc->buf + (size_t)i * lc->in.entry_size + off,
		       sizeof(v));
		if (v == id)
			return true;
	}
	return false;
}

/* A successful call: its struct @o and the entries it wrote. */
static void fz_list_check(struct fz *fz, const struct fz_list_call *lc,
			  const struct shmipc_list *o, const struct fz_reg *reg)
{
	const struct shmipc_list *in = &lc->in;
	__u64 es = in->entry_size, prev = in->cursor;
	__u64 mine = lc->peers && reg ? fz_mine_of(fz, reg->id) : 0;
	union {
		struct shmipc_region_entry r;
		struct shmipc_peer_entry p;
	} e;
	const unsigned char *ent;
	__u32 i;
	int j;

	if (o->count > in->count)
		fz_fail(fz, 0, "LIST/PEERS: more entries than asked");
	if ((__u64)o->count * es > lc->room)
		fz_fail(fz, 0, "LIST/PEERS: entries where the array is not writable");
	if (o->entries != in->entries || o->entry_size != in->entry_size ||
	    o->cursor != in->cursor || o->flags || o->reserved[0] ||
	    o->reserved[1])
		fz_fail(fz, 0, "LIST/PEERS: changed a field that is not out");
	if (in->count ? o->next && o->count < in->count :
	    o->next && o->next != in->cursor)
		fz_fail(fz, 0, "LIST/PEERS: .next though the array was not filled");
	for (i = 0; i < o->count; i++) {
		ent = lc->buf + (size_t)i * es;
		memcpy(&e, ent, lc->esz);
		if ((lc->peers ? e.p.peer_id : e.r.id) <= prev)
			fz_fail(fz, 0, "LIST/PEERS: ids not increasing past the cursor");
		prev = lc->peers ? e.p.peer_id : e.r.id;
		for (j = (int)lc->esz; (__u64)j < es; j++)
			if (ent[j])
				fz_fail(fz, 0, "LIST/PEERS: bytes past the entry struct not zeroed");
		if (lc->peers)
			fz_check_peer_entry(fz, &e.p, mine);
		else
			fz_check_region_entry(fz, &e.r);
	}
	if (in->count && o->next && o->next != prev)
		fz_fail(fz, 0, "LIST/PEERS: .next is not the last id written");
	fz->lnext[lc->peers] = o->next;
	if (prev > fz->lmax[lc->peers])
		fz->lmax[lc->peers] = prev;
	/* A whole walk in one call lists what existed all along. */
	if (in->cursor || !in->count || o->next || fz->racing)
		return;
	if (lc->peers) {
		if (mine && !fz_list_has(lc, o->count, mine))
			fz_fail(fz, 0, "PEERS: a whole walk misses this process' peer");
		return;
	}
	for (j = 0; j < fz->nreg && !fz->unpriv; j++)
		if (!fz_list_has(lc, o->count, fz->reg[j].id))
			fz_fail(fz, 0, "LIST: a whole walk misses a region this process holds");
}

/*
 * LIST on the device or PEERS on a region fd (mostly), with a valid or
 * mutated struct shmipc_list and an entry array anywhere.  Beside the
 * errno table: bad flags, reserved or entry_size give exactly EINVAL, a
 * writable struct and array never EFAULT, a failure writes nothing (not
 * even the struct), and a success is checked entry by entry.
 */
static void fz_op_list(struct fz *fz, bool peers)
{
	unsigned long cmd = peers ? SHMIPC_IOC_PEERS : SHMIPC_IOC_LIST;
	int want = peers ? T_REGION : T_DEV;
	struct fz_list_call lc = { .peers = peers };
	struct shmipc_list out;
	struct fz_reg *reg;
	__u64 entries, need;
	unsigned long p;
	int ret, e;

	lc.esz = peers ? sizeof(struct shmipc_peer_entry) :
			 sizeof(struct shmipc_region_entry);
	fz_begin(fz, peers ? K_PEERS : K_LIST, -1, want, cmd);
	fz_pick_fd(fz, want, &reg);
	lc.in.entry_size = fz_list_entry_size(fz, lc.esz);
	fz_list_array(fz, &lc);
	lc.in.count = fz_list_count(fz, &lc);
	lc.in.cursor = fz_list_cursor(fz, peers);
	if (fz_pct(fz, 30)) {			/* out fields: ignored */
		lc.in.next = fz_interesting(fz);
		lc.in.total = (__u32)fz_interesting(fz);
	}
	if (fz_pct(fz, 4))
		lc.in.flags = 1U << fz_rand(fz, 32);
	if (fz_pct(fz, 4))
		lc.in.reserved[fz_rand(fz, 2)] = fz_interesting(fz) | 1;
	if (fz_pct(fz, 10)) {	/* not the pointer: fz_list_array() chose it */
		entries = lc.in.entries;
		fz_mutate(fz, &lc.in, sizeof(lc.in));
		lc.in.entries = entries;
	}
	lc.valid = !lc.in.flags && !lc.in.reserved[0] && !lc.in.reserved[1] &&
		   lc.in.entry_size >= lc.esz &&
		   lc.in.entry_size <= SHMIPC_LIST_ENTRY_MAX &&
		   !(lc.in.entry_size % 8);
	need = (__u64)lc.in.count * lc.in.entry_size;
	lc.span = need + FZ_LSLACK < lc.room ? need + FZ_LSLACK : lc.room;
	if (lc.span)
		memset(lc.buf, FZ_LFILL, lc.span);
	fz->call.a = lc.room;
	fz->call.b = need;
	fz_arg(fz, &lc.in, sizeof(lc.in));
	p = fz_place(fz, &lc.in, sizeof(lc.in));
	ret = fz_ioctl(fz, cmd, p, false);
	e = ret < 0 ? -ret : 0;

	/* Not ours (another fd, closed meanwhile) or unreadable: no write. */
	if (fz->call.target != want || fz->call.ptr == P_BAD ||
	    (fz->racing && (e == EBADF || e == ENOTTY))) {
		fz_list_untouched(fz, &lc, 0, ret);
		return;
	}
	if (!lc.valid && e != EINVAL)
		fz_fail(fz, ret, "LIST/PEERS: bad flags, reserved or entry_size, not EINVAL");
	if (lc.valid && e == EINVAL)
		fz_fail(fz, ret, "LIST/PEERS: EINVAL for a valid struct");
	if (e == EFAULT && fz->call.ptr == P_OK && lc.room >= need)
		fz_fail(fz, ret, "LIST/PEERS: EFAULT though struct and array are writable");
	if (ret < 0) {
		fz_list_untouched(fz, &lc, e == EFAULT ? need : 0, ret);
		if (fz->call.ptr == P_OK && memcmp((void *)p, &lc.in, sizeof(lc.in)))
			fz_fail(fz, ret, "LIST/PEERS: a failed call changed its struct");
		return;
	}
	memcpy(&out, (void *)p, sizeof(out));
	fz_list_check(fz, &lc, &out, reg);
	fz_list_untouched(fz, &lc, (__u64)out.count * lc.in.entry_size, ret);
}

/* Ioctl numbers the uapi does not define, on any fd. */
static void fz_op_unknown(struct fz *fz)
{
	static const unsigned int magics[] = {
		SHMIPC_IOC_MAGIC, SHMIPC_IOC_MAGIC, SHMIPC_IOC_MAGIC,
		SHMIPC_IOC_MAGIC - 1, SHMIPC_IOC_MAGIC + 1,
	};
	const struct fz_ioc *near = &fz_iocs[fz_rand(fz, FZ_NIOC)];
	unsigned char raw[FZ_ARGMAX];
	unsigned long cmd, p;
	unsigned int dir, nr, size;
	struct fz_reg *reg;

	do {
		dir = fz_pct(fz, 50) ? _IOC_DIR(near->cmd) :
		      (unsigned int)fz_rand(fz, 4);
		nr = fz_pct(fz, 50) ? _IOC_NR(near->cmd) - 1 +
				      (unsigned int)fz_rand(fz, 3) :
		     (unsigned int)fz_rand(fz, 256);
		size = fz_pct(fz, 50) ? _IOC_SIZE(near->cmd) :
		       (unsigned int)fz_rand(fz, 1 << _IOC_SIZEBITS);
		cmd = _IOC(dir, magics[fz_rand(fz, 5)], nr & 0xff, size);
	} while (fz_ioc_of(cmd));
	fz_begin(fz, K_UNKNOWN, -1, T_REGION, cmd);
	fz_pick_fd(fz, fz_pct(fz, 50) ? T_REGION : T_DEV, &reg);
	memset(raw, 0, sizeof(raw));
	if (fz_pct(fz, 50))
		fz_mutate(fz, raw, sizeof(raw));
	p = fz_place(fz, raw, sizeof(raw));
	fz->call.ptr = P_OK;	/* never read: ENOTTY whatever it is */
	fz_ioctl(fz, cmd, p, false);
}

/* Our ioctls, right or wrong, on other file types and closed fds. */
static void fz_op_foreign(struct fz *fz)
{
	const struct fz_ioc *ioc = &fz_iocs[fz_rand(fz, FZ_NIOC)];
	unsigned char raw[FZ_ARGMAX];
	unsigned long p;

	fz_begin(fz, ioc->kind, -1, T_FOREIGN, ioc->cmd);
	if (fz_pct(fz, 50)) {
		fz->call.target = T_FOREIGN;
		fz->call.fd = fz->foreign[fz_rand(fz, (__u64)fz->nforeign)];
	} else {
		fz->call.target = T_CLOSED;
		fz->call.fd = fz_closed_fd(fz);
	}
	memset(raw, 0, sizeof(raw));
	p = fz_place(fz, raw, sizeof(raw));
	fz->call.ptr = P_OK;
	fz_ioctl(fz, ioc->cmd, p, false);
}

/* ------------------------------------------------------------------ */
/* events: read() and poll() */

static void fz_check_events(struct fz *fz, const struct shmipc_event *ev,
			    int n)
{
	int i;

	for (i = 0; i < n; i++) {
		const struct shmipc_event *e = &ev[i];

		if (e->type < SHMIPC_EVENT_JOIN ||
		    e->type > SHMIPC_EVENT_OVERFLOW ||
		    e->flags & ~SHMIPC_EVENT_REPLAY)
			fz_fail(fz, i, "read: a malformed event");
		if (e->type == SHMIPC_EVENT_OVERFLOW ?
		    (e->seq || e->peer_id || !e->status) :
		    (!e->seq || !e->peer_id))
			fz_fail(fz, i, "read: fields of the event");
		if (e->type == SHMIPC_EVENT_DEATH)
			fz->dead[fz->ndead < FZ_DEAD ? fz->ndead++ :
				 (int)fz_rand(fz, FZ_DEAD)] = e->peer_id;
	}
}

static void fz_op_read(struct fz *fz)
{
	static const size_t counts[] = { 0, 1, 31, 32, 33, 64, 96, 256, 4096 };
	struct shmipc_event ev[4096 / sizeof(struct shmipc_event)];
	size_t count = counts[fz_rand(fz, sizeof(counts) / sizeof(counts[0]))];
	const char *why = NULL;
	struct fz_reg *reg;
	unsigned long p;
	ssize_t n;
	long ret;
	int e;

	fz_begin(fz, K_READ, -1, T_REGION, count);
	fz_pick_fd(fz, T_REGION, &reg);
	if (fz->call.target == T_FOREIGN) {	/* not ours to judge */
		fz->call.target = T_CLOSED;
		fz->call.fd = fz_closed_fd(fz);
	}
	memset(ev, 0, sizeof(ev));
	p = fz_place(fz, ev, count);
	fz_publish(fz);
	fz_timer(true);
	n = read(fz->call.fd, (void *)p, count);
	ret = n < 0 ? -errno : n;
	fz_timer(false);
	fz_count(fz, K_READ, ret);
	e = ret < 0 ? (int)-ret : 0;
	if (fz->racing && (e == EBADF || e == EINVAL || !ret))
		return;		/* closed, or /dev/null now */
	switch (fz->call.target) {
	case T_CLOSED:
		why = e == EBADF ? NULL : "read: a closed fd gives EBADF";
		break;
	case T_DEV:
		why = e == EINVAL ? NULL : "read: the device has none";
		break;
	default:
		if (e == EFAULT && fz->call.ptr != P_OK)
			why = NULL;	/* access_ok() may come first */
		else if (count < sizeof(struct shmipc_event))
			why = e == EINVAL ? NULL : "read: a short buffer gives EINVAL";
		else if (ret > 0 && (ret % (long)sizeof(struct shmipc_event) ||
				     (size_t)ret > count))
			why = "read: not whole records";
		else if (ret > 0 && (size_t)ret > fz->room)
			why = "read: wrote where it cannot";
		else if (ret < 0 && e != EAGAIN && e != EINTR)
			why = "read: errno";
		break;
	}
	if (why)
		fz_fail(fz, ret, why);
	if (ret > 0) {
		memcpy(ev, (void *)p, (size_t)ret);
		fz_check_events(fz, ev, (int)(ret / (long)sizeof(ev[0])));
	}
}

static void fz_op_poll(struct fz *fz)
{
	struct pollfd pfd[4];
	int target[4], n = 1 + (int)fz_rand(fz, 4), i, ret;
	struct fz_reg *reg;

	fz_begin(fz, K_POLL, -1, T_REGION, (unsigned long)n);
	for (i = 0; i < n; i++) {
		pfd[i].fd = fz_pick_fd(fz, T_REGION, &reg);
		target[i] = fz->call.target;
		pfd[i].events = (short)(fz_pct(fz, 70) ? POLLIN :
					fz_rand(fz, 0x10000));
		pfd[i].revents = 0;
	}
	fz->call.a = fz_pct(fz, 80) ? 0 : 1 + fz_rand(fz, 2);
	fz_arg(fz, pfd, sizeof(pfd[0]) * (size_t)n);
	fz_publish(fz);
	ret = poll(pfd, (nfds_t)n, (int)fz->call.a);
	if (ret < 0)
		ret = -errno;
	fz_count(fz, K_POLL, ret);
	if (ret < 0 || ret > n)
		fz_fail(fz, ret, "poll: result");
	for (i = 0; i < n && !fz->racing; i++) {
		if (target[i] == T_CLOSED && pfd[i].fd >= 0 &&
		    pfd[i].revents != POLLNVAL)
			fz_fail(fz, pfd[i].revents, "poll: closed fd not POLLNVAL");
		if (target[i] == T_REGION &&
		    pfd[i].revents & ~(POLLIN | POLLRDNORM | POLLHUP))
			fz_fail(fz, pfd[i].revents, "poll: region revents");
	}
}

/* ------------------------------------------------------------------ */
/* mappings */

static void fz_forget_map(struct fz *fz, int i)
{
	fz->map[i] = fz->map[--fz->nmap];
}

static void fz_op_mmap(struct fz *fz)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
		PROT_READ, PROT_WRITE, PROT_NONE, PROT_READ | PROT_EXEC,
	};
	size_t page = fz->page, len;
	__u64 off = 0, size;
	struct fz_reg *reg;
	int prot, flags = MAP_SHARED, e;
	const char *why = NULL;
	void *addr;

	fz_begin(fz, K_MMAP, -1, T_REGION, 0);
	fz_pick_fd(fz, T_REGION, &reg);
	size = reg ? reg->size : 4096;
	switch (fz_rand(fz, 10)) {
	case 0:
		len = 0;
		break;
	case 1:
		len = (size_t)size + page;
		break;
	case 2:
		len = 1ULL << 40;
		break;
	case 3:
		len = 2 * page;
		break;
	default:
		len = size < 16 * page ? (size_t)size : page;
		break;
	}
	if (fz_pct(fz, 15)) {
		static const __u64 offs[] = { 4096, 1, 1ULL << 40, ~4095ULL };

		off = offs[fz_rand(fz, 4)];
	}
	prot = fz_pct(fz, 90) ? prots[fz_rand(fz, 7)] : (int)fz_rand(fz, 16);
	if (fz_pct(fz, 10))
		flags = MAP_PRIVATE;
	else if (fz_pct(fz, 5))	/* unknown to MAP_SHARED_VALIDATE */
		flags = MAP_SHARED_VALIDATE | (fz_pct(fz, 50) ? MAP_SYNC :
					       0x20000000);
	else if (fz_pct(fz, 5))
		flags |= MAP_POPULATE;
	fz->call.op = (unsigned long)prot | (unsigned long)flags << 8;
	fz->call.a = len;
	fz->call.b = off;
	if (fz->nmap == FZ_MAPS) {
		munmap(fz->map[0].addr, fz->map[0].len);
		fz_forget_map(fz, 0);
	}
	fz_publish(fz);
	addr = mmap(NULL, len, prot, flags, fz->call.fd, (off_t)off);
	e = addr == MAP_FAILED ? errno : 0;
	fz_count(fz, K_MMAP, -e);
	if (!e && fz->call.target != T_REGION) {
		munmap(addr, len);	/* a memfd, say: not ours */
		return;
	}
	if (fz->racing && e == EBADF)
		return;
	if (fz->call.target == T_CLOSED)
		why = e == EBADF || e == EINVAL ? NULL : "mmap: a closed fd";
	else if (fz->call.target == T_REGION && !e &&
		 (flags & MAP_TYPE) == MAP_PRIVATE)
		why = "mmap: MAP_PRIVATE of a region";
	else if (fz->call.target == T_REGION && e && e != EACCES &&
		 e != EIDRM && e != EINVAL && e != ENXIO && e != ENOMEM &&
		 e != EOVERFLOW && e != EOPNOTSUPP)
		why = "mmap: errno";
	if (why)
		fz_fail(fz, -e, why);
	if (e || fz->call.target != T_REGION)
		return;
	fz->map[fz->nmap].addr = addr;
	fz->map[fz->nmap].len = len;
	fz->map[fz->nmap].prot = prot;
	fz->map[fz->nmap].maywrite = reg->access & A_WRITE;
	fz->nmap++;
}

/* munmap, mprotect, mremap of our region mappings. */
static void fz_op_mm(struct fz *fz)
{
	struct fz_map *m;
	size_t page = fz->page, keep;
	int i, prot, ret;
	void *addr;

	if (!fz->nmap)
		return;
	i = (int)fz_rand(fz, (__u64)fz->nmap);
	m = &fz->map[i];
	switch (fz_rand(fz, 4)) {
	case 0:
		fz_begin(fz, K_MUNMAP, -1, T_REGION, 0);
		fz_publish(fz);
		ret = munmap(m->addr, m->len) ? -errno : 0;
		fz_count(fz, K_MUNMAP, ret);
		if (ret)
			fz_fail(fz, ret, "munmap of a region mapping");
		fz_forget_map(fz, i);
		break;
	case 1:
		prot = (int)fz_rand(fz, 8);
		fz_begin(fz, K_MPROTECT, -1, T_REGION, (unsigned long)prot);
		fz_publish(fz);
		ret = mprotect(m->addr, m->len, prot) ? -errno : 0;
		fz_count(fz, K_MPROTECT, ret);
		if (!ret && prot & PROT_WRITE && !m->maywrite)
			fz_fail(fz, ret, "mprotect: write on a read-only fd");
		if (ret && ret != -EACCES)
			fz_fail(fz, ret, "mprotect: errno");
		if (!ret)
			m->prot = prot;
		break;
	case 2:	/* shrink: always fine */
		keep = (m->len + page - 1) / page / 2 * page;
		if (!keep)
			return;
		fz_begin(fz, K_MREMAP, -1, T_REGION, keep);
		fz_publish(fz);
		addr = mremap(m->addr, m->len, keep, 0);
		ret = addr == MAP_FAILED ? -errno : 0;
		fz_count(fz, K_MREMAP, ret);
		if (ret || addr != m->addr)
			fz_fail(fz, ret, "mremap: shrinking");
		m->len = keep;
		break;
	default:	/* grow: never past the region (VM_DONTEXPAND) */
		fz_begin(fz, K_MREMAP, -1, T_REGION, m->len + page);
		fz_publish(fz);
		addr = mremap(m->addr, m->len, m->len + page,
			      fz_pct(fz, 50) ? MREMAP_MAYMOVE : 0);
		ret = addr == MAP_FAILED ? -errno : 0;
		fz_count(fz, K_MREMAP, ret);
		if (!ret)
			fz_fail(fz, ret, "mremap grew a region mapping");
		break;
	}
}

/* Store into a writable mapping: the words WAIT compares change. */
static void fz_op_store(struct fz *fz)
{
	struct fz_map *m;
	size_t words;
	__u32 *w;
	int i;

	if (!fz->nmap)
		return;
	i = (int)fz_rand(fz, (__u64)fz->nmap);
	m = &fz->map[i];
	if (!(m->prot & PROT_WRITE) || !(m->prot & PROT_READ) || m->len < 4)
		return;
	words = m->len / 4 < 16 ? m->len / 4 : 16;
	w = (__u32 *)m->addr + fz_rand(fz, words);
	/* Relaxed: any value is fine, only tearing is not. */
	__atomic_store_n(w, fz_pct(fz, 90) ? (__u32)fz_rand(fz, 3) :
			 SHMIPC_OWNER_DIED, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* io_uring */

/* user_data of a command: its fd, call number, IOSQE_ASYNC, target. */
static __u64 fz_uring_ud(struct fz *fz, bool async)
{
	return (__u64)(__u32)fz->call.fd << 32 | (fz->seq & 0x1fffffff) << 3 |
	       (__u64)async << 2 | (__u64)fz->call.target;
}

static void fz_check_cqe(struct fz *fz, __u64 ud, int res)
{
	static const int errs[] = {
		EAGAIN, ETIMEDOUT, EOWNERDEAD, ESRCH, EIDRM, ECANCELED,
		EINTR, EINVAL, EFAULT, EBADF, ENOTTY, ENOMEM, 0,
	};
	int target = (int)(ud & 3);

	fz_begin(fz, K_CQE, (int)(__s32)(ud >> 32), target,
		 ud >> 3 & 0x1fffffff);
	fz->call.a = (__u64)res;
	fz_count(fz, K_CQE, res);
	/*
	 * An IOSQE_ASYNC command looks its fd up when io-wq issues it:
	 * by then the number may be another file.  Anything any of ours
	 * can give is fine.
	 */
	if (ud & 4 && (res == -EOPNOTSUPP || fz_in(errs, 13, -res)))
		return;
	if (res == 0 && target == T_REGION)
		return;
	if (target == T_CLOSED && res != -EBADF)
		fz_fail(fz, res, "uring: a closed fd gives EBADF");
	if (target == T_DEV && res != -EOPNOTSUPP)
		fz_fail(fz, res, "uring: the device has no uring_cmd");
	/* /dev/null's uring_cmd does nothing, the others have none. */
	if (target == T_FOREIGN && res != -EOPNOTSUPP && res)
		fz_fail(fz, res, "uring: another file type");
	if (target == T_REGION && (res > 0 || !fz_in(errs, 13, -res)))
		fz_fail(fz, res, "uring: result");
}

static void fz_uring_reap(struct fz *fz)
{
	struct io_uring_cqe *cqe;

	while (fz->inflight && io_uring_peek_cqe(&fz->ring, &cqe) == 0) {
		__u64 ud = cqe->user_data;
		int res = cqe->res;

		io_uring_cqe_seen(&fz->ring, cqe);
		fz->inflight--;
		fz_check_cqe(fz, ud, res);
	}
}

static void fz_op_uring(struct fz *fz)
{
	struct shmipc_wait *wt = (void *)(fz->arena + 2 * fz->page + 2560);
	struct io_uring_sqe *sqe;
	int n = 1 + (int)fz_rand(fz, 3), i, ret;
	struct fz_reg *reg;

	if (!fz->ring_ok) {
		if (io_uring_queue_init(32, &fz->ring, 0))
			return;
		fz->ring_ok = true;
	}
	fz_uring_reap(fz);
	if (fz->inflight + n > FZ_INFLIGHT)
		return;
	for (i = 0; i < n; i++) {
		struct shmipc_uring_wait *uw;
		bool async;
		__u64 size;

		sqe = io_uring_get_sqe(&fz->ring);
		if (!sqe)
			break;
		fz_begin(fz, K_URING, -1, T_REGION, 0);
		fz_pick_fd(fz, T_REGION, &reg);
		size = reg ? reg->size : 4096;
		sx_wait_arg(&wt[i], fz_offset(fz, size), fz_expected(fz),
			    fz_pct(fz, 50) ? SHMIPC_DEADLINE_NONE :
			    fz_deadline(fz), fz_peer_id(fz));
		if (fz_pct(fz, 15))
			fz_mutate(fz, &wt[i], sizeof(wt[i]));
		async = fz_pct(fz, 15);
		sx_uring_prep_wait(sqe, fz->call.fd, &wt[i],
				   fz_uring_ud(fz, async));
		uw = (struct shmipc_uring_wait *)sqe->cmd;
		if (fz_pct(fz, 5))
			sqe->cmd_op = (__u32)fz_iocs[fz_rand(fz, FZ_NIOC)].cmd;
		if (fz_pct(fz, 5))
			uw->wait = fz_interesting(fz);
		if (fz_pct(fz, 3))
			uw->reserved = fz_interesting(fz);
		if (async)
			sqe->flags |= IOSQE_ASYNC;
		fz_arg(fz, sqe, sizeof(*sqe));
	}
	fz_publish(fz);
	ret = io_uring_submit(&fz->ring);
	fz_count(fz, K_URING, ret);
	if (ret < 0)
		fz_fail(fz, ret, "io_uring_submit");
	fz->inflight += ret;
	fz_uring_reap(fz);
}

/* ------------------------------------------------------------------ */
/* fds, processes */

static void fz_op_fd(struct fz *fz)
{
	int i, fd, fl;

	fz_begin(fz, K_FDOP, -1, T_REGION, 0);
	fz_publish(fz);
	fz_count(fz, K_FDOP, 0);
	i = fz->nreg ? (int)fz_rand(fz, (__u64)fz->nreg) : -1;
	switch (fz_rand(fz, 6)) {
	case 0:		/* close (parked io_uring waits get ECANCELED) */
		if (i >= 0)
			fz_drop_reg(fz, i, true);
		break;
	case 2:		/* dup: the same open file */
		if (i < 0 || fz->nreg == FZ_REGS)
			break;
		fd = dup(fz->reg[i].fd);
		if (fd >= 0) {
			fz->reg[fz->nreg] = fz->reg[i];
			fz->reg[fz->nreg++].fd = fd;
		}
		break;
	case 3:		/* O_NONBLOCK on or off, for read() */
		if (i < 0)
			break;
		fl = fcntl(fz->reg[i].fd, F_GETFL);
		if (fl >= 0)
			fcntl(fz->reg[i].fd, F_SETFL, fl ^ O_NONBLOCK);
		break;
	case 4:		/* the device, closed and reopened (read-only?) */
		if (fz->dev >= 0)
			close(fz->dev);
		fz->dev = open(SX_DEV, (fz_pct(fz, 50) ? O_RDONLY : O_RDWR) |
			       O_CLOEXEC);
		break;
	default:	/* open a region afresh */
		fz_op_dev(fz);
		break;
	}
}

struct fz_race {
	int what;	/* 0 close, 1 dup2 /dev/null over, 2 munmap */
	int fd, null;
	void *addr;
	size_t len;
	unsigned int delay_us;
};

static void *fz_racer(void *arg)
{
	struct fz_race *r = arg;

	if (r->delay_us)
		usleep(r->delay_us);
	if (r->what == 0)
		close(r->fd);
	else if (r->what == 1)
		dup2(r->null, r->fd);
	else
		munmap(r->addr, r->len);
	return NULL;
}

/*
 * A thread closes the fd of a call in progress (or puts /dev/null in
 * its place, or unmaps memory) while a few calls run on it.
 */
static void fz_op_race(struct fz *fz)
{
	struct fz_race r = { 0 };
	sigset_t alrm, old;
	pthread_t t;
	int i, slot;

	if (!fz->nreg)
		return;
	slot = (int)fz_rand(fz, (__u64)fz->nreg);
	r.what = (int)fz_rand(fz, fz->nmap ? 3 : 2);
	r.fd = fz->reg[slot].fd;
	r.null = fz->foreign[0];
	r.delay_us = (unsigned int)fz_rand(fz, 400);
	if (r.what == 2) {
		i = (int)fz_rand(fz, (__u64)fz->nmap);
		r.addr = fz->map[i].addr;
		r.len = fz->map[i].len;
		fz_forget_map(fz, i);
	}
	/* The racer must not take the timer's signal: block it first. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	if (pthread_create(&t, NULL, fz_racer, &r)) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	fz->racing = true;
	fz->race_fd = r.fd;	/* fz_pick_fd() picks it mostly */
	for (i = 0; i < 4; i++) {
		switch (fz_rand(fz, 5)) {
		case 0:
			fz_op_read(fz);
			break;
		case 1:
			fz_op_poll(fz);
			break;
		case 2:
			fz_op_list(fz, true);
			break;
		default:
			fz_op_region(fz);
			break;
		}
	}
	pthread_join(t, NULL);
	fz->racing = false;
	/* The raced fd is gone (or /dev/null): find its slot again. */
	for (i = 0; i < fz->nreg; i++) {
		if (fz->reg[i].fd == r.fd && r.what != 2) {
			fz_drop_reg(fz, i, r.what == 1);
			break;
		}
	}
}

static void fz_run(struct fz *fz, __u64 calls);

/* A child that inherits everything, makes calls and ends, or is killed. */
static void fz_op_fork(struct fz *fz)
{
	int how = (int)fz_rand(fz, 3), st;
	__u64 calls = 20 + fz_rand(fz, 150);
	__u64 seed = sx_rand(&fz->rng);
	bool unpriv = fz_pct(fz, 25);
	pid_t pid;

	fz_begin(fz, K_FORK, -1, T_REGION, (unsigned long)how);
	fz_publish(fz);
	pid = sx_fork();
	fz_count(fz, K_FORK, pid < 0 ? -errno : 0);
	if (pid < 0)
		return;
	if (pid == 0) {
		fz->child = true;
		fz->nmine = 0;		/* the peer is the process, not its fds */
		fz->ring_ok = false;	/* the worker's: not ours to use */
		fz->inflight = 0;
		fz->rng.s = seed;
		if (unpriv) {
			if (sx_become(FZ_UNPRIV, FZ_UNPRIV, NULL, 0))
				_exit(100);
			fz->unpriv = true;
		}
		fz_run(fz, calls);
		_exit(0);
	}
	if (how == 0)
		usleep((useconds_t)fz_rand(fz, 3000));
	if (how == 0)
		kill(pid, SIGKILL);
	st = sx_reap_ms(pid, FZ_CHILD_MS);
	if (st == FZ_EXIT_FAIL)
		_exit(FZ_EXIT_FAIL);	/* the child told why */
	if (st == -1)
		fz_fail(fz, st, "a forked child hung (killed)");
	if (st != 0 && st != 128 + SIGKILL)
		fz_fail(fz, st, "a forked child ended badly (exit code)");
}

/* SIGKILL a sibling worker (the test starts another). */
static void fz_op_kill(struct fz *fz)
{
	int j = (int)fz_rand(fz, FZ_WORKERS);
	/* Relaxed: a hint; the sibling may be gone already, that is fine. */
	pid_t pid = __atomic_load_n(&fz->sh->w[j].pid, __ATOMIC_RELAXED);

	if (j == fz->idx || pid <= 0)
		return;
	fz_begin(fz, K_KILL, -1, T_REGION, (unsigned long)pid);
	fz_publish(fz);
	fz_count(fz, K_KILL, kill(pid, SIGKILL) ? -errno : 0);
}

/* ------------------------------------------------------------------ */
/* the loop */

static void fz_one(struct fz *fz)
{
	int r = (int)fz_rand(fz, 10000);


	if (r < 4100)
		fz_op_region(fz);
	else if (r < 4500)
		fz_op_list(fz, r < 4300);	/* PEERS, LIST */
	else if (r < 5700)
		fz_op_dev(fz);	/* CREATE, OPEN: new region fds */
	else if (r < 6100)
		fz_op_unknown(fz);
	else if (r < 6400)
		fz_op_foreign(fz);
	else if (r < 7000)
		fz_op_read(fz);
	else if (r < 7300)
		fz_op_poll(fz);
	else if (r < 7700)
		fz_op_mmap(fz);
	else if (r < 8000)
		fz_op_mm(fz);
	else if (r < 8600)
		fz_op_store(fz);
	else if (r < 9400)
		fz_op_uring(fz);
	else if (r < 9880)
		fz_op_fd(fz);
	else if (r < 9960)
		fz_op_race(fz);
	else if (r < 9985 && !fz->child)
		fz_op_fork(fz);
	else if (r < 9993 && !fz->child)
		fz_op_kill(fz);
	else if (!fz->child || fz_pct(fz, 50)) {
		fz_begin(fz, K_EXIT, -1, T_REGION, 0);
		fz_publish(fz);
		fz_count(fz, K_EXIT, 0);
		_exit(0);	/* everything still open, mapped, parked */
	}
}

static bool fz_stopped(struct fz *fz)
{
	/* Relaxed: stopping a little late is harmless. */
	return __atomic_load_n(&fz->sh->stop, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&fz->sh->calls, __ATOMIC_RELAXED) >=
	       fz->sh->target;
}

/* Up to @calls loop turns (0: until the target is reached). */
static void fz_run(struct fz *fz, __u64 calls)
{
	__u64 n;

	for (n = 0; (!calls || n < calls) && !fz_stopped(fz); n++)
		fz_one(fz);
}

/* Files of other types, for calls that must refuse them. */
static void fz_open_foreign(struct fz *fz)
{
	int p[2], fd;

	fz->nforeign = 0;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		fz->foreign[fz->nforeign++] = fd;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
		fz->foreign[fz->nforeign++] = p[0];
		fz->foreign[fz->nforeign++] = p[1];
	}
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd >= 0)
		fz->foreign[fz->nforeign++] = fd;
	fd = memfd_create("fz", MFD_CLOEXEC);
	if (fd >= 0)
		fz->foreign[fz->nforeign++] = fd;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		fz->foreign[fz->nforeign++] = fd;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		fz->foreign[fz->nforeign++] = fd;
	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd >= 0)
		fz->foreign[fz->nforeign++] = fd;
}

/* A worker process: never returns. */
static void __attribute__((noreturn))
fz_worker(struct fz_shared *sh, int idx, unsigned int gen)
{
	struct sigaction sa;
	struct fz fz;
	int i;

	memset(&fz, 0, sizeof(fz));
	fz.sh = sh;
	fz.idx = idx;
	/* One stream per slot and generation, all from the seed. */
	fz.rng.s = sh->seed ^ ((__u64)idx << 56) ^ ((__u64)gen << 32);
	sx_rand(&fz.rng);
	fz.page = sx_page();
	fz.arena = mmap(NULL, 4 * fz.page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fz.arena == MAP_FAILED)
		_exit(101);
	if (mprotect(fz.arena, fz.page, PROT_READ) ||
	    mprotect(fz.arena + 3 * fz.page, fz.page, PROT_NONE))
		_exit(102);
	fz.lbuf = mmap(NULL, (FZ_LPAGES + 2) * fz.page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fz.lbuf == MAP_FAILED ||
	    mprotect(fz.lbuf, fz.page, PROT_READ) ||
	    mprotect(fz.lbuf + (FZ_LPAGES + 1) * fz.page, fz.page, PROT_NONE))
		_exit(105);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fz_alarm;	/* no SA_RESTART: calls see EINTR */
	sigaction(SIGALRM, &sa, NULL);
	fz_open_foreign(&fz);
	if (fz.nforeign < 2)
		_exit(103);
	fz.dev = sx_dev_open();
	if (fz.dev < 0)
		_exit(104);
	for (i = 0; i < 2; i++) {	/* something to work on */
		int fd = sx_create(fz.dev, sh->names[fz_rand(&fz, FZ_NAMES)],
				   4096, 0600, 0);

		if (fd >= 0)
			fz_adopt(&fz, fd);
	}
	fz_run(&fz, 0);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* the test process */

FIXTURE(fuzz) {
	int dev;
	struct fz_shared *sh;
	int base_regions, base_peers;
	struct sx_dbg_region *base;	/* regions there before */
	int nbase;
};

FIXTURE_SETUP(fuzz)
{
	int i;

	ASSERT_EQ(0, geteuid());
	self->sh = MAP_FAILED;
	self->base = NULL;
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	self->nbase = sx_dbg_read_all(&self->base);
	ASSERT_LE(0, self->nbase);
	self->base_regions = self->nbase;
	self->base_peers = sx_dbg_peers(NULL, 0);
	ASSERT_LE(0, self->base_peers);
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	for (i = 0; i < FZ_NAMES; i++)
		snprintf(self->sh->names[i], SHMIPC_NAME_MAX, "fz%d-%d",
			 (int)getpid(), i);
	/* Orphans of killed workers come back to us, to be reaped. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
}

/* Was a region named @name there before the test? */
static bool fz_in_base(const struct sx_dbg_region *base, int n,
		       const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(base[i].name, name))
			return true;
	return false;
}

/*
 * Destroy every region named since the test began (the shared names,
 * and whatever names mutation made up), so that all ends.
 */
static void fz_destroy_ours(int dev, const struct sx_dbg_region *base,
			    int nbase)
{
	struct sx_dbg_region *r;
	int n = sx_dbg_read_all(&r), i;

	for (i = 0; i < n; i++)
		if (!strchr(r[i].flags, 'u') &&
		    !fz_in_base(base, nbase, r[i].name))
			sx_destroy(dev, r[i].name);
	free(r);
}

FIXTURE_TEARDOWN(fuzz)
{
	int i;

	if (self->sh != MAP_FAILED) {
		for (i = 0; i < FZ_WORKERS; i++)
			if (self->sh->w[i].pid > 0)
				kill(self->sh->w[i].pid, SIGKILL);
		sx_reap_all(SX_SOON_MS);
		munmap(self->sh, sizeof(*self->sh));
	}
	if (self->dev >= 0) {
		fz_destroy_ours(self->dev, self->base, self->nbase);
		close(self->dev);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	free(self->base);
}

/* Print the calls made, by kind, and their results. */
static void fz_print_counts(const struct fz_shared *sh)
{
	unsigned long long total = 0;
	char line[1024];
	int k, e, n;

	for (k = 0; k < K_NR; k++) {
		unsigned long long calls = 0;

		for (e = 0; e < FZ_NRES; e++)
			calls += sh->count[k][e];
		if (!calls)
			continue;
		total += calls;
		n = snprintf(line, sizeof(line), "# %-13s %8llu:", fz_kind_name[k],
			     calls);
		for (e = 0; e < FZ_NRES && n < (int)sizeof(line) - 40; e++) {
			if (!sh->count[k][e])
				continue;
			n += snprintf(line + n, sizeof(line) - (size_t)n,
				      " %s %llu", e ? strerrorname_np(e) ?: "?" :
				      "ok", (unsigned long long)sh->count[k][e]);
		}
		printf("%s\n", line);
	}
	printf("# calls in all: %llu; results of ioctls this test has no "
	       "table for (a newer module): %llu\n", total,
	       (unsigned long long)sh->untabled);
}

/*
 * After the workers: destroy what is named, then wait (io_uring rings of
 * killed workers let go of their files asynchronously) until debugfs
 * lists no region or peer beyond those there before, and the quota's
 * byte count matches.
 */
static void fz_finish(struct __test_metadata *_metadata,
		      FIXTURE_DATA(fuzz) *self)
{
	__u64 end = sx_deadline_ms(3 * SX_SOON_MS);
	char name[SHMIPC_NAME_MAX];
	int regions, peers;

	do {
		fz_destroy_ours(self->dev, self->base, self->nbase);
		regions = sx_dbg_count();
		peers = sx_dbg_peers(NULL, 0);
		if (regions == self->base_regions && peers == self->base_peers)
			break;
		usleep(20000);
	} while (sx_now_ns() < end);
	printf("# left: %d regions, %d peers (before: %d, %d)\n", regions,
	       peers, self->base_regions, self->base_peers);
	EXPECT_EQ(self->base_regions, regions);
	EXPECT_EQ(self->base_peers, peers);
	sx_unique_name(name, "fzquota");
	EXPECT_EQ(0, sx_check_total_bytes(self->dev, name));
}

/*
 * The sweep, in a child: every number of @magic below @nrs, every
 * direction, each size, on each of the 4 @fds; a bad result ends the
 * child through fz_fail().
 */
static void fz_sweep_magic(struct fz *fz, unsigned int magic,
			   unsigned int nrs, const int fds[4])
{
	static const unsigned int sizes[] = {
		0, 8, 16, 24, 32, 64, 80, 96, 104, 144,
		sizeof(struct shmipc_list), (1 << _IOC_SIZEBITS) - 1,
	};
	static const int target[4] = { T_DEV, T_REGION, T_REGION, T_FOREIGN };
	static const unsigned int access[4] = { 0, A_READ | A_WRITE, 0, 0 };
	static unsigned char buf[1 << _IOC_SIZEBITS];
	unsigned int nr, dir, s, t;
	unsigned long cmd;

	for (nr = 0; nr < nrs; nr++)
		for (dir = 0; dir < 4; dir++)
			for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
				cmd = _IOC(dir, magic, nr, sizes[s]);
				if (fz_ioc_of(cmd))
					continue;
				for (t = 0; t < 4; t++) {
					fz_begin(fz, K_UNKNOWN, fds[t],
						 target[t], cmd);
					fz->call.access = access[t];
					fz_ioctl(fz, cmd, (unsigned long)buf,
						 false);
				}
			}
}

/*
 * Every ioctl number of the magic and its neighbours, every direction,
 * the size of each struct (and none, and the largest): ENOTTY from the
 * device, region fds and /dev/null, unless the uapi defines it.
 */
TEST_F_TIMEOUT(fuzz, sweep, 120)
{
	char name[SHMIPC_NAME_MAX];
	struct shmipc_features f;
	int fds[4], st;
	pid_t pid;

	ASSERT_EQ(0, sx_features(self->dev, &f));
	self->sh->features = f.features;
	sx_unique_name(name, "fzsweep");
	fds[0] = self->dev;
	fds[1] = sx_create(self->dev, name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fds[1]);
	fds[2] = sx_open(self->dev, name, SHMIPC_OPEN_STAT);
	ASSERT_LE(0, fds[2]);
	fds[3] = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fds[3]);
	pid = sx_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fz fz;

		memset(&fz, 0, sizeof(fz));
		fz.sh = self->sh;
		fz_sweep_magic(&fz, SHMIPC_IOC_MAGIC, 256, fds);
		/* 0xB1 (PPPoX) and 0xB3 (MMC) use 0x00-0x1f */
		fz_sweep_magic(&fz, SHMIPC_IOC_MAGIC - 1, 48, fds);
		fz_sweep_magic(&fz, SHMIPC_IOC_MAGIC + 1, 48, fds);
		_exit(0);
	}
	st = sx_reap_ms(pid, 100000);
	EXPECT_EQ(0, st) TH_LOG("%s", self->sh->failure);
	printf("# sweep: %llu calls, all ENOTTY\n",
	       (unsigned long long)self->sh->calls);
	close(fds[1]);
	close(fds[2]);
	close(fds[3]);
	fz_finish(_metadata, self);
}

/* Show what a worker that seems stuck is doing. */
static void fz_show_stuck(const struct fz_worker *w)
{
	static const char *const files[] = { "wchan", "syscall", "stack" };
	char buf[2048], call[1200];
	unsigned int i;

	fz_fmt_call(call, sizeof(call), &w->last);
	printf("# stuck: pid %d gen %u: %s\n", (int)w->pid, w->gen, call);
	for (i = 0; i < 3; i++)
		if (sx_proc_read(w->pid, files[i], buf, sizeof(buf)) > 0)
			printf("# %s: %s\n", files[i], buf);
}

TEST_F_TIMEOUT(fuzz, random_calls, 290)
{
	struct fz_shared *sh = self->sh;
	__u64 last[FZ_WORKERS] = { 0 }, seen[FZ_WORKERS] = { 0 };
	__u64 start = sx_now_ns(), restarts = 0, killed = 0, p;
	struct shmipc_features f;
	bool debug = sx_debug_kernel();
	int i, st;
	pid_t pid;

	ASSERT_EQ(0, sx_features(self->dev, &f));
	sh->features = f.features;
	sh->seed = sx_seed("SHMIPC_FUZZ_SEED");
	sh->target = sx_env_num("SHMIPC_FUZZ_CALLS",
				debug ? FZ_CALLS_DEBUG : FZ_CALLS);
	printf("# seed %llu (replay: SHMIPC_FUZZ_SEED=%llu), %llu calls, %d workers%s\n",
	       (unsigned long long)sh->seed, (unsigned long long)sh->seed,
	       (unsigned long long)sh->target, FZ_WORKERS,
	       debug ? ", debug kernel" : "");
	fflush(stdout);

	/* Keep FZ_WORKERS running until the calls are made; watch them. */
	for (;;) {
		bool done = fz_stopped(&(struct fz){ .sh = sh });
		int live = 0;

		for (i = 0; i < FZ_WORKERS; i++) {
			if (sh->w[i].pid > 0 || done || sh->failed)
				continue;
			sh->w[i].gen++;
			pid = sx_fork();
			ASSERT_LE(0, pid);
			if (pid == 0)
				fz_worker(sh, i, sh->w[i].gen);
			/* Relaxed: read by siblings as a hint (fz_op_kill). */
			__atomic_store_n(&sh->w[i].pid, pid, __ATOMIC_RELAXED);
			seen[i] = sx_now_ns();
		}
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (i = 0; i < FZ_WORKERS; i++)
				if (sh->w[i].pid == pid)
					break;
			if (i == FZ_WORKERS)
				continue;	/* an orphan of a worker */
			__atomic_store_n(&sh->w[i].pid, 0, __ATOMIC_RELAXED);
			restarts++;
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
				killed++;
				continue;
			}
			if (WIFEXITED(st) && !WEXITSTATUS(st))
				continue;
			if (!(WIFEXITED(st) && WEXITSTATUS(st) == FZ_EXIT_FAIL)) {
				char call[1200];

				fz_fmt_call(call, sizeof(call), &sh->w[i].last);
				snprintf(sh->failure, sizeof(sh->failure),
					 "worker %d ended with status 0x%x after %s",
					 i, st, call);
			}
			sh->failed = 1;
			sh->stop = 1;
		}
		for (i = 0; i < FZ_WORKERS; i++) {
			if (sh->w[i].pid <= 0)
				continue;
			live++;
			/* Relaxed: any recent value shows progress. */
			p = __atomic_load_n(&sh->w[i].progress,
					    __ATOMIC_RELAXED);
			if (p != last[i]) {
				last[i] = p;
				seen[i] = sx_now_ns();
			} else if (sx_now_ns() - seen[i] >
				   FZ_HANG_MS * 1000000ULL && !sh->failed) {
				fz_show_stuck(&sh->w[i]);
				snprintf(sh->failure, sizeof(sh->failure),
					 "worker %d made no progress for %d ms",
					 i, FZ_HANG_MS);
				sh->failed = 1;
				sh->stop = 1;
				kill(sh->w[i].pid, SIGKILL);
			}
		}
		if (!live && (done || sh->failed))
			break;
		usleep(2000);
	}
	EXPECT_LE(0, sx_reap_all(SX_SOON_MS));
	fz_print_counts(sh);
	printf("# %llu workers ended (%llu by SIGKILL), %.1f s\n",
	       (unsigned long long)restarts, (unsigned long long)killed,
	       (double)(sx_now_ns() - start) / 1e9);
	EXPECT_EQ(0, sh->failed) TH_LOG("%s", sh->failure);
	EXPECT_LE(sh->target, sh->calls);
	fz_finish(_metadata, self);
}

TEST_HARNESS_MAIN
