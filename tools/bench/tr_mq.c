// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: POSIX message queues, one per direction, holding up to 10
 * messages (the default fs.mqueue.msg_max).  A queue's message size is
 * capped by fs.mqueue.msgsize_max (8 KiB by default) for processes
 * without CAP_SYS_RESOURCE, and its bytes by RLIMIT_MSGQUEUE (raised
 * here when allowed); sizes a queue cannot be made for are not run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bench.h"

#define MQ_DEPTH	10

struct mq_state {
	mqd_t q[2];
	char name[2][48];
};

struct mq_ep {
	mqd_t q;
	size_t size;
};

static int mq_make(const char *name, size_t msg_size, mqd_t *q)
{
	struct mq_attr attr = { .mq_maxmsg = MQ_DEPTH,
				.mq_msgsize = (long)msg_size };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	/* Room for big messages: as much as we are allowed. */
	if (setrlimit(RLIMIT_MSGQUEUE, &rl) && !getrlimit(RLIMIT_MSGQUEUE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MSGQUEUE, &rl);
	}
	mq_unlink(name);	/* a leftover of a killed run */
	*q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
	return *q == (mqd_t)-1 ? -errno : 0;
}

static bool mq_carries(size_t msg_size)
{
	char name[48];
	mqd_t q;

	snprintf(name, sizeof(name), "/chanbench-%d-probe", (int)getpid());
	if (mq_make(name, msg_size, &q))
		return false;
	mq_close(q);
	mq_unlink(name);
	return true;
}

static void mq_teardown(struct trial *t)
{
	struct mq_state *st = t->state;
	int c;

	for (c = 0; c < 2; c++) {
		if (st->q[c] == (mqd_t)-1)
			continue;
		mq_close(st->q[c]);
		mq_unlink(st->name[c]);
	}
	free(st);
	t->state = NULL;
}

static int mq_setup(struct trial *t)
{
	struct mq_state *st = malloc(sizeof(*st));
	int c, ret = 0;

	if (!st)
		return -ENOMEM;
	t->state = st;
	st->q[0] = st->q[1] = (mqd_t)-1;
	for (c = 0; c < 2 && !ret; c++) {
		snprintf(st->name[c], sizeof(st->name[c]), "/chanbench-%d-%d-%d",
			 (int)getpid(), t->index, c);
		ret = mq_make(st->name[c], t->msg_size, &st->q[c]);
	}
	if (ret)
		mq_teardown(t);
	return ret;
}

static int mq_ep_open(struct trial *t, int chan, bool sender, void **ep)
{
	const struct mq_state *st = t->state;
	struct mq_ep *e = malloc(sizeof(*e));

	(void)sender;
	if (!e)
		return -ENOMEM;
	e->q = st->q[chan];	/* inherited over fork() */
	e->size = t->msg_size;
	*ep = e;
	return 0;
}

static void mq_ep_close(void *ep)
{
	free(ep);
}

static int mq_bench_send(void *ep, const void *msg, uint64_t deadline_ns)
{
	const struct mq_ep *e = ep;

	(void)deadline_ns;
	while (mq_send(e->q, msg, e->size, 0))
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int mq_bench_recv(void *ep, void *msg, uint64_t deadline_ns)
{
	const struct mq_ep *e = ep;
	ssize_t n;

	(void)deadline_ns;
	while ((n = mq_receive(e->q, msg, e->size, NULL)) < 0)
		if (errno != EINTR)
			return -errno;
	return (size_t)n == e->size ? 0 : -EBADMSG;
}

const struct transport tr_mq = {
	.name = "posix-mq",
	.carries = mq_carries,
	.setup = mq_setup,
	.teardown = mq_teardown,
	.open = mq_ep_open,
	.close = mq_ep_close,
	.send = mq_bench_send,
	.recv = mq_bench_recv,
};
