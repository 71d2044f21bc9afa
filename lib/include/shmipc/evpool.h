/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc event-buffer pool (part of <shmipc.h>; do not include alone).
 *
 * A pool of N fixed-size buffers inside a region, named by a directory
 * key, for assembling events out of fragments (the event builder of a
 * data acquisition system): writers add fragments to the buffer of an
 * event's sequence id, readers take complete events in sequence order and
 * read them in place.  Each buffer goes through
 *
 *     Empty -> Writing -> Full -> Reading -> Empty
 *
 * and its state, its holder and a generation live in one 64-bit atomic
 * word, changed only by compare-and-swap: every change bumps the
 * generation, so a ticket or hold from before a change is refused.
 *
 * Writers.  The first fragment of a sequence id claims an Empty buffer
 * for it (Writing); later fragments, from any writer, are appended to
 * that buffer; the fragment that brings the count to the event's
 * expected number makes it Full.  One writer at a time appends to a given
 * event (it *holds* the buffer for the length of one fragment); different
 * events are written concurrently.  Between fragments a Writing buffer is
 * held by nobody.  A fragment for a sequence id whose event has already
 * left the pool (delivered, expired or dropped) starts a new event.
 *
 * Readers.  A reader takes the Full buffer with the lowest sequence id
 * (Reading), reads it in place and releases it (Empty).  Each Full buffer
 * goes to exactly one reader: the readers share the work, each call
 * taking the next event, so readers that ask in turn get events in turn
 * (round robin).  Events are delivered in sequence order among the
 * events that are Full at the time: a later event that completes first
 * is not held back by an earlier incomplete one.
 *
 * Broadcast (SHMIPC_EVPOOL_BROADCAST at creation): every reader sees every
 * event, once, in the same order; a buffer becomes Empty when all the
 * readers that were open when it became Full have released it (closed or
 * dead readers count as released).  An event completed while no reader is
 * open is dropped (counted in stats.no_reader_drops): broadcast is for
 * monitors, which see what happens while they watch.
 *
 * Incomplete events.  shmipc_evpool_expire() ends events whose first
 * fragment is older than a given age and that are not complete: by
 * default they are delivered to readers as Full with
 * SHMIPC_EVPOOL_EV_INCOMPLETE set (the fragments that came are there);
 * with SHMIPC_EVPOOL_DROP_INCOMPLETE they are dropped (Empty).  A pool
 * created with an expiry age does this by itself on the writer path: a
 * writer that finds no Empty buffer first expires the events older than
 * that age (and, blocked, wakes up when the oldest one reaches it).
 *
 * Deaths.  A buffer held by a writer whose process died (or left the
 * region) goes back to Empty: its partial event is dropped, counted in
 * stats.dead_writer_drops and stats.last_dropped_seq.  A buffer held by
 * a dead reader goes back to Full, flagged SHMIPC_EVPOOL_EV_REDELIVERED,
 * and is delivered to another reader: no event is lost or duplicated by
 * a reader's death (an event is consumed once it is released).  This
 * happens as soon as the death is noticed: by a call that has to wait
 * (before each sleep), shmipc_evpool_stats(), _reclaim() or _expire().  A
 * waiting call sleeps naming the holder it waits for, so the module wakes
 * it at that death; where several holders matter it sleeps for any death
 * of the region's peers (module) and re-checks at least every
 * SHMIPC_PORTABLE_SLICE_MS.  The portable backend notices a death within
 * SHMIPC_PORTABLE_SLICE_MS.  A call that finds work at once, and a call
 * with deadline 0, does not look for deaths (that would cost a system
 * call per holder on every call): a supervisor that reaps a dead process
 * calls shmipc_evpool_reclaim() so that the dead one's event comes back
 * before later ones.  A broadcast reader's death clears its share of
 * every buffer.  A process that closes the region with pool handles still
 * open counts as dead for them.
 *
 * Members.  Every writer or reader handle takes one of
 * SHMIPC_EVPOOL_MEMBERS_MAX member slots of the pool (the holder recorded
 * in a buffer's word is a member slot; the slot records the process's
 * peer id, which the backend checks for liveness).  Slots of dead
 * processes are reused.  An observer handle (role 0) takes no slot: it can
 * read the stats and reclaim.
 *
 * Fragments.  In a buffer each fragment is a struct shmipc_evpool_frag_hdr
 * followed by its bytes, padded to 8; shmipc_evpool_next_frag() walks
 * them with bounds checks.  Everything in a buffer was written by another
 * process: a reader must not trust it more than any shared data.
 *
 * Thread-safety: a handle is used by one thread at a time; different
 * handles (also on the same pool, in one process) may be used at once.
 * Deadlines: absolute CLOCK_MONOTONIC ns, SHMIPC_FOREVER, or 0: do not
 * wait (-EAGAIN instead of -ETIMEDOUT).
 *
 * Errors (besides the general ones of <shmipc.h>)
 *   -EINVAL   bad argument, or a transition that is not valid from the
 *             buffer's current state: a commit or abort without a
 *             fragment begun, a second begin, a release of an event that
 *             is no longer held by this handle (released twice, a ticket
 *             from before a reclaim), a fragment whose expected count
 *             differs from its event's
 *   -EPERM    the call needs another role (a reader adding, a writer or an
 *             observer taking), or the event was taken by another handle
 *   -EALREADY a fragment for an event that is already complete
 *   -EMSGSIZE a fragment larger than a buffer can ever hold
 *   -ENOSPC   the event's buffer has no room left for this fragment
 *   -EUSERS   all member slots are taken by live handles
 *   -EBADMSG  a corrupt pool header, buffer word, descriptor or fragment
 */
