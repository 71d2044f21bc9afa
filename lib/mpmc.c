// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MPMC channel: a bounded queue of slots for any number of producers and
 * consumers (threads or processes), after Dmitry Vyukov's bounded MPMC
 * queue, made so that a process killed at any instruction never wedges
 * it.
 *
 * Shared layout (MPMC_VERSION): a header of four 64-byte lines (config;
 * enq_pos; deq_pos; waiter flags and sleep words), the user registry
 * (MPMC_USERS lines), then the slot array.  A slot is a 16-byte header
 * (the 64-bit slot word, the message length) and the message, padded to
 * 8 bytes.
 *
 * The slot word is seq (low 32 bits) and holder (high 32 bits: 0, or the
 * registry reference of the handle that holds the slot).  For a position
 * p (free-running; slot p & mask):
 *
 *   FREE(p)      = (p,     0)  the producer of p may take it
 *   PRODUCING(p) = (p,     h)  handle h writes message p
 *   FULL(p)      = (p + 1, 0)  the consumer of p may take it
 *   CONSUMING(p) = (p + 1, h)  handle h reads message p
 *   FREE(p + capacity)         the next lap
 *
 * Registry: each handle takes an entry at open: its process's peer id, a
 * generation bumped by every take and every release, and per role the
 * number of its threads inside a claim (below).  Its reference is
 * (generation << 8 | index + 1), so a slot word names its holder in 32
 * bits; a reference whose generation is no longer the entry's names a
 * holder that is gone (an entry is released at close, and taken over
 * only from a dead peer).  The generation has 24 bits: a stale reference
 * could name a live holder again only after 2^23 opens and closes of its
 * entry while its slot waits unrepaired, and then only delays the repair
 * until that holder closes or dies.
 *
 * Claim (producers on enq_pos, consumers on deq_pos; k positions at once
 * for bursts):
 *   1. load the cursor pos; the slots of pos .. pos+k-1 must be FREE
 *      (producer) / FULL (consumer), else full / empty (or, for a slot
 *      already taken for pos, help the cursor on and look again)
 *   2. claiming[role]++ in our registry entry      (the announcement)
 *   3. CAS cursor pos -> pos + k                    (the positions are ours)
 *   4. CAS each slot FREE/FULL -> PRODUCING/CONSUMING with our reference
 *   5. claiming[role]--
 *   6. copy, then publish FULL(p) / release FREE(p + capacity); wake.
 * A repairer CASes the same slot word as step 4, from the same value:
 * exactly one of them wins.  A claimer that loses a position does not
 * use it (a single message is claimed anew at another position).
 *
 * Repair, by a blocked call looking at the slot it waits for:
 *   consumer at p: PRODUCING(p, h) and h gone; or FREE(p) while
 *     enq_pos > p (taken, not marked) and no live handle has a producer
 *     claim in flight.  CAS the word to FREE(p + capacity) (position p
 *     is skipped: its message is lost), then help deq_pos past p.
 *   producer at q = p + capacity: CONSUMING(p, h) and h gone; or FULL(p)
 *     while deq_pos > p and no live handle has a consumer claim in
 *     flight.  CAS the word to FREE(q).
 * The winner of the CAS reports -EOWNERDEAD (once per lost position) and
 * wakes both sides.  Producers repair only consumers and consumers only
 * producers: each loss is reported on the side that would have used it.
 *
 * Why "no live claim in flight" means the claimer is dead: steps 2-5 and
 * the repairer's loads (slot word, then the other role's cursor, then
 * every entry's claiming count) are seq_cst, so they fall in one total
 * order S.  The claimer X of p did 2 < 3 < 4 < 5 in S; the repairer read
 * the cursor past p, so after 3, and the counts after that.  If it reads
 * X's count as 0, X's step 5 came before, so step 4 did too, and the
 * repairer's CAS (from FREE/FULL) fails.  So the repairer wins against a
 * claimer between 3 and 4 only when it ignored that claimer's count
 * because its peer is not alive.  Even a wrong verdict (a forged peer
 * table) loses nothing silently: the CAS decides, and a producer that
 * loses its mark sends elsewhere.
 *
 * Kill points (what a SIGKILL at each instruction leaves):
 *   before 3: nothing (a count > 0 in a dead entry is ignored).
 *   3..4 (SHMIPC_KP_*_CLAIMED): cursor past p, slot FREE/FULL, count > 0
 *     of a dead peer: repaired as above.
 *   4..6 (SHMIPC_KP_*_MARKED): the slot names a dead holder: repaired.
 *   after the publish or release, before the wake (SHMIPC_KP_*_DONE):
 *     the message is in the queue; a sleeper misses one wake, but a
 *     sleeper never depends on one: the module wakes waits without a
 *     named peer at any peer's death, and the portable backend's waits
 *     last one slice (SHMIPC_PORTABLE_SLICE_MS).
 *   a repairer after its CAS (SHMIPC_KP_REPAIRED): the slot is already
 *     repaired; a consumer cursor still at p is helped on by the next
 *     consumer (it sees FREE(p + capacity): "p is taken"); no report.
 *   open, between taking an entry and bumping its generation
 *     (SHMIPC_KP_USER_TAKEN): the entry names a dead peer: references to
 *     it read as dead, and the next open takes it over.
 * A cursor moves only by a claim or by helping, and helping happens only
 * over a slot that shows the position taken, so no position is skipped
 * while its slot is still waited for.
 *
 * Variable size: the producer stores the length in the slot header
 * before publishing (fixed-size sends store slot_size).  A var receive
 * reads it before claiming (release / acquire, then re-checks the word),
 * so a message too big for the buffer stays queued (-EMSGSIZE).
 *
 * Untrusted input: the config is validated once at open and kept in the
 * handle; a slot's seq more than a lap behind the position is corrupt
 * (-EBADMSG), as is a holder reference outside the registry; loops are
 * bounded (MPMC_RETRIES, the registry size, the burst size), so a hostile
 * writer cannot make a call loop forever.
 *
 * Sleeping (shmipc_sleep_arm(), internal.h): a blocked side reads the
 * sequence word, sets its waiter flag (seq_cst, on every round),
 * re-checks the queue and sleeps on the word (naming the holder it waits
 * for, if any, so that the module wakes it at that death).  The other side publishes (seq_cst), then takes the
 * flag (seq_cst exchange with 0) and only if it was set bumps the word
 * and wakes all sleepers: the same Dekker pairing as the SPSC channel.
 * A flag, not a count: a sleeper killed while asleep cannot leave a
 * count that makes every later publish a syscall.
 */
