// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Variable-size SPSC ring: one producer and one consumer exchange
 * messages of any length up to half the ring, as length-prefixed records
 * in a byte ring inside a region.
 *
 * Shared layout (struct vring_hdr, then the byte array at data_off):
 *   line 0     config, written once by the creator (magic last, release)
 *   line 1     head: byte position of the next record; producer only
 *   line 2     tail: byte position of the oldest record; consumer only
 *   lines 3-4  sleep words and the two ends (struct ends_shared)
 * Positions are free-running 32-bit byte counters, multiples of 8; the
 * capacity is a power of two, so head - tail (mod 2^32) is the fill level
 * and must be <= capacity.
 *
 * A record is an 8-byte header (length, kind) and the message padded to
 * a multiple of 8.  A record never wraps: when it does not fit before the
 * end of the array, the producer writes a PAD record that fills the rest
 * of the array (its length says how much) and puts the message at offset
 * 0; both are published by one store of head.  Limiting a record to half
 * the array makes every message fit once the ring has drained, wherever
 * the cursors stand.
 *
 * Untrusted input: the config is validated at open and kept in the
 * handle; the consumer checks every record header it reads (kind, a
 * length within the published bytes and the array's end, a pad that
 * fills exactly the rest of the array) and each side checks the other's
 * cursor on every load: anything else is -EBADMSG.  Header fields are
 * copied once before they are checked, so a peer rewriting them
 * meanwhile cannot make us read out of bounds.
 *
 * Roles, takeover, sleeping and waking are those of the SPSC channel
 * (ends.c).
 */
#include "ends.h"

#include <stdlib.h>
#include <string.h>

#define VRING_MAGIC	0x474e5256U	/* "VRNG" */
#define VREC_MSG	0x2147534dU	/* "MSG!" */
#define VREC_PAD	0x21444150U	/* "PAD!" */
#define VREC_HDR	8U

struct vring_hdr {
	/* line 0: config */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t capacity;	/* bytes, a power of two */
	uint64_t data_off;	/* from the region base */
	uint8_t pad0[64 - 24];
	/* line 1: producer */
	_Atomic uint32_t head;
	uint8_t pad1[64 - 4];
	/* line 2: consumer */
	_Atomic uint32_t tail;
	uint8_t pad2[64 - 4];
	/* lines 3-4 */
	struct ends_shared ends;
};

_Static_assert(sizeof(struct vring_hdr) == 5 * 64, "vring header layout");

struct vrec {
	uint32_t len;		/* message bytes (PAD: bytes after the header) */
	uint32_t kind;		/* VREC_MSG or VREC_PAD */
};

struct shmipc_vring {
	struct shmipc_region *r;
	struct vring_hdr *h;
	unsigned char *data;
	struct ends ends;
	uint32_t cap, mask, max_msg;
	uint32_t pos;		/* our cursor (head or tail), authoritative */
	uint32_t other_cache;	/* last seen cursor of the other side */
	uint32_t pending;	/* peeked: bytes to release */
	uint32_t res_pad;	/* reserved: pad bytes before the record */
	uint32_t res_max;	/* reserved: largest commit + 1 (0: none) */
};

static bool vring_cap_ok(uint32_t cap)
{
	return cap >= SHMIPC_VRING_CAPACITY_MIN &&
	       cap <= SHMIPC_VRING_CAPACITY_MAX && !(cap & (cap - 1));
}

/* Bytes of the record of a @len-byte message (@len <= max_msg). */
static uint32_t rec_size(uint32_t len)
{
	return VREC_HDR + shmipc_round8(len);
}

/* ------------------------------------------------------------------ */
/* Create / open / close */

