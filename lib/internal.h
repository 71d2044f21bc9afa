/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc internals: the shared region header layout, the region
 * handle, and the backend operations table.
 */
#ifndef SHMIPC_INTERNAL_H
#define SHMIPC_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmipc.h"

#define SHMIPC_LOCAL __attribute__((visibility("hidden")))

/* ------------------------------------------------------------------ */
/* Shared layout of the region header (offset 0).  Every field may be
 * written by a hostile peer: readers check it before use. */

#define RHDR_MAGIC	0x52504853U	/* "SHPR" little-endian */
/* How long an opener waits for a creator to publish a header (the fuzz
 * harness, tests/fuzz, builds with 0: one look, no sleep). */
#ifndef RHDR_INIT_WAIT_MS
#define RHDR_INIT_WAIT_MS 1000
#endif

/*
 * The portable backend's peer table.  A slot is claimed through its owner
 * word alone: pid (low 32 bits, 0: free) and a generation (high 32 bits)
 * bumped by every claim, so a claim of a dead slot is one CAS from the
 * exact word inspected and cannot take a slot that changed hands since
 * (not even to a process that got the dead one's pid).  The claimer then
 * writes start_time and peer_id.
 */
#define RHDR_PID(owner)		((uint32_t)(owner))
#define RHDR_OWNER_GEN		(1ULL << 32)

struct rhdr_peer {
	_Atomic uint64_t peer_id;	/* 0: free slot */
	_Atomic uint64_t owner;		/* pid | generation << 32 */
	_Atomic uint64_t start_time;	/* /proc/<pid>/stat field 22 */
	uint64_t reserved;
};

#define DIR_FREE	0U		/* state word: free */
#define DIR_CLAIMED	1U		/* low 2 bits: being inserted */
#define DIR_READY	2U		/* low 2 bits: key, off, size valid */
#define DIR_KEY_BYTES	(SHMIPC_KEY_LEN_MAX + 1)

struct rhdr_dirent {
	/* (hash & ~3) | DIR_CLAIMED or DIR_READY; DIR_FREE when free */
	_Atomic uint32_t state;
	uint32_t pad;
	uint64_t off;
	uint64_t size;
	char key[DIR_KEY_BYTES];
};

struct rhdr {
	/* written once by the creator; magic last (release) */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t dir_cap;
	uint32_t peer_cap;
	uint32_t pad0;
	uint64_t size;
	uint8_t pad1[64 - 32];
	/* shared, written by everyone */
	_Atomic uint64_t heap_top;	/* bump allocator: next free offset */
	_Atomic uint64_t next_peer_id;	/* portable backend */
	uint8_t pad2[64 - 16];
	struct rhdr_peer peers[SHMIPC_PEERS_MAX];
	struct rhdr_dirent dir[SHMIPC_DIR_ENTRIES];
};

_Static_assert(sizeof(struct rhdr) <= SHMIPC_REGION_HDR_SIZE,
	       "region header too large");
_Static_assert(sizeof(struct rhdr_dirent) == 64, "dirent size");
_Static_assert(sizeof(struct rhdr_peer) == 32, "peer size");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 &&
	       ATOMIC_LLONG_LOCK_FREE == 2,
	       "shared atomics must be lock-free (address-free)");

/* ------------------------------------------------------------------ */
/* Handles */

struct shmipc_region {
	const struct shmipc_backend_ops *ops;
	char name[SHMIPC_NAME_LEN_MAX + 1];
	void *base;
	size_t size;		/* private copy: the mapping's size */
	int fd;			/* region fd (module: region fd; portable: shm) */
	uint64_t peer_id;
	int peer_slot;		/* portable: index in the peer table */
	int created;
	int attached;
	uint32_t mode;
};

/*
 * Wait (at most RHDR_INIT_WAIT_MS) for a creator to publish the @magic of
 * a shared header: 0 when it is @want, -EBADMSG when it is something
 * else, -EAGAIN when it never came.  Acquire: pairs with the creator's
 * release store of the magic, after which the rest of the header reads
 * as written.
 */
static inline int shmipc_await_magic(_Atomic uint32_t *magic, uint32_t want)
{
	uint64_t end = shmipc_now_ns() + RHDR_INIT_WAIT_MS * 1000000ULL;
	struct timespec ts = { 0, 1000000 };
	uint32_t m;

	while ((m = atomic_load_explicit(magic, memory_order_acquire)) == 0) {
		if (shmipc_now_ns() >= end)
			return -EAGAIN;
		nanosleep(&ts, NULL);
	}
	return m == want ? 0 : -EBADMSG;
}

