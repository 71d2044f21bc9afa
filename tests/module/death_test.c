// SPDX-License-Identifier: GPL-2.0
/*
 * Death of a peer: however its process ends (SIGKILL, exit(3), a crash,
 * killed while itself asleep in WAIT), the other peers learn it at once:
 * a WAIT naming it (or naming no peer) returns -EOWNERDEAD, poll() wakes
 * with POLLIN, and a DEATH event names its peer id, pid and wait(2)
 * status.  Only the death of the whole thread group counts; exec and
 * closing fds are no death.  A WAIT naming a peer already dead returns
 * -EOWNERDEAD at once while it is marked (it owned words), -ESRCH once
 * it is forgotten.
 *
 * Runs in the VM as root with the module loaded.  Children report through
 * their exit status; a child knows the parent sleeps in WAIT from INFO's
 * nr_waiters, in poll() from /proc/PID/syscall.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define REGION_SIZE	4096
#define NR_POLL		7	/* x86-64 */
#define NR_PPOLL	271

enum how {
	HOW_SIGKILL,		/* SIGKILL while it sleeps in pause() */
	HOW_EXIT3,		/* exit(3) */
	HOW_SEGV,		/* a NULL write */
	HOW_KILL_WAITING,	/* SIGKILL while it sleeps in WAIT */
};

/* A NULL write the compiler cannot turn into a trap instruction. */
static void crash(void)
{
	volatile int *volatile p = NULL;
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	*p = 1;
}

/*
 * Fork a peer of @fd that ends as @how when @go[0] reads a byte (HOW_
 * SIGKILL and HOW_KILL_WAITING: it waits to be killed).  The peer closes
 * @go[1].  Returns its pid (id in *@id), or -1.
 */
static pid_t fork_victim(int fd, enum how how, int go[2], __u64 *id)
{
	pid_t pid = sx_fork_peer(fd, id);

	if (pid != 0)
		return pid;
	close(go[1]);
	switch (how) {
	case HOW_KILL_WAITING:
		/* word 8 stays 0: only the kill ends this */
		_exit(sx_errcode(sx_wait(fd, 8, 0, SHMIPC_DEADLINE_NONE)) +
		      100);
	case HOW_SIGKILL:
		sx_await_fd(go[0]);
		pause();
		_exit(100);
	case HOW_EXIT3:
		if (sx_await_fd(go[0]))
			_exit(101);
		_exit(3);
	case HOW_SEGV:
		if (sx_await_fd(go[0]))
			_exit(102);
		crash();
		_exit(103);
	}
	_exit(104);
}

/*
 * Fork the trigger: once the region of @fd has @waiters waiters, end
 * @victim as @how (kill it, or tell it through @go[1]).
 */
static pid_t fork_trigger(int fd, int waiters, pid_t victim, enum how how,
			  int go[2])
{
	pid_t pid = sx_fork();

	if (pid != 0)
		return pid;
	close(go[0]);
	if (!sx_wait_waiters(fd, waiters))
		_exit(100);
	if (how == HOW_SIGKILL || how == HOW_KILL_WAITING)
		_exit(kill(victim, SIGKILL) ? 101 : 0);
	_exit(sx_signal_fd(go[1]) ? 102 : 0);
}

static void expect_status(struct __test_metadata *_metadata, enum how how,
			  __u32 status)
{
	switch (how) {
	case HOW_SIGKILL:
	case HOW_KILL_WAITING:
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
		break;
	case HOW_EXIT3:
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(3, WEXITSTATUS(status));
		break;
	case HOW_SEGV:
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGSEGV, WTERMSIG(status));
		break;
	}
}

static int reap_code(enum how how)
{
	switch (how) {
	case HOW_EXIT3:
		return 3;
	case HOW_SEGV:
		return 128 + SIGSEGV;
	default:
		return 128 + SIGKILL;
	}
}

/* ------------------------------------------------------------------ */
/* every way to die, with a waiter naming the peer or naming none */

FIXTURE(ways) {
	struct sx_region r;
};

FIXTURE_VARIANT(ways) {
	enum how how;
	bool named;
};

