/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc: shared-memory regions, a named-object directory and channels,
 * on the shmipc kernel module (/dev/shmipc) or, without it, on a portable
 * backend (POSIX shm + futex(2) + pidfd).
 *
 * Conventions (every function)
 *   - Returns 0 (or a count >= 0 where said) on success and -errno on
 *     failure; never exits, never prints, never raises a signal.
 *     shmipc_strerror() names the library's own codes.
 *   - Handles are opaque; a handle is used by one thread at a time unless
 *     the function says otherwise.  Different handles (even on the same
 *     region or channel) may be used concurrently from different threads.
 *   - Inside shared memory there are only offsets from the region's base,
 *     never pointers; every shared header carries a magic and a layout
 *     version; everything another process writes is checked before use:
 *     a corrupt header or cursor gives -EBADMSG, never a crash or an
 *     endless loop.
 *   - Deadlines are absolute CLOCK_MONOTONIC nanoseconds
 *     (shmipc_deadline_in()), or SHMIPC_FOREVER.  A blocking call
 *     that is interrupted by a signal resumes until its deadline.
 *   - A handle does not survive fork() as a peer: a child opens the region
 *     (and channels) again by name; it may use neither its parent's
 *     region handles nor channel handles.
 *
 * Errors with a meaning of their own here
 *   -EBADMSG          shared data is corrupt (bad magic, size, offset or
 *                     cursor): the region cannot be trusted
 *   -EPROTONOSUPPORT  a header of another layout version
 *   -EOWNERDEAD       the peer this call depends on died (crash, kill)
 *   -EPIPE            the peer on the other side closed its end cleanly
 *                     (and, for a receiver, everything sent was received)
 *   -ETIMEDOUT        the deadline passed
 *   -EAGAIN           non-blocking call: nothing to do now (full / empty)
 *
 * Backends
 *   SHMIPC_BACKEND_MODULE (chosen when /dev/shmipc can be opened): names
 *   are private to the user namespace and the kernel owns the lifetime
 *   (a non-persistent region's name goes with its last fd, also after a
 *   crash); a blocked call learns a peer's death at once.
 *
 *   SHMIPC_BACKEND_PORTABLE (no /dev/shmipc; or SHMIPC_BACKEND=portable
 *   in the environment): a region is the POSIX shm object
 *   /dev/shm/shmipc.<name>.  What it cannot guarantee:
 *     - names outlive a crash and a close: a region exists until
 *       shmipc_region_unlink() (SHMIPC_REGION_PERSISTENT is implied);
 *     - names are not scoped to a user namespace, only by /dev/shm;
 *     - peer death is found by probing the peer's pid (pidfd_open() +
 *       poll, process start time against pid reuse) when a blocking call
 *       starts and every SHMIPC_PORTABLE_SLICE_MS while it sleeps: death
 *       is noticed within that slice, not at once;
 *     - a region holds at most SHMIPC_PEERS_MAX live peers (-EUSERS);
 *     - anyone who may write /dev/shm/shmipc.<name> can also shrink it:
 *       a peer then touching the lost pages gets SIGBUS;
 *     - peers are told apart by pid: peers in different pid namespaces
 *       sharing /dev/shm cannot be told apart (nor their deaths seen).
 *   SHMIPC_BACKEND=module forces the module (failing if it is missing).
 */
#ifndef SHMIPC_H
#define SHMIPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMIPC_LIB_VERSION	1	/* layout version of the region header,
				   directory and SPSC ring (MPMC: its own) */
#define SHMIPC_NAME_LEN_MAX	63	/* bytes of a region name, no NUL */
#define SHMIPC_KEY_LEN_MAX	39	/* bytes of a directory key, no NUL */
#define SHMIPC_DIR_ENTRIES	32	/* directory entries per region */
#define SHMIPC_PEERS_MAX	32	/* portable backend: live peers */
#define SHMIPC_REGION_HDR_SIZE	4096	/* the header at offset 0 */
#define SHMIPC_PORTABLE_SLICE_MS 20	/* portable: death-probe period */
#define SHMIPC_FOREVER	UINT64_MAX

