// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Channels on a heap: MPMC queues of record offsets (8-byte messages)
 * whose rings are records of the heap, named in the heap's channel table.
 *
 * Table changes (add, remove, teardown, and the repair of what a dead
 * process left half done) happen under the table lock (heap_lock()).
 * Opening is lock-free: the entry is read state / fields / state again,
 * then the opener sets its slot's reference bit for the channel and
 * checks again that the channel is still ACTIVE with the same
 * generation.  A remover marks it REMOVED, then looks at every slot's
 * bit: both pairs seq_cst, so either the opener sees REMOVED (and backs
 * out) or the remover sees the bit (and leaves the teardown to the last
 * closer).  A channel's entry thus goes
 *   FREE(g) -> CREATING(g+1) -> ACTIVE -> REMOVED -> TEARDOWN -> FREE(g+1)
 * and records in flight on it or holding its ring are tagged (c, g+1).
 *
 * Sending marks the record IN_FLIGHT(c, g) (CAS from USED by us), then
 * queues its offset; if the queue refuses, the mark is undone.
 * Receiving takes an offset out of the queue, then marks the record
 * USED by us (CAS from IN_FLIGHT(c, g)); an offset that is not such a
 * record is -EBADMSG.  See include/shmipc/heap.h for the kill points.
 */
#include "heap_internal.h"

#include <stdlib.h>
#include <string.h>

#define CHAN_MSG	sizeof(uint64_t)	/* a record offset */

struct shmipc_heap_channel {
	struct shmipc_heap *h;
	struct shmipc_mpmc *q;
	uint32_t chan, gen;
};

/* @key as the table stores it: zero-padded words.  -EINVAL if bad. */
static int key_pack(const char *key, uint64_t w[CH_KEY_WORDS])
{
	size_t len;

	if (shmipc_check_key(key, &len))
		return -EINVAL;
	memset(w, 0, CH_KEY_WORDS * sizeof(w[0]));
	memcpy(w, key, len);
	return 0;
}

static bool key_equal(struct heap_chan *e, const uint64_t w[CH_KEY_WORDS])
{
	unsigned int i;

	for (i = 0; i < CH_KEY_WORDS; i++)
		/* Acquire: pairs with the adder's release stores, so a key
		 * word of a newer channel makes the caller's re-read of
		 * the state see that channel's state (seqlock reader). */
		if (atomic_load_explicit(&e->key[i], memory_order_acquire) !=
		    w[i])
			return false;
	return true;
}

static bool slot_holds(struct shmipc_heap *h, uint32_t chan)
{
	unsigned int i;

	for (i = 0; i < HEAP_SLOTS; i++)
		/* seq_cst: the remover's side of the Dekker pair. */
		if (atomic_load_explicit(&h->hh->slots[i].chans,
					 memory_order_seq_cst) &
		    (1ULL << chan))
			return true;
	return false;
}

/*
 * Tear channel @chan down (table lock held): free its ring and the
 * records in flight on it, then its entry.  Without @force only a
 * REMOVED channel nobody holds; with it also one left CREATING or in
 * TEARDOWN by a dead lock holder.  Returns records freed, or -errno.
 */
int heap_chan_teardown_locked(struct shmipc_heap *h, uint32_t chan,
			      bool force)
{
	struct heap_chan *e = &h->hh->chans[chan];
	uint32_t st = atomic_load_explicit(&e->state, memory_order_seq_cst);
	uint32_t kind = CH_KIND(st), gen = CH_GEN(st);
	int ret;

	if (kind == CH_REMOVED) {
		if (slot_holds(h, chan))
			return 0;
	} else if (!force || (kind != CH_CREATING && kind != CH_TEARDOWN)) {
		return 0;
	}
	atomic_store_explicit(&e->state, CH_MAKE(CH_TEARDOWN, gen),
			      memory_order_seq_cst);
	ret = heap_free_channel_records(h, chan, gen);
	if (ret < 0)
		return ret;
	/* Release: an adder (under the lock) sees the entry empty. */
	atomic_store_explicit(&e->state, CH_MAKE(CH_FREE, gen),
			      memory_order_release);
	return ret;
}

