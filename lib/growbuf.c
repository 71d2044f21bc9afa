// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Growable buffer: one message at a time from a writer to a reader, in a
 * data region (a generation) that the writer replaces by a larger one
 * when a message outgrows it.
 *
 * Shared layout of the control block (in the user's region, under the
 * key):
 *   line 0     config, written once by the creator (magic last, release)
 *   line 1     seq: messages committed, and the generation and length of
 *              the last one; written only by the writer
 *   line 2     ack: messages the reader is done with; reader_gen, the
 *              generation it maps (for tools); written only by the reader
 *   lines 3-4  sleep words and the two ends (struct ends_shared)
 * seq - ack is 0 (the writer may write) or 1 (a message waits for the
 * reader); anything else is corrupt.  It is a one-slot SPSC ring whose
 * "slot" is the whole generation, with the SPSC channel's roles,
 * takeover and sleeping (ends.c): the reader sleeps until seq moves, the
 * writer until ack does.
 *
 * The writer writes gen and len only while seq == ack (nobody reads
 * them), then publishes seq; the reader reads them after seeing seq move
 * (acquire) and checks them: the generation must exist as a region
 * holding a "growbuf" object of at least len bytes.
 *
 * A generation "<region>.<key>.g<N>" holds the bytes in a directory
 * object "growbuf" of its own, at the first offset after its header.  The
 * writer unlinks a generation's name when it creates the next one: by
 * then the reader has acked every message in it (reserve waits for
 * that), and a reader that still maps it keeps its memory.  Its name is
 * tied to the growbuf's region (module backend: SHMIPC_CREATE_TIED), so a
 * message committed by a writer that dies before the reader opened its
 * generation is still read, and a name nobody unlinked goes with the
 * region.  The last generation's name goes when the reader, having acked
 * everything, sees the writer gone (a read's error, or the close).
 */
#include "ends.h"
#include "introspect_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROWBUF_MAGIC	0x46554247U	/* "GBUF" */
#define GROWBUF_OBJ	"growbuf"	/* the bytes, in each generation */
#define GROWBUF_PAGE	4096U
#define GONE_WAIT_MS	1000U	/* a missing generation's writer to die */
#define GROW_TRIES	8U	/* generation numbers tried when growing */
/* A generation's name; the base is short enough that it fits a region
 * name (checked at create and open), the buffer is sized for any base. */
#define GEN_NAME_SIZE	(SHMIPC_NAME_LEN_MAX + 1 + 12)

struct growbuf_ctl {
	/* line 0: config */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t pad;
	uint64_t initial_cap;
	uint64_t max_cap;
	uint8_t pad0[64 - 32];
	/* line 1: writer */
	_Atomic uint32_t seq;
	_Atomic uint32_t gen;		/* generation of message seq */
	_Atomic uint64_t len;		/* its length */
	uint8_t pad1[64 - 16];
	/* line 2: reader */
	_Atomic uint32_t ack;
	_Atomic uint32_t reader_gen;
	uint8_t pad2[64 - 8];
	/* lines 3-4 */
	struct ends_shared ends;
};

_Static_assert(sizeof(struct growbuf_ctl) == 5 * 64, "growbuf layout");

struct shmipc_growbuf {
	struct shmipc_region *r;
	struct growbuf_ctl *c;
	struct ends ends;
	char base[SHMIPC_NAME_LEN_MAX + 1];	/* "<region>.<key>" */
	uint64_t initial_cap, max_cap;
	/* the generation this handle maps */
	struct shmipc_region *data;
	uint32_t gen;
	bool named;		/* its name not yet removed by us */
	unsigned char *buf;
	uint64_t cap;
	/* writer: messages committed; reader: messages acked */
	uint32_t seq;
	uint64_t reserved;	/* writer: reserved length + 1 (0: none) */
	bool holding;		/* reader: a message read, not acked */
	uint64_t hold_len;
	uint32_t forgotten;	/* reader mapping none: name it removed */
};

/* "<region>.<key>" into @base, or -EINVAL / -ENAMETOOLONG. */
static int base_name(const struct shmipc_region *r, const char *key,
		     char base[SHMIPC_NAME_LEN_MAX + 1])
{
	int n;

	if (!key || !*key)
		return -EINVAL;
	n = snprintf(base, SHMIPC_NAME_LEN_MAX + 1, "%s.%s", r->name, key);
	if (n < 0 || n > (int)SHMIPC_GROWBUF_BASE_MAX)
		return -ENAMETOOLONG;
	return shmipc_check_name(base);
}

static void gen_name(char out[GEN_NAME_SIZE], const char *base, uint32_t gen)
{
	snprintf(out, GEN_NAME_SIZE, "%s.g%u", base, gen);
}

static int unlink_gen(const char *base, uint32_t gen)
{
	char name[GEN_NAME_SIZE];

	gen_name(name, base, gen);
	return shmipc_region_unlink(name);
}

static bool caps_ok(uint64_t initial, uint64_t max)
{
	return initial && initial <= max && max <= SHMIPC_GROWBUF_SIZE_MAX;
}

/* ------------------------------------------------------------------ */
/* Create / open / close */

int shmipc_growbuf_create(struct shmipc_region *r, const char *key,
			  uint64_t initial_size, uint64_t max_size)
{
	char base[SHMIPC_NAME_LEN_MAX + 1];
	struct growbuf_ctl *c;
	uint64_t off;
	int ret;

	if (!r || !caps_ok(initial_size, max_size))
		return -EINVAL;
	ret = base_name(r, key, base);
	if (ret)
		return ret;
	c = shmipc_dir_new(r, key, sizeof(*c), 64, &off, &ret);
	if (!c)
		return ret;
	c->version = SHMIPC_LIB_VERSION;
	c->hdr_size = sizeof(*c);
	c->initial_cap = initial_size;
	c->max_cap = max_size;
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&c->magic, GROWBUF_MAGIC, memory_order_release);
	return 0;
}