FIXTURE_VARIANT_ADD(ways, sigkill_named) { .how = HOW_SIGKILL, .named = true };
FIXTURE_VARIANT_ADD(ways, sigkill_any) { .how = HOW_SIGKILL, .named = false };
FIXTURE_VARIANT_ADD(ways, exit3_named) { .how = HOW_EXIT3, .named = true };
FIXTURE_VARIANT_ADD(ways, exit3_any) { .how = HOW_EXIT3, .named = false };
FIXTURE_VARIANT_ADD(ways, segv_named) { .how = HOW_SEGV, .named = true };
FIXTURE_VARIANT_ADD(ways, segv_any) { .how = HOW_SEGV, .named = false };
FIXTURE_VARIANT_ADD(ways, killed_in_wait_named) {
	.how = HOW_KILL_WAITING, .named = true };
FIXTURE_VARIANT_ADD(ways, killed_in_wait_any) {
	.how = HOW_KILL_WAITING, .named = false };

FIXTURE_SETUP(ways)
{
	ASSERT_EQ(0, geteuid());
	ASSERT_EQ(0, sx_region_setup(&self->r, "death", REGION_SIZE,
				     REGION_SIZE));
}

FIXTURE_TEARDOWN(ways)
{
	sx_region_teardown(&self->r);
}

TEST_F(ways, waiter_woken_and_death_reported)
{
	int fd = self->r.fd, go[2], revents;
	struct shmipc_event ev[4];
	struct shmipc_info info;
	pid_t victim, trigger;
	__u64 id;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	victim = fork_victim(fd, variant->how, go, &id);
	ASSERT_LE(0, victim);
	trigger = fork_trigger(fd, variant->how == HOW_KILL_WAITING ? 2 : 1,
			       victim, variant->how, go);
	ASSERT_LE(0, trigger);
	close(go[0]);
	close(go[1]);

	/* sleeps until the victim is gone */
	EXPECT_EQ(-EOWNERDEAD,
		  sx_wait_peer(fd, 0, 0, sx_deadline_ms(SX_CHILD_WAIT_MS),
			       variant->named ? id : 0));
	EXPECT_EQ(0, sx_reap(trigger));
	EXPECT_EQ(reap_code(variant->how), sx_reap(victim));

	/* the DEATH is there: poll says so, read gives it */
	revents = sx_poll(fd, POLLIN, SX_SOON_MS);
	EXPECT_TRUE(revents & POLLIN);
	EXPECT_FALSE(revents & POLLHUP);
	ASSERT_EQ(2, sx_drain_events(fd, ev, 4));
	EXPECT_EQ(SHMIPC_EVENT_JOIN, ev[0].type);
	EXPECT_EQ(id, ev[0].peer_id);
	EXPECT_EQ(victim, ev[0].pid);
	EXPECT_EQ(SHMIPC_EVENT_DEATH, ev[1].type);
	EXPECT_EQ(id, ev[1].peer_id);
	EXPECT_EQ(victim, ev[1].pid);
	EXPECT_EQ(0, ev[1].flags);
	EXPECT_EQ(ev[0].seq + 1, ev[1].seq);
	expect_status(_metadata, variant->how, ev[1].status);

	/* nothing left behind: no peer, no waiter, not marked */
	ASSERT_EQ(0, sx_info(fd, &info));
	EXPECT_EQ(0, info.nr_peers);
	EXPECT_EQ(0, info.nr_dead);
	EXPECT_EQ(0, info.nr_waiters);
	EXPECT_EQ(0, self->r.w[0]);
	EXPECT_EQ(0, self->r.w[2]);
}

/* ------------------------------------------------------------------ */

FIXTURE(death) {
	struct sx_region r;
};

FIXTURE_SETUP(death)
{
	ASSERT_EQ(0, geteuid());
	ASSERT_EQ(0, sx_region_setup(&self->r, "death", REGION_SIZE,
				     REGION_SIZE));
}

FIXTURE_TEARDOWN(death)
{
	sx_region_teardown(&self->r);
}

