// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SPSC channel: a bounded ring of fixed-size slots, one producer and one
 * consumer (in any processes), inside a region.
 *
 * Shared layout (struct spsc_hdr, then the slot array at slots_off):
 *   line 0  config, written once by the creator (magic last, release)
 *   line 1  head: next slot to fill; written only by the producer
 *   line 2  tail: next slot to read; written only by the consumer
 *   line 3  sleep words: cons_waiting/data_seq (the consumer sleeps on
 *           data_seq), prod_waiting/space_seq (the producer sleeps on
 *           space_seq); written only around sleeps, so the line stays
 *           shared-clean on the fast path
 *   line 4  the two ends: (peer id, state) each; state is an owned word
 *           on the module backend (the kernel sets bit 31 on death) and
 *           carries a takeover generation (see END_TAKING)
 * Cursors are free-running 32-bit counters; capacity is a power of two,
 * so head - tail (mod 2^32) is the fill level and must be <= capacity:
 * anything else is a corrupt cursor (-EBADMSG).
 *
 * Each side keeps its own cursor privately (the shared copy is only ever
 * written by it) and caches the other's; the config is validated once
 * at open and kept in the handle, so a peer that scribbles on the header
 * later can only produce bad cursors, which are checked on every load.
 *
 * Sleeping (the waiter flag): the sleeper sets its flag (seq_cst), reads
 * the sequence word, re-checks the ring, and sleeps on the sequence word
 * if nothing changed.  The other side, after publishing its cursor
 * (seq_cst), takes the flag (seq_cst exchange with 0) and only if it was
 * set bumps the sequence word and wakes; the sleeper sets it again on
 * every round, so a sleeper killed asleep leaves at most one extra wake.  Both pairs being seq_cst, at least one side
 * sees the other's store (Dekker): either the sleeper sees the new
 * cursor, or the publisher sees the flag and its bump makes the sleeper's
 * wait return -EAGAIN.  Closing an end always bumps and wakes.
 */
#include "internal.h"
#include "introspect_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPSC_MAGIC	0x43505353U	/* "SSPC" */
#define SPSC_SPINS	4096		/* polls before sleeping */

/*
 * An end's state word: bits 0-1 the END_* value, bits 2-23 a generation
 * bumped by every takeover, bits 24-30 zero (else -EBADMSG), bit 31
 * SHMIPC_WORD_OWNER_DIED.  The state word
 * is the single point of arbitration between takers: a taker CASes it
 * from the exact value it inspected (generation included) to TAKING of
 * the next generation, then writes the peer id, then stores OPEN.  So a
 * taker whose snapshot went stale fails its CAS, and the peer id read
 * after a state (acquire) belongs to that state as long as the state
 * word still holds it.
 */
enum {
	END_FREE = 0,
	END_OPEN = 1,
	END_CLOSED = 2,
	END_TAKING = 3,
};

#define END_BASE_MASK	3U
#define END_GEN_SHIFT	2
#define END_GEN_MASK	0x00fffffcU
#define END_RSVD_MASK	0x7f000000U

struct spsc_end {
	_Atomic uint64_t peer;
	_Atomic uint32_t state;	/* END_* | generation | OWNER_DIED */
	uint32_t pad;
};

struct spsc_hdr {
	/* line 0: config */
	struct shmipc_obj_hdr obj;
	uint32_t msg_size;
	uint32_t stride;
	uint32_t capacity;
	uint64_t slots_off;	/* from the region base */
	uint8_t pad0[64 - 32];
	/* line 1: producer */
	_Atomic uint32_t head;
	uint8_t pad1[64 - 4];
	/* line 2: consumer */
	_Atomic uint32_t tail;
	uint8_t pad2[64 - 4];
	/* line 3: sleeping */
	_Atomic uint32_t cons_waiting;
	_Atomic uint32_t data_seq;
	_Atomic uint32_t prod_waiting;
	_Atomic uint32_t space_seq;
	uint8_t pad3[64 - 16];
	/* line 4: ends */
	struct spsc_end prod;
	struct spsc_end cons;
	uint8_t pad4[64 - 32];
};

