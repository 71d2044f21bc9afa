// SPDX-License-Identifier: GPL-2.0
/*
 * shmipc-demo: the project's demo (`make demo` in the VM on the module
 * backend, `make demo-host` on the portable backend).  One run:
 *
 *   - a controller drives DEMO_WORKERS worker processes through INIT,
 *     BEGIN_RUN, a stream of PROCESS(event) transitions (all workers busy
 *     at once, from one thread), END_RUN and STOP;
 *   - at the same time an event builder: DEMO_WRITERS writer processes
 *     fill a pool with event fragments, DEMO_READERS readers take the
 *     complete events;
 *   - at DEMO_KILL_AT percent of each stream, one worker and one reader
 *     are SIGKILLed in the middle of an event;
 *   - then it tells who died, how fast it was noticed, what was restarted
 *     and reclaimed, checks end to end that no event was lost or
 *     duplicated, and prints a latency/throughput table.
 *
 * Exit status: 0 if every check passed, 1 if one failed, 2 on bad usage.
 *
 *   shmipc-demo [--events N] [--progress auto|tty|lines|none] [--timeout S]
 *   shmipc-demo --worker STATUS_REGION     (how the controller starts workers)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"

#define DEFAULT_EVENTS	3000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: shmipc-demo [--events N] [--progress auto|tty|lines|none] [--timeout S]\n"
		"  --events N     events in each stream (20..1000000, default %d)\n"
		"  --progress M   the progress line: redrawn in place (tty), a line a\n"
		"                 second (lines), none; auto: tty if stdout is one\n"
		"  --timeout S    give up (and fail) after S seconds (default 120)\n",
		DEFAULT_EVENTS);
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || n < min || n > max)
		return false;
	*v = n;
	return true;
}

/* Is a region of one of these names still listed (and not torn down)? */
static bool regions_left(const char *a, const char *b)
{
	struct shmipc_region_stat st[256];
	int n = shmipc_list_regions(st, 256), i;

	if (n < 0)
		return true;	/* cannot tell: do not claim it */
	for (i = 0; i < n && i < 256; i++)
		if ((!strcmp(st[i].name, a) || !strcmp(st[i].name, b)) &&
		    !(st[i].flags & SHMIPC_STAT_DESTROYED))
			return true;
	return false;
}

/* The two kills, each armed at DEMO_KILL_AT percent of its stream (the
 * worker's here, the reader's by the event's sequence in the reader) and
 * done once the victim holds an event. */
static void chaos(struct demo_ctl *c, struct demo_eb *eb)
{
	struct demo_status *st = eb->st;
	/* Acquire (below): pairs with the victim's release of its pid
	 * (its event is published with it). */
	static bool armed_worker, hit_worker, hit_reader;
	pid_t pid;
	int ret;

	if (!armed_worker && c->acked * 100 >= c->events * DEMO_KILL_AT) {
		armed_worker = true;
		atomic_store_explicit(&st->worker_stall, 1,
				      memory_order_relaxed);
	}
	pid = atomic_load_explicit(&st->stalled_worker_pid,
				   memory_order_acquire);
	if (pid > 0 && !hit_worker) {
		uint64_t ev = atomic_load_explicit(&st->stalled_event,
						   memory_order_relaxed);

		hit_worker = true;
		ret = demo_ctl_kill(c, pid);
		demo_say("  kill: SIGKILL worker %d (pid %d) while it processes event %llu%s%s",
			 ret < 0 ? -1 : ret, pid, (unsigned long long)ev,
			 ret < 0 ? ": " : "",
			 ret < 0 ? shmipc_strerror(ret) : "");
	}
	pid = atomic_load_explicit(&st->stalled_reader_pid,
				   memory_order_acquire);
	if (pid > 0 && !hit_reader) {
		hit_reader = true;
		ret = demo_eb_kill(eb);
		demo_say("  kill: SIGKILL reader %d (pid %d) while it holds event %llu%s%s",
			 eb->killed_reader, pid,
			 (unsigned long long)eb->killed_seq, ret ? ": " : "",
			 ret ? shmipc_strerror(ret) : "");
	}
}

/* Say what the survivors did about the deaths, once each. */
static void tell(const struct demo_ctl *c, const struct demo_eb *eb)
{
	static unsigned int deaths_told;
	static bool redelivery_told;
	char a[32];

	while (deaths_told < c->n_deaths) {
		const struct demo_worker_death *d = &c->deaths[deaths_told++];

		demo_say("  controller: worker %u (pid %d) died (%s)%s; restarted as pid %d, %s",
			 d->slot, d->pid, demo_wstatus(d->wstatus, a, sizeof(a)),
			 d->expected ? "" : " UNEXPECTEDLY", d->new_pid,
			 d->resent ? "its PROCESS resent" : "nothing in flight");
	}
	/* Acquire: pairs with the reader's release of the flag. */
	if (!redelivery_told && eb->st &&
	    atomic_load_explicit(&eb->st->redelivered, memory_order_acquire) == 1) {
		redelivery_told = true;
		demo_say("  pool: event %llu back to Full, taken by reader %u",
			 (unsigned long long)atomic_load_explicit(
				 &eb->st->redelivered_seq, memory_order_relaxed),
			 atomic_load_explicit(&eb->st->redelivered_by,
					      memory_order_relaxed));
	}
}