#include "internal.h"
#include "introspect_internal.h"
#include "spin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MPMC_MAGIC	0x434d504dU	/* "MPMC" */
#define MPMC_VERSION	2		/* layout of this file's shared data */
#define MPMC_RETRIES	1024U	/* CAS losses per call: far above real contention */
#define MPMC_USERS	SHMIPC_MPMC_HANDLES_MAX	/* registry entries */
#define REF_INDEX(ref)	(((ref) & 0xffU) - 1)
#define REF_GEN(ref)	((ref) >> 8)
#define GEN_MASK	0x00ffffffU

enum { PROD = 0, CONS = 1 };

struct mpmc_hdr {
	/* line 0: config, written once by the creator (magic last) */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t msg_size;
	uint32_t stride;	/* 16 + round8(msg_size) */
	uint32_t capacity;
	uint64_t slots_off;
	uint64_t users_off;
	uint32_t users;
	uint32_t pad0;
	uint8_t pad1[64 - 48];
	_Atomic uint32_t enq_pos;
	uint8_t pad2[64 - 4];
	_Atomic uint32_t deq_pos;
	uint8_t pad3[64 - 4];
	_Atomic uint32_t cons_waiters;	/* a flag: 1 while a consumer sleeps */
	_Atomic uint32_t data_seq;
	_Atomic uint32_t prod_waiters;	/* a flag: 1 while a producer sleeps */
	_Atomic uint32_t space_seq;
	uint8_t pad4[64 - 16];
};

_Static_assert(sizeof(struct mpmc_hdr) == 4 * 64, "mpmc header layout");

/* A registry entry: one line, written by its handle's threads. */
struct mpmc_user {
	_Atomic uint64_t peer;		/* 0: free */
	_Atomic uint32_t gen;
	_Atomic uint32_t claiming[2];	/* threads between steps 2 and 5 */
	uint8_t pad[64 - 20];
};

_Static_assert(sizeof(struct mpmc_user) == 64, "mpmc registry entry");
_Static_assert(MPMC_USERS < 255, "a reference holds index + 1 in 8 bits");

struct mpmc_slot {
	_Atomic uint64_t word;		/* seq | holder << 32 */
	_Atomic uint32_t len;		/* message bytes, <= msg_size */
	uint32_t pad;
	unsigned char data[];
};

_Static_assert(sizeof(struct mpmc_slot) == 16, "slot header");

struct shmipc_mpmc {
	struct shmipc_region *r;
	struct mpmc_hdr *h;
	struct mpmc_user *users;
	struct mpmc_user *me;		/* our registry entry */
	char *slots;
	uint64_t peer;			/* our peer id */
	uint32_t ref;			/* our holder reference */
	uint32_t msg_size, stride, cap, mask;
};

/* A claim: positions pos .. pos+n-1, of which owned carry our mark. */
struct claim {
	uint32_t pos, n, owned;
};

/* One message for the blocking and single calls. */
struct xfer {
	const void *src;	/* send */
	void *dst;		/* receive */
	size_t len;		/* send: bytes; receive: buffer bytes */
	size_t *got;		/* var receive: message bytes; NULL: fixed */
};

static uint32_t round8(uint32_t v)
{
	return (v + 7U) & ~7U;
}

static inline uint64_t word_of(uint32_t seq, uint32_t holder)
{
	return (uint64_t)holder << 32 | seq;
}

static inline uint32_t word_seq(uint64_t w)
{
	return (uint32_t)w;
}

