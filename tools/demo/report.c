// SPDX-License-Identifier: GPL-2.0
/*
 * What the demo prints: a progress line while it runs (redrawn in place
 * on a terminal, a plain line a second otherwise), the lines that tell
 * what happens as it happens, and at the end the story of the deaths,
 * the checks (each "ok" or "FAIL") and a latency/throughput table.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "demo.h"

static enum demo_progress mode;
static char line[160];		/* the progress line last drawn */
static bool shown;		/* tty: it is on the screen */
static uint64_t last_draw;

void demo_progress_init(enum demo_progress m)
{
	if (m == DEMO_PROGRESS_AUTO)
		m = isatty(STDOUT_FILENO) ? DEMO_PROGRESS_TTY :
					    DEMO_PROGRESS_LINES;
	mode = m;
}

static void erase(void)
{
	if (shown)
		fputs("\r\033[K", stdout);
	shown = false;
}

void demo_progress(const struct demo_ctl *c, const struct demo_eb *eb,
		   uint64_t elapsed_ns, bool force)
{
	uint64_t now = shmipc_now_ns();
	uint64_t period = mode == DEMO_PROGRESS_TTY ? 100 * DEMO_MS :
						      1000 * DEMO_MS;
	unsigned int kills = (c->killed_pid != 0) + (eb->killed_reader >= 0);

	if (mode == DEMO_PROGRESS_NONE || (!force && now - last_draw < period))
		return;
	last_draw = now;
	/* Relaxed: a display of counters that only grow. */
	snprintf(line, sizeof(line),
		 "%5.1f s  controller %llu/%llu events  pool %llu/%u events  kills %u/2",
		 (double)elapsed_ns / 1e9, (unsigned long long)c->acked,
		 (unsigned long long)c->events,
		 (unsigned long long)(eb->st ? atomic_load_explicit(
				&eb->st->released, memory_order_relaxed) : 0),
		 eb->events, kills);
	if (mode == DEMO_PROGRESS_TTY) {
		erase();
		fputs(line, stdout);
		shown = true;
	} else {
		printf("  progress %s\n", line);
	}
	fflush(stdout);
}

void demo_say(const char *fmt, ...)
{
	va_list ap;
	bool redraw = shown;

	erase();
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (redraw) {
		fputs(line, stdout);
		shown = true;
	}
	fflush(stdout);
}

void demo_progress_end(void)
{
	erase();
	fflush(stdout);
}

const char *demo_wstatus(int wstatus, char *buf, size_t len)
{
	if (wstatus == -1)
		snprintf(buf, len, "?");
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "%s", WTERMSIG(wstatus) == SIGKILL ?
			 "SIGKILL" : strsignal(WTERMSIG(wstatus)));
	else
		snprintf(buf, len, "exit %d", WEXITSTATUS(wstatus));
	return buf;
}

/* @ns in ns, us, ms or s. */
static const char *fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.0f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The @pct-th percentile of @v (sorted in place). */
static uint64_t percentile(uint64_t *v, uint64_t n, unsigned int pct)
{
	uint64_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	i = (n * pct + 99) / 100;
	return v[i ? i - 1 : 0];
}