_Static_assert(sizeof(struct spsc_hdr) == 5 * 64, "spsc header layout");
_Static_assert(offsetof(struct spsc_hdr, head) == 64, "head line");
_Static_assert(offsetof(struct spsc_hdr, tail) == 128, "tail line");

struct shmipc_spsc {
	struct shmipc_region *r;
	struct spsc_hdr *h;
	char *slots;
	struct spsc_end *mine, *other;
	uint32_t msg_size, stride, cap, mask;
	enum shmipc_role role;
	uint32_t pos;		/* our cursor (head or tail), authoritative */
	uint32_t other_cache;	/* last seen cursor of the other side */
	uint32_t pending;	/* reserved / peeked, not yet committed */
	uint32_t my_state;	/* our end's state word while we hold it */
};

/* ------------------------------------------------------------------ */
/* Create / open / close */

int shmipc_spsc_create(struct shmipc_region *r, const char *key,
		       uint32_t slot_size, uint32_t capacity)
{
	struct shmipc_obj_hdr *obj;
	struct spsc_hdr *h;
	uint64_t off, bytes;
	int ret;

	if (!r || slot_size == 0 || slot_size > SHMIPC_SPSC_SLOT_MAX ||
	    capacity < 2 || capacity > SHMIPC_SPSC_CAPACITY_MAX ||
	    (capacity & (capacity - 1)))
		return -EINVAL;
	bytes = sizeof(struct spsc_hdr) +
		(uint64_t)shmipc_round8(slot_size) * capacity;
	ret = shmipc_obj_create(r, key, bytes, sizeof(*h), &off, &obj);
	if (ret)
		return ret;
	h = (struct spsc_hdr *)obj;
	h->msg_size = slot_size;
	h->stride = shmipc_round8(slot_size);
	h->capacity = capacity;
	h->slots_off = off + sizeof(*h);
	shmipc_obj_publish(&h->obj, SPSC_MAGIC);
	return 0;
}

/* Check the ring header of the object at @off (@size bytes), published
 * and of our version (shmipc_obj_open()). */
static int spsc_check(struct shmipc_spsc *ch, uint64_t off, uint64_t size)
{
	struct spsc_hdr *h = ch->h;
	uint32_t msg, stride, cap;
	uint64_t slots_off;

	msg = h->msg_size;
	stride = h->stride;
	cap = h->capacity;
	slots_off = h->slots_off;
	if (msg == 0 ||
	    msg > SHMIPC_SPSC_SLOT_MAX || stride != shmipc_round8(msg) ||
	    cap < 2 || cap > SHMIPC_SPSC_CAPACITY_MAX || (cap & (cap - 1)) ||
	    slots_off != off + sizeof(*h) ||
	    size - sizeof(*h) < (uint64_t)stride * cap ||
	    !shmipc_in_region(ch->r, slots_off, (uint64_t)stride * cap))
		return -EBADMSG;
	ch->msg_size = msg;
	ch->stride = stride;
	ch->cap = cap;
	ch->mask = cap - 1;
	ch->slots = (char *)shmipc_region_base(ch->r) + slots_off;
	return 0;
}

/* Does an end state word hold a valid value?  *@base: its END_* value. */
static int end_state(uint32_t st, uint32_t *base)
{
	*base = st & END_BASE_MASK;
	return st & END_RSVD_MASK ? -EBADMSG : 0;
}

/* The state word of the next takeover after @st, with END_* @base. */
static uint32_t end_next(uint32_t st, uint32_t base)
{
	return ((st + (1U << END_GEN_SHIFT)) & END_GEN_MASK) | base;
}

/*
 * The peer of @end died while @end's state was @st (OPEN, bit clear):
 * make it durable in its state word.  Portable backend only: on the
 * module the kernel sets the bit in the owned word itself, and a write
 * here could hit a successor's word.  The CAS from exactly @st
 * (generation included) cannot mark a successor that took over since.
 */
static void mark_died(const struct shmipc_region *r, struct spsc_end *end,
		      uint32_t st)
{
	if (r->ops->kind == SHMIPC_BACKEND_MODULE)
		return;
	/* Relaxed: the bit carries no data; readers only test it. */
	atomic_compare_exchange_strong_explicit(
		&end->state, &st, st | SHMIPC_WORD_OWNER_DIED,
		memory_order_relaxed, memory_order_relaxed);
}