int shmipc_vring_create(struct shmipc_region *r, const char *key,
			uint32_t capacity)
{
	struct vring_hdr *h;
	uint64_t off;
	int ret;

	if (!r || !vring_cap_ok(capacity))
		return -EINVAL;
	h = shmipc_dir_new(r, key, sizeof(*h) + (uint64_t)capacity, 64, &off,
			   &ret);
	if (!h)
		return ret;
	h->version = SHMIPC_LIB_VERSION;
	h->hdr_size = sizeof(*h);
	h->capacity = capacity;
	h->data_off = off + sizeof(*h);
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&h->magic, VRING_MAGIC, memory_order_release);
	return 0;
}

/* Check the header of the object at @off (@size bytes). */
static int vring_check(struct shmipc_vring *v, uint64_t off, uint64_t size)
{
	struct vring_hdr *h = v->h;
	uint64_t data_off;
	uint32_t cap;
	int ret;

	ret = shmipc_await_header(&h->magic, &h->version, VRING_MAGIC);
	if (ret)
		return ret;
	cap = h->capacity;
	data_off = h->data_off;
	if (h->hdr_size != sizeof(*h) || !vring_cap_ok(cap) ||
	    data_off != off + sizeof(*h) || size - sizeof(*h) < cap ||
	    !shmipc_in_region(v->r, data_off, cap))
		return -EBADMSG;
	v->cap = cap;
	v->mask = cap - 1;
	v->max_msg = cap / 2 - VREC_HDR;
	v->data = (unsigned char *)shmipc_region_base(v->r) + data_off;
	return 0;
}

/* Is @pos, @dist bytes from the other cursor, a plausible cursor? */
static bool cursor_ok(const struct shmipc_vring *v, uint32_t dist,
		      uint32_t pos)
{
	return dist <= v->cap && !(pos & (VREC_HDR - 1));
}

int shmipc_vring_open(struct shmipc_region *r, const char *key,
		      enum shmipc_role role, struct shmipc_vring **out)
{
	struct shmipc_vring *v;
	uint64_t off, size;
	uint32_t head, tail;
	int ret;

	ret = ENDS_FIND(r, key, role, out, sizeof(struct vring_hdr), &off,
			&size);
	if (ret)
		return ret;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->r = r;
	v->h = shmipc_region_ptr(r, off, sizeof(struct vring_hdr));
	ret = v->h ? vring_check(v, off, size) : -EBADMSG;
	if (!ret)
		ret = ends_take(&v->ends, r, &v->h->ends, role);
	if (ret) {
		free(v);
		return ret;
	}
	/* Acquire both: we continue from where the previous holder of our
	 * role stopped, and see what the other side published. */
	head = atomic_load_explicit(&v->h->head, memory_order_acquire);
	tail = atomic_load_explicit(&v->h->tail, memory_order_acquire);
	if (!cursor_ok(v, head - tail, head) || (tail & (VREC_HDR - 1))) {
		shmipc_vring_close(v);
		return -EBADMSG;
	}
	v->pos = role == SHMIPC_PRODUCER ? head : tail;
	v->other_cache = role == SHMIPC_PRODUCER ? tail : head;
	*out = v;
	return 0;
}

int shmipc_vring_close(struct shmipc_vring *v)
{
	if (!v)
		return 0;
	ends_leave(&v->ends);
	free(v);
	return 0;
}

static int check_role(const struct shmipc_vring *v, enum shmipc_role role)
{
	return ends_role(v ? &v->ends : NULL, role);
}

/* Both from the config validated at open: a peer scribbling on the
 * header later cannot change what we use. */
uint32_t shmipc_vring_capacity(const struct shmipc_vring *v)
{
	return v ? v->cap : 0;
}

uint32_t shmipc_vring_max_msg(const struct shmipc_vring *v)
{
	return v ? v->max_msg : 0;
}

static void publish(struct shmipc_vring *v, uint32_t bytes)
{
	v->pos += bytes;
	v->pending = 0;
	v->res_max = 0;
	ends_publish(&v->ends, v->ends.role == SHMIPC_PRODUCER ? &v->h->head :
								 &v->h->tail,
		     v->pos);
}

/* ------------------------------------------------------------------ */
/* Producer */

