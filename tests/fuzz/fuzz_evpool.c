// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: an event-buffer pool's header, member slots, creation
 * lock, buffer words, descriptors and fragments (fuzz.h).
 */
#include "fuzz.h"

static int fz_setup(struct fz *f)
{
	struct shmipc_evpool *w;
	char frag[24] = "fragment";
	int ret = shmipc_evpool_create(f->r, "e", 4, 256, 0, 0) ?:
		  shmipc_evpool_open(f->r, "e", SHMIPC_PRODUCER, &w);

	if (ret)
		return ret;
	/* One complete event, one partial. */
	shmipc_evpool_add(w, 1, 1, 0, frag, sizeof(frag), fz_now());
	shmipc_evpool_add(w, 2, 2, 0, frag, sizeof(frag), fz_now());
	shmipc_evpool_close(w);
	return fz_window(f, "e", 0);
}

static void writer(struct fz *f, unsigned int ops)
{
	struct shmipc_evpool *w;
	char frag[16] = "x";
	void *data;

	if (shmipc_evpool_open(f->r, "e", SHMIPC_PRODUCER, &w))
		return;
	shmipc_evpool_buffers(w);
	if (FZ_OP(ops, 1))
		shmipc_evpool_add(w, 2, 2, 1, frag, sizeof(frag), fz_now());
	if (FZ_OP(ops, 2))
		shmipc_evpool_add(w, 3, 1, 0, frag, sizeof(frag), fz_now());
	if (FZ_OP(ops, 3) &&
	    !shmipc_evpool_frag_begin(w, 4, 2, 0, 8, &data, fz_now()))
		shmipc_evpool_frag_commit(w);
	if (FZ_OP(ops, 4) &&
	    !shmipc_evpool_frag_begin(w, 5, 1, 0, 8, &data, fz_now()))
		shmipc_evpool_frag_abort(w);
	shmipc_evpool_close(w);
}

static void reader(struct fz *f, unsigned int ops)
{
	struct shmipc_evpool_event ev;
	struct shmipc_evpool_stats st;
	struct shmipc_evpool_frag fr;
	struct shmipc_evpool *p;
	uint64_t pos = 0;
	int i;

	if (shmipc_evpool_open(f->r, "e", SHMIPC_CONSUMER, &p))
		return;
	if (FZ_OP(ops, 9) && !shmipc_evpool_get(p, &ev, fz_now())) {
		for (i = 0; i < 64 &&
			    shmipc_evpool_next_frag(&ev, &pos, &fr) == 1; i++)
			;
		shmipc_evpool_release(p, &ev);
	}
	if (FZ_OP(ops, 10))
		shmipc_evpool_expire(p, 0);
	if (FZ_OP(ops, 11))
		shmipc_evpool_reclaim(p);
	if (FZ_OP(ops, 12))
		shmipc_evpool_stats(p, &st);
	shmipc_evpool_close(p);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	if (FZ_OP(ops, 0))
		writer(f, ops);
	if (FZ_OP(ops, 8))
		reader(f, ops);
}
