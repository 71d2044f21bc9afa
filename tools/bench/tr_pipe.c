// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: a pipe per direction, as a program would make one: the
 * default capacity (64 KiB), blocking reads and writes, every message
 * copied into the kernel and out again.  The copying baseline that zero
 * copy is compared with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fdchan.h"

static int make_pipe(size_t msg_size, int fds[2])
{
	(void)msg_size;
	return pipe2(fds, O_CLOEXEC) ? -errno : 0;
}

static int pipe_setup(struct trial *t)
{
	return fdchan_setup(t, make_pipe);
}

const struct transport tr_pipe = {
	.name = "pipe",
	.setup = pipe_setup,
	.teardown = fdchan_teardown,
	.open = fdchan_open,
	.close = fdchan_close,
	.send = fdchan_send_bytes,
	.recv = fdchan_recv_bytes,
};
