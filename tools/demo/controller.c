// SPDX-License-Identifier: GPL-2.0
/*
 * The controller side of the demo: one controller, DEMO_WORKERS workers,
 * a stream of PROCESS(event) transitions kept in flight on every worker
 * at once from this one thread (shmipc_ctl_send_async + shmipc_ctl_poll),
 * each answer checked (the event's digest) and counted per event.  A
 * worker that dies is restarted at once and the transition it held is
 * handed to the new one (shmipc_ctl_restart).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "demo.h"

#define NONE		UINT64_MAX
#define STEP_DEADLINE	(10000 * DEMO_MS)	/* a transition's bound */

/* What a worker returns for @event: a mix of its bits (splitmix64). */
uint64_t demo_digest(uint64_t event)
{
	uint64_t z = event + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int fail(struct demo_ctl *c, int err, const char *what)
{
	if (!c->error) {
		c->error = err;
		c->error_what = what;
	}
	return err;
}

int demo_ctl_start(struct demo_ctl *c, const char *name, uint64_t events,
		   char *const argv[])
{
	unsigned int i, k;
	int ret;

	c->events = events;
	c->acks = calloc(events ? events : 1, 1);
	c->rtt = calloc(events ? events : 1, sizeof(*c->rtt));
	if (!c->acks || !c->rtt)
		return fail(c, -ENOMEM, "allocating");
	ret = shmipc_ctl_create(name, DEMO_WORKERS, sizeof(struct demo_result),
				&c->ctl);
	if (ret)
		return fail(c, ret, "shmipc_ctl_create");
	for (i = 0; i < DEMO_WORKERS; i++) {
		c->job[i] = NONE;
		ret = shmipc_ctl_spawn(c->ctl, i, argv, &c->w[i]);
		if (ret)
			return fail(c, ret, "shmipc_ctl_spawn");
	}
	for (i = 0; i < DEMO_WORKERS; i++) {
		static const unsigned int kinds[] = { SHMIPC_CTL_INIT,
						      SHMIPC_CTL_BEGIN_RUN };

		for (k = 0; k < 2; k++) {
			ret = shmipc_ctl_transition(c->w[i], kinds[k], NULL, 0,
						    NULL, NULL,
						    shmipc_deadline_in(
							    STEP_DEADLINE));
			if (ret)
				return fail(c, ret, "INIT/BEGIN_RUN");
		}
	}
	/* Round trips of a transition that does no work, one at a time. */
	for (i = 0; i < DEMO_PINGS; i++) {
		uint64_t t0 = shmipc_now_ns();

		ret = shmipc_ctl_transition(c->w[i % DEMO_WORKERS], DEMO_PING,
					    NULL, 0, NULL, NULL,
					    shmipc_deadline_in(STEP_DEADLINE));
		if (ret)
			return fail(c, ret, "PING");
		c->ping[i] = shmipc_now_ns() - t0;
	}
	return 0;
}

/* Send the next event to worker @s, if any is left. */
static int feed(struct demo_ctl *c, unsigned int s)
{
	struct demo_job job;
	int ret;

	if (c->next >= c->events)
		return 0;
	if (!c->start_ns)
		c->start_ns = shmipc_now_ns();
	job.event = c->next;
	ret = shmipc_ctl_send_async(c->w[s], SHMIPC_CTL_PROCESS, &job,
				    sizeof(job));
	if (ret == -EOWNERDEAD)
		return ret;	/* known dead: the caller restarts it */
	if (ret)
		return fail(c, ret, "shmipc_ctl_send_async");
	c->job[s] = c->next++;
	c->sent_at[s] = shmipc_now_ns();
	return 0;
}

/* Count the answer of worker @s (its last reply). */
static void take_reply(struct demo_ctl *c, unsigned int s, const void *reply,
		       size_t len)
{
	struct demo_result res;
	uint64_t ev = c->job[s];

	c->job[s] = NONE;
	if (!reply || len != sizeof(res)) {
		c->bad_results++;
		return;
	}
	memcpy(&res, reply, sizeof(res));
	if (res.event != ev || ev >= c->events ||
	    res.digest != demo_digest(ev)) {
		c->bad_results++;
		return;
	}
	c->rtt[c->n_rtt++] = shmipc_now_ns() - c->sent_at[s];
	if (c->acks[ev]++)
		c->dup_acks++;
	c->acked++;
	c->per_worker[s]++;
	if (c->acked == c->events)
		c->end_ns = shmipc_now_ns();
}

/* Worker @s died: record it, restart it, hand it what it held. */
static int restart(struct demo_ctl *c, unsigned int s)
{
	struct shmipc_ctl_worker *w = c->w[s];
	struct demo_worker_death *d;
	const void *reply;
	size_t len;
	int ret;

	if (c->n_deaths == DEMO_DEATHS_MAX)
		return fail(c, -EMLINK, "too many worker deaths");
	d = &c->deaths[c->n_deaths++];
	d->notice_ns = shmipc_now_ns();
	d->slot = s;
	d->pid = shmipc_ctl_worker_pid(w);
	d->event = c->job[s];
	d->expected = d->pid == c->killed_pid;
	d->kill_ns = d->expected ? c->kill_ns : 0;
	if (shmipc_ctl_worker_status(w, &d->wstatus))
		d->wstatus = -1;
	d->resent = c->job[s] != NONE;
	ret = shmipc_ctl_restart(w, &reply, &len,
				 shmipc_deadline_in(STEP_DEADLINE));
	d->restarted_ns = shmipc_now_ns();
	d->new_pid = shmipc_ctl_worker_pid(w);
	if (ret)
		return fail(c, ret, "shmipc_ctl_restart");
	if (d->resent) {
		struct demo_result res;

		if (reply && len == sizeof(res)) {
			memcpy(&res, reply, sizeof(res));
			d->resent_ok = res.pid == (uint32_t)d->new_pid;
		}
		take_reply(c, s, reply, len);
	}
	return feed(c, s);
}

int demo_ctl_step(struct demo_ctl *c, uint64_t deadline_ns)
{
	struct shmipc_ctl_worker *who;
	const void *reply;
	size_t len;
	unsigned int s;
	int ret;

	if (c->done || c->error)
		return c->error;
	if (!c->start_ns) {	/* the first step fills every worker */
		for (s = 0; s < DEMO_WORKERS; s++) {
			ret = feed(c, s);
			if (ret == -EOWNERDEAD)
				ret = restart(c, s);
			if (ret)
				return ret;
		}
	}
	ret = shmipc_ctl_poll(c->ctl, &who, deadline_ns);
	if (ret == -ETIMEDOUT)
		return 0;
	if (ret == -ECHILD) {	/* nothing in flight: the stream is done */
		c->done = c->acked == c->events;
		return c->done ? 0 : fail(c, -EPROTO, "stream stalled");
	}
	if (ret != 0 && ret != -EOWNERDEAD)
		return fail(c, ret, "shmipc_ctl_poll");
	s = shmipc_ctl_worker_slot(who);
	if (s >= DEMO_WORKERS || c->w[s] != who)
		return fail(c, -EPROTO, "shmipc_ctl_poll: unknown worker");
	if (ret == -EOWNERDEAD)
		return restart(c, s);
	ret = shmipc_ctl_reply(who, &reply, &len);
	if (ret)
		return fail(c, ret, "shmipc_ctl_reply");
	take_reply(c, s, reply, len);
	ret = feed(c, s);
	if (ret == -EOWNERDEAD)
		ret = restart(c, s);
	if (!ret && c->acked == c->events)
		c->done = true;
	return ret;
}

int demo_ctl_kill(struct demo_ctl *c, pid_t pid)
{
	unsigned int s;
	int ret;

	for (s = 0; s < DEMO_WORKERS; s++) {
		if (shmipc_ctl_worker_pid(c->w[s]) != pid)
			continue;
		c->killed_pid = pid;
		c->kill_ns = shmipc_now_ns();
		ret = shmipc_ctl_kill(c->w[s]);
		return ret ? ret : (int)s;
	}
	return -ESRCH;
}

int demo_ctl_finish(struct demo_ctl *c)
{
	static const unsigned int kinds[] = { SHMIPC_CTL_END_RUN,
					      SHMIPC_CTL_STOP };
	unsigned int s, k;
	int ret = 0, r;

	for (k = 0; k < 2 && !c->error; k++) {
		for (s = 0; s < DEMO_WORKERS; s++) {
			r = shmipc_ctl_transition(c->w[s], kinds[k], NULL, 0,
						  NULL, NULL,
						  shmipc_deadline_in(
							  STEP_DEADLINE));
			if (r && !ret)
				ret = fail(c, r, k ? "STOP" : "END_RUN");
		}
	}
	r = shmipc_ctl_destroy(c->ctl);
	c->ctl = NULL;
	if (r && !ret)
		ret = fail(c, r, "shmipc_ctl_destroy");
	return ret;
}

void demo_ctl_free(struct demo_ctl *c)
{
	if (c->ctl)
		shmipc_ctl_destroy(c->ctl);
	free(c->acks);
	free(c->rtt);
	c->ctl = NULL;
	c->acks = NULL;
	c->rtt = NULL;
}
