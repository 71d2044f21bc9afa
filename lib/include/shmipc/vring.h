/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc: the variable-size SPSC ring.  Included by <shmipc.h>;
 * include that, not this file.
 *
 * One producer and one consumer (in any processes) exchange messages of
 * any length from 0 to shmipc_vring_max_msg() bytes, in order, through a
 * byte ring of length-prefixed records inside a region.  Roles, takeover
 * of a dead or closed holder's role, blocking and the errors a blocked
 * call gets when the other side dies or closes are exactly those of the
 * SPSC channel (shmipc_spsc_*): see there.
 *
 * Thread-safety: a handle is used by one thread at a time.  Both
 * backends; the portable one notices a death within
 * SHMIPC_PORTABLE_SLICE_MS, the module at once.
 */
#ifndef SHMIPC_VRING_H
#define SHMIPC_VRING_H

#ifndef SHMIPC_H
#error "include <shmipc.h>, not <shmipc/vring.h>"
#endif

struct shmipc_vring;

#define SHMIPC_VRING_CAPACITY_MIN	64U
#define SHMIPC_VRING_CAPACITY_MAX	(1U << 30)

/*
 * Create the ring @key in @r's directory with @capacity bytes of records
 * (a power of two, SHMIPC_VRING_CAPACITY_MIN..SHMIPC_VRING_CAPACITY_MAX).
 * A message takes an 8-byte header plus its length rounded up to 8; the
 * largest message is @capacity / 2 - 8 bytes (so that every message fits
 * once the ring has drained, wherever its cursors stand).  Nobody is
 * attached yet.  Errors: as shmipc_dir_alloc(), plus -EINVAL.
 */
int shmipc_vring_create(struct shmipc_region *r, const char *key,
			uint32_t capacity);

/*
 * Attach to the ring @key as @role (SHMIPC_PRODUCER or SHMIPC_CONSUMER),
 * with the rules of shmipc_spsc_open(): one holder per role (-EBUSY),
 * a dead or closed holder's role is taken over and the ring keeps its
 * messages; a new consumer gets again a message the dead one had peeked
 * but not released.  Errors: -EINVAL, -ENOENT, -EBUSY, -EBADMSG (corrupt
 * header or cursors), -EPROTONOSUPPORT, -ENOMEM, -ENOSPC (module: too
 * many owned words), -EAGAIN (header not initialized after about a
 * second).
 */
int shmipc_vring_open(struct shmipc_region *r, const char *key,
		      enum shmipc_role role, struct shmipc_vring **out);

/* Release the role (the other side then gets -EPIPE once it would block),
 * wake the other side, free the handle.  NULL is a no-op. */
int shmipc_vring_close(struct shmipc_vring *v);

/* Capacity in bytes, and the largest message, in bytes.  Any thread. */
uint32_t shmipc_vring_capacity(const struct shmipc_vring *v);
uint32_t shmipc_vring_max_msg(const struct shmipc_vring *v);

/*
 * Non-blocking send (producer): copy @len bytes from @msg (NULL allowed
 * when @len is 0).  0; -EAGAIN when the ring has no room for it now;
 * -EMSGSIZE when @len > shmipc_vring_max_msg(); -EBADMSG (corrupt tail);
 * -EPERM with a consumer handle; -EINVAL.  An open reservation is
 * dropped.  No system call unless the consumer sleeps (then one wake).
 */
int shmipc_vring_try_send(struct shmipc_vring *v, const void *msg,
			  size_t len);

/*
 * Non-blocking receive (consumer): copy the oldest message into @buf
 * (@size bytes) and set *@len to its length.  0; -EAGAIN when empty;
 * -EMSGSIZE when it is longer than @size: *@len says how long, and the
 * message stays queued (receive it with a larger buffer, or peek it);
 * -EBADMSG (a corrupt record or head); -EPERM; -EINVAL.
 */
int shmipc_vring_try_recv(struct shmipc_vring *v, void *buf, size_t size,
			  size_t *len);

/*
 * Blocking send / receive until @deadline_ns: as the try_ calls, waiting
 * (spin, then sleep) while the ring is full / empty.  Also -ETIMEDOUT,
 * -EOWNERDEAD (the other end's process died), -EPIPE (the other end
 * closed; a receiver first gets every message sent before), -EIDRM
 * (module: the region was destroyed).  -EMSGSIZE at once when the
 * message is too large for the ring / the next message for @size.
 */
int shmipc_vring_send(struct shmipc_vring *v, const void *msg, size_t len,
		      uint64_t deadline_ns);
int shmipc_vring_recv(struct shmipc_vring *v, void *buf, size_t size,
		      size_t *len, uint64_t deadline_ns);

/*
 * Zero copy, producer: reserve room for a message of up to @len bytes;
 * *@ptr receives where to write it (8-byte aligned, contiguous).  Then
 * commit(n), n <= @len, publishes the first n bytes as one message.
 * -EAGAIN when there is no room now, -EMSGSIZE, -EBADMSG, -EPERM;
 * commit without a reservation or with n > @len: -EINVAL.  A new reserve
 * replaces the previous reservation.
 */
int shmipc_vring_reserve(struct shmipc_vring *v, size_t len, void **ptr);
int shmipc_vring_commit(struct shmipc_vring *v, size_t len);

/*
 * Zero copy, consumer: *@ptr and *@len receive the oldest message, in
 * place (8-byte aligned); release() then consumes it.  Peek again
 * without release: the same message.  -EAGAIN when empty, -EBADMSG,
 * -EPERM; release without a peeked message: -EINVAL.  The consumer must
 * not trust the content more than any shared data.
 */
int shmipc_vring_peek(struct shmipc_vring *v, const void **ptr,
		      size_t *len);
int shmipc_vring_release(struct shmipc_vring *v);

#endif /* SHMIPC_VRING_H */
