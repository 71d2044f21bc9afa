// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MPMC channel: a bounded queue of fixed-size slots for any number of
 * producers and consumers (threads or processes), after Dmitry Vyukov's
 * bounded MPMC queue: each slot starts with a 32-bit sequence number.
 *
 *   slot i starts with seq = i.  A producer at position p may fill the
 *   slot when seq == p: it claims p by a CAS on enq_pos, copies, then
 *   publishes seq = p + 1.  A consumer at position p may read it when
 *   seq == p + 1: it claims p by a CAS on deq_pos, copies, then frees the
 *   slot for the next lap with seq = p + capacity.
 *
 * Shared layout: config line, enq_pos line, deq_pos line, sleep line
 * (waiter counts and sequence words), then the slot array (each slot: a
 * 16-byte header holding seq and the holder's claim tag and peer id,
 * then the message padded to 8 bytes).
 *
 * Holders: whoever wins a position writes (peer id, tag = pos * 2 + role)
 * into the slot right after its CAS.  A blocked side that waits on a
 * slot held by someone else (claimed, not yet published or released)
 * checks that holder's liveness (and sleeps naming its peer id, so the
 * module wakes it at the death): when the holder died, it repairs the
 * queue (a consumer skips the lost position, a producer frees the slot)
 * and returns -EOWNERDEAD once, so the loss is reported, not silent, and
 * the queue goes on.  A holder killed between its CAS and the tag write
 * is not detected (a window of a few instructions): then the blocked
 * side waits until its deadline.
 *
 * Untrusted input: the config is validated once at open and kept in the
 * handle; a slot's seq more than a lap behind the position is corrupt
 * (-EBADMSG); CAS retries are bounded (-EAGAIN), so a hostile
 * writer cannot make a call loop forever.
 *
 * Sleeping: a blocked side sets its waiter flag (seq_cst, on every
 * round), reads the sequence word, re-checks the queue and sleeps on the
 * word.  The other side publishes a slot's seq (seq_cst), then takes the
 * flag (seq_cst exchange with 0) and only if it was set bumps the word
 * and wakes all sleepers: the same Dekker pairing as the SPSC channel.
 * A flag, not a count: a sleeper killed while asleep cannot leave a
 * count that makes every later publish a syscall.
 *
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MPMC_MAGIC	0x434d504dU	/* "MPMC" */
#define MPMC_SPINS	4096
#define MPMC_RETRIES	1024U	/* CAS losses per call: far above real contention */

struct mpmc_hdr {
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t msg_size;
	uint32_t stride;	/* 16 + round8(msg_size) */
	uint32_t capacity;
	uint64_t slots_off;
	uint8_t pad0[64 - 32];
	_Atomic uint32_t enq_pos;
	uint8_t pad1[64 - 4];
	_Atomic uint32_t deq_pos;
	uint8_t pad2[64 - 4];
	_Atomic uint32_t cons_waiters;	/* a flag: 1 while a consumer sleeps */
	_Atomic uint32_t data_seq;
	_Atomic uint32_t prod_waiters;	/* a flag: 1 while a producer sleeps */
	_Atomic uint32_t space_seq;
	uint8_t pad3[64 - 16];
};

_Static_assert(sizeof(struct mpmc_hdr) == 4 * 64, "mpmc header layout");

struct mpmc_slot {
	_Atomic uint32_t seq;
	_Atomic uint32_t tag;		/* pos * 2 + (0 producer, 1 consumer) */
	_Atomic uint64_t holder;	/* peer id of the last claimer */
	unsigned char data[];
};

_Static_assert(sizeof(struct mpmc_slot) == 16, "slot header");

struct shmipc_mpmc {
	struct shmipc_region *r;
	struct mpmc_hdr *h;
	char *slots;
	uint32_t msg_size, stride, cap, mask;
};

static struct mpmc_slot *slot_at(const struct shmipc_mpmc *q, uint32_t pos)
{
	return (struct mpmc_slot *)(q->slots +
				    (size_t)(pos & q->mask) * q->stride);
}

