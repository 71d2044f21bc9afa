/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc controller/worker protocol (part of <shmipc.h>; do not
 * include alone).
 *
 * A controller drives worker processes through transitions (INIT,
 * BEGIN_RUN, PROCESS, END_RUN, STOP, or kinds of its own), each a request
 * with a payload of bytes answered by the worker with a reply of bytes,
 * after CMSSW's ControllerChannel / WorkerChannel.  Every transition ends
 * in exactly one of three ways:
 *
 *   0            acknowledged: the worker's reply
 *   -EOWNERDEAD  the worker died (shmipc_ctl_worker_status() says how),
 *                or left (shmipc_worker_close()) without replying
 *   -ETIMEDOUT   the deadline passed and the worker is still alive (the
 *                transition stays in flight: wait for it again, or kill
 *                the worker and restart it)
 *
 * No signal handler and no monitor thread is involved: a worker's death
 * comes from the kernel.  Module backend: workers are peers of the
 * controller's region and a waiting controller is woken by the kernel at
 * the death.  Portable backend: the controller probes the workers' pids
 * (pidfd) every SHMIPC_PORTABLE_SLICE_MS while it waits, and reaps its
 * spawned children (waitpid): a death is noticed within that slice.
 * A worker that leaves (shmipc_worker_close()) rings the controller,
 * which sees the leave at once on both backends, whether or not the
 * process goes on running.  A reply the worker committed before it died
 * or left is the transition's outcome (0), even if the end is seen first.
 *
 * Layout.  The controller creates one region, named by the user, that
 * holds a table of worker slots and, for each slot, a pair of growable
 * buffers (requests "w<N>.req", replies "w<N>.rep"), so payloads and
 * replies of any size up to the maximum given at creation pass without
 * a copy through a socket.  A worker is told "<region>/<slot>" (the
 * environment variable SHMIPC_CTL for spawned workers) and opens its
 * slot with shmipc_worker_open().
 *
 * Many workers at once: shmipc_ctl_send_async() starts a transition on
 * a worker without waiting; shmipc_ctl_poll() waits on every worker with
 * a transition in flight in one call (one sleep on a doorbell word the
 * workers ring after replying; module: also woken by any worker's death)
 * and says which one finished.  No thread per worker.
 *
 * Restart.  After -EOWNERDEAD, shmipc_ctl_restart() starts the worker
 * again (a new process: it starts from scratch, nothing of the dead one's
 * memory is kept) and hands it the transition that failed, which it then
 * waits for like shmipc_ctl_transition().  The new worker gets the request
 * exactly once: the buffers' role takeover redelivers a request the dead
 * one had not finished, and the controller sends it again only when the
 * dead one had consumed it.
 *
 * Controller death.  A worker blocked in shmipc_worker_next() gets
 * -EOWNERDEAD at once (module; portable: within a slice) and should exit.
 * Module: the region and its buffers go with the last handle, so nothing
 * is left once the workers exit.  Portable: POSIX names outlive crashes;
 * the first worker that sees its controller dead in shmipc_worker_next()
 * removes them, the next shmipc_ctl_create() of the same name removes a
 * region whose controller is dead (and its buffers' names) before
 * creating it again, and shmipc_ctl_unlink() does it on request.
 *
 * Hostile peers.  Workers and controller validate every shared word
 * they use (header, slot words, the buffers' control blocks, message
 * headers and lengths): what cannot be is -EBADMSG, never a crash or an
 * endless wait.  A worker can still lie about itself: a slot word that
 * names another peer makes an attached worker look dead, a spawned one
 * is judged by waitpid and its buffers' ends (closing them is leaving).
 *
 * Thread-safety: a controller (and its worker handles) is used by one
 * thread at a time; a worker handle likewise.  The controller reaps the
 * children it spawned (waitpid on their pids only).
 */
#ifndef SHMIPC_CTL_H
#define SHMIPC_CTL_H

#ifndef SHMIPC_H
#error "include <shmipc.h>, not <shmipc/ctl.h>"
#endif

#include <sys/types.h>

struct shmipc_ctl;
struct shmipc_ctl_worker;
struct shmipc_worker;

/* Transition kinds; kinds from SHMIPC_CTL_USER to SHMIPC_CTL_KIND_MAX are
 * the application's own. */
enum shmipc_ctl_kind {
	SHMIPC_CTL_INIT = 1,		/* configure */
	SHMIPC_CTL_BEGIN_RUN = 2,
	SHMIPC_CTL_PROCESS = 3,		/* the payload names the event */
	SHMIPC_CTL_END_RUN = 4,
	SHMIPC_CTL_STOP = 5,		/* the worker replies, then exits */
	SHMIPC_CTL_USER = 256,
	SHMIPC_CTL_KIND_MAX = 65535,
};

#define SHMIPC_CTL_WORKERS_MAX	15	/* slots of one controller */
#define SHMIPC_CTL_ENV		"SHMIPC_CTL"	/* "<region>/<slot>" */
#define SHMIPC_CTL_GRACE_MS	1000	/* destroy: before SIGKILL */

/* ------------------------------------------------------------------ */
/* Controller */

/*
 * Create the controller region @name (a region name; mode 0600) with
 * @nr_workers slots (1..SHMIPC_CTL_WORKERS_MAX) whose payloads and replies
 * may each be up to @max_msg bytes (1..2^32).  A region of that name
 * whose controller is dead is removed first (see above); a live one
 * gives -EEXIST.  Errors: -EINVAL, -EEXIST, -ENOMEM, shmipc_region_open()'s
 * and shmipc_growbuf_create()'s.
 */
int shmipc_ctl_create(const char *name, unsigned int nr_workers,
		      uint64_t max_msg, struct shmipc_ctl **out);

/*
 * Tear the controller down: close every buffer (a worker waiting in
 * shmipc_worker_next() gets -EPIPE), give each spawned worker still
 * running SHMIPC_CTL_GRACE_MS to exit, SIGKILL the rest, reap them all,
 * and remove the region's names.  Send STOP first for a clean end.
 * Invalidates every worker handle and reply.  NULL is a no-op.
 */
int shmipc_ctl_destroy(struct shmipc_ctl *ctl);

/*
 * Remove the controller region @name and its buffers' names if its
 * controller is dead (portable backend's cleanup after a crash; module:
 * nothing is left to remove).  0, -ENOENT, -EBUSY (its controller lives),
 * -EINVAL, or the region's errors.
 */
int shmipc_ctl_unlink(const char *name);

/*
 * Start a worker in slot @slot (0..nr_workers-1, free): posix_spawnp()
 * of @argv (argv[0] searched in PATH) with SHMIPC_CTL="<region>/<slot>"
 * added to the environment.  The worker is a child of this process; the
 * controller reaps it.  *@out is its handle (owned by the controller).
 * Errors: -EINVAL, -EBUSY (slot in use), -ENOMEM, posix_spawn()'s error
 * (e.g. -ENOENT).  A program that starts but fails before opening its
 * slot is a worker death seen by the first transition.
 */
int shmipc_ctl_spawn(struct shmipc_ctl *ctl, unsigned int slot,
		     char *const argv[], struct shmipc_ctl_worker **out);

/*
 * Reserve slot @slot for a worker that is started by someone else (and
 * is not our child): it opens the slot with shmipc_worker_open() given
 * shmipc_ctl_worker_name().  Transitions sent before it opens wait for
 * it.  Its death is seen from the kernel (module) or the pid it
 * publishes (portable); how it died is known only on the module backend.
 * Errors: -EINVAL, -EBUSY.
 */
int shmipc_ctl_attach(struct shmipc_ctl *ctl, unsigned int slot,
		      struct shmipc_ctl_worker **out);

/* "<region>/<slot>": what a worker passes to shmipc_worker_open(). */
const char *shmipc_ctl_worker_name(const struct shmipc_ctl_worker *w);

/* The worker's slot, and its pid (spawned: ours; attached: the one it
 * published, 0 before it opened; a dead worker's last pid). */
unsigned int shmipc_ctl_worker_slot(const struct shmipc_ctl_worker *w);
pid_t shmipc_ctl_worker_pid(const struct shmipc_ctl_worker *w);

/*
 * One transition: send (@kind, @len bytes at @payload; @payload may be
 * NULL when @len is 0) and wait until @deadline_ns for the reply, which
 * *@reply / *@reply_len receive (a private copy, valid until the next
 * transition, restart or destroy; either may be NULL).  Returns 0,
 * -EOWNERDEAD or -ETIMEDOUT as described at the top, or without sending:
 * -EINVAL (bad arguments, kind 0 or above SHMIPC_CTL_KIND_MAX), -EMSGSIZE
 * (@len above the maximum), -EBUSY (a transition is in flight on @w),
 * -EOWNERDEAD (the worker is known dead: restart it), -EBADMSG (a
 * corrupt reply: the worker cannot be trusted), the buffers' errors.
 */
int shmipc_ctl_transition(struct shmipc_ctl_worker *w, unsigned int kind,
			  const void *payload, size_t len,
			  const void **reply, size_t *reply_len,
			  uint64_t deadline_ns);

/*
 * Send a transition without waiting (errors as shmipc_ctl_transition()'s
 * "without sending").  Its end is collected by shmipc_ctl_poll() or
 * shmipc_ctl_wait().
 */
int shmipc_ctl_send_async(struct shmipc_ctl_worker *w, unsigned int kind,
			  const void *payload, size_t len);

/*
 * Wait until @deadline_ns for the transition in flight on @w: 0 (reply
 * in *@reply / *@reply_len as above), -EOWNERDEAD, -ETIMEDOUT (still in
 * flight), -EALREADY (nothing in flight), -EBADMSG.
 */
int shmipc_ctl_wait(struct shmipc_ctl_worker *w, const void **reply,
		    size_t *reply_len, uint64_t deadline_ns);

/*
 * Wait until @deadline_ns for any worker with a transition in flight to
 * finish; *@who receives it and the return value is its outcome: 0 (its
 * reply: shmipc_ctl_reply()), -EOWNERDEAD, -EBADMSG.  -ETIMEDOUT: none
 * finished (all stay in flight); -ECHILD: nothing in flight; -EINVAL.
 * Workers are checked in slot order, from the one after the last
 * reported, so none is starved.
 */
int shmipc_ctl_poll(struct shmipc_ctl *ctl, struct shmipc_ctl_worker **who,
		    uint64_t deadline_ns);

/* The reply of @w's last acknowledged transition (NULL, 0 if none). */
int shmipc_ctl_reply(const struct shmipc_ctl_worker *w, const void **reply,
		     size_t *reply_len);

/*
 * How a dead worker died: 0 and *@wstatus a wait(2) status (spawned
 * workers; attached ones on the module backend), -ENODATA (dead, how is
 * unknown: attached worker, portable backend; or a worker that left and
 * had not exited when that was seen), -EAGAIN (not known dead), -EINVAL.
 */
int shmipc_ctl_worker_status(const struct shmipc_ctl_worker *w,
			     int *wstatus);

/*
 * SIGKILL a spawned worker (its death is then seen like any other):
 * for a worker that timed out.  -EPERM for an attached worker (not our
 * child), -EINVAL; 0 if it is already dead (one that left but may still
 * run is killed).
 */
int shmipc_ctl_kill(struct shmipc_ctl_worker *w);

/*
 * Start a dead worker again (spawned: the same argv, after the old one,
 * if it left and may still run, is given SHMIPC_CTL_GRACE_MS to exit and
 * then SIGKILLed; attached: the slot is freed for a new worker to open)
 * and, if a transition was in flight
 * when it died, hand it to the new one and wait for it until
 * @deadline_ns: the outcomes of shmipc_ctl_transition().  With nothing in
 * flight it returns 0 once the new one is started (*@reply NULL, 0).
 * -EBUSY if the worker is not known dead; spawn errors as
 * shmipc_ctl_spawn().
 */
int shmipc_ctl_restart(struct shmipc_ctl_worker *w, const void **reply,
		       size_t *reply_len, uint64_t deadline_ns);

/* ------------------------------------------------------------------ */
/* Worker */

/*
 * Open the worker slot @spec ("<region>/<slot>"; NULL: the environment
 * variable SHMIPC_CTL) and publish this process as its worker.  Errors:
 * -EINVAL (malformed), -ENOENT (no such region / variable unset), -EBUSY
 * (the slot's worker is alive), -ERANGE (no such slot), the region's and
 * the buffers' errors.
 */
int shmipc_worker_open(const char *spec, struct shmipc_worker **out);

/*
 * Leave the slot: a transition in flight that was not replied to ends at
 * once with -EOWNERDEAD, as for a death (even if this process lives on);
 * a request taken and not replied to goes to the restarted worker.
 * NULL: no-op.
 */
int shmipc_worker_close(struct shmipc_worker *w);

/*
 * Wait until @deadline_ns for the next request: *@kind, and *@payload /
 * *@len in place in shared memory (valid until shmipc_worker_reply(); not
 * to be trusted more than any shared data).  Errors: -EOWNERDEAD (the
 * controller died: exit), -EPIPE (it closed: exit), -ETIMEDOUT, -EBUSY
 * (the previous request was not replied to), -EBADMSG (a malformed
 * request, dropped), -EINVAL.
 */
int shmipc_worker_next(struct shmipc_worker *w, unsigned int *kind,
		       const void **payload, size_t *len,
		       uint64_t deadline_ns);

/*
 * Reply @len bytes at @data to the request taken by shmipc_worker_next()
 * (@data may be that request's payload).  Module backend: when the reply
 * needs a larger buffer than before, this waits until the controller has
 * taken it (else it would be lost with the buffer if this process died
 * right after).  Errors: -EINVAL (no request held), -EMSGSIZE,
 * -EOWNERDEAD / -EPIPE (the controller went), -EBADMSG (our previous
 * reply is still not taken: the controller broke the protocol), the
 * buffer's errors.
 */
int shmipc_worker_reply(struct shmipc_worker *w, const void *data,
			size_t len);

#endif /* SHMIPC_CTL_H */
