/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc shared buffer allocator: a heap of records inside a region,
 * and channels of record offsets on it.  Included by <shmipc.h>; do not
 * include it alone.
 *
 * Model
 *   A heap is a directory object of a region (shmipc_heap_create()).
 *   Any process that opens it allocates a *record*, gets its offset from
 *   the region base, writes it in place, and sends the offset on a
 *   channel of the heap; the receiver reads the record in place (zero
 *   copy) and frees it (or sends it on).  Every record has an owner at
 *   every instant, kept in a state word outside the record's bytes:
 *     FREE       in the shared pool;
 *     CACHED     in a thread cache of one heap handle (free, but only
 *                that handle's threads can take it);
 *     USED       allocated by one heap handle (only it may free or send
 *                it);
 *     IN_FLIGHT  sent on a channel and not yet received: it belongs to
 *                the channel, not to the sender;
 *     (and the ring of each channel, owned by that channel).
 *   Each move between owners is one compare-and-swap of that word, so a
 *   process killed at any instruction leaves every record with an owner:
 *   shmipc_heap_reclaim() gives back to the pool what dead handles held,
 *   and a channel's teardown what was in flight on it.
 *
 * Size classes
 *   The heap's memory is cut into 64 KiB pages.  A request of n bytes
 *   gets the power-of-two class >= n (64 B .. 1 MiB).  Classes up to
 *   32 KiB share pages (a page holds 64 KiB / class records, aligned to
 *   min(class, 4096) bytes); the classes from 64 KiB to 1 MiB take 1..16
 *   whole pages each.  Above 1 MiB a request is *large*: a run of
 *   ceil(n / 64 KiB) pages (a free large run is reused by a request of
 *   the same page count, else a fresh run is cut, else the smallest
 *   larger free run is used whole).  Records never move.  A page keeps
 *   its class while any of its records is in use (or in a thread cache);
 *   when a request finds nothing free, the caller's cache is flushed and
 *   every fully free page and free run goes back to the unassigned
 *   pages, for any class.  So -ENOMEM means: nothing of that size is
 *   free, or the free memory is scattered over pages that each still
 *   hold a record (the free bytes in shmipc_heap_stats() count every
 *   free record), or is in other threads' caches.  Overhead: 4 bytes of
 *   state per 64 bytes of pages (1/16), plus 8 bytes per page and a
 *   6.2 KiB header.
 *
 * Thread caches
 *   Each thread keeps, per heap handle, a small cache (magazine) of free
 *   records of each class up to 32 KiB (at most 32 records and at most
 *   min(64 KiB, heap / 256) bytes per class): the common alloc and free
 *   take and put one record there with one compare-and-swap on that
 *   record's own state word: no lock, no shared cursor.  A cache is
 *   refilled from / flushed to the shared pool half at a time.  A
 *   thread's cache is flushed when the thread exits (a pthread key
 *   destructor), by shmipc_heap_flush() and by shmipc_heap_close().  A
 *   record in one thread's cache cannot serve another thread: an
 *   allocation can fail with -ENOMEM while other threads cache records of
 *   its class.
 *
 * Death, close and teardown (where each kill leaves a record)
 *   - A heap handle holds one of SHMIPC_HEAP_HANDLES_MAX slots of the
 *     heap (its owner word is the region peer id; a generation tells its
 *     successive holders apart).  When its process dies, every record
 *     it held USED or CACHED stays so until shmipc_heap_reclaim() (any
 *     process) frees them and releases the slot; an allocation that runs
 *     out of memory calls it by itself (on finding a dead holder) before
 *     it returns -ENOMEM.  Dead holders are found with the backend's
 *     liveness probe (module: at once; portable: pid probe).
 *   - Sender killed before its send marked the record IN_FLIGHT: USED by
 *     the dead handle (reclaimed).  After the mark, before the message
 *     was published in the queue: IN_FLIGHT on the channel, not
 *     delivered (freed at the channel's teardown).  After publishing:
 *     delivered normally; the sender's death does not free it.
 *   - Receiver killed before taking the message out of the queue: the
 *     record stays queued for another receiver.  After taking it out,
 *     before marking it USED: IN_FLIGHT on the channel, not delivered
 *     (freed at the channel's teardown).  After marking it: USED by the
 *     dead handle (reclaimed).
 *   - Process killed while refilling or flushing its cache: each record
 *     is FREE or CACHED by it (reclaimed); while cutting a fresh run of
 *     pages, or giving free pages back: the records it took are USED by
 *     it, the pages it claimed marked with its slot: reclaim frees both.
 *   - shmipc_heap_close() flushes the caches of every thread of the
 *     handle and frees the records the handle still holds (USED).
 *
 * Channels
 *   Up to SHMIPC_HEAP_CHANNELS_MAX named MPMC queues of record offsets
 *   (any number of senders and receivers, in any processes) whose ring is
 *   itself a record of the heap.  A channel lives until it is removed
 *   (shmipc_heap_channel_remove()) *and* no heap handle has it open; the
 *   last close then frees its ring and every record still in flight on
 *   it.  Open channel handles are counted per heap handle in the heap's
 *   slot table, so the handles of a dead process stop pinning a channel
 *   when shmipc_heap_reclaim() releases its slot.
 *
 * Heap lifetime
 *   shmipc_heap_destroy() marks the heap: later opens fail (-EIDRM);
 *   open handles go on working.  When the last handle closes (or the
 *   last holder's death is reclaimed) the heap is destroyed: every
 *   record and channel is gone, and shmipc_heap_create() with the same
 *   key and size re-initializes the same memory as an empty heap (the
 *   region's directory never frees an object).
 *
 * Untrusted input: the heap's header, page table, record states, slot
 * and channel tables, rings and the offsets in them are checked before
 * use; corruption gives -EBADMSG, never a crash or an endless loop (every
 * scan is bounded by the heap's page and record counts).
 *
 * Thread-safety: a heap handle may be used by many threads at once (each
 * gets its own cache), except shmipc_heap_close(), which must not run
 * while any other call uses the handle or its channels.  A channel
 * handle may be used by many threads at once, except its close.  Both
 * backends behave the same: a dead holder is found when reclaim (or an
 * allocation that runs out) probes the holders: the module answers from
 * the kernel's record of the death, the portable backend probes the
 * holder's pid.
 */
#ifndef SHMIPC_HEAP_H
#define SHMIPC_HEAP_H

#ifndef SHMIPC_H
#error "include <shmipc.h>, not <shmipc/heap.h>"
#endif

#define SHMIPC_HEAP_PAGE_SIZE	 (64U * 1024)	/* pages of a heap */
#define SHMIPC_HEAP_CLASS_MIN	 64U		/* smallest record */
#define SHMIPC_HEAP_CLASS_MAX	 (1U << 20)	/* largest class; above: large */
#define SHMIPC_HEAP_HANDLES_MAX	 64	/* open heap handles, all processes */
#define SHMIPC_HEAP_CHANNELS_MAX 64	/* channels of one heap */
#define SHMIPC_HEAP_SIZE_MIN	 (256U * 1024)	/* bytes of a heap object */

struct shmipc_heap;
struct shmipc_heap_channel;

/*
 * Create the heap @key in @r's directory, @size bytes
 * (>= SHMIPC_HEAP_SIZE_MIN, e.g. most of the region) taken from the
 * region's bump heap.  If @key names a heap that was destroyed and has
 * the same @size, it is re-initialized in place instead; so is one
 * marked for destruction whose remaining holders are all dead (their
 * slots are reclaimed first).  Errors: -EINVAL, -EEXIST (the key exists:
 * a heap not marked, or marked but still held by a live handle, or
 * another object),
 * -ENOMEM, -ENOSPC, -EBADMSG (as shmipc_dir_alloc()), -EAGAIN (a
 * re-initialization by another process is in progress).  Process-safe.
 */
int shmipc_heap_create(struct shmipc_region *r, const char *key,
		       uint64_t size);

/*
 * Open the heap @key: takes one of its SHMIPC_HEAP_HANDLES_MAX slots
 * (those of dead processes are reclaimed first when none is free).
 * Errors: -EINVAL, -ENOENT, -EBADMSG, -EPROTONOSUPPORT, -EAGAIN (not yet
 * initialized), -EIDRM (destroyed, or marked for destruction), -EUSERS
 * (all slots held by live handles), -ENOMEM.  Thread-safe.
 */
int shmipc_heap_open(struct shmipc_region *r, const char *key,
		     struct shmipc_heap **out);

/*
 * Flush every thread's cache of @h to the pool, free the records @h
 * still holds, release its slot, and free the handle; the last close of
 * a heap marked by shmipc_heap_destroy() destroys it.  Channel handles
 * opened through @h must be closed first (-EBUSY otherwise, and @h stays
 * open).  NULL is a no-op.
 */
int shmipc_heap_close(struct shmipc_heap *h);

/*
 * Mark the heap for destruction (see "Heap lifetime").  Idempotent.
 * Errors: -EINVAL, -EIDRM (already destroyed).  Thread-safe.
 */
int shmipc_heap_destroy(struct shmipc_heap *h);

/*
 * Allocate a record of at least @size bytes (1 .. the heap's size) and
 * store its offset from the region base in *@off.  The record's bytes are
 * whatever its last user left (not zeroed).  Errors: -EINVAL, -ENOMEM
 * (nothing free of that class, after reclaiming dead holders),
 * -EBADMSG.  Lock-free; thread-safe.
 */
int shmipc_heap_alloc(struct shmipc_heap *h, uint64_t size, uint64_t *off);

/*
 * Free the record at @off, which this handle holds (allocated or
 * received through it).  Errors: -EINVAL (not the start of a record of
 * this heap, or not allocated: a double free), -EPERM (held by another
 * handle, or in flight on a channel), -EBADMSG.  Thread-safe.
 */
int shmipc_heap_free(struct shmipc_heap *h, uint64_t off);

/*
 * Where the record at @off that this handle holds is: *@ptr (if not
 * NULL) its address in this process, *@size (if not NULL) its capacity
 * in bytes (its class, or its run of pages).  Errors as
 * shmipc_heap_free().  Thread-safe.
 */
int shmipc_heap_record(const struct shmipc_heap *h, uint64_t off, void **ptr,
		       uint64_t *size);

/* Give the calling thread's cache of @h back to the pool.  Thread-safe. */
int shmipc_heap_flush(struct shmipc_heap *h);

/*
 * Give back to the pool every record held (USED or CACHED) by a heap
 * handle whose process died (or whose slot was released without freeing
 * them), drop the channel references of those handles (tearing down
 * removed channels they were the last to hold), release their slots,
 * and undo page claims a dead process left half done.  Returns the
 * number of records freed, or -EBADMSG / -EINVAL.  Scans the whole heap.
 * Thread-safe.
 */
int shmipc_heap_reclaim(struct shmipc_heap *h);

struct shmipc_heap_stats {
	uint64_t total_bytes;	  /* bytes of all pages */
	uint64_t free_bytes;	  /* FREE records + unassigned pages */
	uint64_t unassigned_bytes; /* of free_bytes: pages of no class yet */
	uint64_t cached_bytes;	  /* free records in thread caches */
	uint64_t used_bytes;	  /* allocated (and pages being cut) */
	uint64_t in_flight_bytes; /* sent, not yet received */
	uint64_t channel_bytes;	  /* the channels' rings */
	uint64_t reclaimable_bytes; /* of cached + used: dead holders' */
	uint64_t free_records;	  /* FREE records (not unassigned pages) */
	uint64_t cached_records;
	uint64_t used_records;
	uint64_t in_flight_records;
	uint32_t handles;	  /* slots held (dead holders included) */
	uint32_t channels;	  /* live channels */
	uint32_t channels_removed; /* removed, waiting for their last close */
	uint32_t pages;		  /* pages of the heap */
};

/*
 * A snapshot of the heap (records move while it is taken).  Free,
 * cached, used, in-flight and channel bytes add up to total_bytes.
 * Errors: -EINVAL, -EBADMSG.  Scans the whole heap.  Thread-safe.
 */
int shmipc_heap_stats(struct shmipc_heap *h, struct shmipc_heap_stats *st);

/*
 * Add the channel @key (1..SHMIPC_KEY_LEN_MAX bytes) with room for
 * @capacity offsets (a power of two, 2..SHMIPC_SPSC_CAPACITY_MAX); its
 * ring is a record of the heap.  Errors: -EINVAL, -EEXIST (a live
 * channel has that key), -ENOSPC (SHMIPC_HEAP_CHANNELS_MAX channels),
 * -ENOMEM, -EIDRM (heap marked for destruction), -EAGAIN (another
 * process holds the channel table for more than about a second),
 * -EBADMSG.  Thread-safe.
 */
int shmipc_heap_channel_add(struct shmipc_heap *h, const char *key,
			    uint32_t capacity);

/*
 * Remove the channel @key: later opens get -ENOENT, open handles go on
 * working; the last close frees its ring and the records in flight on
 * it (at once if nobody has it open).  A new channel may take the key
 * at once.  Errors: -EINVAL, -ENOENT, -EAGAIN, -EBADMSG.  Thread-safe.
 */
int shmipc_heap_channel_remove(struct shmipc_heap *h, const char *key);

/*
 * Open the channel @key through the heap handle @h.  Errors: -EINVAL,
 * -ENOENT (no such channel, or removed), -EBADMSG, -EPROTONOSUPPORT,
 * -ENOMEM.  Thread-safe.
 */
int shmipc_heap_channel_open(struct shmipc_heap *h, const char *key,
			     struct shmipc_heap_channel **out);

/* Close @ch; the last close of a removed channel tears it down.  NULL is
 * a no-op. */
int shmipc_heap_channel_close(struct shmipc_heap_channel *ch);

/*
 * Send the record at @off, held by @ch's heap handle: it becomes
 * IN_FLIGHT on the channel, then its offset is queued.  On any error the
 * record is still held by the sender.  Returns 0, or as
 * shmipc_heap_free() for @off, or as shmipc_mpmc_send() (-ETIMEDOUT,
 * -EOWNERDEAD: a dead receiver was repaired and nothing was sent,
 * -EBADMSG, -EIDRM).  try_send: -EAGAIN when full.  Thread-safe.
 */
int shmipc_heap_send(struct shmipc_heap_channel *ch, uint64_t off,
		     uint64_t deadline_ns);
int shmipc_heap_try_send(struct shmipc_heap_channel *ch, uint64_t off);

/*
 * Receive a record: *@off gets its offset and the record is now held
 * (USED) by @ch's heap handle, which reads it in place and frees it (or
 * sends it on).  Returns 0, or as shmipc_mpmc_recv() (-ETIMEDOUT,
 * -EOWNERDEAD: a dead sender's message was skipped, -EBADMSG for an
 * offset that is not a record in flight on this channel).  try_recv:
 * -EAGAIN when empty.  Thread-safe.
 */
int shmipc_heap_recv(struct shmipc_heap_channel *ch, uint64_t *off,
		     uint64_t deadline_ns);
int shmipc_heap_try_recv(struct shmipc_heap_channel *ch, uint64_t *off);

#endif /* SHMIPC_HEAP_H */