#define TAKE_TRIES 4	/* CAS losses to a concurrent change before -EBUSY */

static int spsc_take_role(struct shmipc_spsc *ch)
{
	const struct shmipc_backend_ops *ops = ch->r->ops;
	struct spsc_end *end = ch->mine;
	uint64_t me = shmipc_region_peer_id(ch->r);
	uint64_t old;
	uint32_t st, base, taking, open;
	unsigned int tries;
	bool died;
	int ret, owned;

	for (tries = 0; tries < TAKE_TRIES; tries++) {
		/* Acquire: what the previous holder wrote before leaving,
		 * and the peer id written before this state was stored. */
		st = atomic_load_explicit(&end->state, memory_order_acquire);
		old = atomic_load_explicit(&end->peer, memory_order_acquire);
		if (end_state(st, &base))
			return -EBADMSG;
		died = st & SHMIPC_WORD_OWNER_DIED;
		if (base == END_TAKING && !died)
			return -EBUSY;	/* another taker is between its steps */
		if (base == END_OPEN && !died) {
			if (old == me)
				return -EBUSY;
			ret = ops->peer_alive(ch->r, old);
			if (ret == 1)
				return -EBUSY;
			died = ret == -EOWNERDEAD;
		}
		/* Module: own the word before it is ours, so that if we die
		 * from here on the kernel marks it and the end is not wedged
		 * in TAKING. */
		owned = ops->own(ch->r, &end->state, false);
		if (owned && owned != -EEXIST)
			return owned;
		taking = end_next(st, END_TAKING);
		/* acq_rel: exactly one taker of this snapshot wins; acquire
		 * of what the previous holder published. */
		if (atomic_compare_exchange_strong_explicit(
			    &end->state, &st, taking, memory_order_acq_rel,
			    memory_order_relaxed))
			break;
		if (!owned)
			ops->own(ch->r, &end->state, true);
	}
	if (tries == TAKE_TRIES)
		return -EBUSY;
	/* Relaxed: published by the release (seq_cst) store of OPEN. */
	atomic_store_explicit(&end->peer, me, memory_order_relaxed);
	open = end_next(st, END_OPEN);
	ch->my_state = open;
	/* seq_cst: ordered with the other side's reads of our state. */
	atomic_store_explicit(&end->state, open, memory_order_seq_cst);
	if (died && old)
		ops->reclaim(ch->r, old);	/* its word is repaired now */
	return 0;
}

int shmipc_spsc_open(struct shmipc_region *r, const char *key,
		     enum shmipc_role role, struct shmipc_spsc **out)
{
	struct shmipc_obj_hdr *obj;
	struct shmipc_spsc *ch;
	uint64_t off, size;
	uint32_t head, tail;
	int ret;

	if (!r || !out || (role != SHMIPC_PRODUCER && role != SHMIPC_CONSUMER))
		return -EINVAL;
	*out = NULL;
	ret = shmipc_obj_open(r, key, SPSC_MAGIC, sizeof(struct spsc_hdr),
			      &off, &size, &obj);
	if (ret)
		return ret;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->r = r;
	ch->role = role;
	ch->h = (struct spsc_hdr *)obj;
	ret = spsc_check(ch, off, size);
	if (ret)
		goto fail;
	ch->mine = role == SHMIPC_PRODUCER ? &ch->h->prod : &ch->h->cons;
	ch->other = role == SHMIPC_PRODUCER ? &ch->h->cons : &ch->h->prod;
	ret = spsc_take_role(ch);
	if (ret)
		goto fail;
	/* Acquire both: we continue from where the previous holder of our
	 * role stopped, and see what the other side published. */
	head = atomic_load_explicit(&ch->h->head, memory_order_acquire);
	tail = atomic_load_explicit(&ch->h->tail, memory_order_acquire);
	if ((uint32_t)(head - tail) > ch->cap) {
		shmipc_spsc_close(ch);
		return -EBADMSG;
	}
	ch->pos = role == SHMIPC_PRODUCER ? head : tail;
	ch->other_cache = role == SHMIPC_PRODUCER ? tail : head;
	*out = ch;
	return 0;
fail:
	free(ch);
	return ret;
}

