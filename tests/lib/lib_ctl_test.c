// SPDX-License-Identifier: GPL-2.0
/*
 * Controller/worker protocol: transitions with real worker processes
 * (helpers/ctl_worker next to this binary), their three outcomes,
 * deaths at every step, workers that leave without replying, restart
 * and resend, a killed controller, and eight workers driven at once
 * through the async API.
 */
#include "kselftest_harness.h"
#include "lib_test.h"
#include "ctl_test.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/prctl.h>

#define DEADLINE	shmipc_deadline_in((uint64_t)LT_SOON_MS * LT_MS)

static char worker_path[PATH_MAX];

/* helpers/ctl_worker beside this test binary. */
static const char *worker_bin(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return "ctl_worker";
	self[n] = '\0';
	snprintf(worker_path, sizeof(worker_path), "%s/helpers/ctl_worker",
		 dirname(self));
	return worker_path;
}

static int spawn(struct shmipc_ctl *ctl, unsigned int slot, const char *mode,
		 const char *kind, const char *once,
		 struct shmipc_ctl_worker **w)
{
	char *argv[] = { (char *)worker_bin(), (char *)mode, (char *)kind,
			 (char *)once, NULL };

	return shmipc_ctl_spawn(ctl, slot, argv, w);
}

/* Check one echo reply: kind, nth request of its process, payload. */
static int reply_ok(const void *reply, size_t len, unsigned int kind,
		    unsigned int nth, const void *payload, size_t plen)
{
	struct ctl_test_reply h;

	if (!reply || len != sizeof(h) + plen)
		return 0;
	memcpy(&h, reply, sizeof(h));
	return h.kind == kind && h.nth == nth &&
	       (!plen || !memcmp((const char *)reply + sizeof(h), payload,
				 plen));
}

static pid_t reply_pid(const void *reply)
{
	struct ctl_test_reply h;

	memcpy(&h, reply, sizeof(h));
	return (pid_t)h.pid;
}

/* A request a forked worker took, and its handle. */
struct taken {
	struct shmipc_worker *wk;
	unsigned int kind;
	const void *p;
	size_t n;
};

/* In a forked worker: open @w's slot and wait for a request. */
static int take_first(struct shmipc_ctl_worker *w, struct taken *t)
{
	int ret = shmipc_worker_open(shmipc_ctl_worker_name(w), &t->wk);

	if (!ret)
		ret = shmipc_worker_next(t->wk, &t->kind, &t->p, &t->n,
					 SHMIPC_FOREVER);
	return ret;
}

