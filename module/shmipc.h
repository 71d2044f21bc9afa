/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shmipc internal definitions: regions, region files and waiters.
 *
 * Locking order: shmipc_lock (mutex) -> shmipc_bucket.lock (spinlock).
 * No path takes two bucket locks at once.
 */
#ifndef SHMIPC_INTERNAL_H
#define SHMIPC_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/shmipc.h>

#define SHMIPC_BUCKET_BITS	4
#define SHMIPC_BUCKETS		BIT(SHMIPC_BUCKET_BITS)

/*
 * Protects the name table, the list of all regions, per-user accounting
 * and the region fields marked "shmipc_lock" below.
 */
extern struct mutex shmipc_lock;

/* List of all live regions, for introspection; shmipc_lock. */
extern struct list_head shmipc_regions;

/* Quotas (module parameters), read with READ_ONCE(). */
extern unsigned long long shmipc_max_region_size;
extern unsigned int shmipc_max_user_regions;
extern unsigned long long shmipc_max_total_bytes;

/*
 * Regions counted against one creator uid.  Lives in shmipc_users while
 * nr_regions > 0; every field is protected by shmipc_lock.
 */
struct shmipc_user {
	struct list_head node;
	kuid_t uid;
	unsigned int nr_regions;
};

/* Waiters hashed by word offset; @lock protects @waiters. */
struct shmipc_bucket {
	spinlock_t lock;		/* protects @waiters */
	struct list_head waiters;	/* of struct shmipc_waiter */
};

/*
 * A named region.
 *
 * Lifetime: @ref counts region files (struct shmipc_file) plus one held
 * by the name table while a *persistent* region is named.  The last put
 * (kref_put_mutex() under shmipc_lock) unhashes it, so a lookup under
 * shmipc_lock never finds a region whose count is zero.
 * Mappings made by mmap() hold the shmem file itself, not the region: the
 * memory outlives the region (as memfd memory outlives its fd).
 *
 * Fields without a note are set at creation and never change.
 */
struct shmipc_region {
	struct kref ref;
	u64 id;
	char name[SHMIPC_NAME_MAX];
	struct user_namespace *user_ns;	/* names live here; reference held */
	struct file *shmem;		/* backing memory; reference held */
	u64 size;
	kuid_t uid, cuid;
	kgid_t gid, cgid;
	umode_t mode;
	bool persistent;

	bool named;			/* in the name table; shmipc_lock */
	struct hlist_node hnode;	/* name table; shmipc_lock */
	struct list_head node;		/* shmipc_regions; shmipc_lock */
	struct shmipc_user *user;	/* creator's accounting; shmipc_lock */

	atomic_t nr_files;		/* open region files */
	atomic_t nr_waiters;		/* queued waiters, all buckets */
	struct shmipc_bucket buckets[SHMIPC_BUCKETS];
};

/* What a region file may do; fixed at open. */
#define SHMIPC_ACCESS_READ	0x1	/* map, WAIT, WAKE, WAITV */
#define SHMIPC_ACCESS_WRITE	0x2	/* map writable */

/* private_data of a region file; lives as long as the file. */
struct shmipc_file {
	struct shmipc_region *region;	/* reference held */
	unsigned int access;		/* SHMIPC_ACCESS_* */
};

/* One sleeping task of WAIT or WAITV; lives on the waiter's stack. */
struct shmipc_wait_ctx {
	struct task_struct *task;
	atomic_t fired;			/* -1, then index of the woken entry */
};

/*
 * One word a task sleeps on.  @node is on the bucket's list, under its
 * lock; a waker unlinks it (list_del_init) and wakes the task while still
 * holding the lock, and the waiter always takes the lock again before its
 * stack frame goes, so a waker never touches a dead waiter.
 */
struct shmipc_waiter {
	struct list_head node;
	struct shmipc_wait_ctx *ctx;
	u64 offset;
	int index;
};

/* region.c */
long shmipc_create(struct shmipc_create __user *uarg);
long shmipc_open(struct shmipc_open __user *uarg);
long shmipc_unlink(struct shmipc_unlink __user *uarg);
void shmipc_region_put(struct shmipc_region *region);
void shmipc_regions_destroy_all(void);

/* A region file made but not yet visible in the fd table. */
struct shmipc_new_fd {
	struct file *file;
	int fd;
};

/* region_file.c */
extern const struct file_operations shmipc_region_fops;
int shmipc_fd_prepare(struct shmipc_region *region, unsigned int access,
		      struct shmipc_new_fd *nfd);
void shmipc_fd_commit(struct shmipc_new_fd *nfd);
void shmipc_fd_abort(struct shmipc_new_fd *nfd);
struct shmipc_file *shmipc_file_of(struct file *file);

/* wait.c */
void shmipc_buckets_init(struct shmipc_region *region);
long shmipc_wait(struct shmipc_file *sf, struct shmipc_wait __user *uarg);
long shmipc_wake(struct shmipc_file *sf, struct shmipc_wake __user *uarg);
long shmipc_waitv(struct shmipc_waitv __user *uarg);

/* debugfs.c */
void shmipc_debugfs_init(void);
void shmipc_debugfs_exit(void);

#endif /* SHMIPC_INTERNAL_H */