/* ------------------------------------------------------------------ */
/* Backend, errors, time */

enum shmipc_backend_kind {
	SHMIPC_BACKEND_MODULE = 1,
	SHMIPC_BACKEND_PORTABLE = 2,
};

/*
 * The active backend (SHMIPC_BACKEND_*), chosen on the first call of any
 * function of the library and fixed for the life of the process; -errno
 * if the environment forces one that cannot work.  Thread-safe.
 */
int shmipc_backend(void);

/* The name of backend @kind ("module", "portable" or "unknown").  Thread-safe. */
const char *shmipc_backend_name(int kind);

/* A static description of -errno / errno @err.  Thread-safe. */
const char *shmipc_strerror(int err);

/* CLOCK_MONOTONIC now, and now + @ns (saturating), in nanoseconds. */
uint64_t shmipc_now_ns(void);
uint64_t shmipc_deadline_in(uint64_t ns);

/* ------------------------------------------------------------------ */
/* Regions */

struct shmipc_region;

/* flags of shmipc_region_open() */
#define SHMIPC_REGION_CREATE	 0x1U /* create it if it does not exist */
#define SHMIPC_REGION_EXCL	 0x2U /* with CREATE: -EEXIST if it exists */
#define SHMIPC_REGION_PERSISTENT 0x4U /* name outlives its handles */

/*
 * Open the region @name (1..SHMIPC_NAME_LEN_MAX bytes of [A-Za-z0-9._-],
 * not "." or ".."), mapping all of it read-write, and join it as a peer.
 *
 * With SHMIPC_REGION_CREATE it is created if missing, with @size bytes
 * (>= SHMIPC_REGION_HDR_SIZE + 64; the library's header takes the first
 * SHMIPC_REGION_HDR_SIZE bytes) and permission bits @mode (within 0777).
 * Without CREATE, @size is 0 or at most the region's size, and @mode is
 * ignored.  The creator initializes the header; an opener that finds it
 * not yet initialized waits for it up to about a second (-EAGAIN after).
 *
 * Errors: -EINVAL (name, size, mode or flags), -ENOENT, -EEXIST, -EACCES,
 * -ENOMEM, -EBADMSG (not a libshmipc region, or a corrupt header),
 * -EPROTONOSUPPORT (another layout version), -EAGAIN (header never
 * initialized), -EUSERS (portable: peer table full), or what the backend
 * returns (module quotas: -EFBIG, -EDQUOT, -ENOSPC).
 * Thread-safe (each call makes its own handle).
 */
int shmipc_region_open(const char *name, size_t size, unsigned int mode,
		       unsigned int flags, struct shmipc_region **out);

/*
 * Leave the region (a clean LEAVE, not a death), unmap it and free the
 * handle.  Channels opened on it must be closed first.  NULL is a no-op.
 */
int shmipc_region_close(struct shmipc_region *r);

/*
 * Unlink the region's name (@name): holders keep using the region, which
 * can no longer be opened by that name.  Module: needs the owner or
 * creator uid.  Errors: -EINVAL, -ENOENT, -EPERM/-EACCES.
 */
int shmipc_region_unlink(const char *name);

/* Base address and size of the mapping.  Thread-safe. */
void *shmipc_region_base(const struct shmipc_region *r);
size_t shmipc_region_size(const struct shmipc_region *r);

/* This process's peer id in the region (opaque, never 0).  Thread-safe. */
uint64_t shmipc_region_peer_id(const struct shmipc_region *r);

struct shmipc_region_info {
	char name[SHMIPC_NAME_LEN_MAX + 1];
	uint64_t size;		/* bytes */
	uint64_t used;		/* bytes taken by the header and allocations */
	uint32_t mode;		/* 0777 bits */
	uint32_t uid;		/* owner */
	uint32_t nr_peers;	/* live peers (portable: by pid probe) */
	uint32_t nr_entries;	/* directory entries in use */
	int backend;		/* SHMIPC_BACKEND_* */
	int created;		/* 1 if this handle created the region */
};