/* The parent sleeps in poll(); a DEATH wakes it with POLLIN. */
TEST_F(death, poll_wakes_on_death)
{
	int fd = self->r.fd, go[2], revents;
	struct shmipc_event ev;
	pid_t victim, trigger, me = getpid();
	__u64 id;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	victim = fork_victim(fd, HOW_SIGKILL, go, &id);
	ASSERT_LE(0, victim);
	close(go[0]);
	ASSERT_EQ(0, sx_next_event(fd, &ev, SX_SOON_MS));	/* JOIN */
	ASSERT_EQ(SHMIPC_EVENT_JOIN, ev.type);
	EXPECT_EQ(0, sx_poll(fd, POLLIN, 0));

	trigger = sx_fork();
	ASSERT_LE(0, trigger);
	if (trigger == 0) {
		if (!sx_wait_in_syscall(me, NR_POLL, NR_PPOLL))
			_exit(100);
		_exit(kill(victim, SIGKILL) ? 101 : 0);
	}
	revents = sx_poll(fd, POLLIN, SX_CHILD_WAIT_MS);
	EXPECT_EQ(0, sx_reap(trigger));
	EXPECT_EQ(128 + SIGKILL, sx_reap(victim));
	EXPECT_EQ(POLLIN, revents & (POLLIN | POLLHUP | POLLERR));
	ASSERT_EQ(0, sx_next_event(fd, &ev, 0));
	EXPECT_EQ(SHMIPC_EVENT_DEATH, ev.type);
	EXPECT_EQ(id, ev.peer_id);
	EXPECT_EQ(victim, ev.pid);
	EXPECT_EQ(SIGKILL, WTERMSIG(ev.status));
	close(go[1]);
}

/* Death is the process exit itself: the DEATH comes before any reaping. */
TEST_F(death, reported_before_the_zombie_is_reaped)
{
	int fd = self->r.fd, go[2];
	struct shmipc_event ev;
	pid_t victim;
	__u64 id;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	victim = fork_victim(fd, HOW_SIGKILL, go, &id);
	ASSERT_LE(0, victim);
	close(go[0]);
	ASSERT_EQ(0, kill(victim, SIGKILL));
	ASSERT_EQ(0, sx_await_event(fd, SHMIPC_EVENT_DEATH, id, &ev));
	EXPECT_EQ(victim, ev.pid);
	EXPECT_EQ(SIGKILL, WTERMSIG(ev.status));
	/* still a zombie nobody reaped */
	EXPECT_TRUE(sx_exited(victim));
	EXPECT_EQ(128 + SIGKILL, sx_reap(victim));
	close(go[1]);
}

/*
 * A WAIT (or WAITV entry) naming a peer that already died never sleeps.
 * This peer owned no word, so the region forgot it once its DEATH was
 * posted: -ESRCH at once (the header: "a peer no longer known (left,
 * reclaimed, dead without owned words, or never attached) -ESRCH").
 */
