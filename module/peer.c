// SPDX-License-Identifier: GPL-2.0
/*
 * Peers: processes attached to a region, and what their death does.
 *
 * Death is taken from the process exit itself: a peer's wait entry sits on
 * the pidfd wait queue of its thread group, which exit_notify() wakes once
 * the last thread is gone.  File descriptors play no part, so fork, fd
 * passing and exec neither hide a death nor invent one.
 */
#include <linux/highmem.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "shmipc.h"

/* Peer ids are never reused while the module is loaded. */
static atomic64_t shmipc_peer_ids = ATOMIC64_INIT(0);

/*
 * Death works run here, so that region release and module exit can wait
 * for every one of them, including one that already unlinked its peer.
 */
static struct workqueue_struct *shmipc_death_wq;

int shmipc_peers_setup(void)
{
	shmipc_death_wq = alloc_workqueue("shmipc_death", WQ_HIGHPRI, 0);
	return shmipc_death_wq ? 0 : -ENOMEM;
}

void shmipc_peers_cleanup(void)
{
	destroy_workqueue(shmipc_death_wq);
}

void shmipc_peers_init(struct shmipc_region *region)
{
	mutex_init(&region->peer_lock);
	INIT_LIST_HEAD(&region->peers);
}

static void shmipc_peer_free(struct kref *ref)
{
	struct shmipc_peer *peer = container_of(ref, struct shmipc_peer, ref);

	put_pid(peer->pid);
	kfree(peer);
}

void shmipc_peer_put(struct shmipc_peer *peer)
{
	kref_put(&peer->ref, shmipc_peer_free);
}

static struct shmipc_peer *shmipc_peer_lookup(struct shmipc_region *region,
					      u64 id)
{
	struct shmipc_peer *peer, *found = NULL;

	mutex_lock(&region->peer_lock);
	list_for_each_entry(peer, &region->peers, node) {
		if (peer->id == id) {
			kref_get(&peer->ref);
			found = peer;
			break;
		}
	}
	mutex_unlock(&region->peer_lock);
	return found;
}

/*
 * The peer @id of @region, attached or marked dead, with a reference.
 * A death already signalled is taken into account first: the pidfd
 * wake-up queues the death work (under tasklist_lock) before wait(2)
 * or waitid() can report the exit, so whoever learnt of it that way
 * never finds the peer attached.  The work may also have run between the
 * lookup and the flush: the state after the flush says.  A peer no
 * longer attached is marked dead or forgotten: look again.
 */
struct shmipc_peer *shmipc_peer_find(struct shmipc_region *region, u64 id)
{
	struct shmipc_peer *peer = shmipc_peer_lookup(region, id);

	if (!peer)
		return NULL;
	flush_work(&peer->death_work);
	if (READ_ONCE(peer->state) != SHMIPC_PEER_ATTACHED) {
		shmipc_peer_put(peer);
		peer = shmipc_peer_lookup(region, id);
	}
	return peer;
}

static struct shmipc_peer *shmipc_peer_of_current(struct shmipc_region *region)
{
	struct pid *tgid = task_tgid(current);
	struct shmipc_peer *peer;

	lockdep_assert_held(&region->peer_lock);
	list_for_each_entry(peer, &region->peers, node)
		if (peer->pid == tgid && peer->state == SHMIPC_PEER_ATTACHED)
			return peer;
	return NULL;
}

/* Caller holds peer_lock, or @peer is dead and nobody changes its words. */
bool shmipc_peer_owns(struct shmipc_peer *peer, u64 offset)
{
	unsigned int i;

	for (i = 0; i < peer->nr_owned; i++)
		if (peer->owned[i] == offset)
			return true;
	return false;
}

/* The status wait4() would report; the group exit code wins. */
static u32 shmipc_exit_status(struct task_struct *task)
{
	if (task->signal->flags & SIGNAL_GROUP_EXIT)
		return task->signal->group_exit_code;
	return task->exit_code;
}

/*
 * pidfd wake-up: runs in exit_notify() with tasklist_lock held and
 * interrupts off, so it only records the status and queues the work.
 * A ptraced leader can be notified before its group is empty: ignore
 * that, as pidfd_poll() does.  The same pid is notified again when a
 * tracer or a new parent reaps the zombie, so the entry takes itself off
 * the queue (we hold its lock here): the work is queued exactly once.
 */
static int shmipc_peer_exit_wake(struct wait_queue_entry *wait,
				 unsigned int mode, int sync, void *key)
{
	struct shmipc_peer *peer =
		container_of(wait, struct shmipc_peer, exit_wait);
	struct task_struct *task;

	rcu_read_lock();
	task = pid_task(peer->pid, PIDTYPE_TGID);
	if (task && !(task->exit_state && thread_group_empty(task))) {
		rcu_read_unlock();
		return 0;
	}
	if (task)
		peer->status = shmipc_exit_status(task);
	rcu_read_unlock();
	list_del_init(&wait->entry);
	queue_work(shmipc_death_wq, &peer->death_work);
	return 0;
}

