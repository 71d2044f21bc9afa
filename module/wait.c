// SPDX-License-Identifier: GPL-2.0
/*
 * WAIT, WAKE and WAITV: futex semantics on 32-bit words of a region.
 *
 * The word is read from the region's shmem page, not through a user
 * address, so the caller need not map the region and nothing faults under
 * a spinlock.  The compare and the queueing happen under the bucket lock,
 * and WAKE takes the same lock after the waker changed the word: either
 * the waiter saw the new value, or it was queued before WAKE looked.
 * Deaths and destroy are checked under the same lock for the same reason.
 */
#include <linux/file.h>
#include <linux/hash.h>
#include <linux/highmem.h>
#include <linux/hrtimer.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "shmipc.h"

void shmipc_buckets_init(struct shmipc_region *region)
{
	unsigned int i;

	for (i = 0; i < SHMIPC_BUCKETS; i++) {
		spin_lock_init(&region->buckets[i].lock);
		INIT_LIST_HEAD(&region->buckets[i].waiters);
	}
}

static struct shmipc_bucket *shmipc_bucket_of(struct shmipc_region *region,
					      u64 offset)
{
	return &region->buckets[hash_64(offset, SHMIPC_BUCKET_BITS)];
}

int shmipc_check_offset(struct shmipc_region *region, u64 offset)
{
	if (offset % sizeof(u32) || offset >= region->size ||
	    region->size - offset < sizeof(u32))
		return -EINVAL;
	return 0;
}

/* Absolute CLOCK_MONOTONIC deadline: NONE, or at most KTIME_MAX. */
static int shmipc_check_deadline(u64 deadline_ns)
{
	if (deadline_ns != SHMIPC_DEADLINE_NONE && deadline_ns > KTIME_MAX)
		return -EINVAL;
	return 0;
}

int shmipc_check_wait(const struct shmipc_wait *arg)
{
	if (arg->flags)
		return -EINVAL;
	return shmipc_check_deadline(arg->deadline_ns);
}

int shmipc_word_get(struct shmipc_word *word, struct shmipc_region *region,
		    u64 offset, u32 expected, u64 peer_id)
{
	struct shmipc_peer *peer = NULL;
	struct page *page;
	int ret;

	ret = shmipc_check_offset(region, offset);
	if (ret)
		return ret;
	if (peer_id) {
		peer = shmipc_peer_find(region, peer_id);
		if (!peer)
			return -ESRCH;
	}
	page = shmem_read_mapping_page(region->shmem->f_mapping,
				       offset >> PAGE_SHIFT);
	if (IS_ERR(page)) {
		if (peer)
			shmipc_peer_put(peer);
		return PTR_ERR(page);
	}
	word->region = region;
	word->bucket = shmipc_bucket_of(region, offset);
	word->page = page;
	word->peer = peer;
	word->offset = offset;
	word->expected = expected;
	return 0;
}

/* The page is needed for the compare only: don't pin it while asleep. */
void shmipc_word_unpin(struct shmipc_word *word)
{
	if (word->page) {
		put_page(word->page);
		word->page = NULL;
	}
}

void shmipc_word_put(struct shmipc_word *word)
{
	shmipc_word_unpin(word);
	if (word->peer)
		shmipc_peer_put(word->peer);
}

static u32 shmipc_word_read(struct shmipc_word *word)
{
	u32 *addr = kmap_local_page(word->page);
	u32 val;

	val = READ_ONCE(addr[offset_in_page(word->offset) / sizeof(u32)]);
	kunmap_local(addr);
	return val;
}

/*
 * Notify the waiter of @ctx with @result unless something else already
 * did.  May be called in any context, bucket lock held or not.
 */
bool shmipc_fire(struct shmipc_wait_ctx *ctx, int result)
{
	if (atomic_cmpxchg(&ctx->fired, SHMIPC_PENDING, result) !=
	    SHMIPC_PENDING)
		return false;
	if (ctx->task)
		wake_up_process(ctx->task);
	else
		shmipc_uring_notify(ctx);
	return true;
}

/*
 * Compare and queue.  Returns 0 when queued, else the reason not to
 * sleep; -EALREADY means the ctx fired before it was queued.
 */
