// SPDX-License-Identifier: GPL-2.0
/*
 * Introspection ioctls: LIST (the regions a caller may read) and PEERS
 * (the peers of one region), paged by id.
 *
 * Both walk a list that is kept in id order (ids are taken under the
 * list's lock right before list_add_tail()), so a cursor is simply the
 * last id handed out.  A walk copies at most one batch of entries into a
 * kernel buffer under the list's lock, drops the lock, then copies the
 * batch to user space: no lock is held across copy_to_user(), and
 * nothing is kept of an object once its lock is dropped (only its id,
 * as the cursor), so an object freed between batches is simply not seen
 * again.
 */
#include <linux/cred.h>
#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "shmipc.h"

/* Entries gathered per locked pass (and per copy-out). */
#define SHMIPC_LIST_BATCH	32

/*
 * One paged walk.  The walker calls shmipc_pager_next() for every
 * visible object in id order, with the list's lock held, and fills the
 * batch slot it is told to.
 */
struct shmipc_pager {
	struct shmipc_list arg;
	void *batch;		/* SHMIPC_LIST_BATCH entries of entry_len */
	size_t entry_len;	/* the kernel's entry struct */
	u64 cursor;		/* last id handed out */
	u32 written;		/* entries copied to user space so far */
	u32 total;		/* visible objects, counted on the first pass */
	unsigned int n;		/* entries in the batch */
	unsigned int want;	/* room in this batch */
	bool counted;		/* total is final */
	bool more;		/* a visible object follows the batch */
};

enum shmipc_pager_step {
	SHMIPC_PAGER_SKIP,	/* before the cursor, or only counted */
	SHMIPC_PAGER_FILL,	/* fill the batch slot shmipc_pager_slot() */
	SHMIPC_PAGER_STOP,	/* the batch is full and counted: stop */
};

static enum shmipc_pager_step shmipc_pager_next(struct shmipc_pager *pg,
						u64 id)
{
	if (!pg->counted)
		pg->total++;
	if (id <= pg->cursor)
		return SHMIPC_PAGER_SKIP;
	if (pg->n < pg->want) {
		pg->cursor = id;
		return SHMIPC_PAGER_FILL;
	}
	pg->more = true;
	return pg->counted ? SHMIPC_PAGER_STOP : SHMIPC_PAGER_SKIP;
}

/* The zeroed batch slot to fill after SHMIPC_PAGER_FILL. */
static void *shmipc_pager_slot(struct shmipc_pager *pg)
{
	void *slot = pg->batch + pg->n++ * pg->entry_len;

	memset(slot, 0, pg->entry_len);
	return slot;
}

/* Copy the batch to the user array, zeroing each slot's unknown tail. */
static int shmipc_pager_flush(struct shmipc_pager *pg)
{
	void __user *dst = u64_to_user_ptr(pg->arg.entries);
	unsigned int i;

	dst += (u64)pg->written * pg->arg.entry_size;
	for (i = 0; i < pg->n; i++, dst += pg->arg.entry_size) {
		if (copy_to_user(dst, pg->batch + i * pg->entry_len,
				 pg->entry_len))
			return -EFAULT;
		if (pg->arg.entry_size > pg->entry_len &&
		    clear_user(dst + pg->entry_len,
			       pg->arg.entry_size - pg->entry_len))
			return -EFAULT;
	}
	pg->written += pg->n;
	return 0;
}

/*
 * Run a paged walk: @walk makes one locked pass over its list, calling
 * shmipc_pager_next() for each visible object.  Passes repeat until the
 * caller's array is full or the list is exhausted.
 */
static long shmipc_page(struct shmipc_list __user *uarg, size_t entry_len,
			void (*walk)(struct shmipc_pager *pg, void *ctx),
			void *ctx)
{
	struct shmipc_pager pg = { .entry_len = entry_len };
	int ret = 0;

	if (copy_from_user(&pg.arg, uarg, sizeof(pg.arg)))
		return -EFAULT;
	if (pg.arg.flags || pg.arg.reserved[0] || pg.arg.reserved[1] ||
	    pg.arg.entry_size < entry_len ||
	    pg.arg.entry_size > SHMIPC_LIST_ENTRY_MAX ||
	    pg.arg.entry_size % 8)
		return -EINVAL;
	pg.batch = kmalloc_array(SHMIPC_LIST_BATCH, entry_len, GFP_KERNEL);
	if (!pg.batch)
		return -ENOMEM;
	pg.cursor = pg.arg.cursor;

	for (;;) {
		pg.n = 0;
		pg.more = false;
		pg.want = min_t(u32, pg.arg.count - pg.written,
				SHMIPC_LIST_BATCH);
		walk(&pg, ctx);
		pg.counted = true;
		ret = shmipc_pager_flush(&pg);
		if (ret || !pg.more || pg.written == pg.arg.count)
			break;
	}
	kfree(pg.batch);
	if (ret)
		return ret;

	pg.arg.count = pg.written;
	pg.arg.next = pg.more ? pg.cursor : 0;
	pg.arg.total = pg.total;
	if (copy_to_user(uarg, &pg.arg, sizeof(pg.arg)))
		return -EFAULT;
	return 0;
}

