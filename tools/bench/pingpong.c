// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: ping-pong patterns between side 0 and side 1 (channel 0
 * goes 0 -> 1, channel 1 back).
 *
 *   latency  side 0 sends, side 1 echoes; one sample per round trip,
 *            reported halved (one way).  Spinning modes.
 *   rtt      the same, reported whole (a round trip).  Blocking mode.
 *   wake     side 0 pauses (gap_ns: side 1 is asleep by then), stamps
 *            the clock into the message and sends; side 1 takes the
 *            sample when its receive returns and acknowledges.
 *
 * Samples go to the shared array; the parent sorts them.  Each sample
 * includes one clock read (the header of the report gives its cost).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct pp {
	void *out, *in;		/* channel to the other side, and back */
	void *msg;
	uint64_t go, measure, stop, deadline;
};

static int pp_open(struct trial *t, int side, struct pp *p)
{
	int ret;

	p->msg = msg_alloc(t, 1);
	if (!p->msg)
		return side_fail(t, side, "malloc", -ENOMEM);
	ret = t->tr->open(t, side, true, &p->out);
	if (ret)
		return side_fail(t, side, "open sender", ret);
	ret = t->tr->open(t, !side, false, &p->in);
	if (ret) {
		t->tr->close(p->out);
		return side_fail(t, side, "open receiver", ret);
	}
	p->go = side_ready(t);
	p->measure = p->go + t->opts->warmup_ns;
	p->stop = p->measure + t->opts->time_ns;
	p->deadline = trial_deadline(t, p->go);
	return 0;
}

static int pp_close(struct trial *t, struct pp *p, int ret)
{
	t->tr->close(p->out);
	t->tr->close(p->in);
	free(p->msg);
	return ret;
}

/* Side 0 of latency / rtt: one round trip per sample. */
static int pp_initiator(struct trial *t, struct pp *p)
{
	struct side_out *o = &t->sh->out[0];
	uint64_t flag = 0, prev = 0, c0 = 0, n = 0, i, now;
	int ret;

	for (i = 1;; i++) {
		msg_put(p->msg, i | flag);
		ret = xfer_send(t, p->out, p->msg, p->deadline);
		if (ret)
			return side_fail(t, 0, "send", ret);
		ret = xfer_recv(t, p->in, p->msg, p->deadline);
		if (ret)
			return side_fail(t, 0, "receive", ret);
		if (msg_get(p->msg) != (i | flag))
			return side_fail(t, 0, "echo mismatch", -EBADMSG);
		now = now_ns();
		if (flag) {
			t->sh->samples[n++] = now - prev;
			if (n == t->opts->max_samples || now >= p->stop)
				break;
		} else if (now >= p->measure) {
			flag = SEQ_MEASURED;
			c0 = cpu_ns();
		}
		prev = now;
	}
	o->cpu_ns = cpu_ns() - c0;
	o->msgs = n;
	atomic_store_explicit(&t->sh->nsamples, n, memory_order_relaxed);
	msg_put(p->msg, SEQ_STOP);
	ret = xfer_send(t, p->out, p->msg, p->deadline);
	return ret ? side_fail(t, 0, "send stop", ret) : 0;
}

/* Side 1 of latency / rtt: echo until STOP. */
static int pp_echo(struct trial *t, struct pp *p)
{
	struct side_out *o = &t->sh->out[1];
	uint64_t c0 = 0, n = 0, v;
	int ret;

	for (;;) {
		ret = xfer_recv(t, p->in, p->msg, p->deadline);
		if (ret)
			return side_fail(t, 1, "receive", ret);
		v = msg_get(p->msg);
		if (v & SEQ_STOP)
			break;
		if ((v & SEQ_MEASURED) && !n++)
			c0 = cpu_ns();
		ret = xfer_send(t, p->out, p->msg, p->deadline);
		if (ret)
			return side_fail(t, 1, "send", ret);
	}
	o->cpu_ns = n ? cpu_ns() - c0 : 0;
	o->msgs = n;
	return 0;
}

typedef int (*pp_role)(struct trial *t, struct pp *p);

/* Open both channels, play side 0's or side 1's role, close. */
static int pp_run(struct trial *t, int side, pp_role side0, pp_role side1)
{
	struct pp p;
	int ret = pp_open(t, side, &p);

	if (ret)
		return ret;
	ret = side ? side1(t, &p) : side0(t, &p);
	return pp_close(t, &p, ret);
}