/* A dead worker's status: 128 + signal, or the exit code; -1 unknown. */
static int how_died(struct shmipc_ctl_worker *w)
{
	int st;

	if (shmipc_ctl_worker_status(w, &st))
		return -1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

TEST(bad_arguments)
{
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w, *who;
	struct shmipc_worker *wk;
	char name[64], spec[80];
	char *argv[] = { NULL };
	static char big[CTL_TEST_MAX + 1];

	lt_name(name, sizeof(name), "ctl");
	EXPECT_EQ(-EINVAL, shmipc_ctl_create(name, 0, 64, &ctl));
	EXPECT_EQ(-EINVAL, shmipc_ctl_create(name, SHMIPC_CTL_WORKERS_MAX + 1,
					     64, &ctl));
	EXPECT_EQ(-EINVAL, shmipc_ctl_create(name, 1, 0, &ctl));
	EXPECT_EQ(-EINVAL, shmipc_ctl_create("bad/name", 1, 64, &ctl));
	EXPECT_EQ(-EINVAL, shmipc_ctl_create(NULL, 1, 64, &ctl));
	EXPECT_EQ(-EINVAL, shmipc_ctl_create(name, 1, 64, NULL));
	ASSERT_EQ(0, shmipc_ctl_create(name, 2, CTL_TEST_MAX, &ctl));
	/* A live controller's name is taken. */
	{
		struct shmipc_ctl *again;

		EXPECT_EQ(-EEXIST, shmipc_ctl_create(name, 1, 64, &again));
		EXPECT_EQ(-EBUSY, shmipc_ctl_unlink(name));
	}
	EXPECT_EQ(-EINVAL, shmipc_ctl_spawn(ctl, 2, argv, &w));
	EXPECT_EQ(-EINVAL, shmipc_ctl_spawn(ctl, 0, argv, &w));
	EXPECT_EQ(-EINVAL, shmipc_ctl_spawn(ctl, 0, NULL, &w));
	EXPECT_EQ(-EINVAL, shmipc_ctl_attach(ctl, 5, &w));
	EXPECT_EQ(-ECHILD, shmipc_ctl_poll(ctl, &who, 0));
	EXPECT_EQ(-EINVAL, shmipc_ctl_poll(NULL, &who, 0));
	ASSERT_EQ(0, spawn(ctl, 0, "echo", NULL, NULL, &w));
	EXPECT_EQ(-EBUSY, spawn(ctl, 0, "echo", NULL, NULL, &w));
	EXPECT_EQ(-EINVAL, shmipc_ctl_transition(w, 0, NULL, 0, NULL, NULL,
						 DEADLINE));
	EXPECT_EQ(-EINVAL, shmipc_ctl_transition(w, SHMIPC_CTL_KIND_MAX + 1,
						 NULL, 0, NULL, NULL,
						 DEADLINE));
	EXPECT_EQ(-EINVAL, shmipc_ctl_transition(w, SHMIPC_CTL_INIT, NULL, 4,
						 NULL, NULL, DEADLINE));
	EXPECT_EQ(-EMSGSIZE, shmipc_ctl_transition(w, SHMIPC_CTL_INIT, big,
						   sizeof(big), NULL, NULL,
						   DEADLINE));
	EXPECT_EQ(-EALREADY, shmipc_ctl_wait(w, NULL, NULL, 0));
	EXPECT_EQ(-EAGAIN, shmipc_ctl_worker_status(w, &(int){ 0 }));
	EXPECT_EQ(-EBUSY, shmipc_ctl_restart(w, NULL, NULL, 0));
	/* Async: a second send while one is in flight. */
	ASSERT_EQ(0, shmipc_ctl_send_async(w, SHMIPC_CTL_INIT, "x", 1));
	EXPECT_EQ(-EBUSY, shmipc_ctl_send_async(w, SHMIPC_CTL_INIT, "x", 1));
	EXPECT_EQ(0, shmipc_ctl_poll(ctl, &who, DEADLINE));
	EXPECT_EQ(w, who);
	/* The worker side. */
	EXPECT_EQ(-EINVAL, shmipc_worker_open("no-slash", &wk));
	EXPECT_EQ(-EINVAL, shmipc_worker_open("x/", &wk));
	EXPECT_EQ(-EINVAL, shmipc_worker_open("x/1a", &wk));
	EXPECT_EQ(-EINVAL, shmipc_worker_open("/1", &wk));
	EXPECT_EQ(-EINVAL, shmipc_worker_open(name, NULL));
	snprintf(spec, sizeof(spec), "%s/9", name);
	EXPECT_EQ(-ERANGE, shmipc_worker_open(spec, &wk));
	snprintf(spec, sizeof(spec), "%s/0", name);
	EXPECT_EQ(-EBUSY, shmipc_worker_open(spec, &wk));	/* alive */
	EXPECT_EQ(-ENOENT, shmipc_worker_open("lt-ctl-no-such/0", &wk));
	unsetenv(SHMIPC_CTL_ENV);
	EXPECT_EQ(-ENOENT, shmipc_worker_open(NULL, &wk));
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
	EXPECT_EQ(0, shmipc_ctl_destroy(NULL));
	EXPECT_EQ(0, shmipc_worker_close(NULL));
}

TEST(happy_path_all_transitions)
{
	static const unsigned int kinds[] = {
		SHMIPC_CTL_INIT, SHMIPC_CTL_BEGIN_RUN, SHMIPC_CTL_PROCESS,
		SHMIPC_CTL_PROCESS, SHMIPC_CTL_USER, SHMIPC_CTL_PROCESS,
		SHMIPC_CTL_END_RUN, SHMIPC_CTL_STOP,
	};
	static char big[CTL_TEST_MAX];
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;
	const void *reply;
	size_t len, k;
	char name[64];
	unsigned int i;
	pid_t pid;

	for (k = 0; k < sizeof(big); k++)
		big[k] = (char)lt_mix(k);
	lt_name(name, sizeof(name), "ctl");
	ASSERT_EQ(0, shmipc_ctl_create(name, 1, CTL_TEST_MAX +
						sizeof(struct ctl_test_reply), &ctl));
	ASSERT_EQ(0, spawn(ctl, 0, "echo", NULL, NULL, &w));
	pid = shmipc_ctl_worker_pid(w);
	EXPECT_LT(0, pid);
	EXPECT_EQ(0, shmipc_ctl_reply(w, &reply, &len));
	EXPECT_EQ(NULL, reply);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		uint64_t ev = 1000 + i;
		/* The USER transition carries a payload (and gets a reply)
		 * that outgrows both buffers; one PROCESS carries none. */
		const void *pl = kinds[i] == SHMIPC_CTL_USER ? (void *)big :
				 i == 5 ? NULL : (void *)&ev;
		size_t pn = kinds[i] == SHMIPC_CTL_USER ? sizeof(big) :
			    i == 5 ? 0 : sizeof(ev);

		ASSERT_EQ(0, shmipc_ctl_transition(w, kinds[i], pl, pn,
						   &reply, &len, DEADLINE));
		EXPECT_TRUE(reply_ok(reply, len, kinds[i], i + 1, pl, pn));
		EXPECT_EQ(pid, reply_pid(reply));
	}
	EXPECT_EQ(0, shmipc_ctl_reply(w, &reply, &len));
	EXPECT_TRUE(reply_ok(reply, len, SHMIPC_CTL_STOP, i, &(uint64_t){
				     1000 + i - 1 }, 8));
	/* After STOP the worker exits by itself, cleanly. */
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
	EXPECT_EQ(-1, kill(pid, 0));
}