int shmipc_mpmc_create(struct shmipc_region *r, const char *key,
		       uint32_t slot_size, uint32_t capacity)
{
	struct mpmc_hdr *h;
	uint64_t off, bytes, stride;
	uint32_t i;
	int ret;

	if (!r || slot_size == 0 || slot_size > SHMIPC_SPSC_SLOT_MAX ||
	    capacity < 2 || capacity > SHMIPC_SPSC_CAPACITY_MAX ||
	    (capacity & (capacity - 1)))
		return -EINVAL;
	stride = sizeof(struct mpmc_slot) + (uint64_t)shmipc_round8(slot_size);
	bytes = sizeof(struct mpmc_hdr) + stride * capacity;
	h = shmipc_dir_new(r, key, bytes, 64, &off, &ret);
	if (!h)
		return ret;
	h->version = SHMIPC_LIB_VERSION;
	h->hdr_size = sizeof(*h);
	h->msg_size = slot_size;
	h->stride = (uint32_t)stride;
	h->capacity = capacity;
	h->slots_off = off + sizeof(*h);
	for (i = 0; i < capacity; i++) {
		struct mpmc_slot *s = (struct mpmc_slot *)
			((char *)h + sizeof(*h) + (size_t)i * stride);

		/* Relaxed: published by the release of the magic below. */
		atomic_store_explicit(&s->seq, i, memory_order_relaxed);
	}
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&h->magic, MPMC_MAGIC, memory_order_release);
	return 0;
}

int shmipc_mpmc_open(struct shmipc_region *r, const char *key,
		     struct shmipc_mpmc **out)
{
	uint64_t off, size, slots_off;
	uint32_t msg, stride, cap;
	struct shmipc_mpmc *q;
	struct mpmc_hdr *h;
	int ret;

	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	ret = shmipc_dir_find(r, key, &off, &size);
	if (ret)
		return ret;
	h = shmipc_region_ptr(r, off, sizeof(*h));
	if (!h || size < sizeof(*h))
		return -EBADMSG;
	ret = shmipc_await_header(&h->magic, &h->version, MPMC_MAGIC);
	if (ret)
		return ret;
	msg = h->msg_size;
	stride = h->stride;
	cap = h->capacity;
	slots_off = h->slots_off;
	if (h->hdr_size != sizeof(*h) || msg == 0 ||
	    msg > SHMIPC_SPSC_SLOT_MAX ||
	    stride != sizeof(struct mpmc_slot) + shmipc_round8(msg) ||
	    cap < 2 || cap > SHMIPC_SPSC_CAPACITY_MAX || (cap & (cap - 1)) ||
	    slots_off != off + sizeof(*h) ||
	    size - sizeof(*h) < (uint64_t)stride * cap ||
	    !shmipc_in_region(r, slots_off, (uint64_t)stride * cap))
		return -EBADMSG;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->r = r;
	q->h = h;
	q->slots = (char *)shmipc_region_base(r) + slots_off;
	q->msg_size = msg;
	q->stride = stride;
	q->cap = cap;
	q->mask = cap - 1;
	*out = q;
	return 0;
}

int shmipc_mpmc_close(struct shmipc_mpmc *q)
{
	free(q);
	return 0;
}

uint32_t shmipc_mpmc_slot_size(const struct shmipc_mpmc *q)
{
	return q ? q->msg_size : 0;
}

uint32_t shmipc_mpmc_capacity(const struct shmipc_mpmc *q)
{
	return q ? q->cap : 0;
}

/*
 * Wake the sleepers of @seq if the waiter flag says someone sleeps.  The
 * flag is taken (cleared) by the waker and set again by every sleeper on
 * every round, so a sleeper that was killed cannot leave it stuck (a count
 * could stick, and then every later publish would make a syscall).  As a
 * flag cannot say how many sleep, all of them are woken: each re-checks
 * and the ones that find nothing set it again and sleep.  Waking all also
 * means a waiter that gives up (deadline) after a wake swallows nothing.
 */
