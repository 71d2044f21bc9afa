/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shared buffer allocator's internals: the heap's shared layout, the
 * handle, and what heap.c, heap_cache.c and heap_channel.c share.
 *
 * Shared layout of a heap object (offsets from its start; the object is
 * 4096-aligned in the region):
 *   struct heap_hdr     config line, lifecycle line, class hints, the
 *                       slot table (one per open heap handle) and the
 *                       channel table
 *   page table          u32 per 64 KiB page: UNUSED, SMALL(class),
 *                       RUN(pages) at the first page of a run, TAIL(distance
 *                       to the first page) on the others, CLAIM(owner) while
 *                       a run is being cut
 *   free hints          s32 per page: about how many free records a SMALL
 *                       page has (only a hint: a search skips pages <= 0,
 *                       and falls back to a full search before failing)
 *   record states       u32 per 64-byte granule of the pages; a record's
 *                       state is the word of its first granule
 *   pages               npages * 64 KiB, 4096-aligned
 *
 * A record state: bits 0-2 its kind (RS_*), bits 3-10 an index (the
 * holder's slot for CACHED/USED, the channel for IN_FLIGHT/RING), bits
 * 11-31 the low 21 bits of that slot's or channel's generation.  RS_NONE
 * at a record start of a carved page means free (pages are carved with
 * zeroed states, so carving is one CAS of the page entry).
 */
#ifndef SHMIPC_HEAP_INTERNAL_H
#define SHMIPC_HEAP_INTERNAL_H

#include "internal.h"

#include <pthread.h>

#define HEAP_MAGIC	0x50414548U	/* "HEAP" */

#define HP_SHIFT	16			/* 64 KiB pages */
#define HP_SIZE		(1ULL << HP_SHIFT)
#define HG_SHIFT	6			/* 64-byte granules */
#define HP_GRANS	(1U << (HP_SHIFT - HG_SHIFT))	/* granules a page */
#define HK_MIN		6			/* 64 B */
#define HK_SMALL_MAX	15			/* 32 KiB: the last shared-page class */
#define HK_MAX		20			/* 1 MiB */
#define HK_CACHED	(HK_SMALL_MAX - HK_MIN + 1)	/* cached classes */
#define HEAP_MAG_MAX	32			/* records per cached class */
#define HEAP_SLOTS	SHMIPC_HEAP_HANDLES_MAX
#define HEAP_CHANS	SHMIPC_HEAP_CHANNELS_MAX
#define HEAP_NO_SLOT	HEAP_SLOTS		/* a handle before its slot */

/* Page table entries */
#define PG_UNUSED	0U
#define PG_SMALL	1U
#define PG_RUN		2U
#define PG_TAIL		3U
#define PG_CLAIM	4U
#define PG_TYPE(e)	((e) >> 28)
#define PG_ARG(e)	((e) & 0x0fffffffU)
#define PG_MAKE(t, a)	((uint32_t)(t) << 28 | (uint32_t)(a))

/* Record states */
#define RS_NONE		0U
#define RS_FREE		1U
#define RS_CACHED	2U
#define RS_USED		3U
#define RS_FLIGHT	4U
#define RS_RING		5U
#define RS_GEN_BITS	21
#define RS_GEN_MASK	((1U << RS_GEN_BITS) - 1)
#define RS_KIND(v)	((v) & 7U)
#define RS_IDX(v)	(((v) >> 3) & 0xffU)
#define RS_GEN(v)	((v) >> 11)
#define RS_MAKE(k, i, g) ((uint32_t)(k) | (uint32_t)(i) << 3 | \
			  ((uint32_t)(g) & RS_GEN_MASK) << 11)

/* The owner of a CLAIM page entry: slot and generation (27 bits). */
#define CLAIM_OWNER(slot, gen) ((uint32_t)(slot) << RS_GEN_BITS | \
				((uint32_t)(gen) & RS_GEN_MASK))

/* Heap lifecycle (hdr->life) */
#define HEAP_ACTIVE	1U
#define HEAP_DESTROYING	2U
#define HEAP_DESTROYED	3U
#define HEAP_REINIT	4U

/* Channel entry state: bits 0-3 the kind, bits 4-24 the generation. */
#define CH_FREE		0U
#define CH_CREATING	1U
#define CH_ACTIVE	2U
#define CH_REMOVED	3U
#define CH_TEARDOWN	4U
#define CH_KIND(v)	((v) & 15U)
#define CH_GEN(v)	(((v) >> 4) & RS_GEN_MASK)
#define CH_MAKE(k, g)	((uint32_t)(k) | ((uint32_t)(g) & RS_GEN_MASK) << 4)
#define CH_KEY_WORDS	6		/* 48 bytes: a key and its NUL */

/*
 * A heap handle's slot.  Claimed by one CAS of peer_id from 0 to the
 * claimer's region peer id (never reused by the region, so a release CAS
 * from a dead id cannot hit a new holder); the new holder then bumps gen,
 * and tags its records with it.  chans: bit c while this handle has
 * channel c open (the channel's references).
 */
struct heap_slot {
	_Atomic uint64_t peer_id;
	_Atomic uint32_t gen;
	uint32_t pad;
	_Atomic uint64_t chans;
	uint64_t pad2;
};