TEST(timeout_with_worker_alive)
{
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;
	char name[64], kind[8];
	pid_t pid;

	lt_name(name, sizeof(name), "ctl");
	snprintf(kind, sizeof(kind), "%d", SHMIPC_CTL_BEGIN_RUN);
	ASSERT_EQ(0, shmipc_ctl_create(name, 1, 256, &ctl));
	ASSERT_EQ(0, spawn(ctl, 0, "hang", kind, NULL, &w));
	ASSERT_EQ(0, shmipc_ctl_transition(w, SHMIPC_CTL_INIT, NULL, 0, NULL,
					   NULL, DEADLINE));
	EXPECT_EQ(-ETIMEDOUT,
		  shmipc_ctl_transition(w, SHMIPC_CTL_BEGIN_RUN, "r", 1, NULL,
					NULL, shmipc_deadline_in(200 * LT_MS)));
	pid = shmipc_ctl_worker_pid(w);
	EXPECT_EQ(0, kill(pid, 0));		/* still alive */
	EXPECT_EQ(-EAGAIN, shmipc_ctl_worker_status(w, &(int){ 0 }));
	/* Still in flight: no new transition; waiting again times out. */
	EXPECT_EQ(-EBUSY, shmipc_ctl_send_async(w, SHMIPC_CTL_END_RUN, NULL,
						0));
	EXPECT_EQ(-ETIMEDOUT, shmipc_ctl_wait(w, NULL, NULL,
					      shmipc_deadline_in(50 * LT_MS)));
	/* Give up on it: kill it, and the wait says so. */
	EXPECT_EQ(0, shmipc_ctl_kill(w));
	EXPECT_EQ(-EOWNERDEAD, shmipc_ctl_wait(w, NULL, NULL, DEADLINE));
	EXPECT_EQ(128 + SIGKILL, how_died(w));
	EXPECT_EQ(-EOWNERDEAD, shmipc_ctl_send_async(w, SHMIPC_CTL_END_RUN,
						     NULL, 0));
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
}

/* Does a worker of @mode commit its reply before it dies? */
static bool replied(const char *mode)
{
	return !strcmp(mode, "die-after") || !strcmp(mode, "die-committed");
}