TEST_F(death, wait_naming_forgotten_dead_peer_esrch_at_once)
{
	struct shmipc_waitv_entry e;
	int fd = self->r.fd, go[2];
	pid_t victim;
	__u64 id;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	victim = fork_victim(fd, HOW_SIGKILL, go, &id);
	ASSERT_LE(0, victim);
	close(go[0]);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(victim));
	ASSERT_EQ(0, sx_await_event(fd, SHMIPC_EVENT_DEATH, id, NULL));
	ASSERT_TRUE(sx_wait_peers(fd, 0, 0));

	EXPECT_EQ(-ESRCH, sx_wait_peer(fd, 0, 0, SHMIPC_DEADLINE_NONE, id));
	sx_entry(&e, fd, 0, 0);
	e.peer_id = id;
	EXPECT_EQ(-ESRCH, sx_waitv(fd, &e, 1, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(0, sx_nr_waiters(fd));
	close(go[1]);
}

/*
 * A dead peer kept marked because it owned a word: a WAIT naming it
 * returns -EOWNERDEAD at once, until RECLAIM forgets it (then -ESRCH).
 */
TEST_F(death, wait_naming_dead_marked_peer_eownerdead_at_once)
{
	static const __u64 own[] = { 12 };
	struct shmipc_waitv_entry e[2];
	int fd = self->r.fd;
	pid_t victim;
	__u64 id;

	victim = sx_fork_owner(fd, own, 1, NULL, 0, &id);
	ASSERT_LE(0, victim);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(victim));
	ASSERT_TRUE(sx_wait_peers(fd, 0, 1));

	/* whatever the word holds, even a word it never owned */
	EXPECT_EQ(-EOWNERDEAD, sx_wait_peer(fd, 0, 0, SHMIPC_DEADLINE_NONE,
					    id));
	EXPECT_EQ(-EOWNERDEAD, sx_wait_peer(fd, 12, SHMIPC_OWNER_DIED,
					    SHMIPC_DEADLINE_NONE, id));
	sx_entry(&e[0], fd, 4, 0);
	sx_entry(&e[1], fd, 0, 0);
	e[1].peer_id = id;
	EXPECT_EQ(-EOWNERDEAD, sx_waitv(fd, e, 2, SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(0, sx_nr_waiters(fd));
	EXPECT_EQ(0, sx_reclaim(fd, id));
	EXPECT_EQ(-ESRCH, sx_wait_peer(fd, 0, 0, SHMIPC_DEADLINE_NONE, id));
}

/*
 * SIGKILL @pid and reap it by polling waitpid(): no sleep, so the caller
 * learns of the exit as early as possible.  The wait status code.
 */
static int kill_reap_spinning(pid_t pid)
{
	int status;
	pid_t r;

	kill(pid, SIGKILL);
	do {
		r = waitpid(pid, &status, WNOHANG);
	} while (r == 0 || (r < 0 && errno == EINTR));
	if (r != pid)
		return -1;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
				     WEXITSTATUS(status);
}

/*
 * Death is never seen late: right after wait(2) reaped a SIGKILLed peer, a
 * WAIT naming it with deadline 0 (a liveness probe) finds it dead, never
 * still attached: forgotten if it owned no word, marked if it did.  The
 * death work runs a moment after the exit; a reaper that polls, and so
 * learns at once, would catch a probe that raced it.
 */
TEST_F(death, probe_right_after_reap_never_finds_it_attached)
{
	static const __u64 own[] = { 12 };
	int fd = self->r.fd, i, ret;
	pid_t victim;
	__u64 id;

	for (i = 0; i < 200; i++) {
		bool owner = i & 1;

		if (owner) {
			victim = sx_fork_owner(fd, own, 1, NULL, 0, &id);
		} else {
			victim = sx_fork_peer(fd, &id);
			if (victim == 0) {
				pause();
				_exit(100);
			}
		}
		ASSERT_LT(0, victim);
		ASSERT_EQ(128 + SIGKILL, kill_reap_spinning(victim));
		ret = sx_wait_peer(fd, 0, 0, 0, id);
		ASSERT_EQ(owner ? -EOWNERDEAD : -ESRCH, ret)
			TH_LOG("round %d: %s", i, strerror(-ret));
		if (owner) {
			ASSERT_EQ(0, sx_reclaim(fd, id));
			self->r.w[12 / 4] = 0;
		}
	}
	EXPECT_TRUE(sx_wait_peers(fd, 0, 0));
	EXPECT_EQ(0, sx_nr_waiters(fd));
}

/*
 * Two peers A and B.  A's death wakes the waiters that name A or no peer
 * (WAIT and WAITV), not those naming B; then B's death wakes the rest.
 */
TEST_F(death, death_wakes_only_concerned_waiters)
{
	int fd = self->r.fd, go[2];
	pid_t a, b, w_a, w_b, w_any, w_v;
	__u64 ida, idb;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	a = fork_victim(fd, HOW_SIGKILL, go, &ida);
	ASSERT_LE(0, a);
	b = fork_victim(fd, HOW_SIGKILL, go, &idb);
	ASSERT_LE(0, b);
	close(go[0]);
	close(go[1]);

	w_a = sx_fork();
	ASSERT_LE(0, w_a);
	if (w_a == 0)
		_exit(sx_errcode(sx_wait_peer(fd, 0, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), ida)));
	w_b = sx_fork();
	ASSERT_LE(0, w_b);
	if (w_b == 0)
		_exit(sx_errcode(sx_wait_peer(fd, 0, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), idb)));
	w_any = sx_fork();
	ASSERT_LE(0, w_any);
	if (w_any == 0)
		_exit(sx_errcode(sx_wait_peer(fd, 4, 0,
				 sx_deadline_ms(SX_CHILD_WAIT_MS), 0)));
	w_v = sx_fork();
	ASSERT_LE(0, w_v);
	if (w_v == 0) {
		struct shmipc_waitv_entry e[2];

		sx_entry(&e[0], fd, 8, 0);
		e[0].peer_id = idb;
		sx_entry(&e[1], fd, 12, 0);
		e[1].peer_id = ida;
		_exit(sx_errcode(sx_waitv(fd, e, 2,
				 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	}
	ASSERT_TRUE(sx_wait_waiters(fd, 5));

	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(a));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_a));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_any));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_v));
	ASSERT_TRUE(sx_wait_waiters(fd, 1));
	EXPECT_FALSE(sx_exited(w_b));

	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(b));
	EXPECT_EQ(EOWNERDEAD, sx_reap(w_b));
	EXPECT_EQ(0, sx_nr_waiters(fd));
	EXPECT_TRUE(sx_wait_peers(fd, 0, 0));
}

