// SPDX-License-Identifier: GPL-2.0
/*
 * The poll budget of blocking calls (lib/spin.c): it ends by itself, it
 * picks the way to wait from the thread's CPU set, and two processes
 * pinned to one CPU still make progress through blocking calls (the case
 * a spin counted in pauses made 50 times slower than a futex).  Never
 * asserts on time: the budget's end is asserted as "it ends", with the
 * harness's timeout as the bound.
 */
#include "kselftest_harness.h"
#include "lib_test.h"

#include <pthread.h>
#include <sched.h>

#include "spin.h"

#define ROUNDS	2000

/* The first CPU this thread may run on, or -1. */
static int first_cpu(void)
{
	cpu_set_t set;
	int c;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return -1;
}

static int allowed_cpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) ? 1 : CPU_COUNT(&set);
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* The mode a fresh thread (no cached CPU set) picks, with @cpu pinned
 * first (or not, -1). */
struct mode_probe {
	int cpu;
	int err;
	unsigned int mode;
};

static void *probe_mode(void *arg)
{
	struct mode_probe *p = arg;
	struct shmipc_spin s;

	p->err = p->cpu >= 0 ? pin(p->cpu) : 0;
	shmipc_spin_start(&s);
	p->mode = s.mode;
	return NULL;
}

static int mode_of_new_thread(int cpu, unsigned int *mode)
{
	struct mode_probe p = { .cpu = cpu };
	pthread_t t;

	if (pthread_create(&t, NULL, probe_mode, &p) || pthread_join(t, NULL))
		return -EAGAIN;
	*mode = p.mode;
	return p.err;
}

TEST(budget_ends_after_some_polls)
{
	struct shmipc_spin s;
	uint64_t polls = 0;

	shmipc_spin_start(&s);
	while (shmipc_spin_more(&s))
		polls++;
	/* The clock is read every 16 polls: at least that many happen. */
	EXPECT_GE(polls, 16);
	/* A fresh budget starts over. */
	shmipc_spin_start(&s);
	EXPECT_TRUE(shmipc_spin_more(&s));
}

TEST(pinned_thread_yields_unpinned_pauses)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int mode;
	int cpu = first_cpu();

	ASSERT_LE(0, cpu);
	ASSERT_EQ(0, mode_of_new_thread(cpu, &mode));
	EXPECT_EQ(online == 1 ? SHMIPC_SPIN_YIELD : SHMIPC_SPIN_PINNED, mode);
	if (allowed_cpus() < 2)
		SKIP(return, "one CPU allowed: no unpinned case here");
	ASSERT_EQ(0, mode_of_new_thread(-1, &mode));
	EXPECT_EQ(SHMIPC_SPIN_PAUSE, mode);
}

/* Echo ROUNDS messages back, pinned to @cpu. */
static void echo_child(const char *name, int cpu)
{
	struct shmipc_region *r;
	struct shmipc_spsc *in, *out;
	uint64_t v, deadline = shmipc_deadline_in(LT_SOON_MS * LT_MS);
	int i;

	lt_child_must(pin(cpu));
	r = lt_child_region(name);
	lt_child_must(shmipc_spsc_open(r, "ping", SHMIPC_CONSUMER, &in));
	lt_child_must(shmipc_spsc_open(r, "pong", SHMIPC_PRODUCER, &out));
	for (i = 0; i < ROUNDS; i++) {
		lt_child_must(shmipc_spsc_recv(in, &v, deadline));
		lt_child_must(shmipc_spsc_send(out, &v, deadline));
	}
	_exit(0);
}

TEST(same_cpu_blocking_pingpong_progresses)
{
	struct shmipc_region *r;
	struct shmipc_spsc *ping, *pong;
	uint64_t v, deadline = shmipc_deadline_in(LT_SOON_MS * LT_MS);
	int cpu = first_cpu(), i;
	char name[64];
	pid_t pid;

	ASSERT_LE(0, cpu);
	ASSERT_EQ(0, lt_region_new(name, "spin", 1 << 20, &r));
	ASSERT_EQ(0, shmipc_spsc_create(r, "ping", 8, 16));
	ASSERT_EQ(0, shmipc_spsc_create(r, "pong", 8, 16));
	ASSERT_EQ(0, shmipc_spsc_open(r, "ping", SHMIPC_PRODUCER, &ping));
	ASSERT_EQ(0, shmipc_spsc_open(r, "pong", SHMIPC_CONSUMER, &pong));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		echo_child(name, cpu);
	ASSERT_EQ(0, pin(cpu));
	for (i = 0; i < ROUNDS; i++) {
		v = (uint64_t)i * 3 + 1;
		ASSERT_EQ(0, shmipc_spsc_send(ping, &v, deadline));
		v = 0;
		ASSERT_EQ(0, shmipc_spsc_recv(pong, &v, deadline));
		ASSERT_EQ((uint64_t)i * 3 + 1, v);
	}
	EXPECT_EQ(0, lt_reap(pid));
	shmipc_spsc_close(ping);
	shmipc_spsc_close(pong);
	shmipc_region_close(r);
	shmipc_region_unlink(name);
}

TEST_HARNESS_MAIN
