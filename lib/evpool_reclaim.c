// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Event-buffer pool: holders that died, and events that grew old.
 *
 * Deaths are found by a sweep: every holder (and share, and lock owner)
 * named anywhere in the pool is checked once with the backend's
 * peer_alive(); the buffers of the dead are repaired, then their slots
 * freed.  A blocked call sweeps before every sleep, and sleeps naming
 * the one holder it depends on, so the module wakes it at that death;
 * with several holders (or, for a writer waiting for space, an idle event
 * that any writer may take) it sleeps for any death (module) and at most
 * a slice, which only matters for a death between its sweep and its sleep.
 *
 * Expiry ends the incomplete events that nobody is appending to and whose
 * first fragment is old enough: delivered FULL flagged INCOMPLETE (held
 * for a moment, to write the broadcast shares), or dropped.
 */
#include "evpool_int.h"

/*
 * Repair buffer @b if a member of @dead (slot i then owned by
 * dead_peer[i]) holds it or a share of it.  1 if repaired, 0, -EBADMSG.
 */
static int repair(struct shmipc_evpool *p, uint32_t b, uint32_t dead,
		  const uint64_t *dead_peer)
{
	unsigned int st, own;
	uint64_t w, seq;
	int ret = load_word(p, b, &w);

	if (ret)
		return ret;
	st = w_state(w);
	own = w_owner(w);
	if (own >= 1 && own <= MEMBERS && (dead & (1U << (own - 1))) &&
	    member_peer(p, own - 1) == dead_peer[own - 1]) {
		if (st == ST_WRITING) {
			/* Relaxed: a report only. */
			seq = atomic_load_explicit(&p->d[b].seq,
						   memory_order_relaxed);
			if (!word_cas(p, b, &w, w_next(w, ST_EMPTY, 0, 0)))
				return 0;
			count(p, C_DEAD_WRITER);
			atomic_store_explicit(&p->h->count[C_LAST_DROPPED],
					      seq, memory_order_relaxed);
			wake_writers(p);
			return 1;
		}
		if (st == ST_READING) {
			if (!word_cas(p, b, &w,
				      w_next(w, ST_FULL, 0,
					     w_flags(w) |
						     SHMIPC_EVPOOL_EV_REDELIVERED)))
				return 0;
			count(p, C_DEAD_READER);
			wake_readers(p);
			return 1;
		}
	}
	if (broadcast(p) && (st == ST_FULL || st == ST_READING)) {
		uint64_t m = atomic_load_explicit(&p->d[b].shares,
						  memory_order_acquire);
		uint32_t bits = (uint32_t)m & dead;
		unsigned int i;

		if ((uint32_t)(m >> 32) != event_stamp(w))
			return atomic_load_explicit(&p->d[b].word,
						    memory_order_acquire) == w ?
				       -EBADMSG : 0;
		for (i = 0; i < MEMBERS; i++)
			if ((bits & (1U << i)) &&
			    member_peer(p, i) != dead_peer[i])
				bits &= ~(1U << i);	/* a new owner's */
		if (bits && !evp_shares_clear(p, b, event_stamp(w), bits))
			return 1;
	}
	return 0;
}

/* Free the creation lock if a member of @dead holds it. */
static void unlock_dead(struct shmipc_evpool *p, uint32_t dead,
			const uint64_t *dead_peer)
{
	/* Acquire: the slot read after it is its owner's (see the top). */
	uint64_t l = atomic_load_explicit(&p->h->create_lock,
					  memory_order_acquire);
	unsigned int own = (unsigned int)(l & LOCK_OWNER_MASK);

	if (own < 1 || own > MEMBERS || !(dead & (1U << (own - 1))) ||
	    member_peer(p, own - 1) != dead_peer[own - 1])
		return;
	/* Relaxed: a dead owner published nothing we need. */
	atomic_compare_exchange_strong_explicit(
		&p->h->create_lock, &l, (l & ~LOCK_OWNER_MASK) + LOCK_GEN_ONE,
		memory_order_relaxed, memory_order_relaxed);
}

/*
 * Find the members named in the pool (as holders, shares or lock owner;
 * with @all_members every open member) whose process died or left,
 * repair what they held and free their slots.  Returns how many buffers
 * were repaired, or -EBADMSG.  *@sleep_peer (if not NULL): the peer id of
 * the only live holder, or 0; *@several: more than one live holder peer.
 */