/* A worker that dies as @mode says at its first PROCESS request. */
static void die_at_process(struct __test_metadata *_metadata,
			   const char *mode, bool killed_from_outside)
{
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;
	const void *reply;
	size_t len;
	char name[64], kind[8];
	pid_t killer = 0;
	int ret;

	lt_name(name, sizeof(name), "ctl");
	snprintf(kind, sizeof(kind), "%d", SHMIPC_CTL_PROCESS);
	ASSERT_EQ(0, shmipc_ctl_create(name, 1, 256, &ctl));
	ASSERT_EQ(0, spawn(ctl, 0, mode, kind, NULL, &w));
	ASSERT_EQ(0, shmipc_ctl_transition(w, SHMIPC_CTL_INIT, NULL, 0, NULL,
					   NULL, DEADLINE));
	if (killed_from_outside)
		killer = lt_kill_later(shmipc_ctl_worker_pid(w), 100);
	ret = shmipc_ctl_transition(w, SHMIPC_CTL_PROCESS, "ev7", 3, &reply,
				    &len, SHMIPC_FOREVER);
	if (replied(mode)) {
		/* The reply came before the death: acknowledged; the death
		 * shows at the next transition. */
		ASSERT_EQ(0, ret);
		EXPECT_TRUE(reply_ok(reply, len, SHMIPC_CTL_PROCESS, 2, "ev7",
				     3));
		ret = shmipc_ctl_transition(w, SHMIPC_CTL_PROCESS, "ev8", 3,
					    NULL, NULL, SHMIPC_FOREVER);
	}
	EXPECT_EQ(-EOWNERDEAD, ret);
	EXPECT_EQ(128 + SIGKILL, how_died(w));
	if (killer) {
		EXPECT_EQ(0, lt_reap(killer));
	}
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
}

TEST(worker_killed_during_transition)
{
	die_at_process(_metadata, "hang", true);
}

TEST(worker_dies_before_replying)
{
	die_at_process(_metadata, "die-before", false);
}

TEST(worker_dies_after_replying)
{
	die_at_process(_metadata, "die-after", false);
}

/* Killed between taking the request (acked) and committing the reply. */
TEST(worker_dies_between_ack_and_reply)
{
	die_at_process(_metadata, "die-acked", false);
}

/* Killed after committing the reply, before counting it: the reply
 * still wins. */
TEST(worker_dies_before_counting_its_reply)
{
	die_at_process(_metadata, "die-committed", false);
}

/*
 * An attached worker takes INIT, waits until the controller sleeps on
 * its doorbell, closes its slot without replying and lives on until the
 * controller has returned: the leave, not a death, ends the transition
 * (-EOWNERDEAD), and the worker is known gone but not how it ended.
 * (This one passed before worker_close() rang the bell too; the spawned
 * case, restart_after_leaving_mid_transition, did not.)
 */
TEST(attached_worker_leaves_mid_transition)
{
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;
	char name[64];
	int go[2];
	pid_t child;

	lt_name(name, sizeof(name), "ctl");
	ASSERT_EQ(0, shmipc_ctl_create(name, 1, 256, &ctl));
	ASSERT_EQ(0, shmipc_ctl_attach(ctl, 0, &w));
	child = lt_fork_pipe(go);
	ASSERT_LE(0, child);
	if (child == 0) {
		struct taken t;
		int ret;

		close(go[1]);
		ret = take_first(w, &t);
		if (!ret && lt_await_asleep(getppid()))
			ret = -ETIME;
		if (!ret)
			ret = shmipc_worker_close(t.wk);
		if (!ret)
			ret = lt_await(go[0]);
		_exit(lt_code(ret));
	}
	close(go[0]);
	EXPECT_EQ(-EOWNERDEAD, shmipc_ctl_transition(w, SHMIPC_CTL_INIT,
						     "cfg", 3, NULL, NULL,
						     DEADLINE));
	EXPECT_EQ(0, kill(child, 0));		/* it left, it did not die */
	EXPECT_EQ(-ENODATA, shmipc_ctl_worker_status(w, &(int){ 0 }));
	EXPECT_EQ(0, lt_signal(go[1]));
	EXPECT_EQ(0, lt_reap(child));
	close(go[1]);
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
}

