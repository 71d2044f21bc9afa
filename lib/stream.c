// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Stream: payloads in chunks through a pool of fixed-size segments.
 *
 * Shared layout (one directory object, 4096-aligned):
 *   struct stream_hdr   config line (magic last, release), then the
 *                       writer's recovery record on a line of its own
 *   chunk queue         an SPSC ring (spsc.c) of struct stream_msg from
 *                       the writer to the reader: a chunk (segment index
 *                       and length), an end, or an abort code
 *   free queue          an SPSC ring of segment indexes from the reader
 *                       back to the writer; created holding all of them
 *   reader records      one 64-bit recovery record per segment
 *   segments            from the next 4096 boundary, stride bytes apart
 * The queues carry all flow control, blocking and death detection: the
 * writer sleeps on the free queue (whose producer is the reader), the
 * reader on the chunk queue (whose producer is the writer).
 *
 * The chunk queue never blocks a commit: it holds at most nsegs chunks,
 * and an end or abort is queued only when more than nsegs slots are
 * free, so a chunk always finds a slot (else the queue is corrupt).
 *
 * Recovery records.  Before each step that moves a segment between a
 * side and a queue, the side records (phase, segment, the queue position
 * of the step); a successor that takes over the role compares the
 * position with the queue's cursor to know whether the step happened,
 * and so which segments its predecessor held:
 *   TAKING@t   taking it from a queue whose tail is t: taken iff the
 *              tail moved (writer: the free queue; reader: the chunks)
 *   HOLD       holding it
 *   SENDING@h  putting it into a queue whose head is h: put iff the
 *              head moved (writer: the chunks; reader: the free queue)
 * The writer holds at most one segment (one record); the reader one
 * record per segment.  Records are written relaxed: each is stored
 * before the cursor store (release) that completes its step, and a
 * successor loads the cursors with acquire when it opens the queues, so
 * a moved cursor comes with the record that announced the move.
 */
#include "ends.h"
#include "spsc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STREAM_MAGIC	0x4d525453U	/* "STRM" */
#define STREAM_PAGE	4096U

enum { MSG_CHUNK = 1, MSG_END = 2, MSG_ABORT = 3 };

struct stream_msg {
	uint32_t kind;
	uint32_t seg;
	int64_t val;		/* chunk: length; abort: the code */
};

struct stream_hdr {
	/* line 0: config */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t seg_size;
	uint32_t nsegs;
	uint32_t stride;
	uint32_t chunk_cap;	/* chunk queue capacity */
	uint32_t free_cap;	/* free queue capacity */
	uint64_t chunk_off;	/* offsets from the region base */
	uint64_t free_off;
	uint64_t recs_off;
	uint64_t segs_off;
	/* line 1: the writer's recovery record */
	_Atomic uint64_t wrec;
	uint8_t pad1[64 - 8];
};

_Static_assert(sizeof(struct stream_hdr) == 2 * 64, "stream header");

/* Recovery records: phase << 56 | segment << 32 | queue position. */
enum { REC_NONE = 0, REC_TAKING = 1, REC_HOLD = 2, REC_SENDING = 3 };

#define REC(phase, seg, pos) \
	((uint64_t)(phase) << 56 | (uint64_t)(seg) << 32 | (uint32_t)(pos))
#define REC_PHASE(rec)	((uint32_t)((rec) >> 56))
#define REC_SEG(rec)	((uint32_t)((rec) >> 32) & 0xffffffU)
#define REC_POS(rec)	((uint32_t)(rec))

struct shmipc_stream {
	struct shmipc_region *r;
	struct stream_hdr *h;
	struct shmipc_spsc *chunks, *frees;
	_Atomic uint64_t *recs;		/* the reader's, one per segment */
	unsigned char *segs;
	uint32_t seg_size, stride, nsegs;
	enum shmipc_role role;
	/* writer */
	int64_t held;			/* segment held, -1: none */
	/* reader */
	unsigned char *mine;		/* per segment: 1 while we hold it */
};

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 2;

	while (p < n)
		p <<= 1;
	return p;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* The layout of a stream: offsets from its start, and its total size. */
