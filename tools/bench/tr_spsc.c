// SPDX-License-Identifier: GPL-2.0
/* chanbench: the libshmipc SPSC channel as a transport. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "shmipc.h"

struct spsc_ep {
	struct shmipc_spsc *ch;
	size_t stride;		/* slots are padded to multiples of 8 */
};

static int spsc_setup(struct trial *t)
{
	return shmipc_trial_setup(t, 2, shmipc_spsc_create);
}

static int spsc_open(struct trial *t, int chan, bool sender, void **ep)
{
	struct spsc_ep *e = calloc(1, sizeof(*e));
	char key[16];
	int ret;

	if (!e)
		return -ENOMEM;
	snprintf(key, sizeof(key), "c%d", chan);
	ret = shmipc_spsc_open(t->conn, key,
			       sender ? SHMIPC_PRODUCER : SHMIPC_CONSUMER,
			       &e->ch);
	if (ret) {
		free(e);
		return ret;
	}
	e->stride = (t->msg_size + 7) & ~(size_t)7;
	*ep = e;
	return 0;
}

static void spsc_close(void *ep)
{
	struct spsc_ep *e = ep;

	shmipc_spsc_close(e->ch);
	free(e);
}

static int spsc_try_send(void *ep, const void *msg)
{
	return shmipc_spsc_try_send(((struct spsc_ep *)ep)->ch, msg);
}

static int spsc_try_recv(void *ep, void *msg)
{
	return shmipc_spsc_try_recv(((struct spsc_ep *)ep)->ch, msg);
}

static int spsc_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	return shmipc_spsc_send(((struct spsc_ep *)ep)->ch, msg, deadline_ns);
}

static int spsc_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	return shmipc_spsc_recv(((struct spsc_ep *)ep)->ch, msg, deadline_ns);
}

static int spsc_send_burst(void *ep, const void *msgs, unsigned int n)
{
	return shmipc_spsc_send_burst(((struct spsc_ep *)ep)->ch, msgs, n,
				      NULL);
}

static int spsc_recv_burst(void *ep, void *msgs, unsigned int n)
{
	return shmipc_spsc_recv_burst(((struct spsc_ep *)ep)->ch, msgs, n,
				      NULL);
}

/* reserve/peek hand out contiguous slots: one pointer per slot. */
static int split(const struct spsc_ep *e, int got, char *base, void **slots)
{
	int i;

	for (i = 0; i < got; i++)
		slots[i] = base + (size_t)i * e->stride;
	return got;
}

static int spsc_loan(void *ep, unsigned int n, void **slots)
{
	struct spsc_ep *e = ep;
	void *base;
	int got = shmipc_spsc_reserve(e->ch, n, &base);

	return got <= 0 ? got : split(e, got, base, slots);
}

static int spsc_publish(void *ep, unsigned int k)
{
	return shmipc_spsc_commit(((struct spsc_ep *)ep)->ch, k);
}

static int spsc_borrow(void *ep, unsigned int n, const void **slots)
{
	struct spsc_ep *e = ep;
	const void *base;
	int got = shmipc_spsc_peek(e->ch, n, &base);

	return got <= 0 ? got : split(e, got, (char *)base, (void **)slots);
}

static int spsc_give_back(void *ep, unsigned int k)
{
	return shmipc_spsc_release(((struct spsc_ep *)ep)->ch, k);
}

const struct transport tr_spsc = {
	.name = "spsc",
	.setup = spsc_setup,
	.teardown = shmipc_trial_teardown,
	.attach = shmipc_trial_attach,
	.detach = shmipc_trial_detach,
	.open = spsc_open,
	.close = spsc_close,
	.try_send = spsc_try_send,
	.try_recv = spsc_try_recv,
	.send = spsc_send,
	.recv = spsc_recv,
	.send_burst = spsc_send_burst,
	.recv_burst = spsc_recv_burst,
	.loan = spsc_loan,
	.publish = spsc_publish,
	.borrow = spsc_borrow,
	.give_back = spsc_give_back,
};