int evp_sweep(struct shmipc_evpool *p, bool all_members,
	      uint64_t *sleep_peer, bool *several)
{
	uint64_t dead_peer[MEMBERS] = { 0 }, one = 0;
	uint32_t named = 0, dead = 0;
	unsigned int i, own;
	bool more = false;
	int ret, fixed = 0;
	uint32_t b;
	uint64_t w;

	for (b = 0; b < p->nbuf; b++) {
		ret = load_word(p, b, &w);
		if (ret)
			return ret;
		own = w_owner(w);
		if (own >= 1 && own <= MEMBERS)
			named |= 1U << (own - 1);
		if (broadcast(p) && (w_state(w) == ST_FULL ||
				     w_state(w) == ST_READING))
			/* Relaxed: a hint; repair() re-reads with acquire. */
			named |= (uint32_t)atomic_load_explicit(
				&p->d[b].shares, memory_order_relaxed);
	}
	own = (unsigned int)(atomic_load_explicit(&p->h->create_lock,
						  memory_order_relaxed) &
			     LOCK_OWNER_MASK);
	if (own > MEMBERS)
		return -EBADMSG;
	if (own)
		named |= 1U << (own - 1);
	for (i = 0; i < MEMBERS; i++) {
		uint64_t peer = member_peer(p, i);

		if (all_members && peer)
			named |= 1U << i;
		if (!(named & (1U << i)))
			continue;
		dead_peer[i] = peer;
		/* Free slot still named: a leftover, as good as dead. */
		if (peer && (peer == p->peer ||
			     p->r->ops->peer_alive(p->r, peer) == 1)) {
			if (one && one != peer)
				more = true;
			one = peer;
			continue;
		}
		dead |= 1U << i;
	}
	if (sleep_peer) {
		*sleep_peer = more ? 0 : one;
		*several = more;
	}
	if (!dead)
		return 0;
	for (b = 0; b < p->nbuf; b++) {
		ret = repair(p, b, dead, dead_peer);
		if (ret < 0)
			return ret;
		fixed += ret;
	}
	unlock_dead(p, dead, dead_peer);
	/* Nothing names them now, and the dead make no new claims: free
	 * their slots (a broadcast share added meanwhile by a completing
	 * writer names a free slot; the next sweep clears it). */
	for (i = 0; i < MEMBERS; i++) {
		if (!(dead & (1U << i)) || !dead_peer[i])
			continue;
		atomic_store_explicit(&p->h->members[i].role, 0,
				      memory_order_relaxed);
		/* Release: the repairs above come before the slot is free;
		 * from the exact peer id: never a new owner's slot. */
		atomic_compare_exchange_strong_explicit(
			&p->h->members[i].peer, &dead_peer[i], 0,
			memory_order_release, memory_order_relaxed);
	}
	return fixed;
}

int shmipc_evpool_reclaim(struct shmipc_evpool *p)
{
	return p ? evp_sweep(p, true, NULL, NULL) : -EINVAL;
}

/*
 * End the idle incomplete events that started at least @age ns ago.
 * Returns how many; *@next_due (if not NULL): when the next one will be
 * due (UINT64_MAX: none).
 */
int evp_expire(struct shmipc_evpool *p, uint64_t age, uint64_t *next_due)
{
	uint64_t now = shmipc_now_ns(), w, start;
	int n = 0, ret;
	uint32_t b;

	if (next_due)
		*next_due = UINT64_MAX;
	for (b = 0; b < p->nbuf; b++) {
		ret = load_word(p, b, &w);
		if (ret)
			return ret;
		if (w_state(w) != ST_WRITING || w_owner(w) ||
		    stable_read(p, b, w, &p->d[b].start_ns, &start))
			continue;
		if (start > now || now - start < age) {
			if (next_due && start <= now &&
			    start + age < *next_due)
				*next_due = start + age;
			continue;
		}
		if (p->flags & SHMIPC_EVPOOL_DROP_INCOMPLETE) {
			if (!word_cas(p, b, &w, w_next(w, ST_EMPTY, 0, 0)))
				continue;
			count(p, C_EXP_DROPPED);
			wake_writers(p);
		} else {
			/* Hold it to write the broadcast shares, then FULL. */
			uint64_t held = w_next(w, ST_WRITING,
					       (unsigned int)p->me + 1, 0);

			if (!word_cas(p, b, &w, held))
				continue;
			if (evp_publish_full(p, b, held,
					 SHMIPC_EVPOOL_EV_INCOMPLETE) < 0)
				continue;
			count(p, C_EXP_INCOMPLETE);
			wake_writers(p);	/* any that saw it held */
		}
		n++;
	}
	return n;
}

int shmipc_evpool_expire(struct shmipc_evpool *p, uint64_t older_than_ns)
{
	int ret;

	if (!p)
		return -EINVAL;
	if (p->me < 0)
		return -EPERM;
	ret = evp_sweep(p, false, NULL, NULL);
	return ret < 0 ? ret : evp_expire(p, older_than_ns, NULL);
}

