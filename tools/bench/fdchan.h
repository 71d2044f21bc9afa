/* SPDX-License-Identifier: GPL-2.0 */
/* chanbench: kernel channels through file descriptors (fdchan.c). */
#ifndef CHANBENCH_FDCHAN_H
#define CHANBENCH_FDCHAN_H

#include "bench.h"

struct fdchan_ep {
	int fd;
	size_t size;
};

/* Parent: @make one channel (fds[0] the read end, fds[1] the write end)
 * per direction; 0 or -errno. */
int fdchan_setup(struct trial *t, int (*make)(size_t msg_size, int fds[2]));
void fdchan_teardown(struct trial *t);
int fdchan_open(struct trial *t, int chan, bool sender, void **ep);
void fdchan_close(void *ep);
/* The whole of @len bytes, however many calls it takes; 0 or -errno
 * (-EPIPE: end of file). */
int fd_write_all(int fd, const void *buf, size_t len);
int fd_read_all(int fd, void *buf, size_t len);
/* Blocking send / recv of one message as bytes of a stream. */
int fdchan_send_bytes(void *ep, const void *msg, uint64_t deadline_ns);
int fdchan_recv_bytes(void *ep, void *msg, uint64_t deadline_ns);

#endif /* CHANBENCH_FDCHAN_H */