int main(int argc, char **argv)
{
	enum demo_progress progress = DEMO_PROGRESS_AUTO;
	uint64_t events = DEFAULT_EVENTS, timeout_s = 120, start, deadline;
	char ctl_name[SHMIPC_NAME_LEN_MAX + 1], eb_name[SHMIPC_NAME_LEN_MAX + 1];
	char exe[PATH_MAX];
	struct demo_ctl c = { 0 };
	struct demo_eb eb = { 0 };
	bool left;
	int i, ret = 0, failed;
	ssize_t n;

	if (argc == 3 && !strcmp(argv[1], "--worker"))
		return demo_worker_main(argv[2]);
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--events") && v &&
			   parse_u64(v, 20, 1000000, &events)) {
			i++;
		} else if (!strcmp(argv[i], "--timeout") && v &&
			   parse_u64(v, 1, 3600, &timeout_s)) {
			i++;
		} else if (!strcmp(argv[i], "--progress") && v) {
			static const char *const modes[] = { "auto", "tty",
							     "lines", "none" };
			unsigned int m;

			for (m = 0; m < 4 && strcmp(v, modes[m]); m++)
				;
			if (m == 4)
				goto bad;
			progress = (enum demo_progress)m;
			i++;
		} else {
			goto bad;
		}
	}
	/* Workers are this program again: by its path, not by PATH. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "shmipc-demo: cannot find itself: %s\n",
			strerror(errno));
		return 1;
	}
	exe[n] = '\0';
	signal(SIGPIPE, SIG_IGN);
	snprintf(ctl_name, sizeof(ctl_name), "demo-ctl-%d", (int)getpid());
	snprintf(eb_name, sizeof(eb_name), "demo-eb-%d", (int)getpid());
	demo_progress_init(progress);
	ret = shmipc_backend();
	if (ret < 0) {
		fprintf(stderr, "shmipc-demo: no backend: %s\n",
			shmipc_strerror(ret));
		return 1;
	}
	printf("shmipc demo: %s backend, %ld CPUs\n", shmipc_backend_name(ret),
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("  controller %s: %d workers, %llu PROCESS(event) transitions\n",
	       ctl_name, DEMO_WORKERS, (unsigned long long)events);
	printf("  event builder %s: %d writers -> pool of %d x %u B buffers -> %d readers, %llu events of %d x %u B fragments\n",
	       eb_name, DEMO_WRITERS, DEMO_POOL_BUFS, DEMO_BUF_SIZE,
	       DEMO_READERS, (unsigned long long)events, DEMO_WRITERS,
	       DEMO_FRAG_SIZE);
	printf("  at %d%% of each stream: SIGKILL one worker and one reader in mid-event\n",
	       DEMO_KILL_AT);
	fflush(stdout);
	start = shmipc_now_ns();
	deadline = start + timeout_s * 1000 * DEMO_MS;

	/* The children first: they must not inherit the controller. */
	ret = demo_eb_start(&eb, eb_name, (uint32_t)events);
	if (!ret) {
		char *wargv[] = { exe, "--worker", eb_name, NULL };

		ret = demo_ctl_start(&c, ctl_name, events, wargv);
	}
	if (!ret)
		demo_eb_go(&eb);
	/* Relaxed: a counter that only grows (the checks come later). */
	while (!ret && !(c.done && atomic_load_explicit(&eb.st->released,
							memory_order_relaxed) >=
						  eb.events)) {
		uint64_t now = shmipc_now_ns();

		if (now >= deadline) {
			ret = -ETIMEDOUT;
			demo_say("shmipc-demo: timed out after %llu s",
				 (unsigned long long)timeout_s);
			break;
		}
		if (!c.done)
			ret = demo_ctl_step(&c, now + 5 * DEMO_MS);
		else
			usleep(5000);
		if (!ret)
			ret = demo_eb_step(&eb);
		if (eb.error || c.error)
			break;
		chaos(&c, &eb);
		tell(&c, &eb);
		demo_progress(&c, &eb, shmipc_now_ns() - start, false);
	}
	if (!ret)
		demo_progress(&c, &eb, shmipc_now_ns() - start, true);
	demo_progress_end();
	demo_ctl_finish(&c);	/* STOP unless it failed; tear down */
	/* The readers leave once idle; after a failure, do not wait long. */
	if (eb.st)
		demo_eb_finish(&eb, shmipc_now_ns() +
					    (ret ? 1000 : 10000) * DEMO_MS);
	demo_eb_close(&eb);
	left = regions_left(ctl_name, eb_name);
	failed = demo_report(&c, &eb, shmipc_now_ns() - start, left);
	demo_eb_free(&eb);
	demo_ctl_free(&c);
	return failed ? 1 : 0;
bad:
	fprintf(stderr, "shmipc-demo: bad option or value: '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
