/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc: streams (after the webproxy/cache seed).  Included by
 * <shmipc.h>; include that, not this file.
 *
 * A writer streams payloads of any length, unknown in advance (a file, a
 * response body), to a reader through a bounded pool of N fixed-size
 * segments inside a region, in chunks, with no copy: the writer fills a
 * segment in place and commits it; the reader gets a pointer to it and
 * releases it back to the pool when done (in any order).  Flow control:
 * the writer blocks while every segment is in use.
 *
 * A stream carries a sequence of payloads; each ends explicitly:
 * shmipc_stream_end() (the reader's read returns 0) or
 * shmipc_stream_abort() with an error code the reader's read returns
 * (e.g. -EIO).  A failure of the other side is never a hang: the
 * writer's death gives the reader -EOWNERDEAD (after the chunks committed
 * before it), the reader's death gives the writer -EOWNERDEAD (once it
 * needs a segment back), a clean close -EPIPE.
 *
 * Roles, takeover: one writer (SHMIPC_PRODUCER) and one reader
 * (SHMIPC_CONSUMER); the role of a dead or closed holder is taken over
 * (-EBUSY while a live one holds it), and the segments it held return to
 * the pool: a new writer gets back the one segment the old one was
 * filling; a new reader returns the old one's chunks to the pool, and
 * gets again a chunk the old one was in the middle of taking.  Each side
 * records in shared memory, before every step, the segment it moves and
 * the queue position of the step, so its successor can tell whether the
 * step happened.
 *
 * Module backend: each side owns 2 words of the region.  Both backends;
 * the portable one notices a death within SHMIPC_PORTABLE_SLICE_MS.
 * Thread-safety: a handle is used by one thread at a time.
 */
#ifndef SHMIPC_STREAM_H
#define SHMIPC_STREAM_H

#ifndef SHMIPC_H
#error "include <shmipc.h>, not <shmipc/stream.h>"
#endif

struct shmipc_stream;

#define SHMIPC_STREAM_SEGS_MAX		4096U
#define SHMIPC_STREAM_SEG_SIZE_MAX	(1U << 30)

/*
 * Create the stream @key in @r's directory: @nsegs segments
 * (1..SHMIPC_STREAM_SEGS_MAX) of @seg_size bytes
 * (1..SHMIPC_STREAM_SEG_SIZE_MAX); segments start 4096-aligned and
 * 64 bytes apart at least.  Nobody is attached; all segments are free.
 * Errors: -EINVAL, as shmipc_dir_alloc() (-ENOMEM: the region is too
 * small).
 */
int shmipc_stream_create(struct shmipc_region *r, const char *key,
			 uint32_t seg_size, uint32_t nsegs);

/*
 * Attach to the stream @key as writer (SHMIPC_PRODUCER) or reader
 * (SHMIPC_CONSUMER), taking over and recovering a dead or closed
 * holder's role and segments (see above).  Errors: -EINVAL, -ENOENT,
 * -EBUSY, -EBADMSG (corrupt header, queue or recovery record),
 * -EPROTONOSUPPORT, -ENOMEM, -ENOSPC (module: owned words), -EAGAIN.
 */
int shmipc_stream_open(struct shmipc_region *r, const char *key,
		       enum shmipc_role role, struct shmipc_stream **out);

/*
 * Release the role and free the handle.  A reader's unreleased chunks
 * go back to the pool; a writer's reserved segment is kept for its
 * successor.  Without shmipc_stream_end() first, the reader gets -EPIPE
 * after the chunks committed.  NULL is a no-op.
 */
int shmipc_stream_close(struct shmipc_stream *s);

/* Segment size in bytes and number of segments.  Any thread. */
uint32_t shmipc_stream_segment_size(const struct shmipc_stream *s);
uint32_t shmipc_stream_segments(const struct shmipc_stream *s);

/* ---- writer ---- */

/*
 * Take a free segment (waiting until the reader releases one, up to
 * @deadline_ns) and set *@buf to it: returns its size in bytes.  While a
 * segment is reserved and not committed, reserve returns it again.
 * Errors: -ETIMEDOUT, -EOWNERDEAD (the reader died), -EPIPE (it closed),
 * -EBADMSG (a corrupt queue or segment index), -EPERM, -EINVAL.
 */
int shmipc_stream_reserve(struct shmipc_stream *s, void **buf,
			  uint64_t deadline_ns);

/*
 * Send the first @len bytes (<= the segment size) of the reserved
 * segment as the next chunk of the current payload; wakes the reader if
 * it sleeps.  Never blocks.  @len 0 sends nothing and keeps the
 * segment.  -EINVAL without a reservation or with a larger @len, -EPERM,
 * -EBADMSG (the chunk queue is full: corrupted by a hostile peer).
 */
int shmipc_stream_commit(struct shmipc_stream *s, uint32_t len);

/* Copy @len bytes into as many chunks as needed (reserve + commit). */
int shmipc_stream_write(struct shmipc_stream *s, const void *data,
			size_t len, uint64_t deadline_ns);

/*
 * End the current payload: the reader's read returns 0 after its
 * chunks.  May wait (until @deadline_ns) while the queue holds many
 * unread ends.  Errors as reserve.
 */
int shmipc_stream_end(struct shmipc_stream *s, uint64_t deadline_ns);

/*
 * Abort the current payload with @err (a negative errno, -4095..-1, but
 * not -EAGAIN, -ETIMEDOUT, -EOWNERDEAD, -EPIPE or -EBADMSG, which keep
 * the library's meanings; else -EINVAL): after the chunks committed so
 * far, the reader's read returns @err once.  Errors as end.
 */
int shmipc_stream_abort(struct shmipc_stream *s, int err,
			uint64_t deadline_ns);

/*
 * Stream what can be read from @fd (a file, pipe or socket, in blocking
 * mode) until its end, as one payload, then end it: chunks are what each
 * read(2) returns.  0 on success.  A read error aborts the payload (with
 * -EIO in place of a code abort() refuses) and is returned; the stream's
 * errors as reserve/end.
 */
int shmipc_stream_send_fd(struct shmipc_stream *s, int fd,
			  uint64_t deadline_ns);

/* ---- reader ---- */

/*
 * The next chunk of the current payload: *@chunk points to it, in place,
 * and the return value is its length (> 0); it stays valid until it is
 * released.  0: the payload ended (shmipc_stream_end()).  < 0: the
 * writer's abort code (once), or -ETIMEDOUT, -EOWNERDEAD (the writer
 * died; chunks committed before come first), -EPIPE (it closed),
 * -EBADMSG (corrupt queue entry: index, length or kind), -EPERM, -EINVAL.
 * Several chunks may be held at once.  The reader must not trust the
 * content more than any shared data.
 */
int shmipc_stream_read(struct shmipc_stream *s, const void **chunk,
		       uint64_t deadline_ns);

/*
 * Give the chunk at @chunk (as returned by read) back to the pool, in any
 * order; wakes the writer if it waits.  -EINVAL for a pointer that is not
 * a chunk this handle holds, -EPERM, -EBADMSG (the free queue is full:
 * corrupted).
 */
int shmipc_stream_release(struct shmipc_stream *s, const void *chunk);

/*
 * Write the current payload to @fd (blocking mode) until its end: 0, or
 * the writer's abort code, or the errors of read, or -errno of write(2)
 * (the rest of the payload then stays queued).
 */
int shmipc_stream_recv_fd(struct shmipc_stream *s, int fd,
			  uint64_t deadline_ns);

#endif /* SHMIPC_STREAM_H */
