// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: Unix domain sockets, a socket pair per direction with the
 * default buffer sizes.
 *
 *   unix-stream  SOCK_STREAM: a message is its bytes, read in full
 *   unix-dgram   SOCK_DGRAM: one datagram per message, so a message must
 *                fit the send buffer (net.core.wmem_max): larger sizes
 *                are not run
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "fdchan.h"

static int make_pair(int type, int fds[2])
{
	return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) ? -errno : 0;
}

static int make_stream(size_t msg_size, int fds[2])
{
	(void)msg_size;
	return make_pair(SOCK_STREAM, fds);
}

/* A datagram socket pair whose send buffer holds @msg_size, if it can. */
static int make_dgram(size_t msg_size, int fds[2])
{
	int ret = make_pair(SOCK_DGRAM, fds);
	int buf = (int)msg_size * 2 + 4096;	/* the kernel's overhead */

	if (ret)
		return ret;
	/* Asked for, not forced: the limit a user would meet. */
	setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	return 0;
}

static int stream_setup(struct trial *t)
{
	return fdchan_setup(t, make_stream);
}

static int dgram_setup(struct trial *t)
{
	return fdchan_setup(t, make_dgram);
}

static int dgram_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	const struct fdchan_ep *e = ep;
	ssize_t n;

	(void)deadline_ns;
	do
		n = send(e->fd, msg, e->size, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == e->size ? 0 : -EMSGSIZE;
}

static int dgram_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	const struct fdchan_ep *e = ep;
	ssize_t n;

	(void)deadline_ns;
	do
		n = recv(e->fd, msg, e->size, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == e->size ? 0 : -EBADMSG;
}

/* Does a datagram of @msg_size go through (without blocking)? */
static bool dgram_carries(size_t msg_size)
{
	int fds[2], ret;
	void *buf;

	if (make_dgram(msg_size, fds))
		return false;
	buf = calloc(1, msg_size);
	ret = buf && send(fds[1], buf, msg_size, MSG_DONTWAIT) ==
			     (ssize_t)msg_size;
	free(buf);
	close(fds[0]);
	close(fds[1]);
	return ret;
}

const struct transport tr_unix_stream = {
	.name = "unix-stream",
	.setup = stream_setup,
	.teardown = fdchan_teardown,
	.open = fdchan_open,
	.close = fdchan_close,
	.send = fdchan_send_bytes,
	.recv = fdchan_recv_bytes,
};

const struct transport tr_unix_dgram = {
	.name = "unix-dgram",
	.carries = dgram_carries,
	.setup = dgram_setup,
	.teardown = fdchan_teardown,
	.open = fdchan_open,
	.close = fdchan_close,
	.send = dgram_send,
	.recv = dgram_recv,
};
