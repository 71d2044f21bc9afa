/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Event-buffer pool internals shared by evpool.c (create, open, writers,
 * readers, blocking) and evpool_reclaim.c (deaths, expiry): the shared
 * layout, the buffer word and the helpers that read and change it.  The
 * design is described at the top of evpool.c.
 */
#ifndef SHMIPC_EVPOOL_INT_H
#define SHMIPC_EVPOOL_INT_H

#include "internal.h"

#define EVP_MAGIC	0x4c505645U	/* "EVPL" */
#define EVP_RETRIES	64U		/* CAS losses per try: above real contention */

#define MEMBERS		SHMIPC_EVPOOL_MEMBERS_MAX

enum { ST_EMPTY = 0, ST_WRITING = 1, ST_FULL = 2, ST_READING = 3 };

#define W_OWNER_SHIFT	2
#define W_FLAGS_SHIFT	8
#define W_GEN_SHIFT	16
#define W_LOW_MASK	((1ULL << W_GEN_SHIFT) - 1)
#define OWNER_SHARED	63U
#define F_VALID		(SHMIPC_EVPOOL_EV_INCOMPLETE | SHMIPC_EVPOOL_EV_REDELIVERED)
#define FLAGS_VALID	(SHMIPC_EVPOOL_BROADCAST | SHMIPC_EVPOOL_DROP_INCOMPLETE)

/* The creation lock: bits 0-7 the owner's slot + 1 (0: free), then a
 * generation bumped by every change. */
#define LOCK_OWNER_MASK	0xffULL
#define LOCK_GEN_ONE	0x100ULL

/* A broadcast reader's record of an event it has taken (with the stamp). */
#define TAKEN		(1ULL << 32)

enum {
	C_COMPLETED, C_TAKEN, C_EXP_INCOMPLETE, C_EXP_DROPPED, C_DEAD_WRITER,
	C_DEAD_READER, C_NO_READER, C_LAST_DROPPED, C_NR
};

struct evp_member {
	_Atomic uint64_t peer;	/* the owner's peer id; 0: free */
	_Atomic uint32_t role;	/* SHMIPC_PRODUCER / _CONSUMER; 0 at first */
	uint32_t pad;
};

struct evp_desc {
	_Atomic uint64_t word;
	_Atomic uint64_t seq;
	_Atomic uint64_t start_ns;	/* first fragment, CLOCK_MONOTONIC */
	_Atomic uint64_t shares;	/* broadcast: stamp << 32 | readers */
	_Atomic uint32_t expected;
	_Atomic uint32_t frags;
	_Atomic uint32_t used;		/* bytes, fragment headers included */
	uint32_t pad[5];
};

struct evp_hdr {
	/* line 0: config */
	struct shmipc_obj_hdr obj;
	uint32_t nbuf;
	uint32_t buf_size;
	uint32_t stride;
	uint32_t flags;
	uint32_t pad0;
	uint64_t descs_off;
	uint64_t data_off;
	uint64_t expire_ns;
	/* line 1 */
	_Alignas(64) _Atomic uint64_t create_lock;
	/* line 2 */
	_Alignas(64) _Atomic uint32_t space_waiting;
	_Atomic uint32_t space_seq;
	_Atomic uint32_t data_waiting;
	_Atomic uint32_t data_seq;
	/* line 3 */
	_Alignas(64) _Atomic uint64_t count[C_NR];
	/* lines 4-11 */
	_Alignas(64) struct evp_member members[MEMBERS];
};

_Static_assert(sizeof(struct evp_desc) == 64, "descriptor line");
_Static_assert(sizeof(struct evp_hdr) == 12 * 64 &&
	       offsetof(struct evp_hdr, create_lock) == 64 &&
	       offsetof(struct evp_hdr, space_waiting) == 128 &&
	       offsetof(struct evp_hdr, count) == 192 &&
	       offsetof(struct evp_hdr, members) == 256, "pool header layout");
_Static_assert(MEMBERS <= 32 && MEMBERS + 1 < OWNER_SHARED,
	       "member slots fit a 32-bit share mask and the holder bits");

struct shmipc_evpool {
	struct shmipc_region *r;
	struct evp_hdr *h;
	struct evp_desc *d;
	char *data;
	uint32_t nbuf, buf_size, stride, flags;
	uint64_t expire_ns;
	uint64_t peer;		/* our peer id */
	int role;		/* 0 observer, SHMIPC_PRODUCER, _CONSUMER */
	int me;			/* member slot, -1 for an observer */
	/* writer: the buffer held for a begun fragment */
	int held;		/* -1: none */
	uint64_t held_word;
	uint32_t held_size;
	/* broadcast reader: per buffer, TAKEN | stamp of the event held */
	uint64_t *taken;
};

/* ------------------------------------------------------------------ */
/* Words, slots, counters */

static inline unsigned int w_state(uint64_t w)
{
	return (unsigned int)(w & 3);
}

static inline unsigned int w_owner(uint64_t w)
{
	return (unsigned int)(w >> W_OWNER_SHIFT) & 0x3f;
}

static inline unsigned int w_flags(uint64_t w)
{
	return (unsigned int)(w >> W_FLAGS_SHIFT) & 0xff;
}