TEST(worker_crashes_on_startup)
{
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;
	char name[64];

	lt_name(name, sizeof(name), "ctl");
	ASSERT_EQ(0, shmipc_ctl_create(name, 1, 256, &ctl));
	ASSERT_EQ(0, spawn(ctl, 0, "crash", NULL, NULL, &w));
	EXPECT_EQ(-EOWNERDEAD, shmipc_ctl_transition(w, SHMIPC_CTL_INIT, NULL,
						     0, NULL, NULL,
						     SHMIPC_FOREVER));
	EXPECT_EQ(3, how_died(w));
	/* A program that cannot be run at all. */
	{
		char *argv[] = { "/nonexistent/ctl_worker", NULL };
		struct shmipc_ctl_worker *w2;
		struct shmipc_ctl *ctl2;
		char name2[64];

		lt_name(name2, sizeof(name2), "ctl");
		ASSERT_EQ(0, shmipc_ctl_create(name2, 1, 256, &ctl2));
		EXPECT_EQ(-ENOENT, shmipc_ctl_spawn(ctl2, 0, argv, &w2));
		EXPECT_EQ(0, shmipc_ctl_destroy(ctl2));
	}
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
}

/* Die (or leave) as @mode at PROCESS once (ONCE_FILE), restart, get the
 * reply. */
static void restart_case(struct __test_metadata *_metadata, const char *mode)
{
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;
	const void *reply;
	size_t len;
	char name[64], kind[8], once[96];
	pid_t old;
	int fd, ret;

	lt_name(name, sizeof(name), "ctl");
	snprintf(kind, sizeof(kind), "%d", SHMIPC_CTL_PROCESS);
	snprintf(once, sizeof(once), "/tmp/%s.once", name);
	fd = open(once, O_CREAT | O_WRONLY, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, shmipc_ctl_create(name, 1, 256, &ctl));
	ASSERT_EQ(0, spawn(ctl, 0, mode, kind, once, &w));
	old = shmipc_ctl_worker_pid(w);
	ASSERT_EQ(0, shmipc_ctl_transition(w, SHMIPC_CTL_INIT, NULL, 0, NULL,
					   NULL, DEADLINE));
	ret = shmipc_ctl_transition(w, SHMIPC_CTL_PROCESS, "ev1", 3, NULL,
				    NULL, DEADLINE);
	if (replied(mode)) {
		EXPECT_EQ(0, ret);
		ret = shmipc_ctl_transition(w, SHMIPC_CTL_PROCESS, "ev2", 3,
					    NULL, NULL, DEADLINE);
	}
	/* For "leave", -ETIMEDOUT would be the lost wake: an outcome, not
	 * a timing. */
	ASSERT_EQ(-EOWNERDEAD, ret);
	if (!strcmp(mode, "leave")) {
		/* It left and lives on (paused): neither a death nor an
		 * exit ended the wait.  Kill kills it, restart reaps it. */
		EXPECT_EQ(0, kill(old, 0));
		EXPECT_EQ(-ENODATA, shmipc_ctl_worker_status(w, &(int){ 0 }));
		EXPECT_EQ(0, shmipc_ctl_kill(w));
	} else {
		EXPECT_EQ(128 + SIGKILL, how_died(w));
	}
	/* The new worker starts afresh (its first request) and gets the
	 * failed transition, once. */
	ASSERT_EQ(0, shmipc_ctl_restart(w, &reply, &len, DEADLINE));
	EXPECT_EQ(-1, waitpid(old, NULL, WNOHANG));	/* reaped */
	EXPECT_EQ(ECHILD, errno);
	if (!strcmp(mode, "die-committed")) {
		/* Its death was seen with its (uncounted) reply to ev1: ev2
		 * was refused unsent, and nothing was in flight. */
		EXPECT_EQ(NULL, reply);
		ASSERT_EQ(0, shmipc_ctl_transition(w, SHMIPC_CTL_PROCESS,
						   "ev2", 3, &reply, &len,
						   DEADLINE));
	}
	ASSERT_NE(NULL, reply);
	EXPECT_TRUE(reply_ok(reply, len, SHMIPC_CTL_PROCESS, 1,
			     replied(mode) ? "ev2" : "ev1", 3));
	EXPECT_NE(old, reply_pid(reply));
	EXPECT_EQ(shmipc_ctl_worker_pid(w), reply_pid(reply));
	ASSERT_EQ(0, shmipc_ctl_transition(w, SHMIPC_CTL_END_RUN, "e", 1,
					   &reply, &len, DEADLINE));
	EXPECT_TRUE(reply_ok(reply, len, SHMIPC_CTL_END_RUN, 2, "e", 1));
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
	unlink(once);
}

TEST(restart_and_resend_died_before_reply)
{
	restart_case(_metadata, "die-before");
}