struct layout {
	uint32_t stride, chunk_cap, free_cap;
	uint64_t chunk_at, free_at, recs_at, segs_at, size;
};

static void layout(uint32_t seg_size, uint32_t nsegs, struct layout *l)
{
	l->stride = (uint32_t)align_up(seg_size, 64);
	/* Room for every chunk and a few ends or aborts. */
	l->chunk_cap = pow2_at_least(2 * nsegs + 2);
	l->free_cap = pow2_at_least(nsegs);
	l->chunk_at = sizeof(struct stream_hdr);
	l->free_at = l->chunk_at +
		     align_up(spsc_bytes(sizeof(struct stream_msg),
					 l->chunk_cap), 64);
	l->recs_at = l->free_at +
		     align_up(spsc_bytes(sizeof(uint32_t), l->free_cap), 64);
	l->segs_at = align_up(l->recs_at + (uint64_t)nsegs * 8, STREAM_PAGE);
	l->size = l->segs_at + (uint64_t)l->stride * nsegs;
}

static bool args_ok(uint32_t seg_size, uint32_t nsegs)
{
	return seg_size && seg_size <= SHMIPC_STREAM_SEG_SIZE_MAX && nsegs &&
	       nsegs <= SHMIPC_STREAM_SEGS_MAX;
}

/* ------------------------------------------------------------------ */
/* Create / open / close */

int shmipc_stream_create(struct shmipc_region *r, const char *key,
			 uint32_t seg_size, uint32_t nsegs)
{
	struct stream_hdr *h;
	struct layout l;
	uint32_t *all, i;
	uint64_t off;
	int ret;

	if (!r || !args_ok(seg_size, nsegs))
		return -EINVAL;
	layout(seg_size, nsegs, &l);
	all = malloc(sizeof(*all) * nsegs);
	if (!all)
		return -ENOMEM;
	for (i = 0; i < nsegs; i++)
		all[i] = i;
	h = shmipc_dir_new(r, key, l.size, STREAM_PAGE, &off, &ret);
	if (h)
		ret = spsc_init_at(r, off + l.chunk_at,
				   sizeof(struct stream_msg), l.chunk_cap,
				   NULL, 0);
	if (!ret)
		ret = spsc_init_at(r, off + l.free_at, sizeof(uint32_t),
				   l.free_cap, all, nsegs);
	free(all);
	if (ret)
		return ret;
	h->version = SHMIPC_LIB_VERSION;
	h->hdr_size = sizeof(*h);
	h->seg_size = seg_size;
	h->nsegs = nsegs;
	h->stride = l.stride;
	h->chunk_cap = l.chunk_cap;
	h->free_cap = l.free_cap;
	h->chunk_off = off + l.chunk_at;
	h->free_off = off + l.free_at;
	h->recs_off = off + l.recs_at;
	h->segs_off = off + l.segs_at;
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&h->magic, STREAM_MAGIC, memory_order_release);
	return 0;
}

/* Check the header of the object at @off (@size bytes); fill @s. */
static int stream_check(struct shmipc_stream *s, uint64_t off, uint64_t size)
{
	struct stream_hdr *h = s->h;
	struct layout l;
	int ret = shmipc_await_header(&h->magic, &h->version, STREAM_MAGIC);

	if (ret)
		return ret;
	if (h->hdr_size != sizeof(*h) || !args_ok(h->seg_size, h->nsegs))
		return -EBADMSG;
	/* Everything else follows from the two sizes: it must match. */
	layout(h->seg_size, h->nsegs, &l);
	if (h->stride != l.stride || h->chunk_cap != l.chunk_cap ||
	    h->free_cap != l.free_cap || h->chunk_off != off + l.chunk_at ||
	    h->free_off != off + l.free_at || h->recs_off != off + l.recs_at ||
	    h->segs_off != off + l.segs_at || size < l.size ||
	    !shmipc_in_region(s->r, off, l.size))
		return -EBADMSG;
	s->seg_size = h->seg_size;
	s->nsegs = h->nsegs;
	s->stride = l.stride;
	s->recs = shmipc_region_ptr(s->r, off + l.recs_at, 8ULL * s->nsegs);
	s->segs = shmipc_region_ptr(s->r, off + l.segs_at,
				    (uint64_t)l.stride * s->nsegs);
	return 0;
}

