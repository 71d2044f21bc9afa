// SPDX-License-Identifier: GPL-2.0
/*
 * spsc-bench: libshmipc SPSC figures beside a bare cache-line ping-pong
 * baseline measured in the same run.  Not a test.
 *
 *   spsc-bench [ROUNDS] [MSGS]
 *
 * Two processes pinned to CPUs 0 and 1 (different CPUs; polled loops
 * would only measure the scheduler on one CPU).  Prints:
 *   baseline  one-way latency of a bare cache-line ping-pong (ns)
 *   spsc      one-way polled latency (try_send / try_recv spinning, ns)
 *   spsc      8-byte messages per second, one by one and in bursts of 32
 *   spsc      one-way latency when the receiver sleeps (blocking recv)
 * Uses whatever backend libshmipc selects (module if /dev/shmipc exists).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "shmipc.h"

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "warning: cannot pin to CPU %d: %s\n", cpu,
			strerror(errno));
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void die(const char *what, int err)
{
	fprintf(stderr, "spsc-bench: %s: %s\n", what, shmipc_strerror(err));
	exit(1);
}

/* ------------------------------------------------------------------ */

struct pp {
	_Alignas(64) _Atomic uint64_t ping;
	_Alignas(64) _Atomic uint64_t pong;
};

static double baseline(uint64_t rounds)
{
	struct pp *p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t i, t0, t1;
	pid_t pid;

	if (p == MAP_FAILED)
		die("mmap", -errno);
	memset(p, 0, sizeof(*p));
	pid = fork();
	if (pid == 0) {
		pin(1);
		for (i = 1; i <= rounds + 1000; i++) {
			while (atomic_load_explicit(&p->ping,
						    memory_order_acquire) != i)
				relax();
			atomic_store_explicit(&p->pong, i,
					      memory_order_release);
		}
		_exit(0);
	}
	pin(0);
	for (i = 1; i <= 1000; i++) {	/* warm up */
		atomic_store_explicit(&p->ping, i, memory_order_release);
		while (atomic_load_explicit(&p->pong, memory_order_acquire) != i)
			relax();
	}
	t0 = shmipc_now_ns();
	for (; i <= rounds + 1000; i++) {
		atomic_store_explicit(&p->ping, i, memory_order_release);
		while (atomic_load_explicit(&p->pong, memory_order_acquire) != i)
			relax();
	}
	t1 = shmipc_now_ns();
	waitpid(pid, NULL, 0);
	munmap(p, sizeof(*p));
	return (double)(t1 - t0) / (double)rounds / 2.0;
}

/* ------------------------------------------------------------------ */

static struct shmipc_region *region(const char *name)
{
	struct shmipc_region *r;
	int ret = shmipc_region_open(name, 4 << 20, 0600,
				     SHMIPC_REGION_CREATE, &r);

	if (ret)
		die("region", ret);
	return r;
}

static struct shmipc_spsc *chan(struct shmipc_region *r, const char *key,
				enum shmipc_role role)
{
	struct shmipc_spsc *ch;
	int ret = shmipc_spsc_open(r, key, role, &ch);

	if (ret)
		die(key, ret);
	return ch;
}

/* Polled ping-pong over two channels: half the round trip. */
static double spsc_latency(const char *name, uint64_t rounds)
{
	struct shmipc_region *r = region(name);
	struct shmipc_spsc *a2b, *b2a;
	uint64_t i, v, t0 = 0, t1;
	pid_t pid;
	int ret;

	pid = fork();
	if (pid == 0) {
		struct shmipc_region *cr = region(name);

		pin(1);
		a2b = chan(cr, "a2b", SHMIPC_CONSUMER);
		b2a = chan(cr, "b2a", SHMIPC_PRODUCER);
		for (i = 0; i < rounds + 100; i++) {
			while ((ret = shmipc_spsc_try_recv(a2b, &v)) == -EAGAIN)
				relax();
			if (ret)
				die("echo recv", ret);
			while ((ret = shmipc_spsc_try_send(b2a, &v)) == -EAGAIN)
				relax();
			if (ret)
				die("echo send", ret);
		}
		_exit(0);
	}
	pin(0);
	a2b = chan(r, "a2b", SHMIPC_PRODUCER);
	b2a = chan(r, "b2a", SHMIPC_CONSUMER);
	for (i = 0; i < rounds + 100; i++) {
		if (i == 100)
			t0 = shmipc_now_ns();
		ret = shmipc_spsc_send(a2b, &i, SHMIPC_FOREVER);
		if (ret)
			die("send", ret);
		while ((ret = shmipc_spsc_try_recv(b2a, &v)) == -EAGAIN)
			relax();
		if (ret || v != i)
			die("recv", ret ? ret : -EBADMSG);
	}
	t1 = shmipc_now_ns();
	waitpid(pid, NULL, 0);
	shmipc_spsc_close(a2b);
	shmipc_spsc_close(b2a);
	shmipc_region_close(r);
	return (double)(t1 - t0) / (double)rounds / 2.0;
}

