// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Introspection, common part: the inspection handle (a region mapped
 * read-only, never attached), the directory's objects recognised by
 * their magic, and the event queue; the backends do the rest
 * (introspect_module.c, introspect_portable.c).
 */
#include "introspect_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

/*
 * The object types the directory may hold, tried in turn on each
 * object's magic.  A new type adds its describe function here.
 */
static const struct object_type {
	const char *name;
	int (*describe)(struct shmipc_region *r, uint64_t off, uint64_t size,
			struct shmipc_object_stat *st);
} object_types[] = {
	{ "spsc", shmipc_spsc_describe },
	{ "mpmc", shmipc_mpmc_describe },
	{ "heap", shmipc_heap_describe },
	{ "evpool", shmipc_evpool_describe },
	{ "growbuf", shmipc_growbuf_describe },
	{ "ctl", shmipc_ctl_describe },
};

static const struct inspect_ops *inspect_ops(int *err)
{
	const struct shmipc_backend_ops *ops = shmipc_ops(err);

	if (!ops)
		return NULL;
	return ops->kind == SHMIPC_BACKEND_MODULE ?
	       &shmipc_inspect_module_ops : &shmipc_inspect_portable_ops;
}

int shmipc_list_regions(struct shmipc_region_stat *out, size_t max)
{
	int err = -ENODEV;
	const struct inspect_ops *ops = inspect_ops(&err);

	if (!ops)
		return err;
	if (!out && max)
		return -EINVAL;
	return ops->list(out, max);
}

int shmipc_region_destroy(const char *name)
{
	int err = -ENODEV;
	const struct inspect_ops *ops = inspect_ops(&err);

	if (!ops)
		return err;
	if (shmipc_check_name(name))
		return -EINVAL;
	return ops->destroy(name);
}

/* ------------------------------------------------------------------ */
/* The handle */

int shmipc_inspect_open(const char *name, struct shmipc_inspect **out)
{
	int err = -ENODEV;
	const struct inspect_ops *ops = inspect_ops(&err);
	struct shmipc_inspect *in;
	int ret;

	if (!ops)
		return err;
	if (!out || shmipc_check_name(name))
		return -EINVAL;
	*out = NULL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->ops = ops;
	in->r.ops = shmipc_ops(NULL);
	in->r.fd = -1;
	in->r.peer_slot = -1;
	in->r.base = MAP_FAILED;
	strcpy(in->r.name, name);
	ret = ops->open(in, name);
	if (ret)
		goto fail;
	in->map_err = -ENODATA;		/* empty: nothing to map */
	if (in->r.size) {
		in->r.base = mmap(NULL, in->r.size, PROT_READ, MAP_SHARED,
				  in->r.fd, 0);
		in->map_err = in->r.base == MAP_FAILED ? -errno : 0;
	}
	ret = ops->setup(in);
	if (ret)
		goto fail;
	*out = in;
	return 0;
fail:
	shmipc_inspect_close(in);
	return ret;
}

int shmipc_inspect_close(struct shmipc_inspect *in)
{
	if (!in)
		return 0;
	if (in->r.base != MAP_FAILED)
		munmap(in->r.base, in->r.size);
	if (in->r.fd >= 0)
		close(in->r.fd);
	free(in->snap);
	free(in);
	return 0;
}

