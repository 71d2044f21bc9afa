/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the libshmipc tests (kselftest harness).  The same sources
 * run on the host (portable backend: no /dev/shmipc there) and in the VM
 * (module backend), plain and under sanitizers.
 *
 * Children forked by a test never use ASSERT/EXPECT: they report through
 * their exit status and leave with _exit().
 */
#ifndef LIB_TEST_H
#define LIB_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "shmipc.h"

/* A sanitizer report fails the test: stop at the first one. */
#if defined(__SANITIZE_THREAD__)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "halt_on_error=1:exitcode=66";
}
#endif
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "halt_on_error=1:detect_leaks=1";
}
#endif

#define LT_SOON_MS	15000	/* bound for "should happen soon" */
#define LT_MS		1000000ULL

/* The backend the environment should have selected. */
static inline int lt_expected_backend(void)
{
	const char *env = getenv("SHMIPC_BACKEND");

	if (env && !strcmp(env, "portable"))
		return SHMIPC_BACKEND_PORTABLE;
	if (env && !strcmp(env, "module"))
		return SHMIPC_BACKEND_MODULE;
	return access("/dev/shmipc", R_OK | W_OK) ? SHMIPC_BACKEND_PORTABLE :
						   SHMIPC_BACKEND_MODULE;
}

/* "lt-<tag>-<pid>-<n>": unique per test process and call. */
static inline void lt_name(char *out, size_t len, const char *tag)
{
	static unsigned int n;

	snprintf(out, len, "lt-%.20s-%d-%u", tag, (int)getpid(), n++);
}

/* Create a fresh region named by lt_name() (into @name), mode 0600. */
static inline int lt_region(char *name, size_t len, const char *tag,
			    size_t size, struct shmipc_region **r)
{
	lt_name(name, len, tag);
	return shmipc_region_open(name, size, 0600,
				  SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL, r);
}

/* The same, named into @name (64 bytes). */
static inline int lt_region_new(char *name, const char *tag, size_t size,
				struct shmipc_region **r)
{
	return lt_region(name, 64, tag, size, r);
}

/*
 * The common part of a fixture: a fresh region and one object in its
 * directory (a channel, buffer or stream under test), whose header words
 * the hostile-peer tests poke through lt_obj_word().
 */
struct lt_obj {
	char name[64];
	struct shmipc_region *r;
	char *base;
	uint64_t off;		/* of the object */
};

/* Create the region (@tag, @size bytes) and find the object @key in it,
 * after @create(region, key) made it; 0 or the first error. */
static inline int lt_obj_setup(struct lt_obj *o, const char *tag, size_t size,
			       const char *key,
			       int (*create)(struct shmipc_region *r,
					     const char *key))
{
	int ret = lt_region_new(o->name, tag, size, &o->r);

	if (ret)
		return ret;
	o->base = shmipc_region_base(o->r);
	ret = create(o->r, key);
	return ret ? ret : shmipc_dir_find(o->r, key, &o->off, NULL);
}

static inline void lt_obj_teardown(struct lt_obj *o)
{
	shmipc_region_close(o->r);
	shmipc_region_unlink(o->name);
}

/* The 32-bit word @at bytes into the object. */
static inline uint32_t *lt_obj_word(struct lt_obj *o, uint64_t at)
{
	return (uint32_t *)(o->base + o->off + at);
}

static inline void lt_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* fork() whose child dies with the test process. */
static inline pid_t lt_fork(void)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(198);
	}
	return pid;
}

/* pipe(@fds) for a handshake, then lt_fork(): the pid, or -1. */
static inline pid_t lt_fork_pipe(int fds[2])
{
	return pipe(fds) ? -1 : lt_fork();
}

/* Open the producer end (*@prod) and the consumer end (*@cons) of the
 * object @key of @o with @open (shmipc_vring_open, ...): 0 or an error. */
#define LT_OPEN_BOTH(open, o, key, prod, cons)				\
	(open((o)->r, key, SHMIPC_PRODUCER, prod) ?:			\
	 open((o)->r, key, SHMIPC_CONSUMER, cons))

/* SIGKILL @victim after @ms from another process, while the caller
 * blocks; returns that process's pid (reap it), or -1. */
static inline pid_t lt_kill_later(pid_t victim, unsigned int ms)
{
	pid_t pid = lt_fork();

	if (pid == 0) {
		lt_sleep_ms(ms);
		kill(victim, SIGKILL);
		_exit(0);
	}
	return pid;
}

/* Exit code for a -errno result. */
static inline int lt_code(int ret)
{
	if (ret >= 0)
		return 0;
	return -ret < 200 ? -ret : 199;
}

/* In a child: leave with @ret's code unless it is 0. */
static inline void lt_child_must(int ret)
{
	if (ret)
		_exit(lt_code(ret));
}

/* In a child: the region @name, opened anew (or exit with the error). */
static inline struct shmipc_region *lt_child_region(const char *name)
{
	struct shmipc_region *r = NULL;

	lt_child_must(shmipc_region_open(name, 0, 0, 0, &r));
	return r;
}

