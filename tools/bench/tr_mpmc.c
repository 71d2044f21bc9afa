// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the libshmipc MPMC queue as a transport.  Its zero-copy
 * calls take one slot at a time (a ticket each): a loan is one slot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "shmipc.h"

struct mpmc_ep {
	struct shmipc_mpmc *q;
	uint32_t ticket;	/* of the slot loaned or borrowed */
};

static int mpmc_setup(struct trial *t)
{
	return shmipc_trial_setup(t, 2, shmipc_mpmc_create);
}

static int mpmc_open(struct trial *t, int chan, bool sender, void **ep)
{
	struct mpmc_ep *e = calloc(1, sizeof(*e));
	char key[16];
	int ret;

	(void)sender;	/* every MPMC handle sends and receives */
	if (!e)
		return -ENOMEM;
	snprintf(key, sizeof(key), "c%d", chan);
	ret = shmipc_mpmc_open(t->conn, key, &e->q);
	if (ret) {
		free(e);
		return ret;
	}
	*ep = e;
	return 0;
}

static void mpmc_close(void *ep)
{
	struct mpmc_ep *e = ep;

	shmipc_mpmc_close(e->q);
	free(e);
}

static int mpmc_try_send(void *ep, const void *msg)
{
	return shmipc_mpmc_try_send(((struct mpmc_ep *)ep)->q, msg);
}

static int mpmc_try_recv(void *ep, void *msg)
{
	return shmipc_mpmc_try_recv(((struct mpmc_ep *)ep)->q, msg);
}

static int mpmc_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	return shmipc_mpmc_send(((struct mpmc_ep *)ep)->q, msg, deadline_ns);
}

static int mpmc_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	return shmipc_mpmc_recv(((struct mpmc_ep *)ep)->q, msg, deadline_ns);
}

/* 1 slot, or 0 when full / empty (-EAGAIN), or -errno. */
static int one_slot(int ret)
{
	return ret == -EAGAIN ? 0 : ret ? ret : 1;
}

static int mpmc_loan(void *ep, unsigned int n, void **slots)
{
	struct mpmc_ep *e = ep;

	(void)n;
	return one_slot(shmipc_mpmc_reserve(e->q, slots, &e->ticket));
}

static int mpmc_publish(void *ep, unsigned int k)
{
	struct mpmc_ep *e = ep;

	return k ? shmipc_mpmc_commit(e->q, e->ticket) : 0;
}

static int mpmc_borrow(void *ep, unsigned int n, const void **slots)
{
	struct mpmc_ep *e = ep;

	(void)n;
	return one_slot(shmipc_mpmc_peek(e->q, slots, &e->ticket));
}

static int mpmc_give_back(void *ep, unsigned int k)
{
	struct mpmc_ep *e = ep;

	return k ? shmipc_mpmc_release(e->q, e->ticket) : 0;
}

const struct transport tr_mpmc = {
	.name = "mpmc",
	.setup = mpmc_setup,
	.teardown = shmipc_trial_teardown,
	.attach = shmipc_trial_attach,
	.detach = shmipc_trial_detach,
	.open = mpmc_open,
	.close = mpmc_close,
	.try_send = mpmc_try_send,
	.try_recv = mpmc_try_recv,
	.send = mpmc_send,
	.recv = mpmc_recv,
	.loan = mpmc_loan,
	.publish = mpmc_publish,
	.borrow = mpmc_borrow,
	.give_back = mpmc_give_back,
};
