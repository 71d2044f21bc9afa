// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Event-buffer pool: N fixed-size buffers in a region; writers assemble
 * events from fragments by sequence id, readers take complete events in
 * sequence order (see <shmipc/evpool.h> for the contract).
 *
 * Shared layout (struct evp_hdr, then N descriptors, then N buffers):
 *   line 0   config, written once by the creator (magic last, release)
 *   line 1   the creation lock (see below)
 *   line 2   sleep words: writers sleep on space_seq (an Empty buffer, or
 *            a buffer another writer holds), readers on data_seq
 *   line 3   counters (statistics only: never trusted for control)
 *   4..11    member slots: (peer id, role) of each open writer / reader
 *   descs    one 64-byte line per buffer: the word, sequence id, start
 *            time, broadcast shares, fragment counts and bytes used
 *
 * The word of a buffer (64 bits, changed only by CAS, every change adds
 * one to the generation):
 *   bits 0-1   state: EMPTY, WRITING, FULL, READING
 *   bits 2-7   holder: 0 nobody, 1..32 member slot + 1, 63 the broadcast
 *              readers (READING in a broadcast pool)
 *   bits 8-15  flags: INCOMPLETE, REDELIVERED (FULL and READING only)
 *   bits 16-63 generation
 * A holder is a member slot, and a member slot records the peer id of the
 * process that owns it, so a holder's death is one peer_alive() away.  A
 * slot is freed only after no word, share or lock names it any more (its
 * owner's close, or a sweep after its death); whoever repairs a dead
 * holder's buffer re-reads the slot after the word (acquire) and CASes
 * from the exact word it inspected, so it can never repair a buffer of a
 * later owner of the same slot.
 *
 * Writers.  A WRITING buffer is held (holder != 0) for the length of one
 * fragment: the holder alone writes the descriptor and the data.  Between
 * fragments it is held by nobody, and any writer may take it (CAS) to
 * append.  A dead holder's buffer goes back to EMPTY (its partial event is
 * dropped: the fragment being written leaves it inconsistent).  The
 * sequence id of a buffer is written only by the writer that claims it
 * EMPTY -> WRITING, and every such claim is made under the creation lock
 * after a scan for that id: so two writers of the first fragments of one
 * event cannot claim two buffers.  Lookups of an existing event need no
 * lock: the sequence id of a buffer that is not held is stable while its
 * word is (read seqlock-style: word, id, word again).  The lock
 * word holds its owner's member slot and a generation; a dead owner's
 * lock is taken over by CAS.
 *
 * Readers.  A FULL buffer is taken by CAS to READING (holder: the
 * reader's slot) and released by CAS to EMPTY; a dead reader's buffer
 * goes back to FULL, flagged REDELIVERED.  Broadcast: the writer that
 * completes an event stores (stamp, mask of the open readers' slots) in
 * the buffer's share word before publishing FULL; the stamp is the low 32
 * bits of the generation of that FULL word, so a share word of another
 * round of the buffer is recognised.  The first reader moves it to
 * READING (holder 63); each reader releases by clearing its bit (CAS);
 * who clears the last bit moves the buffer to EMPTY.  A reader handle
 * remembers which stamps it has taken, so it takes each event once.
 *
 * Deaths and expiry: evpool_reclaim.c.
 *
 * Sleeping: the waiter-flag pattern of the channels (internal.h).  Every
 * transition is a seq_cst CAS, followed by shmipc_wake_sleepers() of the
 * side that may be waiting for it: the Dekker pair with a sleeper's flag.
 *
 * Untrusted input: the config is validated at open and kept in the
 * handle; every word, descriptor field, share word, lock word and member
 * slot read from the pool is checked before use (-EBADMSG); every loop is
 * bounded by N, by a retry count or by the caller's deadline.
 */
#include "evpool_int.h"
#include "introspect_internal.h"
#include "spin.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EVP_LOCK_SPINS	/* the fuzz harness (tests/fuzz) polls less */
#define EVP_LOCK_SPINS	4096U		/* lock polls before a non-blocking -EAGAIN */
#endif
#define EVP_SLICE_NS	(SHMIPC_PORTABLE_SLICE_MS * 1000000ULL)

/* What a try needs and tells the blocking loop. */
struct evp_op {
	bool write;
	uint64_t seq;			/* write */
	uint32_t expected;		/* write */
	struct shmipc_evpool_event *ev;	/* read */
	uint64_t deadline;
	int wait_member;	/* out: the slot holding what we wait for */
	bool full;		/* out: no Empty buffer (write) */
	bool idle;		/* out: with full, an idle event (write) */
};

/* ------------------------------------------------------------------ */
/* Create / open / close */

static uint32_t round64(uint32_t v)
{
	return (v + 63U) & ~63U;
}

int shmipc_evpool_create(struct shmipc_region *r, const char *key,
			 uint32_t buffers, uint32_t buffer_size,
			 uint32_t flags, uint64_t expire_ns)
{
	struct shmipc_obj_hdr *obj;
	struct evp_hdr *h;
	uint64_t off, bytes, stride;
	int ret;

	if (!r || buffers == 0 || buffers > SHMIPC_EVPOOL_BUFFERS_MAX ||
	    buffer_size < 16 || buffer_size > SHMIPC_EVPOOL_BUFSIZE_MAX ||
	    buffer_size % 8 || (flags & ~FLAGS_VALID))
		return -EINVAL;
	stride = round64(buffer_size);
	bytes = sizeof(*h) + (uint64_t)buffers * (sizeof(struct evp_desc) +
						  stride);
	ret = shmipc_obj_create(r, key, bytes, sizeof(*h), &off, &obj);
	if (ret)
		return ret;
	/* The memory reads as zero: every buffer is EMPTY, generation 0. */
	h = (struct evp_hdr *)obj;
	h->nbuf = buffers;
	h->buf_size = buffer_size;
	h->stride = (uint32_t)stride;
	h->flags = flags;
	h->descs_off = off + sizeof(*h);
	h->data_off = h->descs_off + (uint64_t)buffers * sizeof(struct evp_desc);
	h->expire_ns = expire_ns;
	shmipc_obj_publish(&h->obj, EVP_MAGIC);
	return 0;
}

/* Check the config of the pool at @off (@size bytes), published and of
 * our version (shmipc_obj_open()), and keep it in the handle. */
static int evp_check(struct shmipc_evpool *p, uint64_t off, uint64_t size)
{
	struct evp_hdr *h = p->h;
	uint64_t descs, data;
	uint32_t n, bs, stride, flags;

	n = h->nbuf;
	bs = h->buf_size;
	stride = h->stride;
	flags = h->flags;
	descs = h->descs_off;
	data = h->data_off;
	if (n == 0 || n > SHMIPC_EVPOOL_BUFFERS_MAX || bs < 16 ||
	    bs > SHMIPC_EVPOOL_BUFSIZE_MAX || bs % 8 ||
	    stride != round64(bs) || (flags & ~FLAGS_VALID) ||
	    descs != off + sizeof(*h) ||
	    data != descs + (uint64_t)n * sizeof(struct evp_desc) ||
	    size - sizeof(*h) <
		    (uint64_t)n * (sizeof(struct evp_desc) + stride) ||
	    !shmipc_in_region(p->r, descs,
			      (uint64_t)n * sizeof(struct evp_desc)) ||
	    !shmipc_in_region(p->r, data, (uint64_t)n * stride))
		return -EBADMSG;
	p->nbuf = n;
	p->buf_size = bs;
	p->stride = stride;
	p->flags = flags;
	p->expire_ns = h->expire_ns;
	p->d = (struct evp_desc *)((char *)shmipc_region_base(p->r) + descs);
	p->data = (char *)shmipc_region_base(p->r) + data;
	return 0;
}

/* Take a free member slot (after a sweep for dead ones if none is). */
static int join(struct shmipc_evpool *p)
{
	unsigned int pass, i;
	int ret;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < MEMBERS; i++) {
			struct evp_member *m = &p->h->members[i];
			uint64_t free_slot = 0;

			/* acq_rel: the slot is handed over whole (its last
			 * owner freed it with a release). */
			if (!atomic_compare_exchange_strong_explicit(
				    &m->peer, &free_slot, p->peer,
				    memory_order_acq_rel,
				    memory_order_relaxed))
				continue;
			/* seq_cst: a writer completing a broadcast event
			 * reads the roles to address it. */
			atomic_store_explicit(&m->role, (uint32_t)p->role,
					      memory_order_seq_cst);
			p->me = (int)i;
			return 0;
		}
		if (pass == 0) {
			ret = evp_sweep(p, true, NULL, NULL);
			if (ret < 0)
				return ret;
		}
	}
	return -EUSERS;
}