TEST(restart_and_resend_died_after_reply)
{
	restart_case(_metadata, "die-after");
}

TEST(restart_and_resend_died_between_ack_and_reply)
{
	restart_case(_metadata, "die-acked");
}

TEST(restart_and_resend_died_before_counting_its_reply)
{
	restart_case(_metadata, "die-committed");
}

/* A spawned worker takes PROCESS and closes its slot without replying
 * (shmipc_worker_close()); the request it left goes to the new one. */
TEST(restart_after_leaving_mid_transition)
{
	restart_case(_metadata, "leave");
}

TEST(restart_after_crash_on_startup)
{
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;
	const void *reply;
	size_t len;
	char name[64];

	/* The slot's worker crashes; an echo worker attached by hand
	 * (started by "someone else": here a fork) takes the slot. */
	lt_name(name, sizeof(name), "ctl");
	ASSERT_EQ(0, shmipc_ctl_create(name, 1, 256, &ctl));
	ASSERT_EQ(0, shmipc_ctl_attach(ctl, 0, &w));
	EXPECT_EQ(-EPERM, shmipc_ctl_kill(w));
	ASSERT_EQ(0, shmipc_ctl_send_async(w, SHMIPC_CTL_INIT, "cfg", 3));
	/* Nobody opened the slot yet: not dead, just late. */
	EXPECT_EQ(-ETIMEDOUT, shmipc_ctl_wait(w, NULL, NULL,
					      shmipc_deadline_in(50 * LT_MS)));
	pid_t child = lt_fork();

	if (child == 0) {
		struct taken t;

		if (take_first(w, &t))
			_exit(1);
		raise(SIGKILL);		/* dies holding INIT */
	}
	EXPECT_EQ(-EOWNERDEAD, shmipc_ctl_wait(w, NULL, NULL, DEADLINE));
	EXPECT_EQ(128 + SIGKILL, lt_reap(child));
	if (shmipc_backend() == SHMIPC_BACKEND_MODULE) {
		EXPECT_EQ(128 + SIGKILL, how_died(w));
	} else {
		EXPECT_EQ(-ENODATA, shmipc_ctl_worker_status(w, &(int){ 0 }));
	}
	/* Restart an attached worker: the slot waits for a new one. */
	child = lt_fork();
	if (child == 0) {
		struct taken t;
		int ret;

		lt_sleep_ms(50);
		ret = take_first(w, &t);
		if (!ret)
			ret = t.kind == SHMIPC_CTL_INIT && t.n == 3 &&
					      !memcmp(t.p, "cfg", 3) ?
				      shmipc_worker_reply(t.wk, "ok", 2) :
				      -EBADMSG;
		/* Then it sees the controller close: -EPIPE. */
		if (!ret)
			ret = shmipc_worker_next(t.wk, &t.kind, &t.p, &t.n,
						 SHMIPC_FOREVER) == -EPIPE ?
				      0 : -EPROTO;
		shmipc_worker_close(t.wk);
		_exit(lt_code(ret));
	}
	ASSERT_EQ(0, shmipc_ctl_restart(w, &reply, &len, DEADLINE));
	EXPECT_EQ(2, len);
	EXPECT_EQ(0, memcmp(reply, "ok", 2));
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
	EXPECT_EQ(0, lt_reap(child));
}

/* Does a region whose name starts with @prefix exist? */
static int region_left(const char *prefix)
{
	struct shmipc_region_stat st[256];
	int n = shmipc_list_regions(st, 256), i;

	if (n < 0)
		return n;
	for (i = 0; i < n && i < 256; i++)
		if (!strncmp(st[i].name, prefix, strlen(prefix)) &&
		    !(st[i].flags & SHMIPC_STAT_DESTROYED))
			return 1;
	return 0;
}