/*
 * The same, then check the layout @version that follows the magic:
 * -EPROTONOSUPPORT unless it is SHMIPC_LIB_VERSION.
 */
static inline int shmipc_await_header(_Atomic uint32_t *magic,
				      const uint32_t *version, uint32_t want)
{
	int ret = shmipc_await_magic(magic, want);

	if (ret)
		return ret;
	return *version == SHMIPC_LIB_VERSION ? 0 : -EPROTONOSUPPORT;
}

static inline struct rhdr *region_hdr(const struct shmipc_region *r)
{
	return (struct rhdr *)r->base;
}

/* ------------------------------------------------------------------ */
/* Backend operations */

struct shmipc_backend_ops {
	int kind;
	/*
	 * Create or open: set r->fd, r->size, r->created (name validated).
	 * @tie_fd >= 0: a new region's name is tied to that region fd
	 * (module; the portable backend has no ties).
	 */
	int (*open)(struct shmipc_region *r, const char *name, size_t size,
		    unsigned int mode, unsigned int flags, int tie_fd);
	int (*unlink)(const char *name);
	/* After mapping and header checks: become a peer (r->peer_id). */
	int (*attach)(struct shmipc_region *r);
	void (*detach)(struct shmipc_region *r);
	void (*close)(struct shmipc_region *r);
	int (*info)(const struct shmipc_region *r,
		    struct shmipc_region_info *info);
	/*
	 * Sleep while *@word == @expected, until @deadline_ns.  @peer_id 0:
	 * no particular peer; else -EOWNERDEAD if that peer is dead (on entry
	 * or while sleeping), -EPIPE if it left.  0 (maybe spurious),
	 * -EAGAIN, -ETIMEDOUT, -EINTR.
	 */
	int (*wait)(const struct shmipc_region *r, _Atomic uint32_t *word,
		    uint32_t expected, uint64_t deadline_ns, uint64_t peer_id);
	int (*wake)(const struct shmipc_region *r, _Atomic uint32_t *word,
		    uint32_t count);
	/* 1 alive, -EOWNERDEAD dead, -EPIPE left / unknown. */
	int (*peer_alive)(const struct shmipc_region *r, uint64_t peer_id);
	/*
	 * Module: register (or @release) @word as owned by our peer, so the
	 * kernel sets SHMIPC_OWNER_DIED in it when we die; reclaim the
	 * kernel's record of a dead peer whose words were repaired.
	 * Portable: nothing (the survivor marks the word itself).
	 */
	int (*own)(const struct shmipc_region *r, _Atomic uint32_t *word,
		   bool release);
	void (*reclaim)(const struct shmipc_region *r, uint64_t peer_id);
};

#define SHMIPC_WORD_OWNER_DIED 0x80000000U	/* = SHMIPC_OWNER_DIED */

/* ------------------------------------------------------------------ */
/* Small helpers shared by the channels and the event pool */

static inline void shmipc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline uint32_t shmipc_round8(uint32_t v)
{
	return (v + 7U) & ~7U;
}

/*
 * Sleeping on a sequence word with a waiter flag.  A side about to sleep
 * arms: it reads the sequence word, then sets the flag (seq_cst store,
 * then a seq_cst fence: the flag is visible before its re-check of the
 * shared state, the store-load order C11 only gives with the fence),
 * re-checks, and sleeps on the word if it still holds the value read.
 * The other side, after its seq_cst publish, takes the flag (seq_cst
 * exchange with 0: the Dekker pair) and only if it was set (or @force)
 * bumps the word and wakes @count sleepers.  Either the sleeper's re-check
 * sees the publish, or the waker sees the flag.  The word is read before
 * the flag is set because a waker may take the flag before the re-check
 * and the re-check may still fail (room freed, but not enough; a message
 * another sleeper took first): the bump then comes after the read, so
 * the wait returns -EAGAIN and the sleeper arms again, instead of
 * sleeping with a flag nobody will see.  So nobody calls wake unless
 * someone sleeps, and a sleeper killed asleep leaves at most one wasted
 * wake (a live one sets the flag again on every round).  (The arm is out
 * of line: it precedes a sleep anyway, and GCC's ThreadSanitizer refuses
 * an inlined fence.)
 */
SHMIPC_LOCAL uint32_t shmipc_sleep_arm(_Atomic uint32_t *flag,
				       _Atomic uint32_t *seq);

