// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mpmc_workers [WORKERS [JOBS]]: a pool of worker processes fed through
 * one MPMC queue and answering through another.
 *
 * The parent makes a region with two queues, "jobs" and "results", and
 * forks WORKERS (default 4) processes.  It sends the numbers 1..JOBS
 * (default 10000) on "jobs"; whichever worker is free takes the next one,
 * computes the length of its Collatz sequence and sends it back on
 * "results".  A thread of the parent collects and checks every answer.
 * A job of 0 tells a worker to stop.
 *
 * Shows: many processes sending and receiving on one queue, children that
 * open the region by name after fork(), blocking calls with deadlines, and
 * removing the region at the end.
 * Exit status: 0 when every answer came back right, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include <shmipc.h>

#define WORKERS_MAX	64
#define QUEUE_CAPACITY	64		/* messages per queue, a power of two */
/* Give up after this long without progress (a worker hung or died). */
#define PATIENCE_NS	(30 * 1000000000ULL)

struct job {
	uint64_t n;			/* 0: stop */
};

struct result {
	uint64_t n;
	uint32_t steps;			/* of n's Collatz sequence */
	uint32_t worker;		/* who computed it */
};

static uint32_t collatz_steps(uint64_t n)
{
	uint32_t steps = 0;

	for (; n > 1; steps++)
		n = (n & 1) ? 3 * n + 1 : n / 2;
	return steps;
}

/* Open both queues of region @r. */
static int open_queues(struct shmipc_region *r, struct shmipc_mpmc **jobs,
		       struct shmipc_mpmc **results)
{
	int err = shmipc_mpmc_open(r, "jobs", jobs);

	if (err)
		return err;
	err = shmipc_mpmc_open(r, "results", results);
	if (err)
		shmipc_mpmc_close(*jobs);
	return err;
}

/* A worker process: take jobs until told to stop. */
static int worker(const char *name, uint32_t id)
{
	struct shmipc_mpmc *jobs, *results;
	struct shmipc_region *r;
	struct job job;
	int err;

	/* A new process is a new peer: it opens the region by name (the
	 * parent's handles, copied by fork(), are not its own). */
	err = shmipc_region_open(name, 0, 0, 0, &r);
	if (err)
		goto out;
	err = open_queues(r, &jobs, &results);
	if (err)
		goto close_region;
	for (;;) {
		/* Any free worker gets the next job; each job goes to one. */
		err = shmipc_mpmc_recv(jobs, &job,
				       shmipc_deadline_in(PATIENCE_NS));
		if (err || job.n == 0)
			break;
		struct result res = {
			.n = job.n, .steps = collatz_steps(job.n), .worker = id,
		};
		err = shmipc_mpmc_send(results, &res,
				       shmipc_deadline_in(PATIENCE_NS));
		if (err)
			break;
	}
	shmipc_mpmc_close(results);
	shmipc_mpmc_close(jobs);
close_region:
	shmipc_region_close(r);
out:
	if (err)
		fprintf(stderr, "worker %u: %s\n", id, shmipc_strerror(err));
	return err ? 1 : 0;
}

struct collector {
	struct shmipc_mpmc *results;
	uint64_t jobs;
	unsigned long done[WORKERS_MAX];	/* answers per worker */
	unsigned char *seen;			/* per job number */
	int err;
};

/* The parent's second thread: receive and check every answer while the
 * main thread sends jobs (so neither queue can stay full). */
static void *collect(void *arg)
{
	struct collector *c = arg;
	struct result res;
	uint64_t i;

	for (i = 0; i < c->jobs; i++) {
		int err = shmipc_mpmc_recv(c->results, &res,
					   shmipc_deadline_in(PATIENCE_NS));

		if (err) {
			c->err = err;
			break;
		}
		/* A worker wrote it: check before using it as an index.  A
		 * wrong answer is counted, and the rest still collected (so
		 * that no worker blocks on a full queue). */
		if (res.n < 1 || res.n > c->jobs || c->seen[res.n] ||
		    res.worker >= WORKERS_MAX ||
		    res.steps != collatz_steps(res.n)) {
			fprintf(stderr, "bad answer for %" PRIu64 "\n", res.n);
			c->err = -EBADMSG;
			continue;
		}
		c->seen[res.n] = 1;
		c->done[res.worker]++;
	}
	return NULL;
}