static void wake_one(struct shmipc_mpmc *q, _Atomic uint32_t *waiters,
		     _Atomic uint32_t *seq)
{
	/* seq_cst: after our seq_cst publish of the slot (Dekker). */
	if (!atomic_exchange_explicit(waiters, 0, memory_order_seq_cst))
		return;
	/* Release: ordered after the slot we published. */
	atomic_fetch_add_explicit(seq, 1, memory_order_release);
	q->r->ops->wake(q->r, seq, UINT32_MAX);
}

/*
 * Claim the position of a slot whose seq must equal pos + @want_delta
 * (0 for producers, 1 for consumers).  0 and *@pos, -EAGAIN (full /
 * empty, or too much contention), -EBADMSG (a seq that cannot be).
 */
static int claim(struct shmipc_mpmc *q, _Atomic uint32_t *cursor,
		 uint32_t want_delta, uint32_t *pos_out)
{
	uint32_t pos, tries;

	/* Relaxed: the slot's seq (seq_cst load) is what orders the data. */
	pos = atomic_load_explicit(cursor, memory_order_relaxed);
	for (tries = 0; tries < MPMC_RETRIES; tries++) {
		struct mpmc_slot *s = slot_at(q, pos);
		/* seq_cst: acquire for the slot's data, and the load of the
		 * Dekker pair with a sleeper's waiter count increment. */
		uint32_t seq = atomic_load_explicit(&s->seq,
						    memory_order_seq_cst);
		int32_t dif = (int32_t)(seq - (pos + want_delta));

		/* A current position is at most one lap ahead of its slot
		 * (a previous lap's holder still copying); a stale one is
		 * behind by any amount (dif > 0: reload). */
		if (dif < -(int32_t)q->cap)
			return -EBADMSG;
		if (dif == 0) {
			/* Relaxed: the CAS only hands out positions. */
			if (atomic_compare_exchange_weak_explicit(
				    cursor, &pos, pos + 1,
				    memory_order_relaxed,
				    memory_order_relaxed)) {
				/* Relaxed holder, release tag: who reads the
				 * tag (acquire) sees the holder that goes
				 * with it. */
				atomic_store_explicit(
					&s->holder,
					shmipc_region_peer_id(q->r),
					memory_order_relaxed);
				atomic_store_explicit(&s->tag,
						      pos * 2 + want_delta,
						      memory_order_release);
				*pos_out = pos;
				return 0;
			}
		} else if (dif < 0) {
			return -EAGAIN;	/* full (producer) / empty (consumer) */
		} else {
			pos = atomic_load_explicit(cursor,
						   memory_order_relaxed);
		}
	}
	return -EAGAIN;
}

int shmipc_mpmc_try_send(struct shmipc_mpmc *q, const void *msg)
{
	struct mpmc_slot *s;
	uint32_t pos;
	int ret;

	if (!q || !msg)
		return -EINVAL;
	ret = claim(q, &q->h->enq_pos, 0, &pos);
	if (ret)
		return ret;
	s = slot_at(q, pos);
	memcpy(s->data, msg, q->msg_size);
	/* seq_cst: release of the data, and ordered before the load of the
	 * consumers' waiter count in wake_one(). */
	atomic_store_explicit(&s->seq, pos + 1, memory_order_seq_cst);
	wake_one(q, &q->h->cons_waiters, &q->h->data_seq);
	return 0;
}

int shmipc_mpmc_try_recv(struct shmipc_mpmc *q, void *msg)
{
	struct mpmc_slot *s;
	uint32_t pos;
	int ret;

	if (!q || !msg)
		return -EINVAL;
	ret = claim(q, &q->h->deq_pos, 1, &pos);
	if (ret)
		return ret;
	s = slot_at(q, pos);
	memcpy(msg, s->data, q->msg_size);
	/* seq_cst: our reads of the data happen before the next producer's
	 * writes (release), and Dekker with the producers' waiter count. */
	atomic_store_explicit(&s->seq, pos + q->cap, memory_order_seq_cst);
	wake_one(q, &q->h->prod_waiters, &q->h->space_seq);
	return 0;
}

