// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: run one row.  One process per side, each pinned to its CPU;
 * they set up, say they are ready, and start together when the parent
 * closes the go pipe.  The parent then sleeps in waitpid() (it is not
 * pinned, and stays off the CPUs while they measure).  A watchdog kills
 * the sides of a row that does not end (a spinning side whose peer
 * failed spins for ever).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "bench.h"

static volatile sig_atomic_t watchdog_fired;

static void on_alarm(int sig)
{
	(void)sig;
	watchdog_fired = 1;
}

uint64_t trial_deadline(const struct trial *t, uint64_t go_ns)
{
	return go_ns + t->opts->warmup_ns + t->opts->time_ns + BENCH_GRACE_NS;
}

uint64_t side_ready(struct trial *t)
{
	char c = 'r';

	t->ready = true;
	if (write(t->ready_fd, &c, 1) != 1)
		_exit(3);
	/* EOF when the parent closes the go pipe: everyone starts. */
	while (read(t->go_fd, &c, 1) < 0 && errno == EINTR)
		;
	/* Acquire: the parent stored go_ns before it closed the pipe. */
	return atomic_load_explicit(&t->sh->go_ns, memory_order_acquire);
}

int side_fail(struct trial *t, int side, const char *what, int err)
{
	struct side_out *o = &t->sh->out[side];
	char c = 'f';

	o->err = err;
	snprintf(o->what, sizeof(o->what), "%s", what);
	/* Failed before the start: tell the parent, not to wait for us. */
	if (!t->ready && write(t->ready_fd, &c, 1) != 1)
		_exit(3);
	t->ready = true;
	return err;
}

static void run_side(struct trial *t, int side, int ready_rd, int go_wr)
{
	int ret;

	close(ready_rd);
	close(go_wr);
	/* A row whose parent dies must not leave spinners behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ret = pin_cpu(t->cpu[side]);
	if (ret) {
		side_fail(t, side, "pin to CPU", ret);
		_exit(1);
	}
	if (t->tr && t->tr->attach) {
		ret = t->tr->attach(t);
		if (ret) {
			side_fail(t, side, "attach", ret);
			_exit(1);
		}
	}
	ret = t->pat->side(t, side);
	if (t->tr && t->tr->detach)
		t->tr->detach(t);
	/* exit(), not _exit(): a transport's library may say goodbye in
	 * its destructors (an iceoryx runtime deregisters from RouDi, which
	 * otherwise signals the gone process at its shutdown, and aborts).
	 * Nothing is buffered: the parent flushed before the fork. */
	exit(ret ? 1 : 0);
}

static void kill_all(const pid_t *pids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
}

/* Reap every side; after the watchdog fires, kill those left. */
static int reap(pid_t *pids, int n)
{
	int left = n, i, status, ret = 0;

	while (left) {
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0 && errno == EINTR && watchdog_fired) {
			kill_all(pids, n);
			ret = -ETIMEDOUT;
			continue;
		}
		if (pid < 0)
			return ret ? ret : -errno;
		for (i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			left--;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				if (!ret)
					ret = -ECHILD;
				/* One side failed: its peers may spin for
				 * ever; end them now. */
				kill_all(pids, n);
			}
			break;
		}
	}
	return ret;
}

static void set_watchdog(unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	/* No SA_RESTART: the alarm interrupts read() and waitpid(). */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	watchdog_fired = 0;
	alarm(seconds);
}

/* Start the sides together; returns 0 or -errno (then rows say why). */
static int run_sides(struct trial *t)
{
	pid_t pids[BENCH_MAX_SIDES] = { 0 };
	int ready[2], go[2], forked, got = 0, ret = 0, r;
	uint64_t run_s = (t->opts->warmup_ns + t->opts->time_ns) / 1000000000ULL;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	if (pipe2(go, O_CLOEXEC)) {
		ret = -errno;
		close(ready[0]);
		close(ready[1]);
		return ret;
	}
	fflush(NULL);	/* no buffered output duplicated in the children */
	/* Setup (region opens) plus the run, plus slack for a slow VM. */
	set_watchdog((unsigned int)(run_s + 60));
	for (forked = 0; forked < t->nsides; forked++) {
		pid_t pid = fork();

		if (pid < 0) {
			ret = -errno;
			break;
		}
		if (pid == 0) {
			t->ready_fd = ready[1];
			t->go_fd = go[0];
			run_side(t, forked, ready[0], go[1]);
		}
		pids[forked] = pid;
	}
	close(ready[1]);
	close(go[0]);
	while (!ret && got < t->nsides) {
		ssize_t n = read(ready[0], &c, 1);

		if (n == 1 && c == 'r')
			got++;
		else if (n < 0 && errno == EINTR && !watchdog_fired)
			continue;
		else
			ret = -ECHILD;	/* a side failed or died in its setup */
	}
	close(ready[0]);
	if (ret)
		kill_all(pids, forked);
	/* Release: the sides read go_ns after the pipe's EOF. */
	atomic_store_explicit(&t->sh->go_ns, now_ns(), memory_order_release);
	close(go[1]);
	r = reap(pids, forked);
	if (!ret)
		ret = r;
	alarm(0);
	return ret;
}

int run_trial(struct trial *t, struct row *row)
{
	size_t samples = t->opts->max_samples * sizeof(uint64_t);
	size_t head = sizeof(struct trial_shared) + samples;
	size_t scratch = t->tr && t->tr->scratch_bytes ?
				 t->tr->scratch_bytes(t) : 0;
	size_t len;
	int i, ret;

	head = (head + 4095) & ~(size_t)4095;
	len = head + scratch;
	t->sh = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t->sh == MAP_FAILED) {
		row->err = -errno;
		snprintf(row->what, sizeof(row->what), "mmap");
		return row->err;
	}
	t->scratch = scratch ? (char *)t->sh + head : NULL;
	ret = t->tr && t->tr->setup ? t->tr->setup(t) : 0;
	if (ret) {
		snprintf(row->what, sizeof(row->what), "setup");
	} else {
		ret = run_sides(t);
		if (t->tr && t->tr->teardown)
			t->tr->teardown(t);
		snprintf(row->what, sizeof(row->what), "%s",
			 ret == -ETIMEDOUT ? "watchdog" : "side");
	}
	/* A side's own error says more than "a side failed". */
	for (i = 0; i < t->nsides; i++) {
		if (t->sh->out[i].err) {
			ret = t->sh->out[i].err;
			snprintf(row->what, sizeof(row->what), "%s",
				 t->sh->out[i].what);
			break;
		}
	}
	row->err = ret;
	if (!ret)
		t->pat->finish(t, row);
	munmap(t->sh, len);
	t->sh = NULL;
	return ret;
}