int shmipc_evpool_open(struct shmipc_region *r, const char *key, int role,
		       struct shmipc_evpool **out)
{
	struct shmipc_obj_hdr *obj;
	struct shmipc_evpool *p;
	uint64_t off, size;
	int ret;

	if (!r || !out || (role != 0 && role != SHMIPC_PRODUCER &&
			   role != SHMIPC_CONSUMER))
		return -EINVAL;
	*out = NULL;
	ret = shmipc_obj_open(r, key, EVP_MAGIC, sizeof(struct evp_hdr), &off,
			      &size, &obj);
	if (ret)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->r = r;
	p->role = role;
	p->me = -1;
	p->held = -1;
	p->peer = shmipc_region_peer_id(r);
	p->h = (struct evp_hdr *)obj;
	ret = evp_check(p, off, size);
	if (!ret && role == SHMIPC_CONSUMER && broadcast(p)) {
		p->taken = calloc(p->nbuf, sizeof(*p->taken));
		if (!p->taken)
			ret = -ENOMEM;
	}
	if (!ret && role)
		ret = join(p);
	if (ret) {
		free(p->taken);
		free(p);
		return ret;
	}
	*out = p;
	return 0;
}

uint32_t shmipc_evpool_buffers(const struct shmipc_evpool *p)
{
	return p ? p->nbuf : 0;
}

uint32_t shmipc_evpool_buffer_size(const struct shmipc_evpool *p)
{
	return p ? p->buf_size : 0;
}

/* ------------------------------------------------------------------ */
/* Broadcast shares */

/* The slots of the open readers: who a broadcast event is for. */
static uint32_t reader_mask(const struct shmipc_evpool *p)
{
	uint32_t mask = 0;
	unsigned int i;

	for (i = 0; i < MEMBERS; i++)
		/* seq_cst role: pairs with join()'s store. */
		if (member_peer(p, i) &&
		    atomic_load_explicit(&p->h->members[i].role,
					 memory_order_seq_cst) ==
			    SHMIPC_CONSUMER)
			mask |= 1U << i;
	return mask;
}