int heap_chan_repair(struct shmipc_heap *h)
{
	uint32_t c;
	int ret;

	for (c = 0; c < HEAP_CHANS; c++) {
		ret = heap_chan_teardown_locked(h, c, true);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void heap_chan_maybe_teardown(struct shmipc_heap *h, uint32_t chan,
			      bool locked)
{
	uint32_t st = atomic_load_explicit(&h->hh->chans[chan].state,
					   memory_order_seq_cst);

	if (CH_KIND(st) != CH_REMOVED || slot_holds(h, chan))
		return;
	if (!locked && heap_lock(h))
		return;		/* busy: a later close or reclaim does it */
	heap_chan_teardown_locked(h, chan, false);
	if (!locked)
		heap_unlock(h);
}

/* The entry of the live channel @w (lock held): index or -ENOENT. */
static int find_locked(struct shmipc_heap *h, const uint64_t *w,
		       int *free_idx)
{
	uint32_t c;
	int found = -ENOENT;

	if (free_idx)
		*free_idx = -1;
	for (c = 0; c < HEAP_CHANS; c++) {
		struct heap_chan *e = &h->hh->chans[c];
		uint32_t kind = CH_KIND(atomic_load_explicit(
			&e->state, memory_order_relaxed));

		if (kind > CH_TEARDOWN)
			return -EBADMSG;
		if (kind == CH_FREE && free_idx && *free_idx < 0)
			*free_idx = (int)c;
		if ((kind == CH_ACTIVE || kind == CH_CREATING) &&
		    found < 0 && key_equal(e, w))
			found = (int)c;
	}
	return found;
}

int shmipc_heap_channel_add(struct shmipc_heap *h, const char *key,
			    uint32_t capacity)
{
	uint64_t w[CH_KEY_WORDS], bytes, roff = 0;
	struct heap_chan *e;
	struct heap_rec rec;
	uint32_t gen, used;
	int ret, c, i;

	bytes = shmipc_mpmc_bytes(CHAN_MSG, capacity);
	if (!h || key_pack(key, w) || !bytes)
		return -EINVAL;
	ret = heap_lock(h);
	if (ret)
		return ret;
	if (atomic_load_explicit(&h->hh->life, memory_order_seq_cst) !=
	    HEAP_ACTIVE) {
		ret = -EIDRM;
		goto out;
	}
	ret = find_locked(h, w, &c);
	if (ret != -ENOENT) {
		ret = ret < 0 ? ret : -EEXIST;
		goto out;
	}
	if (c < 0) {
		ret = -ENOSPC;
		goto out;
	}
	e = &h->hh->chans[c];
	gen = CH_GEN(atomic_load_explicit(&e->state, memory_order_relaxed)) +
	      1;
	/* seq_cst: CREATING(gen) before any record is tagged with gen. */
	atomic_store_explicit(&e->state, CH_MAKE(CH_CREATING, gen),
			      memory_order_seq_cst);
	for (i = 0; i < CH_KEY_WORDS; i++)
		/* Release: after CREATING (see key_equal()). */
		atomic_store_explicit(&e->key[i], w[i], memory_order_release);
	atomic_store_explicit(&e->capacity, capacity, memory_order_relaxed);
	/* No reclaim from here: it may take the table lock we hold. */
	ret = heap_alloc_locked(h, bytes, &roff, false);
	if (ret)
		goto undo;
	used = heap_mine(h, RS_USED);
	ret = heap_locate(h, roff, &rec);
	if (ret)
		goto undo;
	/* Relaxed: the ring is published by the release of ACTIVE. */
	if (!atomic_compare_exchange_strong_explicit(
		    &h->states[rec.sidx], &used, RS_MAKE(RS_RING, c, gen),
		    memory_order_relaxed, memory_order_relaxed)) {
		ret = -EBADMSG;
		goto undo;
	}
	ret = shmipc_mpmc_init_at(h->r, roff, rec.bytes, CHAN_MSG, capacity);
	if (ret)
		goto undo;
	atomic_store_explicit(&e->ring_off, roff, memory_order_relaxed);
	/* Release: an opener that sees ACTIVE (acquire) sees the rest. */
	atomic_store_explicit(&e->state, CH_MAKE(CH_ACTIVE, gen),
			      memory_order_release);
	ret = 0;
	goto out;
undo:
	if (roff)	/* still ours if the CAS to RING failed */
		heap_release(h, roff, heap_mine(h, RS_USED));
	heap_chan_teardown_locked(h, (uint32_t)c, true);
out:
	heap_unlock(h);
	return ret;
}

int shmipc_heap_channel_remove(struct shmipc_heap *h, const char *key)
{
	uint64_t w[CH_KEY_WORDS];
	struct heap_chan *e;
	uint32_t st;
	int ret;

	if (!h || key_pack(key, w))
		return -EINVAL;
	ret = heap_lock(h);
	if (ret)
		return ret;
	ret = find_locked(h, w, NULL);
	if (ret >= 0) {
		e = &h->hh->chans[ret];
		st = atomic_load_explicit(&e->state, memory_order_relaxed);
		if (CH_KIND(st) == CH_ACTIVE) {
			/* seq_cst: before the check of the references. */
			atomic_store_explicit(&e->state,
					      CH_MAKE(CH_REMOVED, CH_GEN(st)),
					      memory_order_seq_cst);
			ret = heap_chan_teardown_locked(h, (uint32_t)ret,
							false);
			ret = ret < 0 ? ret : 0;
		} else {
			ret = -ENOENT;	/* being created: not there yet */
		}
	}
	heap_unlock(h);
	return ret;
}

/* Lock-free lookup of the ACTIVE channel @w: 0 and *@chan, *@gen. */
static int find_active(struct shmipc_heap *h, const uint64_t *w,
		       uint32_t *chan, uint32_t *gen)
{
	uint32_t c;

	for (c = 0; c < HEAP_CHANS; c++) {
		struct heap_chan *e = &h->hh->chans[c];
		/* Acquire: pairs with the release of ACTIVE. */
		uint32_t st = atomic_load_explicit(&e->state,
						   memory_order_acquire);
		bool same;

		if (CH_KIND(st) > CH_TEARDOWN)
			return -EBADMSG;
		if (CH_KIND(st) != CH_ACTIVE)
			continue;
		same = key_equal(e, w);
		/* Relaxed: ordered after the acquire loads of the key. */
		if (!same || atomic_load_explicit(&e->state,
						  memory_order_relaxed) != st)
			continue;
		*chan = c;
		*gen = CH_GEN(st);
		return 0;
	}
	return -ENOENT;
}

/* The ring of channel @c (gen @gen), pinned by our reference: open it. */
static int ring_open(struct shmipc_heap *h, uint32_t c, uint32_t gen,
		     struct shmipc_mpmc **q)
{
	struct heap_chan *e = &h->hh->chans[c];
	uint64_t roff = atomic_load_explicit(&e->ring_off,
					     memory_order_relaxed);
	uint32_t cap = atomic_load_explicit(&e->capacity,
					    memory_order_relaxed);
	struct heap_rec rec;
	int ret;

	if (!shmipc_mpmc_bytes(CHAN_MSG, cap) || heap_locate(h, roff, &rec) ||
	    atomic_load_explicit(&h->states[rec.sidx], memory_order_acquire) !=
	    RS_MAKE(RS_RING, c, gen))
		return -EBADMSG;
	ret = shmipc_mpmc_open_at(h->r, roff, rec.bytes, q);
	if (ret)
		return ret;
	if (shmipc_mpmc_slot_size(*q) != CHAN_MSG ||
	    shmipc_mpmc_capacity(*q) != cap) {
		shmipc_mpmc_close(*q);
		return -EBADMSG;
	}
	return 0;
}

int shmipc_heap_channel_open(struct shmipc_heap *h, const char *key,
			     struct shmipc_heap_channel **out)
{
	struct shmipc_heap_channel *ch;
	_Atomic uint64_t *bits;
	uint64_t w[CH_KEY_WORDS];
	uint32_t c, gen;
	bool first;
	int ret;

	if (!h || !out || key_pack(key, w))
		return -EINVAL;
	*out = NULL;
	ret = find_active(h, w, &c, &gen);
	if (ret)
		return ret;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	bits = &h->hh->slots[h->slot].chans;
	pthread_mutex_lock(&h->lock);
	first = h->chan_open[c] == 0;
	if (first) {
		/* seq_cst: the opener's side of the Dekker pair. */
		atomic_fetch_or_explicit(bits, 1ULL << c,
					 memory_order_seq_cst);
		if (atomic_load_explicit(&h->hh->chans[c].state,
					 memory_order_seq_cst) !=
		    CH_MAKE(CH_ACTIVE, gen)) {
			ret = -ENOENT;
			goto fail;
		}
	} else if (h->chan_gen[c] != gen) {
		ret = -EBADMSG;	/* a channel we pin cannot have changed */
		goto fail;
	}
	ret = ring_open(h, c, gen, &ch->q);
	if (ret)
		goto fail;
	h->chan_open[c]++;
	h->chan_gen[c] = gen;
	pthread_mutex_unlock(&h->lock);
	ch->h = h;
	ch->chan = c;
	ch->gen = gen;
	*out = ch;
	return 0;
fail:
	if (first)
		atomic_fetch_and_explicit(bits, ~(1ULL << c),
					  memory_order_seq_cst);
	pthread_mutex_unlock(&h->lock);
	free(ch);
	if (first)
		heap_chan_maybe_teardown(h, c, false);
	return ret;
}

int shmipc_heap_channel_close(struct shmipc_heap_channel *ch)
{
	struct shmipc_heap *h;
	bool last;

	if (!ch)
		return 0;
	h = ch->h;
	shmipc_mpmc_close(ch->q);
	pthread_mutex_lock(&h->lock);
	last = --h->chan_open[ch->chan] == 0;
	if (last)
		/* seq_cst: then the state check in maybe_teardown. */
		atomic_fetch_and_explicit(&h->hh->slots[h->slot].chans,
					  ~(1ULL << ch->chan),
					  memory_order_seq_cst);
	pthread_mutex_unlock(&h->lock);
	if (last)
		heap_chan_maybe_teardown(h, ch->chan, false);
	free(ch);
	return 0;
}

static int send_one(struct shmipc_heap_channel *ch, uint64_t off,
		    uint64_t deadline_ns, bool wait)
{
	struct shmipc_heap *h;
	struct heap_rec rec;
	uint32_t used, flight;
	int ret;

	if (!ch)
		return -EINVAL;
	h = ch->h;
	ret = heap_locate(h, off, &rec);
	if (ret)
		return ret;
	used = heap_mine(h, RS_USED);
	flight = RS_MAKE(RS_FLIGHT, ch->chan, ch->gen);
	/* Release: our writes to the record before the receiver's acquire
	 * of its state (the queue orders them too). */
	if (!atomic_compare_exchange_strong_explicit(
		    &h->states[rec.sidx], &used, flight, memory_order_release,
		    memory_order_relaxed)) {
		ret = heap_check_state(h, used, heap_mine(h, RS_USED));
		return ret ? ret : -EINVAL;
	}
	shmipc_test_kill_point(SHMIPC_KP_HEAP_FLIGHT);
	ret = wait ? shmipc_mpmc_send(ch->q, &off, deadline_ns) :
		     shmipc_mpmc_try_send(ch->q, &off);
	if (ret) {
		/* Not queued: still ours.  Relaxed: nobody else saw it. */
		used = heap_mine(h, RS_USED);
		atomic_compare_exchange_strong_explicit(
			&h->states[rec.sidx], &flight, used,
			memory_order_relaxed, memory_order_relaxed);
	}
	return ret;
}

static int recv_one(struct shmipc_heap_channel *ch, uint64_t *off,
		    uint64_t deadline_ns, bool wait)
{
	struct heap_rec rec;
	uint32_t flight;
	uint64_t o;
	int ret;

	if (!ch || !off)
		return -EINVAL;
	ret = wait ? shmipc_mpmc_recv(ch->q, &o, deadline_ns) :
		     shmipc_mpmc_try_recv(ch->q, &o);
	if (ret)
		return ret;
	shmipc_test_kill_point(SHMIPC_KP_HEAP_DEQUEUED);
	flight = RS_MAKE(RS_FLIGHT, ch->chan, ch->gen);
	/* Acquire: the sender's writes to the record before our reads. */
	if (heap_locate(ch->h, o, &rec) ||
	    !atomic_compare_exchange_strong_explicit(
		    &ch->h->states[rec.sidx], &flight,
		    heap_mine(ch->h, RS_USED), memory_order_acquire,
		    memory_order_relaxed))
		return -EBADMSG;
	*off = o;
	return 0;
}

int shmipc_heap_send(struct shmipc_heap_channel *ch, uint64_t off,
		     uint64_t deadline_ns)
{
	return send_one(ch, off, deadline_ns, true);
}

int shmipc_heap_try_send(struct shmipc_heap_channel *ch, uint64_t off)
{
	return send_one(ch, off, 0, false);
}

int shmipc_heap_recv(struct shmipc_heap_channel *ch, uint64_t *off,
		     uint64_t deadline_ns)
{
	return recv_one(ch, off, deadline_ns, true);
}

int shmipc_heap_try_recv(struct shmipc_heap_channel *ch, uint64_t *off)
{
	return recv_one(ch, off, 0, false);
}