static inline uint32_t w_stamp(uint64_t w)
{
	return (uint32_t)(w >> W_GEN_SHIFT);
}

/* The word after @w: next generation, the given state, holder, flags. */
static inline uint64_t w_next(uint64_t w, unsigned int state, unsigned int owner,
		       unsigned int flags)
{
	return ((w & ~W_LOW_MASK) + (1ULL << W_GEN_SHIFT)) |
	       (uint64_t)flags << W_FLAGS_SHIFT |
	       (uint64_t)owner << W_OWNER_SHIFT | state;
}

static inline bool broadcast(const struct shmipc_evpool *p)
{
	return p->flags & SHMIPC_EVPOOL_BROADCAST;
}

/* Is @w a word that can be? */
static inline int check_word(const struct shmipc_evpool *p, uint64_t w)
{
	unsigned int own = w_owner(w), fl = w_flags(w);

	if (fl & ~F_VALID)
		return -EBADMSG;
	switch (w_state(w)) {
	case ST_EMPTY:
		return own || fl ? -EBADMSG : 0;
	case ST_WRITING:
		return own > MEMBERS || fl ? -EBADMSG : 0;
	case ST_FULL:
		return own ? -EBADMSG : 0;
	default:
		if (broadcast(p))
			return own == OWNER_SHARED ? 0 : -EBADMSG;
		return own == 0 || own > MEMBERS ? -EBADMSG : 0;
	}
}

static inline int load_word(const struct shmipc_evpool *p, uint32_t b, uint64_t *w)
{
	/* Acquire: what the last holder wrote before its CAS (descriptor,
	 * data) is visible once we see the word it stored. */
	*w = atomic_load_explicit(&p->d[b].word, memory_order_acquire);
	return check_word(p, *w);
}

/*
 * A transition of buffer @b from *@expect to @next.  seq_cst: acquire of
 * what the previous holder wrote, release of what we wrote, and the store
 * half of the Dekker pair with a sleeper's flag (the wake that follows).
 * On failure *@expect holds the current word (acquire).
 */
static inline bool word_cas(struct shmipc_evpool *p, uint32_t b, uint64_t *expect,
		     uint64_t next)
{
	return atomic_compare_exchange_strong_explicit(
		&p->d[b].word, expect, next, memory_order_seq_cst,
		memory_order_acquire);
}

/*
 * A descriptor field that only changes while the buffer is held (seq,
 * start_ns, shares), read for the word @w that is not held: 0, or -EAGAIN
 * if the word changed meanwhile.  A seqlock: the holder stores the field
 * with release after its CAS of the word; our acquire load of it, if it
 * reads such a store, makes that CAS visible to the word's reload.
 */
static inline int stable_read(const struct shmipc_evpool *p, uint32_t b, uint64_t w,
		       _Atomic uint64_t *field, uint64_t *val)
{
	*val = atomic_load_explicit(field, memory_order_acquire);
	return atomic_load_explicit(&p->d[b].word, memory_order_relaxed) == w ?
		       0 : -EAGAIN;
}

static inline uint64_t member_peer(const struct shmipc_evpool *p, unsigned int i)
{
	/* Acquire: read after a word or share that names the slot, it is the
	 * slot's owner of that time or a later one (see the top). */
	return atomic_load_explicit(&p->h->members[i].peer,
				    memory_order_acquire);
}

static inline void count(struct shmipc_evpool *p, int c)
{
	/* Relaxed: statistics, ordered with nothing. */
	atomic_fetch_add_explicit(&p->h->count[c], 1, memory_order_relaxed);
}

static inline void wake_writers(struct shmipc_evpool *p)
{
	shmipc_wake_sleepers(p->r, &p->h->space_waiting, &p->h->space_seq,
			     UINT32_MAX, false);
}

static inline void wake_readers(struct shmipc_evpool *p)
{
	shmipc_wake_sleepers(p->r, &p->h->data_waiting, &p->h->data_seq,
			     UINT32_MAX, false);
}

static inline char *buf_at(const struct shmipc_evpool *p, uint32_t b)
{
	return p->data + (size_t)b * p->stride;
}

/* The stamp of the event in a FULL or broadcast READING word. */
static inline uint32_t event_stamp(uint64_t w)
{
	return w_state(w) == ST_FULL ? w_stamp(w) : w_stamp(w) - 1;
}

/* evpool.c: a held event to FULL; a broadcast reader's share released */
SHMIPC_LOCAL int evp_publish_full(struct shmipc_evpool *p, uint32_t b,
				  uint64_t held, unsigned int flags);
SHMIPC_LOCAL int evp_shares_clear(struct shmipc_evpool *p, uint32_t b,
				  uint32_t stamp, uint32_t bits);

/* evpool_reclaim.c: repair after deaths; expiry of incomplete events */
SHMIPC_LOCAL int evp_sweep(struct shmipc_evpool *p, bool all_members,
			   uint64_t *sleep_peer, bool *several);
SHMIPC_LOCAL int evp_expire(struct shmipc_evpool *p, uint64_t age,
			    uint64_t *next_due);

#endif /* SHMIPC_EVPOOL_INT_H */
