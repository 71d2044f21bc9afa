// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SPSC channel: a bounded ring of fixed-size slots, one producer and one
 * consumer (in any processes), inside a region.
 *
 * Shared layout (struct spsc_hdr, then the slot array at slots_off):
 *   line 0  config, written once by the creator (magic last, release)
 *   line 1  head: next slot to fill; written only by the producer
 *   line 2  tail: next slot to read; written only by the consumer
 *   line 3  sleep words, line 4 the two ends (struct ends_shared,
 *           ends.h): waiter flags and sequence words, then (peer id,
 *           state) of each end
 * Cursors are free-running 32-bit counters; capacity is a power of two,
 * so head - tail (mod 2^32) is the fill level and must be <= capacity:
 * anything else is a corrupt cursor (-EBADMSG).
 *
 * Each side keeps its own cursor privately (the shared copy is only ever
 * written by it) and caches the other's; the config is validated once
 * at open and kept in the handle, so a peer that scribbles on the header
 * later can only produce bad cursors, which are checked on every load.
 *
 * Roles, takeover, sleeping and waking live in ends.c (shared with the
 * other one-to-one structures): a blocked side sets a waiter flag, and
 * the other side makes a wake syscall only when the flag is set.
 */
#include "ends.h"
#include "spsc.h"
#include "introspect_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPSC_MAGIC	0x43505353U	/* "SSPC" */

struct spsc_hdr {
	/* line 0: config */
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t msg_size;
	uint32_t stride;
	uint32_t capacity;
	uint64_t slots_off;	/* from the region base */
	uint8_t pad0[64 - 32];
	/* line 1: producer */
	_Atomic uint32_t head;
	uint8_t pad1[64 - 4];
	/* line 2: consumer */
	_Atomic uint32_t tail;
	uint8_t pad2[64 - 4];
	/* lines 3-4: sleep words and the two ends */
	struct ends_shared ends;
};

_Static_assert(sizeof(struct spsc_hdr) == 5 * 64, "spsc header layout");
_Static_assert(offsetof(struct spsc_hdr, head) == 64, "head line");
_Static_assert(offsetof(struct spsc_hdr, tail) == 128, "tail line");

struct shmipc_spsc {
	struct shmipc_region *r;
	struct spsc_hdr *h;
	char *slots;
	struct ends ends;
	uint32_t msg_size, stride, cap, mask;
	enum shmipc_role role;
	uint32_t pos;		/* our cursor (head or tail), authoritative */
	uint32_t other_cache;	/* last seen cursor of the other side */
	uint32_t pending;	/* reserved / peeked, not yet committed */
};

/* ------------------------------------------------------------------ */
/* Create / open / close */

static bool spsc_args_ok(uint32_t slot_size, uint32_t capacity)
{
	return slot_size && slot_size <= SHMIPC_SPSC_SLOT_MAX &&
	       capacity >= 2 && capacity <= SHMIPC_SPSC_CAPACITY_MAX &&
	       !(capacity & (capacity - 1));
}

uint64_t spsc_bytes(uint32_t slot_size, uint32_t capacity)
{
	return sizeof(struct spsc_hdr) +
	       (uint64_t)shmipc_round8(slot_size) * capacity;
}

int spsc_init_at(struct shmipc_region *r, uint64_t off, uint32_t slot_size,
		 uint32_t capacity, const void *msgs, uint32_t n)
{
	struct spsc_hdr *h;
	uint32_t i;

	if (!spsc_args_ok(slot_size, capacity) || n > capacity)
		return -EINVAL;
	h = shmipc_region_ptr(r, off, spsc_bytes(slot_size, capacity));
	if (!h)
		return -EBADMSG;
	h->version = SHMIPC_LIB_VERSION;
	h->hdr_size = sizeof(*h);
	h->msg_size = slot_size;
	h->stride = shmipc_round8(slot_size);
	h->capacity = capacity;
	h->slots_off = off + sizeof(*h);
	for (i = 0; i < n; i++)
		memcpy((char *)(h + 1) + (size_t)i * h->stride,
		       (const char *)msgs + (size_t)i * slot_size, slot_size);
	/* Relaxed: published by the release store of the magic. */
	atomic_store_explicit(&h->head, n, memory_order_relaxed);
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&h->magic, SPSC_MAGIC, memory_order_release);
	return 0;
}

int shmipc_spsc_create(struct shmipc_region *r, const char *key,
		       uint32_t slot_size, uint32_t capacity)
{
	uint64_t off;
	int ret;

	if (!r || !spsc_args_ok(slot_size, capacity))
		return -EINVAL;
	ret = shmipc_dir_alloc(r, key, spsc_bytes(slot_size, capacity), 64,
			       &off);
	if (ret)
		return ret;
	return spsc_init_at(r, off, slot_size, capacity, NULL, 0);
}