static inline uint32_t word_holder(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

static struct mpmc_slot *slot_at(const struct shmipc_mpmc *q, uint32_t pos)
{
	return (struct mpmc_slot *)(q->slots +
				    (size_t)(pos & q->mask) * q->stride);
}

static _Atomic uint32_t *cursor_of(const struct shmipc_mpmc *q,
				   unsigned int role)
{
	return role == PROD ? &q->h->enq_pos : &q->h->deq_pos;
}

/* ------------------------------------------------------------------ */
/* Create, open, close */

uint64_t shmipc_mpmc_bytes(uint32_t slot_size, uint32_t capacity)
{
	if (slot_size == 0 || slot_size > SHMIPC_SPSC_SLOT_MAX ||
	    capacity < 2 || capacity > SHMIPC_SPSC_CAPACITY_MAX ||
	    (capacity & (capacity - 1)))
		return 0;
	return sizeof(struct mpmc_hdr) +
	       MPMC_USERS * sizeof(struct mpmc_user) +
	       (sizeof(struct mpmc_slot) + (uint64_t)round8(slot_size)) *
	       capacity;
}

int shmipc_mpmc_init_at(struct shmipc_region *r, uint64_t off,
			uint64_t avail, uint32_t slot_size, uint32_t capacity)
{
	uint64_t bytes = shmipc_mpmc_bytes(slot_size, capacity);
	uint32_t stride = sizeof(struct mpmc_slot) + round8(slot_size);
	struct mpmc_hdr *h;
	char *slots;
	uint32_t i;

	if (!r || !bytes || bytes > avail || (off & 63))
		return -EINVAL;
	h = shmipc_region_ptr(r, off, bytes);
	if (!h)
		return -EINVAL;
	/* Relaxed stores all through: published by the release of the magic
	 * at the end (openers wait for it with acquire). */
	atomic_store_explicit(&h->magic, 0, memory_order_relaxed);
	h->version = MPMC_VERSION;
	h->hdr_size = sizeof(*h);
	h->msg_size = slot_size;
	h->stride = stride;
	h->capacity = capacity;
	h->users_off = off + sizeof(*h);
	h->users = MPMC_USERS;
	h->slots_off = h->users_off + MPMC_USERS * sizeof(struct mpmc_user);
	atomic_store_explicit(&h->enq_pos, 0, memory_order_relaxed);
	atomic_store_explicit(&h->deq_pos, 0, memory_order_relaxed);
	atomic_store_explicit(&h->cons_waiters, 0, memory_order_relaxed);
	atomic_store_explicit(&h->data_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&h->prod_waiters, 0, memory_order_relaxed);
	atomic_store_explicit(&h->space_seq, 0, memory_order_relaxed);
	memset((char *)h + sizeof(*h), 0,
	       MPMC_USERS * sizeof(struct mpmc_user));
	slots = (char *)h + (h->slots_off - off);
	for (i = 0; i < capacity; i++) {
		struct mpmc_slot *s = (struct mpmc_slot *)
			(slots + (size_t)i * stride);

		atomic_store_explicit(&s->word, word_of(i, 0),
				      memory_order_relaxed);
		atomic_store_explicit(&s->len, 0, memory_order_relaxed);
	}
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&h->magic, MPMC_MAGIC, memory_order_release);
	return 0;
}

int shmipc_mpmc_create(struct shmipc_region *r, const char *key,
		       uint32_t slot_size, uint32_t capacity)
{
	uint64_t bytes = shmipc_mpmc_bytes(slot_size, capacity);
	uint64_t off;
	int ret;

	if (!r || !bytes)
		return -EINVAL;
	ret = shmipc_dir_alloc(r, key, bytes, 64, &off);
	if (ret)
		return ret;
	ret = shmipc_mpmc_init_at(r, off, bytes, slot_size, capacity);
	return ret == -EINVAL ? -EBADMSG : ret;	/* the directory lied */
}

/*
 * Take a registry entry: a free one, else one whose peer is dead.  The
 * CAS from the exact value inspected makes takers of one entry exclusive;
 * the generation is bumped after it, so until then references of the old
 * holder name us (a repairer waits, or sees us dead if we die here).
 */
static int user_take(struct shmipc_mpmc *q)
{
	unsigned int pass, i;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < MPMC_USERS; i++) {
			struct mpmc_user *u = &q->users[i];
			/* Relaxed: the CAS below re-checks the value. */
			uint64_t p = atomic_load_explicit(&u->peer,
							  memory_order_relaxed);
			uint32_t g;

			if (pass == 0 ? p != 0 :
			    (p == 0 || p == q->peer ||
			     q->r->ops->peer_alive(q->r, p) == 1))
				continue;
			/* Acquire: after the previous holder's release at
			 * close; release: ordered before our claims. */
			if (!atomic_compare_exchange_strong_explicit(
				    &u->peer, &p, q->peer,
				    memory_order_acq_rel, memory_order_relaxed))
				continue;
			shmipc_test_kill_point(SHMIPC_KP_USER_TAKEN);
			/* Relaxed: a stale count only delays a repair;
			 * published with the generation. */
			atomic_store_explicit(&u->claiming[PROD], 0,
					      memory_order_relaxed);
			atomic_store_explicit(&u->claiming[CONS], 0,
					      memory_order_relaxed);
			/* Release: a repairer that reads one of our marks
			 * (acquire) reads this generation or a later one. */
			g = atomic_fetch_add_explicit(&u->gen, 1,
						      memory_order_release) + 1;
			q->me = u;
			q->ref = (g & GEN_MASK) << 8 | (i + 1);
			return 0;
		}
	}
	return -EUSERS;
}

/*
 * Check the queue header of the object at @off (@size bytes) and fill the
 * layout fields of @q from it (not the registry entry).  Shared by open
 * and by introspection, which may map the region read-only.
 */
static int mpmc_check(struct shmipc_mpmc *q, struct shmipc_region *r,
		      uint64_t off, uint64_t size)
{
	uint64_t slots_off, users_off;
	uint32_t msg, stride, cap;
	struct mpmc_hdr *h;
	int ret;

	h = shmipc_region_ptr(r, off, sizeof(*h));
	if (!h || size < sizeof(*h))
		return -EBADMSG;
	ret = shmipc_await_magic(&h->magic, MPMC_MAGIC);
	if (ret)
		return ret;
	if (h->version != MPMC_VERSION)
		return -EPROTONOSUPPORT;
	msg = h->msg_size;
	stride = h->stride;
	cap = h->capacity;
	users_off = h->users_off;
	slots_off = h->slots_off;
	if (h->hdr_size != sizeof(*h) || !shmipc_mpmc_bytes(msg, cap) ||
	    stride != sizeof(struct mpmc_slot) + round8(msg) ||
	    h->users != MPMC_USERS || users_off != off + sizeof(*h) ||
	    slots_off != users_off + MPMC_USERS * sizeof(struct mpmc_user) ||
	    size < shmipc_mpmc_bytes(msg, cap) ||
	    !shmipc_in_region(r, off, shmipc_mpmc_bytes(msg, cap)))
		return -EBADMSG;
	q->r = r;
	q->h = h;
	q->users = (struct mpmc_user *)((char *)shmipc_region_base(r) +
					users_off);
	q->slots = (char *)shmipc_region_base(r) + slots_off;
	q->msg_size = msg;
	q->stride = stride;
	q->cap = cap;
	q->mask = cap - 1;
	return 0;
}

