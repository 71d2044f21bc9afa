// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: Boost.Interprocess message_queue behind the C calls of
 * boostmq.h.  The queue lives in a POSIX shared memory object (made by
 * the parent, opened by name in each side); its blocking calls wait on
 * a process-shared condition variable.
 */
#include <cerrno>
#include <new>

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>

#include "boostmq.h"

namespace bip = boost::interprocess;

struct bmq {
	bip::message_queue q;
	explicit bmq(const char *name) : q(bip::open_only, name) {}
};

int bmq_create(const char *name, unsigned int depth, size_t msg_size)
{
	try {
		bip::message_queue::remove(name);
		bip::message_queue q(bip::create_only, name, depth, msg_size);
		return 0;
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	} catch (...) {
		return -EIO;
	}
}

void bmq_remove(const char *name)
{
	bip::message_queue::remove(name);
}

int bmq_open(const char *name, struct bmq **q)
{
	try {
		*q = new bmq(name);
		return 0;
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	} catch (...) {
		return -EIO;
	}
}

void bmq_close(struct bmq *q)
{
	delete q;
}

int bmq_send(struct bmq *q, const void *msg, size_t len, int wait)
{
	try {
		if (wait) {
			q->q.send(msg, len, 0);
			return 0;
		}
		return q->q.try_send(msg, len, 0) ? 0 : -EAGAIN;
	} catch (...) {
		return -EIO;
	}
}

int bmq_recv(struct bmq *q, void *msg, size_t len, int wait)
{
	bip::message_queue::size_type got = 0;
	unsigned int prio;

	try {
		if (wait)
			q->q.receive(msg, len, got, prio);
		else if (!q->q.try_receive(msg, len, got, prio))
			return -EAGAIN;
		return got == len ? 0 : -EBADMSG;
	} catch (...) {
		return -EIO;
	}
}

int bmq_recv_timed(struct bmq *q, void *msg, size_t len, uint64_t timeout_ns)
{
	namespace pt = boost::posix_time;
	bip::message_queue::size_type got = 0;
	unsigned int prio;

	try {
		/* Boost's deadlines are UTC wall-clock times. */
		pt::ptime until = pt::microsec_clock::universal_time() +
				  pt::microseconds((long)(timeout_ns / 1000));

		if (!q->q.timed_receive(msg, len, got, prio, until))
			return -ETIMEDOUT;
		return got == len ? 0 : -EBADMSG;
	} catch (...) {
		return -EIO;
	}
}