/* Set SHMIPC_OWNER_DIED in every word @peer owned. */
static void shmipc_peer_mark_owned(struct shmipc_peer *peer)
{
	struct address_space *mapping = peer->region->shmem->f_mapping;
	unsigned int i;

	for (i = 0; i < peer->nr_owned; i++) {
		u64 offset = peer->owned[i];
		struct page *page;
		void *addr;

		page = shmem_read_mapping_page(mapping, offset >> PAGE_SHIFT);
		if (IS_ERR(page))
			continue;	/* only under memory exhaustion */
		addr = kmap_local_page(page);
		atomic_or(SHMIPC_OWNER_DIED,
			  (atomic_t *)(addr + offset_in_page(offset)));
		kunmap_local(addr);
		set_page_dirty_lock(page);
		put_page(page);
	}
}

static void shmipc_peer_death_work(struct work_struct *work)
{
	struct shmipc_peer *peer =
		container_of(work, struct shmipc_peer, death_work);
	struct shmipc_region *region = peer->region;
	bool drop = false;

	mutex_lock(&region->peer_lock);
	if (peer->state != SHMIPC_PEER_ATTACHED)
		goto out;	/* detached or torn down meanwhile */
	/* shmipc_peer_exit_wake() already took exit_wait off the queue. */
	WRITE_ONCE(peer->state, SHMIPC_PEER_DEAD);
	region->nr_peers--;
	shmipc_peer_mark_owned(peer);
	shmipc_event_post(region, SHMIPC_EVENT_DEATH, peer, peer->status);
	shmipc_wake_region(region, peer, -EOWNERDEAD);
	if (peer->nr_owned) {
		region->nr_dead++;	/* marked until RECLAIM */
	} else {
		list_del(&peer->node);
		drop = true;
	}
out:
	mutex_unlock(&region->peer_lock);
	if (drop)
		shmipc_peer_put(peer);
}

/*
 * End an attached @peer cleanly: LEAVE event, waiters naming it get
 * -ESRCH.  Returns true when the caller must drop the list's reference
 * (after cancel_work_sync(), outside peer_lock).
 */
static bool shmipc_peer_leave(struct shmipc_peer *peer)
{
	struct shmipc_region *region = peer->region;

	lockdep_assert_held(&region->peer_lock);
	if (peer->state != SHMIPC_PEER_ATTACHED)
		return false;
	remove_wait_queue(&peer->pid->wait_pidfd, &peer->exit_wait);
	WRITE_ONCE(peer->state, SHMIPC_PEER_LEFT);
	list_del(&peer->node);
	region->nr_peers--;
	shmipc_event_post(region, SHMIPC_EVENT_LEAVE, peer, 0);
	shmipc_wake_region(region, peer, -ESRCH);
	return true;
}

static void shmipc_peer_drop(struct shmipc_peer *peer)
{
	/* A death work queued before the removal sees LEFT and stops. */
	cancel_work_sync(&peer->death_work);
	shmipc_peer_put(peer);
}

long shmipc_attach(struct shmipc_file *sf, struct shmipc_attach __user *uarg)
{
	struct shmipc_region *region = sf->region;
	struct shmipc_attach arg;
	struct shmipc_peer *peer;
	bool drop;
	int ret = 0;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved)
		return -EINVAL;
	if (!(sf->access & SHMIPC_ACCESS_READ))
		return -EBADF;

	peer = kzalloc(sizeof(*peer), GFP_KERNEL_ACCOUNT);
	if (!peer)
		return -ENOMEM;
	kref_init(&peer->ref);
	peer->region = region;
	peer->pid = get_pid(task_tgid(current));
	peer->state = SHMIPC_PEER_ATTACHED;
	init_waitqueue_func_entry(&peer->exit_wait, shmipc_peer_exit_wake);
	INIT_WORK(&peer->death_work, shmipc_peer_death_work);

	mutex_lock(&region->peer_lock);
	if (READ_ONCE(region->destroyed))
		ret = -EIDRM;
	else if (shmipc_peer_of_current(region))
		ret = -EBUSY;
	else if (region->nr_peers + region->nr_dead >=
		 READ_ONCE(shmipc_max_region_peers))
		ret = -EUSERS;
	if (!ret) {
		/*
		 * The id is taken under peer_lock, right before the peer joins
		 * the tail of the list: the list stays in id order, which the
		 * cursor of SHMIPC_IOC_PEERS relies on.
		 */
		peer->id = atomic64_inc_return(&shmipc_peer_ids);
		/* The list's reference, and ours until the copy-out is done. */
		kref_get(&peer->ref);
		list_add_tail(&peer->node, &region->peers);
		region->nr_peers++;
		add_wait_queue(&peer->pid->wait_pidfd, &peer->exit_wait);
		shmipc_event_post(region, SHMIPC_EVENT_JOIN, peer, 0);
	}
	mutex_unlock(&region->peer_lock);
	if (ret) {
		shmipc_peer_put(peer);
		return ret;
	}

	arg.peer_id = peer->id;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		mutex_lock(&region->peer_lock);
		drop = shmipc_peer_leave(peer);
		mutex_unlock(&region->peer_lock);
		if (drop)
			shmipc_peer_drop(peer);
	}
	shmipc_peer_put(peer);
	return ret;
}

