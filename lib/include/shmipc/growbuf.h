/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc: growable buffers (after CMSSW's ReadBuffer/WriteBuffer).
 * Included by <shmipc.h>; include that, not this file.
 *
 * A growable buffer carries one message at a time from one writer to one
 * reader (in any processes), of any size up to a maximum fixed at
 * creation, with no copy: the writer writes in place, the reader reads
 * in place.  The cycle is explicit and cheap:
 *
 *   writer: reserve (waits for the reader's ack of the previous message)
 *           -> fill -> commit (publishes and wakes the reader if it sleeps)
 *   reader: read (waits for the next message; a pointer into shared
 *           memory) -> use -> ack (wakes the writer if it waits)
 *
 * A request/response pair is two buffers, one each way.  No system call
 * is made on either side unless the other sleeps.
 *
 * Growth: the bytes live in a region of their own, a *generation*, named
 * "<region>.<key>.g<N>".  When a message is larger than the current
 * generation, the writer creates generation N+1 (at least twice as large,
 * up to the maximum), and removes the name of generation N (its reader
 * has acked everything in it).  The control block (in @r, under @key)
 * publishes with each message its generation and length; the reader
 * follows (maps the new generation, unmaps the old) on its next read.
 * In steady state nothing is mapped or copied.
 *
 * Roles, takeover and deaths are those of the SPSC channel: one writer
 * (SHMIPC_PRODUCER) and one reader (SHMIPC_CONSUMER); a dead or closed
 * holder's role is taken over (a new writer starts a fresh generation on
 * its first reserve; a new reader gets again a message the dead one had
 * read but not acked); a blocked side gets -EOWNERDEAD when the other
 * side's process dies and -EPIPE when it closed.
 *
 * A committed message is delivered even if its writer dies or closes
 * before the reader mapped its generation (module backend: with
 * SHMIPC_FEAT_TIED): the library removes each generation's name when it
 * is no longer needed (superseded, or both sides done).
 * Backends: module: a generation's name is tied to @r's region
 * (SHMIPC_CREATE_TIED), so the one a crash leaves behind goes when the
 * region goes.  Portable: generation names outlive their handles like
 * every portable region's; shmipc_growbuf_unlink() removes the one a
 * crash left behind.
 *
 * Thread-safety: a handle is used by one thread at a time.
 */
#ifndef SHMIPC_GROWBUF_H
#define SHMIPC_GROWBUF_H

#ifndef SHMIPC_H
#error "include <shmipc.h>, not <shmipc/growbuf.h>"
#endif

struct shmipc_growbuf;

#define SHMIPC_GROWBUF_SIZE_MAX	(1ULL << 40)	/* largest message */
/* "<region>.<key>" must leave room for ".g" and 10 digits in a name: */
#define SHMIPC_GROWBUF_BASE_MAX	(SHMIPC_NAME_LEN_MAX - 12)

/*
 * Create the growable buffer @key in @r's directory: its first generation
 * will hold @initial_size bytes (more if the first message is larger),
 * and no message may exceed @max_size (1 <= @initial_size <= @max_size
 * <= SHMIPC_GROWBUF_SIZE_MAX).  @key must be made of the characters of a
 * region name ([A-Za-z0-9._-]) and "<region name>.<key>" be at most
 * SHMIPC_GROWBUF_BASE_MAX bytes.  Nobody is attached; no generation
 * exists yet.  Errors: -EINVAL, -ENAMETOOLONG, as shmipc_dir_alloc().
 */
int shmipc_growbuf_create(struct shmipc_region *r, const char *key,
			  uint64_t initial_size, uint64_t max_size);

/*
 * Attach to the buffer @key as writer (SHMIPC_PRODUCER) or reader
 * (SHMIPC_CONSUMER); the rules of shmipc_spsc_open().  Errors: -EINVAL,
 * -ENOENT, -EBUSY, -EBADMSG, -EPROTONOSUPPORT, -ENOMEM, -ENOSPC, -EAGAIN.
 */
int shmipc_growbuf_open(struct shmipc_region *r, const char *key,
			enum shmipc_role role, struct shmipc_growbuf **out);

/*
 * Release the role (the other side gets -EPIPE once it would block),
 * unmap the generation, free the handle.  A writer whose last message
 * was acked removes its generation's name, and so does a reader that
 * acked everything of a writer that is gone.  NULL is a no-op.
 */
int shmipc_growbuf_close(struct shmipc_growbuf *gb);

/* The generation this handle maps (0: none yet) and its size in bytes. */
uint32_t shmipc_growbuf_generation(const struct shmipc_growbuf *gb);
uint64_t shmipc_growbuf_capacity(const struct shmipc_growbuf *gb);

/* ---- writer ---- */

/*
 * Wait until the reader has acked the previous message, make sure the
 * buffer holds @len bytes (growing it: a new generation), and set *@ptr
 * to where to write them (64-byte aligned).  A new reserve replaces the
 * previous one.  Errors: -EMSGSIZE (@len > the maximum), -ETIMEDOUT,
 * -EOWNERDEAD (the reader died before acking), -EPIPE (it closed before
 * acking), -EBADMSG (corrupt control block), -EPERM (reader handle),
 * -EINVAL, and a new generation's errors (shmipc_region_open(): -ENOMEM,
 * module quotas -EFBIG, -EDQUOT, -ENOSPC, ...).  With no reader attached
 * and nothing pending it does not wait.
 */
int shmipc_growbuf_reserve(struct shmipc_growbuf *gb, uint64_t len,
			   void **ptr, uint64_t deadline_ns);

/*
 * Publish the first @len bytes (<= the reserved length) as the next
 * message, and wake the reader if it sleeps.  -EINVAL without a
 * reservation or with a larger @len; -EPERM.
 */
int shmipc_growbuf_commit(struct shmipc_growbuf *gb, uint64_t len);

/* reserve + copy + commit. */
int shmipc_growbuf_write(struct shmipc_growbuf *gb, const void *data,
			 uint64_t len, uint64_t deadline_ns);

/* Wait until the reader has acked every message (errors as reserve). */
int shmipc_growbuf_wait_ack(struct shmipc_growbuf *gb, uint64_t deadline_ns);

/* ---- reader ---- */

/*
 * Wait for the next message and set *@ptr / *@len to it, in place (in
 * the writer's generation, mapped first if it is a new one).  Valid until
 * ack(); read again before ack: the same message.  Errors: -ETIMEDOUT,
 * -EOWNERDEAD (the writer died: after the messages it committed, if they
 * can still be mapped), -EPIPE (it closed, everything read); with either,
 * everything was acked and the reader removes the last generation's
 * name.  -EBADMSG (corrupt control block, length or generation; a
 * generation that does not exist while its writer lives on for another
 * second), -EPERM, -EINVAL, and shmipc_region_open()'s errors mapping a
 * generation.  The reader must not trust the content more than any
 * shared data.
 */
int shmipc_growbuf_read(struct shmipc_growbuf *gb, const void **ptr,
			uint64_t *len, uint64_t deadline_ns);

/* Done with the message read (the pointer is invalid from now on): the
 * writer may reuse the buffer; wakes it if it waits.  -EINVAL if no
 * message is held, -EPERM. */
int shmipc_growbuf_ack(struct shmipc_growbuf *gb);

/* ---- serialization hook ---- */

/*
 * User callbacks that (de)serialize an object straight into / out of the
 * buffer.  size() returns the exact number of bytes write() will fill;
 * write() fills @len bytes at @dst; read() rebuilds @obj from @len bytes
 * at @src (untrusted: it must check them).  write and read return 0 or
 * -errno; they must not call growbuf functions on the same handle.
 */
struct shmipc_serializer {
	uint64_t (*size)(const void *obj, void *ctx);
	int (*write)(const void *obj, void *dst, uint64_t len, void *ctx);
	int (*read)(void *obj, const void *src, uint64_t len, void *ctx);
	void *ctx;
};

/*
 * Writer: serialize @obj in place as the next message (reserve, write,
 * commit).  Errors: as reserve, or write()'s error (nothing is sent).
 */
int shmipc_growbuf_write_obj(struct shmipc_growbuf *gb,
			     const struct shmipc_serializer *ser,
			     const void *obj, uint64_t deadline_ns);

/*
 * Reader: read the next message, deserialize it with read() into @obj,
 * and ack it (also when read() fails: the message is consumed).  Errors:
 * as read, or read()'s error.
 */
int shmipc_growbuf_read_obj(struct shmipc_growbuf *gb,
			    const struct shmipc_serializer *ser, void *obj,
			    uint64_t deadline_ns);

/*
 * Remove the names of the buffer @key's generations around the current
 * one (the current one, those a writer that died while growing may have
 * left after it, and those a writer skipped before it because it could
 * not remove them), for cleanup once both sides are done or dead; names
 * of another user stay.  0 if one was removed, -ENOENT if none, -EINVAL,
 * -EBADMSG, or the directory's errors.
 */
int shmipc_growbuf_unlink(struct shmipc_region *r, const char *key);

#endif /* SHMIPC_GROWBUF_H */