static int failed;
static unsigned int checks;

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	failed += !ok;
	printf("  %-5s ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void row(const char *what, uint64_t *v, uint64_t n, const char *rate)
{
	char a[32], b[32];

	printf("  %-44s %9s %9s  %s\n", what,
	       n ? fmt_ns(percentile(v, n, 50), a, sizeof(a)) : "",
	       n ? fmt_ns(percentile(v, n, 99), b, sizeof(b)) : "", rate);
}

/* Tell what happened to the workers; true if it went as planned. */
static bool story_workers(const struct demo_ctl *c)
{
	unsigned int i, planned = 0;
	bool ok = c->n_deaths == 1;
	char a[32], b[32], st[32];

	for (i = 0; i < c->n_deaths; i++) {
		const struct demo_worker_death *d = &c->deaths[i];

		printf("  worker %u (pid %d) %s: killed by %s while it processed event %llu\n",
		       d->slot, d->pid, d->expected ? "killed by the demo" :
		       "DIED UNEXPECTEDLY", demo_wstatus(d->wstatus, st, sizeof(st)),
		       (unsigned long long)d->event);
		if (d->expected) {
			planned++;
			printf("    noticed by the controller %s after the kill (shmipc_ctl_poll: -EOWNERDEAD)\n",
			       fmt_ns(d->notice_ns - d->kill_ns, a, sizeof(a)));
		}
		printf("    restarted as pid %d in %s; ", d->new_pid,
		       fmt_ns(d->restarted_ns - d->notice_ns, b, sizeof(b)));
		if (d->resent)
			printf("PROCESS(event %llu) resent, answered by pid %d%s\n",
			       (unsigned long long)d->event, d->new_pid,
			       d->resent_ok ? "" : ": NO (answered by someone else)");
		else
			printf("nothing was in flight\n");
		ok = ok && d->expected && d->resent && d->resent_ok &&
		     d->wstatus != -1 && WIFSIGNALED(d->wstatus) &&
		     WTERMSIG(d->wstatus) == SIGKILL;
	}
	if (!c->killed_pid)
		printf("  no worker was killed\n");
	return ok && planned == 1;
}

/* Tell what happened to the readers and writers; true if as planned. */
static bool story_builder(const struct demo_eb *eb)
{
	int i, k = eb->killed_reader;
	bool ok = k >= 0;
	char a[32], st[32];

	if (k >= 0) {
		int ws = eb->reader_status[k];

		printf("  reader %d (pid %d) killed by the demo: killed by %s while it held event %llu\n",
		       k, eb->killed_pid, demo_wstatus(ws, st, sizeof(st)),
		       (unsigned long long)eb->killed_seq);
		ok = ok && WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL;
		printf("    its buffer went back to Full (REDELIVERED), repaired %s\n",
		       eb->supervisor_repaired ?
		       "by the demo's shmipc_evpool_reclaim() once it reaped the reader" :
		       "by a survivor's call (before the demo reaped the reader)");
		if (eb->redelivered) {
			printf("    event %llu redelivered to reader %u %s after the kill\n",
			       (unsigned long long)eb->redelivered_seq,
			       eb->redelivered_by,
			       fmt_ns(eb->redelivered_at_ns - eb->kill_ns, a,
				      sizeof(a)));
			ok = ok && eb->redelivered_seq == eb->killed_seq &&
			     eb->redelivered_by != (uint32_t)k;
		} else {
			printf("    its event was NOT redelivered\n");
			ok = false;
		}
	} else {
		printf("  no reader was killed\n");
	}
	for (i = 0; i < DEMO_READERS; i++) {
		if (i == k)
			continue;
		if (eb->reader_status[i] != 0) {
			printf("  reader %d ended with %s\n", i,
			       demo_wstatus(eb->reader_status[i], st, sizeof(st)));
			ok = false;
		}
	}
	for (i = 0; i < DEMO_WRITERS; i++) {
		if (eb->writer_status[i] != 0) {
			printf("  writer %d ended with %s\n", i,
			       demo_wstatus(eb->writer_status[i], st, sizeof(st)));
			ok = false;
		}
	}
	return ok;
}

int demo_report(struct demo_ctl *c, struct demo_eb *eb, uint64_t elapsed_ns,
		bool regions_left)
{
	const struct shmipc_evpool_stats *s = &eb->end;
	uint64_t ctl_ns = c->end_ns > c->start_ns ? c->end_ns - c->start_ns : 0;
	uint64_t eb_ns = eb->last_release_ns > eb->first_write_ns ?
			 eb->last_release_ns - eb->first_write_ns : 0;
	bool workers_ok, builder_ok;
	char rate[64];
	unsigned int i;

	printf("\nwhat happened\n");
	workers_ok = story_workers(c);
	builder_ok = story_builder(eb);
	printf("  per worker (slot 0..%d):", DEMO_WORKERS - 1);
	for (i = 0; i < DEMO_WORKERS; i++)
		printf(" %llu", (unsigned long long)c->per_worker[i]);
	printf(" events; per reader (0..%d):", DEMO_READERS - 1);
	for (i = 0; i < DEMO_READERS; i++)
		printf(" %llu", (unsigned long long)eb->per_reader[i]);
	printf(" events\n");
	printf("  pool at the end: %u of %u buffers Empty; %llu events completed, %llu returned by a dead reader, %llu partial events dropped\n",
	       s->empty, s->buffers, (unsigned long long)s->completed,
	       (unsigned long long)s->dead_reader_returns,
	       (unsigned long long)s->dead_writer_drops);
	if (c->error)
		printf("  controller error: %s: %s\n", c->error_what,
		       shmipc_strerror(c->error));
	if (eb->error)
		printf("  event builder error: %s: %s\n", eb->error_what,
		       shmipc_strerror(eb->error));
	if (eb->errors)
		printf("  %llu failed calls in the children, the first: %s\n",
		       (unsigned long long)eb->errors,
		       shmipc_strerror(eb->first_error));

	printf("\nchecks\n");
	failed = 0;
	checks = 0;
	check(c->acked == c->events && !c->dup_acks && !c->bad_results &&
	      !c->error,
	      "controller: %llu/%llu events acknowledged, each exactly once, every digest right",
	      (unsigned long long)c->acked, (unsigned long long)c->events);
	check(workers_ok,
	      "worker killed mid-transition: death seen, worker restarted, the transition resent and answered by the new one");
	check(eb->released == eb->events && !eb->missing && !eb->duplicated &&
	      !eb->bad_events,
	      "pool: %llu/%u events delivered, %llu lost, %llu duplicated, %llu corrupt (every byte checked)",
	      (unsigned long long)eb->released, eb->events,
	      (unsigned long long)eb->missing,
	      (unsigned long long)eb->duplicated,
	      (unsigned long long)eb->bad_events);
	check(builder_ok && s->dead_reader_returns == 1,
	      "reader killed holding an event: the event went back to Full and to another reader, once");
	check(s->empty == s->buffers && s->completed == eb->events &&
	      !s->dead_writer_drops && !eb->error,
	      "pool drained: every buffer Empty, every event completed, no partial event dropped");
	check(!eb->errors, "no library call failed in a worker, writer or reader");
	check(!regions_left, "nothing left behind: no region of the demo listed");

	printf("\nlatency and throughput (%s backend)\n",
	       shmipc_backend_name(shmipc_backend()));
	printf("  %-44s %9s %9s  %s\n", "", "p50", "p99", "rate");
	row("transition round trip (PING, one at a time)",
	    c->ping, DEMO_PINGS, "");
	snprintf(rate, sizeof(rate), "%.0f events/s",
		 ctl_ns ? c->acked * 1e9 / ctl_ns : 0.0);
	row("PROCESS(event) round trip, 4 in flight", c->rtt, c->n_rtt, rate);
	snprintf(rate, sizeof(rate), "%.0f events/s (%.1f MB/s)",
		 eb_ns ? eb->released * 1e9 / eb_ns : 0.0,
		 eb_ns ? eb->released * 2.0 * DEMO_FRAG_SIZE * 1e3 / eb_ns :
			 0.0);
	row("pool event: last fragment written -> taken", eb->lat, eb->n_lat,
	    rate);
	printf("  (both streams ran at once, sharing the CPUs)\n");

	printf("\ndemo: %s (%u checks, %u failed) in %.1f s\n",
	       failed ? "FAIL" : "PASS", checks, failed,
	       (double)elapsed_ns / 1e9);
	fflush(stdout);
	return failed;
}