int shmipc_mpmc_open_at(struct shmipc_region *r, uint64_t off,
			uint64_t size, struct shmipc_mpmc **out)
{
	struct shmipc_mpmc tmp = { 0 }, *q;
	int ret;

	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	ret = mpmc_check(&tmp, r, off, size);
	if (ret)
		return ret;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	*q = tmp;
	q->peer = shmipc_region_peer_id(r);
	ret = user_take(q);
	if (ret) {
		free(q);
		return ret;
	}
	*out = q;
	return 0;
}

int shmipc_mpmc_open(struct shmipc_region *r, const char *key,
		     struct shmipc_mpmc **out)
{
	uint64_t off, size;
	int ret;

	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	ret = shmipc_obj_find(r, key, &off, &size);
	if (ret)
		return ret;
	return shmipc_mpmc_open_at(r, off, size, out);
}

static void wake(struct shmipc_mpmc *q, unsigned int sleepers);

int shmipc_mpmc_close(struct shmipc_mpmc *q)
{
	uint64_t me;

	if (!q)
		return 0;
	me = q->peer;
	/* The slots this handle still holds now name a gone holder.  The
	 * generation bump is seq_cst: a release after everything we wrote,
	 * and the Dekker pair of the wakes below with a sleeper that waits
	 * for one of those slots (its holder is alive, so no death wakes
	 * it): either its re-check sees the bump and repairs, or we see its
	 * flag.  Relaxed check: an entry that is no longer ours (a forged
	 * peer table) is left alone. */
	if (atomic_load_explicit(&q->me->peer, memory_order_relaxed) == me) {
		atomic_fetch_add_explicit(&q->me->gen, 1,
					  memory_order_seq_cst);
		atomic_compare_exchange_strong_explicit(
			&q->me->peer, &me, 0, memory_order_release,
			memory_order_relaxed);
		wake(q, CONS);
		wake(q, PROD);
	}
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

/* ------------------------------------------------------------------ */
/* Claims */

/*
 * Wake the sleepers of @seq if the waiter flag says someone sleeps.  The
 * flag is taken (cleared) by the waker and set again by every sleeper on
 * every round, so a sleeper that was killed cannot leave it stuck (a count
 * could stick, and then every later publish would make a syscall).  As a
 * flag cannot say how many sleep, all of them are woken: each re-checks
 * and the ones that find nothing set it again and sleep.  Waking all also
 * means a waiter that gives up (deadline) after a wake swallows nothing.
 */
static void wake(struct shmipc_mpmc *q, unsigned int sleepers)
{
	_Atomic uint32_t *waiters = sleepers == CONS ? &q->h->cons_waiters :
						       &q->h->prod_waiters;
	_Atomic uint32_t *seq = sleepers == CONS ? &q->h->data_seq :
						   &q->h->space_seq;

	/* seq_cst: after our seq_cst publish of the slot (Dekker). */
	if (!atomic_exchange_explicit(waiters, 0, memory_order_seq_cst))
		return;
	/* Release: ordered after the slot we published. */
	atomic_fetch_add_explicit(seq, 1, memory_order_release);
	q->r->ops->wake(q->r, seq, UINT32_MAX);
}

enum slot_state { READY, TAKEN, BLOCKED, CORRUPT };

/*
 * The slot word @w seen for position @pos by @role: READY (FREE(pos) for
 * a producer, FULL(pos) for a consumer), TAKEN (pos went to another
 * claimer of the role: the cursor is stale or lags), BLOCKED (full /
 * empty, or the previous lap still held), CORRUPT (a seq more than a lap
 * behind: nothing honest writes that).
 */
static enum slot_state classify(const struct shmipc_mpmc *q, uint64_t w,
				uint32_t pos, unsigned int role)
{
	int32_t dif = (int32_t)(word_seq(w) - (pos + role));

	if (dif == 0)
		return word_holder(w) ? TAKEN : READY;
	if (dif > 0)
		return TAKEN;
	return dif < -(int32_t)q->cap ? CORRUPT : BLOCKED;
}

/*
 * Position @pos of @cursor is taken: the position to look at next.  A
 * cursor still at @pos lags (a consumer that repairs a position changes
 * the slot word first and moves deq_pos after: killed in between, it
 * leaves the cursor behind) and is moved on.  Relaxed: the slot words,
 * not the cursor, say who holds what.
 */
static uint32_t help(_Atomic uint32_t *cursor, uint32_t pos)
{
	uint32_t cur = atomic_load_explicit(cursor, memory_order_relaxed);

	if (cur != pos)
		return cur;
	if (atomic_compare_exchange_strong_explicit(cursor, &cur, pos + 1,
						    memory_order_relaxed,
						    memory_order_relaxed))
		return pos + 1;
	return cur;
}

/*
 * A var receive into @room bytes, at the FULL slot @s seen as @w: its
 * length, read before claiming so that a message that does not fit stays
 * queued.  0: claim it; 1: the slot changed, look again; -EMSGSIZE with
 * *@need.
 */
static int fits(const struct shmipc_mpmc *q, struct mpmc_slot *s, uint64_t w,
		size_t room, size_t *need)
{
	/* Acquire: pairs with the release store of a later lap's length,
	 * after which that lap's claim shows in the word (checked next). */
	uint32_t len = atomic_load_explicit(&s->len, memory_order_acquire);

	/* Acquire: the length belongs to @w if the word still holds it. */
	if (atomic_load_explicit(&s->word, memory_order_acquire) != w)
		return 1;
	if (len <= q->msg_size && len > room) {
		*need = len;
		return -EMSGSIZE;
	}
	return 0;	/* (a corrupt length is taken and dropped) */
}

/*
 * Claim between @need and @want (1 <= need <= want <= capacity) positions
 * for @role; @x (var receive) checks the first message's length.  0 and
 * *@c, -EAGAIN (full / empty / too much contention), -EBADMSG,
 * -EMSGSIZE.
 */
static int claim(struct shmipc_mpmc *q, unsigned int role, uint32_t need,
		 uint32_t want, const struct xfer *x, struct claim *c)
{
	_Atomic uint32_t *cursor = cursor_of(q, role);
	_Atomic uint32_t *claiming = &q->me->claiming[role];
	uint32_t pos, tries, k, i, owned;
	int ret;

	/* Relaxed: the slot word (seq_cst) is what orders the data. */
	pos = atomic_load_explicit(cursor, memory_order_relaxed);
	for (tries = 0; tries < MPMC_RETRIES; tries++) {
		struct mpmc_slot *s = slot_at(q, pos);
		/* seq_cst: acquire for the slot's data, and the load of the
		 * Dekker pair with a sleeper's waiter flag. */
		uint64_t w = atomic_load_explicit(&s->word,
						  memory_order_seq_cst);

		switch (classify(q, w, pos, role)) {
		case CORRUPT:
			return -EBADMSG;
		case BLOCKED:
			return -EAGAIN;	/* full (producer) / empty */
		case TAKEN:
			pos = help(cursor, pos);
			continue;
		case READY:
			break;
		}
		if (x && x->got && x->len < q->msg_size) {
			ret = fits(q, s, w, x->len, x->got);
			if (ret == 1)
				continue;
			if (ret)
				return ret;
		}
		/* Relaxed: a READY slot stays READY until its position is
		 * claimed (we are about to), and the mark CAS re-checks. */
		for (k = 1; k < want; k++) {
			uint64_t wk = atomic_load_explicit(
				&slot_at(q, pos + k)->word,
				memory_order_relaxed);

			if (classify(q, wk, pos + k, role) != READY)
				break;
		}
		if (k < need)
			return -EAGAIN;
		/* seq_cst, steps 2-5: see "why ... dead" at the top. */
		atomic_fetch_add_explicit(claiming, 1, memory_order_seq_cst);
		if (!atomic_compare_exchange_strong_explicit(
			    cursor, &pos, pos + k, memory_order_seq_cst,
			    memory_order_relaxed)) {
			atomic_fetch_sub_explicit(claiming, 1,
						  memory_order_seq_cst);
			continue;	/* pos: the cursor now */
		}
		shmipc_test_kill_point(role == PROD ? SHMIPC_KP_SEND_CLAIMED :
						      SHMIPC_KP_RECV_CLAIMED);
		for (owned = 0, i = 0; i < k; i++) {
			uint64_t ready = word_of(pos + i + role, 0);

			owned += atomic_compare_exchange_strong_explicit(
				&slot_at(q, pos + i)->word, &ready,
				word_of(pos + i + role, q->ref),
				memory_order_seq_cst, memory_order_relaxed);
		}
		atomic_fetch_sub_explicit(claiming, 1, memory_order_seq_cst);
		if (!owned)
			continue;	/* all repaired away: claim anew */
		shmipc_test_kill_point(role == PROD ? SHMIPC_KP_SEND_MARKED :
						      SHMIPC_KP_RECV_MARKED);
		c->pos = pos;
		c->n = k;
		c->owned = owned;
		return 0;
	}
	return -EAGAIN;
}

/* Whether position @i of claim @c carries our mark (only a repairer that
 * wrongly took us for dead can have taken one). */
static bool ours(const struct shmipc_mpmc *q, const struct claim *c,
		 uint32_t i, unsigned int role)
{
	/* Relaxed: our own mark, or the repairer's CAS that beat it. */
	return c->owned == c->n ||
	       atomic_load_explicit(&slot_at(q, c->pos + i)->word,
				    memory_order_relaxed) ==
	       word_of(c->pos + i + role, q->ref);
}

/* Producer: the message at @pos is written: make it FULL. */
static void publish(struct shmipc_mpmc *q, uint32_t pos, size_t len)
{
	struct mpmc_slot *s = slot_at(q, pos);

	/* Release: see fits(). */
	atomic_store_explicit(&s->len, (uint32_t)len, memory_order_release);
	/* seq_cst: release of the message, and ordered before the load of
	 * the consumers' waiter flag in wake() (Dekker). */
	atomic_store_explicit(&s->word, word_of(pos + 1, 0),
			      memory_order_seq_cst);
}

/* Consumer: the message at @pos is read: free the slot for the next lap. */
static void release_slot(struct shmipc_mpmc *q, uint32_t pos)
{
	/* seq_cst: our reads of the message happen before the next
	 * producer's writes (release), and Dekker with the producers'
	 * waiter flag. */
	atomic_store_explicit(&slot_at(q, pos)->word, word_of(pos + q->cap, 0),
			      memory_order_seq_cst);
}

/* Messages in the queue, a snapshot (0..capacity). */
static unsigned int used_now(const struct shmipc_mpmc *q)
{
	/* Relaxed: an estimate for the caller, nothing is decided on it. */
	uint32_t e = atomic_load_explicit(&q->h->enq_pos, memory_order_relaxed);
	uint32_t d = atomic_load_explicit(&q->h->deq_pos, memory_order_relaxed);
	int32_t used = (int32_t)(e - d);

	return used < 0 ? 0 : (uint32_t)used > q->cap ? q->cap : (uint32_t)used;
}

/*
 * Send between @need and @n messages of @len bytes each (contiguous in
 * @msgs, slot_size apart).  Count sent, or -EAGAIN / -EBADMSG.
 */
static int send_n(struct shmipc_mpmc *q, const void *msgs, uint32_t need,
		  uint32_t n, size_t len)
{
	const char *src = msgs;
	struct claim c;
	uint32_t i, sent = 0;
	int ret;

	ret = claim(q, PROD, need, n, NULL, &c);
	if (ret)
		return ret;
	for (i = 0; i < c.n; i++) {
		if (!ours(q, &c, i, PROD))
			continue;
		if (len)	/* (a var message may be empty, @msgs NULL) */
			memcpy(slot_at(q, c.pos + i)->data,
			       src + (size_t)sent * q->msg_size, len);
		publish(q, c.pos + i, len);
		sent++;
	}
	shmipc_test_kill_point(SHMIPC_KP_SEND_DONE);
	wake(q, CONS);
	return (int)sent;
}

/*
 * Copy the message at @pos into @dst: fixed (@got NULL: slot_size bytes,
 * zero after a shorter var message) or var (*@got; @room bytes fit).  0,
 * or -EBADMSG for a corrupt length (the message is dropped).
 */
static int take(struct shmipc_mpmc *q, uint32_t pos, void *dst, size_t room,
		size_t *got)
{
	struct mpmc_slot *s = slot_at(q, pos);
	/* Relaxed: written before the publish we acquired in the claim. */
	uint32_t len = atomic_load_explicit(&s->len, memory_order_relaxed);

	if (got) {
		if (len > q->msg_size || len > room)
			return -EBADMSG;
		if (len)	/* (@dst may be NULL for an empty message) */
			memcpy(dst, s->data, len);
		*got = len;
	} else if (len < q->msg_size) {
		memcpy(dst, s->data, len);
		memset((char *)dst + len, 0, q->msg_size - len);
	} else {
		memcpy(dst, s->data, q->msg_size);
	}
	return 0;
}

/*
 * Receive between @need and @n messages into @msgs (slot_size apart),
 * or one message as @x says (NULL: fixed size).  Count received, or -EAGAIN / -EBADMSG /
 * -EMSGSIZE.
 */
static int recv_n(struct shmipc_mpmc *q, void *msgs, uint32_t need,
		  uint32_t n, const struct xfer *x)
{
	char *dst = msgs;
	struct claim c;
	uint32_t i, got = 0;
	int ret, bad = 0;

	ret = claim(q, CONS, need, n, x, &c);
	if (ret)
		return ret;
	for (i = 0; i < c.n; i++) {
		if (!ours(q, &c, i, CONS))
			continue;
		ret = take(q, c.pos + i, dst + (size_t)got * q->msg_size,
			   x ? x->len : q->msg_size, x ? x->got : NULL);
		release_slot(q, c.pos + i);
		if (ret)
			bad = ret;
		else
			got++;
	}
	shmipc_test_kill_point(SHMIPC_KP_RECV_DONE);
	wake(q, PROD);
	return bad && !got ? bad : (int)got;
}

/* ------------------------------------------------------------------ */
/* Non-blocking calls */

static int one(struct shmipc_mpmc *q, unsigned int role, const struct xfer *x)
{
	int ret = role == PROD ? send_n(q, x->src, 1, 1, x->len) :
				 recv_n(q, x->dst, 1, 1, x);

	return ret == 1 ? 0 : ret;
}

/* Burst (@all false: up to @n) and bulk (@all: @n or none). */
static int many(struct shmipc_mpmc *q, unsigned int role, void *msgs,
		unsigned int n, unsigned int *left, bool all)
{
	uint32_t want;
	int ret;

	if (!q || (!msgs && n))
		return -EINVAL;
	if (all && n > q->cap)
		return -EINVAL;
	want = n < q->cap ? n : q->cap;
	ret = 0;
	if (want) {
		ret = role == PROD ?
		      send_n(q, msgs, all ? want : 1, want, q->msg_size) :
		      recv_n(q, msgs, all ? want : 1, want, NULL);
		if (ret == -EAGAIN && !all)
			ret = 0;
	}
	if (left)
		*left = role == PROD ? q->cap - used_now(q) : used_now(q);
	return ret;
}

int shmipc_mpmc_send_burst(struct shmipc_mpmc *q, const void *msgs,
			   unsigned int n, unsigned int *free_space)
{
	return many(q, PROD, (void *)msgs, n, free_space, false);
}

int shmipc_mpmc_send_bulk(struct shmipc_mpmc *q, const void *msgs,
			  unsigned int n, unsigned int *free_space)
{
	return many(q, PROD, (void *)msgs, n, free_space, true);
}

int shmipc_mpmc_recv_burst(struct shmipc_mpmc *q, void *msgs, unsigned int n,
			   unsigned int *avail)
{
	return many(q, CONS, msgs, n, avail, false);
}

int shmipc_mpmc_recv_bulk(struct shmipc_mpmc *q, void *msgs, unsigned int n,
			  unsigned int *avail)
{
	return many(q, CONS, msgs, n, avail, true);
}

/* ------------------------------------------------------------------ */
/* Zero copy */

int shmipc_mpmc_reserve(struct shmipc_mpmc *q, void **slot, uint32_t *ticket)
{
	struct claim c;
	int ret;

	if (!q || !slot || !ticket)
		return -EINVAL;
	ret = claim(q, PROD, 1, 1, NULL, &c);
	if (ret)
		return ret;
	*slot = slot_at(q, c.pos)->data;
	*ticket = c.pos;
	return 0;
}

int shmipc_mpmc_peek(struct shmipc_mpmc *q, const void **slot,
		     uint32_t *ticket)
{
	struct claim c;
	int ret;

	if (!q || !slot || !ticket)
		return -EINVAL;
	ret = claim(q, CONS, 1, 1, NULL, &c);
	if (ret)
		return ret;
	*slot = slot_at(q, c.pos)->data;
	*ticket = c.pos;
	return 0;
}

/* Publish / release the slot at @pos, after a check that we hold it. */
static int finish(struct shmipc_mpmc *q, uint32_t pos, unsigned int role)
{
	/* Relaxed: our own mark, read back to check the ticket; only we
	 * change it while it is ours (no double commit). */
	if (!q || atomic_load_explicit(&slot_at(q, pos)->word,
				       memory_order_relaxed) !=
		  word_of(pos + role, q->ref))
		return -EINVAL;
	if (role == PROD) {
		publish(q, pos, q->msg_size);
		wake(q, CONS);
	} else {
		release_slot(q, pos);
		wake(q, PROD);
	}
	return 0;
}

int shmipc_mpmc_commit(struct shmipc_mpmc *q, uint32_t ticket)
{
	return finish(q, ticket, PROD);
}

int shmipc_mpmc_release(struct shmipc_mpmc *q, uint32_t ticket)
{
	return finish(q, ticket, CONS);
}

/* ------------------------------------------------------------------ */
/* Death and repair */

/*
 * Is the holder @ref alive?  1 (*@peer: its peer id, to sleep on), 0
 * (dead, left, or its entry changed hands: gone), -EBADMSG.
 */
static int holder_alive(struct shmipc_mpmc *q, uint32_t ref, uint64_t *peer)
{
	uint32_t idx = REF_INDEX(ref), g1, g2;
	struct mpmc_user *u;
	uint64_t p;

	if (idx >= MPMC_USERS)
		return -EBADMSG;
	u = &q->users[idx];
	/* Acquire (all three): pairs with the taker's release of the
	 * generation; the generation read on both sides of the peer says
	 * the peer belongs to the generation of @ref. */
	g1 = atomic_load_explicit(&u->gen, memory_order_acquire);
	p = atomic_load_explicit(&u->peer, memory_order_acquire);
	g2 = atomic_load_explicit(&u->gen, memory_order_acquire);
	if (g1 != g2 || (g1 & GEN_MASK) != REF_GEN(ref) || !p)
		return 0;
	if (p == q->peer)
		return 1;	/* ourselves (another thread, or a ticket) */
	if (q->r->ops->peer_alive(q->r, p) != 1)
		return 0;
	*peer = p;
	return 1;
}

/* Does a live handle have a claim of @role between steps 2 and 5? */
static bool claim_in_flight(struct shmipc_mpmc *q, unsigned int role)
{
	unsigned int i;

	for (i = 0; i < MPMC_USERS; i++) {
		struct mpmc_user *u = &q->users[i];
		uint64_t p;

		/* seq_cst: after our seq_cst load of the cursor (see the
		 * top of the file). */
		if (!atomic_load_explicit(&u->claiming[role],
					  memory_order_seq_cst))
			continue;
		/* Relaxed: who the count belongs to; a stale answer only
		 * makes us wait. */
		p = atomic_load_explicit(&u->peer, memory_order_relaxed);
		if (p && (p == q->peer || q->r->ops->peer_alive(q->r, p) == 1))
			return true;
	}
	return false;
}

/*
 * The slot a blocked @role waits for: held (or claimed, not yet marked)
 * by a process that died?  Then repair it (see the top of the file) and
 * return -EOWNERDEAD.  Else 0, with *@peer the live holder to sleep on
 * (or 0); -EBADMSG for a corrupt holder.
 */
static int repair_head(struct shmipc_mpmc *q, unsigned int role,
		       uint64_t *peer)
{
	_Atomic uint32_t *mine = cursor_of(q, role);
	_Atomic uint32_t *theirs = cursor_of(q, !role);
	/* seq_cst (cursor, word, then the counts): see the top. */
	uint32_t pos = atomic_load_explicit(mine, memory_order_seq_cst);
	struct mpmc_slot *s = slot_at(q, pos);
	uint64_t w = atomic_load_explicit(&s->word, memory_order_seq_cst);
	/* The position whose holder we wait for: ours (a consumer waits
	 * for its producer), or a lap back (a producer waits for the
	 * consumer of the previous lap); its seq while held by the other
	 * role is that position + the other role. */
	uint32_t held = role == CONS ? pos : pos - q->cap;
	uint32_t next = role == CONS ? pos + q->cap : pos;
	int ret;

	*peer = 0;
	if (word_seq(w) != held + !role)
		return 0;
	if (word_holder(w)) {
		ret = holder_alive(q, word_holder(w), peer);
		if (ret)
			return ret;
	} else {
		/* Not marked: dead only if the other role claimed it (its
		 * cursor is past it) and no live claimer is in flight. */
		if ((int32_t)(atomic_load_explicit(theirs,
						   memory_order_seq_cst) -
			      held) <= 0 ||
		    claim_in_flight(q, !role))
			return 0;
	}
	/* seq_cst: the race with the claimer's mark and other repairers;
	 * exactly one CAS from @w wins.  The new word frees the slot for
	 * the lap after @held (a producer's release). */
	if (!atomic_compare_exchange_strong_explicit(&s->word, &w,
						     word_of(next, 0),
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return 0;
	shmipc_test_kill_point(SHMIPC_KP_REPAIRED);
	if (role == CONS)
		help(mine, pos);	/* skip the lost position */
	wake(q, PROD);
	/* The wake that woke us may have been for a message another
	 * consumer can take now: hand it on. */
	wake(q, CONS);
	*peer = 0;
	/* Dead or left: the same loss to us.  (The module forgets a dead
	 * peer that owned no words, so a death can also read as "left".) */
	return -EOWNERDEAD;
}

/* ------------------------------------------------------------------ */
/* Blocking calls */

static int block(struct shmipc_mpmc *q, unsigned int role,
		 const struct xfer *x, uint64_t deadline_ns)
{
	_Atomic uint32_t *waiters = role == PROD ? &q->h->prod_waiters :
						   &q->h->cons_waiters;
	_Atomic uint32_t *seq = role == PROD ? &q->h->space_seq :
					       &q->h->data_seq;
	struct shmipc_spin spin;
	int ret;

	ret = one(q, role, x);
	/* Poll while it is cheaper than sleeping (spin.h). */
	if (ret == -EAGAIN)
		for (shmipc_spin_start(&spin);
		     ret == -EAGAIN && shmipc_spin_more(&spin);)
			ret = one(q, role, x);
	while (ret == -EAGAIN) {
		uint32_t s;
		uint64_t peer;
		int d, w;

		/* Armed on every round (a waker clears the flag); the
		 * Dekker pair with wake().  Another consumer may take the
		 * message whose wake took our flag: the arm reads @seq
		 * first, so that wake's bump makes our wait return. */
		s = shmipc_sleep_arm(waiters, seq);
		/* After every wait too: try before looking at the deadline,
		 * so a wake that came with the deadline is not lost; and
		 * repair before it, so a passed deadline still repairs. */
		ret = one(q, role, x);
		if (ret != -EAGAIN)
			break;
		d = repair_head(q, role, &peer);
		if (d < 0)
			return d;
		if (deadline_ns != SHMIPC_FOREVER &&
		    shmipc_now_ns() >= deadline_ns)
			return -ETIMEDOUT;
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

/*
 * Every single-message call: check the arguments (@var: @x->len is the
 * message's length / the buffer's size, and @x->got receives the length;
 * else both are slot_size), then one try, or (@blocking) block until
 * @deadline_ns.
 */
static int single(struct shmipc_mpmc *q, unsigned int role, struct xfer *x,
		  bool var, bool blocking, uint64_t deadline_ns)
{
	if (!q)
		return -EINVAL;
	if (role == PROD ? !x->src && (!var || x->len) :
			   (var && !x->got) || (!x->dst && (!var || x->len)))
		return -EINVAL;
	if (!var)
		x->len = q->msg_size;
	else if (role == PROD && x->len > q->msg_size)
		return -EMSGSIZE;
	return blocking ? block(q, role, x, deadline_ns) : one(q, role, x);
}

int shmipc_mpmc_try_send(struct shmipc_mpmc *q, const void *msg)
{
	struct xfer x = { .src = msg };

	return single(q, PROD, &x, false, false, 0);
}

int shmipc_mpmc_try_recv(struct shmipc_mpmc *q, void *msg)
{
	struct xfer x = { .dst = msg };

	return single(q, CONS, &x, false, false, 0);
}

int shmipc_mpmc_try_send_var(struct shmipc_mpmc *q, const void *msg,
			     size_t len)
{
	struct xfer x = { .src = msg, .len = len };

	return single(q, PROD, &x, true, false, 0);
}

int shmipc_mpmc_try_recv_var(struct shmipc_mpmc *q, void *buf,
			     size_t buf_size, size_t *len)
{
	struct xfer x = { .dst = buf, .len = buf_size, .got = len };

	return single(q, CONS, &x, true, false, 0);
}

int shmipc_mpmc_send(struct shmipc_mpmc *q, const void *msg,
		     uint64_t deadline_ns)
{
	struct xfer x = { .src = msg };

	return single(q, PROD, &x, false, true, deadline_ns);
}

int shmipc_mpmc_recv(struct shmipc_mpmc *q, void *msg, uint64_t deadline_ns)
{
	struct xfer x = { .dst = msg };

	return single(q, CONS, &x, false, true, deadline_ns);
}

int shmipc_mpmc_send_var(struct shmipc_mpmc *q, const void *msg, size_t len,
			 uint64_t deadline_ns)
{
	struct xfer x = { .src = msg, .len = len };

	return single(q, PROD, &x, true, true, deadline_ns);
}

int shmipc_mpmc_recv_var(struct shmipc_mpmc *q, void *buf, size_t buf_size,
			 size_t *len, uint64_t deadline_ns)
{
	struct xfer x = { .dst = buf, .len = buf_size, .got = len };

	return single(q, CONS, &x, true, true, deadline_ns);
}

/* ------------------------------------------------------------------ */
/* Introspection (only reads: the mapping may be read-only) */

int shmipc_mpmc_describe(struct shmipc_region *r, uint64_t off, uint64_t size,
			 struct shmipc_object_stat *st)
{
	struct mpmc_hdr *h = shmipc_region_ptr(r, off, sizeof(*h));
	struct shmipc_mpmc q;
	uint32_t prod, cons;

	if (!h || size < sizeof(*h) ||
	    atomic_load_explicit(&h->magic, memory_order_acquire) != MPMC_MAGIC)
		return 0;
	if (mpmc_check(&q, r, off, size)) {
		st->flags |= SHMIPC_OBJECT_CORRUPT;
		return 1;
	}
	shmipc_inspect_fill(st, &h->enq_pos, &h->deq_pos, q.cap, q.msg_size);
	/* Relaxed: flags for display only. */
	prod = atomic_load_explicit(&h->prod_waiters, memory_order_relaxed);
	cons = atomic_load_explicit(&h->cons_waiters, memory_order_relaxed);
	if (prod || cons)
		snprintf(st->detail, sizeof(st->detail), "%s%s sleeping",
			 prod ? "producers" : "",
			 prod && cons ? " and consumers" :
			 cons ? "consumers" : "");
	return 1;
}
