// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The poll budget of blocking calls: see spin.h.
 */
#define _GNU_SOURCE
#include "spin.h"
#include "internal.h"

#include <sched.h>
#include <unistd.h>

#define SPIN_CLOCK_EVERY	16U	/* polls between clock reads */
#define SPIN_YIELD_EVERY	16U	/* SHMIPC_SPIN_PINNED: polls between yields */
#define SPIN_RECHECK_NS		1000000000ULL	/* CPU set looked up again */

/* Per thread: affinity is a thread's, and no locking is needed. */
static _Thread_local uint64_t spin_recheck_ns;
static _Thread_local unsigned int spin_mode_cached;

static unsigned int spin_mode(uint64_t now)
{
	cpu_set_t set;
	long online;

	if (now < spin_recheck_ns)
		return spin_mode_cached;
	spin_recheck_ns = now + SPIN_RECHECK_NS;
	online = sysconf(_SC_NPROCESSORS_ONLN);
	if (online == 1)
		spin_mode_cached = SHMIPC_SPIN_YIELD;
	else if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
		 CPU_COUNT(&set) == 1)
		spin_mode_cached = SHMIPC_SPIN_PINNED;
	else	/* several, or unknown (then polling is the safe guess) */
		spin_mode_cached = SHMIPC_SPIN_PAUSE;
	return spin_mode_cached;
}

void shmipc_spin_start(struct shmipc_spin *s)
{
	uint64_t now = shmipc_now_ns();

	s->until_ns = now + SHMIPC_SPIN_NS;
	s->polls = 0;
	s->mode = spin_mode(now);
}

bool shmipc_spin_more(struct shmipc_spin *s)
{
	unsigned int n = s->polls++;

	if (n && n % SPIN_CLOCK_EVERY == 0 && shmipc_now_ns() >= s->until_ns)
		return false;
	if (s->mode == SHMIPC_SPIN_YIELD ||
	    (s->mode == SHMIPC_SPIN_PINNED &&
	     n % SPIN_YIELD_EVERY == SPIN_YIELD_EVERY - 1))
		sched_yield();
	else
		shmipc_cpu_relax();
	return true;
}