/*
 * Describe the region in *@info.  Errors: -EINVAL, -EBADMSG, the
 * backend's.  Thread-safe.
 */
int shmipc_region_info(const struct shmipc_region *r,
		       struct shmipc_region_info *info);

/* ------------------------------------------------------------------ */
/* Directory: named objects inside a region, and a bump allocator */

/*
 * Allocate @size bytes (> 0) aligned to @align (a power of two, 8..4096;
 * 0 means 64) from the region's heap and record them under @key
 * (1..SHMIPC_KEY_LEN_MAX bytes, any bytes but NUL).  *@off receives the
 * offset from the region base.  The memory reads as zero.  Allocations are
 * never freed (the heap only grows until the region is destroyed).
 * Errors: -EINVAL, -EEXIST (key taken; *@off is still set to the existing
 * object's offset), -ENOSPC (directory full), -ENOMEM (heap exhausted),
 * -EBADMSG (corrupt directory or heap cursor), -EAGAIN (another process
 * is inserting the same key and did not finish within about a second).
 * Thread-safe and process-safe (lock-free; concurrent inserters of the
 * same key: exactly one wins).
 */
int shmipc_dir_alloc(struct shmipc_region *r, const char *key, size_t size,
		     size_t align, uint64_t *off);

/*
 * Find @key: its offset and size.  Errors: -EINVAL, -ENOENT, -EBADMSG,
 * -EAGAIN (being inserted).  Thread-safe.
 */
int shmipc_dir_find(const struct shmipc_region *r, const char *key,
		    uint64_t *off, uint64_t *size);

/*
 * A pointer to @len bytes at @off of the region, or NULL when that range
 * is not inside the region.  Thread-safe.
 */
void *shmipc_region_ptr(const struct shmipc_region *r, uint64_t off,
			uint64_t len);

/* ------------------------------------------------------------------ */
/* SPSC channel: one producer, one consumer, fixed-size messages */

struct shmipc_spsc;

enum shmipc_role {
	SHMIPC_PRODUCER = 1,
	SHMIPC_CONSUMER = 2,
};

#define SHMIPC_SPSC_CAPACITY_MAX	(1U << 24)
#define SHMIPC_SPSC_SLOT_MAX		(1U << 20)

/*
 * Create a channel named @key in @r's directory: @capacity messages (a
 * power of two, 2..SHMIPC_SPSC_CAPACITY_MAX) of @slot_size bytes
 * (1..SHMIPC_SPSC_SLOT_MAX; slots are padded to multiples of 8).  The
 * ring header (64-byte lines: config, producer cursor, consumer cursor,
 * wait flags) lives apart from the slot array.  Nobody is attached yet.
 * Errors: as shmipc_dir_alloc(), plus -EINVAL.  Process-safe.
 */
int shmipc_spsc_create(struct shmipc_region *r, const char *key,
		       uint32_t slot_size, uint32_t capacity);

/*
 * Attach to the channel @key as @role.  One producer and one consumer at
 * a time: -EBUSY while another live peer holds the role; the role of a
 * dead (or closed) peer is taken over, and the ring keeps its messages.
 * Module backend: the end's state word becomes an owned word of this
 * process (the kernel marks it when the process dies); a process can own
 * at most 64 words per region, so at most 64 open ends (-ENOSPC).
 * Takers race through the end's state word: exactly one wins, the others
 * get -EBUSY (also while another taker is between its steps).  A new
 * consumer continues from the last released position: messages the dead
 * consumer had received (or peeked) but not yet released are delivered
 * again (at-least-once on takeover).  Portable backend: a taker killed in
 * the few instructions of its takeover leaves the end busy for good.
 * Errors: -EINVAL, -ENOENT, -EBUSY, -EBADMSG (corrupt ring header),
 * -EPROTONOSUPPORT, -ENOMEM, -ENOSPC, -EAGAIN (the channel's header is
 * not initialized yet, after about a second of waiting).
 */