static int parse(const char *s, unsigned long min, unsigned long max,
		 unsigned long *out)
{
	char *end;

	*out = strtoul(s, &end, 10);
	return *s >= '0' && *s <= '9' && !*end && *out >= min && *out <= max;
}

int main(int argc, char **argv)
{
	struct collector c = { .err = 0 };
	struct shmipc_mpmc *jobs, *results;
	unsigned long nworkers = 4, njobs = 10000, w;
	pid_t pids[WORKERS_MAX];
	struct shmipc_region *r;
	pthread_t thread;
	int err, rc = 0;
	char name[64];
	uint64_t n;

	if ((argc > 1 && !parse(argv[1], 1, WORKERS_MAX, &nworkers)) ||
	    (argc > 2 && !parse(argv[2], 1, 100000000, &njobs)) || argc > 3) {
		fprintf(stderr, "usage: %s [WORKERS (1..%d) [JOBS]]\n",
			argv[0], WORKERS_MAX);
		return 1;
	}
	c.jobs = njobs;
	c.seen = calloc(njobs + 1, 1);
	if (!c.seen)
		return 1;

	/* A fresh region of our own: EXCL fails rather than share one. */
	snprintf(name, sizeof(name), "mpmc-example-%d", (int)getpid());
	err = shmipc_region_open(name, 1 << 20, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL, &r);
	if (!err)
		err = shmipc_mpmc_create(r, "jobs", sizeof(struct job),
					 QUEUE_CAPACITY);
	if (!err)
		err = shmipc_mpmc_create(r, "results", sizeof(struct result),
					 QUEUE_CAPACITY);
	if (err) {
		fprintf(stderr, "%s: %s\n", name, shmipc_strerror(err));
		return 1;
	}
	printf("mpmc_workers: %lu workers, %lu jobs, region %s (%s backend)\n",
	       nworkers, njobs, name, shmipc_backend_name(shmipc_backend()));
	fflush(stdout);		/* before fork(): print it once */

	/* Fork before starting any thread. */
	for (w = 0; w < nworkers; w++) {
		pids[w] = fork();
		if (pids[w] == 0)
			_exit(worker(name, (uint32_t)w));
		if (pids[w] < 0) {
			perror("fork");
			nworkers = w;	/* stop those that run */
			rc = 1;
			break;
		}
	}

	err = open_queues(r, &jobs, &results);
	if (err) {
		fprintf(stderr, "queues: %s\n", shmipc_strerror(err));
		shmipc_region_unlink(name);
		return 1;	/* the workers time out and exit */
	}
	c.results = results;
	if (rc == 0 && pthread_create(&thread, NULL, collect, &c) != 0)
		rc = 1;

	/* Jobs 1..njobs, then one stop per worker.  A send sleeps while the
	 * queue is full, until a worker takes a job. */
	for (n = 1; n <= njobs && rc == 0; n++) {
		struct job job = { .n = n };

		err = shmipc_mpmc_send(jobs, &job,
				       shmipc_deadline_in(PATIENCE_NS));
		if (err) {
			fprintf(stderr, "send: %s\n", shmipc_strerror(err));
			rc = 1;
		}
	}
	for (w = 0; w < nworkers; w++) {
		struct job stop = { .n = 0 };

		shmipc_mpmc_send(jobs, &stop, shmipc_deadline_in(PATIENCE_NS));
	}
	if (rc == 0)
		pthread_join(thread, NULL);

	for (w = 0; w < nworkers; w++) {
		int status;

		if (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "worker %lu failed\n", w);
			rc = 1;
		}
	}
	if (rc == 0 && c.err) {
		fprintf(stderr, "results: %s\n", shmipc_strerror(c.err));
		rc = 1;
	}
	if (rc == 0) {
		for (w = 0; w < nworkers; w++)
			printf("worker %lu: %lu jobs\n", w, c.done[w]);
		printf("mpmc_workers: %lu results checked\n", njobs);
	}

	shmipc_mpmc_close(results);
	shmipc_mpmc_close(jobs);
	shmipc_region_unlink(name);	/* the name goes; so does the memory */
	shmipc_region_close(r);
	free(c.seen);
	return rc;
}