/*
 * Place a record of @rec bytes at our cursor: *@pad receives the bytes a
 * PAD record must fill first (0 when it fits before the array's end).
 * 1 when there is room, 0 when not yet, -EBADMSG for a corrupt tail.
 */
static int prod_place(struct shmipc_vring *v, uint32_t rec, uint32_t *pad)
{
	uint32_t to_end = v->cap - (v->pos & v->mask);
	uint32_t need, t;

	*pad = rec <= to_end ? 0 : to_end;
	need = *pad + rec;
	if (v->cap - (v->pos - v->other_cache) >= need)
		return 1;
	/* Acquire: the consumer's release of tail says it is done reading
	 * those bytes, so we may overwrite them. */
	t = atomic_load_explicit(&v->h->tail, memory_order_acquire);
	if (!cursor_ok(v, v->pos - t, t))
		return -EBADMSG;
	v->other_cache = t;
	return v->cap - (v->pos - t) >= need;
}

/* Reserve room for a @len-byte message: the pad is written, not published. */
static int prod_reserve(struct shmipc_vring *v, size_t len, void **ptr)
{
	struct vrec pad_rec;
	uint32_t pad;
	int ret;

	if (len > v->max_msg)
		return -EMSGSIZE;
	ret = prod_place(v, rec_size((uint32_t)len), &pad);
	if (ret <= 0)
		return ret ? ret : -EAGAIN;
	if (pad) {
		pad_rec.len = pad - VREC_HDR;
		pad_rec.kind = VREC_PAD;
		memcpy(v->data + (v->pos & v->mask), &pad_rec, sizeof(pad_rec));
	}
	v->res_pad = pad;
	v->res_max = (uint32_t)len + 1;
	*ptr = v->data + ((v->pos + pad) & v->mask) + VREC_HDR;
	return 0;
}

static void prod_commit(struct shmipc_vring *v, uint32_t len)
{
	struct vrec rec = { len, VREC_MSG };

	memcpy(v->data + ((v->pos + v->res_pad) & v->mask), &rec, sizeof(rec));
	publish(v, v->res_pad + rec_size(len));
}