/* Find and check the control block of @key (for @role). */
static int ctl_find(struct shmipc_region *r, const char *key,
		    enum shmipc_role role, struct growbuf_ctl **out)
{
	struct growbuf_ctl *c;
	uint64_t off, size;
	int ret = ends_find(r, key, role, sizeof(*c), &off, &size);

	if (ret)
		return ret;
	c = shmipc_region_ptr(r, off, sizeof(*c));
	if (!c)
		return -EBADMSG;
	ret = shmipc_await_header(&c->magic, &c->version, GROWBUF_MAGIC);
	if (ret)
		return ret;
	if (c->hdr_size != sizeof(*c) || !caps_ok(c->initial_cap, c->max_cap))
		return -EBADMSG;
	*out = c;
	return 0;
}

/* seq - ack: 0 or 1 (a message waits), or -EBADMSG. */
static int pending(uint32_t seq, uint32_t ack)
{
	uint32_t d = seq - ack;

	return d <= 1 ? (int)d : -EBADMSG;
}

int shmipc_growbuf_open(struct shmipc_region *r, const char *key,
			enum shmipc_role role, struct shmipc_growbuf **out)
{
	struct shmipc_growbuf *gb;
	struct growbuf_ctl *c;
	uint32_t seq, ack;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	ret = ctl_find(r, key, role, &c);
	if (ret)
		return ret;
	gb = calloc(1, sizeof(*gb));
	if (!gb)
		return -ENOMEM;
	ret = base_name(r, key, gb->base);
	if (!ret)
		ret = ends_take(&gb->ends, r, &c->ends, role);
	if (ret) {
		free(gb);
		return ret;
	}
	gb->r = r;
	gb->c = c;
	gb->initial_cap = c->initial_cap;
	gb->max_cap = c->max_cap;
	/* Acquire both: we continue from where the previous holder of our
	 * role stopped, and see what the other side published. */
	seq = atomic_load_explicit(&c->seq, memory_order_acquire);
	ack = atomic_load_explicit(&c->ack, memory_order_acquire);
	if (pending(seq, ack) < 0) {
		shmipc_growbuf_close(gb);
		return -EBADMSG;
	}
	gb->seq = role == SHMIPC_PRODUCER ? seq : ack;
	*out = gb;
	return 0;
}

