// SPDX-License-Identifier: GPL-2.0
/*
 * kill-to-wake, libshmipc: the survivor is the consumer of an SPSC
 * channel asleep in shmipc_spsc_recv(); the victim is its producer.
 * recv returns -EOWNERDEAD once the backend sees the producer dead: at
 * once with the module; on the portable backend at the next death probe
 * of the peer's pid, every SHMIPC_PORTABLE_SLICE_MS while it sleeps.
 * One region per trial (the trial's name), unlinked after it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include <shmipc.h>

#include "killwake.h"

#define KW_REGION_SIZE	(16U << 10)
#define KW_KEY		"kill-to-wake"

struct spsc_state {
	struct shmipc_region *region;
	struct shmipc_spsc *ch;
};

static void spsc_cleanup(struct kw_trial *t)
{
	struct spsc_state *st = t->state;

	if (!st)
		return;
	shmipc_spsc_close(st->ch);
	if (st->region) {
		shmipc_region_close(st->region);
		shmipc_region_unlink(t->name);
	}
	free(st);
	t->state = NULL;
}

static int spsc_prepare(struct kw_trial *t)
{
	struct spsc_state *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return -ENOMEM;
	t->state = st;
	shmipc_region_unlink(t->name);	/* a leftover of a killed run */
	ret = shmipc_region_open(t->name, KW_REGION_SIZE, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL,
				 &st->region);
	if (!ret)
		ret = shmipc_spsc_create(st->region, KW_KEY, 8, 2);
	if (!ret)
		ret = shmipc_spsc_open(st->region, KW_KEY, SHMIPC_CONSUMER,
				       &st->ch);
	return ret;
}

/* Handles stay open: the victim dies holding them. */
static int spsc_victim(const struct kw_trial *t)
{
	struct shmipc_region *r;
	struct shmipc_spsc *ch;
	int ret = shmipc_region_open(t->name, 0, 0, 0, &r);

	return ret ? ret : shmipc_spsc_open(r, KW_KEY, SHMIPC_PRODUCER, &ch);
}

static int spsc_await(struct kw_trial *t)
{
	struct spsc_state *st = t->state;
	char msg[8];
	int ret = shmipc_spsc_recv(st->ch, msg, t->limit_ns);

	return ret == -EOWNERDEAD ? 0 : ret ? ret : -EPROTO;
}

const struct kw_mode kw_spsc = {
	.name = "spsc",
	.how = "shmipc_spsc_recv() of the consumer: -EOWNERDEAD",
	.prepare = spsc_prepare,
	.victim = spsc_victim,
	.await = spsc_await,
	.cleanup = spsc_cleanup,
};