int shmipc_spsc_open(struct shmipc_region *r, const char *key,
		     enum shmipc_role role, struct shmipc_spsc **out);

/*
 * Release the role (the other side then gets -EPIPE once it would block
 * on this end), wake the other side if it sleeps, free the handle.  NULL
 * is a no-op.
 */
int shmipc_spsc_close(struct shmipc_spsc *ch);

/* Slot size and capacity, from the validated header.  Any thread. */
uint32_t shmipc_spsc_slot_size(const struct shmipc_spsc *ch);
uint32_t shmipc_spsc_capacity(const struct shmipc_spsc *ch);

/*
 * Non-blocking send (producer): copy one message of slot_size bytes from
 * @msg.  0, or -EAGAIN when full, -EBADMSG when the consumer cursor is
 * corrupt, -EPERM with a consumer handle.  Never enters the kernel unless
 * the consumer sleeps (then one wake).
 */
int shmipc_spsc_try_send(struct shmipc_spsc *ch, const void *msg);

/*
 * Non-blocking receive (consumer): copy one message into @msg (slot_size
 * bytes).  0, -EAGAIN when empty, -EBADMSG, -EPERM.
 */
int shmipc_spsc_try_recv(struct shmipc_spsc *ch, void *msg);

/*
 * Burst: send up to @n messages (contiguous in @msgs, slot_size each);
 * returns how many were sent (0 when full).  Bulk: all @n or none
 * (returns @n, or -EAGAIN; @n > capacity is -EINVAL).  *@free_space (if
 * not NULL) receives the free slots left.  Errors as try_send.
 */
int shmipc_spsc_send_burst(struct shmipc_spsc *ch, const void *msgs,
			   unsigned int n, unsigned int *free_space);
int shmipc_spsc_send_bulk(struct shmipc_spsc *ch, const void *msgs,
			  unsigned int n, unsigned int *free_space);

/*
 * Burst and bulk receive, the same way into @msgs; *@avail (if not NULL)
 * receives the messages left.
 */
int shmipc_spsc_recv_burst(struct shmipc_spsc *ch, void *msgs,
			   unsigned int n, unsigned int *avail);
int shmipc_spsc_recv_bulk(struct shmipc_spsc *ch, void *msgs,
			  unsigned int n, unsigned int *avail);

/*
 * Zero copy, producer: *@slots receives a pointer to up to @n free slots
 * that are contiguous in memory (fewer at the end of the slot array);
 * returns how many (0 when full).  Fill them, then commit(k) publishes the
 * first k (k <= what reserve returned, else -EINVAL).  A new reserve
 * without commit reserves the same slots again.
 */
int shmipc_spsc_reserve(struct shmipc_spsc *ch, unsigned int n, void **slots);
int shmipc_spsc_commit(struct shmipc_spsc *ch, unsigned int k);

/*
 * Zero copy, consumer: *@slots receives up to @n received messages that
 * are contiguous; returns how many.  release(k) gives the first k back.
 * The consumer must not trust their content more than any shared data.
 */
int shmipc_spsc_peek(struct shmipc_spsc *ch, unsigned int n,
		     const void **slots);
int shmipc_spsc_release(struct shmipc_spsc *ch, unsigned int k);

/*
 * Blocking send / receive of one message until @deadline_ns: spin
 * briefly (at most about 5 us; a thread pinned to one CPU also yields
 * to a peer that may share it), then sleep in the backend (a waiter
 * flag tells the other side to wake us; it makes no syscall otherwise).  Returns 0, -ETIMEDOUT,
 * -EOWNERDEAD (the other end's process died), -EPIPE (the other end
 * closed; a receiver first gets every message that was sent), -EBADMSG,
 * -EPERM, -EIDRM (module: the region was destroyed).  With nobody
 * attached on the other side yet, they wait for one.  The portable
 * backend notices a death within SHMIPC_PORTABLE_SLICE_MS.
 */
int shmipc_spsc_send(struct shmipc_spsc *ch, const void *msg,
		     uint64_t deadline_ns);