/* Put segment @seg back into the free queue (reader), recorded. */
static int give_back(struct shmipc_stream *s, uint32_t seg)
{
	uint32_t h = spsc_pos(s->frees);
	int ret;

	/* Relaxed: see "Recovery records" at the top. */
	atomic_store_explicit(&s->recs[seg], REC(REC_SENDING, 0, h),
			      memory_order_relaxed);
	ret = shmipc_spsc_try_send(s->frees, &seg);
	if (ret) {
		atomic_store_explicit(&s->recs[seg], REC(REC_HOLD, 0, 0),
				      memory_order_relaxed);
		/* The free queue holds each segment at most once: it
		 * cannot be full unless a hostile peer filled it. */
		return ret == -EAGAIN ? -EBADMSG : ret;
	}
	atomic_store_explicit(&s->recs[seg], REC_NONE, memory_order_relaxed);
	return 0;
}

/*
 * Did the step recorded by @rec happen?  @taken: the queue cursor the
 * step moves; 1 it did, 0 it did not, -EBADMSG (a record that cannot
 * be: the cursor is neither at the recorded position nor one past it).
 */
static int step_done(uint64_t rec, uint32_t cursor)
{
	uint32_t d = cursor - REC_POS(rec);

	return d <= 1 ? (int)d : -EBADMSG;
}

/* A new writer: adopt the segment the previous one held, if any. */
static int writer_recover(struct shmipc_stream *s)
{
	/* Relaxed: see "Recovery records" at the top. */
	uint64_t rec = atomic_load_explicit(&s->h->wrec, memory_order_relaxed);
	uint32_t seg = REC_SEG(rec);
	int held;

	switch (REC_PHASE(rec)) {
	case REC_NONE:
		held = 0;
		break;
	case REC_TAKING:
		held = step_done(rec, spsc_pos(s->frees));
		break;
	case REC_HOLD:
		held = 1;
		break;
	case REC_SENDING:
		held = step_done(rec, spsc_pos(s->chunks));
		held = held < 0 ? held : !held;
		break;
	default:
		held = -EBADMSG;
	}
	if (held < 0 || (held && seg >= s->nsegs))
		return -EBADMSG;
	s->held = held ? (int64_t)seg : -1;
	/* Relaxed: our own record from now on; a successor of ours reads
	 * it under the same rule. */
	atomic_store_explicit(&s->h->wrec, held ? REC(REC_HOLD, seg, 0) : 0,
			      memory_order_relaxed);
	return 0;
}

/*
 * A new reader: return the segments the previous one held to the pool.
 * Every record is judged against the cursors as they stand now, before
 * we send anything (our own sends move the free queue's head), and the
 * segments to return are first all recorded HOLD: if we die returning
 * them, our successor finds records that are true for the cursors it
 * sees.
 */
static int reader_recover(struct shmipc_stream *s)
{
	uint32_t chunk_tail = spsc_pos(s->chunks), free_head = spsc_pos(s->frees);
	uint32_t seg;
	int held, ret;

	for (seg = 0; seg < s->nsegs; seg++) {
		/* Relaxed: see "Recovery records" at the top. */
		uint64_t rec = atomic_load_explicit(&s->recs[seg],
						    memory_order_relaxed);

		switch (REC_PHASE(rec)) {
		case REC_NONE:
			held = 0;
			break;
		case REC_TAKING:	/* not taken: it will come again */
			held = step_done(rec, chunk_tail);
			break;
		case REC_HOLD:
			held = 1;
			break;
		case REC_SENDING:
			held = step_done(rec, free_head);
			held = held < 0 ? held : !held;
			break;
		default:
			held = -EBADMSG;
		}
		if (held < 0 || REC_SEG(rec))	/* 0 in a reader's record */
			return -EBADMSG;
		s->mine[seg] = (unsigned char)held;
		atomic_store_explicit(&s->recs[seg],
				      held ? REC(REC_HOLD, 0, 0) : REC_NONE,
				      memory_order_relaxed);
	}
	for (seg = 0; seg < s->nsegs; seg++) {
		if (!s->mine[seg])
			continue;
		ret = give_back(s, seg);
		if (ret)
			return ret;
		s->mine[seg] = 0;
	}
	return 0;
}

