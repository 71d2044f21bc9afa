// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal shmipc demo (to be replaced by the real demo): create a region,
 * wake a child blocked on a word, then SIGKILL a child blocked in WAIT and
 * show that the parent and the region carry on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/shmipc.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void show_regions(const char *when)
{
	char buf[4096];
	FILE *f = fopen("/sys/kernel/debug/shmipc/regions", "r");

	printf("-- regions %s:\n", when);
	if (!f) {
		printf("   (no /sys/kernel/debug/shmipc/regions)\n");
		return;
	}
	while (fgets(buf, sizeof(buf), f))
		printf("   %s", buf);
	fclose(f);
}

static unsigned int nr_waiters(int fd)
{
	struct shmipc_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(fd, SHMIPC_IOC_INFO, &info) < 0)
		die("INFO");
	return info.nr_waiters;
}

/* Child: sleep in the kernel while word @off still holds 0. */
static void child_wait(int fd, volatile unsigned int *mem, unsigned int off)
{
	struct shmipc_wait w;
	int ret;

	memset(&w, 0, sizeof(w));
	w.offset = off;
	w.expected = 0;
	w.deadline_ns = SHMIPC_DEADLINE_NONE;
	printf("child %d: waiting on word at offset %u\n", getpid(), off);
	fflush(stdout);
	ret = ioctl(fd, SHMIPC_IOC_WAIT, &w);
	printf("child %d: WAIT returned %d (%s), word = %u\n", getpid(), ret,
	       ret ? strerror(errno) : "woken", mem[off / 4]);
	exit(ret ? 1 : 0);
}

static void wait_for_waiter(int fd)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 500 && nr_waiters(fd) == 0; i++)
		nanosleep(&ts, NULL);
}

int main(void)
{
	struct shmipc_create c;
	struct shmipc_wake wk;
	volatile unsigned int *mem;
	int dev, status, woke;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dev = open("/dev/shmipc", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die("open /dev/shmipc");
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "demo");
	c.size = 4096;
	c.mode = 0600;
	if (ioctl(dev, SHMIPC_IOC_CREATE, &c) < 0)
		die("CREATE");
	printf("parent: created region \"demo\" (4096 bytes), fd %d\n", c.fd);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
	if (mem == MAP_FAILED)
		die("mmap");

	/* 1. write + wake: the child sees the new value. */
	pid = fork();
	if (pid == 0)
		child_wait(c.fd, mem, 0);
	wait_for_waiter(c.fd);
	show_regions("while the child waits");
	mem[0] = 1;
	memset(&wk, 0, sizeof(wk));
	wk.offset = 0;
	wk.count = 1;
	woke = ioctl(c.fd, SHMIPC_IOC_WAKE, &wk);
	printf("parent: wrote 1 to word 0, WAKE woke %d waiter(s)\n", woke);
	waitpid(pid, &status, 0);
	printf("parent: child exited with status %d\n", WEXITSTATUS(status));

	/* 2. SIGKILL a child blocked in WAIT: the parent is unaffected. */
	pid = fork();
	if (pid == 0)
		child_wait(c.fd, mem, 4);
	wait_for_waiter(c.fd);
	printf("parent: %u waiter(s); sending SIGKILL to child %d\n",
	       nr_waiters(c.fd), pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	printf("parent: child %s by signal %d; waiters now %u\n",
	       WIFSIGNALED(status) ? "killed" : "exited",
	       WIFSIGNALED(status) ? WTERMSIG(status) : 0, nr_waiters(c.fd));
	wk.offset = 4;
	woke = ioctl(c.fd, SHMIPC_IOC_WAKE, &wk);
	printf("parent: still alive; WAKE on word 4 woke %d\n", woke);
	show_regions("after the kill");

	munmap((void *)mem, 4096);
	close(c.fd);
	close(dev);
	show_regions("after the parent closed the region");
	return 0;
}