int shmipc_spsc_recv(struct shmipc_spsc *ch, void *msg, uint64_t deadline_ns);

/* ------------------------------------------------------------------ */
/* MPMC channel: any number of producers and consumers, messages of up to
 * slot_size bytes (a bounded queue with a sequence word per slot) */

struct shmipc_mpmc;

#define SHMIPC_MPMC_HANDLES_MAX	64	/* handles open on one queue */

/*
 * Create the queue @key in @r's directory: @capacity messages (a power of
 * two, 2..SHMIPC_SPSC_CAPACITY_MAX) of up to @slot_size bytes
 * (1..SHMIPC_SPSC_SLOT_MAX).  It takes 256 + 64 * SHMIPC_MPMC_HANDLES_MAX
 * + capacity * (16 + slot_size rounded up to 8) bytes of the region.
 * Errors: as shmipc_dir_alloc(), -EINVAL.
 */
int shmipc_mpmc_create(struct shmipc_region *r, const char *key,
		       uint32_t slot_size, uint32_t capacity);

/*
 * Open the queue @key (no roles: every handle may send and receive).  A
 * handle takes one of the queue's SHMIPC_MPMC_HANDLES_MAX entries until
 * it is closed or its process dies (a dead process's entries are taken
 * over).  Errors: -EINVAL, -ENOENT, -EBADMSG, -EPROTONOSUPPORT, -EAGAIN
 * (not yet initialized), -ENOMEM, -EUSERS (every entry held by a live
 * handle).  An MPMC handle is thread-safe: several threads may use one
 * handle at once.
 */
int shmipc_mpmc_open(struct shmipc_region *r, const char *key,
		     struct shmipc_mpmc **out);

/*
 * Free the handle (NULL is a no-op).  Slots it still holds (reserved, not
 * committed; peeked, not released) are abandoned: the other side repairs
 * them as a death's (-EOWNERDEAD).  No other thread may use the handle.
 */
int shmipc_mpmc_close(struct shmipc_mpmc *q);
uint32_t shmipc_mpmc_slot_size(const struct shmipc_mpmc *q);
uint32_t shmipc_mpmc_capacity(const struct shmipc_mpmc *q);

/*
 * Non-blocking, one message of slot_size bytes: 0, -EAGAIN (full /
 * empty, or, rarely, too much contention: retry), -EBADMSG (corrupt slot
 * words).  Lock-free; no system call unless someone sleeps on the other
 * side.  They never repair (a dead holder at the head reads as full /
 * empty): the blocking calls do, also with a deadline already passed.
 * try_recv of a message sent shorter (send_var) fills the rest with 0.
 */
int shmipc_mpmc_try_send(struct shmipc_mpmc *q, const void *msg);
int shmipc_mpmc_try_recv(struct shmipc_mpmc *q, void *msg);

/*
 * Burst: send up to @n messages (contiguous in @msgs, slot_size apart),
 * claimed with one cursor CAS; returns how many were sent (0 when full).
 * Bulk: all @n or none (returns @n, or -EAGAIN; @n > capacity is
 * -EINVAL; fewer than @n only if a peer took this call's claimed slots
 * for a dead process's, which a forged peer table can cause).
 * *@free_space (if not NULL) receives a snapshot of the free slots left
 * (others may be sending and receiving at the same time).  Errors as
 * try_send.  Messages of one burst are consecutive in the queue, but
 * consumers may take them in separate calls.
 */
int shmipc_mpmc_send_burst(struct shmipc_mpmc *q, const void *msgs,
			   unsigned int n, unsigned int *free_space);
int shmipc_mpmc_send_bulk(struct shmipc_mpmc *q, const void *msgs,
			  unsigned int n, unsigned int *free_space);

/* The same for receiving; *@avail receives a snapshot of the messages
 * left. */
int shmipc_mpmc_recv_burst(struct shmipc_mpmc *q, void *msgs,
			   unsigned int n, unsigned int *avail);
int shmipc_mpmc_recv_bulk(struct shmipc_mpmc *q, void *msgs,
			  unsigned int n, unsigned int *avail);