long shmipc_detach(struct shmipc_file *sf, unsigned long arg)
{
	struct shmipc_region *region = sf->region;
	struct shmipc_peer *peer;

	if (arg)
		return -EINVAL;
	if (!(sf->access & SHMIPC_ACCESS_READ))
		return -EBADF;
	mutex_lock(&region->peer_lock);
	peer = shmipc_peer_of_current(region);
	if (peer)
		shmipc_peer_leave(peer);
	mutex_unlock(&region->peer_lock);
	if (!peer)
		return -ENOENT;
	shmipc_peer_drop(peer);
	return 0;
}

long shmipc_own(struct shmipc_file *sf, struct shmipc_own __user *uarg)
{
	struct shmipc_region *region = sf->region;
	struct shmipc_peer *peer;
	struct shmipc_own arg;
	unsigned int i;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~SHMIPC_OWN_RELEASE || arg.reserved)
		return -EINVAL;
	ret = shmipc_check_offset(region, arg.offset);
	if (ret)
		return ret;
	if (!(sf->access & SHMIPC_ACCESS_WRITE))
		return -EBADF;

	mutex_lock(&region->peer_lock);
	peer = shmipc_peer_of_current(region);
	if (!peer) {
		ret = -ENOENT;
	} else if (arg.flags & SHMIPC_OWN_RELEASE) {
		ret = -ENOENT;
		for (i = 0; i < peer->nr_owned; i++) {
			if (peer->owned[i] == arg.offset) {
				peer->owned[i] = peer->owned[--peer->nr_owned];
				ret = 0;
				break;
			}
		}
	} else if (shmipc_peer_owns(peer, arg.offset)) {
		ret = -EEXIST;
	} else if (peer->nr_owned == SHMIPC_OWNED_MAX) {
		ret = -ENOSPC;
	} else {
		peer->owned[peer->nr_owned++] = arg.offset;
	}
	mutex_unlock(&region->peer_lock);
	return ret;
}

long shmipc_reclaim(struct shmipc_file *sf,
		    struct shmipc_reclaim __user *uarg)
{
	struct shmipc_region *region = sf->region;
	struct shmipc_peer *peer, *found = NULL;
	struct shmipc_reclaim arg;
	int ret = -ESRCH;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved || !arg.peer_id)
		return -EINVAL;
	if (!(sf->access & SHMIPC_ACCESS_WRITE))
		return -EBADF;

	mutex_lock(&region->peer_lock);
	list_for_each_entry(peer, &region->peers, node) {
		if (peer->id != arg.peer_id)
			continue;
		if (peer->state != SHMIPC_PEER_DEAD) {
			ret = -EBUSY;
			break;
		}
		list_del(&peer->node);
		region->nr_dead--;
		found = peer;
		ret = 0;
		break;
	}
	mutex_unlock(&region->peer_lock);
	if (found)
		shmipc_peer_put(found);
	return ret;
}

/*
 * Region release: no file is left, so nobody hears of these peers again.
 * Unhook them from their processes and wait out any death work.
 */
void shmipc_peers_release(struct shmipc_region *region)
{
	struct shmipc_peer *peer, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&region->peer_lock);
	list_for_each_entry(peer, &region->peers, node) {
		if (peer->state == SHMIPC_PEER_ATTACHED) {
			remove_wait_queue(&peer->pid->wait_pidfd,
					  &peer->exit_wait);
			WRITE_ONCE(peer->state, SHMIPC_PEER_LEFT);
		}
	}
	list_splice_init(&region->peers, &gone);
	region->nr_peers = 0;
	region->nr_dead = 0;
	mutex_unlock(&region->peer_lock);

	list_for_each_entry_safe(peer, tmp, &gone, node) {
		list_del(&peer->node);
		shmipc_peer_drop(peer);
	}
	/* And the works of peers that died and left the list by themselves. */
	flush_workqueue(shmipc_death_wq);
}