/* Bump the other side's sequence word and wake it (if @force or it sleeps). */
static void wake_other(struct shmipc_spsc *ch, bool force)
{
	struct spsc_hdr *h = ch->h;
	_Atomic uint32_t *flag, *seq;

	if (ch->role == SHMIPC_PRODUCER) {
		flag = &h->cons_waiting;
		seq = &h->data_seq;
	} else {
		flag = &h->prod_waiting;
		seq = &h->space_seq;
	}
	/* The Dekker pair with the sleeper's flag (see the top of this file
	 * and shmipc_wake_sleepers()). */
	shmipc_wake_sleepers(ch->r, flag, seq, 1, force);
}

int shmipc_spsc_close(struct shmipc_spsc *ch)
{
	struct spsc_end *end;
	uint64_t me;
	uint32_t st;

	if (!ch)
		return 0;
	end = ch->mine;
	me = shmipc_region_peer_id(ch->r);
	/* Only if the end is still ours (a hostile peer may have taken it):
	 * CAS from our own OPEN word, keeping its generation.  seq_cst:
	 * before the bump that tells the other side.  CLOSED is stored
	 * before the ownership goes, so a death in between reads as one. */
	st = ch->my_state;
	if (atomic_load_explicit(&end->peer, memory_order_relaxed) == me &&
	    atomic_compare_exchange_strong_explicit(
		    &end->state, &st,
		    (st & END_GEN_MASK) | END_CLOSED,
		    memory_order_seq_cst, memory_order_relaxed)) {
		ch->r->ops->own(ch->r, &end->state, true);
		wake_other(ch, true);
	}
	free(ch);
	return 0;
}

uint32_t shmipc_spsc_slot_size(const struct shmipc_spsc *ch)
{
	return ch ? ch->msg_size : 0;
}

uint32_t shmipc_spsc_capacity(const struct shmipc_spsc *ch)
{
	return ch ? ch->cap : 0;
}

/* ------------------------------------------------------------------ */
/* Non-blocking paths */

/* Producer: free slots, reloading the tail if fewer than @want. */
static int prod_free(struct shmipc_spsc *ch, uint32_t want, uint32_t *free)
{
	uint32_t f = ch->cap - (ch->pos - ch->other_cache);

	if (f < want) {
		/* Acquire: the consumer's release of tail says it is done
		 * reading those slots, so we may overwrite them. */
		uint32_t t = atomic_load_explicit(&ch->h->tail,
						  memory_order_acquire);

		if ((uint32_t)(ch->pos - t) > ch->cap)
			return -EBADMSG;
		ch->other_cache = t;
		f = ch->cap - (ch->pos - t);
	}
	*free = f;
	return 0;
}

/* Consumer: messages available, reloading the head if fewer than @want. */
static int cons_avail(struct shmipc_spsc *ch, uint32_t want, uint32_t *avail)
{
	uint32_t a = ch->other_cache - ch->pos;

	if (a < want) {
		/* Acquire: pairs with the producer's store of head, so the
		 * slot contents written before it are visible. */
		uint32_t hd = atomic_load_explicit(&ch->h->head,
						   memory_order_acquire);

		if ((uint32_t)(hd - ch->pos) > ch->cap)
			return -EBADMSG;
		ch->other_cache = hd;
		a = hd - ch->pos;
	}
	*avail = a;
	return 0;
}

static void publish(struct shmipc_spsc *ch, uint32_t k)
{
	ch->pos += k;
	ch->pending = 0;
	/* seq_cst (not just release): the store must be ordered before the
	 * load of the other side's waiter flag in wake_other(); release
	 * alone is what makes the slots / the freed space visible. */
	atomic_store_explicit(ch->role == SHMIPC_PRODUCER ? &ch->h->head :
							    &ch->h->tail,
			      ch->pos, memory_order_seq_cst);
	wake_other(ch, false);
}