/* Many threads of a peer asleep in WAIT: one DEATH, every waiter ends. */
static void *thread_wait(void *arg)
{
	int fd = *(int *)arg;

	sx_wait(fd, 8, 0, SHMIPC_DEADLINE_NONE);
	return NULL;
}

TEST_F(death, peer_with_threads_asleep_dies_once)
{
	int fd = self->r.fd, go[2], n;
	struct shmipc_event ev[8];
	pid_t victim;
	__u64 id;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	victim = sx_fork_peer(fd, &id);
	ASSERT_LE(0, victim);
	if (victim == 0) {
		pthread_t t[3];
		int i;

		for (i = 0; i < 3; i++)
			if (pthread_create(&t[i], NULL, thread_wait, &fd))
				_exit(100);
		thread_wait(&fd);
		_exit(101);
	}
	close(go[0]);
	close(go[1]);
	ASSERT_TRUE(sx_wait_waiters(fd, 4));
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(victim));
	EXPECT_TRUE(sx_wait_waiters(fd, 0));
	ASSERT_EQ(0, sx_await_event(fd, SHMIPC_EVENT_DEATH, id, NULL));
	sx_sleep_ms(100);
	n = sx_drain_events(fd, ev, 8);
	EXPECT_EQ(0, n);
	EXPECT_TRUE(sx_wait_peers(fd, 0, 0));
}

/*
 * The peer is the thread group: its main thread exiting alone is no
 * death; the last thread's exit_group(5) is, with status 5.
 */
static void *thread_exit5(void *arg)
{
	int rd = *(int *)arg;

	sx_await_fd(rd);
	_exit(5);
}

TEST_F(death, peer_is_the_thread_group)
{
	int fd = self->r.fd, go[2];
	struct shmipc_event ev;
	__u64 end, id;
	pid_t victim;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	victim = sx_fork_peer(fd, &id);
	ASSERT_LE(0, victim);
	if (victim == 0) {
		pthread_t t;

		close(go[1]);
		if (pthread_create(&t, NULL, thread_exit5, &go[0]))
			_exit(100);
		syscall(SYS_exit, 0);	/* this thread only */
		_exit(101);
	}
	close(go[0]);
	ASSERT_EQ(0, sx_next_event(fd, &ev, SX_SOON_MS));
	ASSERT_EQ(SHMIPC_EVENT_JOIN, ev.type);
	end = sx_deadline_ms(SX_SOON_MS);
	while (sx_proc_state(victim) != 'Z' && sx_now_ns() < end)
		usleep(1000);
	ASSERT_TRUE(sx_proc_state(victim) == 'Z');
	/* the leader is gone, the process is not */
	sx_sleep_ms(100);
	EXPECT_EQ(1, sx_nr_peers(fd));
	EXPECT_EQ(0, sx_poll(fd, POLLIN, 0));
	EXPECT_EQ(-ETIMEDOUT, sx_wait_peer(fd, 0, 0, 0, id));

	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(5, sx_reap(victim));
	ASSERT_EQ(0, sx_next_event(fd, &ev, SX_SOON_MS));
	EXPECT_EQ(SHMIPC_EVENT_DEATH, ev.type);
	EXPECT_EQ(id, ev.peer_id);
	EXPECT_EQ(victim, ev.pid);
	EXPECT_TRUE(WIFEXITED(ev.status));
	EXPECT_EQ(5, WEXITSTATUS(ev.status));
	close(go[1]);
}

