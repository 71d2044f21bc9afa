// SPDX-License-Identifier: GPL-2.0
/* chanbench: clocks, CPU time and pinning. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <sys/resource.h>

#include "bench.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ULL + (uint64_t)tv.tv_usec * 1000;
}

uint64_t cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int pick_cpus(int cpus[2])
{
	cpu_set_t set;
	int cpu, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	return n;
}

/* The median of many back-to-back reads: what each sample carries. */
double clock_cost_ns(void)
{
	enum { READS = 2001 };
	static uint64_t d[READS];
	uint64_t prev = now_ns();
	int i;

	for (i = 0; i < READS; i++) {
		uint64_t t = now_ns();

		d[i] = t - prev;
		prev = t;
	}
	sort_samples(d, READS);
	return (double)percentile(d, READS, 50);
}