/* Remove the name of the generation we map, once; the mapping stays. */
static void unname_gen(struct shmipc_growbuf *gb)
{
	if (gb->data && gb->named)
		unlink_gen(gb->base, gb->gen);
	gb->named = false;
}

/* Unmap our generation; with @unlink, also remove its name. */
static void drop_gen(struct shmipc_growbuf *gb, bool unlink)
{
	if (!gb->data)
		return;
	if (unlink)
		unname_gen(gb);
	shmipc_region_close(gb->data);
	gb->data = NULL;
	gb->buf = NULL;
	gb->cap = 0;
}

/* Is nothing waiting for the reader (as far as the shared words say)? */
static bool all_acked(const struct growbuf_ctl *c)
{
	/* Acquire on seq: after a reader saw the writer gone (seq_cst), the
	 * writer's last publish is seen.  Relaxed on ack: our own, or a
	 * stale value that only keeps a name. */
	return atomic_load_explicit(&c->seq, memory_order_acquire) ==
	       atomic_load_explicit(&c->ack, memory_order_relaxed);
}

int shmipc_growbuf_close(struct shmipc_growbuf *gb)
{
	bool done;

	if (!gb)
		return 0;
	/* Nobody needs the name of a generation once everything in it was
	 * acked and the writer is gone (a new writer starts a new one).  A
	 * reader asks whether the writer is gone first: a writer that left
	 * had published its last message before, so the check of seq after
	 * it cannot miss that message. */
	if (gb->ends.role == SHMIPC_PRODUCER)
		done = all_acked(gb->c);
	else
		done = ends_other_gone(&gb->ends) && all_acked(gb->c);
	ends_leave(&gb->ends);
	drop_gen(gb, done);
	free(gb);
	return 0;
}

bool shmipc_growbuf_other_closed(struct shmipc_growbuf *gb)
{
	return gb && ends_other_closed(&gb->ends);
}

uint32_t shmipc_growbuf_generation(const struct shmipc_growbuf *gb)
{
	return gb && gb->data ? gb->gen : 0;
}

uint64_t shmipc_growbuf_capacity(const struct shmipc_growbuf *gb)
{
	return gb ? gb->cap : 0;
}

static int check_role(const struct shmipc_growbuf *gb, enum shmipc_role role)
{
	return ends_role(gb ? &gb->ends : NULL, role);
}

/* Map generation @gen's bytes: *@data, *@buf, *@cap. */
static int map_gen(struct shmipc_growbuf *gb, uint32_t gen, uint64_t size,
		   struct shmipc_region **data)
{
	char name[GEN_NAME_SIZE];
	uint64_t off, cap;
	void *p;
	int ret;