static int send_n(struct shmipc_spsc *ch, const void *msgs, unsigned int n,
		  unsigned int *free_space, bool all)
{
	const char *src = msgs;
	uint32_t f, k, i;
	int ret;

	if (!ch || (!msgs && n))
		return -EINVAL;
	if (ch->role != SHMIPC_PRODUCER)
		return -EPERM;
	if (all && n > ch->cap)
		return -EINVAL;
	ret = prod_free(ch, n, &f);
	if (ret)
		return ret;
	k = n < f ? n : f;
	if (all && k < n)
		k = 0;
	for (i = 0; i < k; i++)
		memcpy(ch->slots + (size_t)((ch->pos + i) & ch->mask) *
				   ch->stride,
		       src + (size_t)i * ch->msg_size, ch->msg_size);
	if (k)
		publish(ch, k);
	if (free_space)
		*free_space = f - k;
	if (all && k == 0 && n)
		return -EAGAIN;
	return (int)k;
}

static int recv_n(struct shmipc_spsc *ch, void *msgs, unsigned int n,
		  unsigned int *avail, bool all)
{
	char *dst = msgs;
	uint32_t a, k, i;
	int ret;

	if (!ch || (!msgs && n))
		return -EINVAL;
	if (ch->role != SHMIPC_CONSUMER)
		return -EPERM;
	if (all && n > ch->cap)
		return -EINVAL;
	ret = cons_avail(ch, n, &a);
	if (ret)
		return ret;
	k = n < a ? n : a;
	if (all && k < n)
		k = 0;
	for (i = 0; i < k; i++)
		memcpy(dst + (size_t)i * ch->msg_size,
		       ch->slots + (size_t)((ch->pos + i) & ch->mask) *
				   ch->stride,
		       ch->msg_size);
	if (k)
		publish(ch, k);
	if (avail)
		*avail = a - k;
	if (all && k == 0 && n)
		return -EAGAIN;
	return (int)k;
}

int shmipc_spsc_send_burst(struct shmipc_spsc *ch, const void *msgs,
			   unsigned int n, unsigned int *free_space)
{
	return send_n(ch, msgs, n, free_space, false);
}

int shmipc_spsc_send_bulk(struct shmipc_spsc *ch, const void *msgs,
			  unsigned int n, unsigned int *free_space)
{
	return send_n(ch, msgs, n, free_space, true);
}

int shmipc_spsc_recv_burst(struct shmipc_spsc *ch, void *msgs,
			   unsigned int n, unsigned int *avail)
{
	return recv_n(ch, msgs, n, avail, false);
}

int shmipc_spsc_recv_bulk(struct shmipc_spsc *ch, void *msgs,
			  unsigned int n, unsigned int *avail)
{
	return recv_n(ch, msgs, n, avail, true);
}

int shmipc_spsc_try_send(struct shmipc_spsc *ch, const void *msg)
{
	int ret = send_n(ch, msg, 1, NULL, false);

	return ret == 1 ? 0 : ret == 0 ? -EAGAIN : ret;
}

int shmipc_spsc_try_recv(struct shmipc_spsc *ch, void *msg)
{
	int ret = recv_n(ch, msg, 1, NULL, false);

	return ret == 1 ? 0 : ret == 0 ? -EAGAIN : ret;
}

/* Contiguous run of up to @n slots from our cursor, given @have. */
static uint32_t run_len(const struct shmipc_spsc *ch, uint32_t n,
			uint32_t have)
{
	uint32_t to_end = ch->cap - (ch->pos & ch->mask);
	uint32_t k = n < have ? n : have;

	return k < to_end ? k : to_end;
}

/*
 * Lend the caller the next contiguous run of up to @n slots that @role
 * may touch (reserve: free slots; peek: full ones), found by @have.
 */
static int spsc_lend(struct shmipc_spsc *ch, enum shmipc_role role,
		     unsigned int n, void **slots,
		     int (*have)(struct shmipc_spsc *, uint32_t, uint32_t *))
{
	uint32_t k;
	int ret;

	if (!ch || !slots)
		return -EINVAL;
	if (ch->role != role)
		return -EPERM;
	ret = have(ch, n, &k);
	if (ret)
		return ret;
	ch->pending = run_len(ch, n, k);
	*slots = ch->slots + (size_t)(ch->pos & ch->mask) * ch->stride;
	return (int)ch->pending;
}

