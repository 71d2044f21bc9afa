// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The two ends of a one-to-one link: roles, takeover, sleeping and
 * waking, and the death or close of the other side.
 *
 * Each end's state word records who holds it and whether it closed; on
 * the module backend it is an owned word, so the kernel sets bit 31 when
 * the holder dies.  A sleeper passes the other end's peer id to the
 * backend's wait, so the module wakes it with -EOWNERDEAD at once (the
 * portable backend probes the pid every slice).
 *
 * Sleeping (the waiter flag, shmipc_sleep_arm() in internal.h): the
 * sleeper reads the sequence word, sets its flag (seq_cst), re-checks
 * its condition, and sleeps on the sequence word if it did not change.
 * The other side, after publishing its cursor (seq_cst), reads the flag
 * (seq_cst load; no write while nobody sleeps), and only if it is set
 * takes it (seq_cst exchange with 0), bumps the sequence word and wakes;
 * the sleeper sets it again on every round, so a sleeper killed asleep
 * leaves at most one extra wake.  Both pairs being seq_cst, at least one
 * side sees the other's store (Dekker): either the sleeper sees the new
 * cursor, or the publisher sees the flag and its bump, after the
 * sleeper's read of the word, makes the sleeper's wait return -EAGAIN
 * (the re-check may see a cursor that is not enough yet: a vring's
 * partial release).  Closing an end always bumps and wakes.
 */
#include "ends.h"
#include "spin.h"

#include <stdio.h>

/*
 * An end's state word: bits 0-1 the END_* value, bits 2-23 a generation
 * bumped by every takeover, bits 24-30 zero (else -EBADMSG), bit 31
 * SHMIPC_WORD_OWNER_DIED.  The state word is the single point of
 * arbitration between takers: a taker CASes it from the exact value it
 * inspected (generation included) to TAKING of the next generation, then
 * writes the peer id, then stores OPEN.  So a taker whose snapshot went
 * stale fails its CAS, and the peer id read after a state (acquire)
 * belongs to that state as long as the state word still holds it.
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

#define TAKE_TRIES 4	/* CAS losses to a concurrent change before -EBUSY */

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
static void mark_died(const struct shmipc_region *r, struct ends_end *end,
		      uint32_t st)
{
	if (r->ops->kind == SHMIPC_BACKEND_MODULE)
		return;
	/* Relaxed: the bit carries no data; readers only test it. */
	atomic_compare_exchange_strong_explicit(
		&end->state, &st, st | SHMIPC_WORD_OWNER_DIED,
		memory_order_relaxed, memory_order_relaxed);
}

int ends_find(struct shmipc_region *r, const char *key, enum shmipc_role role,
	      uint64_t min, uint64_t *off, uint64_t *size)
{
	int ret;

	if (!r || (role != SHMIPC_PRODUCER && role != SHMIPC_CONSUMER))
		return -EINVAL;
	ret = shmipc_obj_find(r, key, off, size);
	if (ret)
		return ret;
	return *size < min ? -EBADMSG : 0;
}

int ends_take(struct ends *e, struct shmipc_region *r, struct ends_shared *s,
	      enum shmipc_role role)
{
	const struct shmipc_backend_ops *ops = r->ops;
	uint64_t me = shmipc_region_peer_id(r);
	struct ends_end *end;
	uint64_t old;
	uint32_t st, base, taking, open;
	unsigned int tries;
	bool died;
	int ret, owned;

