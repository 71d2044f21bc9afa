// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: a stream's header, segment records and its two index
 * rings, through a reader and a writer that take the roles over (their
 * recovery reads the per-segment records) (fuzz.h).
 */
#include "fuzz.h"

static int fz_setup(struct fz *f)
{
	struct shmipc_stream *w;
	int ret = shmipc_stream_create(f->r, "s", 256, 4) ?:
		  shmipc_stream_open(f->r, "s", SHMIPC_PRODUCER, &w);

	if (ret)
		return ret;
	ret = shmipc_stream_write(w, "payload", 8, fz_now()) ?:
	      shmipc_stream_end(w, fz_now());
	shmipc_stream_close(w);
	return ret ?: fz_window(f, "s", 0);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	struct shmipc_stream *s;
	const void *chunk;
	void *buf;
	int i, ret;

	if (FZ_OP(ops, 0) &&
	    !shmipc_stream_open(f->r, "s", SHMIPC_CONSUMER, &s)) {
		for (i = 0; i < 4 && FZ_OP(ops, 1 + i); i++) {
			ret = shmipc_stream_read(s, &chunk, fz_now());
			if (ret > 0)
				shmipc_stream_release(s, chunk);
		}
		shmipc_stream_close(s);
	}
	if (FZ_OP(ops, 8) &&
	    !shmipc_stream_open(f->r, "s", SHMIPC_PRODUCER, &s)) {
		shmipc_stream_segments(s);
		if (FZ_OP(ops, 9) &&
		    shmipc_stream_reserve(s, &buf, fz_now()) > 0)
			shmipc_stream_commit(s, 16);
		if (FZ_OP(ops, 10))
			shmipc_stream_end(s, fz_now());
		if (FZ_OP(ops, 11))
			shmipc_stream_abort(s, -EIO, fz_now());
		shmipc_stream_close(s);
	}
}