/* Hand back @k of the lent slots, publishing them (commit / release). */
static int spsc_give_back(struct shmipc_spsc *ch, enum shmipc_role role,
			  unsigned int k)
{
	if (!ch || ch->role != role)
		return ch ? -EPERM : -EINVAL;
	if (k > ch->pending)
		return -EINVAL;
	if (k)
		publish(ch, k);
	ch->pending = 0;
	return 0;
}

int shmipc_spsc_reserve(struct shmipc_spsc *ch, unsigned int n, void **slots)
{
	return spsc_lend(ch, SHMIPC_PRODUCER, n, slots, prod_free);
}

int shmipc_spsc_commit(struct shmipc_spsc *ch, unsigned int k)
{
	return spsc_give_back(ch, SHMIPC_PRODUCER, k);
}

int shmipc_spsc_peek(struct shmipc_spsc *ch, unsigned int n,
		     const void **slots)
{
	void *p;
	int ret = spsc_lend(ch, SHMIPC_CONSUMER, n, slots ? &p : NULL,
			    cons_avail);

	if (ret >= 0)
		*slots = p;
	return ret;
}

int shmipc_spsc_release(struct shmipc_spsc *ch, unsigned int k)
{
	return spsc_give_back(ch, SHMIPC_CONSUMER, k);
}

/* ------------------------------------------------------------------ */
/* Blocking paths */

/*
 * The other end's state: 0 (open, *@peer its id; or not attached yet,
 * *@peer 0), -EOWNERDEAD, -EPIPE, -EBADMSG.  *@st: the state word read.
 */
static int other_status(struct shmipc_spsc *ch, uint64_t *peer, uint32_t *st)
{
	uint32_t base;

	/* seq_cst: after our flag store (a close's state store is seq_cst
	 * and followed by a bump of our sequence word); also acquire, so
	 * the peer id read next is at least the one of this state. */
	*st = atomic_load_explicit(&ch->other->state, memory_order_seq_cst);
	*peer = atomic_load_explicit(&ch->other->peer, memory_order_relaxed);
	if (end_state(*st, &base))
		return -EBADMSG;
	if (*st & SHMIPC_WORD_OWNER_DIED)
		return -EOWNERDEAD;
	if (base == END_CLOSED)
		return -EPIPE;
	if (base != END_OPEN)
		*peer = 0;	/* free, or being taken: wait for anyone */
	return 0;
}

/* Try @op once; 1 if it did something, 0 if it would block, or -errno. */
static int try_once(struct shmipc_spsc *ch, void *msg)
{
	int ret = ch->role == SHMIPC_PRODUCER ?
			  shmipc_spsc_try_send(ch, msg) :
			  shmipc_spsc_try_recv(ch, msg);

	return ret == 0 ? 1 : ret == -EAGAIN ? 0 : ret;
}

