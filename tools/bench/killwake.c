// SPDX-License-Identifier: GPL-2.0
/*
 * kill-to-wake on the host: time from kill(SIGKILL) of a peer to the
 * survivor's wake-up, for libshmipc (the host's backend: portable) and
 * for the best each alternative offers (killwake.h, one mode per way of
 * waiting).  The VM's module rows come from kill_to_wake.c; given
 * their JSON lines (--module-json), issue 6's target is printed after
 * the table with both.  Not a test: it asserts nothing, it reports.
 *
 * One trial: the survivor (this process, first CPU) prepares what the
 * peer joins and asks the killer (a process on the second CPU, forked
 * before anything else) to fork a victim there; the victim joins and
 * says it is ready; the survivor arms and asks for the kill; the killer
 * waits 1-21 ms (uniformly random: a kill lands anywhere in a period
 * of polling, as a crash would), stamps CLOCK_MONOTONIC, kills, reaps
 * the victim and says so.  The survivor reads the clock when it has
 * seen the death.  The victim is not the survivor's child: as between
 * unrelated processes, its parent reaps it.
 *
 * Usage: kill-to-wake [--json FILE] [--module-json FILE] [--trials N]
 *                     [--slow-trials N] [--only LIST]
 *   --trials N       trials per row (default 200, at least 10)
 *   --slow-trials N  ... of a row whose trial takes seconds (iceoryx: 10)
 *   --only LIST      rows whose name has one of these comma-separated parts
 * A Markdown table on stdout; with --json, one object per row with
 * chanbench's fields (report.c); pidfd is the baseline of the others.
 * Exit 1 if a row that was built could not be measured, 2 on bad options
 * or an unwritable JSON file (before any trial).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <shmipc.h>

#include "bench.h"
#include "killwake.h"

#define KW_DELAY_MIN_NS	 1000000ULL	/* the killer's pause: 1 ms ... */
#define KW_DELAY_SPAN_US 20000U		/* ... plus up to 20 ms */
#define KW_VM_ROWS	 8
#define KW_TRIALS_MAX	 100000

/* What was built; the optional ones name their package otherwise. */
static const struct {
	const struct kw_mode *mode;	/* NULL: not built */
	const char *name;
	const char *package;
} modes[] = {
	{ &kw_pidfd, "pidfd", NULL },
	{ &kw_pipe, "pipe-eof", NULL },
	{ &kw_unix_stream, "unix-stream-eof", NULL },
	{ &kw_spsc, "spsc", NULL },
#ifdef CHANBENCH_BOOST
	{ &kw_boostmq, "boost-mq-timeout-10ms", NULL },
#else
	{ NULL, "boost-mq-timeout-10ms", "libboost-dev" },
#endif
#ifdef CHANBENCH_ICEORYX
	{ &kw_iceoryx, "iceoryx-roudi-poll-1ms", NULL },
#else
	{ NULL, "iceoryx-roudi-poll-1ms", "libiceoryx-binding-c-dev" },
#endif
};
#define N_MODES	(sizeof(modes) / sizeof(modes[0]))

enum kw_op { KW_SPAWN, KW_KILL };

/* Survivor to killer; the killer answers a KILL once it reaped. */
struct kw_cmd {
	int op;
	int mode;		/* index in modes[] */
	struct kw_trial trial;	/* its name and index, for the victim */
	uint64_t delay_ns;	/* KILL: pause before it */
};

/* Victim (or killer, if the fork failed) to survivor. */
struct kw_ready {
	pid_t pid;
	int err;
};

struct kw_shared {
	/* Written by the killer before kill(), read by the survivor after
	 * the killer's answer, which orders them: relaxed. */
	_Atomic uint64_t kill_ns;
};

int kw_poll_in(int fd, uint64_t limit_ns)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t now;
	int ret;

	for (;;) {
		now = now_ns();
		if (now >= limit_ns)
			return -ETIMEDOUT;
		ret = poll(&p, 1, (int)((limit_ns - now) / 1000000 + 1));
		if (ret > 0)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}

/* One command, with @fd (if >= 0) passed along (SCM_RIGHTS). */
static int send_cmd(int sock, const struct kw_cmd *c, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)c, .iov_len = sizeof(*c) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)sizeof(*c) ?
	       0 : -EIO;
}

