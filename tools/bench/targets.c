// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: issue 6's targets, read off the rows of this run (each a
 * ratio to a baseline of the same run).  Printed after the table as a
 * list, "met" or "missed" with the figures, or "not measured" when a
 * row it needs did not run (a --filter, one CPU, a failure).  Reported,
 * never asserted: these are goals, not tests.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const struct row *rows;
static size_t n_rows;

static const struct row *find(const char *transport, const char *bench,
			      enum placement p, size_t size)
{
	size_t i;

	for (i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];

		if (!r->err && r->placement == p && r->msg_size == size &&
		    !strcmp(r->transport, transport) &&
		    !strcmp(r->bench, bench))
			return r;
	}
	return NULL;
}

static bool is_rate(const struct row *r)
{
	return strncmp(r->bench, "throughput", 10) == 0;
}

/* @what: @a's figure over @b's, met if at most (@at_most) / at least @limit. */
static void ratio_target(const char *what, const struct row *a,
			 const struct row *b, double limit, bool at_most)
{
	double va, vb, q;

	if (!a || !b) {
		printf("- %s: not measured\n", what);
		return;
	}
	va = is_rate(a) ? a->msgs_per_s : a->p50_ns;
	vb = is_rate(b) ? b->msgs_per_s : b->p50_ns;
	q = va / vb;
	printf("- %s: %s/%s %s %zu B %.4g vs %s/%s %.4g %s = **%.2fx** (target %s %.4gx): **%s**\n",
	       what, a->transport, a->bench, placement_names[a->placement],
	       a->msg_size, va, b->transport, b->bench, vb,
	       is_rate(a) ? "msgs/s" : "ns p50", q, at_most ? "<=" : ">=",
	       limit, (at_most ? q <= limit : q >= limit) ? "met" : "missed");
}

static void rate_target(const char *what, const struct row *a, double min)
{
	if (!a) {
		printf("- %s: not measured\n", what);
		return;
	}
	printf("- %s: %s/%s %s %zu B **%.3g M msgs/s** (target >= %.0f M): **%s**\n",
	       what, a->transport, a->bench, placement_names[a->placement],
	       a->msg_size, a->msgs_per_s / 1e6, min / 1e6,
	       a->msgs_per_s >= min ? "met" : "missed");
}

/* Every row of @rival against the spsc row of the same shape. */
static void beats(const char *rival)
{
	int won = 0, lost = 0;
	size_t i, len = 0;
	char losses[1024] = "";

	for (i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i], *s;
		bool win;

		if (r->err || strcmp(r->transport, rival))
			continue;
		s = find("spsc", r->bench, r->placement, r->msg_size);
		if (!s)
			continue;
		win = is_rate(r) ? s->msgs_per_s > r->msgs_per_s :
				   s->p50_ns < r->p50_ns;
		if (win) {
			won++;
		} else {
			lost++;
			if (len < sizeof(losses) - 80)
				len += (size_t)snprintf(losses + len,
					sizeof(losses) - len, "%s%s %s %zu B",
					lost > 1 ? "; " : "", r->bench,
					placement_names[r->placement],
					r->msg_size);
		}
	}
	if (!won && !lost) {
		printf("- spsc faster than %s on every row: not measured\n",
		       rival);
		return;
	}
	printf("- spsc faster than %s on every row: %d of %d rows: **%s**%s%s\n",
	       rival, won, won + lost, lost ? "missed" : "met",
	       lost ? "; slower on: " : "", losses);
}

void report_targets(const struct row *all, size_t n)
{
	enum placement x = PLACE_CROSS_CPU, s = PLACE_SAME_CPU;

	rows = all;
	n_rows = n;
	printf("\nTargets of issue 6 (ratios of this run's rows):\n\n");
	ratio_target("polled one-way latency <= 1.5x the cache-line ping-pong",
		     find("spsc", "latency-polled", x, 8),
		     find("cacheline", "latency-polled", x, 8), 1.5, true);
	ratio_target("blocking round trip <= 1.2x the futex ping-pong, same CPU",
		     find("spsc", "rtt-blocking", s, 8),
		     find("futex", "rtt-blocking", s, 8), 1.2, true);
	ratio_target("blocking round trip <= 1.2x the futex ping-pong, across CPUs",
		     find("spsc", "rtt-blocking", x, 8),
		     find("futex", "rtt-blocking", x, 8), 1.2, true);
	rate_target("8-byte SPSC throughput unbatched >= 20 M msgs/s",
		    find("spsc", "throughput-polled", x, 8), 20e6);
	rate_target("8-byte SPSC throughput batched >= 100 M msgs/s",
		    find("spsc", "throughput-burst32", x, 8), 100e6);
	ratio_target("zero-copy 1 MiB >= 10x the bandwidth of a copying pipe",
		     find("spsc", "throughput-zerocopy", x, 1 << 20),
		     find("pipe", "throughput-blocking", x, 1 << 20), 10, false);
	beats("boost-mq");
	beats("iceoryx");
	printf("\n");
	fflush(stdout);
}

static const struct row *find_transport(const struct row *v, size_t n,
					const char *transport)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!v[i].err && !strcmp(v[i].transport, transport))
			return &v[i];
	return NULL;
}

void report_kill_target(const struct row *vm, size_t n_vm,
			const struct row *host, size_t n_host)
{
	const struct row *wait = find_transport(vm, n_vm, "wait");
	const struct row *pidfd = find_transport(vm, n_vm, "pidfd");
	size_t i;

	printf("\nTarget of issue 6 (p99 of kill-to-wake rows):\n\n");
	printf("- kill-to-wake <= 1 ms p99 with the module: ");
	if (!wait)
		printf("not measured (no VM row)");
	else
		printf("module `wait` p99 **%.3g ms** (VM; pidfd there %.3g ms): **%s**",
		       wait->p99_ns / 1e6, pidfd ? pidfd->p99_ns / 1e6 : NAN,
		       wait->p99_ns <= 1e6 ? "met" : "missed");
	/* Beside it, what a survivor gets on the host without the module. */
	if (n_host)
		printf("; host (libshmipc backend %s):", host[0].backend);
	for (i = 0; i < n_host; i++) {
		printf("%s %s ", i ? ";" : "", host[i].transport);
		if (host[i].err)
			printf("not measured");
		else
			printf("%.*f ms", host[i].p99_ns < 1e8 ? 2 : 0,
			       host[i].p99_ns / 1e6);
	}
	printf("\n\n");
	fflush(stdout);
}
