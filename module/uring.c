// SPDX-License-Identifier: GPL-2.0
/*
 * Parked waits through io_uring: IORING_OP_URING_CMD with cmd_op
 * SHMIPC_URING_WAIT.
 *
 * Linux 6.1 has no cancel hook for uring_cmd and a parked command pins
 * the region file, so every parked wait ends by itself: on wake, death or
 * destroy (it is queued like any waiter), on its deadline (an hrtimer),
 * or when its submitter closes the region fd or exits (->flush).  Some
 * exits never reach ->flush first: execve() and an SQPOLL thread cancel
 * io_uring before closing files, and a fixed file has no fd to close.
 * So no parked wait lasts longer than max_uring_wait_ms: then it returns
 * -EINTR and the caller resubmits it.  All of these only fire the wait's
 * ctx; the completion itself always runs in task context through
 * io_uring_cmd_complete_in_task().
 */
#include <linux/hrtimer.h>
#include <linux/io_uring.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "shmipc.h"

/*
 * One parked wait.  @refs: one for the issue path, one for the
 * completion; the last put cancels the timer and frees.
 */
struct shmipc_uring_waiter {
	refcount_t refs;
	struct shmipc_wait_ctx ctx;
	struct shmipc_waiter waiter;
	struct shmipc_word word;
	struct hrtimer timer;
	bool timed;
	bool capped;			/* the timer is the cap, not the deadline */
	struct list_head parked;	/* region->parked; uring_lock */
	struct file *file;		/* the region file it waits through */
	fl_owner_t owner;		/* submitter's file table */
	struct io_uring_cmd *cmd;
};

void shmipc_uring_init(struct shmipc_region *region)
{
	spin_lock_init(&region->uring_lock);
	INIT_LIST_HEAD(&region->parked);
}

static struct shmipc_uring_waiter **shmipc_pdu(struct io_uring_cmd *cmd)
{
	BUILD_BUG_ON(sizeof(struct shmipc_uring_waiter *) > sizeof(cmd->pdu));
	return (struct shmipc_uring_waiter **)cmd->pdu;
}

static void shmipc_uring_put(struct shmipc_uring_waiter *uw)
{
	if (!refcount_dec_and_test(&uw->refs))
		return;
	if (uw->timed)
		hrtimer_cancel(&uw->timer);
	shmipc_word_put(&uw->word);
	kfree(uw);
}

static void shmipc_uring_complete(struct io_uring_cmd *cmd,
				  unsigned int issue_flags)
{
	struct shmipc_uring_waiter *uw = *shmipc_pdu(cmd);
	struct shmipc_region *region = uw->word.region;

	shmipc_unqueue(&uw->word, &uw->waiter);
	spin_lock(&region->uring_lock);
	list_del_init(&uw->parked);
	spin_unlock(&region->uring_lock);
	/* Last touch of the region: done may release its file. */
	/* The 4-argument form: 6.1.23 and later, every Debian 12 kernel. */
	io_uring_cmd_done(cmd, atomic_read(&uw->ctx.fired), 0, issue_flags);
	shmipc_uring_put(uw);
}

/* shmipc_fire() of a parked wait: any context, locks may be held. */
void shmipc_uring_notify(struct shmipc_wait_ctx *ctx)
{
	struct shmipc_uring_waiter *uw =
		container_of(ctx, struct shmipc_uring_waiter, ctx);

	io_uring_cmd_complete_in_task(uw->cmd, shmipc_uring_complete);
}

static enum hrtimer_restart shmipc_uring_timeout(struct hrtimer *timer)
{
	struct shmipc_uring_waiter *uw =
		container_of(timer, struct shmipc_uring_waiter, timer);

	shmipc_fire(&uw->ctx, uw->capped ? -EINTR : -ETIMEDOUT);
	return HRTIMER_NORESTART;
}

int shmipc_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	const struct shmipc_uring_wait *sqe = cmd->cmd;
	struct shmipc_file *sf = cmd->file->private_data;
	struct shmipc_region *region = sf->region;
	struct shmipc_uring_waiter *uw;
	struct shmipc_wait arg;
	ktime_t cap;
	int ret;

	if (cmd->cmd_op != SHMIPC_URING_WAIT)
		return -ENOTTY;
	/* The SQE is shared with userspace: read each field once. */
	if (READ_ONCE(sqe->reserved))
		return -EINVAL;
	if (copy_from_user(&arg, u64_to_user_ptr(READ_ONCE(sqe->wait)),
			   sizeof(arg)))
		return -EFAULT;
	ret = shmipc_check_wait(&arg);
	if (ret)
		return ret;
	if (!(sf->access & SHMIPC_ACCESS_READ))
		return -EBADF;

	uw = kzalloc(sizeof(*uw), GFP_KERNEL_ACCOUNT);
	if (!uw)
		return -ENOMEM;
	ret = shmipc_word_get(&uw->word, region, arg.offset, arg.expected,
			      arg.peer_id);
	if (ret) {
		kfree(uw);
		return ret;
	}
	refcount_set(&uw->refs, 2);
	atomic_set(&uw->ctx.fired, SHMIPC_PENDING);
	uw->waiter.ctx = &uw->ctx;
	INIT_LIST_HEAD(&uw->waiter.node);
	uw->file = cmd->file;
	uw->owner = current->files;
	uw->cmd = cmd;
	*shmipc_pdu(cmd) = uw;
	hrtimer_init(&uw->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	uw->timer.function = shmipc_uring_timeout;

	/* Parked before queued, so that ->flush can always find it. */
	spin_lock(&region->uring_lock);
	list_add_tail(&uw->parked, &region->parked);
	spin_unlock(&region->uring_lock);

	cap = ktime_add_ms(ktime_get(),
			   max(1U, READ_ONCE(shmipc_max_uring_wait_ms)));
	if (arg.deadline_ns == SHMIPC_DEADLINE_NONE ||
	    ktime_after(ns_to_ktime(arg.deadline_ns), cap))
		uw->capped = true;
	ret = shmipc_queue(&uw->word, &uw->waiter);
	shmipc_word_unpin(&uw->word);
	if (!ret) {
		uw->timed = true;
		hrtimer_start(&uw->timer, uw->capped ? cap :
			      ns_to_ktime(arg.deadline_ns), HRTIMER_MODE_ABS);
	} else if (ret != -EALREADY) {
		/* Not queued: complete through the same path as the rest. */
		shmipc_fire(&uw->ctx, ret);
	}
	shmipc_uring_put(uw);
	return -EIOCBQUEUED;
}

/* Fire the parked waits that @owner made through @file. */
void shmipc_uring_cancel(struct shmipc_region *region, struct file *file,
			 fl_owner_t owner, int result)
{
	struct shmipc_uring_waiter *uw;

	spin_lock(&region->uring_lock);
	list_for_each_entry(uw, &region->parked, parked)
		if (uw->file == file && uw->owner == owner)
			shmipc_fire(&uw->ctx, result);
	spin_unlock(&region->uring_lock);
}