/* The last share of the event @stamp in @b was released: EMPTY. */
static void shares_done(struct shmipc_evpool *p, uint32_t b, uint32_t stamp)
{
	unsigned int tries;
	uint64_t w;

	/* Acquire: as in load_word(). */
	w = atomic_load_explicit(&p->d[b].word, memory_order_acquire);
	for (tries = 0; tries < EVP_RETRIES; tries++) {
		if (check_word(p, w) ||
		    (w_state(w) != ST_FULL && w_state(w) != ST_READING) ||
		    event_stamp(w) != stamp)
			return;		/* not that event any more */
		if (word_cas(p, b, &w, w_next(w, ST_EMPTY, 0, 0))) {
			wake_writers(p);
			return;
		}
	}
}

/*
 * Clear the bits @bits of the shares of event @stamp in @b.  0, or
 * -EINVAL when none of them is set any more (or the event is gone).
 */
int evp_shares_clear(struct shmipc_evpool *p, uint32_t b, uint32_t stamp,
		     uint32_t bits)
{
	_Atomic uint64_t *sh = &p->d[b].shares;
	unsigned int tries;
	/* Acquire (and acq_rel below): a reader's reads of the buffer happen
	 * before the release of its share, so before the buffer is reused. */
	uint64_t m = atomic_load_explicit(sh, memory_order_acquire);

	for (tries = 0; tries < EVP_RETRIES; tries++) {
		uint64_t left;

		if ((uint32_t)(m >> 32) != stamp || !((uint32_t)m & bits))
			return -EINVAL;
		left = m & ~(uint64_t)bits;
		if (atomic_compare_exchange_strong_explicit(
			    sh, &m, left, memory_order_acq_rel,
			    memory_order_acquire)) {
			if ((uint32_t)left == 0)
				shares_done(p, b, stamp);
			return 0;
		}
	}
	return -EAGAIN;
}

/*
 * Publish the event held in @b (word @held) as FULL with @flags.
 * 1: published, 0: dropped (broadcast, no reader open), -EINVAL: the hold
 * was revoked.
 */