/* Publish / release the slot at @pos, after a check that we hold it. */
static int finish(struct shmipc_mpmc *q, uint32_t pos, bool send)
{
	struct mpmc_slot *s = slot_at(q, pos);

	/* Relaxed: our own writes, read back to check the ticket; and the
	 * slot must still be in the held state (no double commit). */
	if (atomic_load_explicit(&s->tag, memory_order_relaxed) !=
	    pos * 2 + (send ? 0 : 1) ||
	    atomic_load_explicit(&s->holder, memory_order_relaxed) !=
	    shmipc_region_peer_id(q->r) ||
	    atomic_load_explicit(&s->seq, memory_order_relaxed) !=
	    pos + (send ? 0 : 1))
		return -EINVAL;
	if (send) {
		/* seq_cst: as in try_send. */
		atomic_store_explicit(&s->seq, pos + 1, memory_order_seq_cst);
		wake_one(q, &q->h->cons_waiters, &q->h->data_seq);
	} else {
		atomic_store_explicit(&s->seq, pos + q->cap,
				      memory_order_seq_cst);
		wake_one(q, &q->h->prod_waiters, &q->h->space_seq);
	}
	return 0;
}

int shmipc_mpmc_reserve(struct shmipc_mpmc *q, void **slot, uint32_t *ticket)
{
	uint32_t pos;
	int ret;

	if (!q || !slot || !ticket)
		return -EINVAL;
	ret = claim(q, &q->h->enq_pos, 0, &pos);
	if (ret)
		return ret;
	*slot = slot_at(q, pos)->data;
	*ticket = pos;
	return 0;
}

int shmipc_mpmc_commit(struct shmipc_mpmc *q, uint32_t ticket)
{
	return q ? finish(q, ticket, true) : -EINVAL;
}

int shmipc_mpmc_peek(struct shmipc_mpmc *q, const void **slot,
		     uint32_t *ticket)
{
	uint32_t pos;
	int ret;

	if (!q || !slot || !ticket)
		return -EINVAL;
	ret = claim(q, &q->h->deq_pos, 1, &pos);
	if (ret)
		return ret;
	*slot = slot_at(q, pos)->data;
	*ticket = pos;
	return 0;
}

int shmipc_mpmc_release(struct shmipc_mpmc *q, uint32_t ticket)
{
	return q ? finish(q, ticket, false) : -EINVAL;
}

/*
 * The slot a blocked side waits for: is it held by someone (claimed and
 * not finished), and is that holder dead?  Returns 0 (*@peer: the
 * holder's peer id to sleep on, or 0), or -EOWNERDEAD after repairing
 * the queue around the slot of a holder that died or left.
 */
static int holder_dead(struct shmipc_mpmc *q, bool send, uint64_t *peer)
{
	_Atomic uint32_t *mine = send ? &q->h->enq_pos : &q->h->deq_pos;
	_Atomic uint32_t *theirs = send ? &q->h->deq_pos : &q->h->enq_pos;
	uint32_t pos, held, stuck, seq, tag;
	struct mpmc_slot *s;
	int alive;

	*peer = 0;
	/* Relaxed cursors: a heuristic snapshot; the seq re-check and the
	 * CAS below are what make the repair safe. */
	pos = atomic_load_explicit(mine, memory_order_relaxed);
	/* The position the other side claimed in the slot we need: ours
	 * (consumer waiting for a producer) or one lap back (producer
	 * waiting for a consumer to release). */
	held = send ? pos - q->cap : pos;
	stuck = send ? held + 1 : held;	/* the seq while it is held */
	s = slot_at(q, pos);
	seq = atomic_load_explicit(&s->seq, memory_order_seq_cst);
	if (seq != stuck)
		return 0;
	if ((int32_t)(atomic_load_explicit(theirs, memory_order_relaxed) -
		      held) <= 0)
		return 0;		/* nobody claimed it: plain full/empty */
	/* Acquire: pairs with the claimer's release of the tag. */
	tag = atomic_load_explicit(&s->tag, memory_order_acquire);
	if (tag != held * 2 + (send ? 1 : 0))
		return 0;		/* claimed, holder not known yet */
	*peer = atomic_load_explicit(&s->holder, memory_order_relaxed);
	alive = q->r->ops->peer_alive(q->r, *peer);
	if (alive == 1)
		return 0;
	/* Dead (or gone): it can no longer finish.  Re-check that it did
	 * not finish just before dying, then repair, racing other repairers:
	 * one CAS wins. */
	if (atomic_load_explicit(&s->seq, memory_order_seq_cst) != stuck)
		return 0;
	if (send) {
		uint32_t expect = stuck;

		/* seq_cst: frees the slot for our lap, like a release. */
		if (!atomic_compare_exchange_strong_explicit(
			    &s->seq, &expect, pos, memory_order_seq_cst,
			    memory_order_relaxed))
			return 0;
		wake_one(q, &q->h->prod_waiters, &q->h->space_seq);
	} else {
		uint32_t expect = pos;

		/* Relaxed: hands out the lost position to us alone. */
		if (!atomic_compare_exchange_strong_explicit(
			    mine, &expect, pos + 1, memory_order_relaxed,
			    memory_order_relaxed))
			return 0;
		atomic_store_explicit(&s->seq, pos + q->cap,
				      memory_order_seq_cst);
		wake_one(q, &q->h->prod_waiters, &q->h->space_seq);
		/* The wake that woke us may have been for a later message
		 * another consumer can take now: hand it on. */
		wake_one(q, &q->h->cons_waiters, &q->h->data_seq);
	}
	*peer = 0;
	/* Dead or left: the same loss to us.  (The module forgets a dead
	 * peer that owned no words, so a death can also read as "left".) */
	return -EOWNERDEAD;
}

