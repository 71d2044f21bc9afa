// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the shared allocator's header, page table, record states
 * and channel table (the first 16 KiB of the heap object), through
 * allocation, free, reclaim, stats and a heap channel (fuzz.h).
 */
#define FZ_REGION_SIZE	(1U << 20)
#include "fuzz.h"

static int fz_setup(struct fz *f)
{
	struct shmipc_heap_channel *ch;
	struct shmipc_heap *h;
	uint64_t a, b, c;
	int ret = shmipc_heap_create(f->r, "h", 512U << 10) ?:
		  shmipc_heap_open(f->r, "h", &h);

	if (ret)
		return ret;
	/* A record in flight, one held by a closed handle, a big run. */
	ret = shmipc_heap_channel_add(h, "c", 8) ?:
	      shmipc_heap_channel_open(h, "c", &ch) ?:
	      shmipc_heap_alloc(h, 100, &a) ?:
	      shmipc_heap_alloc(h, 3000, &b) ?:
	      shmipc_heap_alloc(h, 70000, &c) ?:
	      shmipc_heap_send(ch, a, fz_now());
	if (ret)
		return ret;
	shmipc_heap_channel_close(ch);
	shmipc_heap_close(h);
	return fz_window(f, "h", 16384);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	struct shmipc_heap_channel *ch = NULL;
	struct shmipc_heap_stats st;
	struct shmipc_heap *h;
	uint64_t a = 0, b = 0, got, size;
	void *ptr;

	if (shmipc_heap_open(f->r, "h", &h))
		return;
	if (FZ_OP(ops, 0))
		shmipc_heap_stats(h, &st);
	if (FZ_OP(ops, 1))
		shmipc_heap_reclaim(h);
	if (FZ_OP(ops, 2) && !shmipc_heap_alloc(h, 64, &a))
		shmipc_heap_record(h, a, &ptr, &size);
	if (FZ_OP(ops, 3))
		shmipc_heap_alloc(h, 70000, &b);
	if (FZ_OP(ops, 4))
		shmipc_heap_channel_open(h, "c", &ch);
	if (ch && FZ_OP(ops, 5) && !shmipc_heap_try_recv(ch, &got))
		shmipc_heap_free(h, got);
	if (ch && a && FZ_OP(ops, 6) && !shmipc_heap_try_send(ch, a))
		a = 0;
	if (ch && FZ_OP(ops, 7) && !shmipc_heap_recv(ch, &got, fz_now()))
		shmipc_heap_free(h, got);
	if (FZ_OP(ops, 8))
		shmipc_heap_channel_add(h, "d", 4);
	if (FZ_OP(ops, 9))
		shmipc_heap_channel_remove(h, "d");
	if (FZ_OP(ops, 10))
		shmipc_heap_free(h, f->off + 4096);	/* not ours */
	if (a)
		shmipc_heap_free(h, a);
	if (b)
		shmipc_heap_free(h, b);
	if (FZ_OP(ops, 11))
		shmipc_heap_flush(h);
	shmipc_heap_channel_close(ch);
	if (FZ_OP(ops, 12))
		shmipc_heap_destroy(h);
	shmipc_heap_close(h);
}