int shmipc_stream_open(struct shmipc_region *r, const char *key,
		       enum shmipc_role role, struct shmipc_stream **out)
{
	enum shmipc_role other = role == SHMIPC_PRODUCER ? SHMIPC_CONSUMER :
							   SHMIPC_PRODUCER;
	struct shmipc_stream *s;
	uint64_t off, size;
	struct layout l;
	int ret;

	ret = ENDS_FIND(r, key, role, out, sizeof(struct stream_hdr), &off,
			&size);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->r = r;
	s->role = role;
	s->held = -1;
	s->h = shmipc_region_ptr(r, off, sizeof(struct stream_hdr));
	ret = s->h ? stream_check(s, off, size) : -EBADMSG;
	if (ret)
		goto fail;
	/* Always the chunk queue first: two takers of one role collide
	 * there, so neither can hold half of the role. */
	ret = spsc_open_at(r, s->h->chunk_off, s->h->free_off - s->h->chunk_off,
			   role, &s->chunks);
	if (!ret)
		ret = spsc_open_at(r, s->h->free_off,
				   s->h->recs_off - s->h->free_off, other,
				   &s->frees);
	/* The rings' own headers must agree with our layout: their message
	 * size is what is copied to and from our messages. */
	layout(s->seg_size, s->nsegs, &l);
	if (!ret &&
	    (shmipc_spsc_slot_size(s->chunks) != sizeof(struct stream_msg) ||
	     shmipc_spsc_capacity(s->chunks) != l.chunk_cap ||
	     shmipc_spsc_slot_size(s->frees) != sizeof(uint32_t) ||
	     shmipc_spsc_capacity(s->frees) != l.free_cap))
		ret = -EBADMSG;
	if (ret)
		goto fail;
	if (role == SHMIPC_PRODUCER) {
		ret = writer_recover(s);
	} else {
		s->mine = calloc(s->nsegs, 1);
		ret = s->mine ? reader_recover(s) : -ENOMEM;
	}
	if (ret)
		goto fail;
	*out = s;
	return 0;
fail:
	shmipc_spsc_close(s->chunks);
	shmipc_spsc_close(s->frees);
	free(s->mine);
	free(s);
	return ret;
}

int shmipc_stream_close(struct shmipc_stream *s)
{
	uint32_t seg;

	if (!s)
		return 0;
	if (s->role == SHMIPC_CONSUMER)
		for (seg = 0; seg < s->nsegs; seg++)
			if (s->mine[seg])
				give_back(s, seg);
	shmipc_spsc_close(s->chunks);
	shmipc_spsc_close(s->frees);
	free(s->mine);
	free(s);
	return 0;
}

/* The pool's shape, as validated at open. */
uint32_t shmipc_stream_segment_size(const struct shmipc_stream *s)
{
	return s ? s->seg_size : 0;
}

uint32_t shmipc_stream_segments(const struct shmipc_stream *s)
{
	return s ? s->nsegs : 0;
}

/* A stream's role is that of its chunk queue's end. */
static int check_role(const struct shmipc_stream *s, enum shmipc_role role)
{
	if (!s)
		return -EINVAL;
	return s->role == role ? 0 : -EPERM;
}

/* ------------------------------------------------------------------ */
/* Writer */

