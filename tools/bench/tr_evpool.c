// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the libshmipc event-buffer pool as a transport, each
 * message one event of one fragment (the pool's smallest use: an event
 * builder whose events come whole).  EVP_BUFFERS buffers (fewer for big
 * messages: as many as a channel of that size has slots), each the
 * message plus its fragment header: a reader looks at every buffer's
 * descriptor to find the lowest Full event, so a take costs O(buffers),
 * and an event builder has a few dozen buffers, not thousands.  The writer numbers its events (the pool delivers them in
 * sequence order).
 *
 *   send / recv          shmipc_evpool_add(); _get(), copy out, _release()
 *   try_send / try_recv  the same with deadline 0 (-EAGAIN: full / empty)
 *   loan ... give_back   _frag_begin() / _frag_commit(); _get() and
 *                        _release(), one event at a time, in place
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "shmipc.h"

#define FRAG_HDR	8	/* struct shmipc_evpool_frag_hdr */
#define EVP_BUFFERS	64U

struct evp_ep {
	struct shmipc_evpool *p;
	size_t size;
	uint64_t seq;			/* writer: the next event's id */
	struct shmipc_evpool_event ev;	/* reader: the one taken */
};

static int evp_create(struct shmipc_region *r, const char *key,
		      uint32_t slot_size, uint32_t capacity)
{
	uint32_t buf = ((slot_size + 7) & ~7U) + FRAG_HDR;

	return shmipc_evpool_create(r, key,
				    capacity < EVP_BUFFERS ? capacity : EVP_BUFFERS,
				    buf, 0, 0);
}

static int evp_setup(struct trial *t)
{
	return shmipc_trial_setup(t, 2, evp_create);
}

static int evp_open(struct trial *t, int chan, bool sender, void **ep)
{
	struct evp_ep *e = calloc(1, sizeof(*e));
	char key[16];
	int ret;

	if (!e)
		return -ENOMEM;
	snprintf(key, sizeof(key), "c%d", chan);
	ret = shmipc_evpool_open(t->conn, key,
				 sender ? SHMIPC_PRODUCER : SHMIPC_CONSUMER,
				 &e->p);
	if (ret) {
		free(e);
		return ret;
	}
	e->size = t->msg_size;
	*ep = e;
	return 0;
}

static void evp_close(void *ep)
{
	struct evp_ep *e = ep;

	shmipc_evpool_close(e->p);
	free(e);
}

static int evp_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	struct evp_ep *e = ep;
	int ret = shmipc_evpool_add(e->p, e->seq, 1, 0, msg,
				    (uint32_t)e->size, deadline_ns);

	if (ret < 0)
		return ret;
	e->seq++;
	return ret == 1 ? 0 : -EPROTO;	/* one fragment completes it */
}

static int evp_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	struct evp_ep *e = ep;
	int ret = shmipc_evpool_get(e->p, &e->ev, deadline_ns);

	if (ret)
		return ret;
	if (e->ev.size != FRAG_HDR + ((e->size + 7) & ~(size_t)7)) {
		shmipc_evpool_release(e->p, &e->ev);
		return -EBADMSG;
	}
	memcpy(msg, (const char *)e->ev.data + FRAG_HDR, e->size);
	return shmipc_evpool_release(e->p, &e->ev);
}

static int evp_try_send(void *ep, const void *msg)
{
	return evp_send(ep, msg, 0);
}

static int evp_try_recv(void *ep, void *msg)
{
	return evp_recv(ep, msg, 0);
}

/* One slot (0 when full / empty), or -errno. */
static int one_slot(int ret)
{
	return ret == -EAGAIN ? 0 : ret ? ret : 1;
}

static int evp_loan(void *ep, unsigned int n, void **slots)
{
	struct evp_ep *e = ep;

	(void)n;
	return one_slot(shmipc_evpool_frag_begin(e->p, e->seq, 1, 0,
						 (uint32_t)e->size, slots, 0));
}

static int evp_publish(void *ep, unsigned int k)
{
	struct evp_ep *e = ep;
	int ret;

	if (!k)
		return 0;
	ret = shmipc_evpool_frag_commit(e->p);
	if (ret < 0)
		return ret;
	e->seq++;
	return 0;
}

static int evp_borrow(void *ep, unsigned int n, const void **slots)
{
	struct evp_ep *e = ep;
	int ret = one_slot(shmipc_evpool_get(e->p, &e->ev, 0));

	(void)n;
	if (ret == 1)
		slots[0] = (const char *)e->ev.data + FRAG_HDR;
	return ret;
}

static int evp_give_back(void *ep, unsigned int k)
{
	struct evp_ep *e = ep;

	return k ? shmipc_evpool_release(e->p, &e->ev) : 0;
}

const struct transport tr_evpool = {
	.name = "evpool",
	.setup = evp_setup,
	.teardown = shmipc_trial_teardown,
	.attach = shmipc_trial_attach,
	.detach = shmipc_trial_detach,
	.open = evp_open,
	.close = evp_close,
	.try_send = evp_try_send,
	.try_recv = evp_try_recv,
	.send = evp_send,
	.recv = evp_recv,
	.loan = evp_loan,
	.publish = evp_publish,
	.borrow = evp_borrow,
	.give_back = evp_give_back,
};
