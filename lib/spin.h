/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How long a blocking call polls before it sleeps.  Shared by every
 * spin-then-sleep loop of the library (ends.c: SPSC channel, vring,
 * growable buffer; mpmc.c; evpool.c).
 *
 * A poll only pays off while the other side can act at the same time,
 * and only while it costs less than the sleep and wake-up it replaces.
 * So the budget is time (SHMIPC_SPIN_NS, about one futex wake-up), not a
 * count of pauses, whose length varies tenfold between CPUs and a
 * hundredfold under emulation; and where the other side cannot run
 * while we poll, we let it run instead (sched_yield):
 *
 *   several CPUs usable    pause between polls
 *   pinned to one CPU      also yield every few polls: the other side may
 *                          be pinned to the same CPU and can only answer
 *                          when we give it the CPU
 *   one CPU online         yield between polls, never pause
 *
 * The thread's CPU set is looked up at most once a second (per thread:
 * affinity is per thread), so a spin costs one clock read to start and
 * one every SPIN_CLOCK_EVERY polls.
 */
#ifndef SHMIPC_SPIN_H
#define SHMIPC_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"	/* SHMIPC_LOCAL: not exported */

#define SHMIPC_SPIN_NS	5000U	/* poll budget: about one futex wake-up */

/* struct shmipc_spin.mode: how it waits between polls. */
enum {
	SHMIPC_SPIN_PAUSE,	/* several CPUs usable: pause */
	SHMIPC_SPIN_PINNED,	/* this thread may run on one CPU only */
	SHMIPC_SPIN_YIELD,	/* one CPU online: yield, never pause */
};

struct shmipc_spin {
	uint64_t until_ns;	/* budget spent at this CLOCK_MONOTONIC time */
	unsigned int polls;	/* polls so far */
	unsigned int mode;	/* SHMIPC_SPIN_* */
};

/* After a first failed try: start the budget. */
SHMIPC_LOCAL void shmipc_spin_start(struct shmipc_spin *s);

/*
 * Between two tries: wait a little (pause or yield).  false: the budget
 * is spent, sleep instead (nothing was waited then).
 */
SHMIPC_LOCAL bool shmipc_spin_more(struct shmipc_spin *s);

#endif /* SHMIPC_SPIN_H */