/* Blocking one-way latency: sender stamps the time, receiver reads it. */
static double spsc_wake_latency(const char *name, uint64_t rounds)
{
	struct shmipc_region *r = region(name);
	struct shmipc_spsc *a2b, *b2a;
	uint64_t i, sum = 0, v[2];
	pid_t pid;
	int ret;

	pid = fork();
	if (pid == 0) {
		struct shmipc_region *cr = region(name);
		uint64_t st[2];

		pin(1);
		a2b = chan(cr, "w-a2b", SHMIPC_CONSUMER);
		b2a = chan(cr, "w-b2a", SHMIPC_PRODUCER);
		for (i = 0; i < rounds; i++) {
			ret = shmipc_spsc_recv(a2b, st, SHMIPC_FOREVER);
			if (ret)
				die("wake recv", ret);
			st[1] = shmipc_now_ns() - st[0];
			ret = shmipc_spsc_send(b2a, st, SHMIPC_FOREVER);
			if (ret)
				die("wake send", ret);
		}
		_exit(0);
	}
	pin(0);
	a2b = chan(r, "w-a2b", SHMIPC_PRODUCER);
	b2a = chan(r, "w-b2a", SHMIPC_CONSUMER);
	for (i = 0; i < rounds; i++) {
		usleep(200);	/* the receiver is asleep by now */
		v[0] = shmipc_now_ns();
		ret = shmipc_spsc_send(a2b, v, SHMIPC_FOREVER);
		if (ret)
			die("send", ret);
		ret = shmipc_spsc_recv(b2a, v, SHMIPC_FOREVER);
		if (ret)
			die("recv", ret);
		sum += v[1];
	}
	waitpid(pid, NULL, 0);
	shmipc_spsc_close(a2b);
	shmipc_spsc_close(b2a);
	shmipc_region_close(r);
	return (double)sum / (double)rounds;
}

static double spsc_rate(const char *name, uint64_t msgs, unsigned int burst)
{
	struct shmipc_region *r = region(name);
	struct shmipc_spsc *p;
	uint64_t buf[64], i, t0, t1;
	pid_t pid;
	char key[16];
	int ret;

	snprintf(key, sizeof(key), "tp%u", burst);
	pid = fork();
	if (pid == 0) {
		struct shmipc_region *cr = region(name);
		struct shmipc_spsc *c;
		uint64_t got = 0, expect = 0;

		pin(1);
		c = chan(cr, key, SHMIPC_CONSUMER);
		while (got < msgs) {
			ret = shmipc_spsc_recv_burst(c, buf, burst, NULL);
			if (ret < 0)
				die("consume", ret);
			for (i = 0; i < (uint64_t)ret; i++)
				if (buf[i] != expect++)
					die("order", -EBADMSG);
			got += (uint64_t)ret;
			if (!ret)
				relax();
		}
		_exit(0);
	}
	pin(0);
	p = chan(r, key, SHMIPC_PRODUCER);
	t0 = shmipc_now_ns();
	for (i = 0; i < msgs;) {
		unsigned int k, n = burst;

		if (msgs - i < n)
			n = (unsigned int)(msgs - i);
		for (k = 0; k < n; k++)
			buf[k] = i + k;
		ret = shmipc_spsc_send_burst(p, buf, n, NULL);
		if (ret < 0)
			die("produce", ret);
		i += (uint64_t)ret;
		if (!ret)
			relax();
	}
	waitpid(pid, NULL, 0);
	t1 = shmipc_now_ns();
	shmipc_spsc_close(p);
	shmipc_region_close(r);
	return (double)msgs * 1e9 / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
	uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000;
	uint64_t msgs = argc > 2 ? strtoull(argv[2], NULL, 0) : 20000000;
	struct shmipc_region *r;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), "spsc-bench-%d", (int)getpid());
	ret = shmipc_region_open(name, 4 << 20, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL, &r);
	if (ret)
		die("create", ret);
	if ((ret = shmipc_spsc_create(r, "a2b", 8, 1024)) ||
	    (ret = shmipc_spsc_create(r, "b2a", 8, 1024)) ||
	    (ret = shmipc_spsc_create(r, "w-a2b", 16, 64)) ||
	    (ret = shmipc_spsc_create(r, "w-b2a", 16, 64)) ||
	    (ret = shmipc_spsc_create(r, "tp1", 8, 4096)) ||
	    (ret = shmipc_spsc_create(r, "tp32", 8, 4096)))
		die("channels", ret);

	printf("backend: %s; CPUs 0 and 1 (different CPUs); %llu rounds, %llu msgs\n",
	       shmipc_backend_name(shmipc_backend()),
	       (unsigned long long)rounds, (unsigned long long)msgs);
	printf("baseline cache-line ping-pong, one way: %8.1f ns\n",
	       baseline(rounds));
	printf("spsc polled one-way latency (8 B):      %8.1f ns\n",
	       spsc_latency(name, rounds));
	printf("spsc 8-byte msgs/s, one at a time:      %8.2f M/s\n",
	       spsc_rate(name, msgs, 1) / 1e6);
	printf("spsc 8-byte msgs/s, bursts of 32:       %8.2f M/s\n",
	       spsc_rate(name, msgs, 32) / 1e6);
	printf("spsc wake-up one-way latency (sleeping receiver): %8.1f us\n",
	       spsc_wake_latency(name, rounds / 200 ? rounds / 200 : 1) / 1e3);
	printf("baseline cache-line ping-pong, one way: %8.1f ns (again)\n",
	       baseline(rounds));
	shmipc_region_close(r);
	shmipc_region_unlink(name);
	return 0;
}
