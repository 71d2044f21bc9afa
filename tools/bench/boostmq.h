/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chanbench: a C face for Boost.Interprocess message_queue (boostmq.cc),
 * for tr_boostmq.c.  Every call returns 0 or -errno (an exception from
 * Boost: -EIO); never throws.
 */
#ifndef CHANBENCH_BOOSTMQ_H
#define CHANBENCH_BOOSTMQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bmq;

int bmq_create(const char *name, unsigned int depth, size_t msg_size);
void bmq_remove(const char *name);
int bmq_open(const char *name, struct bmq **q);
void bmq_close(struct bmq *q);
/* @wait: block while full / empty; else -EAGAIN then. */
int bmq_send(struct bmq *q, const void *msg, size_t len, int wait);
int bmq_recv(struct bmq *q, void *msg, size_t len, int wait);
/* Receive, waiting at most @timeout_ns: -ETIMEDOUT when nothing came. */
int bmq_recv_timed(struct bmq *q, void *msg, size_t len, uint64_t timeout_ns);

#ifdef __cplusplus
}
#endif

#endif /* CHANBENCH_BOOSTMQ_H */