/* Check the ring header of the object at @off (@size bytes). */
static int spsc_check(struct shmipc_spsc *ch, uint64_t off, uint64_t size)
{
	struct spsc_hdr *h = ch->h;
	uint32_t msg, stride, cap;
	uint64_t slots_off;
	int ret;

	ret = shmipc_await_header(&h->magic, &h->version, SPSC_MAGIC);
	if (ret)
		return ret;
	msg = h->msg_size;
	stride = h->stride;
	cap = h->capacity;
	slots_off = h->slots_off;
	if (h->hdr_size != sizeof(*h) || !spsc_args_ok(msg, cap) ||
	    stride != shmipc_round8(msg) || slots_off != off + sizeof(*h) ||
	    size - sizeof(*h) < (uint64_t)stride * cap ||
	    !shmipc_in_region(ch->r, slots_off, (uint64_t)stride * cap))
		return -EBADMSG;
	ch->msg_size = msg;
	ch->stride = stride;
	ch->cap = cap;
	ch->mask = cap - 1;
	ch->slots = (char *)shmipc_region_base(ch->r) + slots_off;
	return 0;
}

int spsc_open_at(struct shmipc_region *r, uint64_t off, uint64_t size,
		 enum shmipc_role role, struct shmipc_spsc **out)
{
	struct shmipc_spsc *ch;
	uint32_t head, tail;
	int ret;

	*out = NULL;
	if (size < sizeof(struct spsc_hdr))
		return -EBADMSG;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->r = r;
	ch->role = role;
	ch->h = shmipc_region_ptr(r, off, sizeof(struct spsc_hdr));
	ret = ch->h ? spsc_check(ch, off, size) : -EBADMSG;
	if (!ret)
		ret = ends_take(&ch->ends, r, &ch->h->ends, role);
	if (ret) {
		free(ch);
		return ret;
	}
	/* Acquire both: we continue from where the previous holder of our
	 * role stopped, and see what the other side published. */
	head = atomic_load_explicit(&ch->h->head, memory_order_acquire);
	tail = atomic_load_explicit(&ch->h->tail, memory_order_acquire);
	if ((uint32_t)(head - tail) > ch->cap) {
		shmipc_spsc_close(ch);
		return -EBADMSG;
	}
	ch->pos = role == SHMIPC_PRODUCER ? head : tail;
	ch->other_cache = role == SHMIPC_PRODUCER ? tail : head;
	*out = ch;
	return 0;
}

int shmipc_spsc_open(struct shmipc_region *r, const char *key,
		     enum shmipc_role role, struct shmipc_spsc **out)
{
	uint64_t off, size;
	int ret = ENDS_FIND(r, key, role, out, sizeof(struct spsc_hdr), &off,
			    &size);

	return ret ? ret : spsc_open_at(r, off, size, role, out);
}

int shmipc_spsc_close(struct shmipc_spsc *ch)
{
	if (!ch)
		return 0;
	ends_leave(&ch->ends);
	free(ch);
	return 0;
}

uint32_t shmipc_spsc_slot_size(const struct shmipc_spsc *ch)
{
	return ch ? ch->msg_size : 0;
}

uint32_t shmipc_spsc_capacity(const struct shmipc_spsc *ch)
{
	return ch ? ch->cap : 0;
}

/* ------------------------------------------------------------------ */
/* Non-blocking paths */

/* Producer: free slots, reloading the tail if fewer than @want. */
static int prod_free(struct shmipc_spsc *ch, uint32_t want, uint32_t *free)
{
	uint32_t f = ch->cap - (ch->pos - ch->other_cache);

	if (f < want) {
		/* Acquire: the consumer's release of tail says it is done
		 * reading those slots, so we may overwrite them. */
		uint32_t t = atomic_load_explicit(&ch->h->tail,
						  memory_order_acquire);

		if ((uint32_t)(ch->pos - t) > ch->cap)
			return -EBADMSG;
		ch->other_cache = t;
		f = ch->cap - (ch->pos - t);
	}
	*free = f;
	return 0;
}

/* Consumer: messages available, reloading the head if fewer than @want. */
static int cons_avail(struct shmipc_spsc *ch, uint32_t want, uint32_t *avail)
{
	uint32_t a = ch->other_cache - ch->pos;

	if (a < want) {
		/* Acquire: pairs with the producer's store of head, so the
		 * slot contents written before it are visible. */
		uint32_t hd = atomic_load_explicit(&ch->h->head,
						   memory_order_acquire);

		if ((uint32_t)(hd - ch->pos) > ch->cap)
			return -EBADMSG;
		ch->other_cache = hd;
		a = hd - ch->pos;
	}
	*avail = a;
	return 0;
}