TEST(controller_killed)
{
	char name[64];
	int fds[2];
	pid_t ctl_pid, pids[2];
	int i;

	/* The workers are the controller's children: adopt them when it
	 * dies, to see how they end. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	lt_name(name, sizeof(name), "ctl");
	ASSERT_EQ(0, pipe(fds));
	ctl_pid = lt_fork();
	if (ctl_pid == 0) {
		struct shmipc_ctl *ctl;
		struct shmipc_ctl_worker *w[2];

		if (shmipc_ctl_create(name, 2, 256, &ctl))
			_exit(1);
		for (i = 0; i < 2; i++) {
			if (spawn(ctl, i, "echo", NULL, NULL, &w[i]) ||
			    shmipc_ctl_transition(w[i], SHMIPC_CTL_INIT, NULL,
						  0, NULL, NULL, DEADLINE))
				_exit(2);
			pids[i] = shmipc_ctl_worker_pid(w[i]);
		}
		if (write(fds[1], pids, sizeof(pids)) != sizeof(pids))
			_exit(3);
		pause();
		_exit(4);
	}
	close(fds[1]);
	ASSERT_EQ((ssize_t)sizeof(pids), read(fds[0], pids, sizeof(pids)));
	close(fds[0]);
	kill(ctl_pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(ctl_pid));
	/* Each worker, waiting for a request, sees the death and exits;
	 * then nothing is left (module: the last handle took it; portable:
	 * the first worker that saw the death removed the names). */
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, lt_reap(pids[i]));
	EXPECT_EQ(0, region_left(name));
	/* The name is free again. */
	{
		struct shmipc_ctl *ctl;

		ASSERT_EQ(0, shmipc_ctl_create(name, 1, 256, &ctl));
		EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
		EXPECT_EQ(0, region_left(name));
	}
}

/*
 * Portable cleanup race (found by the torture): the controller is killed
 * while worker 0 holds a request; worker 1 sees the death first and
 * removes the controller's names; only then does worker 0 reply, which
 * creates its reply buffer's first generation.  Worker 0 sees the death
 * at its next request and removes that name on close: nothing is left.
 */
TEST(controller_killed_while_a_worker_replies)
{
	char name[64], spec[80];
	int up[2], go[2];
	pid_t ctl_pid, w0, w1;

	lt_name(name, sizeof(name), "ctlr");
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(go));
	ctl_pid = lt_fork();
	if (ctl_pid == 0) {
		struct shmipc_ctl *ctl;
		struct shmipc_ctl_worker *w[2];

		if (shmipc_ctl_create(name, 2, 256, &ctl) ||
		    shmipc_ctl_attach(ctl, 0, &w[0]) ||
		    shmipc_ctl_attach(ctl, 1, &w[1]) ||
		    lt_signal(up[1]) ||
		    shmipc_ctl_send_async(w[0], SHMIPC_CTL_PROCESS, "e1", 2))
			_exit(1);
		pause();	/* killed here */
		_exit(2);
	}
	ASSERT_EQ(0, lt_await(up[0]));
	snprintf(spec, sizeof(spec), "%s/0", name);
	w0 = lt_fork();
	if (w0 == 0) {
		struct shmipc_worker *wk;
		unsigned int kind;
		const void *p;
		size_t n;
		int ret;

		if (shmipc_worker_open(spec, &wk) ||
		    shmipc_worker_next(wk, &kind, &p, &n, DEADLINE) ||
		    lt_signal(up[1]) || lt_await(go[0]))
			_exit(1);
		/* The controller is dead (portable: its names gone): reply
		 * anyway.  The module backend may say so at once. */
		ret = shmipc_worker_reply(wk, "r1", 2);
		if (ret && ret != -EOWNERDEAD)
			_exit(2);
		if (!ret && shmipc_worker_next(wk, &kind, &p, &n, DEADLINE) !=
		    -EOWNERDEAD)
			_exit(3);
		shmipc_worker_close(wk);
		_exit(0);
	}
	ASSERT_EQ(0, lt_await(up[0]));	/* worker 0 holds the request */
	snprintf(spec, sizeof(spec), "%s/1", name);
	w1 = lt_fork();
	if (w1 == 0) {
		struct shmipc_worker *wk;
		unsigned int kind;
		const void *p;
		size_t n;

		if (shmipc_worker_open(spec, &wk) || lt_signal(up[1]))
			_exit(1);
		if (shmipc_worker_next(wk, &kind, &p, &n, DEADLINE) !=
		    -EOWNERDEAD)
			_exit(2);
		shmipc_worker_close(wk);
		_exit(0);
	}
	ASSERT_EQ(0, lt_await(up[0]));	/* worker 1 is attached */
	kill(ctl_pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(ctl_pid));
	EXPECT_EQ(0, lt_reap(w1));	/* it saw the death, cleaned up */
	EXPECT_EQ(0, lt_signal(go[1]));
	EXPECT_EQ(0, lt_reap(w0));
	EXPECT_EQ(0, region_left(name));
	close(up[0]);
	close(up[1]);
	close(go[0]);
	close(go[1]);
}