/* 1 and the command (*@fd: the fd passed, or -1), or 0 at the end. */
static int recv_cmd(int sock, struct kw_cmd *c, int *fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = c, .iov_len = sizeof(*c) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;

	*fd = -1;
	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(*c))
		return 0;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 1;
}

/* The victim: join, say so, wait for the kill (or its killer's end). */
static void victim(const struct kw_cmd *c, int fd, int ready)
{
	struct kw_trial t = c->trial;
	const struct kw_mode *m = modes[c->mode].mode;
	struct kw_ready r = { .pid = getpid() };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	dup2(2, 1);	/* libraries' logs stay out of the table */
	t.peer_fd = fd;
	r.err = m->victim ? m->victim(&t) : 0;
	if (write(ready, &r, sizeof(r)) != sizeof(r) || r.err)
		_exit(1);
	for (;;)
		pause();
}

static void killer(int sock, int ready, int cpu, struct kw_shared *sh)
{
	struct kw_cmd c;
	pid_t pid = -1;
	int fd;

	pin_cpu(cpu);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (recv_cmd(sock, &c, &fd)) {
		if (c.op == KW_SPAWN) {
			pid = fork();
			if (pid == 0)
				victim(&c, fd, ready);
			if (fd >= 0)
				close(fd);
			if (pid < 0) {
				struct kw_ready r = { .err = -errno };

				if (write(ready, &r, sizeof(r)) != sizeof(r))
					break;
			}
			continue;
		}
		sleep_ns(c.delay_ns);
		atomic_store_explicit(&sh->kill_ns, now_ns(),
				      memory_order_relaxed);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		pid = -1;
		if (write(sock, &c.op, sizeof(c.op)) != sizeof(c.op))
			break;
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	_exit(0);
}

struct kw_run {
	int sock, ready;
	struct kw_shared *sh;
	unsigned int seed;
	const char *what;	/* the step that failed */
};

static int read_ready(struct kw_run *run, struct kw_ready *r, uint64_t limit)
{
	int ret = kw_poll_in(run->ready, limit);

	if (ret)
		return ret;
	return read(run->ready, r, sizeof(*r)) == sizeof(*r) ? 0 : -EIO;
}

/* One trial of modes[@mi]: 0 and *@lat, or -errno (run->what says where). */
static int trial(struct kw_run *run, int mi, int index, uint64_t *lat)
{
	const struct kw_mode *m = modes[mi].mode;
	struct kw_cmd c = { .op = KW_SPAWN, .mode = mi };
	struct kw_trial *t = &c.trial;
	struct kw_ready r = { 0 };
	uint64_t woke = 0, killed;
	int ret, op;

	t->index = index;
	t->fd = t->peer_fd = -1;
	t->limit_ns = now_ns() + KW_LIMIT_NS;
	snprintf(t->name, sizeof(t->name), "kill-to-wake-%d-%d-%d",
		 (int)getpid(), mi, index);
	run->what = "prepare";
	ret = m->prepare ? m->prepare(t) : 0;
	if (ret)
		goto out;
	ret = send_cmd(run->sock, &c, t->peer_fd);
	if (t->peer_fd >= 0)
		close(t->peer_fd);
	t->peer_fd = -1;
	if (ret) {
		run->what = "killer";
		goto out;
	}
	/* From here the killer has a victim to reap, whatever happens. */
	run->what = "victim";
	ret = read_ready(run, &r, t->limit_ns);
	if (!ret)
		ret = r.err;
	t->victim = r.pid;
	if (!ret && m->arm) {
		run->what = "arm";
		ret = m->arm(t);
	}
	c.op = KW_KILL;
	c.delay_ns = ret ? 0 : KW_DELAY_MIN_NS +
		     1000ULL * (rand_r(&run->seed) % KW_DELAY_SPAN_US);
	if (send_cmd(run->sock, &c, -1)) {
		run->what = "killer";
		ret = ret ? ret : -EIO;
		goto out;
	}
	if (!ret) {
		run->what = "await";
		t->limit_ns = now_ns() + KW_LIMIT_NS;
		ret = m->await(t);
		woke = now_ns();
	}
	if (kw_poll_in(run->sock, now_ns() + KW_LIMIT_NS) ||
	    read(run->sock, &op, sizeof(op)) != sizeof(op)) {
		run->what = "killer";
		ret = ret ? ret : -EIO;
		goto out;
	}
	killed = atomic_load_explicit(&run->sh->kill_ns, memory_order_relaxed);
	if (!ret && woke < killed) {
		run->what = "woke before the kill";
		ret = -EPROTO;
	}
	*lat = woke - killed;
out:
	if (m->cleanup)
		m->cleanup(t);
	return ret;
}

static void print_row(const struct row *row, const char *how,
		      const uint64_t *lat, int n)
{
	if (row->err) {
		printf("| %s | %s | %d | FAILED: %s: %s | | | | | |\n",
		       row->transport, how, n, row->what, strerror(-row->err));
		return;
	}
	printf("| %s | %s | %d | %.1f | %.1f | %.1f | %.1f | ",
	       row->transport, how, n, row->p50_ns / 1e3,
	       percentile(lat, (size_t)n, 90) / 1e3, row->p99_ns / 1e3,
	       lat[n - 1] / 1e3);
	if (row->baseline[0])
		printf("%.3g | %s |\n", row->ratio, row->baseline);
	else
		printf("- | - |\n");
}

/* Every trial of modes[@mi] into @row (its err set if one failed). */
static void run_mode(struct kw_run *run, int mi, int trials, uint64_t *lat,
		     double base_p50, struct row *row)
{
	const struct kw_mode *m = modes[mi].mode;
	int i, ret = 0;

	run->what = "start";
	if (m->start)
		ret = m->start();
	if (ret)
		goto out;
	for (i = 0; i < trials && !ret; i++)
		ret = trial(run, mi, i, &lat[i]);
	if (m->stop)
		m->stop();
out:
	if (ret) {
		row->err = ret;
		snprintf(row->what, sizeof(row->what), "%s", run->what);
		return;
	}
	sort_samples(lat, (size_t)trials);
	row->p50_ns = (double)percentile(lat, (size_t)trials, 50);
	row->p99_ns = (double)percentile(lat, (size_t)trials, 99);
	row->p999_ns = (double)percentile(lat, (size_t)trials, 99.9);
	row->samples = (uint64_t)trials;
	if (base_p50 > 0) {
		row->ratio = row->p50_ns / base_p50;
		snprintf(row->baseline, sizeof(row->baseline),
			 "pidfd/kill-to-wake");
	}
}

/* The text after "@key": in a JSON line of report.c's, or NULL. */
static const char *json_field(const char *line, const char *key)
{
	char k[40];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(line, k);
	return p ? p + strlen(k) : NULL;
}

/* The VM's kill-to-wake rows (kill_to_wake.c's JSON lines): how many. */
static size_t read_vm_rows(const char *path, struct row *rows, size_t max)
{
	char line[1024];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		const char *tr = json_field(line, "transport");
		const char *p99 = json_field(line, "p99_ns");
		size_t len;

		if (!tr || !p99 || *tr != '"')
			continue;
		len = strcspn(tr + 1, "\"");
		row_init(&rows[n], "kill-to-wake", "", PLACE_CROSS_CPU, 0);
		snprintf(rows[n].transport, sizeof(rows[n].transport), "%.*s",
			 (int)len, tr + 1);
		rows[n].p99_ns = strtod(p99, NULL);
		n++;
	}
	fclose(f);
	return n;
}