int shmipc_stream_reserve(struct shmipc_stream *s, void **buf,
			  uint64_t deadline_ns)
{
	const void *slot;
	uint32_t seg, t;
	int ret = check_role(s, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	if (!buf)
		return -EINVAL;
	if (s->held < 0) {
		ret = spsc_wait(s->frees, 1, deadline_ns);
		if (ret)
			return ret;
		if (shmipc_spsc_peek(s->frees, 1, &slot) != 1)
			return -EBADMSG;
		memcpy(&seg, slot, sizeof(seg));
		if (seg >= s->nsegs)
			return -EBADMSG;
		t = spsc_pos(s->frees);
		/* Relaxed: see "Recovery records" at the top. */
		atomic_store_explicit(&s->h->wrec, REC(REC_TAKING, seg, t),
				      memory_order_relaxed);
		shmipc_spsc_release(s->frees, 1);
		atomic_store_explicit(&s->h->wrec, REC(REC_HOLD, seg, 0),
				      memory_order_relaxed);
		s->held = seg;
	}
	*buf = s->segs + (size_t)s->held * s->stride;
	return (int)s->seg_size;
}

int shmipc_stream_commit(struct shmipc_stream *s, uint32_t len)
{
	struct stream_msg m;
	uint32_t seg;
	int ret = check_role(s, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	if (s->held < 0 || len > s->seg_size)
		return -EINVAL;
	if (!len)
		return 0;
	seg = (uint32_t)s->held;
	m.kind = MSG_CHUNK;
	m.seg = seg;
	m.val = len;
	/* Relaxed: see "Recovery records" at the top. */
	atomic_store_explicit(&s->h->wrec,
			      REC(REC_SENDING, seg, spsc_pos(s->chunks)),
			      memory_order_relaxed);
	ret = shmipc_spsc_try_send(s->chunks, &m);
	if (ret) {
		atomic_store_explicit(&s->h->wrec, REC(REC_HOLD, seg, 0),
				      memory_order_relaxed);
		return ret == -EAGAIN ? -EBADMSG : ret;
	}
	atomic_store_explicit(&s->h->wrec, REC_NONE, memory_order_relaxed);
	s->held = -1;
	return 0;
}

int shmipc_stream_write(struct shmipc_stream *s, const void *data,
			size_t len, uint64_t deadline_ns)
{
	const unsigned char *src = data;
	void *buf;
	int ret;

	if (!data && len)
		return -EINVAL;
	while (len) {
		uint32_t n;

		ret = shmipc_stream_reserve(s, &buf, deadline_ns);
		if (ret < 0)
			return ret;
		n = len < (size_t)ret ? (uint32_t)len : (uint32_t)ret;
		memcpy(buf, src, n);
		ret = shmipc_stream_commit(s, n);
		if (ret)
			return ret;
		src += n;
		len -= n;
	}
	return check_role(s, SHMIPC_PRODUCER);
}

/* Codes an abort may carry: a negative errno the library does not use
 * for a meaning of its own. */
static bool abort_code_ok(int64_t err)
{
	return err < 0 && err >= -4095 && err != -EAGAIN &&
	       err != -ETIMEDOUT && err != -EOWNERDEAD && err != -EPIPE &&
	       err != -EBADMSG;
}

/* Queue an end or abort, once more than nsegs chunk slots are free. */
static int send_control(struct shmipc_stream *s, uint32_t kind, int err,
			uint64_t deadline_ns)
{
	struct stream_msg m = { kind, 0, err };
	int ret = check_role(s, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	ret = spsc_wait(s->chunks, s->nsegs + 1, deadline_ns);
	if (ret)
		return ret;
	ret = shmipc_spsc_try_send(s->chunks, &m);
	return ret == -EAGAIN ? -EBADMSG : ret;
}

int shmipc_stream_end(struct shmipc_stream *s, uint64_t deadline_ns)
{
	return send_control(s, MSG_END, 0, deadline_ns);
}

int shmipc_stream_abort(struct shmipc_stream *s, int err, uint64_t deadline_ns)
{
	if (!abort_code_ok(err))
		return -EINVAL;
	return send_control(s, MSG_ABORT, err, deadline_ns);
}

int shmipc_stream_send_fd(struct shmipc_stream *s, int fd,
			  uint64_t deadline_ns)
{
	void *buf;
	ssize_t n;
	int ret;

	if (fd < 0)
		return -EINVAL;
	for (;;) {
		ret = shmipc_stream_reserve(s, &buf, deadline_ns);
		if (ret < 0)
			return ret;
		do {
			n = read(fd, buf, (size_t)ret);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			ret = -errno;
			shmipc_stream_abort(s, abort_code_ok(ret) ? ret : -EIO,
					    deadline_ns);
			return ret;
		}
		if (n == 0)
			return shmipc_stream_end(s, deadline_ns);
		ret = shmipc_stream_commit(s, (uint32_t)n);
		if (ret)
			return ret;
	}
}

/* ------------------------------------------------------------------ */
/* Reader */

int shmipc_stream_read(struct shmipc_stream *s, const void **chunk,
		       uint64_t deadline_ns)
{
	struct stream_msg m;
	const void *slot;
	uint32_t t;
	int ret = check_role(s, SHMIPC_CONSUMER);

	if (ret)
		return ret;
	if (!chunk)
		return -EINVAL;
	ret = spsc_wait(s->chunks, 1, deadline_ns);
	if (ret)
		return ret;
	if (shmipc_spsc_peek(s->chunks, 1, &slot) != 1)
		return -EBADMSG;
	memcpy(&m, slot, sizeof(m));	/* once: the writer may scribble */
	switch (m.kind) {
	case MSG_CHUNK:
		if (m.seg >= s->nsegs || m.val <= 0 || m.val > s->seg_size ||
		    s->mine[m.seg])
			return -EBADMSG;
		t = spsc_pos(s->chunks);
		/* Relaxed: see "Recovery records" at the top. */
		atomic_store_explicit(&s->recs[m.seg], REC(REC_TAKING, 0, t),
				      memory_order_relaxed);
		shmipc_spsc_release(s->chunks, 1);
		atomic_store_explicit(&s->recs[m.seg], REC(REC_HOLD, 0, 0),
				      memory_order_relaxed);
		s->mine[m.seg] = 1;
		*chunk = s->segs + (size_t)m.seg * s->stride;
		return (int)m.val;
	case MSG_END:
		shmipc_spsc_release(s->chunks, 1);
		return 0;
	case MSG_ABORT:
		if (!abort_code_ok(m.val))
			return -EBADMSG;
		shmipc_spsc_release(s->chunks, 1);
		return (int)m.val;
	default:
		return -EBADMSG;
	}
}

int shmipc_stream_release(struct shmipc_stream *s, const void *chunk)
{
	uintptr_t at = (uintptr_t)chunk, base;
	uint32_t seg;
	int ret = check_role(s, SHMIPC_CONSUMER);

	if (ret)
		return ret;
	base = (uintptr_t)s->segs;
	if (at < base || (at - base) % s->stride ||
	    (at - base) / s->stride >= s->nsegs)
		return -EINVAL;
	seg = (uint32_t)((at - base) / s->stride);
	if (!s->mine[seg])
		return -EINVAL;
	ret = give_back(s, seg);
	if (!ret)
		s->mine[seg] = 0;
	return ret;
}

int shmipc_stream_recv_fd(struct shmipc_stream *s, int fd,
			  uint64_t deadline_ns)
{
	const void *chunk;
	int n, ret;

	if (fd < 0)
		return -EINVAL;
	for (;;) {
		const unsigned char *p;
		size_t left;

		n = shmipc_stream_read(s, &chunk, deadline_ns);
		if (n <= 0)
			return n;
		p = chunk;
		left = (size_t)n;
		while (left) {
			ssize_t w = write(fd, p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = -errno;
				shmipc_stream_release(s, chunk);
				return ret;
			}
			p += w;
			left -= (size_t)w;
		}
		ret = shmipc_stream_release(s, chunk);
		if (ret)
			return ret;
	}
}
