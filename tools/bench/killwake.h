/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kill-to-wake on the host: how soon a process waiting on a peer learns
 * that the peer was SIGKILLed, for each way of waiting (a mode).  The
 * driver (killwake.c) runs every trial the same way: a killer process
 * forks the victim, which joins the survivor as its peer (mode->victim);
 * the survivor gets ready (arm) and sleeps (await) while the killer
 * stamps the clock and kills; the survivor reads the clock when await
 * returns.  Not a test: it asserts nothing, it reports.
 */
#ifndef KILLWAKE_H
#define KILLWAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A wait on a dead peer that lasts longer than this failed. */
#define KW_LIMIT_NS	(30ULL * 1000000000ULL)

struct kw_trial {
	int index;
	char name[48];		/* unique: region, queue, iceoryx instance */
	pid_t victim;		/* survivor: the peer's pid once it is ready */
	int fd;			/* survivor's end (pidfd, pipe, socket) or -1 */
	int peer_fd;		/* prepare: an fd the victim gets, or -1 */
	void *state;		/* the mode's, in the survivor */
	uint64_t limit_ns;	/* CLOCK_MONOTONIC: await gives up then */
};

/* Every call returns 0 or -errno; NULL where a mode has nothing to do. */
struct kw_mode {
	const char *name;	/* the row's transport */
	const char *how;	/* how the survivor learns of the death */
	bool slow;		/* seconds per trial: --slow-trials of them */
	int (*start)(void);	/* survivor, once before its first trial */
	void (*stop)(void);	/* ... and after its last */
	/* Survivor, before the victim exists: make what it joins. */
	int (*prepare)(struct kw_trial *t);
	/* Victim (its own process, pinned): join as the survivor's peer,
	 * holding t->peer_fd if prepare made one. */
	int (*victim)(const struct kw_trial *t);
	/* Survivor, the victim ready: what must come before the sleep. */
	int (*arm)(struct kw_trial *t);
	/* Survivor: sleep until the victim's death is seen (0), or fail. */
	int (*await)(struct kw_trial *t);
	void (*cleanup)(struct kw_trial *t);
};

/* killwake_fd.c: the kernel's own notifications. */
extern const struct kw_mode kw_pidfd, kw_pipe, kw_unix_stream;
extern const struct kw_mode kw_spsc;		/* killwake_spsc.c */
extern const struct kw_mode kw_boostmq;		/* killwake_boostmq.c */
extern const struct kw_mode kw_iceoryx;		/* killwake_iceoryx.c */

/* killwake.c: wait until @fd is readable or @limit_ns passes. */
int kw_poll_in(int fd, uint64_t limit_ns);

#endif /* KILLWAKE_H */
