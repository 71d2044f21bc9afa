// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: what the libshmipc transports share.  Each row gets its own
 * region (named after this process and the row), made by the parent with
 * the channels "c0", "c1", ...; each side opens it by name (a handle does
 * not survive fork()).  The parent removes it after the row.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "shmipc.h"

#define RING_BYTES	(4U << 20)	/* a ring's slots, at most */
#define RING_SLOTS_MAX	4096U

/* As many slots as fit in RING_BYTES, a power of two, 2..4096. */
uint32_t bench_capacity(size_t msg_size)
{
	uint32_t cap = RING_SLOTS_MAX;

	while (cap > 2 && (size_t)cap * msg_size > RING_BYTES)
		cap /= 2;
	return cap;
}

/* The parent's, also read by the sides (their copy after fork()). */
struct region_state {
	struct shmipc_region *r;
	char name[SHMIPC_NAME_LEN_MAX + 1];
};

int shmipc_trial_setup(struct trial *t, uint32_t chans,
		       int (*create)(struct shmipc_region *r, const char *key,
				     uint32_t slot_size, uint32_t capacity))
{
	uint32_t cap = bench_capacity(t->msg_size), i;
	/* Header, then per channel its ring header, the MPMC handle
	 * registry (64 entries) and slots (with the MPMC per-slot header, or
	 * an event pool's 64-byte descriptor and 64-byte-rounded buffer),
	 * with room to spare for alignment. */
	size_t slot = ((t->msg_size + 7) & ~(size_t)7) + 128;
	size_t size = SHMIPC_REGION_HDR_SIZE +
		      chans * (65536 + (size_t)cap * slot);
	struct region_state *st = calloc(1, sizeof(*st));
	char key[16];
	int ret;

	if (!st)
		return -ENOMEM;
	size = (size + 4095) & ~(size_t)4095;
	snprintf(st->name, sizeof(st->name), "chanbench-%d-%d", (int)getpid(),
		 t->index);
	shmipc_region_unlink(st->name);	/* a leftover of a killed run */
	ret = shmipc_region_open(st->name, size, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL,
				 &st->r);
	for (i = 0; !ret && i < chans; i++) {
		snprintf(key, sizeof(key), "c%u", i);
		ret = create(st->r, key, (uint32_t)t->msg_size, cap);
	}
	t->state = st;
	if (ret)
		shmipc_trial_teardown(t);
	return ret;
}

void shmipc_trial_teardown(struct trial *t)
{
	struct region_state *st = t->state;

	if (st->r) {
		shmipc_region_close(st->r);
		shmipc_region_unlink(st->name);
	}
	free(st);
	t->state = NULL;
}

int shmipc_trial_attach(struct trial *t)
{
	const struct region_state *st = t->state;
	struct shmipc_region *r;
	int ret;

	ret = shmipc_region_open(st->name, 0, 0, 0, &r);
	if (ret)
		return ret;
	t->conn = r;
	return 0;
}

void shmipc_trial_detach(struct trial *t)
{
	shmipc_region_close(t->conn);
	t->conn = NULL;
}
