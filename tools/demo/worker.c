// SPDX-License-Identifier: GPL-2.0
/*
 * A worker of the demo (the demo binary started by the controller with
 * "--worker STATUS_REGION"; its slot comes in $SHMIPC_CTL).  It answers
 * PROCESS(event) with the event's digest, the other transitions with an
 * empty reply, exits after STOP, and exits cleanly when the controller
 * goes.  When the demo arms the fault injection, the first worker to
 * take a PROCESS holds it (publishing its pid and the event) until the
 * demo SIGKILLs it, so that the kill surely lands in mid-transition.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"

static void stall_until_killed(struct demo_status *st, uint64_t event)
{
	/* Relaxed for the event: the release of the pid publishes it. */
	atomic_store_explicit(&st->stalled_event, event, memory_order_relaxed);
	atomic_store_explicit(&st->stalled_worker_pid, (int32_t)getpid(),
			      memory_order_release);
	for (;;)
		pause();
}

int demo_worker_main(const char *status_region)
{
	struct shmipc_region *r = NULL;
	struct demo_status *st = NULL;
	struct shmipc_worker *w;
	struct demo_result res;
	uint32_t nth = 0;
	int ret;

	ret = shmipc_region_open(status_region, 0, 0, 0, &r);
	if (!ret)
		ret = demo_status_open(r, &st);
	if (!ret)
		ret = shmipc_worker_open(NULL, &w);
	if (ret)
		return 10;
	for (;;) {
		struct demo_job job;
		unsigned int kind;
		const void *payload;
		size_t len;

		ret = shmipc_worker_next(w, &kind, &payload, &len,
					 SHMIPC_FOREVER);
		if (ret == -EOWNERDEAD || ret == -EPIPE)
			break;		/* the controller went: clean exit */
		if (ret) {
			demo_status_error(st, ret);
			break;
		}
		nth++;
		if (kind != SHMIPC_CTL_PROCESS) {
			ret = shmipc_worker_reply(w, NULL, 0);
			if (ret || kind == SHMIPC_CTL_STOP)
				break;
			continue;
		}
		/* The payload is shared memory: copy, then check. */
		if (len != sizeof(job)) {
			ret = shmipc_worker_reply(w, NULL, 0);
			if (ret)
				break;
			continue;
		}
		memcpy(&job, payload, sizeof(job));
		/* Relaxed: a one-shot token; the exchange picks one worker. */
		if (atomic_load_explicit(&st->worker_stall,
					 memory_order_relaxed) &&
		    atomic_exchange_explicit(&st->worker_stall, 0,
					     memory_order_relaxed))
			stall_until_killed(st, job.event);
		res.event = job.event;
		res.digest = demo_digest(job.event);
		res.pid = (uint32_t)getpid();
		res.nth = nth;
		ret = shmipc_worker_reply(w, &res, sizeof(res));
		if (ret)
			break;
	}
	if (ret && ret != -EOWNERDEAD && ret != -EPIPE)
		demo_status_error(st, ret);
	shmipc_worker_close(w);
	shmipc_region_close(r);
	return ret && ret != -EOWNERDEAD && ret != -EPIPE ? 11 : 0;
}