int shmipc_queue(struct shmipc_word *word, struct shmipc_waiter *w)
{
	struct shmipc_peer *peer = word->peer;
	int ret = 0;

	w->peer = peer;
	w->offset = word->offset;
	spin_lock(&word->bucket->lock);
	if (READ_ONCE(word->region->destroyed))
		ret = -EIDRM;
	else if (peer && READ_ONCE(peer->state) == SHMIPC_PEER_DEAD)
		ret = -EOWNERDEAD;
	else if (peer && READ_ONCE(peer->state) != SHMIPC_PEER_ATTACHED)
		ret = -ESRCH;
	else if (shmipc_word_read(word) != word->expected)
		ret = -EAGAIN;
	else if (atomic_read(&w->ctx->fired) != SHMIPC_PENDING)
		ret = -EALREADY;
	if (!ret) {
		list_add_tail(&w->node, &word->bucket->waiters);
		atomic_inc(&word->region->nr_waiters);
	}
	spin_unlock(&word->bucket->lock);
	return ret;
}

/*
 * Take @w off its bucket if a waker has not already.  Always takes the
 * lock: a waker that unlinked @w may still be notifying it, and the
 * caller frees @w next.
 */
void shmipc_unqueue(struct shmipc_word *word, struct shmipc_waiter *w)
{
	spin_lock(&word->bucket->lock);
	if (!list_empty(&w->node)) {
		list_del_init(&w->node);
		atomic_dec(&word->region->nr_waiters);
	}
	spin_unlock(&word->bucket->lock);
}

static void shmipc_unlink_waiter(struct shmipc_region *region,
				 struct shmipc_waiter *w)
{
	list_del_init(&w->node);
	atomic_dec(&region->nr_waiters);
}

/*
 * Fire the waiters of @region that an event concerns, with @result:
 * destroy (@peer NULL): all of them; @peer's death (-EOWNERDEAD): those
 * that name no peer or name @peer, and those of words @peer owned (their
 * word changed); @peer's clean leave (-ESRCH): those that name @peer.
 * Called with @peer out of the ATTACHED state, under its peer_lock.
 */
void shmipc_wake_region(struct shmipc_region *region,
			struct shmipc_peer *peer, int result)
{
	bool death = result == -EOWNERDEAD;

	struct shmipc_waiter *w, *tmp;
	unsigned int i;

	for (i = 0; i < SHMIPC_BUCKETS; i++) {
		struct shmipc_bucket *bucket = &region->buckets[i];

		spin_lock(&bucket->lock);
		list_for_each_entry_safe(w, tmp, &bucket->waiters, node) {
			if (peer && w->peer != peer &&
			    !(death && (!w->peer ||
					shmipc_peer_owns(peer, w->offset))))
				continue;
			shmipc_unlink_waiter(region, w);
			shmipc_fire(w->ctx, result);
		}
		spin_unlock(&bucket->lock);
	}
}

/*
 * Sleep until one of @words is woken, the deadline passes, a signal
 * arrives or a death concerns us.  A result fired by someone else wins
 * over a timeout or signal seen at the same time: its waker counted it.
 */
static int shmipc_wait_words(struct shmipc_word *words,
			     struct shmipc_waiter *waiters, unsigned int count,
			     u64 deadline_ns)
{
	struct shmipc_wait_ctx ctx = { .task = current };
	ktime_t deadline = (ktime_t)deadline_ns;
	unsigned int i, queued;
	int ret = 0;
	int fired;

	atomic_set(&ctx.fired, SHMIPC_PENDING);
	/* Before queueing: a wake between queueing and schedule() is kept. */
	set_current_state(TASK_INTERRUPTIBLE);
	for (queued = 0; queued < count; queued++) {
		waiters[queued].ctx = &ctx;
		waiters[queued].index = queued;
		ret = shmipc_queue(&words[queued], &waiters[queued]);
		shmipc_word_unpin(&words[queued]);
		if (ret)
			break;
	}

	while (!ret) {
		if (atomic_read(&ctx.fired) != SHMIPC_PENDING)
			break;
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (deadline_ns == SHMIPC_DEADLINE_NONE) {
			schedule();
		} else if (!schedule_hrtimeout_range_clock(&deadline, 0,
							   HRTIMER_MODE_ABS,
							   CLOCK_MONOTONIC)) {
			ret = -ETIMEDOUT;
			break;
		}
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);

	for (i = 0; i < queued; i++)
		shmipc_unqueue(&words[i], &waiters[i]);
	fired = atomic_read(&ctx.fired);
	return fired != SHMIPC_PENDING ? fired : ret;
}