/*
 * A channel.  Changed only under the table lock (hdr->lock), except
 * that openers read it lock-free: state (acquire), then fields, then
 * state again.  The fields are atomics only so that such a read racing a
 * rewrite is not a data race.
 */
struct heap_chan {
	_Atomic uint32_t state;
	_Atomic uint32_t capacity;
	_Atomic uint64_t ring_off;	/* region offset of the ring record */
	_Atomic uint64_t key[CH_KEY_WORDS];
};

struct heap_hdr {
	/* line 0: config, written by the creator before the magic */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t npages;
	uint64_t size;		/* bytes of the heap object */
	uint64_t pagetab_off;	/* these four: from the heap's start */
	uint64_t hints_off;
	uint64_t states_off;
	uint64_t data_off;
	uint8_t pad0[64 - 56];
	/* line 1: lifecycle, the channel-table lock, the page search hint */
	_Atomic uint32_t life;
	_Atomic uint32_t page_hint;	/* pages below: probably all carved */
	_Atomic uint64_t lock;		/* holder's region peer id, 0: free */
	uint8_t pad1[64 - 16];
	/* line 2: per class, where its last free records were found */
	_Atomic uint32_t class_hint[16];
	struct heap_slot slots[HEAP_SLOTS];
	struct heap_chan chans[HEAP_CHANS];
};

_Static_assert(sizeof(struct heap_slot) == 32, "slot layout");
_Static_assert(sizeof(struct heap_chan) == 64, "channel entry layout");
_Static_assert(sizeof(struct heap_hdr) % 64 == 0, "heap header layout");

/* Where a heap object of a given size puts its parts. */
struct heap_layout {
	uint32_t npages;
	uint64_t pagetab_off, hints_off, states_off, data_off;
};

/* A located record. */
struct heap_rec {
	uint32_t page;		/* its (first) page */
	uint32_t sidx;		/* index of its state word */
	int cls;		/* size class, or -1 for a run */
	uint64_t bytes;		/* capacity */
};

struct heap_tcache;

struct shmipc_heap {
	struct shmipc_region *r;
	struct heap_hdr *hh;
	char *base;			/* region base */
	_Atomic uint32_t *pagetab;
	_Atomic int32_t *hints;
	_Atomic uint32_t *states;
	uint64_t data_off;		/* region offset of page 0 */
	uint32_t npages;
	uint32_t slot;			/* our slot, or HEAP_NO_SLOT */
	uint32_t gen;			/* our slot's generation */
	uint64_t peer_id;		/* our region peer id */
	uint64_t hid;			/* names our thread caches: pid << 32 | n */
	uint32_t cache_cap[HK_CACHED];	/* magazine size per class, 0: none */
	pthread_mutex_t lock;		/* chan_open, chan_gen */
	uint32_t chan_open[HEAP_CHANS];	/* our open handles per channel */
	uint32_t chan_gen[HEAP_CHANS];
	struct heap_tcache *caches;	/* under the caches' lock (heap_cache.c) */
};

/* Our record state of @kind (CACHED or USED). */
static inline uint32_t heap_mine(const struct shmipc_heap *h, uint32_t kind)
{
	return RS_MAKE(kind, h->slot, h->gen);
}

/* heap.c */
SHMIPC_LOCAL int heap_locate(const struct shmipc_heap *h, uint64_t off,
			     struct heap_rec *rec);
SHMIPC_LOCAL int heap_claim_small(struct shmipc_heap *h, int cls,
				  uint32_t want, uint64_t *out, unsigned int n);
SHMIPC_LOCAL int heap_alloc_locked(struct shmipc_heap *h, uint64_t size,
				   uint64_t *off, bool may_reclaim);
SHMIPC_LOCAL int heap_release(struct shmipc_heap *h, uint64_t off,
			      uint32_t expect);
SHMIPC_LOCAL int heap_check_state(const struct shmipc_heap *h, uint32_t v,
				  uint32_t want);
SHMIPC_LOCAL int heap_free_channel_records(struct shmipc_heap *h,
					   uint32_t chan, uint32_t gen);
SHMIPC_LOCAL int heap_lock(struct shmipc_heap *h);
SHMIPC_LOCAL void heap_unlock(struct shmipc_heap *h);
SHMIPC_LOCAL bool heap_peer_gone(const struct shmipc_heap *h,
				 uint64_t peer_id);

/* heap_cache.c: per-thread magazines */
SHMIPC_LOCAL int heap_cache_alloc(struct shmipc_heap *h, int cls,
				  uint64_t *off);
SHMIPC_LOCAL int heap_cache_free(struct shmipc_heap *h,
				 const struct heap_rec *rec, uint64_t off);
SHMIPC_LOCAL void heap_cache_flush_mine(struct shmipc_heap *h);
SHMIPC_LOCAL void heap_cache_detach_all(struct shmipc_heap *h);
SHMIPC_LOCAL uint64_t heap_new_hid(void);

/* heap_channel.c */
SHMIPC_LOCAL int heap_chan_repair(struct shmipc_heap *h);
SHMIPC_LOCAL void heap_chan_maybe_teardown(struct shmipc_heap *h,
					   uint32_t chan, bool locked);
SHMIPC_LOCAL int heap_chan_teardown_locked(struct shmipc_heap *h,
					   uint32_t chan, bool force);

#endif /* SHMIPC_HEAP_INTERNAL_H */