static inline void shmipc_wake_sleepers(const struct shmipc_region *r,
					_Atomic uint32_t *flag,
					_Atomic uint32_t *seq, uint32_t count,
					bool force)
{
	if (!atomic_exchange_explicit(flag, 0, memory_order_seq_cst) &&
	    !force)
		return;
	/* Release: the bump is ordered after what we published. */
	atomic_fetch_add_explicit(seq, 1, memory_order_release);
	r->ops->wake(r, seq, count);
}

/* A backend wait result that ends a blocking call (the others: re-check). */
static inline bool shmipc_wait_fatal(int w)
{
	return w && w != -EAGAIN && w != -EINTR && w != -ETIMEDOUT &&
	       w != -EOWNERDEAD && w != -EPIPE;
}

/* Test builds (-DSHMIPC_TESTING) count the backends' wake calls, so a
 * test can tell that a fast path made no syscall. */
#ifdef SHMIPC_TESTING
SHMIPC_LOCAL extern _Atomic unsigned long shmipc_test_wakes;
#define SHMIPC_TEST_COUNT_WAKE() \
	atomic_fetch_add_explicit(&shmipc_test_wakes, 1, memory_order_relaxed)
#else
#define SHMIPC_TEST_COUNT_WAKE() ((void)0)
#endif

/*
 * Named kill points: a test build (-DSHMIPC_TESTING) lets a test make
 * this process raise shmipc_test_kp_signal (SIGKILL, or SIGSTOP to stand
 * for a slow process) the (shmipc_test_kp_skip + 1)th time it passes
 * point shmipc_test_kp, to hit windows of a few instructions exactly.
 * Each fires once; other builds compile them to nothing.
 */
enum shmipc_kill_point {
	SHMIPC_KP_NONE = 0,
	SHMIPC_KP_SEND_CLAIMED,	/* mpmc: cursor taken, slot not marked */
	SHMIPC_KP_SEND_MARKED,	/* mpmc: slot marked, message not written */
	SHMIPC_KP_SEND_DONE,	/* mpmc: published, consumers not woken */
	SHMIPC_KP_RECV_CLAIMED,	/* mpmc: cursor taken, slot not marked */
	SHMIPC_KP_RECV_MARKED,	/* mpmc: slot marked, message not read */
	SHMIPC_KP_RECV_DONE,	/* mpmc: released, producers not woken */
	SHMIPC_KP_REPAIRED,	/* mpmc: slot repaired, cursor / wakes not */
	SHMIPC_KP_USER_TAKEN,	/* mpmc: registry entry taken, gen not */
	SHMIPC_KP_SPSC_COPIED,	/* spsc: slots copied, cursor not published */
	SHMIPC_KP_SPSC_PUBLISHED, /* spsc: published, call not returned */
	SHMIPC_KP_HEAP_CLAIMED,	/* heap: record's state taken, not returned */
	SHMIPC_KP_HEAP_CACHED,	/* heap: record CACHED, not in the magazine */
	SHMIPC_KP_HEAP_FLIGHT,	/* heap send: record IN_FLIGHT, not queued */
	SHMIPC_KP_HEAP_DEQUEUED, /* heap recv: dequeued, still IN_FLIGHT */
	SHMIPC_KP_EVP_LOCKED,	/* evpool: creation lock held */
	SHMIPC_KP_EVP_CLAIMED,	/* evpool: buffer WRITING, descriptor not set */
	SHMIPC_KP_EVP_FRAG_ADDED, /* evpool: fragment counted, not let go */
	SHMIPC_KP_EVP_TAKEN,	/* evpool: buffer READING, not described */
	SHMIPC_KP_CTL_POSTED,	/* ctl: request committed, not in flight */
	SHMIPC_KP_CTL_ACKED,	/* ctl worker: request acked, no reply */
	SHMIPC_KP_CTL_COMMITTED, /* ctl worker: reply committed, not counted */
	SHMIPC_KP_SLEEP_ARMED,	/* any sleeper: flag set, not re-checked */
	SHMIPC_KP_COUNT
};

#ifdef SHMIPC_TESTING
SHMIPC_LOCAL extern _Atomic int shmipc_test_kp;
SHMIPC_LOCAL extern _Atomic int shmipc_test_kp_signal;
SHMIPC_LOCAL extern _Atomic unsigned long shmipc_test_kp_skip;
SHMIPC_LOCAL void shmipc_test_kill_point(enum shmipc_kill_point kp);
#else
#define shmipc_test_kill_point(kp) ((void)0)
#endif

SHMIPC_LOCAL extern const struct shmipc_backend_ops shmipc_module_ops;
SHMIPC_LOCAL extern const struct shmipc_backend_ops shmipc_portable_ops;

/* The selected backend's ops (selects on first use), or NULL + *err. */
SHMIPC_LOCAL const struct shmipc_backend_ops *shmipc_ops(int *err);

