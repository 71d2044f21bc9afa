// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: a growable buffer's control block (generation, length,
 * sequence, ends), read and written by a reader and a writer (fuzz.h).
 * Generations this creates are regions "<name>.g.g<N>", removed after
 * each input (f->sweep).
 */
#include "fuzz.h"

static int fz_setup(struct fz *f)
{
	struct shmipc_growbuf *w;
	int ret = shmipc_growbuf_create(f->r, "g", 4096, 16384) ?:
		  shmipc_growbuf_open(f->r, "g", SHMIPC_PRODUCER, &w);

	if (ret)
		return ret;
	f->sweep = true;	/* a writer may grow to a forged generation */
	/* A message waits in generation 1; the writer has gone. */
	ret = shmipc_growbuf_write(w, "message", 8, fz_now());
	shmipc_growbuf_close(w);
	return ret ?: fz_window(f, "g", 0);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	struct shmipc_growbuf *g;
	const void *p;
	uint64_t len;
	void *wp;

	if (FZ_OP(ops, 0) &&
	    !shmipc_growbuf_open(f->r, "g", SHMIPC_CONSUMER, &g)) {
		shmipc_growbuf_generation(g);
		if (FZ_OP(ops, 1) && !shmipc_growbuf_read(g, &p, &len, fz_now()))
			shmipc_growbuf_ack(g);
		if (FZ_OP(ops, 2))
			shmipc_growbuf_read(g, &p, &len, fz_now());
		shmipc_growbuf_close(g);
	}
	if (FZ_OP(ops, 8) &&
	    !shmipc_growbuf_open(f->r, "g", SHMIPC_PRODUCER, &g)) {
		shmipc_growbuf_capacity(g);
		if (FZ_OP(ops, 9) &&
		    !shmipc_growbuf_reserve(g, 64, &wp, fz_now()))
			shmipc_growbuf_commit(g, 64);
		if (FZ_OP(ops, 10))
			shmipc_growbuf_wait_ack(g, fz_now());
		shmipc_growbuf_close(g);
	}
}
