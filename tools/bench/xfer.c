// SPDX-License-Identifier: GPL-2.0
/* chanbench: moving one message through a transport, in a given mode. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "bench.h"

int xfer_send(const struct trial *t, void *ep, const void *msg,
	      uint64_t deadline_ns)
{
	int ret;

	if (t->mode == MODE_BLOCKING)
		return t->tr->send(ep, msg, deadline_ns);
	while ((ret = t->tr->try_send(ep, msg)) == -EAGAIN)
		cpu_relax();
	return ret;
}

int xfer_recv(const struct trial *t, void *ep, void *msg,
	      uint64_t deadline_ns)
{
	int ret;

	if (t->mode == MODE_BLOCKING)
		return t->tr->recv(ep, msg, deadline_ns);
	while ((ret = t->tr->try_recv(ep, msg)) == -EAGAIN)
		cpu_relax();
	return ret;
}

bool tr_supports(const struct transport *tr, enum bench_mode mode)
{
	bool polled = tr->try_send && tr->try_recv;

	switch (mode) {
	case MODE_POLLED:
		return polled;
	case MODE_BLOCKING:
		return tr->send && tr->recv;
	case MODE_BURST:	/* the final STOP goes by try_send */
		return polled && tr->send_burst && tr->recv_burst;
	case MODE_ZEROCOPY:
		return polled && tr->loan && tr->publish && tr->borrow &&
		       tr->give_back;
	}
	return false;
}

void *msg_alloc(const struct trial *t, unsigned int n)
{
	size_t len = ((t->msg_size * n) + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, len);

	if (p)
		memset(p, 0, len);
	return p;
}
