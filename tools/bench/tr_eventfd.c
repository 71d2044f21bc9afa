// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: eventfd + shared memory, the do-it-yourself channel.  Per
 * direction a ring of message slots in anonymous shared memory and two
 * eventfd semaphores (EFD_SEMAPHORE: each read() takes one): "filled"
 * counts messages, "free" counts empty slots.  The sender takes a free
 * slot (read, sleeping while none), copies the message in and adds a
 * filled one (write); the receiver the other way round.  Two system
 * calls per message and side, whether or not anyone sleeps.
 *
 * The eventfd calls order the copies: a write() to an eventfd and the
 * read() that takes its count go through the same kernel lock, so the
 * slot written before the one is seen after the other.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "bench.h"
#include "fdchan.h"

struct efd_state {
	int filled[2], free[2];		/* per channel */
};

struct efd_ep {
	int take, give;			/* the semaphore to read, to write */
	unsigned char *slots;
	uint32_t cap, next;		/* slot count; our next slot */
	size_t size;
};

static size_t ring_bytes(const struct trial *t)
{
	return (size_t)bench_capacity(t->msg_size) * t->msg_size;
}

static size_t efd_scratch(const struct trial *t)
{
	return 2 * ((ring_bytes(t) + 63) & ~(size_t)63);
}

static void efd_teardown(struct trial *t)
{
	struct efd_state *st = t->state;
	int c;

	for (c = 0; c < 2; c++) {
		if (st->filled[c] >= 0)
			close(st->filled[c]);
		if (st->free[c] >= 0)
			close(st->free[c]);
	}
	free(st);
	t->state = NULL;
}

static int efd_setup(struct trial *t)
{
	struct efd_state *st = malloc(sizeof(*st));
	uint32_t cap = bench_capacity(t->msg_size);
	int c, ret = 0;

	if (!st)
		return -ENOMEM;
	t->state = st;
	for (c = 0; c < 2; c++) {
		st->filled[c] = eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC);
		st->free[c] = eventfd(cap, EFD_SEMAPHORE | EFD_CLOEXEC);
		if (st->filled[c] < 0 || st->free[c] < 0)
			ret = -errno;
	}
	if (ret)
		efd_teardown(t);
	return ret;
}

static int efd_open(struct trial *t, int chan, bool sender, void **ep)
{
	const struct efd_state *st = t->state;
	struct efd_ep *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->take = sender ? st->free[chan] : st->filled[chan];
	e->give = sender ? st->filled[chan] : st->free[chan];
	e->slots = (unsigned char *)t->scratch +
		   (size_t)chan * ((ring_bytes(t) + 63) & ~(size_t)63);
	e->cap = bench_capacity(t->msg_size);
	e->size = t->msg_size;
	*ep = e;
	return 0;
}

/* Take one from @take (sleeping while it is 0), move the message, give
 * one to @give. */
static int efd_xfer(struct efd_ep *e, void *dst, const void *src)
{
	uint64_t one = 1;
	int ret = fd_read_all(e->take, &one, sizeof(one));

	if (ret)
		return ret;
	memcpy(dst, src, e->size);
	e->next = (e->next + 1) % e->cap;
	return fd_write_all(e->give, &one, sizeof(one));
}

static int efd_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	struct efd_ep *e = ep;

	(void)deadline_ns;
	return efd_xfer(e, e->slots + (size_t)e->next * e->size, msg);
}

static int efd_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	struct efd_ep *e = ep;

	(void)deadline_ns;
	return efd_xfer(e, msg, e->slots + (size_t)e->next * e->size);
}

const struct transport tr_eventfd = {
	.name = "eventfd-shm",
	.scratch_bytes = efd_scratch,
	.setup = efd_setup,
	.teardown = efd_teardown,
	.open = efd_open,
	.close = fdchan_close,
	.send = efd_send,
	.recv = efd_recv,
};
