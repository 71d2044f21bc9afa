// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: classic iceoryx (Debian's 2.0) through its C binding.  A
 * publisher and a subscriber per direction (service "chanbench", the
 * row as instance, the channel as event); the publisher waits for the
 * consumer (ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER, the subscriber's
 * queue blocks the producer when full) so no message is dropped, as the
 * other transports.  Each side is its own iceoryx runtime, made after
 * the fork and shut down before the side ends.
 *
 *   send / recv          loan a chunk, copy the message in, publish;
 *                        take, copy out, release (blocking: a wait set)
 *   try_send / try_recv  the same without waiting (polled rows)
 *   loan ... give_back   the chunk itself, one at a time (zero copy)
 *
 * RouDi, the daemon every iceoryx process registers with, is started
 * before the first iceoryx row and stopped at the end (roudi.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "iceoryx_binding_c/enums.h"
#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/types.h"
#include "iceoryx_binding_c/wait_set.h"

#include "bench.h"

#define IOX_QUEUE_MAX	256U	/* MAX_SUBSCRIBER_QUEUE_CAPACITY */
#define IOX_CONNECT_NS	(10ULL * 1000000000ULL)	/* RouDi's discovery */

struct iox_ep {
	bool sender;
	bool connected;		/* sender: a subscriber is there */
	size_t size;
	iox_pub_storage_t pub_st;
	iox_sub_storage_t sub_st;
	iox_ws_storage_t ws_st;
	iox_pub_t pub;
	iox_sub_t sub;
	iox_ws_t ws;		/* receiver, blocking: NULL until needed */
	void *loaned;		/* zero copy: the chunk loaned or taken */
};

static int iox_attach(struct trial *t)
{
	char name[64];

	snprintf(name, sizeof(name), "chanbench-%d", (int)getpid());
	/* iceoryx logs to stdout, where the parent writes the table: its
	 * warnings and errors go to stderr instead. */
	fflush(stdout);
	dup2(2, 1);
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);	/* terminates the side if RouDi is gone */
	(void)t;
	return 0;
}

static void iox_detach(struct trial *t)
{
	(void)t;
	iox_runtime_shutdown();
}

static int iox_open(struct trial *t, int chan, bool sender, void **ep)
{
	struct iox_ep *e = calloc(1, sizeof(*e));
	uint32_t depth = bench_capacity(t->msg_size);
	char inst[32], event[16];
	uint64_t until = now_ns() + IOX_CONNECT_NS;

	if (!e)
		return -ENOMEM;
	snprintf(inst, sizeof(inst), "row%d", t->index);
	snprintf(event, sizeof(event), "c%d", chan);
	e->sender = sender;
	e->size = t->msg_size;
	if (sender) {
		iox_pub_options_t o;

		iox_pub_options_init(&o);
		o.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
		e->pub = iox_pub_init(&e->pub_st, "chanbench", inst, event, &o);
		*ep = e;
		return 0;
	}
	{
		iox_sub_options_t o;

		iox_sub_options_init(&o);
		o.queueCapacity = depth < IOX_QUEUE_MAX ? depth : IOX_QUEUE_MAX;
		o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
		e->sub = iox_sub_init(&e->sub_st, "chanbench", inst, event, &o);
	}
	/* Subscribed once RouDi has matched us with the publisher. */
	while (iox_sub_get_subscription_state(e->sub) !=
	       SubscribeState_SUBSCRIBED) {
		if (now_ns() >= until) {
			iox_sub_deinit(e->sub);
			free(e);
			return -ETIMEDOUT;
		}
		sleep_ns(1000000);
	}
	*ep = e;
	return 0;
}

static void iox_close(void *ep)
{
	struct iox_ep *e = ep;

	if (e->sender) {
		iox_pub_deinit(e->pub);
	} else {
		if (e->ws)
			iox_ws_deinit(e->ws);
		iox_sub_deinit(e->sub);
	}
	free(e);
}

/* A sender's first message waits until its subscriber is there. */
static int iox_connected(struct iox_ep *e)
{
	uint64_t until;

	if (e->connected)
		return 0;
	until = now_ns() + IOX_CONNECT_NS;
	while (!iox_pub_has_subscribers(e->pub)) {
		if (now_ns() >= until)
			return -ETIMEDOUT;
		sleep_ns(1000000);
	}
	e->connected = true;
	return 0;
}

