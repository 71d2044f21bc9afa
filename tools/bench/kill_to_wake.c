// SPDX-License-Identifier: GPL-2.0
/*
 * kill-to-wake: time from kill(SIGKILL) of a peer to the survivor's
 * wake-up, in the VM.  Not a test: it asserts nothing, it reports.
 *
 *   wait   the survivor sleeps in SHMIPC_IOC_WAIT naming the peer (which
 *          owns a word, as the library's peers do, so its death stays
 *          marked until the survivor's RECLAIM)
 *   poll   the survivor sleeps in poll() on its region fd (DEATH event)
 *   pidfd  baseline: poll() on a pidfd of the peer, the kernel's own
 *          exit notification (what a userspace-only design can use)
 *
 * A killer process records CLOCK_MONOTONIC in shared memory right before
 * kill(); the survivor reads the clock right after it wakes.  Survivor on
 * CPU 0, killer and victim on CPU 1 (the cross-CPU case).
 *
 * Usage: kill-to-wake [--json FILE] [trials]   (default 200 trials)
 * A Markdown table on stdout; with --json, one JSON object per mode in
 * FILE, with chanbench's fields (tools/bench/report.c): the pidfd mode
 * is the baseline of the other two.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/shmipc.h>

enum mode { MODE_WAIT, MODE_POLL, MODE_PIDFD, MODES };
static const char *const mode_names[MODES] = { "wait", "poll", "pidfd" };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Killer: for each pid read from @cmd, wait 2 ms, stamp, SIGKILL. */
static void killer(int cmd, volatile uint64_t *stamp)
{
	struct timespec pause_ts = { 0, 2000000 };
	pid_t pid;

	pin(1);
	while (read(cmd, &pid, sizeof(pid)) == sizeof(pid)) {
		nanosleep(&pause_ts, NULL);
		*stamp = now_ns();
		kill(pid, SIGKILL);
	}
	_exit(0);
}

static void json_row(FILE *f, int mode, int trials, const uint64_t *lat,
		     double base_p50)
{
	double p50 = (double)lat[trials / 2];

	fprintf(f, "{\"bench\":\"kill-to-wake\",\"backend\":\"module\",\"transport\":\"%s\",\"placement\":\"cross-cpu\",\"msg_size\":0,\"p50_ns\":%.1f,\"p99_ns\":%.1f,\"p999_ns\":%.1f,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":null,",
		mode_names[mode], p50, (double)lat[trials * 99 / 100],
		(double)lat[trials * 999 / 1000]);
	if (mode == MODE_PIDFD)
		fprintf(f, "\"ratio\":null,\"baseline\":null");
	else
		fprintf(f, "\"ratio\":%.3f,\"baseline\":\"pidfd/kill-to-wake\"",
			p50 / base_p50);
	fprintf(f, ",\"samples\":%d}\n", trials);
}