/* ------------------------------------------------------------------ */
/* LIST */

static void shmipc_list_fill(struct shmipc_region_entry *e,
			     struct shmipc_region *region)
{
	struct user_namespace *ns = current_user_ns();

	lockdep_assert_held(&shmipc_lock);
	strscpy(e->name, region->name, sizeof(e->name));
	e->size = region->size;
	e->id = region->id;
	e->uid = from_kuid_munged(ns, region->uid);
	e->gid = from_kgid_munged(ns, region->gid);
	e->mode = region->mode;
	if (region->persistent)
		e->flags |= SHMIPC_INFO_PERSISTENT;
	if (!region->named)
		e->flags |= SHMIPC_INFO_UNLINKED;
	if (region->tied_to)
		e->flags |= SHMIPC_INFO_TIED;
	if (READ_ONCE(region->destroyed))
		e->flags |= SHMIPC_INFO_DESTROYED;
	mutex_lock(&region->peer_lock);
	e->nr_peers = region->nr_peers;
	e->nr_dead = region->nr_dead;
	mutex_unlock(&region->peer_lock);
	e->nr_files = atomic_read(&region->nr_files);
	e->nr_waiters = atomic_read(&region->nr_waiters);
}

/*
 * One pass over shmipc_regions.  Under shmipc_lock every region on the
 * list has a non-zero count (the last put unlinks it under the same
 * lock), and we keep nothing of it after the unlock.
 */
static void shmipc_list_walk(struct shmipc_pager *pg, void *ctx)
{
	struct user_namespace *ns = current_user_ns();
	struct shmipc_region *region;

	mutex_lock(&shmipc_lock);
	list_for_each_entry(region, &shmipc_regions, node) {
		enum shmipc_pager_step step;

		if (region->user_ns != ns ||
		    shmipc_permit(region, SHMIPC_ACCESS_READ, false))
			continue;
		step = shmipc_pager_next(pg, region->id);
		if (step == SHMIPC_PAGER_STOP)
			break;
		if (step == SHMIPC_PAGER_FILL)
			shmipc_list_fill(shmipc_pager_slot(pg), region);
	}
	mutex_unlock(&shmipc_lock);
}

long shmipc_list(struct shmipc_list __user *uarg)
{
	return shmipc_page(uarg, sizeof(struct shmipc_region_entry),
			   shmipc_list_walk, NULL);
}

/* ------------------------------------------------------------------ */
/* PEERS */

/* One pass over region->peers (only ATTACHED and DEAD peers are on it). */
static void shmipc_peers_walk(struct shmipc_pager *pg, void *ctx)
{
	struct pid_namespace *pid_ns = task_active_pid_ns(current);
	struct shmipc_region *region = ctx;
	struct shmipc_peer *peer;

	mutex_lock(&region->peer_lock);
	list_for_each_entry(peer, &region->peers, node) {
		enum shmipc_pager_step step;
		struct shmipc_peer_entry *e;

		step = shmipc_pager_next(pg, peer->id);
		if (step == SHMIPC_PAGER_STOP)
			break;
		if (step != SHMIPC_PAGER_FILL)
			continue;
		e = shmipc_pager_slot(pg);
		e->peer_id = peer->id;
		e->pid = pid_nr_ns(peer->pid, pid_ns);
		e->nr_owned = peer->nr_owned;
		if (peer->state == SHMIPC_PEER_DEAD) {
			e->state = SHMIPC_PEER_STATE_DEAD;
			e->status = peer->status;
		} else {
			e->state = SHMIPC_PEER_STATE_ALIVE;
		}
	}
	mutex_unlock(&region->peer_lock);
}

long shmipc_peers(struct shmipc_file *sf, struct shmipc_list __user *uarg)
{
	return shmipc_page(uarg, sizeof(struct shmipc_peer_entry),
			   shmipc_peers_walk, sf->region);
}
