// SPDX-License-Identifier: GPL-2.0
/*
 * ctlscale: two of issue 6's rows that are not message streams.
 *
 *   ctl/transition-rtt   one controller/worker transition (PROCESS, 8 B
 *                        payload echoed back): shmipc_ctl_transition()
 *                        from request to reply, worker forked and pinned
 *                        (same CPU as the controller, or the other one)
 *   spsc/scale-<N>ch     a blocking SPSC round trip (8 B there and back,
 *                        send/recv) while N-1 other channels sit idle,
 *                        each with a consumer thread asleep in recv: how
 *                        the cost grows with channels and sleeping
 *                        waiters.  A region's directory holds
 *                        SHMIPC_DIR_ENTRIES keys, so the channels are
 *                        spread over N/32 + 1 regions (the measured pair
 *                        shares the first with up to 30 idle channels).
 *
 * Usage: ctlscale [--json FILE] [--time-ms N]   (default 100 ms per row)
 * A Markdown table on stdout; with --json one object per row with
 * chanbench's fields (tools/bench/README.md).  Not a test: it reports.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "shmipc.h"
#include "bench.h"

#define MAX_SAMPLES	20000
#define MIN_SAMPLES	200
#define WARMUP_NS	10000000ULL
#define CALL_NS		5000000000ULL	/* a blocking call's deadline */
#define PER_REGION	SHMIPC_DIR_ENTRIES

static uint64_t row_ns = 100000000ULL;
static uint64_t samples[MAX_SAMPLES];
static FILE *json;
static const char *backend;

static void emit(const char *bench, const char *transport, enum placement p,
		 size_t n)
{
	double p50, p99, p999;

	if (!n)
		return;
	sort_samples(samples, n);
	p50 = (double)percentile(samples, n, 50);
	p99 = (double)percentile(samples, n, 99);
	p999 = (double)percentile(samples, n, 99.9);
	static const char *const places[] = { "same-cpu", "cross-cpu" };

	printf("| %s | %s | %s | %.2f | %.2f | %.2f | %zu |\n", transport,
	       bench, places[p], p50 / 1e3, p99 / 1e3, p999 / 1e3, n);
	if (json)
		fprintf(json, "{\"bench\":\"%s\",\"backend\":\"%s\",\"transport\":\"%s\",\"placement\":\"%s\",\"msg_size\":8,\"p50_ns\":%.1f,\"p99_ns\":%.1f,\"p999_ns\":%.1f,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":null,\"ratio\":null,\"baseline\":null,\"samples\":%zu}\n",
			bench, backend, transport, places[p], p50, p99,
			p999, n);
	fflush(stdout);
}

/* Timed round trips of @once until row_ns has passed (after a warm-up):
 * how many samples, or -errno. */
static long measure(int (*once)(void *arg, uint64_t seq), void *arg)
{
	uint64_t start = now_ns(), seq = 0, t0;
	size_t n = 0;
	int ret;

	while (now_ns() - start < WARMUP_NS)
		if ((ret = once(arg, ++seq)))
			return ret;
	start = now_ns();
	/* At least MIN_SAMPLES where rows are slow, within 10 row times. */
	for (;;) {
		uint64_t spent = now_ns() - start;

		if (n == MAX_SAMPLES || spent >= 10 * row_ns ||
		    (spent >= row_ns && n >= MIN_SAMPLES))
			break;
		t0 = now_ns();
		if ((ret = once(arg, ++seq)))
			return ret;
		samples[n++] = now_ns() - t0;
	}
	return (long)n;
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "ctlscale: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* ---- controller/worker transition ---- */

static void ctl_worker(const char *spec, int cpu)
{
	struct shmipc_worker *w;
	unsigned int kind;
	const void *payload;
	size_t len;
	int ret;

	pin_cpu(cpu);
	ret = shmipc_worker_open(spec, &w);
	while (!ret) {
		ret = shmipc_worker_next(w, &kind, &payload, &len,
					 SHMIPC_FOREVER);
		if (!ret)
			ret = shmipc_worker_reply(w, payload, len);
		if (!ret && kind == SHMIPC_CTL_STOP)
			break;
	}
	shmipc_worker_close(w);
	_exit(ret ? 1 : 0);
}

static int ctl_once(void *arg, uint64_t seq)
{
	const void *reply;
	size_t len;
	int ret;

	ret = shmipc_ctl_transition(arg, SHMIPC_CTL_PROCESS, &seq, sizeof(seq),
				    &reply, &len, shmipc_deadline_in(CALL_NS));
	if (ret)
		return ret;
	return len == sizeof(seq) && msg_get(reply) == seq ? 0 : -EBADMSG;
}

static void bench_ctl(const int cpu[2], enum placement p)
{
	char name[48];
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;
	long n;
	pid_t pid;
	int ret, st;

	snprintf(name, sizeof(name), "ctlscale-%d", (int)getpid());
	shmipc_ctl_unlink(name);	/* a leftover of a killed run */
	if ((ret = shmipc_ctl_create(name, 1, 64, &ctl)))
		fail("ctl_create", ret);
	if ((ret = shmipc_ctl_attach(ctl, 0, &w)))
		fail("ctl_attach", ret);
	pid = fork();
	if (pid < 0)
		fail("fork", -errno);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* no orphan if we fail */
		ctl_worker(shmipc_ctl_worker_name(w), cpu[1]);
	}
	pin_cpu(cpu[0]);
	n = measure(ctl_once, w);
	if (n < 0)
		fail("transition", (int)n);
	ret = shmipc_ctl_transition(w, SHMIPC_CTL_STOP, NULL, 0, NULL, NULL,
				    shmipc_deadline_in(CALL_NS));
	if (ret)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	shmipc_ctl_destroy(ctl);
	emit("transition-rtt", "ctl", p, (size_t)n);
}

