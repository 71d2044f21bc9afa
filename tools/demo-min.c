// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal shmipc demo (to be replaced by the real demo): create a region,
 * wake a child blocked on a word, SIGKILL a child blocked in WAIT and show
 * that the parent and the region carry on, then SIGKILL a peer the parent
 * is waiting on and show the kernel telling the parent at once: the wait
 * returns EOWNERDEAD, the DEATH event names the peer, its pid and signal,
 * and the word the peer owned carries the owner-died bit.
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

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void show_peers(void)
{
	char buf[4096];
	FILE *f = fopen("/sys/kernel/debug/shmipc/peers", "r");

	printf("-- peers:\n");
	while (f && fgets(buf, sizeof(buf), f))
		printf("   %s", buf);
	if (f)
		fclose(f);
}

/*
 * 3. A peer that owns word 8 is SIGKILLed while the parent waits for its
 * reply in word 12.  Nobody else wakes the parent: the kernel does.
 */
static void peer_death(int fd, volatile unsigned int *mem)
{
	volatile unsigned long long *killed_at;
	struct shmipc_attach me = { 0 };
	struct shmipc_reclaim rc = { 0 };
	struct shmipc_event ev;
	struct shmipc_wait w;
	unsigned long long peer, woke;
	int ready[2], ret;
	pid_t pid, killer;

	killed_at = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (killed_at == MAP_FAILED || pipe(ready))
		die("setup");
	if (ioctl(fd, SHMIPC_IOC_ATTACH, &me) < 0)
		die("ATTACH");
	/* Events are read without blocking: only what is already there. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	pid = fork();
	if (pid == 0) {
		struct shmipc_attach a = { 0 };
		struct shmipc_own own = { .offset = 8 };

		if (ioctl(fd, SHMIPC_IOC_ATTACH, &a) < 0 ||
		    ioctl(fd, SHMIPC_IOC_OWN, &own) < 0)
			die("child ATTACH/OWN");
		mem[2] = getpid();	/* "I hold the job" */
		if (write(ready[1], &a.peer_id, sizeof(a.peer_id)) < 0)
			die("write");
		for (;;)
			pause();
	}
	if (read(ready[0], &peer, sizeof(peer)) != sizeof(peer))
		die("child setup");
	while (read(fd, &ev, sizeof(ev)) == sizeof(ev))
		;	/* the JOINs so far */
	printf("parent: peer %llu, worker peer %llu (pid %d) owns word 8 = %u\n",
	       (unsigned long long)me.peer_id, peer, pid, mem[2]);
	show_peers();
	killer = fork();
	if (killer == 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		*killed_at = now_ns();
		kill(pid, SIGKILL);
		_exit(0);
	}
	printf("parent: waiting for the worker's reply in word 12 (no deadline)\n");
	memset(&w, 0, sizeof(w));
	w.offset = 12;
	w.deadline_ns = SHMIPC_DEADLINE_NONE;
	w.peer_id = peer;
	ret = ioctl(fd, SHMIPC_IOC_WAIT, &w);
	woke = now_ns();
	printf("parent: WAIT returned %s, %.0f us after the SIGKILL\n",
	       ret ? strerror(errno) : "0", (woke - *killed_at) / 1e3);
	if (read(fd, &ev, sizeof(ev)) == sizeof(ev) &&
	    ev.type == SHMIPC_EVENT_DEATH)
		printf("parent: event DEATH: peer %llu, pid %d, %s %d\n",
		       (unsigned long long)ev.peer_id, ev.pid,
		       WIFSIGNALED(ev.status) ? "signal" : "exit status",
		       WIFSIGNALED(ev.status) ? WTERMSIG(ev.status) :
						WEXITSTATUS(ev.status));
	printf("parent: word 8 = 0x%08x (owner-died bit %s)\n", mem[2],
	       mem[2] & SHMIPC_OWNER_DIED ? "set" : "NOT set");
	show_peers();
	mem[2] = 0;	/* repaired: the job is free again */
	rc.peer_id = peer;
	if (ioctl(fd, SHMIPC_IOC_RECLAIM, &rc) < 0)
		die("RECLAIM");
	printf("parent: repaired word 8 and reclaimed the dead peer\n");
	waitpid(killer, NULL, 0);
	waitpid(pid, NULL, 0);
	ioctl(fd, SHMIPC_IOC_DETACH, 0);
	munmap((void *)killed_at, 4096);
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

	peer_death(c.fd, mem);

	munmap((void *)mem, 4096);
	close(c.fd);
	close(dev);
	show_regions("after the parent closed the region");
	return 0;
}