static int pingpong_side(struct trial *t, int side)
{
	return pp_run(t, side, pp_initiator, pp_echo);
}

/* Side 0 of wake: pause, stamp, send; wait for the acknowledgement. */
static int wake_sender(struct trial *t, struct pp *p)
{
	struct side_out *o = &t->sh->out[0];
	uint64_t c0 = 0, n = 0, now;
	int ret;

	for (;;) {
		sleep_ns(t->opts->gap_ns);
		now = now_ns();
		if (now >= p->measure) {
			/* At least one measured round, however late. */
			if (n && (now >= p->stop ||
				  n == t->opts->max_samples))
				break;
			if (!n++)
				c0 = cpu_ns();
		}
		msg_put(p->msg, now);
		ret = t->tr->send(p->out, p->msg, p->deadline);
		if (ret)
			return side_fail(t, 0, "send", ret);
		ret = t->tr->recv(p->in, p->msg, p->deadline);
		if (ret)
			return side_fail(t, 0, "receive ack", ret);
	}
	o->cpu_ns = n ? cpu_ns() - c0 : 0;
	msg_put(p->msg, SEQ_STOP);
	ret = t->tr->send(p->out, p->msg, p->deadline);
	return ret ? side_fail(t, 0, "send stop", ret) : 0;
}

/* Side 1 of wake: the sample is the stamp's age when recv returns. */
static int wake_receiver(struct trial *t, struct pp *p)
{
	struct side_out *o = &t->sh->out[1];
	uint64_t c0 = 0, n = 0, v, now;
	int ret;

	for (;;) {
		ret = t->tr->recv(p->in, p->msg, p->deadline);
		now = now_ns();
		if (ret)
			return side_fail(t, 1, "receive", ret);
		v = msg_get(p->msg);
		if (v & SEQ_STOP)
			break;
		if (v >= p->measure && n < t->opts->max_samples) {
			if (!n)
				c0 = cpu_ns();
			t->sh->samples[n++] = now - v;
		}
		ret = t->tr->send(p->out, p->msg, p->deadline);
		if (ret)
			return side_fail(t, 1, "send ack", ret);
	}
	o->cpu_ns = n ? cpu_ns() - c0 : 0;
	o->msgs = n;
	atomic_store_explicit(&t->sh->nsamples, n, memory_order_relaxed);
	return 0;
}

static int wake_side(struct trial *t, int side)
{
	return pp_run(t, side, wake_sender, wake_receiver);
}

/*
 * Percentiles of the samples, divided by @div; CPU time per message:
 * both sides over the messages of the measured rounds (two per round).
 */
static void pp_finish(const struct trial *t, struct row *row, double div)
{
	uint64_t n = atomic_load_explicit(&t->sh->nsamples,
					  memory_order_relaxed);
	uint64_t *s = t->sh->samples;
	uint64_t rounds = t->sh->out[1].msgs;

	if (!n) {
		row->err = -ENODATA;
		snprintf(row->what, sizeof(row->what), "no samples");
		return;
	}
	sort_samples(s, n);
	row->p50_ns = (double)percentile(s, n, 50) / div;
	row->p99_ns = (double)percentile(s, n, 99) / div;
	row->p999_ns = (double)percentile(s, n, 99.9) / div;
	row->samples = n;
	if (rounds)
		row->cpu_ns_per_msg = (double)(t->sh->out[0].cpu_ns +
					       t->sh->out[1].cpu_ns) /
				      (2.0 * (double)rounds);
}

static void latency_finish(const struct trial *t, struct row *row)
{
	pp_finish(t, row, 2.0);
}

static void whole_finish(const struct trial *t, struct row *row)
{
	pp_finish(t, row, 1.0);
}

static bool spinning(const struct transport *tr, enum bench_mode mode)
{
	return tr && mode == MODE_POLLED && tr_supports(tr, mode);
}

static bool blocking(const struct transport *tr, enum bench_mode mode)
{
	return tr && mode == MODE_BLOCKING && tr_supports(tr, mode);
}

const struct pattern pat_latency = {
	.name = "latency",
	.side = pingpong_side,
	.finish = latency_finish,
	.supports = spinning,
};

const struct pattern pat_rtt = {
	.name = "rtt",
	.side = pingpong_side,
	.finish = whole_finish,
	.supports = blocking,
};

const struct pattern pat_wake = {
	.name = "wake",
	.side = wake_side,
	.finish = whole_finish,
	.supports = blocking,
};