/* ---- channel-count scaling ---- */

struct ping {
	struct shmipc_spsc *tx, *rx;
};

static int ping_once(void *arg, uint64_t seq)
{
	struct ping *pp = arg;
	uint64_t back;
	int ret;

	ret = shmipc_spsc_send(pp->tx, &seq, shmipc_deadline_in(CALL_NS));
	if (!ret)
		ret = shmipc_spsc_recv(pp->rx, &back, shmipc_deadline_in(CALL_NS));
	return ret ? ret : back == seq ? 0 : -EBADMSG;
}

static atomic_int idle_ready;

static void *idle_waiter(void *ch)
{
	uint64_t msg;

	/* Relaxed: a count the main thread polls, nothing published by it. */
	atomic_fetch_add_explicit(&idle_ready, 1, memory_order_relaxed);
	/* Asleep until the end of the row: one message, then gone. */
	shmipc_spsc_recv(ch, &msg, SHMIPC_FOREVER);
	return NULL;
}

/* Region @r of the row run by @owner. */
static void region_name(char *buf, size_t len, pid_t owner, int r)
{
	snprintf(buf, len, "ctlscale-%d-r%d", (int)owner, r);
}

/* Idle channel @k lives in region (k + 2) / PER_REGION as "i<k>". */
static int idle_region(int k)
{
	return (k + 2) / PER_REGION;
}

static int open_regions(pid_t owner, int nreg, struct shmipc_region **r)
{
	char name[64];
	int i, ret;

	for (i = 0; i < nreg; i++) {
		region_name(name, sizeof(name), owner, i);
		if ((ret = shmipc_region_open(name, 0, 0, 0, &r[i])))
			return ret;
	}
	return 0;
}

