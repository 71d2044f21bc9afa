// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the memcpy baseline.  One process copies a message-sized
 * buffer into consecutive slots of a ring as large as a channel's (so
 * the same bytes are written as when a channel copies them in), and
 * counts copies per second.  The bound for a copying channel's
 * throughput on one CPU, with no other process involved.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static int memcpy_side(struct trial *t, int side)
{
	struct side_out *o = &t->sh->out[side];
	size_t size = t->msg_size;
	uint32_t mask = bench_capacity(size) - 1;
	char *src = malloc(size), *dst = malloc(size * (mask + 1));
	uint64_t go, measure, stop, i, n0 = 0, t0 = 0, c0 = 0, now;
	uint64_t every = clock_every(size);
	bool warm = true;

	if (!src || !dst) {
		free(src);
		free(dst);
		return side_fail(t, side, "malloc", -ENOMEM);
	}
	memset(src, 0x5a, size);
	memset(dst, 0, size * (mask + 1));	/* fault the pages in now */
	go = side_ready(t);
	measure = go + t->opts->warmup_ns;
	stop = measure + t->opts->time_ns;
	for (i = 0;; i++) {
		memcpy(dst + (i & mask) * size, src, size);
		/* The copies are "used": the compiler may not drop them. */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		if (i % every)
			continue;
		now = now_ns();
		if (warm && now >= measure) {
			warm = false;
			n0 = i;
			t0 = now;
			c0 = cpu_ns();
		} else if (now >= stop) {
			break;	/* never at the end of the warm-up */
		}
	}
	o->cpu_ns = cpu_ns() - c0;
	o->msgs = i - n0;
	o->t_start = t0;
	o->t_end = now;
	free(src);
	free(dst);
	return 0;
}

static void memcpy_finish(const struct trial *t, struct row *row)
{
	const struct side_out *o = &t->sh->out[0];
	if (!o->msgs || o->t_end <= o->t_start) {
		row->err = -ENODATA;
		snprintf(row->what, sizeof(row->what), "no copies measured");
		return;
	}
	row->samples = o->msgs;
	row->msgs_per_s = (double)o->msgs * 1e9 / (double)(o->t_end - o->t_start);
	row->bytes_per_s = row->msgs_per_s * (double)t->msg_size;
	row->cpu_ns_per_msg = (double)o->cpu_ns / (double)o->msgs;
}

static bool memcpy_supports(const struct transport *tr, enum bench_mode mode)
{
	(void)mode;
	return !tr;
}

const struct pattern pat_memcpy = {
	.name = "bandwidth",
	.side = memcpy_side,
	.finish = memcpy_finish,
	.supports = memcpy_supports,
};