/* Is @name in @only (comma-separated parts of names; NULL: all)? */
/* @arg as a count in [@min, KW_TRIALS_MAX], or -1. */
static int count_arg(const char *arg, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	return errno || end == arg || *end || v < min || v > KW_TRIALS_MAX ?
	       -1 : (int)v;
}

static bool wanted(const char *only, const char *name)
{
	char part[64];
	size_t len;

	if (!only)
		return true;
	for (; *only; only += len + (only[len] == ',')) {
		len = strcspn(only, ",");
		snprintf(part, sizeof(part), "%.*s", (int)len, only);
		if (len && strstr(name, part))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *json_path = NULL, *vm_path = NULL, *only = NULL;
	int trials = 200, slow_trials = 10, cpus[2], ncpus, sv[2], ready[2];
	struct row rows[N_MODES], vm_rows[KW_VM_ROWS];
	struct kw_run run = { .seed = 6 };
	size_t n_rows = 0, n_vm = 0, mi;
	double base_p50 = 0;
	bool failed = false;
	uint64_t *lat;
	pid_t kpid;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json_path = argv[++i];
		else if (!strcmp(argv[i], "--module-json") && i + 1 < argc)
			vm_path = argv[++i];
		else if (!strcmp(argv[i], "--trials") && i + 1 < argc)
			trials = count_arg(argv[++i], 10);
		else if (!strcmp(argv[i], "--slow-trials") && i + 1 < argc)
			slow_trials = count_arg(argv[++i], 1);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--json FILE] [--module-json FILE] [--trials N] [--slow-trials N] [--only LIST]\n",
				argv[0]);
			return 2;
		}
	}
	if (trials < 0 || slow_trials < 0) {
		fprintf(stderr, "kill-to-wake: --trials is 10 to %d, --slow-trials 1 to %d\n",
			KW_TRIALS_MAX, KW_TRIALS_MAX);
		return 2;
	}
	ncpus = pick_cpus(cpus);
	lat = calloc((size_t)(trials > slow_trials ? trials : slow_trials),
		     sizeof(*lat));
	run.sh = mmap(NULL, sizeof(*run.sh), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ncpus < 1 || !lat || run.sh == MAP_FAILED ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ||
	    pipe2(ready, O_CLOEXEC)) {
		perror("kill-to-wake: setup");
		return 1;
	}
	if (report_json_open(json_path,
			     shmipc_backend_name(shmipc_backend()))) {
		perror(json_path);
		return 2;
	}
	fflush(stdout);	/* nothing buffered is copied into the children */
	kpid = fork();
	if (kpid < 0) {
		perror("kill-to-wake: fork");
		return 1;
	}
	if (kpid == 0) {
		close(sv[0]);
		close(ready[0]);
		killer(sv[1], ready[1], cpus[ncpus - 1], run.sh);
	}
	close(sv[1]);
	close(ready[1]);
	run.sock = sv[0];
	run.ready = ready[0];
	pin_cpu(cpus[0]);

	printf("kill-to-wake (host): from kill(SIGKILL) of the peer to the survivor awake; libshmipc backend **%s**; survivor on CPU %d, killer and victim on CPU %d; the kill comes 1-21 ms after the survivor is ready (random); %d trials per row (%d where one takes seconds)\n\n",
	       shmipc_backend_name(shmipc_backend()), cpus[0],
	       cpus[ncpus - 1], trials, slow_trials);
	printf("| transport | how the survivor learns | trials | p50 us | p90 us | p99 us | max us | ratio | baseline |\n");
	printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
	fflush(stdout);
	for (mi = 0; mi < N_MODES; mi++) {
		const struct kw_mode *m = modes[mi].mode;
		struct row *row = &rows[n_rows];
		int n;

		if (!wanted(only, modes[mi].name))
			continue;
		if (!m) {
			printf("| %s | not built (%s is not installed) | | | | | | | |\n",
			       modes[mi].name, modes[mi].package);
			continue;
		}
		n = m->slow ? slow_trials : trials;
		row_init(row, "kill-to-wake", m->name, ncpus > 1 ?
			 PLACE_CROSS_CPU : PLACE_SAME_CPU, 0);
		run_mode(&run, (int)mi, n, lat, base_p50, row);
		if (m == &kw_pidfd && !row->err)
			base_p50 = row->p50_ns;
		print_row(row, m->how, lat, n);
		fflush(stdout);
		if (row->err)
			failed = true;
		else
			report_json(row);
		n_rows++;
	}
	close(run.sock);
	waitpid(kpid, NULL, 0);
	if (vm_path)
		n_vm = read_vm_rows(vm_path, vm_rows, KW_VM_ROWS);
	report_kill_target(vm_rows, n_vm, rows, n_rows);
	if (report_close()) {
		perror(json_path);
		failed = true;
	}
	return failed ? 1 : 0;
}
