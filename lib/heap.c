// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The shared buffer allocator: a heap of records in a region (layout in
 * heap_internal.h, contract in include/shmipc/heap.h).
 *
 * One word is the truth about each record: its state (kind, holder,
 * holder's generation).  Every move between owners is one CAS of that
 * word, so there is no shared free list that a killed process could
 * leave half-updated (and no ABA to guard against): a record is taken
 * from the pool by CAS of FREE (or NONE, in a freshly carved page) to
 * CACHED/USED by us, and given back by CAS to FREE.  Finding a free
 * record is a search: pages of the class, starting where the last search
 * of the class succeeded, skipping pages whose free hint is <= 0, then
 * a fresh page, then every page of the class whatever its hint.  The
 * thread caches (heap_cache.c) make the search rare: it refills half a
 * magazine at a time.  Out of memory, fully free pages and free runs go
 * back to the unused pages (dissolve_small(), dissolve_run()) and the
 * search runs again; then dead holders are reclaimed, and once more.
 *
 * Slots and generations: a heap handle claims a slot (CAS of its peer id
 * from 0 to ours), then bumps the slot's generation and tags its records
 * with (slot, generation).  reclaim() snapshots every slot (generation
 * first, then holder: see snap_take()) and every channel, and frees
 * records whose tag is older than the slot's live holder, or not newer
 * than a free or dead slot; the same for IN_FLIGHT / RING records and
 * channel generations.  A generation newer than the snapshot belongs to
 * a holder that came after it and is left alone.
 *
 * Memory orders: taking a record from the pool is an acquire CAS, and
 * giving it back a release CAS, so whatever the last holder wrote to the
 * record happens before the next holder's use.  Moves between states of
 * one holder (CACHED <-> USED) are relaxed.  Slot claims, generations,
 * channel references and the lifecycle word are seq_cst: they are the
 * Dekker pairs between an opener and a destroyer or reclaimer.  The free
 * hints and search hints are relaxed: only hints.
 */
#include "heap_internal.h"
#include "introspect_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Layout */

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Where the parts of a heap object of @size bytes go.  Deterministic, so
 * an opener recomputes it and compares with the header.  The page count
 * is capped so that every granule index fits in 32 bits.
 */
static int layout_of(uint64_t size, struct heap_layout *l)
{
	const uint64_t per_page = HP_SIZE + HP_GRANS * 4ULL + 8;
	uint64_t hdr = sizeof(struct heap_hdr), n;

	if (size < SHMIPC_HEAP_SIZE_MIN)
		return -EINVAL;
	n = (size - hdr) / per_page;
	if (n > (1ULL << 22) - 1)
		n = (1ULL << 22) - 1;
	for (; n > 0; n--) {
		l->pagetab_off = hdr;
		l->hints_off = round_up(hdr + 4 * n, 64);
		l->states_off = round_up(l->hints_off + 4 * n, 64);
		l->data_off = round_up(l->states_off + n * HP_GRANS * 4, 4096);
		if (l->data_off + n * HP_SIZE <= size) {
			l->npages = (uint32_t)n;
			return 0;
		}
	}
	return -EINVAL;
}

static uint64_t page_off(const struct shmipc_heap *h, uint32_t p)
{
	return h->data_off + ((uint64_t)p << HP_SHIFT);
}

/* The smallest class (log2) holding @size bytes (1..CLASS_MAX). */
static int class_of(uint64_t size)
{
	int k = size <= 1 ? 0 : 64 - __builtin_clzll(size - 1);

	return k < HK_MIN ? HK_MIN : k;
}

/* Is page entry @e at page @p well formed? */
static bool page_entry_ok(const struct shmipc_heap *h, uint32_t p, uint32_t e)
{
	uint32_t a = PG_ARG(e);

	switch (PG_TYPE(e)) {
	case PG_UNUSED:
		return a == 0;
	case PG_SMALL:
		return a >= HK_MIN && a <= HK_SMALL_MAX;
	case PG_RUN:
		return a >= 1 && a <= h->npages - p;
	case PG_TAIL:
		return a >= 1 && a <= p;
	case PG_CLAIM:
		return (a >> RS_GEN_BITS) < HEAP_SLOTS;
	default:
		return false;
	}
}

int heap_locate(const struct shmipc_heap *h, uint64_t off,
		struct heap_rec *rec)
{
	uint64_t rel, in;
	uint32_t p, e;

	if (off < h->data_off || off - h->data_off >=
	    (uint64_t)h->npages << HP_SHIFT)
		return -EINVAL;
	rel = off - h->data_off;
	p = (uint32_t)(rel >> HP_SHIFT);
	in = rel & (HP_SIZE - 1);
	/* Acquire: pairs with the release that published a run's head
	 * (the record's state was written before it). */
	e = atomic_load_explicit(&h->pagetab[p], memory_order_acquire);
	if (!page_entry_ok(h, p, e))
		return -EBADMSG;
	rec->page = p;
	rec->sidx = (uint32_t)(rel >> HG_SHIFT);
	switch (PG_TYPE(e)) {
	case PG_SMALL:
		if (in & ((1ULL << PG_ARG(e)) - 1))
			return -EINVAL;
		rec->cls = (int)PG_ARG(e);
		rec->bytes = 1ULL << PG_ARG(e);
		return 0;
	case PG_RUN:
		if (in)
			return -EINVAL;
		rec->cls = -1;
		rec->bytes = (uint64_t)PG_ARG(e) << HP_SHIFT;
		return 0;
	default:
		return -EINVAL;	/* unused, inside a run, being cut */
	}
}

/*
 * Why a record of state @v is not in state @want for us: -EBADMSG
 * (not a state), -EINVAL (not allocated: free or cached), -EPERM (held
 * by another handle or by a channel).
 */
int heap_check_state(const struct shmipc_heap *h, uint32_t v, uint32_t want)
{
	uint32_t kind = RS_KIND(v);

	(void)h;
	if (kind > RS_RING)
		return -EBADMSG;
	if ((kind == RS_CACHED || kind == RS_USED) &&
	    RS_IDX(v) >= HEAP_SLOTS)
		return -EBADMSG;
	if ((kind == RS_FLIGHT || kind == RS_RING) && RS_IDX(v) >= HEAP_CHANS)
		return -EBADMSG;
	if (v == want)
		return 0;
	if (kind == RS_NONE || kind == RS_FREE || kind == RS_CACHED)
		return -EINVAL;
	return -EPERM;
}

/*
 * Give the record @rec back to the pool if its state is still @expect.
 * Release: our (or the last holder's) writes to it happen before the
 * next taker's acquire.
 */
static bool rec_release(struct shmipc_heap *h, const struct heap_rec *rec,
			uint32_t expect)
{
	if (!atomic_compare_exchange_strong_explicit(
		    &h->states[rec->sidx], &expect, RS_FREE,
		    memory_order_release, memory_order_relaxed))
		return false;
	if (rec->cls >= 0)	/* Relaxed: a hint. */
		atomic_fetch_add_explicit(&h->hints[rec->page], 1,
					  memory_order_relaxed);
	return true;
}

int heap_release(struct shmipc_heap *h, uint64_t off, uint32_t expect)
{
	struct heap_rec rec;
	int ret = heap_locate(h, off, &rec);

	if (ret)
		return ret;
	return rec_release(h, &rec, expect) ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------ */
/* Finding free records */

/*
 * Take up to @n free records of page @p (class @cls) into state @want,
 * their offsets into @out.  With @left, count the free records left
 * behind (the whole page is read).  Returns how many, or -EBADMSG.
 */
static int claim_in_page(struct shmipc_heap *h, uint32_t p, int cls,
			 uint32_t want, uint64_t *out, unsigned int n,
			 int32_t *left)
{
	uint32_t nrec = 1U << (HP_SHIFT - cls);
	uint32_t step = 1U << (cls - HG_SHIFT);
	uint32_t base = p * HP_GRANS, i;
	unsigned int got = 0;

	for (i = 0; i < nrec; i++) {
		_Atomic uint32_t *s = &h->states[base + i * step];
		/* Relaxed: the CAS below is what takes it. */
		uint32_t v = atomic_load_explicit(s, memory_order_relaxed);

		if (RS_KIND(v) > RS_RING)
			return -EBADMSG;
		if (RS_KIND(v) != RS_NONE && RS_KIND(v) != RS_FREE)
			continue;
		if (got == n) {
			if (!left)
				break;
			(*left)++;
			continue;
		}
		/* Acquire: the last holder's writes (released with FREE)
		 * happen before ours. */
		if (!atomic_compare_exchange_strong_explicit(
			    s, &v, want, memory_order_acquire,
			    memory_order_relaxed))
			continue;
		shmipc_test_kill_point(SHMIPC_KP_HEAP_CLAIMED);
		/* Still a page of our class?  (It may have been given back
		 * to the unused pages since we read its entry: then what
		 * we took is not a record of that class: undo.) */
		if (atomic_load_explicit(&h->pagetab[p],
					 memory_order_acquire) !=
		    PG_MAKE(PG_SMALL, cls)) {
			atomic_compare_exchange_strong_explicit(
				s, &want, v, memory_order_release,
				memory_order_relaxed);
			break;
		}
		out[got++] = page_off(h, p) + ((uint64_t)i << cls);
	}
	if (got)	/* Relaxed: a hint. */
		atomic_fetch_sub_explicit(&h->hints[p], (int32_t)got,
					  memory_order_relaxed);
	return (int)got;
}

/* Give an unused page to class @cls: its page index, or -ENOMEM. */
static int carve_small(struct shmipc_heap *h, int cls)
{
	/* Relaxed: a hint, range-checked. */
	uint32_t start = atomic_load_explicit(&h->hh->page_hint,
					      memory_order_relaxed), i;

	if (start >= h->npages)
		start = 0;
	for (i = 0; i < h->npages; i++) {
		uint32_t p = start + i < h->npages ? start + i :
						      start + i - h->npages;
		uint32_t e = PG_UNUSED;

		/* Relaxed: an unused page's states are NONE already (from
		 * the heap's initialization, or released by the dissolver
		 * that gave the page back: takers acquire them); the entry
		 * publishes nothing. */
		if (atomic_load_explicit(&h->pagetab[p],
					 memory_order_relaxed) != PG_UNUSED ||
		    !atomic_compare_exchange_strong_explicit(
			    &h->pagetab[p], &e, PG_MAKE(PG_SMALL, cls),
			    memory_order_relaxed, memory_order_relaxed))
			continue;
		atomic_fetch_add_explicit(&h->hints[p],
					  (int32_t)(1U << (HP_SHIFT - cls)),
					  memory_order_relaxed);
		atomic_store_explicit(&h->hh->page_hint, p + 1,
				      memory_order_relaxed);
		return (int)p;
	}
	return -ENOMEM;
}

int heap_claim_small(struct shmipc_heap *h, int cls, uint32_t want,
		     uint64_t *out, unsigned int n)
{
	_Atomic uint32_t *hint = &h->hh->class_hint[cls];
	/* Relaxed: a hint, range-checked. */
	uint32_t start = atomic_load_explicit(hint, memory_order_relaxed);
	uint32_t mine = PG_MAKE(PG_SMALL, cls), i, p;
	unsigned int got = 0;
	int ret;

	if (start >= h->npages)
		start = 0;
	/* 1: pages of the class whose hint says they have free records */
	for (i = 0; i < h->npages && got < n; i++) {
		uint32_t e;

		p = start + i < h->npages ? start + i : start + i - h->npages;
		e = atomic_load_explicit(&h->pagetab[p], memory_order_relaxed);
		if (e != mine) {
			if (!page_entry_ok(h, p, e))
				return -EBADMSG;
			continue;
		}
		if (atomic_load_explicit(&h->hints[p],
					 memory_order_relaxed) <= 0)
			continue;
		ret = claim_in_page(h, p, cls, want, out + got, n - got, NULL);
		if (ret < 0)
			return ret;
		got += (unsigned int)ret;
		if (got == n)
			atomic_store_explicit(hint, p, memory_order_relaxed);
	}
	if (got)
		return (int)got;
	/* 2: a fresh page (others may empty it first: then another) */
	for (i = 0; i < h->npages; i++) {
		ret = carve_small(h, cls);
		if (ret < 0)
			break;
		p = (uint32_t)ret;
		ret = claim_in_page(h, p, cls, want, out, n, NULL);
		if (ret) {
			if (ret > 0)
				atomic_store_explicit(hint, p,
						      memory_order_relaxed);
			return ret;
		}
	}
	/* 3: every page of the class, whatever its hint, recounting it */
	for (p = 0; p < h->npages && got < n; p++) {
		int32_t left = 0;

		if (atomic_load_explicit(&h->pagetab[p],
					 memory_order_relaxed) != mine)
			continue;
		ret = claim_in_page(h, p, cls, want, out + got, n - got,
				    &left);
		if (ret < 0)
			return ret;
		got += (unsigned int)ret;
		atomic_store_explicit(&h->hints[p], left,
				      memory_order_relaxed);
	}
	return (int)got;
}

/*
 * Take the state word of the run we cut at page @p (its pages claimed).
 * A CAS, not a store: a taker that saw an older run or small page at p
 * may hold the word for a moment (it gives it back on seeing our claim),
 * or for good if it died there.  Acquire: after the last users of these
 * pages (see dissolve_small()); published by the release of the head.
 */
static bool head_state_taken(struct shmipc_heap *h, uint32_t p)
{
	uint32_t v = RS_NONE;

	return atomic_compare_exchange_strong_explicit(
		&h->states[p * HP_GRANS], &v, heap_mine(h, RS_USED),
		memory_order_acquire, memory_order_relaxed);
}

/*
 * Cut a fresh run of @need pages for us: every page is claimed
 * (CLAIM(us)) one CAS at a time, the record's state set USED(us), then
 * the first page published as RUN (release) and the others as TAIL.  A
 * process killed in between leaves CLAIM pages of a dead owner, which
 * reclaim turns back into UNUSED pages (or TAILs of a published run).
 */
static int carve_run(struct shmipc_heap *h, uint32_t need, uint64_t *off)
{
	uint32_t claim = PG_MAKE(PG_CLAIM, CLAIM_OWNER(h->slot, h->gen));
	uint32_t p = 0, j;

	while (need <= h->npages - p) {
		for (j = 0; j < need; j++)
			if (atomic_load_explicit(&h->pagetab[p + j],
						 memory_order_relaxed) !=
			    PG_UNUSED)
				break;
		if (j == need) {
			for (j = need; j-- > 0;) {
				uint32_t e = PG_UNUSED;

				/* Acquire: after the dissolver that gave the
				 * page back (its release of UNUSED), so after
				 * the page's last users: the run's state word
				 * below is only the first page's. */
				if (!atomic_compare_exchange_strong_explicit(
					    &h->pagetab[p + j], &e, claim,
					    memory_order_acquire,
					    memory_order_relaxed))
					break;
			}
			if (j == UINT32_MAX && head_state_taken(h, p))
				goto claimed;
			/* Lost page j (or the head's state word, then j is
			 * UINT32_MAX): give back what we took after it.
			 * Release: whoever claims it next acquires through
			 * us what we acquired of its last users. */
			for (uint32_t m = j + 1; m < need; m++)
				atomic_store_explicit(&h->pagetab[p + m],
						      PG_UNUSED,
						      memory_order_release);
		}
		/* Search on after page j (after the head if we lost its
		 * state word: a stale taker that died may hold it until
		 * the page is carved as a small page and reclaimed). */
		p += j == UINT32_MAX ? 1 : j + 1;
	}
	return -ENOMEM;
claimed:
	/* Release: whoever sees the run (acquire) sees its state. */
	atomic_store_explicit(&h->pagetab[p], PG_MAKE(PG_RUN, need),
			      memory_order_release);
	for (j = 1; j < need; j++)
		atomic_store_explicit(&h->pagetab[p + j], PG_MAKE(PG_TAIL, j),
				      memory_order_relaxed);
	*off = page_off(h, p);
	return 0;
}

/* Try to take the free run at page @p for us. */
static bool take_run(struct shmipc_heap *h, uint32_t p, uint32_t n,
		     uint64_t *off)
{
	_Atomic uint32_t *s = &h->states[p * HP_GRANS];
	uint32_t v = atomic_load_explicit(s, memory_order_relaxed);
	uint32_t used = heap_mine(h, RS_USED);

	if (RS_KIND(v) != RS_NONE && RS_KIND(v) != RS_FREE)
		return false;
	/* Acquire: as in claim_in_page(). */
	if (!atomic_compare_exchange_strong_explicit(
		    s, &v, used, memory_order_acquire, memory_order_relaxed))
		return false;
	/* Still that run?  (As in claim_in_page().) */
	if (atomic_load_explicit(&h->pagetab[p], memory_order_acquire) !=
	    PG_MAKE(PG_RUN, n)) {
		atomic_compare_exchange_strong_explicit(s, &used, v,
							memory_order_release,
							memory_order_relaxed);
		return false;
	}
	*off = page_off(h, p);
	return true;
}

/*
 * A run of @need pages: a free run of exactly that length, else a fresh
 * one, else (unless @exact) the smallest longer free run.
 */
static int alloc_run(struct shmipc_heap *h, uint32_t need, bool exact,
		     uint64_t *off)
{
	unsigned int round;
	int ret;

	for (round = 0; round < 4; round++) {
		uint32_t p, best = UINT32_MAX, best_n = UINT32_MAX;

		for (p = 0; p < h->npages; p++) {
			/* Relaxed: only a search; take_run() and carve_run()
			 * acquire what they take. */
			uint32_t e = atomic_load_explicit(&h->pagetab[p],
							  memory_order_relaxed);
			uint32_t n = PG_ARG(e), v;

			if (!page_entry_ok(h, p, e))
				return -EBADMSG;
			if (PG_TYPE(e) != PG_RUN)
				continue;
			v = atomic_load_explicit(&h->states[p * HP_GRANS],
						 memory_order_relaxed);
			if (RS_KIND(v) > RS_RING)
				return -EBADMSG;
			if (n < need || (exact && n != need) ||
			    (RS_KIND(v) != RS_NONE && RS_KIND(v) != RS_FREE))
				continue;
			if (n == need && take_run(h, p, n, off))
				return 0;
			if (n > need && n < best_n) {
				best = p;
				best_n = n;
			}
		}
		ret = carve_run(h, need, off);
		if (ret == 0)
			return 0;
		if (best == UINT32_MAX)
			break;
		if (take_run(h, best, best_n, off))
			return 0;
	}
	return -ENOMEM;
}

/*
 * Giving free pages back.  A page keeps its class (a run its length)
 * while any of its records is not free; when all are, the out-of-memory
 * path gives it back to the unused pages, for any class or run:
 *   1. take every record (FREE/NONE -> USED by us), or undo and give up;
 *   2. CAS the page entry (a run: its tails, then its head) to CLAIM(us);
 *   3. reset the states to NONE, the entries to UNUSED (head last,
 *      release).
 * Killed in 1: USED records of a dead holder (reclaim frees them);
 * in 2: CLAIM tails under a RUN head (repair_claims() makes them tails
 * again); after 2: CLAIM pages of a dead owner (made unused).
 * Someone who read the old entry and takes a record afterwards sees the
 * entry changed and gives it back (claim_in_page(), take_run()).
 */
/*
 * Reset @count state words from @first to NONE: the words the dissolver
 * took (@ours, at every @step-th word from @first: its records) and the
 * words that are NONE already.  Any other word is left alone, even one
 * that holds @ours: a stale taker holds it for a moment (it gives it
 * back, or keeps it if the page comes back with its class), and a taker
 * that is another thread of our own handle writes the very same value.
 * A CAS, not a store, for the same reason.  Release, even NONE over
 * NONE: whoever takes one of these words next (acquire) comes after the
 * page's last users, whose writes we acquired when we took their
 * records.  Acquire too, for repair_claims(): the dead dissolver's takes
 * were RMWs in the release sequences of the records' last users, so
 * reading them brings those users' writes before ours.
 */
static void reset_states(struct shmipc_heap *h, uint32_t first,
			 uint32_t count, uint32_t step, uint32_t ours)
{
	uint32_t g;

	for (g = first; g < first + count; g++) {
		uint32_t v = atomic_load_explicit(&h->states[g],
						  memory_order_relaxed);

		if (v == RS_NONE || (v == ours && (g - first) % step == 0))
			atomic_compare_exchange_strong_explicit(
				&h->states[g], &v, RS_NONE,
				memory_order_acq_rel, memory_order_relaxed);
	}
}

static bool dissolve_small(struct shmipc_heap *h, uint32_t p, int cls)
{
	uint32_t nrec = 1U << (HP_SHIFT - cls);
	uint32_t step = 1U << (cls - HG_SHIFT);
	uint32_t base = p * HP_GRANS, used = heap_mine(h, RS_USED);
	uint32_t e = PG_MAKE(PG_SMALL, cls), i;

	if (atomic_load_explicit(&h->pagetab[p], memory_order_relaxed) != e)
		return false;
	for (i = 0; i < nrec; i++) {
		uint32_t v = atomic_load_explicit(&h->states[base + i * step],
						  memory_order_relaxed);

		if (RS_KIND(v) != RS_NONE && RS_KIND(v) != RS_FREE)
			return false;	/* cheap check before taking */
	}
	for (i = 0; i < nrec; i++) {
		_Atomic uint32_t *s = &h->states[base + i * step];
		uint32_t v = atomic_load_explicit(s, memory_order_relaxed);

		/* Acquire: as in claim_in_page(). */
		if ((RS_KIND(v) != RS_NONE && RS_KIND(v) != RS_FREE) ||
		    !atomic_compare_exchange_strong_explicit(
			    s, &v, used, memory_order_acquire,
			    memory_order_relaxed))
			goto undo;
	}
	/* Relaxed: our records pin the page; nothing to publish yet. */
	if (!atomic_compare_exchange_strong_explicit(
		    &h->pagetab[p], &e,
		    PG_MAKE(PG_CLAIM, CLAIM_OWNER(h->slot, h->gen)),
		    memory_order_relaxed, memory_order_relaxed))
		goto undo;
	reset_states(h, base, HP_GRANS, step, used);
	atomic_store_explicit(&h->hints[p], 0, memory_order_relaxed);
	/* Release: the reset states before the page's next carver. */
	atomic_store_explicit(&h->pagetab[p], PG_UNUSED, memory_order_release);
	return true;
undo:
	/* Give back exactly the words we took, as NONE (free, whatever the
	 * page is now: it may have changed hands since we read its entry,
	 * so its class must not be trusted here).  Release: as below. */
	while (i-- > 0) {
		uint32_t v = used;

		atomic_compare_exchange_strong_explicit(
			&h->states[base + i * step], &v, RS_NONE,
			memory_order_release, memory_order_relaxed);
	}
	return false;
}

static bool dissolve_run(struct shmipc_heap *h, uint32_t p, uint32_t n)
{
	_Atomic uint32_t *s = &h->states[p * HP_GRANS];
	uint32_t v = atomic_load_explicit(s, memory_order_relaxed);
	uint32_t used = heap_mine(h, RS_USED), e = PG_MAKE(PG_RUN, n), j;
	uint32_t claim = PG_MAKE(PG_CLAIM, CLAIM_OWNER(h->slot, h->gen));

	if ((RS_KIND(v) != RS_NONE && RS_KIND(v) != RS_FREE) ||
	    !atomic_compare_exchange_strong_explicit(s, &v, used,
						     memory_order_acquire,
						     memory_order_relaxed))
		return false;
	/* Tails first, so that a dead dissolver leaves CLAIM tails under
	 * a RUN head (repaired back into tails, the run freed) or only
	 * CLAIM pages (repaired into unused ones), never a tail without
	 * its head.  Relaxed: the run is ours while its state is. */
	for (j = 1; j < n; j++) {
		uint32_t t = PG_MAKE(PG_TAIL, j);

		if (!atomic_compare_exchange_strong_explicit(
			    &h->pagetab[p + j], &t, claim,
			    memory_order_relaxed, memory_order_relaxed))
			break;
	}
	if (j < n || !atomic_compare_exchange_strong_explicit(
			     &h->pagetab[p], &e, claim, memory_order_relaxed,
			     memory_order_relaxed)) {
		while (--j > 0)
			atomic_store_explicit(&h->pagetab[p + j],
					      PG_MAKE(PG_TAIL, j),
					      memory_order_relaxed);
		atomic_compare_exchange_strong_explicit(s, &used, v,
							memory_order_release,
							memory_order_relaxed);
		return false;
	}
	/* Every granule: a small record of a later page may start at any;
	 * we took only the first. */
	reset_states(h, p * HP_GRANS, n * HP_GRANS, n * HP_GRANS, used);
	/* Release, each page: a run may be cut from any of them, and its
	 * carver acquires only the pages' entries and its head's state. */
	for (j = 1; j < n; j++)
		atomic_store_explicit(&h->pagetab[p + j], PG_UNUSED,
				      memory_order_release);
	/* Release: the reset state before the page's next carver. */
	atomic_store_explicit(&h->pagetab[p], PG_UNUSED, memory_order_release);
	return true;
}

/* Give every fully free page and free run back.  Pages released. */
static int release_free_pages(struct shmipc_heap *h)
{
	uint32_t p;
	int n = 0;

	if (h->slot == HEAP_NO_SLOT)
		return 0;
	for (p = 0; p < h->npages; p++) {
		uint32_t e = atomic_load_explicit(&h->pagetab[p],
						  memory_order_acquire);

		if (!page_entry_ok(h, p, e))
			return -EBADMSG;
		if (PG_TYPE(e) == PG_SMALL && dissolve_small(h, p,
							     (int)PG_ARG(e)))
			n++;
		if (PG_TYPE(e) == PG_RUN && dissolve_run(h, p, PG_ARG(e)))
			n += (int)PG_ARG(e);
	}
	if (n)
		atomic_store_explicit(&h->hh->page_hint, 0,
				      memory_order_relaxed);
	return n;
}

/* ------------------------------------------------------------------ */
/* Scans, snapshots, reclaim */

/*
 * Call @fn for every record (its location and state) in page order.
 * Stops at the first negative return; -EBADMSG for a corrupt page entry.
 */
typedef int (*rec_fn)(struct shmipc_heap *h, const struct heap_rec *rec,
		      uint32_t v, void *arg);

static int heap_scan(struct shmipc_heap *h, rec_fn fn, void *arg)
{
	uint32_t p;

	for (p = 0; p < h->npages; p++) {
		uint32_t e = atomic_load_explicit(&h->pagetab[p],
						  memory_order_acquire);
		struct heap_rec rec;
		uint32_t i, nrec, step;
		int ret;

		if (!page_entry_ok(h, p, e))
			return -EBADMSG;
		if (PG_TYPE(e) == PG_SMALL) {
			rec.cls = (int)PG_ARG(e);
			rec.bytes = 1ULL << rec.cls;
			nrec = 1U << (HP_SHIFT - rec.cls);
			step = 1U << (rec.cls - HG_SHIFT);
		} else if (PG_TYPE(e) == PG_RUN) {
			rec.cls = -1;
			rec.bytes = (uint64_t)PG_ARG(e) << HP_SHIFT;
			nrec = 1;
			step = 0;
		} else {
			continue;
		}
		rec.page = p;
		for (i = 0; i < nrec; i++) {
			rec.sidx = p * HP_GRANS + i * step;
			ret = fn(h, &rec,
				 atomic_load_explicit(&h->states[rec.sidx],
						      memory_order_relaxed),
				 arg);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* Who held what when a reclaim (or stats) started. */
struct heap_snap {
	uint64_t peer[HEAP_SLOTS];
	uint32_t gen[HEAP_SLOTS];
	bool gone[HEAP_SLOTS];		/* free, or held by a dead peer */
	bool dead[HEAP_SLOTS];		/* held by a dead peer */
	uint32_t chan[HEAP_CHANS];
	unsigned int ndead;
	uint64_t count;			/* records freed (reclaim) */
};

bool heap_peer_gone(const struct shmipc_heap *h, uint64_t peer_id)
{
	if (peer_id == h->peer_id)
		return false;
	/* Dead or left (or never known): either way it holds nothing. */
	return h->r->ops->peer_alive(h->r, peer_id) != 1;
}

/*
 * The generation is read before the holder (both seq_cst, like the
 * claimer's CAS of the holder and its later bump): if the holder we read
 * is the one that died, the generation we read is not a later holder's.
 */
static void snap_take(struct shmipc_heap *h, struct heap_snap *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < HEAP_SLOTS; i++) {
		struct heap_slot *sl = &h->hh->slots[i];

		s->gen[i] = atomic_load_explicit(&sl->gen,
						 memory_order_seq_cst);
		s->peer[i] = atomic_load_explicit(&sl->peer_id,
						  memory_order_seq_cst);
		if (!s->peer[i]) {
			s->gone[i] = true;
		} else if (heap_peer_gone(h, s->peer[i])) {
			s->gone[i] = s->dead[i] = true;
			s->ndead++;
		}
	}
	for (i = 0; i < HEAP_CHANS; i++)
		s->chan[i] = atomic_load_explicit(&h->hh->chans[i].state,
						  memory_order_seq_cst);
}

/* @a - @b as a signed distance of 21-bit generations. */
static int32_t gen_diff(uint32_t a, uint32_t b)
{
	uint32_t d = (a - b) & RS_GEN_MASK;

	return d & (1U << (RS_GEN_BITS - 1)) ? (int32_t)d - (1 << RS_GEN_BITS) :
					       (int32_t)d;
}

/* Does generation @g of a holder that is @gone / at @cur hold nothing? */
static bool gen_stale(uint32_t g, uint32_t cur, bool gone)
{
	int32_t d = gen_diff(g, cur);

	return gone ? d <= 0 : d < 0;
}

/* 1 if state @v belongs to nobody alive (see the top), 0, -EBADMSG. */
static int rec_orphan(const struct heap_snap *s, uint32_t v)
{
	uint32_t i = RS_IDX(v);

	switch (RS_KIND(v)) {
	case RS_NONE:
	case RS_FREE:
		return 0;
	case RS_CACHED:
	case RS_USED:
		if (i >= HEAP_SLOTS)
			return -EBADMSG;
		return gen_stale(RS_GEN(v), s->gen[i], s->gone[i]);
	case RS_FLIGHT:
	case RS_RING:
		if (i >= HEAP_CHANS)
			return -EBADMSG;
		return gen_stale(RS_GEN(v), CH_GEN(s->chan[i]),
				 CH_KIND(s->chan[i]) == CH_FREE);
	default:
		return -EBADMSG;
	}
}

static int reclaim_visit(struct shmipc_heap *h, const struct heap_rec *rec,
			 uint32_t v, void *arg)
{
	struct heap_snap *s = arg;
	int o = rec_orphan(s, v);

	if (o > 0 && rec_release(h, rec, v))
		s->count++;
	return o < 0 ? o : 0;
}

/*
 * Pages claimed by a dead (or stale) owner while it cut a run: TAILs of
 * a run whose head it published, else UNUSED again.  One pass, in page
 * order, since a head comes before its tails.  Returns pages released.
 */
static int repair_claims(struct shmipc_heap *h, const struct heap_snap *s)
{
	uint32_t p, head = 0, end = 0;
	int n = 0;

	for (p = 0; p < h->npages; p++) {
		uint32_t e = atomic_load_explicit(&h->pagetab[p],
						  memory_order_acquire);
		uint32_t owner = PG_ARG(e), slot = owner >> RS_GEN_BITS;

		if (!page_entry_ok(h, p, e))
			return -EBADMSG;
		if (PG_TYPE(e) == PG_RUN) {
			head = p;
			end = p + PG_ARG(e);
		}
		if (PG_TYPE(e) != PG_CLAIM ||
		    !gen_stale(owner & RS_GEN_MASK, s->gen[slot],
			       s->gone[slot]))
			continue;
		if (p < end) {
			atomic_compare_exchange_strong_explicit(
				&h->pagetab[p], &e, PG_MAKE(PG_TAIL, p - head),
				memory_order_relaxed, memory_order_relaxed);
			continue;
		}
		/* What the dead owner took: USED by its slot/generation (a
		 * stale taker of that generation is dead too: every word). */
		reset_states(h, p * HP_GRANS, HP_GRANS, 1,
			     RS_MAKE(RS_USED, slot, owner & RS_GEN_MASK));
		if (atomic_compare_exchange_strong_explicit(
			    &h->pagetab[p], &e, PG_UNUSED,
			    memory_order_release, memory_order_relaxed)) {
			n++;
			atomic_store_explicit(&h->hh->page_hint, 0,
					      memory_order_relaxed);
		}
	}
	return n;
}

/* Destroy a heap marked for it once no slot is held. */
static void heap_maybe_finalize(struct shmipc_heap *h)
{
	uint32_t life = HEAP_DESTROYING;
	unsigned int i;

	if (atomic_load_explicit(&h->hh->life, memory_order_seq_cst) !=
	    HEAP_DESTROYING)
		return;
	for (i = 0; i < HEAP_SLOTS; i++)
		if (atomic_load_explicit(&h->hh->slots[i].peer_id,
					 memory_order_seq_cst))
			return;
	/* seq_cst: against an opener's claim then check of the life. */
	atomic_compare_exchange_strong_explicit(&h->hh->life, &life,
						HEAP_DESTROYED,
						memory_order_seq_cst,
						memory_order_seq_cst);
}

/*
 * Reclaim (see shmipc_heap_reclaim()).  Without @full, the records are
 * scanned only if a dead holder was found.  Returns records freed plus
 * pages released, or -errno.
 */
static int reclaim(struct shmipc_heap *h, bool full)
{
	struct heap_snap s;
	unsigned int i;
	uint64_t holder;
	int ret;

	snap_take(h, &s);
	if (full || s.ndead) {
		ret = heap_scan(h, reclaim_visit, &s);
		if (ret)
			return ret;
	}
	for (i = 0; i < HEAP_SLOTS; i++) {
		uint64_t bits, dead = s.peer[i];

		if (!s.dead[i])
			continue;
		/* seq_cst: the references go before the slot, and a
		 * remover's check of them pairs with this (Dekker). */
		bits = atomic_exchange_explicit(&h->hh->slots[i].chans, 0,
						memory_order_seq_cst);
		/* The dead id is never reused: this CAS cannot release a
		 * new holder's slot. */
		atomic_compare_exchange_strong_explicit(
			&h->hh->slots[i].peer_id, &dead, 0,
			memory_order_seq_cst, memory_order_seq_cst);
		for (uint32_t c = 0; bits && c < HEAP_CHANS; c++)
			if (bits & (1ULL << c))
				heap_chan_maybe_teardown(h, c, false);
	}
	ret = repair_claims(h, &s);
	if (ret < 0)
		return ret;
	/* A channel-table lock left by a dead holder: taking it repairs. */
	holder = atomic_load_explicit(&h->hh->lock, memory_order_relaxed);
	if (holder && heap_peer_gone(h, holder) && heap_lock(h) == 0)
		heap_unlock(h);
	/* Removed channels whose last closer died before tearing down. */
	for (i = 0; i < HEAP_CHANS; i++)
		if (CH_KIND(atomic_load_explicit(&h->hh->chans[i].state,
						 memory_order_relaxed)) ==
		    CH_REMOVED)
			heap_chan_maybe_teardown(h, i, false);
	heap_maybe_finalize(h);
	s.count += (uint64_t)ret;
	return s.count > INT32_MAX ? INT32_MAX : (int)s.count;
}

int shmipc_heap_reclaim(struct shmipc_heap *h)
{
	int ret;

	if (!h)
		return -EINVAL;
	ret = reclaim(h, true);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The channel-table lock */

/*
 * Take the lock word (our region peer id in it).  A holder that died is
 * replaced by one CAS from its (never reused) id, and what it left half
 * done is repaired.  Other holders are waited for, about a second at most.
 */
int heap_lock(struct shmipc_heap *h)
{
	uint64_t end = shmipc_now_ns() + RHDR_INIT_WAIT_MS * 1000000ULL;
	struct timespec ts = { 0, 100000 };

	for (;;) {
		uint64_t cur = 0;

		/* Acquire: what the last holder did under the lock. */
		if (atomic_compare_exchange_strong_explicit(
			    &h->hh->lock, &cur, h->peer_id,
			    memory_order_acquire, memory_order_relaxed))
			return 0;
		if (cur != h->peer_id && heap_peer_gone(h, cur) &&
		    atomic_compare_exchange_strong_explicit(
			    &h->hh->lock, &cur, h->peer_id,
			    memory_order_acquire, memory_order_relaxed)) {
			int ret = heap_chan_repair(h);

			if (ret < 0)
				heap_unlock(h);
			return ret < 0 ? ret : 0;
		}
		if (shmipc_now_ns() >= end)
			return -EAGAIN;
		nanosleep(&ts, NULL);
	}
}

void heap_unlock(struct shmipc_heap *h)
{
	uint64_t me = h->peer_id;

	/* Release: our changes under the lock before the next holder. */
	atomic_compare_exchange_strong_explicit(&h->hh->lock, &me, 0,
						memory_order_release,
						memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Allocation */

static int alloc_once(struct shmipc_heap *h, uint64_t size, uint64_t *off)
{
	int cls = size > SHMIPC_HEAP_CLASS_MAX ? -1 : class_of(size), ret;

	if (cls < 0)
		return alloc_run(h, (uint32_t)((size + HP_SIZE - 1) >> HP_SHIFT),
				 false, off);
	if (cls > HK_SMALL_MAX)
		return alloc_run(h, 1U << (cls - HP_SHIFT), true, off);
	if (h->cache_cap[cls - HK_MIN])
		return heap_cache_alloc(h, cls, off);
	ret = heap_claim_small(h, cls, heap_mine(h, RS_USED), off, 1);
	return ret == 1 ? 0 : ret == 0 ? -ENOMEM : ret;
}

/*
 * Out of memory: give our thread's cache back and every fully free page
 * to the unused pages, and try again; then (@may_reclaim) reclaim what
 * dead holders left, and try once more.
 */
int heap_alloc_locked(struct shmipc_heap *h, uint64_t size, uint64_t *off,
		      bool may_reclaim)
{
	int ret;

	if (size == 0)
		return -EINVAL;
	if (size > (uint64_t)h->npages << HP_SHIFT)
		return -ENOMEM;
	ret = alloc_once(h, size, off);
	if (ret != -ENOMEM)
		return ret;
	heap_cache_flush_mine(h);
	ret = release_free_pages(h);
	if (ret < 0)
		return ret;
	ret = alloc_once(h, size, off);
	if (ret != -ENOMEM || !may_reclaim || reclaim(h, false) <= 0)
		return ret;
	ret = release_free_pages(h);
	return ret < 0 ? ret : alloc_once(h, size, off);
}

int shmipc_heap_alloc(struct shmipc_heap *h, uint64_t size, uint64_t *off)
{
	if (!h || !off)
		return -EINVAL;
	return heap_alloc_locked(h, size, off, true);
}

/* Locate the record at @off and check that this handle holds it. */
static int rec_held(const struct shmipc_heap *h, uint64_t off,
		    struct heap_rec *rec)
{
	uint32_t mine, v;
	int ret;

	if (!h)
		return -EINVAL;
	ret = heap_locate(h, off, rec);
	if (ret)
		return ret;
	mine = heap_mine(h, RS_USED);
	v = atomic_load_explicit(&h->states[rec->sidx], memory_order_relaxed);
	return v == mine ? 0 : heap_check_state(h, v, mine);
}

int shmipc_heap_free(struct shmipc_heap *h, uint64_t off)
{
	struct heap_rec rec;
	uint32_t v;
	int ret = rec_held(h, off, &rec);

	if (ret)
		return ret;
	if (rec.cls >= 0 && h->cache_cap[rec.cls - HK_MIN])
		return heap_cache_free(h, &rec, off);
	if (rec_release(h, &rec, heap_mine(h, RS_USED)))
		return 0;
	/* Another thread freed it first: report what it is now. */
	v = atomic_load_explicit(&h->states[rec.sidx], memory_order_relaxed);
	ret = heap_check_state(h, v, heap_mine(h, RS_USED));
	return ret ? ret : -EINVAL;
}

int shmipc_heap_record(const struct shmipc_heap *h, uint64_t off, void **ptr,
		       uint64_t *size)
{
	struct heap_rec rec;
	int ret = rec_held(h, off, &rec);

	if (ret)
		return ret;
	if (ptr)
		*ptr = h->base + off;
	if (size)
		*size = rec.bytes;
	return 0;
}

int shmipc_heap_flush(struct shmipc_heap *h)
{
	if (!h)
		return -EINVAL;
	heap_cache_flush_mine(h);
	return 0;
}

/* Records of channel @chan (generation @gen), in flight or its ring. */
struct chan_match {
	uint32_t flight, ring;
	uint64_t count;
};

static int chan_visit(struct shmipc_heap *h, const struct heap_rec *rec,
		      uint32_t v, void *arg)
{
	struct chan_match *m = arg;

	if ((v == m->flight || v == m->ring) && rec_release(h, rec, v))
		m->count++;
	return 0;
}

int heap_free_channel_records(struct shmipc_heap *h, uint32_t chan,
			      uint32_t gen)
{
	struct chan_match m = { RS_MAKE(RS_FLIGHT, chan, gen),
				RS_MAKE(RS_RING, chan, gen), 0 };
	int ret = heap_scan(h, chan_visit, &m);

	return ret < 0 ? ret : (int)(m.count > INT32_MAX ? INT32_MAX : m.count);
}

/* Records our slot (this generation) holds: USED or CACHED. */
static int mine_visit(struct shmipc_heap *h, const struct heap_rec *rec,
		      uint32_t v, void *arg)
{
	(void)arg;
	if (v == heap_mine(h, RS_USED) || v == heap_mine(h, RS_CACHED))
		rec_release(h, rec, v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Statistics */

struct stats_ctx {
	struct heap_snap snap;
	struct shmipc_heap_stats *st;
};

static int stats_visit(struct shmipc_heap *h, const struct heap_rec *rec,
		       uint32_t v, void *arg)
{
	struct stats_ctx *c = arg;
	struct shmipc_heap_stats *st = c->st;
	int o = rec_orphan(&c->snap, v);

	(void)h;
	if (o < 0)
		return o;
	switch (RS_KIND(v)) {
	case RS_NONE:
	case RS_FREE:
		st->free_bytes += rec->bytes;
		st->free_records++;
		break;
	case RS_CACHED:
		st->cached_bytes += rec->bytes;
		st->cached_records++;
		break;
	case RS_USED:
		st->used_bytes += rec->bytes;
		st->used_records++;
		break;
	case RS_FLIGHT:
		st->in_flight_bytes += rec->bytes;
		st->in_flight_records++;
		break;
	default:
		st->channel_bytes += rec->bytes;
		break;
	}
	if (o && (RS_KIND(v) == RS_CACHED || RS_KIND(v) == RS_USED))
		st->reclaimable_bytes += rec->bytes;
	return 0;
}

int shmipc_heap_stats(struct shmipc_heap *h, struct shmipc_heap_stats *st)
{
	struct stats_ctx c;
	uint32_t p, i;
	int ret;

	if (!h || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	snap_take(h, &c.snap);
	c.st = st;
	st->pages = h->npages;
	st->total_bytes = (uint64_t)h->npages << HP_SHIFT;
	for (p = 0; p < h->npages; p++) {
		uint32_t e = atomic_load_explicit(&h->pagetab[p],
						  memory_order_relaxed);

		if (!page_entry_ok(h, p, e))
			return -EBADMSG;
		if (PG_TYPE(e) == PG_UNUSED) {
			st->free_bytes += HP_SIZE;
			st->unassigned_bytes += HP_SIZE;
		} else if (PG_TYPE(e) == PG_CLAIM) {
			st->used_bytes += HP_SIZE;
		}
	}
	ret = heap_scan(h, stats_visit, &c);
	if (ret)
		return ret;
	for (i = 0; i < HEAP_SLOTS; i++)
		if (c.snap.peer[i])
			st->handles++;
	for (i = 0; i < HEAP_CHANS; i++) {
		uint32_t k = CH_KIND(c.snap.chan[i]);

		if (k == CH_ACTIVE || k == CH_CREATING)
			st->channels++;
		else if (k == CH_REMOVED || k == CH_TEARDOWN)
			st->channels_removed++;
		else if (k != CH_FREE)
			return -EBADMSG;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Create, open, close, destroy */

static void hdr_config(struct heap_hdr *hh, uint64_t size,
		       const struct heap_layout *l)
{
	hh->version = SHMIPC_LIB_VERSION;
	hh->hdr_size = sizeof(*hh);
	hh->npages = l->npages;
	hh->size = size;
	hh->pagetab_off = l->pagetab_off;
	hh->hints_off = l->hints_off;
	hh->states_off = l->states_off;
	hh->data_off = l->data_off;
}

/* Check the header of the heap object at @off (@size bytes). */
static int hdr_check(struct shmipc_region *r, uint64_t off, uint64_t size,
		     struct heap_layout *l)
{
	struct heap_hdr *hh = shmipc_region_ptr(r, off, sizeof(*hh));
	int ret;

	if (!hh || size < sizeof(*hh) || !shmipc_in_region(r, off, size) ||
	    (off & 4095))
		return -EBADMSG;
	ret = shmipc_await_magic(&hh->magic, HEAP_MAGIC);
	if (ret)
		return ret;
	if (hh->version != SHMIPC_LIB_VERSION)
		return -EPROTONOSUPPORT;
	if (layout_of(size, l) || hh->hdr_size != sizeof(*hh) ||
	    hh->size != size || hh->npages != l->npages ||
	    hh->pagetab_off != l->pagetab_off ||
	    hh->hints_off != l->hints_off ||
	    hh->states_off != l->states_off || hh->data_off != l->data_off)
		return -EBADMSG;
	return 0;
}

/*
 * Empty a destroyed heap for reuse: nobody holds it (it was destroyed
 * when its last slot was released), so plain writes do; the generations
 * of slots and channels go on, so nothing from before can pass as new.
 */
static void heap_wipe(struct heap_hdr *hh, const struct heap_layout *l)
{
	char *b = (char *)hh;
	unsigned int i;

	memset(b + l->pagetab_off, 0, 4ULL * l->npages);
	memset(b + l->hints_off, 0, 4ULL * l->npages);
	memset(b + l->states_off, 0, 4ULL * HP_GRANS * l->npages);
	atomic_store_explicit(&hh->page_hint, 0, memory_order_relaxed);
	for (i = 0; i < 16; i++)
		atomic_store_explicit(&hh->class_hint[i], 0,
				      memory_order_relaxed);
	for (i = 0; i < HEAP_SLOTS; i++) {
		atomic_store_explicit(&hh->slots[i].peer_id, 0,
				      memory_order_relaxed);
		atomic_store_explicit(&hh->slots[i].chans, 0,
				      memory_order_relaxed);
	}
	for (i = 0; i < HEAP_CHANS; i++) {
		uint32_t st = atomic_load_explicit(&hh->chans[i].state,
						   memory_order_relaxed);

		atomic_store_explicit(&hh->chans[i].state,
				      CH_MAKE(CH_FREE, CH_GEN(st) + 1),
				      memory_order_relaxed);
	}
}

/* Fill the private fields of a handle of the heap at @off. */
static void handle_init(struct shmipc_heap *h, struct shmipc_region *r,
			uint64_t off, const struct heap_layout *l)
{
	char *obj = (char *)shmipc_region_base(r) + off;
	uint64_t limit;
	int k;

	h->r = r;
	h->hh = (struct heap_hdr *)obj;
	h->base = shmipc_region_base(r);
	h->pagetab = (_Atomic uint32_t *)(obj + l->pagetab_off);
	h->hints = (_Atomic int32_t *)(obj + l->hints_off);
	h->states = (_Atomic uint32_t *)(obj + l->states_off);
	h->data_off = off + l->data_off;
	h->npages = l->npages;
	h->slot = HEAP_NO_SLOT;
	h->peer_id = shmipc_region_peer_id(r);
	/* Per class at most min(64 KiB, heap / 256) bytes and 32 records
	 * in each thread's cache; fewer than 2 is not worth a cache. */
	limit = ((uint64_t)l->npages << HP_SHIFT) / 256;
	if (limit > 64 * 1024)
		limit = 64 * 1024;
	for (k = HK_MIN; k <= HK_SMALL_MAX; k++) {
		uint64_t cap = limit >> k;

		if (cap > HEAP_MAG_MAX)
			cap = HEAP_MAG_MAX;
		h->cache_cap[k - HK_MIN] = cap < 2 ? 0 : (uint32_t)cap;
	}
}

/* Re-initialize the destroyed heap at @off (see shmipc_heap_create()). */
static int heap_recreate(struct shmipc_region *r, uint64_t off, uint64_t size)
{
	struct shmipc_heap tmp;
	struct heap_layout l;
	uint32_t life;
	int ret = hdr_check(r, off, size, &l);

	if (ret)
		return ret == -EAGAIN ? -EAGAIN : -EEXIST;
	memset(&tmp, 0, sizeof(tmp));
	handle_init(&tmp, r, off, &l);
	life = atomic_load_explicit(&tmp.hh->life, memory_order_seq_cst);
	/* Marked, and held only by the dead?  Then nobody else releases
	 * their slots: reclaim them (it destroys the heap when none is left
	 * held), as an allocation that runs out does. */
	if (life == HEAP_DESTROYING) {
		ret = reclaim(&tmp, false);
		if (ret < 0)
			return ret;
		life = atomic_load_explicit(&tmp.hh->life,
					    memory_order_seq_cst);
	}
	if (life == HEAP_ACTIVE || life == HEAP_DESTROYING)
		return -EEXIST;
	/* The table lock makes us the only re-initializer; one that died
	 * at it left REINIT, which we redo.  (No repair is needed under a
	 * stolen lock: we wipe everything.) */
	ret = heap_lock(&tmp);
	if (ret)
		return ret;
	life = atomic_load_explicit(&tmp.hh->life, memory_order_seq_cst);
	if (life == HEAP_DESTROYED || life == HEAP_REINIT) {
		atomic_store_explicit(&tmp.hh->life, HEAP_REINIT,
				      memory_order_seq_cst);
		heap_wipe(tmp.hh, &l);
		/* Release: an opener that sees ACTIVE sees the wipe. */
		atomic_store_explicit(&tmp.hh->life, HEAP_ACTIVE,
				      memory_order_seq_cst);
		ret = 0;
	} else {
		ret = -EEXIST;
	}
	heap_unlock(&tmp);
	return ret;
}

int shmipc_heap_create(struct shmipc_region *r, const char *key,
		       uint64_t size)
{
	struct heap_layout l;
	struct heap_hdr *hh;
	uint64_t off, found;
	int ret;

	if (!r || layout_of(size, &l))
		return -EINVAL;
	ret = shmipc_dir_alloc(r, key, size, 4096, &off);
	if (ret == -EEXIST) {
		if (shmipc_obj_find(r, key, &off, &found) || found != size)
			return -EEXIST;
		return heap_recreate(r, off, size);
	}
	if (ret)
		return ret;
	hh = shmipc_region_ptr(r, off, size);
	if (!hh)
		return -EBADMSG;
	/* Fresh memory reads as zero: UNUSED pages, NONE states, FREE
	 * slots and channels. */
	hdr_config(hh, size, &l);
	atomic_store_explicit(&hh->life, HEAP_ACTIVE, memory_order_relaxed);
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&hh->magic, HEAP_MAGIC, memory_order_release);
	return 0;
}

/* Take a free slot: 0, or -EUSERS. */
static int slot_claim(struct shmipc_heap *h)
{
	unsigned int i;

	for (i = 0; i < HEAP_SLOTS; i++) {
		struct heap_slot *sl = &h->hh->slots[i];
		uint64_t cur = 0;

		/* seq_cst: see snap_take() and heap_maybe_finalize(). */
		if (!atomic_compare_exchange_strong_explicit(
			    &sl->peer_id, &cur, h->peer_id,
			    memory_order_seq_cst, memory_order_relaxed))
			continue;
		h->gen = atomic_fetch_add_explicit(&sl->gen, 1,
						   memory_order_seq_cst) + 1;
		atomic_store_explicit(&sl->chans, 0, memory_order_seq_cst);
		h->slot = i;
		return 0;
	}
	return -EUSERS;
}

static void slot_release(struct shmipc_heap *h)
{
	struct heap_slot *sl = &h->hh->slots[h->slot];
	uint64_t me = h->peer_id, bits;

	bits = atomic_exchange_explicit(&sl->chans, 0, memory_order_seq_cst);
	/* seq_cst: before the finalize check's reads (Dekker with open). */
	atomic_compare_exchange_strong_explicit(&sl->peer_id, &me, 0,
						memory_order_seq_cst,
						memory_order_relaxed);
	for (uint32_t c = 0; bits && c < HEAP_CHANS; c++)
		if (bits & (1ULL << c))
			heap_chan_maybe_teardown(h, c, false);
	h->slot = HEAP_NO_SLOT;
}

/* Wait (bounded) while a re-initialization runs; the life word then. */
static uint32_t await_life(struct heap_hdr *hh)
{
	uint64_t end = shmipc_now_ns() + RHDR_INIT_WAIT_MS * 1000000ULL;
	struct timespec ts = { 0, 1000000 };
	uint32_t life;

	/* Acquire: after REINIT, ACTIVE publishes the wipe. */
	while ((life = atomic_load_explicit(&hh->life,
					    memory_order_seq_cst)) ==
	       HEAP_REINIT && shmipc_now_ns() < end)
		nanosleep(&ts, NULL);
	return life;
}

int shmipc_heap_open(struct shmipc_region *r, const char *key,
		     struct shmipc_heap **out)
{
	struct shmipc_heap *h;
	struct heap_layout l;
	uint64_t off, size;
	uint32_t life;
	int ret;

	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	ret = shmipc_obj_find(r, key, &off, &size);
	if (ret)
		return ret;
	ret = hdr_check(r, off, size, &l);
	if (ret)
		return ret;
	life = await_life(shmipc_region_ptr(r, off, sizeof(struct heap_hdr)));
	if (life == HEAP_REINIT)
		return -EAGAIN;
	if (life != HEAP_ACTIVE)
		return life == HEAP_DESTROYING || life == HEAP_DESTROYED ?
		       -EIDRM : -EBADMSG;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	handle_init(h, r, off, &l);
	ret = slot_claim(h);
	if (ret == -EUSERS && reclaim(h, false) >= 0)
		ret = slot_claim(h);
	if (ret) {
		free(h);
		return ret;
	}
	/* seq_cst, after our claim: a destroyer's finalize either sees our
	 * slot or we see its mark. */
	if (atomic_load_explicit(&h->hh->life, memory_order_seq_cst) !=
	    HEAP_ACTIVE) {
		slot_release(h);
		heap_maybe_finalize(h);
		free(h);
		return -EIDRM;
	}
	if (pthread_mutex_init(&h->lock, NULL)) {
		slot_release(h);
		free(h);
		return -ENOMEM;
	}
	h->hid = heap_new_hid();
	*out = h;
	return 0;
}

int shmipc_heap_close(struct shmipc_heap *h)
{
	unsigned int i;
	int ret;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < HEAP_CHANS; i++) {
		if (h->chan_open[i]) {
			pthread_mutex_unlock(&h->lock);
			return -EBUSY;
		}
	}
	pthread_mutex_unlock(&h->lock);
	heap_cache_detach_all(h);
	/* The last live holder of a heap marked for destruction releases
	 * the dead ones too, so that the heap can be destroyed now. */
	if (atomic_load_explicit(&h->hh->life, memory_order_seq_cst) ==
	    HEAP_DESTROYING)
		reclaim(h, false);
	ret = heap_scan(h, mine_visit, NULL);
	slot_release(h);
	heap_maybe_finalize(h);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return ret;
}

int shmipc_heap_destroy(struct shmipc_heap *h)
{
	uint32_t life = HEAP_ACTIVE;

	if (!h)
		return -EINVAL;
	/* seq_cst: against an opener's claim then check of the life. */
	if (atomic_compare_exchange_strong_explicit(&h->hh->life, &life,
						    HEAP_DESTROYING,
						    memory_order_seq_cst,
						    memory_order_seq_cst) ||
	    life == HEAP_DESTROYING)
		return 0;
	return -EIDRM;
}

/* ------------------------------------------------------------------ */
/* Introspection (only reads: the mapping may be read-only) */

int shmipc_heap_describe(struct shmipc_region *r, uint64_t off, uint64_t size,
			 struct shmipc_object_stat *st)
{
	struct heap_hdr *hh = shmipc_region_ptr(r, off, sizeof(*hh));
	struct shmipc_heap_stats hs;
	struct shmipc_heap h;
	struct heap_layout l;

	if (!hh || size < sizeof(*hh) ||
	    atomic_load_explicit(&hh->magic, memory_order_acquire) !=
	    HEAP_MAGIC)
		return 0;
	/* A handle that holds no slot: the stats only read. */
	memset(&h, 0, sizeof(h));
	if (hdr_check(r, off, size, &l)) {
		st->flags |= SHMIPC_OBJECT_CORRUPT;
		return 1;
	}
	handle_init(&h, r, off, &l);
	if (shmipc_heap_stats(&h, &hs)) {
		st->flags |= SHMIPC_OBJECT_CORRUPT;
		return 1;
	}
	snprintf(st->detail, sizeof(st->detail),
		 "%llu of %llu bytes free, %llu records used, %u channels",
		 (unsigned long long)hs.free_bytes,
		 (unsigned long long)hs.total_bytes,
		 (unsigned long long)hs.used_records, hs.channels);
	return 1;
}