int evp_publish_full(struct shmipc_evpool *p, uint32_t b, uint64_t held,
		     unsigned int flags)
{
	uint64_t next = w_next(held, ST_FULL, 0, flags), w = held;

	if (broadcast(p)) {
		uint32_t mask = reader_mask(p);

		if (!mask) {
			if (!word_cas(p, b, &w, w_next(held, ST_EMPTY, 0, 0)))
				return -EINVAL;
			count(p, C_NO_READER);
			wake_writers(p);
			return 0;
		}
		/* Release: for stable_read(); the CAS to FULL publishes it
		 * to those that take the event. */
		atomic_store_explicit(&p->d[b].shares,
				      (uint64_t)w_stamp(next) << 32 | mask,
				      memory_order_release);
	}
	if (!word_cas(p, b, &w, next))
		return -EINVAL;
	wake_readers(p);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Writers */

/* Wait (bounded by @deadline; 0: a few polls) for the creation lock. */
static int lock_create(struct shmipc_evpool *p, uint64_t deadline,
		       uint64_t *mine)
{
	_Atomic uint64_t *lk = &p->h->create_lock;
	unsigned int spins;

	for (spins = 1;; spins++) {
		/* Relaxed: the CAS below (acquire) is what orders. */
		uint64_t l = atomic_load_explicit(lk, memory_order_relaxed);
		unsigned int own = (unsigned int)(l & LOCK_OWNER_MASK);

		if (own > MEMBERS)
			return -EBADMSG;
		if (!own) {
			uint64_t next = ((l & ~LOCK_OWNER_MASK) + LOCK_GEN_ONE) |
					(uint64_t)(p->me + 1);

			/* Acquire: what the last owner wrote under it. */
			if (atomic_compare_exchange_weak_explicit(
				    lk, &l, next, memory_order_acquire,
				    memory_order_relaxed)) {
				*mine = next;
				return 0;
			}
		}
		if (spins % 64) {
			shmipc_cpu_relax();
			continue;
		}
		/* The owner keeps it for a scan of the descriptors: it was
		 * preempted (let it run) or it died (take the lock over). */
		if (deadline == 0 && spins >= EVP_LOCK_SPINS)
			return -EAGAIN;
		if (deadline && deadline != SHMIPC_FOREVER &&
		    shmipc_now_ns() >= deadline)
			return -ETIMEDOUT;
		if (spins % 1024 == 0 && own) {
			int ret = evp_sweep(p, false, NULL, NULL);

			if (ret < 0)
				return ret;
		}
		if (spins < (1U << 16)) {
			sched_yield();
		} else {
			/* A stopped owner: stop burning the CPU. */
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
}

static void unlock_create(struct shmipc_evpool *p, uint64_t mine)
{
	/* Release: the descriptor we claimed under the lock is written
	 * before the next owner scans.  From our exact word only: a lock
	 * taken over from us (we were taken for dead) is not ours. */
	atomic_compare_exchange_strong_explicit(
		&p->h->create_lock, &mine,
		(mine & ~LOCK_OWNER_MASK) + LOCK_GEN_ONE,
		memory_order_release, memory_order_relaxed);
}

/* Hold buffer @b with word @w for a fragment. */
static int hold(struct shmipc_evpool *p, uint32_t b, uint64_t w)
{
	p->held = (int)b;
	p->held_word = w;
	return 0;
}

/* Append to the idle event in @b (word *@w): 0 held, -EAGAIN lost. */
static int take_idle(struct shmipc_evpool *p, uint32_t b, uint64_t *w)
{
	uint64_t next = w_next(*w, ST_WRITING, (unsigned int)p->me + 1, 0);

	return word_cas(p, b, w, next) ? hold(p, b, next) : -EAGAIN;
}

/*
 * Under the creation lock: the event @op->seq is in the pool, or claim an
 * Empty buffer for it.  0 (held), -EAGAIN (op->full, op->wait_member;
 * or neither: try again), -EALREADY, -EBADMSG.  With op->full, op->idle
 * tells that an event of the pool was idle (WRITING, held by nobody).
 */
static int claim_locked(struct shmipc_evpool *p, struct evp_op *op)
{
	uint64_t w, ew = 0, seq, next;
	int empty = -1, ret;
	uint32_t b;

	op->idle = false;
	for (b = 0; b < p->nbuf; b++) {
		ret = load_word(p, b, &w);
		if (ret)
			return ret;
		if (w_state(w) == ST_EMPTY) {
			if (empty < 0) {
				empty = (int)b;
				ew = w;
			}
			continue;
		}
		if (w_state(w) == ST_WRITING && !w_owner(w))
			op->idle = true;
		/* Relaxed: under the lock every claimed id is written (its
		 * claimer released the lock after it, we acquired it); it
		 * changes only through an EMPTY claim, also under the lock.
		 * (A claimer that died holding the lock may have left an old
		 * id: its buffer is held by a dead writer, repaired next.) */
		seq = atomic_load_explicit(&p->d[b].seq, memory_order_relaxed);
		if (seq != op->seq)
			continue;
		if (w_state(w) != ST_WRITING)
			return -EALREADY;
		if (w_owner(w)) {
			op->wait_member = (int)w_owner(w) - 1;
			return -EAGAIN;
		}
		return take_idle(p, b, &w);
	}
	if (empty < 0) {
		op->full = true;
		return -EAGAIN;
	}
	next = w_next(ew, ST_WRITING, (unsigned int)p->me + 1, 0);
	if (!word_cas(p, (uint32_t)empty, &ew, next))
		return -EAGAIN;
	shmipc_test_kill_point(SHMIPC_KP_EVP_CLAIMED);
	/* Release, for stable_read(); the others are relaxed: published by
	 * our CAS that lets the buffer go. */
	atomic_store_explicit(&p->d[empty].seq, op->seq, memory_order_release);
	atomic_store_explicit(&p->d[empty].start_ns, shmipc_now_ns(),
			      memory_order_release);
	atomic_store_explicit(&p->d[empty].expected, op->expected,
			      memory_order_relaxed);
	atomic_store_explicit(&p->d[empty].frags, 0, memory_order_relaxed);
	atomic_store_explicit(&p->d[empty].used, 0, memory_order_relaxed);
	return hold(p, (uint32_t)empty, next);
}

static int try_write(struct shmipc_evpool *p, struct evp_op *op)
{
	unsigned int tries;
	uint64_t w, seq, lk;
	uint32_t b;
	int ret;

	for (tries = 0; tries < EVP_RETRIES; tries++) {
		/* Without the lock: an event that is not held right now. */
		for (b = 0; b < p->nbuf; b++) {
			ret = load_word(p, b, &w);
			if (ret)
				return ret;
			if (w_state(w) == ST_EMPTY ||
			    (w_state(w) == ST_WRITING && w_owner(w)))
				continue;
			if (stable_read(p, b, w, &p->d[b].seq, &seq) ||
			    seq != op->seq)
				continue;
			if (w_state(w) != ST_WRITING)
				return -EALREADY;
			if (!take_idle(p, b, &w))
				return 0;
			break;
		}
		if (b < p->nbuf)
			continue;	/* lost a race for it: look again */
		/* Not found (or held): ask under the lock. */
		ret = lock_create(p, op->deadline, &lk);
		if (ret)
			return ret;
		shmipc_test_kill_point(SHMIPC_KP_EVP_LOCKED);
		ret = claim_locked(p, op);
		unlock_create(p, lk);
		if (ret != -EAGAIN || op->full || op->wait_member >= 0)
			return ret;
	}
	return -EAGAIN;
}

/* The hold is ours no more, or its descriptor is corrupt: drop it. */
static int drop_held(struct shmipc_evpool *p, int err)
{
	uint64_t w = p->held_word;

	if (word_cas(p, (uint32_t)p->held, &w,
		     w_next(w, ST_EMPTY, 0, 0)))
		wake_writers(p);
	p->held = -1;
	return err;
}

/* Let go of the held buffer: idle, or EMPTY if it has no fragment. */
static int let_go(struct shmipc_evpool *p)
{
	uint32_t b = (uint32_t)p->held;
	uint64_t w = p->held_word;
	/* Relaxed: we hold it, these are our own (or the creator's, which
	 * we acquired with the word). */
	uint32_t frags = atomic_load_explicit(&p->d[b].frags,
					      memory_order_relaxed);
	unsigned int st = frags ? ST_WRITING : ST_EMPTY;

	p->held = -1;
	if (!word_cas(p, b, &w, w_next(w, st, 0, 0)))
		return -EINVAL;
	wake_writers(p);
	return 0;
}

static int evp_block(struct shmipc_evpool *p, struct evp_op *op,
		     uint64_t deadline);

int shmipc_evpool_frag_begin(struct shmipc_evpool *p, uint64_t seq,
			     uint32_t expected, uint32_t frag_id,
			     uint32_t size, void **data, uint64_t deadline_ns)
{
	struct evp_op op = { 0 };
	struct shmipc_evpool_frag_hdr fh;
	uint32_t used, frags, exp, need;
	struct evp_desc *d;
	char *at;
	int ret;

	if (!p || !data || expected == 0 || expected > SHMIPC_EVPOOL_FRAGS_MAX)
		return -EINVAL;
	if (p->role != SHMIPC_PRODUCER)
		return -EPERM;
	if (p->held >= 0)
		return -EINVAL;
	if (size > p->buf_size - sizeof(fh) ||
	    shmipc_round8(size) > p->buf_size - sizeof(fh))
		return -EMSGSIZE;
	need = (uint32_t)sizeof(fh) + shmipc_round8(size);
	op.write = true;
	op.seq = seq;
	op.expected = expected;
	op.deadline = deadline_ns;
	ret = evp_block(p, &op, deadline_ns);
	if (ret)
		return ret;
	d = &p->d[p->held];
	/* Relaxed: written by the holders before us, acquired with the word;
	 * checked, as anything shared. */
	used = atomic_load_explicit(&d->used, memory_order_relaxed);
	frags = atomic_load_explicit(&d->frags, memory_order_relaxed);
	exp = atomic_load_explicit(&d->expected, memory_order_relaxed);
	if (used > p->buf_size || used % 8 || exp == 0 ||
	    exp > SHMIPC_EVPOOL_FRAGS_MAX || frags >= exp)
		return drop_held(p, -EBADMSG);
	if (exp != expected) {
		let_go(p);
		return -EINVAL;
	}
	if (need > p->buf_size - used) {
		let_go(p);
		return -ENOSPC;
	}
	at = buf_at(p, (uint32_t)p->held) + used;
	fh.size = size;
	fh.id = frag_id;
	memcpy(at, &fh, sizeof(fh));
	p->held_size = size;
	*data = at + sizeof(fh);
	return 0;
}

int shmipc_evpool_frag_commit(struct shmipc_evpool *p)
{
	uint32_t used, frags, exp, b;
	struct evp_desc *d;
	uint64_t w;
	int ret;

	if (!p)
		return -EINVAL;
	if (p->role != SHMIPC_PRODUCER)
		return -EPERM;
	if (p->held < 0)
		return -EINVAL;
	b = (uint32_t)p->held;
	d = &p->d[b];
	/* Relaxed: as in frag_begin(); checked again, a hostile peer may
	 * have written meanwhile. */
	used = atomic_load_explicit(&d->used, memory_order_relaxed);
	frags = atomic_load_explicit(&d->frags, memory_order_relaxed);
	exp = atomic_load_explicit(&d->expected, memory_order_relaxed);
	/* Acquire: still ours?  (Only a peer that took us for dead, or a
	 * hostile one, changes a held word; then it is not ours to write.) */
	if (atomic_load_explicit(&d->word, memory_order_acquire) !=
	    p->held_word) {
		p->held = -1;
		return -EINVAL;
	}
	if (used > p->buf_size || exp == 0 || frags >= exp ||
	    sizeof(struct shmipc_evpool_frag_hdr) +
			    shmipc_round8(p->held_size) >
		    p->buf_size - used)
		return drop_held(p, -EBADMSG);
	/* Relaxed: published by the CAS that lets go (release). */
	atomic_store_explicit(&d->used,
			      used + (uint32_t)sizeof(struct shmipc_evpool_frag_hdr) +
				      shmipc_round8(p->held_size),
			      memory_order_relaxed);
	atomic_store_explicit(&d->frags, frags + 1, memory_order_relaxed);
	shmipc_test_kill_point(SHMIPC_KP_EVP_FRAG_ADDED);
	p->held = -1;
	if (frags + 1 == exp) {
		ret = evp_publish_full(p, b, p->held_word, 0);
		if (ret < 0)
			return ret;
		count(p, C_COMPLETED);
		wake_writers(p);	/* those waiting to append to it */
		return 1;
	}
	w = p->held_word;
	if (!word_cas(p, b, &w, w_next(w, ST_WRITING, 0, 0)))
		return -EINVAL;
	wake_writers(p);
	return 0;
}

int shmipc_evpool_frag_abort(struct shmipc_evpool *p)
{
	if (!p)
		return -EINVAL;
	if (p->role != SHMIPC_PRODUCER)
		return -EPERM;
	return p->held < 0 ? -EINVAL : let_go(p);
}

int shmipc_evpool_add(struct shmipc_evpool *p, uint64_t seq,
		      uint32_t expected, uint32_t frag_id, const void *data,
		      uint32_t size, uint64_t deadline_ns)
{
	void *at;
	int ret;

	if (!data && size)
		return -EINVAL;
	ret = shmipc_evpool_frag_begin(p, seq, expected, frag_id, size, &at,
				       deadline_ns);
	if (ret)
		return ret;
	if (size)
		memcpy(at, data, size);
	return shmipc_evpool_frag_commit(p);
}

/* ------------------------------------------------------------------ */
/* Readers */

/* Describe the event taken in @b (word @w): 0, or -EBADMSG. */
static int describe(struct shmipc_evpool *p, uint32_t b, uint64_t w,
		    uint64_t seq, uint64_t ticket,
		    struct shmipc_evpool_event *ev)
{
	struct evp_desc *d = &p->d[b];
	/* Relaxed: written before the FULL word we acquired; they do not
	 * change while we hold it (checked all the same). */
	uint32_t used = atomic_load_explicit(&d->used, memory_order_relaxed);
	uint32_t frags = atomic_load_explicit(&d->frags, memory_order_relaxed);
	uint32_t exp = atomic_load_explicit(&d->expected, memory_order_relaxed);
	bool incomplete = w_flags(w) & SHMIPC_EVPOOL_EV_INCOMPLETE;

	if (used > p->buf_size || exp == 0 || exp > SHMIPC_EVPOOL_FRAGS_MAX ||
	    (incomplete ? frags >= exp : frags != exp))
		return -EBADMSG;
	ev->seq = seq;
	ev->data = buf_at(p, b);
	ev->size = used;
	ev->frags = frags;
	ev->expected = exp;
	ev->flags = w_flags(w);
	ev->buffer = b;
	ev->ticket = ticket;
	return 0;
}

/* An event a reader may take, as a scan found it. */
struct evp_pick {
	uint32_t b;
	uint32_t stamp;		/* broadcast */
	uint64_t w, seq;
};

/*
 * May this reader take the event in @b now (work sharing: FULL;
 * broadcast: one it has a share of and has not taken yet)?  1 and *@pk,
 * 0, -EAGAIN if the word changed while we read, -EBADMSG.
 */
static int eligible(struct shmipc_evpool *p, uint32_t b, struct evp_pick *pk)
{
	uint64_t w, m;
	int ret = load_word(p, b, &w);

	if (ret)
		return ret;
	if (w_state(w) != ST_FULL &&
	    (w_state(w) != ST_READING || !broadcast(p)))
		return 0;
	pk->b = b;
	pk->w = w;
	if (stable_read(p, b, w, &p->d[b].seq, &pk->seq))
		return -EAGAIN;
	if (!broadcast(p))
		return 1;
	pk->stamp = event_stamp(w);
	if (p->taken[b] == (TAKEN | pk->stamp))
		return 0;
	/* Ours if @w did not change (as the id above). */
	if (stable_read(p, b, w, &p->d[b].shares, &m))
		return -EAGAIN;
	if ((uint32_t)(m >> 32) != pk->stamp)
		return -EBADMSG;
	return ((uint32_t)m >> p->me) & 1;
}

/*
 * The event with the lowest sequence id that this reader may take now.
 * 1 and *@pk, 0 if none, -EAGAIN (a buffer kept changing), -EBADMSG.  A
 * buffer that changes while we look is looked at again, not skipped: in
 * a broadcast pool a FULL event that another reader takes meanwhile is
 * still ours to take.
 */
static int find_lowest(struct shmipc_evpool *p, struct evp_pick *pk)
{
	struct evp_pick cand;
	bool found = false;
	unsigned int tries;
	uint32_t b;
	int ret;

	for (b = 0; b < p->nbuf; b++) {
		tries = 0;
		do
			ret = eligible(p, b, &cand);
		while (ret == -EAGAIN && ++tries < 4);
		if (ret < 0)
			return ret;
		if (ret && (!found || cand.seq < pk->seq)) {
			found = true;
			*pk = cand;
		}
	}
	return found;
}

/* Work sharing: take @pk (FULL -> READING).  -EAGAIN: lost it. */
static int take_one(struct shmipc_evpool *p, const struct evp_pick *pk,
		    struct shmipc_evpool_event *ev)
{
	uint64_t w = pk->w, next = w_next(w, ST_READING,
					  (unsigned int)p->me + 1, w_flags(w));
	int ret;

	if (!word_cas(p, pk->b, &w, next))
		return -EAGAIN;
	shmipc_test_kill_point(SHMIPC_KP_EVP_TAKEN);
	count(p, C_TAKEN);
	ret = describe(p, pk->b, next, pk->seq, next, ev);
	/* Nobody can read it: drop it. */
	if (ret && word_cas(p, pk->b, &next, w_next(next, ST_EMPTY, 0, 0)))
		wake_writers(p);
	return ret;
}

/* Broadcast: take our share of @pk (the first taker: FULL -> READING). */
static int take_share(struct shmipc_evpool *p, const struct evp_pick *pk,
		      struct shmipc_evpool_event *ev)
{
	uint64_t w = pk->w;
	int ret;

	if (w_state(w) == ST_FULL) {
		if (!word_cas(p, pk->b, &w, w_next(w, ST_READING, OWNER_SHARED,
						   w_flags(w))))
			return -EAGAIN;
		count(p, C_TAKEN);
	}
	/* Our share keeps it from going EMPTY until we release it. */
	p->taken[pk->b] = TAKEN | pk->stamp;
	ret = describe(p, pk->b, pk->w, pk->seq, pk->stamp, ev);
	if (ret) {
		p->taken[pk->b] = 0;
		evp_shares_clear(p, pk->b, pk->stamp, 1U << p->me);
	}
	return ret;
}

static int try_get(struct shmipc_evpool *p, struct shmipc_evpool_event *ev)
{
	struct evp_pick pk;
	unsigned int tries;
	int ret;

	for (tries = 0; tries < EVP_RETRIES; tries++) {
		ret = find_lowest(p, &pk);
		if (ret == -EAGAIN)
			continue;
		if (ret <= 0)
			return ret ? ret : -EAGAIN;
		/* A scan is no snapshot: it may have passed an event's buffer
		 * before that event completed and then seen a later one.  A
		 * scan started now, after that later one was seen FULL, sees
		 * every event completed before it (if still takeable). */
		ret = find_lowest(p, &pk);
		if (ret == -EAGAIN || ret == 0)
			continue;
		if (ret < 0)
			return ret;
		ret = broadcast(p) ? take_share(p, &pk, ev) :
				     take_one(p, &pk, ev);
		if (ret != -EAGAIN)
			return ret;
	}
	return -EAGAIN;
}

int shmipc_evpool_get(struct shmipc_evpool *p, struct shmipc_evpool_event *ev,
		      uint64_t deadline_ns)
{
	struct evp_op op = { 0 };

	if (!p || !ev)
		return -EINVAL;
	if (p->role != SHMIPC_CONSUMER)
		return -EPERM;
	op.ev = ev;
	op.deadline = deadline_ns;
	return evp_block(p, &op, deadline_ns);
}

int shmipc_evpool_release(struct shmipc_evpool *p,
			  const struct shmipc_evpool_event *ev)
{
	uint64_t w;
	uint32_t b;

	if (!p || !ev)
		return -EINVAL;
	if (p->role != SHMIPC_CONSUMER)
		return -EPERM;
	if (ev->buffer >= p->nbuf)
		return -EINVAL;
	b = ev->buffer;
	if (broadcast(p)) {
		uint32_t stamp = (uint32_t)ev->ticket;
		int ret;

		if (ev->ticket >> 32 || p->taken[b] != (TAKEN | stamp))
			return -EINVAL;
		p->taken[b] = 0;
		ret = evp_shares_clear(p, b, stamp, 1U << p->me);
		return ret == -EAGAIN ? -EBADMSG : ret;
	}
	w = ev->ticket;
	if (w_state(w) != ST_READING || w_flags(w) & ~F_VALID)
		return -EINVAL;
	if (w_owner(w) != (unsigned int)p->me + 1)
		return -EPERM;
	if (!word_cas(p, b, &w, w_next(w, ST_EMPTY, 0, 0)))
		return -EINVAL;
	wake_writers(p);
	return 0;
}

int shmipc_evpool_next_frag(const struct shmipc_evpool_event *ev,
			    uint64_t *pos, struct shmipc_evpool_frag *frag)
{
	struct shmipc_evpool_frag_hdr fh;
	uint64_t at;

	if (!ev || !pos || !frag || !ev->data || *pos > ev->size || *pos % 8)
		return -EINVAL;
	at = *pos;
	if (at == ev->size)
		return 0;
	if (ev->size - at < sizeof(fh))
		return -EBADMSG;
	/* One copy: the header is shared, a hostile peer may rewrite it. */
	memcpy(&fh, (const char *)ev->data + at, sizeof(fh));
	if (shmipc_round8(fh.size) < fh.size ||
	    shmipc_round8(fh.size) > ev->size - at - sizeof(fh))
		return -EBADMSG;
	frag->data = (const char *)ev->data + at + sizeof(fh);
	frag->size = fh.size;
	frag->id = fh.id;
	*pos = at + sizeof(fh) + shmipc_round8(fh.size);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Blocking */

static int evp_try(struct shmipc_evpool *p, struct evp_op *op)
{
	op->wait_member = -1;
	op->full = false;
	if (op->write)
		return try_write(p, op);
	return try_get(p, op->ev);
}

/*
 * Try @op; unless @deadline is 0, spin, then sleep on the side's sequence
 * word until it succeeds, fails, or the deadline passes.  Every round
 * sweeps for dead holders first; the sleep names the holder it depends on.
 */
static int evp_block(struct shmipc_evpool *p, struct evp_op *op,
		     uint64_t deadline)
{
	_Atomic uint32_t *flag = op->write ? &p->h->space_waiting :
					     &p->h->data_waiting;
	_Atomic uint32_t *seq = op->write ? &p->h->space_seq :
					    &p->h->data_seq;
	bool distrust = false;
	struct shmipc_spin spin;
	int ret = evp_try(p, op);

	if (ret != -EAGAIN || deadline == 0)
		return ret;
	/* Poll while it is cheaper than sleeping (spin.h). */
	for (shmipc_spin_start(&spin);
	     ret == -EAGAIN && shmipc_spin_more(&spin);)
		ret = evp_try(p, op);
	while (ret == -EAGAIN) {
		uint64_t peer, until = deadline, due, now;
		bool several;
		uint32_t s;
		int n, w;

		s = shmipc_sleep_arm(flag, seq);
		ret = evp_try(p, op);
		if (ret != -EAGAIN)
			break;
		now = shmipc_now_ns();
		if (deadline != SHMIPC_FOREVER && now >= deadline)
			return -ETIMEDOUT;
		n = evp_sweep(p, false, &peer, &several);
		if (n < 0)
			return n;
		if (n > 0)
			continue;	/* something was freed: try again */
		if (op->write && op->full && p->expire_ns) {
			n = evp_expire(p, p->expire_ns, &due);
			if (n < 0)
				return n;
			if (n > 0)
				continue;
			if (due < until)
				until = due;	/* wake when one is due */
		}
		if (op->wait_member >= 0) {
			/* The one writer holding our event's buffer. */
			peer = member_peer(p, (unsigned int)op->wait_member);
			several = false;
		} else if (op->full && op->idle) {
			/* Any writer may take the idle event and die holding
			 * it (its take wakes nobody): that frees the buffer,
			 * and the holder is no one the sweep could name. */
			several = true;
		}
		if (several || distrust) {
			/* Any death wakes us (module); the slice covers a
			 * death between the sweep and the sleep. */
			peer = 0;
			if (now + EVP_SLICE_NS < until)
				until = now + EVP_SLICE_NS;
		}
		w = p->r->ops->wait(p->r, seq, s, until, peer);
		if (shmipc_wait_fatal(w))
			return w;
		/* A death named by the wait that the next sweep does not
		 * confirm: sleep for any death the next round. */
		distrust = w == -EOWNERDEAD || w == -EPIPE;
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Stats, close */

int shmipc_evpool_stats(struct shmipc_evpool *p,
			struct shmipc_evpool_stats *st)
{
	uint32_t *per_state[4];
	unsigned int i;
	uint64_t w;
	uint32_t b;
	int ret;

	if (!p || !st)
		return -EINVAL;
	ret = evp_sweep(p, true, NULL, NULL);
	if (ret < 0)
		return ret;
	memset(st, 0, sizeof(*st));
	per_state[ST_EMPTY] = &st->empty;
	per_state[ST_WRITING] = &st->writing;
	per_state[ST_FULL] = &st->full;
	per_state[ST_READING] = &st->reading;
	st->buffers = p->nbuf;
	for (b = 0; b < p->nbuf; b++) {
		ret = load_word(p, b, &w);
		if (ret)
			return ret;
		(*per_state[w_state(w)])++;
	}
	for (i = 0; i < MEMBERS; i++) {
		uint32_t role;

		if (!member_peer(p, i))
			continue;
		/* Relaxed: a count for display. */
		role = atomic_load_explicit(&p->h->members[i].role,
					    memory_order_relaxed);
		if (role == SHMIPC_PRODUCER)
			st->writers++;
		else if (role == SHMIPC_CONSUMER)
			st->readers++;
	}
	/* Relaxed: statistics. */
#define CNT(c) atomic_load_explicit(&p->h->count[c], memory_order_relaxed)
	st->completed = CNT(C_COMPLETED);
	st->taken = CNT(C_TAKEN);
	st->expired_incomplete = CNT(C_EXP_INCOMPLETE);
	st->expired_dropped = CNT(C_EXP_DROPPED);
	st->dead_writer_drops = CNT(C_DEAD_WRITER);
	st->dead_reader_returns = CNT(C_DEAD_READER);
	st->no_reader_drops = CNT(C_NO_READER);
	st->last_dropped_seq = CNT(C_LAST_DROPPED);
#undef CNT
	return 0;
}

/* A closing reader gives back what it holds (its shares, broadcast). */
static void give_back(struct shmipc_evpool *p)
{
	unsigned int me = (unsigned int)p->me;
	uint64_t w;
	uint32_t b;

	for (b = 0; b < p->nbuf; b++) {
		if (load_word(p, b, &w))
			continue;
		if (broadcast(p)) {
			if (w_state(w) == ST_FULL || w_state(w) == ST_READING)
				evp_shares_clear(p, b, event_stamp(w), 1U << me);
			continue;
		}
		if (w_state(w) != ST_READING || w_owner(w) != me + 1)
			continue;
		if (word_cas(p, b, &w,
			     w_next(w, ST_FULL, 0,
				    w_flags(w) | SHMIPC_EVPOOL_EV_REDELIVERED))) {
			count(p, C_DEAD_READER);
			wake_readers(p);
		}
	}
}

int shmipc_evpool_close(struct shmipc_evpool *p)
{
	if (!p)
		return 0;
	if (p->held >= 0)
		let_go(p);
	if (p->role == SHMIPC_CONSUMER)
		give_back(p);
	if (p->me >= 0) {
		struct evp_member *m = &p->h->members[p->me];
		uint64_t mine = p->peer;

		atomic_store_explicit(&m->role, 0, memory_order_seq_cst);
		/* Release: our use of the pool comes before the slot is
		 * free; only if it is still ours. */
		atomic_compare_exchange_strong_explicit(
			&m->peer, &mine, 0, memory_order_release,
			memory_order_relaxed);
	}
	free(p->taken);
	free(p);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Introspection (only reads: the mapping may be read-only) */

int shmipc_evpool_describe(struct shmipc_region *r, uint64_t off,
			   uint64_t size, struct shmipc_object_stat *st)
{
	struct shmipc_evpool p = { .r = r };
	uint32_t n[4] = { 0 }, b;
	uint64_t w;

	p.h = shmipc_region_ptr(r, off, sizeof(*p.h));
	if (!p.h || size < sizeof(*p.h) ||
	    atomic_load_explicit(&p.h->obj.magic, memory_order_acquire) !=
	    EVP_MAGIC)
		return 0;
	if (p.h->obj.version != SHMIPC_LIB_VERSION ||
	    p.h->obj.hdr_size != sizeof(*p.h) || evp_check(&p, off, size)) {
		st->flags |= SHMIPC_OBJECT_CORRUPT;
		return 1;
	}
	for (b = 0; b < p.nbuf; b++) {
		if (load_word(&p, b, &w)) {
			st->flags |= SHMIPC_OBJECT_CORRUPT;
			return 1;
		}
		n[w_state(w)]++;
	}
	/* Fill: the buffers holding an event for the readers. */
	st->flags |= SHMIPC_OBJECT_QUEUE;
	st->slot_size = p.buf_size;
	st->capacity = p.nbuf;
	st->fill = n[ST_FULL];
	snprintf(st->detail, sizeof(st->detail),
		 "empty %u, writing %u, full %u, reading %u%s", n[ST_EMPTY],
		 n[ST_WRITING], n[ST_FULL], n[ST_READING],
		 broadcast(&p) ? " (broadcast)" : "");
	return 1;
}
