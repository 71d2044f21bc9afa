// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: Boost.Interprocess message_queue, one per direction, as
 * deep as a libshmipc channel of the same message size (bench_capacity).
 * Its try_send / try_receive make the polled rows, send / receive the
 * blocking ones.  Every message is copied in and out (the queue has no
 * loan).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "boostmq.h"

struct bmq_state {
	char name[2][48];
	bool made[2];
};

struct bmq_ep {
	struct bmq *q;
	size_t size;
};

static void boost_teardown(struct trial *t)
{
	struct bmq_state *st = t->state;
	int c;

	for (c = 0; c < 2; c++)
		if (st->made[c])
			bmq_remove(st->name[c]);
	free(st);
	t->state = NULL;
}

static int boost_setup(struct trial *t)
{
	struct bmq_state *st = calloc(1, sizeof(*st));
	int c, ret = 0;

	if (!st)
		return -ENOMEM;
	t->state = st;
	for (c = 0; c < 2 && !ret; c++) {
		snprintf(st->name[c], sizeof(st->name[c]), "chanbench-bmq-%d-%d-%d",
			 (int)getpid(), t->index, c);
		ret = bmq_create(st->name[c], bench_capacity(t->msg_size),
				 t->msg_size);
		st->made[c] = !ret;
	}
	if (ret)
		boost_teardown(t);
	return ret;
}

static int boost_open(struct trial *t, int chan, bool sender, void **ep)
{
	const struct bmq_state *st = t->state;
	struct bmq_ep *e = malloc(sizeof(*e));
	int ret;

	(void)sender;
	if (!e)
		return -ENOMEM;
	ret = bmq_open(st->name[chan], &e->q);
	if (ret) {
		free(e);
		return ret;
	}
	e->size = t->msg_size;
	*ep = e;
	return 0;
}

static void boost_close(void *ep)
{
	struct bmq_ep *e = ep;

	bmq_close(e->q);
	free(e);
}

static int boost_try_send(void *ep, const void *msg)
{
	const struct bmq_ep *e = ep;

	return bmq_send(e->q, msg, e->size, 0);
}

static int boost_try_recv(void *ep, void *msg)
{
	const struct bmq_ep *e = ep;

	return bmq_recv(e->q, msg, e->size, 0);
}

static int boost_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	const struct bmq_ep *e = ep;

	(void)deadline_ns;	/* the runner's watchdog bounds the wait */
	return bmq_send(e->q, msg, e->size, 1);
}

static int boost_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	const struct bmq_ep *e = ep;

	(void)deadline_ns;
	return bmq_recv(e->q, msg, e->size, 1);
}

const struct transport tr_boostmq = {
	.name = "boost-mq",
	.setup = boost_setup,
	.teardown = boost_teardown,
	.open = boost_open,
	.close = boost_close,
	.try_send = boost_try_send,
	.try_recv = boost_try_recv,
	.send = boost_send,
	.recv = boost_recv,
};
