// SPDX-License-Identifier: GPL-2.0
/*
 * Peer events: a bounded queue per region fd, read() and poll().
 *
 * Queues are preallocated with the file, so posting never allocates and
 * never fails: when a queue is full the event is counted, and an OVERFLOW
 * record with the count takes its place as soon as there is room.
 */
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "shmipc.h"

/* Records handed out per read() call; readers loop for more. */
#define SHMIPC_READ_BATCH	8

void shmipc_events_init(struct shmipc_region *region)
{
	spin_lock_init(&region->event_lock);
	INIT_LIST_HEAD(&region->files);
	init_waitqueue_head(&region->event_wq);
}

static void shmipc_ev_push(struct shmipc_file *sf,
			   const struct shmipc_event *ev)
{
	unsigned int room = SHMIPC_EVENT_QUEUE_LEN - (sf->ev_tail - sf->ev_head);
	struct shmipc_event *slot;

	lockdep_assert_held(&sf->region->event_lock);
	if (sf->ev_lost) {
		if (room < 2) {
			if (sf->ev_lost < U32_MAX)
				sf->ev_lost++;
			return;
		}
		slot = &sf->ev[sf->ev_tail++ % SHMIPC_EVENT_QUEUE_LEN];
		memset(slot, 0, sizeof(*slot));
		slot->type = SHMIPC_EVENT_OVERFLOW;
		slot->status = sf->ev_lost;
		sf->ev_lost = 0;
	} else if (!room) {
		sf->ev_lost = 1;
		return;
	}
	sf->ev[sf->ev_tail++ % SHMIPC_EVENT_QUEUE_LEN] = *ev;
}

static bool shmipc_ev_pending(struct shmipc_file *sf)
{
	return READ_ONCE(sf->ev_tail) != READ_ONCE(sf->ev_head) ||
	       READ_ONCE(sf->ev_lost);
}

static void shmipc_ev_fill(struct shmipc_event *ev, struct shmipc_file *sf,
			   struct shmipc_peer *peer)
{
	ev->pid = pid_nr_ns(peer->pid, ns_of_pid(sf->opener));
}

/* Post an event of @peer to every fd of the region.  peer_lock held. */
void shmipc_event_post(struct shmipc_region *region, u32 type,
		       struct shmipc_peer *peer, u32 status)
{
	struct shmipc_event ev = {
		.type = type,
		.peer_id = peer->id,
		.status = status,
	};
	struct shmipc_file *sf;

	lockdep_assert_held(&region->peer_lock);
	spin_lock(&region->event_lock);
	ev.seq = ++region->event_seq;
	if (type == SHMIPC_EVENT_DEATH)
		peer->death_seq = ev.seq;
	list_for_each_entry(sf, &region->files, node) {
		shmipc_ev_fill(&ev, sf, peer);
		shmipc_ev_push(sf, &ev);
	}
	spin_unlock(&region->event_lock);
	wake_up_interruptible_poll(&region->event_wq, EPOLLIN | EPOLLRDNORM);
}

/*
 * A new fd joins the region's event fan-out, and learns of the deaths
 * whose marks are still in the region (binder's rule).
 */
void shmipc_events_open(struct shmipc_file *sf)
{
	struct shmipc_region *region = sf->region;
	struct shmipc_peer *peer;

	sf->opener = get_pid(task_pid(current));
	mutex_lock(&region->peer_lock);
	spin_lock(&region->event_lock);
	list_add_tail(&sf->node, &region->files);
	list_for_each_entry(peer, &region->peers, node) {
		struct shmipc_event ev = {
			.type = SHMIPC_EVENT_DEATH,
			.seq = peer->death_seq,
			.peer_id = peer->id,
			.status = peer->status,
			.flags = SHMIPC_EVENT_REPLAY,
		};

		if (peer->state != SHMIPC_PEER_DEAD)
			continue;
		shmipc_ev_fill(&ev, sf, peer);
		shmipc_ev_push(sf, &ev);
	}
	spin_unlock(&region->event_lock);
	mutex_unlock(&region->peer_lock);
}

void shmipc_events_close(struct shmipc_file *sf)
{
	spin_lock(&sf->region->event_lock);
	list_del(&sf->node);
	spin_unlock(&sf->region->event_lock);
	put_pid(sf->opener);
}

/* Move up to @max records out of the queue of @sf. */
static unsigned int shmipc_ev_pop(struct shmipc_file *sf,
				  struct shmipc_event *out, unsigned int max)
{
	unsigned int n = 0;

	spin_lock(&sf->region->event_lock);
	while (n < max && sf->ev_head != sf->ev_tail)
		out[n++] = sf->ev[sf->ev_head++ % SHMIPC_EVENT_QUEUE_LEN];
	if (n < max && sf->ev_lost) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].type = SHMIPC_EVENT_OVERFLOW;
		out[n++].status = sf->ev_lost;
		sf->ev_lost = 0;
	}
	spin_unlock(&sf->region->event_lock);
	return n;
}

ssize_t shmipc_events_read(struct file *file, char __user *buf,
			   size_t count, loff_t *ppos)
{
	struct shmipc_event evs[SHMIPC_READ_BATCH];
	struct shmipc_file *sf = file->private_data;
	struct shmipc_region *region = sf->region;
	unsigned int n;
	int ret;

	if (count < sizeof(evs[0]))
		return -EINVAL;
	for (;;) {
		n = shmipc_ev_pop(sf, evs, min_t(size_t, SHMIPC_READ_BATCH,
						 count / sizeof(evs[0])));
		if (n)
			break;
		if (READ_ONCE(region->destroyed))
			return 0;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(region->event_wq,
					       shmipc_ev_pending(sf) ||
					       READ_ONCE(region->destroyed));
		if (ret)
			return ret;
	}
	if (copy_to_user(buf, evs, n * sizeof(evs[0]))) {
		/* Not silent: the next reader sees them in an OVERFLOW. */
		spin_lock(&region->event_lock);
		sf->ev_lost = min_t(u64, (u64)sf->ev_lost + n, U32_MAX);
		spin_unlock(&region->event_lock);
		return -EFAULT;
	}
	return n * sizeof(evs[0]);
}

__poll_t shmipc_events_poll(struct file *file, struct poll_table_struct *pt)
{
	struct shmipc_file *sf = file->private_data;
	struct shmipc_region *region = sf->region;
	__poll_t mask = 0;

	poll_wait(file, &region->event_wq, pt);
	if (shmipc_ev_pending(sf))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(region->destroyed))
		mask |= EPOLLHUP;
	return mask;
}