/*
 * Variable size: send @len bytes (0..slot_size; -EMSGSIZE beyond); the
 * receiver gets the length in *@len.  A message longer than @buf_size
 * stays queued: -EMSGSIZE, *@len set to its length, nothing taken (call
 * again with a buffer that big; meanwhile another consumer may take it).
 * A recorded length above slot_size (corrupt) drops that message:
 * -EBADMSG.  Otherwise as try_send / try_recv, and send_var / recv_var as
 * send / recv (-EMSGSIZE returns at once, it does not wait).  recv of a
 * var message fills the rest of its slot_size bytes with 0; recv_var of a
 * fixed message gets slot_size bytes.
 */
int shmipc_mpmc_try_send_var(struct shmipc_mpmc *q, const void *msg,
			     size_t len);
int shmipc_mpmc_try_recv_var(struct shmipc_mpmc *q, void *buf,
			     size_t buf_size, size_t *len);
int shmipc_mpmc_send_var(struct shmipc_mpmc *q, const void *msg, size_t len,
			 uint64_t deadline_ns);
int shmipc_mpmc_recv_var(struct shmipc_mpmc *q, void *buf, size_t buf_size,
			 size_t *len, uint64_t deadline_ns);

/*
 * Zero copy, one slot at a time: reserve claims a free slot (*@slot, its
 * *@ticket), commit(ticket) publishes it (slot_size bytes); peek claims
 * the oldest message, release(ticket) frees its slot.  Until then the
 * slot is held by this handle: if its process dies (or the handle is
 * closed) holding it, a blocked side repairs the queue (see below).  A
 * ticket this handle does not hold: -EINVAL.  -EAGAIN when full / empty.
 * Any thread may commit / release a ticket of its handle.
 */
int shmipc_mpmc_reserve(struct shmipc_mpmc *q, void **slot, uint32_t *ticket);
int shmipc_mpmc_commit(struct shmipc_mpmc *q, uint32_t ticket);
int shmipc_mpmc_peek(struct shmipc_mpmc *q, const void **slot,
		     uint32_t *ticket);
int shmipc_mpmc_release(struct shmipc_mpmc *q, uint32_t ticket);

/*
 * Blocking until @deadline_ns: spin, then sleep (a waiter flag tells
 * the other side to wake the sleepers; after a blocking call, the next
 * publish on the other side may make one wake syscall).  0, -ETIMEDOUT,
 * -EBADMSG, or -EOWNERDEAD: a process that had claimed the position this
 * call waits for died (or closed its handle, or left the region) before
 * finishing it, at whatever instruction: a producer's message is lost,
 * a consumer's slot is freed (the message it had taken is gone with
 * it).  The call repairs the queue and reports each lost position once
 * (to the one blocked call that repaired it); later calls go on.  A
 * slow but live process is never taken for dead.  A deadline already
 * passed makes these a non-blocking try that also repairs.  Module:
 * -EIDRM when the region was destroyed.  The portable backend notices a
 * death within SHMIPC_PORTABLE_SLICE_MS.
 */
int shmipc_mpmc_send(struct shmipc_mpmc *q, const void *msg,
		     uint64_t deadline_ns);
int shmipc_mpmc_recv(struct shmipc_mpmc *q, void *msg, uint64_t deadline_ns);

/* ------------------------------------------------------------------ */
/* Shared buffer allocator: a heap of records and channels on it */

#include "shmipc/heap.h"

/* Event-buffer pool: <shmipc/evpool.h> */

#include "shmipc/evpool.h"

/* One concern per header: */
#include "shmipc/vring.h"	/* variable-size SPSC ring */
#include "shmipc/growbuf.h"	/* growable buffers, serialization hook */
#include "shmipc/stream.h"	/* streams through a pool of segments */
#include "shmipc/ctl.h"		/* controller/worker protocol */

#ifdef __cplusplus
}
#endif

/* Introspection: listing regions, inspecting one without joining it. */
#include "shmipc/introspect.h"

#endif /* SHMIPC_H */