static void publish(struct shmipc_spsc *ch, uint32_t k)
{
	shmipc_test_kill_point(SHMIPC_KP_SPSC_COPIED);
	ch->pos += k;
	ch->pending = 0;
	ends_publish(&ch->ends, ch->role == SHMIPC_PRODUCER ? &ch->h->head :
							      &ch->h->tail,
		     ch->pos);
	shmipc_test_kill_point(SHMIPC_KP_SPSC_PUBLISHED);
}

static int send_n(struct shmipc_spsc *ch, const void *msgs, unsigned int n,
		  unsigned int *free_space, bool all)
{
	const char *src = msgs;
	uint32_t f, k, i;
	int ret;

	if (!ch || (!msgs && n))
		return -EINVAL;
	if (ch->role != SHMIPC_PRODUCER)
		return -EPERM;
	if (all && n > ch->cap)
		return -EINVAL;
	ret = prod_free(ch, n, &f);
	if (ret)
		return ret;
	k = n < f ? n : f;
	if (all && k < n)
		k = 0;
	for (i = 0; i < k; i++)
		memcpy(ch->slots + (size_t)((ch->pos + i) & ch->mask) *
				   ch->stride,
		       src + (size_t)i * ch->msg_size, ch->msg_size);
	if (k)
		publish(ch, k);
	if (free_space)
		*free_space = f - k;
	if (all && k == 0 && n)
		return -EAGAIN;
	return (int)k;
}

static int recv_n(struct shmipc_spsc *ch, void *msgs, unsigned int n,
		  unsigned int *avail, bool all)
{
	char *dst = msgs;
	uint32_t a, k, i;
	int ret;

	if (!ch || (!msgs && n))
		return -EINVAL;
	if (ch->role != SHMIPC_CONSUMER)
		return -EPERM;
	if (all && n > ch->cap)
		return -EINVAL;
	ret = cons_avail(ch, n, &a);
	if (ret)
		return ret;
	k = n < a ? n : a;
	if (all && k < n)
		k = 0;
	for (i = 0; i < k; i++)
		memcpy(dst + (size_t)i * ch->msg_size,
		       ch->slots + (size_t)((ch->pos + i) & ch->mask) *
				   ch->stride,
		       ch->msg_size);
	if (k)
		publish(ch, k);
	if (avail)
		*avail = a - k;
	if (all && k == 0 && n)
		return -EAGAIN;
	return (int)k;
}

int shmipc_spsc_send_burst(struct shmipc_spsc *ch, const void *msgs,
			   unsigned int n, unsigned int *free_space)
{
	return send_n(ch, msgs, n, free_space, false);
}

int shmipc_spsc_send_bulk(struct shmipc_spsc *ch, const void *msgs,
			  unsigned int n, unsigned int *free_space)
{
	return send_n(ch, msgs, n, free_space, true);
}

int shmipc_spsc_recv_burst(struct shmipc_spsc *ch, void *msgs,
			   unsigned int n, unsigned int *avail)
{
	return recv_n(ch, msgs, n, avail, false);
}

int shmipc_spsc_recv_bulk(struct shmipc_spsc *ch, void *msgs,
			  unsigned int n, unsigned int *avail)
{
	return recv_n(ch, msgs, n, avail, true);
}

int shmipc_spsc_try_send(struct shmipc_spsc *ch, const void *msg)
{
	int ret = send_n(ch, msg, 1, NULL, false);

	return ret == 1 ? 0 : ret == 0 ? -EAGAIN : ret;
}

int shmipc_spsc_try_recv(struct shmipc_spsc *ch, void *msg)
{
	int ret = recv_n(ch, msg, 1, NULL, false);

	return ret == 1 ? 0 : ret == 0 ? -EAGAIN : ret;
}

/* Contiguous run of up to @n slots from our cursor, given @have. */
static uint32_t run_len(const struct shmipc_spsc *ch, uint32_t n,
			uint32_t have)
{
	uint32_t to_end = ch->cap - (ch->pos & ch->mask);
	uint32_t k = n < have ? n : have;

	return k < to_end ? k : to_end;
}

/*
 * Lend the caller the next contiguous run of up to @n slots that @role
 * may touch (reserve: free slots; peek: full ones), found by @have.
 */
static int spsc_lend(struct shmipc_spsc *ch, enum shmipc_role role,
		     unsigned int n, void **slots,
		     int (*have)(struct shmipc_spsc *, uint32_t, uint32_t *))
{
	uint32_t k;
	int ret;

	if (!ch || !slots)
		return -EINVAL;
	if (ch->role != role)
		return -EPERM;
	ret = have(ch, n, &k);
	if (ret)
		return ret;
	ch->pending = run_len(ch, n, k);
	*slots = ch->slots + (size_t)(ch->pos & ch->mask) * ch->stride;
	return (int)ch->pending;
}