/* The idle process: a consumer thread asleep on each idle channel. */
static void idle_side(pid_t owner, int nchan, int nreg, int ready_fd)
{
	struct shmipc_region *r[nreg];
	struct shmipc_spsc **ch = calloc((size_t)nchan, sizeof(*ch));
	pthread_t *th = calloc((size_t)nchan, sizeof(*th));
	pthread_attr_t attr;
	char key[16];
	int k, ret;

	if (!ch || !th || (ret = open_regions(owner, nreg, r)))
		_exit(1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (k = 0; k < nchan - 1; k++) {
		snprintf(key, sizeof(key), "i%d", k);
		if (shmipc_spsc_open(r[idle_region(k)], key,
				     SHMIPC_CONSUMER, &ch[k]) ||
		    pthread_create(&th[k], &attr, idle_waiter, ch[k]))
			_exit(1);
	}
	while (atomic_load_explicit(&idle_ready, memory_order_relaxed) <
	       nchan - 1)
		sleep_ns(1000000);
	ret = write(ready_fd, "r", 1) == 1 ? 0 : 1;
	for (k = 0; k < nchan - 1; k++) {
		pthread_join(th[k], NULL);
		shmipc_spsc_close(ch[k]);
	}
	for (k = 0; k < nreg; k++)
		shmipc_region_close(r[k]);
	_exit(ret);
}

/* The echo side: what comes on "ping" goes back on "pong". */
static void echo_side(pid_t owner, int cpu)
{
	struct shmipc_region *r;
	struct ping pp;
	uint64_t msg;
	int ret;

	pin_cpu(cpu);
	if (open_regions(owner, 1, &r) ||
	    shmipc_spsc_open(r, "ping", SHMIPC_CONSUMER, &pp.rx) ||
	    shmipc_spsc_open(r, "pong", SHMIPC_PRODUCER, &pp.tx))
		_exit(1);
	while (!(ret = shmipc_spsc_recv(pp.rx, &msg, SHMIPC_FOREVER)) &&
	       !(msg & SEQ_STOP) &&
	       !(ret = shmipc_spsc_send(pp.tx, &msg, shmipc_deadline_in(CALL_NS))))
		;
	shmipc_spsc_close(pp.rx);
	shmipc_spsc_close(pp.tx);
	shmipc_region_close(r);
	_exit(ret ? 1 : 0);
}

static void bench_scale(int nchan, const int cpu[2], enum placement p)
{
	int nreg = idle_region(nchan - 2 < 0 ? 0 : nchan - 2) + 1, i, k, ret;
	size_t size = SHMIPC_REGION_HDR_SIZE + PER_REGION * 4096;
	struct shmipc_region *r[nreg];
	struct ping pp;
	pid_t idle, echo;
	char name[64], key[16], c;
	uint64_t stop = SEQ_STOP;
	int pfd[2], st, bad = 0;
	long n;

	for (i = 0; i < nreg; i++) {
		region_name(name, sizeof(name), getpid(), i);
		shmipc_region_unlink(name);
		ret = shmipc_region_open(name, size, 0600, SHMIPC_REGION_CREATE |
					 SHMIPC_REGION_EXCL, &r[i]);
		if (ret)
			fail("region_open", ret);
	}
	if ((ret = shmipc_spsc_create(r[0], "ping", 8, 2)) ||
	    (ret = shmipc_spsc_create(r[0], "pong", 8, 2)))
		fail("spsc_create", ret);
	for (k = 0; k < nchan - 1; k++) {
		snprintf(key, sizeof(key), "i%d", k);
		if ((ret = shmipc_spsc_create(r[idle_region(k)], key, 8, 2)))
			fail("spsc_create", ret);
	}
	if (pipe(pfd))
		fail("pipe", -errno);
	idle = fork();
	if (!idle) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* no orphan if we fail */
		idle_side(getppid(), nchan, nreg, pfd[1]);
	}
	if (read(pfd[0], &c, 1) != 1)
		fail("idle waiters", -EIO);
	close(pfd[0]);
	close(pfd[1]);
	sleep_ns(50000000);	/* well past their spin: all asleep */
	echo = fork();
	if (!echo) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		echo_side(getppid(), cpu[1]);
	}
	pin_cpu(cpu[0]);
	if ((ret = shmipc_spsc_open(r[0], "ping", SHMIPC_PRODUCER, &pp.tx)) ||
	    (ret = shmipc_spsc_open(r[0], "pong", SHMIPC_CONSUMER, &pp.rx)))
		fail("spsc_open", ret);
	n = measure(ping_once, &pp);
	shmipc_spsc_send(pp.tx, &stop, shmipc_deadline_in(CALL_NS));
	shmipc_spsc_close(pp.tx);
	shmipc_spsc_close(pp.rx);
	for (k = 0; k < nchan - 1; k++) {	/* wake every idle waiter */
		struct shmipc_spsc *tx;

		snprintf(key, sizeof(key), "i%d", k);
		if (shmipc_spsc_open(r[idle_region(k)], key,
				     SHMIPC_PRODUCER, &tx)) {
			bad = 1;
			continue;
		}
		shmipc_spsc_send(tx, &stop, shmipc_deadline_in(CALL_NS));
		shmipc_spsc_close(tx);
	}
	waitpid(echo, &st, 0);
	bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	waitpid(idle, &st, 0);
	bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	for (i = 0; i < nreg; i++) {
		shmipc_region_close(r[i]);
		region_name(name, sizeof(name), getpid(), i);
		shmipc_region_unlink(name);
	}
	if (n < 0)
		fail("round trip", (int)n);
	if (bad)
		fail("a side failed", -EIO);
	snprintf(name, sizeof(name), "scale-%dch", nchan);
	emit(name, "spsc", p, (size_t)n);
}

int main(int argc, char **argv)
{
	static const int counts[] = { 1, 16, 256, 1024 };
	int cpus[2], ncpus, i, p;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			json = fopen(argv[++i], "w");
			if (!json)
				fail(argv[i], -errno);
		} else if (!strcmp(argv[i], "--time-ms") && i + 1 < argc) {
			row_ns = strtoull(argv[++i], NULL, 10) * 1000000ULL;
		} else {
			row_ns = 0;	/* unknown option: refused below */
		}
		if (!row_ns || row_ns > 60000000000ULL) {
			fprintf(stderr, "usage: ctlscale [--json FILE] [--time-ms 1..60000]\n");
			return 2;
		}
	}
	i = shmipc_backend();
	if (i < 0)
		fail("shmipc_backend", i);
	backend = shmipc_backend_name(i);
	ncpus = pick_cpus(cpus);
	if (ncpus < 1)
		fail("sched_getaffinity", ncpus ? ncpus : -ENODEV);
	printf("Round trips, 8 B, %s backend, %llu ms per row; latency in µs.\n\n",
	       backend, (unsigned long long)(row_ns / 1000000));
	printf("| transport | bench | placement | p50 | p99 | p999 | samples |\n");
	printf("| --- | --- | --- | ---: | ---: | ---: | ---: |\n");
	for (p = PLACE_SAME_CPU; p <= PLACE_CROSS_CPU; p++) {
		int cpu[2] = { cpus[0], p == PLACE_SAME_CPU || ncpus < 2 ?
					cpus[0] : cpus[1] };

		if (p == PLACE_CROSS_CPU && ncpus < 2)
			break;
		bench_ctl(cpu, (enum placement)p);
		for (i = 0; i < (int)(sizeof(counts) / sizeof(counts[0])); i++)
			bench_scale(counts[i], cpu, (enum placement)p);
	}
	if (json)
		fclose(json);
	return 0;
}