/*
 * shmipc_region_open() with SHMIPC_REGION_CREATE (not PERSISTENT), the
 * new region's name *tied* to @parent: module backend, it outlives the
 * creator's handles and the creator, until unlinked or until @parent's
 * region goes (SHMIPC_CREATE_TIED; a module without it gives a plain
 * name).  @parent must not have been created tied itself (-EINVAL).
 * Portable backend: names outlive their handles anyway, and nothing
 * removes them when @parent goes.
 */
SHMIPC_LOCAL int shmipc_region_create_tied(const struct shmipc_region *parent,
					   const char *name, size_t size,
					   unsigned int mode, unsigned int flags,
					   struct shmipc_region **out);

/* Has the other side of growable buffer @gb closed its end (left
 * cleanly)?  A look at a shared word, no system call: for the controller,
 * which learns a worker's leave from it (ctl.c). */
SHMIPC_LOCAL bool shmipc_growbuf_other_closed(struct shmipc_growbuf *gb);

/*
 * MPMC queues placed by another part of the library (the heap's channels
 * live in heap records, not in the directory): the bytes a queue needs
 * (0 if the arguments are invalid), initialize one at @off (64-byte
 * aligned, @bytes available; the memory may hold anything), and open the
 * one at @off whose object is @size bytes (validated as by
 * shmipc_mpmc_open()).
 */
SHMIPC_LOCAL uint64_t shmipc_mpmc_bytes(uint32_t slot_size,
					uint32_t capacity);
SHMIPC_LOCAL int shmipc_mpmc_init_at(struct shmipc_region *r, uint64_t off,
				     uint64_t bytes, uint32_t slot_size,
				     uint32_t capacity);
SHMIPC_LOCAL int shmipc_mpmc_open_at(struct shmipc_region *r, uint64_t off,
				     uint64_t size, struct shmipc_mpmc **out);

/*
 * Named objects in a region (channels, pools) start with this header: a
 * magic that the creator stores last (release), the layout version and
 * the size of the object's header.
 */
struct shmipc_obj_hdr {
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
};

/*
 * Place the object @key (@bytes, 64-aligned) in @r's directory and write
 * its version and @hdr_size: *@off and *@hdr.  The caller fills in the
 * rest and then publishes it with shmipc_obj_publish().  Errors: as
 * shmipc_dir_alloc(), -EBADMSG.
 */
SHMIPC_LOCAL int shmipc_obj_create(struct shmipc_region *r, const char *key,
				   uint64_t bytes, uint32_t hdr_size,
				   uint64_t *off, struct shmipc_obj_hdr **hdr);
SHMIPC_LOCAL void shmipc_obj_publish(struct shmipc_obj_hdr *h,
				     uint32_t magic);
/*
 * shmipc_dir_find() of an object of the library, which its creator
 * placed 64-byte aligned: an entry that says otherwise is corrupt
 * (-EBADMSG), not a header to read at a misaligned address.
 */
SHMIPC_LOCAL int shmipc_obj_find(const struct shmipc_region *r,
				 const char *key, uint64_t *off,
				 uint64_t *size);
/*
 * Find the object @key: *@off, *@size and *@hdr once its creator has
 * published @magic, its version is ours and its header is @hdr_size
 * bytes.  Errors: -ENOENT, -EINVAL, -EBADMSG, -EPROTONOSUPPORT, -EAGAIN.
 */
SHMIPC_LOCAL int shmipc_obj_open(const struct shmipc_region *r,
				 const char *key, uint32_t magic,
				 uint32_t hdr_size, uint64_t *off,
				 uint64_t *size, struct shmipc_obj_hdr **hdr);

/* Common helpers */

SHMIPC_LOCAL int shmipc_check_name(const char *name);
/* A directory-style key: 1..SHMIPC_KEY_LEN_MAX bytes; *@len its length. */
SHMIPC_LOCAL int shmipc_check_key(const char *key, size_t *len);
SHMIPC_LOCAL bool shmipc_in_region(const struct shmipc_region *r,
				   uint64_t off, uint64_t len);

/*
 * shmipc_dir_alloc() of a new object @key of @size bytes, returning its
 * (zeroed) memory, or NULL with *@err set (dir_alloc's errors, or
 * -EBADMSG).  *@off receives its offset.
 */
SHMIPC_LOCAL void *shmipc_dir_new(struct shmipc_region *r, const char *key,
				  uint64_t size, size_t align, uint64_t *off,
				  int *err);

#endif /* SHMIPC_INTERNAL_H */
