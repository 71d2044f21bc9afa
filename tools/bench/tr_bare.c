// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the raw baselines' transports, with nothing but what the
 * hardware and the kernel must do.  Each channel is a one-message
 * mailbox in anonymous shared memory: a 32-bit sequence word, the
 * payload right behind it (a message of up to 56 bytes shares the
 * sequence word's cache line: then one line moves per message).
 *
 *   cacheline  the sender copies and bumps the word (release); the
 *              receiver polls it (acquire).  Polled ping-pong only.
 *   futex      the same, plus FUTEX_WAKE after every send, and the
 *              receiver sleeps in FUTEX_WAIT at once (no spinning):
 *              the bare futex ping-pong.
 *
 * A mailbox holds one message: the ping-pong patterns never have two in
 * flight on one channel, so neither needs flow control (and the stream
 * patterns are not offered: these transports have no burst or loan).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "bench.h"

#define MAILBOX_HDR	8	/* the sequence word, padded */

struct mailbox {
	_Atomic uint32_t seq;
	uint32_t pad;
	unsigned char payload[];
};

struct bare_ep {
	struct mailbox *mb;
	size_t size;
	uint32_t seq;		/* last sent, or last received */
};

static size_t mailbox_bytes(size_t msg_size)
{
	return (MAILBOX_HDR + msg_size + 63) & ~(size_t)63;
}

static size_t bare_scratch(const struct trial *t)
{
	return 2 * mailbox_bytes(t->msg_size);
}

static int bare_open(struct trial *t, int chan, bool sender, void **ep)
{
	struct bare_ep *e = calloc(1, sizeof(*e));

	(void)sender;
	if (!e)
		return -ENOMEM;
	e->mb = (struct mailbox *)((char *)t->scratch +
				   (size_t)chan * mailbox_bytes(t->msg_size));
	e->size = t->msg_size;
	*ep = e;
	return 0;
}

static void bare_close(void *ep)
{
	free(ep);
}

static int bare_try_send(void *ep, const void *msg)
{
	struct bare_ep *e = ep;

	memcpy(e->mb->payload, msg, e->size);
	/* Release: the payload is visible before the new sequence. */
	atomic_store_explicit(&e->mb->seq, ++e->seq, memory_order_release);
	return 0;
}

static int bare_try_recv(void *ep, void *msg)
{
	struct bare_ep *e = ep;
	/* Acquire: pairs with the sender's release; payload read after. */
	uint32_t s = atomic_load_explicit(&e->mb->seq, memory_order_acquire);

	if (s == e->seq)
		return -EAGAIN;
	e->seq = s;
	memcpy(msg, e->mb->payload, e->size);
	return 0;
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val,
		  const struct timespec *ts, uint32_t bits)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, bits);
}

static int futex_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	struct bare_ep *e = ep;

	(void)deadline_ns;
	bare_try_send(ep, msg);
	/* Bare: a wake whether or not anyone sleeps. */
	if (futex(&e->mb->seq, FUTEX_WAKE, 1, NULL, 0) < 0)
		return -errno;
	return 0;
}

static int futex_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	struct bare_ep *e = ep;
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ULL),
		.tv_nsec = (long)(deadline_ns % 1000000000ULL),
	};

	while (bare_try_recv(ep, msg) == -EAGAIN) {
		/* Sleeps unless the word moved on since the check. */
		if (futex(&e->mb->seq, FUTEX_WAIT_BITSET, e->seq, &ts,
			  FUTEX_BITSET_MATCH_ANY) < 0 &&
		    errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return 0;
}

const struct transport tr_cacheline = {
	.name = "cacheline",
	.scratch_bytes = bare_scratch,
	.open = bare_open,
	.close = bare_close,
	.try_send = bare_try_send,
	.try_recv = bare_try_recv,
};

const struct transport tr_futex = {
	.name = "futex",
	.scratch_bytes = bare_scratch,
	.open = bare_open,
	.close = bare_close,
	.send = futex_send,
	.recv = futex_recv,
};
