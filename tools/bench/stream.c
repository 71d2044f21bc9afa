// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: messages per second on channel 0, from the producers
 * (sides 0..P-1) to the consumers (sides P..P+C-1).
 *
 * Each producer sends numbered messages (its index in the top bits)
 * until the row's time is up, flagging those sent during the warm-up;
 * the last producer to finish sends one STOP per consumer.  Consumers
 * count the unflagged messages and check each producer's numbers only
 * grow (with one consumer: that none is missing).  The rate is the
 * consumers' total over the time from the end of the warm-up to the
 * last STOP received.  CPU time: every side's, over its measured part.
 *
 * Modes: polled (try_send / try_recv, spinning), blocking (send / recv),
 * burst (bursts of BENCH_BURST, spinning when full / empty), zero copy
 * (loan up to BENCH_BURST slots, write the number in place, publish;
 * borrow, read it in place, give back).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct stream {
	void *ep;
	char *buf;			/* BENCH_BURST messages */
	uint64_t measure, stop, deadline;
};

/* Send @n >= 1 messages numbered from @v; how many went, or -errno. */
static int produce(struct trial *t, struct stream *s, uint64_t v,
		   unsigned int n)
{
	size_t size = t->msg_size;
	void *slots[BENCH_BURST];
	unsigned int k, sent;
	int ret;

	switch (t->mode) {
	case MODE_BURST:
		for (k = 0; k < n; k++)
			msg_put(s->buf + k * size, v + k);
		for (sent = 0; sent < n; sent += (unsigned int)ret) {
			ret = t->tr->send_burst(s->ep, s->buf + sent * size,
						n - sent);
			if (ret < 0)
				return ret;
			if (!ret)
				cpu_relax();
		}
		return (int)n;
	case MODE_ZEROCOPY:
		while ((ret = t->tr->loan(s->ep, n, slots)) == 0)
			cpu_relax();
		if (ret < 0)
			return ret;
		for (k = 0; k < (unsigned int)ret; k++)
			msg_put(slots[k], v + k);
		k = (unsigned int)ret;
		ret = t->tr->publish(s->ep, k);
		return ret < 0 ? ret : (int)k;
	default:
		msg_put(s->buf, v);
		ret = xfer_send(t, s->ep, s->buf, s->deadline);
		return ret < 0 ? ret : 1;
	}
}

static int producer(struct trial *t, int side, struct stream *s)
{
	struct side_out *o = &t->sh->out[side];
	uint64_t src = (uint64_t)side << SEQ_SRC_SHIFT;
	uint64_t seq = 0, next_clock = 0, warm = SEQ_WARM, c0 = 0, now;
	uint64_t every = clock_every(t->msg_size);
	unsigned int n = mode_spins(t->mode) && t->mode != MODE_POLLED ?
				 BENCH_BURST : 1;
	int ret, c;

	for (;;) {
		if (seq >= next_clock) {
			now = now_ns();
			/* The check that ends the warm-up never ends the
			 * run: some measured messages always go. */
			if (warm && now >= s->measure) {
				warm = 0;
				c0 = cpu_ns();
			} else if (now >= s->stop) {
				break;
			}
			next_clock = seq + every;
		}
		ret = produce(t, s, src | warm | seq, n);
		if (ret < 0)
			return side_fail(t, side, "send", ret);
		seq += (uint64_t)ret;
	}
	o->cpu_ns = warm ? 0 : cpu_ns() - c0;
	/* The last producer out tells every consumer to stop. */
	if (atomic_fetch_add_explicit(&t->sh->producers_done, 1,
				      memory_order_acq_rel) !=
	    t->producers - 1)
		return 0;
	msg_put(s->buf, SEQ_STOP);
	for (c = 0; c < t->consumers; c++) {
		ret = xfer_send(t, s->ep, s->buf, s->deadline);
		if (ret)
			return side_fail(t, side, "send stop", ret);
	}
	return 0;
}