	e->r = r;
	e->s = s;
	e->role = role;
	e->mine = role == SHMIPC_PRODUCER ? &s->prod : &s->cons;
	e->other = role == SHMIPC_PRODUCER ? &s->cons : &s->prod;
	e->my_state = 0;
	end = e->mine;
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
			ret = ops->peer_alive(r, old);
			if (ret == 1)
				return -EBUSY;
			died = ret == -EOWNERDEAD;
		}
		/* Module: own the word before it is ours, so that if we die
		 * from here on the kernel marks it and the end is not wedged
		 * in TAKING. */
		owned = ops->own(r, &end->state, false);
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
			ops->own(r, &end->state, true);
	}
	if (tries == TAKE_TRIES)
		return -EBUSY;
	/* Relaxed: published by the release (seq_cst) store of OPEN. */
	atomic_store_explicit(&end->peer, me, memory_order_relaxed);
	open = end_next(st, END_OPEN);
	e->my_state = open;
	/* seq_cst: ordered with the other side's reads of our state. */
	atomic_store_explicit(&end->state, open, memory_order_seq_cst);
	if (died && old)
		ops->reclaim(r, old);	/* its word is repaired now */
	return 0;
}

/* Bump the other side's sequence word and wake it (if @force or it sleeps). */
static void wake_other(struct ends *e, bool force)
{
	_Atomic uint32_t *flag, *seq;

	if (e->role == SHMIPC_PRODUCER) {
		flag = &e->s->cons_waiting;
		seq = &e->s->data_seq;
	} else {
		flag = &e->s->prod_waiting;
		seq = &e->s->space_seq;
	}
	/* seq_cst load: the Dekker pair with the sleeper's flag store and
	 * condition load (see the top of this file).  Only a load on the
	 * fast path, so the sleep words' line stays shared-clean in both
	 * caches.  Clearing the flag as we take it (seq_cst exchange) means
	 * a sleeper that was killed leaves at most one wasted wake behind,
	 * not a syscall on every later publish: a live sleeper sets it again
	 * on each round. */
	if (!force && !atomic_load_explicit(flag, memory_order_seq_cst))
		return;
	if (!atomic_exchange_explicit(flag, 0, memory_order_seq_cst) && !force)
		return;
	/* Release: the bump is ordered after our cursor store. */
	atomic_fetch_add_explicit(seq, 1, memory_order_release);
	e->r->ops->wake(e->r, seq, 1);
}

void ends_leave(struct ends *e)
{
	struct ends_end *end = e->mine;
	uint64_t me = shmipc_region_peer_id(e->r);
	uint32_t st = e->my_state;

	if (!st)
		return;
	e->my_state = 0;
	/* Only if the end is still ours (a hostile peer may have taken it):
	 * CAS from our own OPEN word, keeping its generation.  seq_cst:
	 * before the bump that tells the other side.  CLOSED is stored
	 * before the ownership goes, so a death in between reads as one. */
	if (atomic_load_explicit(&end->peer, memory_order_relaxed) == me &&
	    atomic_compare_exchange_strong_explicit(
		    &end->state, &st, (st & END_GEN_MASK) | END_CLOSED,
		    memory_order_seq_cst, memory_order_relaxed)) {
		e->r->ops->own(e->r, &end->state, true);
		wake_other(e, true);
	}
}

void ends_publish(struct ends *e, _Atomic uint32_t *cursor, uint32_t val)
{
	/* seq_cst (not just release): the store must be ordered before the
	 * load of the other side's waiter flag in wake_other(); release
	 * alone is what makes the data / the freed space visible. */
	atomic_store_explicit(cursor, val, memory_order_seq_cst);
	wake_other(e, false);
}

/*
 * The other end's state: 0 (open, *@peer its id; or not attached yet,
 * *@peer 0), -EOWNERDEAD, -EPIPE, -EBADMSG.  *@st: the state word read.
 */