static int iox_loan_one(struct iox_ep *e, void **chunk)
{
	int ret = iox_connected(e);

	if (ret)
		return ret;
	switch (iox_pub_loan_chunk(e->pub, chunk, (uint32_t)e->size)) {
	case AllocationResult_SUCCESS:
		return 0;
	case AllocationResult_RUNNING_OUT_OF_CHUNKS:
	case AllocationResult_TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL:
		return -EAGAIN;	/* the consumer still holds them */
	default:
		return -ENOMEM;
	}
}

static int iox_try_send(void *ep, const void *msg)
{
	struct iox_ep *e = ep;
	void *chunk;
	int ret = iox_loan_one(e, &chunk);

	if (ret)
		return ret;
	memcpy(chunk, msg, e->size);
	/* Waits while the subscriber's queue is full (the policy). */
	iox_pub_publish_chunk(e->pub, chunk);
	return 0;
}

static int iox_try_recv(void *ep, void *msg)
{
	struct iox_ep *e = ep;
	const void *chunk;

	switch (iox_sub_take_chunk(e->sub, &chunk)) {
	case ChunkReceiveResult_SUCCESS:
		memcpy(msg, chunk, e->size);
		iox_sub_release_chunk(e->sub, chunk);
		return 0;
	case ChunkReceiveResult_NO_CHUNK_AVAILABLE:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static int iox_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	int ret;

	(void)deadline_ns;
	while ((ret = iox_try_send(ep, msg)) == -EAGAIN)
		sched_yield();	/* chunks come back only as it consumes */
	return ret;
}

static int iox_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	struct iox_ep *e = ep;
	iox_notification_info_t info[1];
	uint64_t missed;
	int ret;

	(void)deadline_ns;
	ret = iox_try_recv(ep, msg);
	if (ret != -EAGAIN)
		return ret;
	/* A wait set only for the blocking rows: attached, it makes every
	 * publish signal it, which polled rows would pay for nothing. */
	if (!e->ws) {
		e->ws = iox_ws_init(&e->ws_st);
		if (iox_ws_attach_subscriber_state(e->ws, e->sub,
						   SubscriberState_HAS_DATA, 0,
						   NULL) != WaitSetResult_SUCCESS) {
			iox_ws_deinit(e->ws);
			e->ws = NULL;
			return -ENOSPC;
		}
	}
	while ((ret = iox_try_recv(ep, msg)) == -EAGAIN)
		iox_ws_wait(e->ws, info, 1, &missed);
	return ret;
}

static int iox_loan(void *ep, unsigned int n, void **slots)
{
	struct iox_ep *e = ep;
	int ret;

	(void)n;
	ret = iox_loan_one(e, &e->loaned);
	if (ret)
		return ret == -EAGAIN ? 0 : ret;
	slots[0] = e->loaned;
	return 1;
}

static int iox_publish(void *ep, unsigned int k)
{
	struct iox_ep *e = ep;

	if (k)
		iox_pub_publish_chunk(e->pub, e->loaned);
	return 0;
}

static int iox_borrow(void *ep, unsigned int n, const void **slots)
{
	struct iox_ep *e = ep;
	const void *chunk;

	(void)n;
	switch (iox_sub_take_chunk(e->sub, &chunk)) {
	case ChunkReceiveResult_SUCCESS:
		e->loaned = (void *)chunk;
		slots[0] = chunk;
		return 1;
	case ChunkReceiveResult_NO_CHUNK_AVAILABLE:
		return 0;
	default:
		return -EIO;
	}
}

static int iox_give_back(void *ep, unsigned int k)
{
	struct iox_ep *e = ep;

	if (k)
		iox_sub_release_chunk(e->sub, e->loaned);
	return 0;
}

const struct transport tr_iceoryx = {
	.name = "iceoryx",
	.start = roudi_start,
	.stop = roudi_stop,
	.attach = iox_attach,
	.detach = iox_detach,
	.open = iox_open,
	.close = iox_close,
	.try_send = iox_try_send,
	.try_recv = iox_try_recv,
	.send = iox_send,
	.recv = iox_recv,
	.loan = iox_loan,
	.publish = iox_publish,
	.borrow = iox_borrow,
	.give_back = iox_give_back,
};
