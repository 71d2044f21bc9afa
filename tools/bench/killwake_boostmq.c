// SPDX-License-Identifier: GPL-2.0
/*
 * kill-to-wake, Boost.Interprocess message_queue: the queue has no death
 * notification, so the best a survivor can do is wait with a timeout
 * (KW_BOOST_TIMEOUT_NS) and, each time it expires, ask whether the peer
 * still exists (kill(pid, 0): ESRCH once it died and was reaped).  The
 * timeout trades wake-ups per second against the delay.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "bench.h"
#include "boostmq.h"
#include "killwake.h"

#define KW_BOOST_TIMEOUT_NS	(10ULL * 1000000ULL)

static void boost_cleanup(struct kw_trial *t)
{
	if (t->state) {
		bmq_close(t->state);
		bmq_remove(t->name);
	}
	t->state = NULL;
}

static int boost_prepare(struct kw_trial *t)
{
	struct bmq *q;
	int ret = bmq_create(t->name, 1, 8);

	if (ret)
		return ret;
	ret = bmq_open(t->name, &q);
	if (ret) {
		bmq_remove(t->name);
		return ret;
	}
	t->state = q;
	return 0;
}

/* The sender's end, open until it dies. */
static int boost_victim(const struct kw_trial *t)
{
	struct bmq *q;

	return bmq_open(t->name, &q);
}

static int boost_await(struct kw_trial *t)
{
	char msg[8];
	int ret;

	for (;;) {
		ret = bmq_recv_timed(t->state, msg, sizeof(msg),
				     KW_BOOST_TIMEOUT_NS);
		if (ret != -ETIMEDOUT)
			return ret ? ret : -EPROTO;	/* nobody sends */
		if (kill(t->victim, 0) && errno == ESRCH)
			return 0;
		if (now_ns() >= t->limit_ns)
			return -ETIMEDOUT;
	}
}

const struct kw_mode kw_boostmq = {
	.name = "boost-mq-timeout-10ms",
	.how = "timed_receive() of 10 ms, then kill(pid, 0)",
	.prepare = boost_prepare,
	.victim = boost_victim,
	.await = boost_await,
	.cleanup = boost_cleanup,
};
