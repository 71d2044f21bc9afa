// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the region header (magic, sizes, heap cursor, peer table)
 * and the directory, through a second open of the region, directory
 * look-ups and inserts, every object type's open by key, and the
 * introspection calls that `shmipc ls/info` make (each object's describe
 * function parses its header).  See fuzz.h.
 */
#define FZ_REGION_SIZE	(1U << 20)
#include "fuzz.h"

static const char *const keys[] = { "s", "m", "v", "e", "st", "g", "h" };

static int fz_setup(struct fz *f)
{
	struct shmipc_region *r = f->r;
	uint64_t top;
	int ret = shmipc_spsc_create(r, "s", 16, 8) ?:
		  shmipc_mpmc_create(r, "m", 16, 8) ?:
		  shmipc_vring_create(r, "v", 256) ?:
		  shmipc_evpool_create(r, "e", 2, 256, 0, 0) ?:
		  shmipc_stream_create(r, "st", 256, 2) ?:
		  shmipc_growbuf_create(r, "g", 4096, 8192) ?:
		  shmipc_heap_create(r, "h", 256U << 10);

	if (ret)
		return ret;
	/* The header, the directory and the objects' headers. */
	top = atomic_load(&region_hdr(r)->heap_top);
	f->off = 0;
	f->len = top < 16384 ? top : 16384;
	return 0;
}

static void open_objects(struct shmipc_region *r)
{
	struct shmipc_spsc *s;
	struct shmipc_mpmc *m;
	struct shmipc_vring *v;
	struct shmipc_evpool *e;
	struct shmipc_stream *st;
	struct shmipc_growbuf *g;
	struct shmipc_heap *h;

	if (!shmipc_spsc_open(r, "s", SHMIPC_CONSUMER, &s))
		shmipc_spsc_close(s);
	if (!shmipc_mpmc_open(r, "m", &m))
		shmipc_mpmc_close(m);
	if (!shmipc_vring_open(r, "v", SHMIPC_CONSUMER, &v))
		shmipc_vring_close(v);
	if (!shmipc_evpool_open(r, "e", SHMIPC_CONSUMER, &e))
		shmipc_evpool_close(e);
	if (!shmipc_stream_open(r, "st", SHMIPC_CONSUMER, &st))
		shmipc_stream_close(st);
	if (!shmipc_growbuf_open(r, "g", SHMIPC_CONSUMER, &g))
		shmipc_growbuf_close(g);
	if (!shmipc_heap_open(r, "h", &h))
		shmipc_heap_close(h);
}

static void inspect(const char *name)
{
	struct shmipc_object_stat os[SHMIPC_DIR_ENTRIES];
	struct shmipc_peer_stat ps[SHMIPC_PEERS_MAX];
	struct shmipc_region_stat st;
	struct shmipc_inspect *in;

	if (shmipc_inspect_open(name, &in))
		return;
	shmipc_inspect_stat(in, &st);
	shmipc_inspect_peers(in, ps, SHMIPC_PEERS_MAX);
	shmipc_inspect_objects(in, os, SHMIPC_DIR_ENTRIES);
	shmipc_inspect_close(in);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	struct shmipc_region_info info;
	struct shmipc_region *r;
	uint64_t off, size;
	unsigned int i;

	if (FZ_OP(ops, 0))
		inspect(f->name);
	/* A second peer: parses the header, joins the peer table. */
	if (shmipc_region_open(f->name, 0, 0, 0, &r))
		return;
	for (i = 0; FZ_OP(ops, 1) && i < sizeof(keys) / sizeof(keys[0]); i++)
		shmipc_dir_find(r, keys[i], &off, &size);
	if (FZ_OP(ops, 2))
		shmipc_region_info(r, &info);
	if (FZ_OP(ops, 3))
		shmipc_dir_alloc(r, "new", 64, 64, &off);
	if (FZ_OP(ops, 4))
		open_objects(r);
	if (FZ_OP(ops, 5))
		shmipc_region_ptr(r, atomic_load(&region_hdr(r)->heap_top), 64);
	shmipc_region_close(r);
}