/* Receive up to BENCH_BURST messages: pointers to them in @msgs. */
static int consume(struct trial *t, struct stream *s, const void **msgs)
{
	size_t size = t->msg_size;
	int ret, k;

	switch (t->mode) {
	case MODE_BURST:
		while ((ret = t->tr->recv_burst(s->ep, s->buf,
						BENCH_BURST)) == 0)
			cpu_relax();
		for (k = 0; k < ret; k++)
			msgs[k] = s->buf + (size_t)k * size;
		return ret;
	case MODE_ZEROCOPY:
		while ((ret = t->tr->borrow(s->ep, BENCH_BURST, msgs)) == 0)
			cpu_relax();
		return ret;
	default:
		ret = xfer_recv(t, s->ep, s->buf, s->deadline);
		msgs[0] = s->buf;
		return ret < 0 ? ret : 1;
	}
}

/* Count @v; 1 at STOP, or -EBADMSG when a producer's numbers go back. */
static int check(struct trial *t, uint64_t v, uint64_t *next, uint64_t *n,
		 uint64_t *c0)
{
	unsigned int src = (unsigned int)((v >> SEQ_SRC_SHIFT) & 0xff);
	uint64_t count = v & SEQ_COUNT_MASK;

	if (v & SEQ_STOP)
		return 1;
	if (src >= (unsigned int)t->producers || count < next[src] ||
	    (t->consumers == 1 && count != next[src]))
		return -EBADMSG;
	next[src] = count + 1;
	if (!(v & SEQ_WARM) && !(*n)++)
		*c0 = cpu_ns();
	return 0;
}

static int consumer(struct trial *t, int side, struct stream *s)
{
	struct side_out *o = &t->sh->out[side];
	uint64_t next[BENCH_MAX_SIDES] = { 0 }, n = 0, c0 = 0;
	const void *msgs[BENCH_BURST];
	int ret, got, k, stop = 0;

	while (!stop) {
		got = consume(t, s, msgs);
		if (got < 0)
			return side_fail(t, side, "receive", got);
		for (k = 0; k < got && !stop; k++) {
			ret = check(t, msg_get(msgs[k]), next, &n, &c0);
			if (ret < 0)
				return side_fail(t, side, "order", ret);
			stop = ret;
		}
		if (t->mode == MODE_ZEROCOPY) {
			ret = t->tr->give_back(s->ep, (unsigned int)got);
			if (ret < 0)
				return side_fail(t, side, "give back", ret);
		}
	}
	o->t_end = now_ns();
	o->cpu_ns = n ? cpu_ns() - c0 : 0;
	o->msgs = n;
	return 0;
}

static int stream_side(struct trial *t, int side)
{
	bool sender = side < t->producers;
	struct stream s = { 0 };
	uint64_t go;
	int ret;

	s.buf = msg_alloc(t, BENCH_BURST);
	if (!s.buf)
		return side_fail(t, side, "malloc", -ENOMEM);
	ret = t->tr->open(t, 0, sender, &s.ep);
	if (ret) {
		free(s.buf);
		return side_fail(t, side, sender ? "open sender" : "open receiver",
				 ret);
	}
	go = side_ready(t);
	s.measure = go + t->opts->warmup_ns;
	s.stop = s.measure + t->opts->time_ns;
	s.deadline = trial_deadline(t, go);
	ret = sender ? producer(t, side, &s) : consumer(t, side, &s);
	t->tr->close(s.ep);
	free(s.buf);
	return ret;
}

static void stream_finish(const struct trial *t, struct row *row)
{
	uint64_t measure = atomic_load_explicit(&t->sh->go_ns,
						memory_order_relaxed) +
			   t->opts->warmup_ns;
	uint64_t msgs = 0, cpu = 0, end = 0;
	int i;

	for (i = 0; i < t->nsides; i++) {
		const struct side_out *o = &t->sh->out[i];

		cpu += o->cpu_ns;
		if (i < t->producers)
			continue;
		msgs += o->msgs;
		if (o->t_end > end)
			end = o->t_end;
	}
	if (!msgs || end <= measure) {
		row->err = -ENODATA;
		snprintf(row->what, sizeof(row->what), "no messages measured");
		return;
	}
	row->samples = msgs;
	row->msgs_per_s = (double)msgs * 1e9 / (double)(end - measure);
	row->bytes_per_s = row->msgs_per_s * (double)t->msg_size;
	row->cpu_ns_per_msg = (double)cpu / (double)msgs;
}

static bool stream_supports(const struct transport *tr, enum bench_mode mode)
{
	return tr && tr_supports(tr, mode);
}

const struct pattern pat_stream = {
	.name = "throughput",
	.side = stream_side,
	.finish = stream_finish,
	.supports = stream_supports,
};
