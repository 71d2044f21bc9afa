/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the command-line tests: run the shmipc binary (SHMIPC_CLI,
 * set by the Makefile: build/bin/shmipc on the host, the static build in
 * the VM) with its output captured, or in the background with its lines
 * read as they come; compare lines by their whitespace-separated words.
 */
#ifndef CLI_TEST_H
#define CLI_TEST_H

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>

#include "lib_test.h"

#ifndef SHMIPC_CLI
#error "SHMIPC_CLI: path of the shmipc binary under test"
#endif

#define CLI_OUT_MAX	(1 << 20)	/* ls: other tests' regions too */

struct cli_run {
	int rc;			/* exit code, 128 + signal, or -1 (hung) */
	char out[CLI_OUT_MAX];	/* stdout, NUL-terminated */
	char err[4096];		/* stderr */
};

/*
 * Fork and exec the tool with @args (argv[1..], NULL-terminated) with
 * stdout and stderr on pipes; in the child, first become @uid (if not
 * -1).  The pid, or -1.  *@out and *@err: the read ends.
 */
static inline pid_t cli_spawn(const char *const *args, uid_t uid, int *out,
			      int *err)
{
	const char *argv[32] = { "shmipc" };
	int o[2], e[2], i;
	pid_t pid;

	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (pipe2(o, O_CLOEXEC))
		return -1;
	if (pipe2(e, O_CLOEXEC)) {
		close(o[0]);
		close(o[1]);
		return -1;
	}
	pid = lt_fork();
	if (pid == 0) {
		if (uid != (uid_t)-1 && (setgroups(0, NULL) ||
					 setresgid(uid, uid, uid) ||
					 setresuid(uid, uid, uid)))
			_exit(120);
		dup2(o[1], 1);
		dup2(e[1], 2);
		execv(SHMIPC_CLI, (char **)argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	if (pid < 0) {
		close(o[0]);
		close(e[0]);
		return -1;
	}
	*out = o[0];
	*err = e[0];
	return pid;
}

/* Read @fd to EOF into @buf (the rest is dropped); false on error. */
static inline bool cli_drain(int fd, char *buf, size_t size, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	size_t take;

	if (n <= 0)
		return false;
	take = (size_t)n < size - 1 - *len ? (size_t)n : size - 1 - *len;
	memcpy(buf + *len, tmp, take);
	*len += take;
	buf[*len] = '\0';
	return true;
}

/* Run the tool as @uid (-1: as we are) to completion; r->rc. */
static inline int cli_run_as(struct cli_run *r, uid_t uid,
			     const char *const *args)
{
	uint64_t end = shmipc_deadline_in(LT_SOON_MS * LT_MS);
	size_t olen = 0, elen = 0;
	struct pollfd p[2];
	pid_t pid;
	int open_fds = 2;

	r->out[0] = r->err[0] = '\0';
	pid = cli_spawn(args, uid, &p[0].fd, &p[1].fd);
	if (pid < 0)
		return r->rc = -2;
	p[0].events = p[1].events = POLLIN;
	while (open_fds && shmipc_now_ns() < end) {
		int i;

		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			bool more = i ? cli_drain(p[i].fd, r->err,
						  sizeof(r->err), &elen) :
					cli_drain(p[i].fd, r->out,
						  sizeof(r->out), &olen);

			if (!more) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
			}
		}
	}
	if (p[0].fd >= 0)
		close(p[0].fd);
	if (p[1].fd >= 0)
		close(p[1].fd);
	return r->rc = lt_reap(pid);
}

#define CLI_ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })
/* cli(&run, "ls", "--json"): run the tool; its exit code. */
#define cli(r, ...)	cli_run_as((r), (uid_t)-1, CLI_ARGS(__VA_ARGS__))

/* A tool running in the background (watch), read line by line. */
struct cli_bg {
	pid_t pid;
	int fd[2];		/* stdout, stderr */
	char buf[2][8192];
	size_t len[2];
};

static inline int cli_bg_start(struct cli_bg *b, const char *const *args)
{
	memset(b, 0, sizeof(*b));
	b->pid = cli_spawn(args, (uid_t)-1, &b->fd[0], &b->fd[1]);
	return b->pid < 0 ? -1 : 0;
}

/*
 * The next line of stdout (@which 0) or stderr (1) within @ms, without
 * its newline: 0, -ETIMEDOUT, or -EPIPE at the end of the stream.
 */
static inline int cli_bg_line(struct cli_bg *b, int which, char *line,
			      size_t size, int ms)
{
	uint64_t end = shmipc_deadline_in((uint64_t)ms * LT_MS);
	char *nl;

	for (;;) {
		struct pollfd p = { .fd = b->fd[which], .events = POLLIN };
		uint64_t now;
		ssize_t n;

		nl = memchr(b->buf[which], '\n', b->len[which]);
		if (nl) {
			size_t l = (size_t)(nl - b->buf[which]);

			snprintf(line, size, "%.*s", (int)l, b->buf[which]);
			memmove(b->buf[which], nl + 1, b->len[which] - l - 1);
			b->len[which] -= l + 1;
			return 0;
		}
		now = shmipc_now_ns();
		if (now >= end)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)((end - now) / LT_MS) + 1) <= 0)
			continue;
		if (b->len[which] == sizeof(b->buf[which]))
			return -ENOBUFS;
		n = read(b->fd[which], b->buf[which] + b->len[which],
			 sizeof(b->buf[which]) - b->len[which]);
		if (n <= 0)
			return -EPIPE;
		b->len[which] += (size_t)n;
	}
}

/* Wait for its exit: its code (it is killed after LT_SOON_MS). */
static inline int cli_bg_wait(struct cli_bg *b)
{
	int rc = lt_reap(b->pid);

	close(b->fd[0]);
	close(b->fd[1]);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Lines and words */

/* Do @a and @b hold the same whitespace-separated words? */
static inline bool words_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ' || *a == '\t')
			a++;
		while (*b == ' ' || *b == '\t')
			b++;
		if (!*a || *a == '\n' || !*b || *b == '\n')
			return (!*a || *a == '\n') && (!*b || *b == '\n');
		while (*a && *a != ' ' && *a != '\t' && *a != '\n' &&
		       *a == *b) {
			a++;
			b++;
		}
		if ((*a && *a != ' ' && *a != '\t' && *a != '\n') ||
		    (*b && *b != ' ' && *b != '\t' && *b != '\n'))
			return false;
	}
}

/*
 * The first line of @text whose first word is @first, copied into
 * @line without its newline; false if there is none.
 */
static inline bool find_line(const char *text, const char *first,
			     char *line, size_t size)
{
	size_t fl = strlen(first);
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *w = p;

		while (*w == ' ')
			w++;
		if (!strncmp(w, first, fl) &&
		    (w[fl] == ' ' || w[fl] == '\n' || w[fl] == '\0')) {
			snprintf(line, size, "%.*s", (int)len, p);
			return true;
		}
		p = eol ? eol + 1 : p + len;
	}
	return false;
}

static inline bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* printf into a static buffer, for expected lines. */
static inline const char *fmt(const char *f, ...)
{
	static char buf[4][512];
	static int i;
	va_list ap;

	i = (i + 1) % 4;
	va_start(ap, f);
	vsnprintf(buf[i], sizeof(buf[i]), f, ap);
	va_end(ap);
	return buf[i];
}

#endif /* CLI_TEST_H */