int main(int argc, char **argv)
{
	/* The baseline first: the other rows' ratios need it. */
	static const int order[MODES] = { MODE_PIDFD, MODE_WAIT, MODE_POLL };
	const char *json_path = NULL;
	FILE *json = NULL;
	double base_p50 = 0;
	int trials = 200, i;
	struct shmipc_create c = { .name = "kill-to-wake", .size = 4096,
				   .mode = 0600 };
	int dev, fd, cmd[2], m, t;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json_path = argv[++i];
		else
			trials = atoi(argv[i]);
	}
	volatile uint64_t *stamp;
	uint64_t *lat;
	pid_t kpid;

	if (trials < 10)
		trials = 10;
	lat = calloc((size_t)trials, sizeof(*lat));
	stamp = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	dev = open("/dev/shmipc", O_RDWR | O_CLOEXEC);
	if (!lat || stamp == MAP_FAILED || dev < 0)
		die("setup");
	if (json_path && !(json = fopen(json_path, "w")))
		die(json_path);
	if (ioctl(dev, SHMIPC_IOC_CREATE, &c))
		die("create");
	fd = c.fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (pipe(cmd))
		die("pipe");
	kpid = fork();
	if (kpid == 0) {
		close(cmd[1]);
		killer(cmd[0], stamp);
	}
	close(cmd[0]);
	pin(0);

	printf("kill-to-wake: %d trials per mode, survivor on CPU 0, killer and victim on CPU 1\n\n",
	       trials);
	printf("| mode | p50 us | p90 us | p99 us | max us |\n");
	printf("| --- | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < MODES; i++) {
		m = order[i];
		for (t = 0; t < trials; t++) {
			struct shmipc_event ev[16];
			int ready[2], pidfd = -1, ret;
			uint64_t peer = 0, woke;
			pid_t child;

			if (pipe(ready))
				die("pipe");
			child = fork();
			if (child == 0) {
				struct shmipc_attach a = { 0 };

				pin(1);
				/* An owned word keeps the death marked until
				 * our RECLAIM: a WAIT that comes after the
				 * kill (a slow VM) still sees it, as poll()
				 * and a pidfd do; without one the module
				 * forgets the dead peer (-ESRCH). */
				struct shmipc_own o = {
					.offset = 64 + 4 * (uint64_t)(t % 900),
				};

				if (ioctl(fd, SHMIPC_IOC_ATTACH, &a) ||
				    ioctl(fd, SHMIPC_IOC_OWN, &o))
					_exit(1);
				peer = a.peer_id;
				if (write(ready[1], &peer, sizeof(peer)) < 0)
					_exit(1);
				for (;;)
					pause();
			}
			if (read(ready[0], &peer, sizeof(peer)) != sizeof(peer))
				die("child attach");
			close(ready[0]);
			close(ready[1]);
			while (read(fd, ev, sizeof(ev)) > 0)
				;	/* drop the JOIN */
			if (m == MODE_PIDFD) {
				pidfd = (int)syscall(SYS_pidfd_open, child, 0);
				if (pidfd < 0)
					die("pidfd_open");
			}
			if (write(cmd[1], &child, sizeof(child)) < 0)
				die("killer");

			if (m == MODE_WAIT) {
				struct shmipc_wait w = {
					.offset = 0, .expected = 0,
					.deadline_ns = SHMIPC_DEADLINE_NONE,
					.peer_id = peer,
				};

				do {
					ret = ioctl(fd, SHMIPC_IOC_WAIT, &w);
				} while (ret && errno == EINTR);
				if (!ret || errno != EOWNERDEAD)
					die("wait did not report the death");
			} else {
				struct pollfd p = {
					.fd = m == MODE_POLL ? fd : pidfd,
					.events = POLLIN,
				};

				while (poll(&p, 1, -1) != 1)
					;
			}
			woke = now_ns();
			lat[t] = woke > *stamp ? woke - *stamp : 0;
			waitpid(child, NULL, 0);
			if (pidfd >= 0)
				close(pidfd);
			{
				/* Forget the dead peer (its word stays marked:
				 * the next trial owns another one). */
				struct shmipc_reclaim rc = { .peer_id = peer };

				ioctl(fd, SHMIPC_IOC_RECLAIM, &rc);
			}
			while (read(fd, ev, sizeof(ev)) > 0)
				;	/* drop the DEATH */
		}
		qsort(lat, (size_t)trials, sizeof(*lat), cmp_u64);
		printf("| %s | %.1f | %.1f | %.1f | %.1f |\n", mode_names[m],
		       lat[trials / 2] / 1e3, lat[trials * 9 / 10] / 1e3,
		       lat[trials * 99 / 100] / 1e3, lat[trials - 1] / 1e3);
		if (m == MODE_PIDFD)
			base_p50 = (double)lat[trials / 2];
		if (json)
			json_row(json, m, trials, lat, base_p50);
	}
	if (json && fclose(json))
		die(json_path);
	close(cmd[1]);
	waitpid(kpid, NULL, 0);
	close(fd);
	return 0;
}