int shmipc_vring_try_send(struct shmipc_vring *v, const void *msg, size_t len)
{
	void *dst;
	int ret = check_role(v, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	if (!msg && len)
		return -EINVAL;
	ret = prod_reserve(v, len, &dst);
	if (ret)
		return ret;
	if (len)
		memcpy(dst, msg, len);
	prod_commit(v, (uint32_t)len);
	return 0;
}

int shmipc_vring_reserve(struct shmipc_vring *v, size_t len, void **ptr)
{
	int ret = check_role(v, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	if (!ptr)
		return -EINVAL;
	v->res_max = 0;
	return prod_reserve(v, len, ptr);
}

int shmipc_vring_commit(struct shmipc_vring *v, size_t len)
{
	int ret = check_role(v, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	if (!v->res_max || len >= v->res_max)
		return -EINVAL;
	prod_commit(v, (uint32_t)len);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Consumer */

/*
 * Find the oldest message: *@skip receives the pad bytes before its
 * record, *@at its record's offset in the array, *@len its length.
 * 1 if there is one, 0 if the ring is empty, -EBADMSG if corrupt.
 */
static int cons_next(struct shmipc_vring *v, uint32_t *skip, uint32_t *at,
		     uint32_t *len)
{
	uint32_t avail = v->other_cache - v->pos;
	uint32_t off, to_end;
	struct vrec rec;

	if (!avail) {
		/* Acquire: pairs with the producer's store of head, so the
		 * records written before it are visible. */
		uint32_t hd = atomic_load_explicit(&v->h->head,
						   memory_order_acquire);

		if (!cursor_ok(v, hd - v->pos, hd))
			return -EBADMSG;
		v->other_cache = hd;
		avail = hd - v->pos;
		if (!avail)
			return 0;
	}
	/* Records are published whole: [pos, cached head) holds only
	 * complete ones, so a record beyond it is corrupt. */
	off = v->pos & v->mask;
	to_end = v->cap - off;
	*skip = 0;
	memcpy(&rec, v->data + off, sizeof(rec));
	if (rec.kind == VREC_PAD) {
		/* A pad fills the rest of the array and is published with
		 * the record after it. */
		if (rec.len != to_end - VREC_HDR || avail < to_end + VREC_HDR)
			return -EBADMSG;
		*skip = to_end;
		avail -= to_end;
		off = 0;
		to_end = v->cap;
		memcpy(&rec, v->data, sizeof(rec));
	}
	if (rec.kind != VREC_MSG || rec.len > v->max_msg ||
	    rec_size(rec.len) > avail || rec_size(rec.len) > to_end)
		return -EBADMSG;
	*at = off;
	*len = rec.len;
	return 1;
}

int shmipc_vring_try_recv(struct shmipc_vring *v, void *buf, size_t size,
			  size_t *len)
{
	uint32_t skip, at, n;
	int ret = check_role(v, SHMIPC_CONSUMER);

	if (ret)
		return ret;
	if ((!buf && size) || !len)
		return -EINVAL;
	ret = cons_next(v, &skip, &at, &n);
	if (ret <= 0)
		return ret ? ret : -EAGAIN;
	*len = n;
	if (n > size)
		return -EMSGSIZE;	/* it stays queued */
	if (n)
		memcpy(buf, v->data + at + VREC_HDR, n);
	publish(v, skip + rec_size(n));
	return 0;
}

int shmipc_vring_peek(struct shmipc_vring *v, const void **ptr, size_t *len)
{
	uint32_t skip, at, n;
	int ret = check_role(v, SHMIPC_CONSUMER);

	if (ret)
		return ret;
	if (!ptr || !len)
		return -EINVAL;
	v->pending = 0;
	ret = cons_next(v, &skip, &at, &n);
	if (ret <= 0)
		return ret ? ret : -EAGAIN;
	v->pending = skip + rec_size(n);
	*ptr = v->data + at + VREC_HDR;
	*len = n;
	return 0;
}

int shmipc_vring_release(struct shmipc_vring *v)
{
	int ret = check_role(v, SHMIPC_CONSUMER);

	if (ret)
		return ret;
	if (!v->pending)
		return -EINVAL;
	publish(v, v->pending);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Blocking */

struct vring_op {
	struct shmipc_vring *v;
	const void *msg;
	void *buf;
	size_t size;
	size_t *len;
};

/* One send or receive; 1 if done, 0 if it would block, or -errno. */
static int try_op(void *arg)
{
	struct vring_op *op = arg;
	int ret = op->v->ends.role == SHMIPC_PRODUCER ?
			  shmipc_vring_try_send(op->v, op->msg, op->size) :
			  shmipc_vring_try_recv(op->v, op->buf, op->size,
						op->len);

	return ret == 0 ? 1 : ret == -EAGAIN ? 0 : ret;
}

int shmipc_vring_send(struct shmipc_vring *v, const void *msg, size_t len,
		      uint64_t deadline_ns)
{
	struct vring_op op = { v, msg, NULL, len, NULL };
	int ret = check_role(v, SHMIPC_PRODUCER);

	if (ret)
		return ret;
	if (!msg && len)
		return -EINVAL;
	if (len > v->max_msg)
		return -EMSGSIZE;
	return ends_block(&v->ends, try_op, &op, deadline_ns);
}

int shmipc_vring_recv(struct shmipc_vring *v, void *buf, size_t size,
		      size_t *len, uint64_t deadline_ns)
{
	struct vring_op op = { v, NULL, buf, size, len };
	int ret = check_role(v, SHMIPC_CONSUMER);

	if (ret)
		return ret;
	if ((!buf && size) || !len)
		return -EINVAL;
	return ends_block(&v->ends, try_op, &op, deadline_ns);
}