/*
 * exec() closes the region fds (close-on-exec) but the process, so the
 * peer, lives on; its death after the exec is reported with its pid.
 */
TEST_F(death, exec_keeps_the_peer)
{
	const char *busybox = "/bin/busybox";
	int fd = self->r.fd, own_fd;
	struct shmipc_event ev;
	__u64 end, id;
	pid_t victim;

	if (access(busybox, X_OK))
		SKIP(return, "no %s to exec", busybox);
	/* the victim's own fd, so that its exec changes nr_files */
	victim = sx_fork();
	ASSERT_LE(0, victim);
	if (victim == 0) {
		close(fd);
		own_fd = sx_open(self->r.dev, self->r.name, 0);
		if (own_fd < 0 || sx_attach(own_fd, &id))
			_exit(100);
		execl(busybox, "busybox", "sleep", "1000", (char *)NULL);
		_exit(101);
	}
	ASSERT_EQ(0, sx_await_event(fd, SHMIPC_EVENT_JOIN, 0, &ev));
	id = ev.peer_id;
	EXPECT_EQ(victim, ev.pid);
	end = sx_deadline_ms(SX_SOON_MS);
	while ((!sx_comm_is(victim, "busybox") || sx_nr_files(fd) != 1) &&
	       sx_now_ns() < end)
		usleep(1000);
	ASSERT_TRUE(sx_comm_is(victim, "busybox"));
	ASSERT_EQ(1, sx_nr_files(fd));	/* its fd closed on exec */
	sx_sleep_ms(100);
	EXPECT_EQ(1, sx_nr_peers(fd));
	EXPECT_EQ(0, sx_poll(fd, POLLIN, 0));

	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(victim));
	ASSERT_EQ(0, sx_next_event(fd, &ev, SX_SOON_MS));
	EXPECT_EQ(SHMIPC_EVENT_DEATH, ev.type);
	EXPECT_EQ(id, ev.peer_id);
	EXPECT_EQ(victim, ev.pid);
	EXPECT_EQ(SIGKILL, WTERMSIG(ev.status));
}

/* One process attached to three regions: a DEATH on each. */
TEST_F(death, death_reported_on_every_region)
{
	struct sx_region more[2];
	int fds[3], go[2], i, rp[2];
	__u64 ids[3];
	pid_t victim;

	ASSERT_EQ(0, sx_region_setup(&more[0], "death-b", REGION_SIZE,
				     REGION_SIZE));
	ASSERT_EQ(0, sx_region_setup(&more[1], "death-c", REGION_SIZE,
				     REGION_SIZE));
	fds[0] = self->r.fd;
	fds[1] = more[0].fd;
	fds[2] = more[1].fd;
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rp, O_CLOEXEC));
	victim = sx_fork();
	ASSERT_LE(0, victim);
	if (victim == 0) {
		close(rp[0]);
		close(go[1]);
		for (i = 0; i < 3; i++)
			if (sx_attach(fds[i], &ids[i]))
				_exit(100);
		if (write(rp[1], ids, sizeof(ids)) != sizeof(ids))
			_exit(101);
		sx_await_fd(go[0]);
		pause();
		_exit(102);
	}
	close(rp[1]);
	close(go[0]);
	ASSERT_EQ(sizeof(ids), read(rp[0], ids, sizeof(ids)));
	close(rp[0]);
	EXPECT_NE(ids[0], ids[1]);
	EXPECT_NE(ids[1], ids[2]);
	EXPECT_EQ(128 + SIGKILL, sx_kill_reap(victim));
	for (i = 0; i < 3; i++) {
		struct shmipc_event ev;

		ASSERT_EQ(0, sx_await_event(fds[i], SHMIPC_EVENT_DEATH, ids[i],
					    &ev)) TH_LOG("region %d", i);
		EXPECT_EQ(victim, ev.pid);
		EXPECT_EQ(SIGKILL, WTERMSIG(ev.status));
		EXPECT_TRUE(sx_wait_peers(fds[i], 0, 0));
	}
	close(go[1]);
	sx_region_teardown(&more[0]);
	sx_region_teardown(&more[1]);
}

TEST_HARNESS_MAIN
