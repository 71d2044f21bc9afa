/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The two ends of a one-to-one link (a producer and a consumer in any
 * processes): who holds each role, takeover of a dead or closed holder's
 * role, the waiter flags and sequence words a blocked side sleeps on,
 * and the blocking loop that learns the other side's death or close.
 * Shared by every one-to-one structure of the library: the SPSC channel
 * (spsc.c), the variable-size SPSC ring (vring.c) and the growable
 * buffer (growbuf.c).  See ends.c for the protocol.
 */
#ifndef SHMIPC_ENDS_H
#define SHMIPC_ENDS_H

#include "internal.h"

/* One end: the peer id of its holder and its state word (see ends.c). */
struct ends_end {
	_Atomic uint64_t peer;
	_Atomic uint32_t state;	/* END_* | generation | OWNER_DIED */
	uint32_t pad;
};

/*
 * The shared part, two 64-byte lines at the end of the owner's header:
 * the sleep words (written only around sleeps, so the line stays
 * shared-clean on the fast path), then the two ends.
 */
struct ends_shared {
	_Atomic uint32_t cons_waiting;	/* the consumer sleeps on data_seq */
	_Atomic uint32_t data_seq;
	_Atomic uint32_t prod_waiting;	/* the producer sleeps on space_seq */
	_Atomic uint32_t space_seq;
	uint8_t pad0[64 - 16];
	struct ends_end prod;
	struct ends_end cons;
	uint8_t pad1[64 - 32];
};

_Static_assert(sizeof(struct ends_shared) == 2 * 64, "ends layout");

/* This process's view of one end, inside its structure's handle. */
struct ends {
	struct shmipc_region *r;
	struct ends_shared *s;
	struct ends_end *mine, *other;
	enum shmipc_role role;
	uint32_t my_state;	/* our end's state word while we hold it */
};

/*
 * Open-time lookup shared by the one-to-one structures: check the
 * arguments (-EINVAL), find @key in @r's directory (its errors) and check
 * that the object holds at least @min bytes (-EBADMSG); *@off / *@size
 * receive where it is.  ENDS_FIND also clears the handle *@out first.
 */
SHMIPC_LOCAL int ends_find(struct shmipc_region *r, const char *key,
			   enum shmipc_role role, uint64_t min, uint64_t *off,
			   uint64_t *size);
#define ENDS_FIND(r, key, role, out, min, off, size)			\
	((out) ? (*(out) = NULL, ends_find(r, key, role, min, off, size)) \
	       : -EINVAL)

/* -EINVAL without a handle (@e NULL), -EPERM when it holds another role. */
static inline int ends_role(const struct ends *e, enum shmipc_role want)
{
	if (!e)
		return -EINVAL;
	return e->role == want ? 0 : -EPERM;
}

/*
 * Take @role of the link at @s (an end that is free, closed, or whose
 * holder died); fills @e.  -EBUSY while a live peer holds it (or another
 * taker is between its steps), -EBADMSG for a corrupt state word,
 * -ENOSPC / the backend's errors when the word cannot be owned.
 */
SHMIPC_LOCAL int ends_take(struct ends *e, struct shmipc_region *r,
			   struct ends_shared *s, enum shmipc_role role);

/* Give the role up (CLOSED), waking the other side.  Idempotent. */
SHMIPC_LOCAL void ends_leave(struct ends *e);

/*
 * Store our cursor @val into @cursor (seq_cst: ordered before the load
 * of the other side's waiter flag), then wake the other side if it
 * sleeps.  Every publish of a cursor the other side may wait on goes
 * through here.
 */
SHMIPC_LOCAL void ends_publish(struct ends *e, _Atomic uint32_t *cursor,
			       uint32_t val);

/*
 * The other end's state: 0 (open; or nobody attached yet), -EOWNERDEAD,
 * -EPIPE (closed), -EBADMSG.
 */
SHMIPC_LOCAL int ends_other_gone(struct ends *e);

/* Did the other side close its end (a clean leave)?  Reads the state
 * word only: no backend call. */
SHMIPC_LOCAL bool ends_other_closed(struct ends *e);

/*
 * Wait until the other side is gone, up to @deadline_ns: -EOWNERDEAD,
 * -EPIPE, -EBADMSG, or -ETIMEDOUT while it is still there.  (The module
 * marks a death a moment after the process is gone: this is how to wait
 * for that when something the dead side held has already vanished.)
 */
SHMIPC_LOCAL int ends_await_gone(struct ends *e, uint64_t deadline_ns);

/*
 * Call @try_once(@arg) until it returns non-zero (1: done -> 0; < 0: that
 * error), spinning a while and then sleeping until the other side
 * publishes, dies (-EOWNERDEAD), closes (-EPIPE) or @deadline_ns passes
 * (-ETIMEDOUT).  After the other side went, @try_once gets one last
 * chance, so whatever it published before is used first.
 */
SHMIPC_LOCAL int ends_block(struct ends *e, int (*try_once)(void *arg),
			    void *arg, uint64_t deadline_ns);

/*
 * For tools (introspection; the mapping may be read-only): a description
 * of @end ("none", "closed", "being taken over", "peer N", "peer N
 * (dead)" or "corrupt"), written into @buf when it needs one.
 */
SHMIPC_LOCAL const char *ends_end_name(const struct shmipc_region *r,
				       const struct ends_end *end, char *buf,
				       size_t len);

#endif /* SHMIPC_ENDS_H */