/* A controller killed with a dead controller's names still there
 * (portable: as after a crash with no worker to clean up): the next
 * create of the name removes them first. */
TEST(create_replaces_dead_controller)
{
	struct shmipc_ctl *ctl;
	char name[64];
	pid_t pid;

	lt_name(name, sizeof(name), "ctl");
	pid = lt_fork();
	if (pid == 0) {
		if (shmipc_ctl_create(name, 2, 256, &ctl))
			_exit(1);
		raise(SIGKILL);
	}
	ASSERT_EQ(128 + SIGKILL, lt_reap(pid));
	ASSERT_EQ(0, shmipc_ctl_create(name, 1, 256, &ctl));
	EXPECT_EQ(-EBUSY, shmipc_ctl_unlink(name));
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
	EXPECT_EQ(0, region_left(name));
	EXPECT_EQ(-ENOENT, shmipc_ctl_unlink(name));
}

TEST(eight_workers_async)
{
	enum { N = 8, EVENTS = 400 };
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w[N], *who;
	uint64_t sent_ev[N], next_ev = 0, done = 0, sum = 0, want = 0;
	unsigned int nth[N];
	char name[64];
	int i;

	lt_name(name, sizeof(name), "ctl");
	ASSERT_EQ(0, shmipc_ctl_create(name, N, 256, &ctl));
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, spawn(ctl, i, "echo", NULL, NULL, &w[i]));
		ASSERT_EQ(i, (int)shmipc_ctl_worker_slot(w[i]));
		sent_ev[i] = next_ev++;
		nth[i] = 1;
		ASSERT_EQ(0, shmipc_ctl_send_async(w[i], SHMIPC_CTL_PROCESS,
						   &sent_ev[i], 8));
	}
	/* Keep all eight busy from one thread: whoever answers gets the
	 * next event. */
	while (done < EVENTS) {
		const void *reply;
		size_t len;
		int s;

		ASSERT_EQ(0, shmipc_ctl_poll(ctl, &who, DEADLINE));
		s = (int)shmipc_ctl_worker_slot(who);
		ASSERT_EQ(w[s], who);
		ASSERT_EQ(0, shmipc_ctl_reply(who, &reply, &len));
		ASSERT_TRUE(reply_ok(reply, len, SHMIPC_CTL_PROCESS, nth[s],
				     &sent_ev[s], 8));
		sum += sent_ev[s];
		done++;
		if (next_ev < EVENTS) {
			sent_ev[s] = next_ev++;
			nth[s]++;
			ASSERT_EQ(0, shmipc_ctl_send_async(
				who, SHMIPC_CTL_PROCESS, &sent_ev[s], 8));
		}
	}
	for (uint64_t e = 0; e < EVENTS; e++)
		want += e;
	EXPECT_EQ(want, sum);		/* each event exactly once */
	EXPECT_EQ(-ECHILD, shmipc_ctl_poll(ctl, &who, 0));
	/* A death among them is reported for that worker only (killed
	 * and dead, not reaped, before the transitions start). */
	ASSERT_EQ(0, shmipc_ctl_kill(w[5]));
	ASSERT_EQ(0, waitid(P_PID, (id_t)shmipc_ctl_worker_pid(w[5]),
			    &(siginfo_t){ 0 }, WEXITED | WNOWAIT));
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, shmipc_ctl_send_async(w[i], SHMIPC_CTL_END_RUN,
						   NULL, 0));
	for (i = 0; i < N; i++) {
		int ret = shmipc_ctl_poll(ctl, &who, DEADLINE);

		if (who == w[5]) {
			EXPECT_EQ(-EOWNERDEAD, ret);
		} else {
			EXPECT_EQ(0, ret);
		}
	}
	EXPECT_EQ(128 + SIGKILL, how_died(w[5]));
	EXPECT_EQ(0, shmipc_ctl_destroy(ctl));
}

TEST_HARNESS_MAIN