static int block(struct shmipc_mpmc *q, void *msg, uint64_t deadline_ns,
		 bool send)
{
	_Atomic uint32_t *waiters = send ? &q->h->prod_waiters :
					   &q->h->cons_waiters;
	_Atomic uint32_t *seq = send ? &q->h->space_seq : &q->h->data_seq;
	unsigned int spins;
	int ret;

	for (spins = 0;; spins++) {
		ret = send ? shmipc_mpmc_try_send(q, msg) :
			     shmipc_mpmc_try_recv(q, msg);
		if (ret != -EAGAIN || spins >= MPMC_SPINS)
			break;
		shmipc_cpu_relax();
	}
	while (ret == -EAGAIN) {
		uint32_t s;
		uint64_t peer;
		int d, w;

		/* Set on every round (a waker clears it).  seq_cst store and
		 * fence: the flag is visible before we re-check (Dekker). */
		atomic_store_explicit(waiters, 1, memory_order_seq_cst);
		atomic_thread_fence(memory_order_seq_cst);
		s = atomic_load_explicit(seq, memory_order_seq_cst);
		/* After every wait too: try before looking at the deadline,
		 * so a wake that came with the deadline is not lost. */
		ret = send ? shmipc_mpmc_try_send(q, msg) :
			     shmipc_mpmc_try_recv(q, msg);
		if (ret != -EAGAIN)
			break;
		if (deadline_ns != SHMIPC_FOREVER &&
		    shmipc_now_ns() >= deadline_ns)
			return -ETIMEDOUT;
		d = holder_dead(q, send, &peer);
		if (d < 0)
			return d;
		/* Sleep naming the holder we wait for, if any: its death
		 * wakes us (then the next round repairs).  Other deaths, a
		 * clean leave or a slice are spurious wake-ups. */
		w = q->r->ops->wait(q->r, seq, s, deadline_ns, peer);
		if (w && w != -EAGAIN && w != -EINTR && w != -ETIMEDOUT &&
		    w != -EOWNERDEAD && w != -EPIPE)
			return w;
	}
	return ret;
}

int shmipc_mpmc_send(struct shmipc_mpmc *q, const void *msg,
		     uint64_t deadline_ns)
{
	if (!q || !msg)
		return -EINVAL;
	return block(q, (void *)msg, deadline_ns, true);
}

int shmipc_mpmc_recv(struct shmipc_mpmc *q, void *msg, uint64_t deadline_ns)
{
	if (!q || !msg)
		return -EINVAL;
	return block(q, msg, deadline_ns, false);
}