#ifndef SHMIPC_EVPOOL_H
#define SHMIPC_EVPOOL_H

#ifndef SHMIPC_H
#error "include <shmipc.h>, not <shmipc/evpool.h>"
#endif

#define SHMIPC_EVPOOL_BUFFERS_MAX	4096U
#define SHMIPC_EVPOOL_BUFSIZE_MAX	(1U << 30)
#define SHMIPC_EVPOOL_FRAGS_MAX		65535U	/* expected per event */
#define SHMIPC_EVPOOL_MEMBERS_MAX	32U	/* writer + reader handles */

/* flags of shmipc_evpool_create() */
#define SHMIPC_EVPOOL_BROADCAST		0x1U /* every reader sees every event */
#define SHMIPC_EVPOOL_DROP_INCOMPLETE	0x2U /* expiry drops, not delivers */

/* struct shmipc_evpool_event.flags */
#define SHMIPC_EVPOOL_EV_INCOMPLETE	0x1U /* expired before all fragments */
#define SHMIPC_EVPOOL_EV_REDELIVERED	0x2U /* a reader took it before and
						died or closed without release */

struct shmipc_evpool;

/* The header of each fragment inside a buffer (then @size bytes, to 8). */
struct shmipc_evpool_frag_hdr {
	uint32_t size;		/* bytes of data that follow */
	uint32_t id;		/* the writer's fragment id */
};

/* One fragment, as shmipc_evpool_next_frag() returns it. */
struct shmipc_evpool_frag {
	const void *data;	/* in place, in the buffer */
	uint32_t size;
	uint32_t id;
};

/* An event taken by a reader (filled by shmipc_evpool_get()). */
struct shmipc_evpool_event {
	uint64_t seq;		/* sequence id */
	const void *data;	/* the buffer: fragments, in place */
	uint64_t size;		/* bytes of fragments (headers included) */
	uint32_t frags;		/* fragments present */
	uint32_t expected;	/* fragments expected */
	uint32_t flags;		/* SHMIPC_EVPOOL_EV_* */
	uint32_t buffer;	/* buffer index, 0..buffers-1 */
	uint64_t ticket;	/* opaque: the hold, for release */
};

struct shmipc_evpool_stats {
	/* buffers per state now (a snapshot: each buffer read once) */
	uint32_t buffers, empty, writing, full, reading;
	/* member handles open now */
	uint32_t writers, readers;
	/* counters since creation */
	uint64_t completed;		/* events that got all fragments */
	uint64_t taken;			/* events taken by readers (broadcast:
					   first take of each event) */
	uint64_t expired_incomplete;	/* delivered incomplete */
	uint64_t expired_dropped;	/* dropped by expiry */
	uint64_t dead_writer_drops;	/* partial events of dead writers */
	uint64_t dead_reader_returns;	/* events back to Full from a dead
					   or closing reader */
	uint64_t no_reader_drops;	/* broadcast: nobody listening */
	uint64_t last_dropped_seq;	/* of the last dead writer's event */
};

/*
 * Create the pool @key in @r's directory: @buffers buffers
 * (1..SHMIPC_EVPOOL_BUFFERS_MAX) of @buffer_size bytes each (a multiple
 * of 8, 16..SHMIPC_EVPOOL_BUFSIZE_MAX; fragment headers count), flags
 * SHMIPC_EVPOOL_*, and @expire_ns: 0, or the age after which the writer
 * path expires incomplete events by itself.  Errors: as
 * shmipc_dir_alloc(), -EINVAL.  Process-safe.
 */
int shmipc_evpool_create(struct shmipc_region *r, const char *key,
			 uint32_t buffers, uint32_t buffer_size,
			 uint32_t flags, uint64_t expire_ns);

/*
 * Open the pool @key as a writer (SHMIPC_PRODUCER), a reader
 * (SHMIPC_CONSUMER) or an observer (0: stats and reclaim only).  Writers
 * and readers take a member slot (-EUSERS when all are held by live
 * handles).  Errors: -EINVAL, -ENOENT, -EBADMSG, -EPROTONOSUPPORT,
 * -EAGAIN (not initialized yet), -ENOMEM, -EUSERS.
 */
int shmipc_evpool_open(struct shmipc_region *r, const char *key, int role,
		       struct shmipc_evpool **out);