int shmipc_inspect_stat(const struct shmipc_inspect *in,
			struct shmipc_region_stat *st)
{
	if (!in || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	return in->ops->stat(in, st);
}

int shmipc_inspect_peers(const struct shmipc_inspect *in,
			 struct shmipc_peer_stat *out, size_t max)
{
	if (!in || (!out && max))
		return -EINVAL;
	return in->ops->peers(in, out, max);
}

int shmipc_inspect_hdr(const struct shmipc_inspect *in)
{
	const struct rhdr *h = region_hdr(&in->r);

	if (in->r.base == MAP_FAILED)
		return in->map_err;
	if (in->r.size < SHMIPC_REGION_HDR_SIZE + 64)
		return -ENODATA;
	/* Acquire: pairs with the creator's release of the magic. */
	switch (atomic_load_explicit(&h->magic, memory_order_acquire)) {
	case 0:
		return -ENODATA;
	case RHDR_MAGIC:
		break;
	default:
		return -EBADMSG;
	}
	if (h->version != SHMIPC_LIB_VERSION)
		return -EPROTONOSUPPORT;
	if (h->hdr_size != SHMIPC_REGION_HDR_SIZE ||
	    h->dir_cap != SHMIPC_DIR_ENTRIES ||
	    h->peer_cap != SHMIPC_PEERS_MAX || h->size != in->r.size)
		return -EBADMSG;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Objects */

void shmipc_inspect_fill(struct shmipc_object_stat *st,
			 _Atomic uint32_t *prod, _Atomic uint32_t *cons,
			 uint32_t cap, uint32_t slot_size)
{
	uint32_t p = 0, c = 0, again = 1;
	unsigned int tries;

	st->flags |= SHMIPC_OBJECT_QUEUE;
	st->slot_size = slot_size;
	st->capacity = cap;
	/* The producer cursor read between two equal consumer cursors is
	 * consistent with them (acquire keeps the three loads in order);
	 * a queue that moves too fast for that shows full at most. */
	for (tries = 0; tries < 4 && c != again; tries++) {
		c = atomic_load_explicit(cons, memory_order_acquire);
		p = atomic_load_explicit(prod, memory_order_acquire);
		again = atomic_load_explicit(cons, memory_order_acquire);
	}
	if (c == again && p - c > cap)
		st->flags |= SHMIPC_OBJECT_CORRUPT;
	st->fill = p - c > cap ? cap : p - c;
}

static void describe(struct shmipc_inspect *in, const char *key,
		     uint64_t off, uint64_t size, struct shmipc_object_stat *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	strcpy(st->key, key);
	st->offset = off;
	st->size = size;
	strcpy(st->type, "object");
	/* The library's objects are 64-byte aligned (shmipc_obj_find()). */
	for (i = 0; off % 64 == 0 &&
		    i < sizeof(object_types) / sizeof(object_types[0]); i++) {
		if (object_types[i].describe(&in->r, off, size, st) == 1) {
			snprintf(st->type, sizeof(st->type), "%s",
				 object_types[i].name);
			return;
		}
	}
}

int shmipc_inspect_objects(const struct shmipc_inspect *cin,
			   struct shmipc_object_stat *out, size_t max)
{
	/* Only reads; describe functions take a plain region pointer. */
	struct shmipc_inspect *in = (struct shmipc_inspect *)cin;
	const struct rhdr *h;
	unsigned int i;
	int ret, n = 0;

	if (!in || (!out && max))
		return -EINVAL;
	ret = shmipc_inspect_hdr(in);
	if (ret)
		return ret;
	h = region_hdr(&in->r);
	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++) {
		const struct rhdr_dirent *e = &h->dir[i];
		char key[DIR_KEY_BYTES];
		uint64_t off, size;
		uint32_t st;

		/* Acquire: pairs with the inserter's release of READY. */
		st = atomic_load_explicit(&e->state, memory_order_acquire);
		if (st == DIR_FREE || (st & 3U) == DIR_CLAIMED)
			continue;	/* free, or still being inserted */
		if ((st & 3U) != DIR_READY)
			return -EBADMSG;
		memcpy(key, e->key, sizeof(key));
		off = e->off;
		size = e->size;
		if (!memchr(key, '\0', sizeof(key)) || !key[0] ||
		    off < SHMIPC_REGION_HDR_SIZE || !size ||
		    !shmipc_in_region(&in->r, off, size))
			return -EBADMSG;
		if ((size_t)n < max)
			describe(in, key, off, size, &out[n]);
		n++;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Events */

bool shmipc_inspect_queue(struct shmipc_inspect *in,
			  const struct shmipc_peer_event *ev)
{
	const unsigned int cap = sizeof(in->queue) / sizeof(in->queue[0]);

	if (in->q_len == cap)
		return false;
	in->queue[(in->q_head + in->q_len++) % cap] = *ev;
	return true;
}

int shmipc_inspect_next_event(struct shmipc_inspect *in,
			      struct shmipc_peer_event *ev,
			      uint64_t deadline_ns)
{
	const unsigned int cap = sizeof(in->queue) / sizeof(in->queue[0]);
	int ret;

	if (!in || !ev)
		return -EINVAL;
	if (!in->q_len) {
		ret = in->ops->events(in, deadline_ns);
		if (ret)
			return ret;
	}
	*ev = in->queue[in->q_head];
	in->q_head = (in->q_head + 1) % cap;
	in->q_len--;
	return 0;
}