	gen_name(name, gb->base, gen);
	if (size) {
		/* Create it, its name tied to our region: the reader finds
		 * it even if we die before it looks (module: until our
		 * region goes).  A writer that died growing may have left
		 * this name behind: replace it, once. */
		ret = shmipc_region_create_tied(gb->r, name, size,
						gb->r->mode & 0777,
						SHMIPC_REGION_CREATE |
							SHMIPC_REGION_EXCL,
						data);
		if (ret == -EEXIST && !shmipc_region_unlink(name))
			ret = shmipc_region_create_tied(gb->r, name, size,
							gb->r->mode & 0777,
							SHMIPC_REGION_CREATE |
							SHMIPC_REGION_EXCL,
							data);
		if (ret)
			return ret;
		cap = size - SHMIPC_REGION_HDR_SIZE;
		ret = shmipc_dir_alloc(*data, GROWBUF_OBJ, cap, 64, &off);
	} else {
		ret = shmipc_region_open(name, 0, 0, 0, data);
		if (ret)
			return ret;
		ret = shmipc_dir_find(*data, GROWBUF_OBJ, &off, &cap);
	}
	p = ret ? NULL : shmipc_region_ptr(*data, off, cap);
	if (!p) {
		shmipc_region_close(*data);
		if (size)
			shmipc_region_unlink(name);
		return ret ? ret : -EBADMSG;
	}
	drop_gen(gb, false);
	gb->data = *data;
	gb->gen = gen;
	gb->named = true;
	gb->buf = p;
	gb->cap = cap;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writer */

/* Has the reader acked everything?  1 yes, 0 not yet, -EBADMSG. */
static int try_acked(void *arg)
{
	struct shmipc_growbuf *gb = arg;
	/* Acquire: the reader's release of ack says it is done reading
	 * the buffer, so we may overwrite (or drop) it. */
	uint32_t ack = atomic_load_explicit(&gb->c->ack, memory_order_acquire);
	int ret = pending(gb->seq, ack);

	return ret < 0 ? ret : !ret;
}

int shmipc_growbuf_wait_ack(struct shmipc_growbuf *gb, uint64_t deadline_ns)
{
	int ret = check_role(gb, SHMIPC_PRODUCER);

	return ret ? ret : ends_block(&gb->ends, try_acked, gb, deadline_ns);
}

/* A new generation of at least @need bytes; the old one's name goes. */
static int grow(struct shmipc_growbuf *gb, uint64_t need)
{
	/* Relaxed: our own (or our dead predecessor's) last store. */
	uint32_t published = atomic_load_explicit(&gb->c->gen,
						  memory_order_relaxed);
	uint32_t old = gb->data ? gb->gen : 0;
	uint32_t gen = (old > published ? old : published) + 1;
	uint64_t cap = gb->cap * 2;
	struct shmipc_region *data;
	unsigned int tries;
	int ret;

	if (cap < need)
		cap = need;
	if (cap < gb->initial_cap)
		cap = gb->initial_cap;
	if (cap > gb->max_cap)
		cap = gb->max_cap;
	cap = (cap + GROWBUF_PAGE - 1) & ~(uint64_t)(GROWBUF_PAGE - 1);
	/* A name we cannot replace (another user's, left by a writer that
	 * died): the next number, a few times. */
	for (tries = 0; tries < GROW_TRIES; tries++, gen++) {
		if (!gen)
			gen = 1;
		ret = map_gen(gb, gen, SHMIPC_REGION_HDR_SIZE + cap, &data);
		if (ret != -EEXIST)
			break;
	}
	if (ret)
		return ret;
	/* The reader acked everything: neither the superseded generation
	 * nor one a predecessor published is needed any more. */
	if (old)
		unlink_gen(gb->base, old);
	if (published && published != old && published != gen)
		unlink_gen(gb->base, published);
	return 0;
}

int shmipc_growbuf_reserve(struct shmipc_growbuf *gb, uint64_t len,
			   void **ptr, uint64_t deadline_ns)
{
	int ret = check_role(gb, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	if (!ptr)
		return -EINVAL;
	if (len > gb->max_cap)
		return -EMSGSIZE;
	gb->reserved = 0;
	ret = ends_block(&gb->ends, try_acked, gb, deadline_ns);
	if (!ret && (!gb->data || gb->cap < len))
		ret = grow(gb, len);
	if (ret)
		return ret;
	gb->reserved = len + 1;
	*ptr = gb->buf;
	return 0;
}

int shmipc_growbuf_commit(struct shmipc_growbuf *gb, uint64_t len)
{
	struct growbuf_ctl *c;
	int ret = check_role(gb, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	if (!gb->reserved || len >= gb->reserved)
		return -EINVAL;
	c = gb->c;
	gb->reserved = 0;
	/* Relaxed: published by the (seq_cst) store of seq below. */
	atomic_store_explicit(&c->gen, gb->gen, memory_order_relaxed);
	atomic_store_explicit(&c->len, len, memory_order_relaxed);
	ends_publish(&gb->ends, &c->seq, ++gb->seq);
	return 0;
}

int shmipc_growbuf_write(struct shmipc_growbuf *gb, const void *data,
			 uint64_t len, uint64_t deadline_ns)
{
	void *dst;
	int ret;

	if (!data && len)
		return -EINVAL;
	ret = shmipc_growbuf_reserve(gb, len, &dst, deadline_ns);
	if (ret)
		return ret;
	if (len)
		memcpy(dst, data, len);
	return shmipc_growbuf_commit(gb, len);
}

/* ------------------------------------------------------------------ */
/* Reader */

/* Is a message waiting?  1 yes, 0 not yet, -EBADMSG. */
static int try_message(void *arg)
{
	struct shmipc_growbuf *gb = arg;
	/* Acquire: pairs with the writer's store of seq, so the message,
	 * its generation and its length written before are visible. */
	uint32_t seq = atomic_load_explicit(&gb->c->seq, memory_order_acquire);

	return pending(seq, gb->seq);
}

/*
 * Map generation @gen, which the writer published.  Missing: a writer
 * that left after a reader died removed it, a module without tied names
 * dropped it with its writer, or it never was.  The module marks the
 * writer dead a moment after its handles are gone, so wait for that, up
 * to GONE_WAIT_MS (then it is a bogus generation) or @deadline_ns.
 */
static int follow(struct shmipc_growbuf *gb, uint32_t gen,
		  uint64_t deadline_ns)
{
	uint64_t until = shmipc_deadline_in(GONE_WAIT_MS * 1000000ULL);
	struct shmipc_region *data;
	int gone, ret = gen ? map_gen(gb, gen, 0, &data) : -EBADMSG;

	if (ret == -ENOENT) {
		bool capped = until < deadline_ns;

		gone = ends_await_gone(&gb->ends, capped ? until : deadline_ns);
		if (gone != -ETIMEDOUT)
			return gone;	/* -EOWNERDEAD, -EPIPE, -EBADMSG */
		return capped ? -EBADMSG : -ETIMEDOUT;
	}
	if (ret)
		return ret;
	gone = ends_other_gone(&gb->ends);
	/* Relaxed: for tools only. */
	atomic_store_explicit(&gb->c->reader_gen, gen, memory_order_relaxed);
	/* The writer left: nobody creates or removes names but us now; a
	 * new writer would start a new generation. */
	if (gone)
		unname_gen(gb);
	return 0;
}

/*
 * The writer left and everything it published was acked (ends_block()
 * hands out what was published first): nobody needs its last
 * generation's name, and nobody else removes it (a successor writer
 * starts the next generation).  That is the one we map, or, if we map
 * none (we took the reader's role after everything was read), @last: the
 * generation published before we learnt the writer left.
 */
static void writer_left(struct shmipc_growbuf *gb, uint32_t last)
{
	if (gb->data) {
		unname_gen(gb);
	} else if (last && last != gb->forgotten) {
		unlink_gen(gb->base, last);
		gb->forgotten = last;
	}
}

int shmipc_growbuf_read(struct shmipc_growbuf *gb, const void **ptr,
			uint64_t *len, uint64_t deadline_ns)
{
	uint64_t n;
	uint32_t gen;
	int ret = check_role(gb, SHMIPC_CONSUMER);

	if (ret)
		return ret;
	if (!ptr || !len)
		return -EINVAL;
	if (!gb->holding) {
		/* Relaxed: read before we learn the writer left, so it is
		 * that writer's last generation, or one it never published
		 * in (a successor replaces that too), never a successor's. */
		uint32_t last = gb->data ? 0 :
			atomic_load_explicit(&gb->c->gen, memory_order_relaxed);

		ret = ends_block(&gb->ends, try_message, gb, deadline_ns);
		if (ret == -EOWNERDEAD || ret == -EPIPE)
			writer_left(gb, last);
		if (ret)
			return ret;
		/* Relaxed: ordered by the acquire of seq in try_message. */
		gen = atomic_load_explicit(&gb->c->gen, memory_order_relaxed);
		n = atomic_load_explicit(&gb->c->len, memory_order_relaxed);
		if (!gb->data || gen != gb->gen) {
			ret = follow(gb, gen, deadline_ns);
			if (ret)
				return ret;
		}
		if (n > gb->cap)
			return -EBADMSG;
		gb->holding = true;
		gb->hold_len = n;
	}
	*ptr = gb->buf;
	*len = gb->hold_len;
	return 0;
}

int shmipc_growbuf_ack(struct shmipc_growbuf *gb)
{
	int ret = check_role(gb, SHMIPC_CONSUMER);

	if (ret)
		return ret;
	if (!gb->holding)
		return -EINVAL;
	gb->holding = false;
	ends_publish(&gb->ends, &gb->c->ack, ++gb->seq);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Serialization hook */

int shmipc_growbuf_write_obj(struct shmipc_growbuf *gb,
			     const struct shmipc_serializer *ser,
			     const void *obj, uint64_t deadline_ns)
{
	uint64_t len;
	void *dst;
	int ret;

	if (!ser || !ser->size || !ser->write)
		return -EINVAL;
	len = ser->size(obj, ser->ctx);
	ret = shmipc_growbuf_reserve(gb, len, &dst, deadline_ns);
	if (ret)
		return ret;
	ret = ser->write(obj, dst, len, ser->ctx);
	if (ret) {
		gb->reserved = 0;
		return ret < 0 ? ret : -EINVAL;
	}
	return shmipc_growbuf_commit(gb, len);
}

int shmipc_growbuf_read_obj(struct shmipc_growbuf *gb,
			    const struct shmipc_serializer *ser, void *obj,
			    uint64_t deadline_ns)
{
	const void *src;
	uint64_t len;
	int ret, ack;

	if (!ser || !ser->read)
		return -EINVAL;
	ret = shmipc_growbuf_read(gb, &src, &len, deadline_ns);
	if (ret)
		return ret;
	ret = ser->read(obj, src, len, ser->ctx);
	ack = shmipc_growbuf_ack(gb);
	if (ret)
		return ret < 0 ? ret : -EINVAL;
	return ack;
}

/* ------------------------------------------------------------------ */
/* Cleanup */

int shmipc_growbuf_unlink(struct shmipc_region *r, const char *key)
{
	char base[SHMIPC_NAME_LEN_MAX + 1];
	struct growbuf_ctl *c;
	uint32_t gen, first, g, i;
	int ret, err;

	ret = ctl_find(r, key, SHMIPC_PRODUCER, &c);
	if (!ret)
		ret = base_name(r, key, base);
	if (ret)
		return ret;
	ret = -ENOENT;
	/* Relaxed: any value is a name to try. */
	gen = atomic_load_explicit(&c->gen, memory_order_relaxed);
	/* grow() skips at most GROW_TRIES - 1 numbers either side. */
	first = gen > GROW_TRIES ? gen - GROW_TRIES : 1;
	for (g = first, i = 0; i <= 2 * GROW_TRIES; g++, i++) {
		if (!g)
			continue;
		err = unlink_gen(base, g);
		if (!err)
			ret = 0;
		else if (err != -ENOENT && err != -EPERM && err != -EACCES &&
			 ret == -ENOENT)
			ret = err;	/* another user's name just stays */
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Introspection (only reads: the mapping may be read-only) */

int shmipc_growbuf_describe(struct shmipc_region *r, uint64_t off,
			    uint64_t size, struct shmipc_object_stat *st)
{
	struct growbuf_ctl *c = shmipc_region_ptr(r, off, sizeof(*c));
	char wr[40], rd[40];
	uint32_t seq, ack;
	int waiting;

	if (!c || size < sizeof(*c) ||
	    atomic_load_explicit(&c->magic, memory_order_acquire) !=
	    GROWBUF_MAGIC)
		return 0;
	/* Acquire: the generation and length stored before seq. */
	seq = atomic_load_explicit(&c->seq, memory_order_acquire);
	ack = atomic_load_explicit(&c->ack, memory_order_acquire);
	waiting = pending(seq, ack);
	if (c->version != SHMIPC_LIB_VERSION || c->hdr_size != sizeof(*c) ||
	    !caps_ok(c->initial_cap, c->max_cap) || waiting < 0) {
		st->flags |= SHMIPC_OBJECT_CORRUPT;
		return 1;
	}
	/* Relaxed: a snapshot for display. */
	snprintf(st->detail, sizeof(st->detail),
		 "gen %u, last %llu of max %llu B, %s; writer: %s, reader: %s",
		 atomic_load_explicit(&c->gen, memory_order_relaxed),
		 (unsigned long long)atomic_load_explicit(
			 &c->len, memory_order_relaxed),
		 (unsigned long long)c->max_cap,
		 waiting ? "unread" : "read",
		 ends_end_name(r, &c->ends.prod, wr, sizeof(wr)),
		 ends_end_name(r, &c->ends.cons, rd, sizeof(rd)));
	return 1;
}