/*
 * Close: a begun fragment is aborted; events taken and not released go
 * back to Full for another reader (flagged REDELIVERED; broadcast: this
 * reader's share is released); the member slot is freed.  NULL: no-op.
 */
int shmipc_evpool_close(struct shmipc_evpool *p);

/* Number of buffers and their size, from the validated header. */
uint32_t shmipc_evpool_buffers(const struct shmipc_evpool *p);
uint32_t shmipc_evpool_buffer_size(const struct shmipc_evpool *p);

/*
 * Writer: begin a fragment of @size bytes with id @frag_id for the event
 * @seq that has @expected fragments (1..SHMIPC_EVPOOL_FRAGS_MAX, the same
 * for every fragment of the event).  On success the handle holds the
 * event's buffer and *@data points at @size bytes to fill in place; then
 * shmipc_evpool_frag_commit() adds it, or _frag_abort() leaves the event
 * as it was.  Waits until @deadline_ns for an Empty buffer (pool full)
 * or for another writer that holds this event's buffer.  Errors:
 * -EINVAL, -EPERM, -EALREADY, -EMSGSIZE, -ENOSPC, -EAGAIN (deadline 0),
 * -ETIMEDOUT, -EBADMSG, -EIDRM (module: region destroyed).
 */
int shmipc_evpool_frag_begin(struct shmipc_evpool *p, uint64_t seq,
			     uint32_t expected, uint32_t frag_id,
			     uint32_t size, void **data, uint64_t deadline_ns);

/*
 * Add the begun fragment: 1 if it completed the event (now Full), 0 if
 * the event waits for more.  -EINVAL without a begun fragment (or when
 * the hold was revoked: this process was taken for dead).
 */
int shmipc_evpool_frag_commit(struct shmipc_evpool *p);

/* Let go of the begun fragment; a new event with no fragment is
 * dropped.  0, or -EINVAL without a begun fragment. */
int shmipc_evpool_frag_abort(struct shmipc_evpool *p);

/*
 * Writer: copy one fragment (begin + copy + commit).  1 if it completed
 * the event, 0 if not; errors as shmipc_evpool_frag_begin().
 */
int shmipc_evpool_add(struct shmipc_evpool *p, uint64_t seq,
		      uint32_t expected, uint32_t frag_id, const void *data,
		      uint32_t size, uint64_t deadline_ns);

/*
 * Reader: take the Full event with the lowest sequence id (broadcast:
 * the lowest that this reader has not taken yet), waiting until
 * @deadline_ns for one.  *@ev describes it, in place, until
 * shmipc_evpool_release().  A reader may hold several events.  Errors:
 * -EINVAL, -EPERM, -EAGAIN (deadline 0), -ETIMEDOUT, -EBADMSG (a corrupt
 * buffer: the event is dropped), -EIDRM.
 */
int shmipc_evpool_get(struct shmipc_evpool *p,
		      struct shmipc_evpool_event *ev, uint64_t deadline_ns);

/*
 * Reader: release a taken event (its buffer becomes Empty; broadcast:
 * once every reader released it).  -EINVAL if this handle does not hold
 * it any more (released twice, or given back after this process was taken
 * for dead), -EPERM if @ev was taken by another handle (work sharing) or
 * the handle is not a reader.
 */
int shmipc_evpool_release(struct shmipc_evpool *p,
			  const struct shmipc_evpool_event *ev);

/*
 * Walk the fragments of @ev: *@pos starts at 0; each call fills *@frag
 * and advances *@pos.  1: a fragment, 0: no more, -EBADMSG: a fragment
 * header that does not fit (corrupt), -EINVAL.  Thread-safe.
 */
int shmipc_evpool_next_frag(const struct shmipc_evpool_event *ev,
			    uint64_t *pos, struct shmipc_evpool_frag *frag);

/*
 * End the incomplete events whose first fragment came at least
 * @older_than_ns ago: deliver them flagged INCOMPLETE, or drop them
 * (SHMIPC_EVPOOL_DROP_INCOMPLETE).  A buffer a writer is appending to
 * right now is left alone.  Returns how many were ended.  Needs a writer
 * or reader handle (-EPERM for an observer).  Also reclaims from dead
 * holders (see _reclaim()).
 */
int shmipc_evpool_expire(struct shmipc_evpool *p, uint64_t older_than_ns);

/*
 * Look for holders that died (or left the region) and repair their
 * buffers now (writer: Empty, reader: Full; broadcast: the dead reader's
 * share released), and free their member slots.  Returns how many
 * buffers were repaired.  Any handle.
 */
int shmipc_evpool_reclaim(struct shmipc_evpool *p);

/*
 * Counts of buffers per state, members and counters (reclaims from dead
 * holders first, so the counts are right).  Any handle.
 */
int shmipc_evpool_stats(struct shmipc_evpool *p,
			struct shmipc_evpool_stats *st);

#endif /* SHMIPC_EVPOOL_H */