/* Reap within @ms (SIGKILL after): exit code, 128+sig, or -1 on timeout. */
static inline int lt_reap_ms(pid_t pid, unsigned int ms)
{
	uint64_t end = shmipc_deadline_in((uint64_t)ms * LT_MS);
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -2;
		if (shmipc_now_ns() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -3;
}

static inline int lt_reap(pid_t pid)
{
	return lt_reap_ms(pid, LT_SOON_MS);
}

/* One-byte pipe handshake. */
static inline int lt_signal(int fd)
{
	char c = 'x';

	return write(fd, &c, 1) == 1 ? 0 : -EIO;
}

static inline int lt_await(int fd)
{
	char c;
	ssize_t n;

	do {
		n = read(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EIO;
}

/* A simple checksum of a message body. */
static inline uint64_t lt_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Deterministic PRNG for the hostile-peer fuzz loops. */
static inline uint64_t lt_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A value a hostile peer might write: small, near a boundary, or noise. */
static inline uint32_t lt_evil32(uint64_t *s)
{
	static const uint32_t special[] = {
		0, 1, 2, 3, 7, 8, 9, 63, 64, 0x7fffffff, 0x80000000,
		0x80000001, 0xfffffffe, 0xffffffff, 4096, 1U << 24,
	};
	uint64_t r = lt_rand(s);

	if (r % 3 == 0)
		return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
	return (uint32_t)(r >> 16);
}

/*
 * Test builds of the library (-DSHMIPC_TESTING) have named kill points
 * (internal.h): make this process raise @sig (SIGKILL; SIGSTOP for a
 * "slow" process) the (@skip + 1)th time it passes @kp.
 */
#ifdef SHMIPC_INTERNAL_H
static inline void lt_arm_kill_point(enum shmipc_kill_point kp, int sig,
				     unsigned long skip)
{
	atomic_store(&shmipc_test_kp_skip, skip);
	atomic_store(&shmipc_test_kp_signal, sig);
	atomic_store(&shmipc_test_kp, (int)kp);
}
#endif

/*
 * Wait until @pid (single-threaded) sleeps in a backend wait: in futex()
 * (portable) or ioctl() (module), per /proc/PID/syscall and the state in
 * /proc/PID/stat.  0 when it does, -1 if not within LT_SOON_MS.
 */
static inline int lt_await_asleep(pid_t pid)
{
	uint64_t end = shmipc_deadline_in(LT_SOON_MS * LT_MS);
	char path[64], buf[256], *p;
	long nr;

	while (shmipc_now_ns() < end) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
		f = fopen(path, "r");
		nr = -1;
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
			nr = strtol(buf, &p, 10);
			if (p == buf)
				nr = -1;
		}
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
			p = strrchr(buf, ')');
			if ((nr == 202 || nr == 16) && p && p[1] == ' ' &&
			    p[2] == 'S')
				return 0;	/* futex, ioctl (x86-64) */
		}
		usleep(1000);
	}
	return -1;
}

/* Wait until @pid stops (0) or ends (-1). */
static inline int lt_await_stop(pid_t pid)
{
	int status;
	pid_t r;

	do {
		r = waitpid(pid, &status, WUNTRACED);
	} while (r < 0 && errno == EINTR);
	return r == pid && WIFSTOPPED(status) ? 0 : -1;
}

/*
 * Reclaim what dead holders left in @h until only @handles slots are
 * held (bounded by LT_SOON_MS): the records freed, or -errno.  The module
 * notes a death in a work it queues at the exit, so a child that was
 * just reaped can still look alive to one reclaim.
 */
static inline int lt_heap_reclaim_dead(struct shmipc_heap *h,
				       uint32_t handles)
{
	uint64_t end = shmipc_deadline_in(LT_SOON_MS * LT_MS);
	struct shmipc_heap_stats st;
	int ret, freed = 0;

	for (;;) {
		ret = shmipc_heap_reclaim(h);
		if (ret < 0)
			return ret;
		freed += ret;
		ret = shmipc_heap_stats(h, &st);
		if (ret)
			return ret;
		if (st.handles <= handles || shmipc_now_ns() >= end)
			return freed;
		lt_sleep_ms(1);
	}
}

/*
 * A hostile peer's one-word change: write @val to the word @at bytes into
 * @o's object, expect @call to return @err, then put back the first @len
 * bytes of the object from @saved.
 */
#define LT_SPOIL(o, saved, len, at, val, call, err) do {		\
		*lt_obj_word(o, at) = (val);				\
		EXPECT_EQ(err, call) TH_LOG("word at %d", (int)(at));	\
		memcpy(lt_obj_word(o, 0), saved, len);			\
	} while (0)

/* What a hostile-peer fuzz loop got back. */
struct lt_tally {
	unsigned int ok;	/* successes */
	unsigned int corrupt;	/* -EBADMSG */
	unsigned int bad;	/* results outside the documented set */
};

/* Count @ret, which @documented says is (or is not) a documented result
 * of the call; returns @documented. */
static inline bool lt_tally(struct lt_tally *t, int ret, bool documented)
{
	t->ok += ret >= 0;
	t->corrupt += ret == -EBADMSG;
	t->bad += !documented;
	return documented;
}

/*
 * Wait (at most 5 s) until @r counts @n live peers.  The module marks a
 * SIGKILLed peer dead from a workqueue, a moment after waitpid() returns
 * in the parent: a test that checks what the death must have released
 * waits for it first.  Returns 0, or -ETIMEDOUT.
 */
static inline int lt_await_peers(struct shmipc_region *r, uint32_t n)
{
	struct shmipc_region_info info;
	int i;

	for (i = 0; i < 5000; i++) {
		if (shmipc_region_info(r, &info) == 0 && info.nr_peers <= n)
			return 0;
		lt_sleep_ms(1);
	}
	return -ETIMEDOUT;
}

#endif /* LIB_TEST_H */