/* Hand back @k of the lent slots, publishing them (commit / release). */
static int spsc_give_back(struct shmipc_spsc *ch, enum shmipc_role role,
			  unsigned int k)
{
	if (!ch || ch->role != role)
		return ch ? -EPERM : -EINVAL;
	if (k > ch->pending)
		return -EINVAL;
	if (k)
		publish(ch, k);
	ch->pending = 0;
	return 0;
}

int shmipc_spsc_reserve(struct shmipc_spsc *ch, unsigned int n, void **slots)
{
	return spsc_lend(ch, SHMIPC_PRODUCER, n, slots, prod_free);
}

int shmipc_spsc_commit(struct shmipc_spsc *ch, unsigned int k)
{
	return spsc_give_back(ch, SHMIPC_PRODUCER, k);
}

int shmipc_spsc_peek(struct shmipc_spsc *ch, unsigned int n,
		     const void **slots)
{
	void *p;
	int ret = spsc_lend(ch, SHMIPC_CONSUMER, n, slots ? &p : NULL,
			    cons_avail);

	if (ret >= 0)
		*slots = p;
	return ret;
}

int shmipc_spsc_release(struct shmipc_spsc *ch, unsigned int k)
{
	return spsc_give_back(ch, SHMIPC_CONSUMER, k);
}

/* ------------------------------------------------------------------ */
/* Blocking paths */

struct one_msg {
	struct shmipc_spsc *ch;
	void *msg;
};

/* Send or receive one message; 1 if done, 0 if it would block, -errno. */
static int try_one(void *arg)
{
	struct one_msg *m = arg;
	int ret = m->ch->role == SHMIPC_PRODUCER ?
			  shmipc_spsc_try_send(m->ch, m->msg) :
			  shmipc_spsc_try_recv(m->ch, m->msg);

	return ret == 0 ? 1 : ret == -EAGAIN ? 0 : ret;
}

static int block(struct shmipc_spsc *ch, void *msg, uint64_t deadline_ns)
{
	struct one_msg m = { ch, msg };

	return ends_block(&ch->ends, try_one, &m, deadline_ns);
}

struct room {
	struct shmipc_spsc *ch;
	uint32_t n;
};

/* Are there @n free slots (producer) / messages (consumer)? */
static int try_room(void *arg)
{
	struct room *w = arg;
	uint32_t have;
	int ret = w->ch->role == SHMIPC_PRODUCER ?
			  prod_free(w->ch, w->n, &have) :
			  cons_avail(w->ch, w->n, &have);

	return ret < 0 ? ret : have >= w->n;
}

int spsc_wait(struct shmipc_spsc *ch, uint32_t n, uint64_t deadline_ns)
{
	struct room w = { ch, n };

	if (n > ch->cap)
		return -EINVAL;
	return ends_block(&ch->ends, try_room, &w, deadline_ns);
}

uint32_t spsc_pos(const struct shmipc_spsc *ch)
{
	return ch->pos;
}

int shmipc_spsc_send(struct shmipc_spsc *ch, const void *msg,
		     uint64_t deadline_ns)
{
	if (!ch || !msg)
		return -EINVAL;
	if (ch->role != SHMIPC_PRODUCER)
		return -EPERM;
	return block(ch, (void *)msg, deadline_ns);
}

int shmipc_spsc_recv(struct shmipc_spsc *ch, void *msg, uint64_t deadline_ns)
{
	if (!ch || !msg)
		return -EINVAL;
	if (ch->role != SHMIPC_CONSUMER)
		return -EPERM;
	return block(ch, msg, deadline_ns);
}

/* ------------------------------------------------------------------ */
/* Introspection (only reads: the mapping may be read-only) */

int shmipc_spsc_describe(struct shmipc_region *r, uint64_t off, uint64_t size,
			 struct shmipc_object_stat *st)
{
	struct shmipc_spsc ch = { .r = r };
	char prod[40], cons[40];

	ch.h = shmipc_region_ptr(r, off, sizeof(*ch.h));
	if (!ch.h || size < sizeof(*ch.h) ||
	    atomic_load_explicit(&ch.h->magic, memory_order_acquire) !=
	    SPSC_MAGIC)
		return 0;
	if (spsc_check(&ch, off, size)) {
		st->flags |= SHMIPC_OBJECT_CORRUPT;
		return 1;
	}
	shmipc_inspect_fill(st, &ch.h->head, &ch.h->tail, ch.cap, ch.msg_size);
	snprintf(st->detail, sizeof(st->detail), "producer: %s, consumer: %s",
		 ends_end_name(r, &ch.h->ends.prod, prod, sizeof(prod)),
		 ends_end_name(r, &ch.h->ends.cons, cons, sizeof(cons)));
	return 1;
}
