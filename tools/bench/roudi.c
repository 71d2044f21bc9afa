// SPDX-License-Identifier: GPL-2.0
/*
 * RouDi, the daemon every classic iceoryx process registers with:
 * started by a benchmark before its first iceoryx row (chanbench's
 * transport, kill-to-wake's mode) and stopped at its end.  Its output
 * goes to a file; a pipe left unread would stop it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "bench.h"

#define ROUDI_READY_NS	(10ULL * 1000000000ULL)

static pid_t roudi = -1;

void roudi_stop(void)
{
	if (roudi <= 0)
		return;
	uint64_t until = now_ns() + 10000000000ULL;	/* 10 s */

	kill(roudi, SIGTERM);	/* its orderly shutdown, shm removed */
	while (waitpid(roudi, NULL, WNOHANG) == 0) {
		if (now_ns() >= until) {	/* stuck: no shutdown then */
			kill(roudi, SIGKILL);
			waitpid(roudi, NULL, 0);
			break;
		}
		sleep_ns(10000000);
	}
	roudi = -1;
}

/* Has RouDi said it is ready in @log? */
static bool roudi_ready(const char *log)
{
	char line[512];
	bool ready = false;
	FILE *f = fopen(log, "r");

	if (!f)
		return false;
	while (!ready && fgets(line, sizeof(line), f))
		ready = strstr(line, "RouDi is ready") != NULL;
	fclose(f);
	return ready;
}

/*
 * Start RouDi, its output in a file (a pipe left unread would stop it);
 * ready when it says so there.
 */
int roudi_start(void)
{
	uint64_t until = now_ns() + ROUDI_READY_NS;
	char log[64];
	int fd;

	snprintf(log, sizeof(log), "/tmp/bench-roudi-%d.log", (int)getpid());
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	roudi = fork();
	if (roudi < 0) {
		close(fd);
		return -errno;
	}
	if (roudi == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("iox-roudi", "iox-roudi", "-l", "info", (char *)NULL);
		_exit(127);
	}
	close(fd);
	while (!roudi_ready(log)) {
		if (waitpid(roudi, NULL, WNOHANG) == roudi) {
			roudi = -1;	/* it failed: its log says why */
			fprintf(stderr, "iox-roudi exited: see %s\n", log);
			return -ECHILD;
		}
		if (now_ns() >= until) {
			roudi_stop();
			return -ETIMEDOUT;
		}
		sleep_ns(10000000);
	}
	unlink(log);	/* it keeps writing to the open file */
	return 0;
}
