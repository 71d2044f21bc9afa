// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: what the kernel-channel transports share (tr_pipe.c,
 * tr_sock.c).  The parent makes one kernel channel per direction before
 * the fork (a pipe, a socket pair); the sides inherit the descriptors and
 * use the read or the write end.  Calls block: these transports have no
 * polled mode here (a process waiting in read() sleeps in the kernel).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "fdchan.h"

struct fdchan_state {
	int fd[2][2];		/* per channel: read end, write end */
};

int fdchan_setup(struct trial *t, int (*make)(size_t msg_size, int fds[2]))
{
	struct fdchan_state *st = malloc(sizeof(*st));
	int c, ret = 0;

	if (!st)
		return -ENOMEM;
	for (c = 0; c < 2; c++)
		st->fd[c][0] = st->fd[c][1] = -1;
	for (c = 0; c < 2 && !ret; c++)
		ret = make(t->msg_size, st->fd[c]);
	t->state = st;
	if (ret)
		fdchan_teardown(t);
	return ret;
}

void fdchan_teardown(struct trial *t)
{
	struct fdchan_state *st = t->state;
	int c, i;

	for (c = 0; c < 2; c++)
		for (i = 0; i < 2; i++)
			if (st->fd[c][i] >= 0)
				close(st->fd[c][i]);
	free(st);
	t->state = NULL;
}

int fdchan_open(struct trial *t, int chan, bool sender, void **ep)
{
	const struct fdchan_state *st = t->state;
	struct fdchan_ep *e = malloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->fd = st->fd[chan][sender];
	e->size = t->msg_size;
	*ep = e;
	return 0;
}

void fdchan_close(void *ep)
{
	free(ep);
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;	/* the writer went */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A byte stream carries a message as its bytes, in as many calls as it
 * takes (the deadline is the runner's watchdog). */
int fdchan_send_bytes(void *ep, const void *msg, uint64_t deadline_ns)
{
	const struct fdchan_ep *e = ep;

	(void)deadline_ns;
	return fd_write_all(e->fd, msg, e->size);
}

int fdchan_recv_bytes(void *ep, void *msg, uint64_t deadline_ns)
{
	const struct fdchan_ep *e = ep;

	(void)deadline_ns;
	return fd_read_all(e->fd, msg, e->size);
}
