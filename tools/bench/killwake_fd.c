// SPDX-License-Identifier: GPL-2.0
/*
 * kill-to-wake: what the kernel itself tells a survivor, no library.
 *
 *   pidfd        poll() on a pidfd of the peer: readable once it exited
 *                (the baseline, as in the VM's rows)
 *   pipe-eof     read() on a pipe whose only write end the peer held:
 *                end of file once the kernel closed the dead peer's fds
 *   unix-stream-eof  the same on a socketpair(AF_UNIX, SOCK_STREAM)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "killwake.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int pidfd_arm(struct kw_trial *t)
{
	t->fd = (int)syscall(SYS_pidfd_open, t->victim, 0);
	return t->fd < 0 ? -errno : 0;
}

static int pidfd_await(struct kw_trial *t)
{
	return kw_poll_in(t->fd, t->limit_ns);
}

static void fd_cleanup(struct kw_trial *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static int pipe_prepare(struct kw_trial *t)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	t->fd = p[0];
	t->peer_fd = p[1];
	return 0;
}

static int socket_prepare(struct kw_trial *t)
{
	int s[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s))
		return -errno;
	t->fd = s[0];
	t->peer_fd = s[1];
	return 0;
}

/* End of file, and nothing before it: the peer never writes. */
static int eof_await(struct kw_trial *t)
{
	char c;
	ssize_t n;
	int ret = kw_poll_in(t->fd, t->limit_ns);

	if (ret)
		return ret;
	n = read(t->fd, &c, 1);
	return n == 0 ? 0 : n < 0 ? -errno : -EPROTO;
}

const struct kw_mode kw_pidfd = {
	.name = "pidfd",
	.how = "poll() on a pidfd of the peer",
	.arm = pidfd_arm,
	.await = pidfd_await,
	.cleanup = fd_cleanup,
};

const struct kw_mode kw_pipe = {
	.name = "pipe-eof",
	.how = "read() on a pipe the peer writes: end of file",
	.prepare = pipe_prepare,
	.await = eof_await,
	.cleanup = fd_cleanup,
};

const struct kw_mode kw_unix_stream = {
	.name = "unix-stream-eof",
	.how = "read() on an AF_UNIX stream socket: end of file",
	.prepare = socket_prepare,
	.await = eof_await,
	.cleanup = fd_cleanup,
};