static int other_status(struct ends *e, uint64_t *peer, uint32_t *st)
{
	uint32_t base;

	/* seq_cst: after our flag store (a close's state store is seq_cst
	 * and followed by a bump of our sequence word); also acquire, so
	 * the peer id read next is at least the one of this state. */
	*st = atomic_load_explicit(&e->other->state, memory_order_seq_cst);
	*peer = atomic_load_explicit(&e->other->peer, memory_order_relaxed);
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

int ends_other_gone(struct ends *e)
{
	uint64_t peer;
	uint32_t st;
	int ret = other_status(e, &peer, &st);

	if (ret || !peer)
		return ret;
	/* Not marked: ask the backend (portable: a pid probe). */
	ret = e->r->ops->peer_alive(e->r, peer);
	if (ret == -EOWNERDEAD) {
		mark_died(e->r, e->other, st);
		return ret;
	}
	return 0;
}

bool ends_other_closed(struct ends *e)
{
	uint64_t peer;
	uint32_t st;

	return other_status(e, &peer, &st) == -EPIPE;
}

/*
 * Sleep once on @seq (sequence value @s) naming the other side; returns
 * 0 to go round again, or why the other side is gone / the wait failed.
 */
static int sleep_once(struct ends *e, _Atomic uint32_t *seq, uint32_t s,
		      uint64_t deadline_ns)
{
	uint64_t peer, peer2;
	uint32_t st, st2;
	int ret, gone;

	gone = other_status(e, &peer, &st);
	if (gone)
		return gone;
	ret = e->r->ops->wait(e->r, seq, s, deadline_ns, peer);
	if (ret == -EOWNERDEAD && peer)
		mark_died(e->r, e->other, st);
	if (ret == -EPIPE) {
		/* Peer unknown: a clean close, or a crash whose record was
		 * reclaimed (then the state says so), or a successor took
		 * over (then go on). */
		gone = other_status(e, &peer2, &st2);
		if (!gone && (st2 != st || peer2 != peer))
			return 0;
		return gone ? gone : -EPIPE;
	}
	if (ret == -EAGAIN || ret == -EINTR)
		return 0;
	return ret;
}

int ends_block(struct ends *e, int (*try_once)(void *arg), void *arg,
	       uint64_t deadline_ns)
{
	_Atomic uint32_t *flag, *seq;
	struct shmipc_spin spin;
	int ret, gone;

	if (e->role == SHMIPC_PRODUCER) {
		flag = &e->s->prod_waiting;
		seq = &e->s->space_seq;
	} else {
		flag = &e->s->cons_waiting;
		seq = &e->s->data_seq;
	}
	ret = try_once(arg);
	if (ret)
		return ret < 0 ? ret : 0;
	/* Poll while it is cheaper than sleeping (spin.h). */
	for (shmipc_spin_start(&spin); shmipc_spin_more(&spin);) {
		ret = try_once(arg);
		if (ret)
			return ret < 0 ? ret : 0;
	}
	for (;;) {
		uint32_t s;

		/* Armed again on every round: the waker clears the flag
		 * when it wakes us.  The Dekker pair with ends_publish(). */
		s = shmipc_sleep_arm(flag, seq);
		ret = try_once(arg);
		if (ret) {
			atomic_store_explicit(flag, 0, memory_order_relaxed);
			return ret < 0 ? ret : 0;
		}
		gone = sleep_once(e, seq, s, deadline_ns);
		atomic_store_explicit(flag, 0, memory_order_relaxed);
		if (gone) {
			/* Everything published before the other end went is
			 * used first. */
			ret = try_once(arg);
			if (ret)
				return ret < 0 ? ret : 0;
			return gone;
		}
		if (deadline_ns != SHMIPC_FOREVER &&
		    shmipc_now_ns() >= deadline_ns) {
			ret = try_once(arg);
			return ret < 0 ? ret : ret ? 0 : -ETIMEDOUT;
		}
	}
}

/* Nothing to try: only the other side's going ends the wait. */
static int no_progress(void *arg)
{
	(void)arg;
	return 0;
}

int ends_await_gone(struct ends *e, uint64_t deadline_ns)
{
	return ends_block(e, no_progress, NULL, deadline_ns);
}

const char *ends_end_name(const struct shmipc_region *r,
			  const struct ends_end *end, char *buf, size_t len)
{
	/* Acquire: the peer id written before this state was stored. */
	uint32_t st = atomic_load_explicit(&end->state, memory_order_acquire);
	/* Relaxed: for display only. */
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