static int block(struct shmipc_spsc *ch, void *msg, uint64_t deadline_ns)
{
	const struct shmipc_backend_ops *ops = ch->r->ops;
	struct spsc_hdr *h = ch->h;
	_Atomic uint32_t *flag, *seq;
	unsigned int spins;
	int ret, gone;

	if (ch->role == SHMIPC_PRODUCER) {
		flag = &h->prod_waiting;
		seq = &h->space_seq;
	} else {
		flag = &h->cons_waiting;
		seq = &h->data_seq;
	}
	for (spins = 0; spins < SPSC_SPINS; spins++) {
		ret = try_once(ch, msg);
		if (ret)
			return ret < 0 ? ret : 0;
		shmipc_cpu_relax();
	}
	for (;;) {
		uint64_t peer, peer2;
		uint32_t s, st, st2;

		/* Set again on every round: the waker clears it when it
		 * wakes us (the Dekker pair with publish()/wake_other()). */
		s = shmipc_sleep_arm(flag, seq);
		ret = try_once(ch, msg);
		if (ret) {
			atomic_store_explicit(flag, 0, memory_order_relaxed);
			return ret < 0 ? ret : 0;
		}
		gone = other_status(ch, &peer, &st);
		if (!gone) {
			ret = ops->wait(ch->r, seq, s, deadline_ns, peer);
			if (ret == -EOWNERDEAD && peer)
				mark_died(ch->r, ch->other, st);
			if (ret == -EPIPE) {
				/* Peer unknown: a clean close, or a crash whose
				 * record was reclaimed (then the state says so),
				 * or a successor took over (then go on). */
				gone = other_status(ch, &peer2, &st2);
				if (!gone && (st2 != st || peer2 != peer))
					ret = 0;
				else if (!gone)
					gone = -EPIPE;
			} else if (ret == -EOWNERDEAD || ret == -ETIMEDOUT) {
				gone = ret;
			} else if (ret && ret != -EAGAIN && ret != -EINTR) {
				gone = ret;
			}
		}
		atomic_store_explicit(flag, 0, memory_order_relaxed);
		if (gone) {
			/* Everything sent before the end went is received
			 * first; space freed before it went is used. */
			ret = try_once(ch, msg);
			if (ret)
				return ret < 0 ? ret : 0;
			return gone;
		}
		if (deadline_ns != SHMIPC_FOREVER &&
		    shmipc_now_ns() >= deadline_ns) {
			ret = try_once(ch, msg);
			return ret < 0 ? ret : ret ? 0 : -ETIMEDOUT;
		}
	}
}

int shmipc_spsc_send(struct shmipc_spsc *ch, const void *msg,
		     uint64_t deadline_ns)
{
	if (!ch || !msg)
		return -EINVAL;
	if (ch->role != SHMIPC_PRODUCER)
		return -EPERM;
	return block(ch, (void *)msg, deadline_ns);
}

int shmipc_spsc_recv(struct shmipc_spsc *ch, void *msg, uint64_t deadline_ns)
{
	if (!ch || !msg)
		return -EINVAL;
	if (ch->role != SHMIPC_CONSUMER)
		return -EPERM;
	return block(ch, msg, deadline_ns);
}

/* ------------------------------------------------------------------ */
/* Introspection (only reads: the mapping may be read-only) */

static const char *end_name(const struct shmipc_region *r,
			    const struct spsc_end *end, char *buf, size_t len)
{
	/* Acquire: the peer id written before this state was stored. */
	uint32_t st = atomic_load_explicit(&end->state, memory_order_acquire);
	uint64_t peer = atomic_load_explicit(&end->peer, memory_order_relaxed);
	uint32_t base;

	if (end_state(st, &base))
		return "corrupt";
	if (base == END_FREE)
		return "none";
	if (base == END_CLOSED)
		return "closed";
	if (base == END_TAKING)
		return "being taken over";
	snprintf(buf, len, "peer %llu%s", (unsigned long long)peer,
		 (st & SHMIPC_WORD_OWNER_DIED) ||
		 r->ops->peer_alive(r, peer) == -EOWNERDEAD ? " (dead)" : "");
	return buf;
}

int shmipc_spsc_describe(struct shmipc_region *r, uint64_t off, uint64_t size,
			 struct shmipc_object_stat *st)
{
	struct shmipc_spsc ch = { .r = r };
	char prod[40], cons[40];

	ch.h = shmipc_region_ptr(r, off, sizeof(*ch.h));
	if (!ch.h || size < sizeof(*ch.h) ||
	    atomic_load_explicit(&ch.h->obj.magic, memory_order_acquire) !=
	    SPSC_MAGIC)
		return 0;
	if (spsc_check(&ch, off, size)) {
		st->flags |= SHMIPC_OBJECT_CORRUPT;
		return 1;
	}
	shmipc_inspect_fill(st, &ch.h->head, &ch.h->tail, ch.cap, ch.msg_size);
	snprintf(st->detail, sizeof(st->detail), "producer: %s, consumer: %s",
		 end_name(r, &ch.h->prod, prod, sizeof(prod)),
		 end_name(r, &ch.h->cons, cons, sizeof(cons)));
	return 1;
}