long shmipc_wait(struct shmipc_file *sf, struct shmipc_wait __user *uarg)
{
	struct shmipc_waiter waiter;
	struct shmipc_word word;
	struct shmipc_wait arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ret = shmipc_check_wait(&arg);
	if (ret)
		return ret;
	if (!(sf->access & SHMIPC_ACCESS_READ))
		return -EBADF;
	ret = shmipc_word_get(&word, sf->region, arg.offset, arg.expected,
			      arg.peer_id);
	if (ret)
		return ret;
	ret = shmipc_wait_words(&word, &waiter, 1, arg.deadline_ns);
	shmipc_word_put(&word);
	return ret;
}

long shmipc_wake(struct shmipc_file *sf, struct shmipc_wake __user *uarg)
{
	struct shmipc_region *region = sf->region;
	struct shmipc_waiter *w, *tmp;
	struct shmipc_bucket *bucket;
	struct shmipc_wake arg;
	u32 woken = 0;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved || !arg.count)
		return -EINVAL;
	ret = shmipc_check_offset(region, arg.offset);
	if (ret)
		return ret;
	if (!(sf->access & SHMIPC_ACCESS_READ))
		return -EBADF;

	bucket = shmipc_bucket_of(region, arg.offset);
	spin_lock(&bucket->lock);
	list_for_each_entry_safe(w, tmp, &bucket->waiters, node) {
		if (w->offset != arg.offset)
			continue;
		shmipc_unlink_waiter(region, w);
		/* A waiter already fired (WAITV, timer) is not counted. */
		if (shmipc_fire(w->ctx, w->index) && ++woken == arg.count)
			break;
	}
	spin_unlock(&bucket->lock);
	return min_t(u32, woken, INT_MAX);
}

long shmipc_waitv(struct shmipc_waitv __user *uarg)
{
	struct shmipc_waitv_entry __user *uentries;
	struct shmipc_waitv_entry *entries;
	struct shmipc_waiter *waiters;
	struct shmipc_word *words;
	struct shmipc_waitv arg;
	struct file **files;
	unsigned int i, got = 0;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved || !arg.count ||
	    arg.count > SHMIPC_WAITV_MAX)
		return -EINVAL;
	ret = shmipc_check_deadline(arg.deadline_ns);
	if (ret)
		return ret;

	entries = kcalloc(arg.count, sizeof(*entries), GFP_KERNEL);
	words = kcalloc(arg.count, sizeof(*words), GFP_KERNEL);
	waiters = kcalloc(arg.count, sizeof(*waiters), GFP_KERNEL);
	files = kcalloc(arg.count, sizeof(*files), GFP_KERNEL);
	ret = -ENOMEM;
	if (!entries || !words || !waiters || !files)
		goto out_free;
	ret = -EFAULT;
	uentries = u64_to_user_ptr(arg.entries);
	if (copy_from_user(entries, uentries, arg.count * sizeof(*entries)))
		goto out_free;

	for (got = 0; got < arg.count; got++) {
		struct shmipc_waitv_entry *e = &entries[got];
		struct shmipc_file *sf;

		ret = -EINVAL;
		if (e->flags || e->reserved)
			goto out_put;
		ret = -EBADF;
		files[got] = fget(e->fd);
		if (!files[got])
			goto out_put;
		sf = shmipc_file_of(files[got]);
		if (!sf || !(sf->access & SHMIPC_ACCESS_READ)) {
			fput(files[got]);
			goto out_put;
		}
		ret = shmipc_word_get(&words[got], sf->region, e->offset,
				      e->expected, e->peer_id);
		if (ret) {
			fput(files[got]);
			goto out_put;
		}
	}
	ret = shmipc_wait_words(words, waiters, arg.count, arg.deadline_ns);

out_put:
	for (i = 0; i < got; i++) {
		shmipc_word_put(&words[i]);
		fput(files[i]);
	}
out_free:
	kfree(files);
	kfree(waiters);
	kfree(words);
	kfree(entries);
	return ret;
}
