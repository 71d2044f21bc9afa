/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shmipc internal definitions: regions, region files and waiters.
 *
 * Locking order, outermost first:
 *   shmipc_lock (mutex)
 *   shmipc_region.peer_lock (mutex)
 *   shmipc_region.uring_lock (spinlock)
 *   shmipc_region.event_lock (spinlock)
 *   shmipc_bucket.lock (spinlock)
 * No path takes two locks of the same kind at once.
 *
 * Introspection (introspect.c) walks shmipc_regions under shmipc_lock
 * (taking each region's peer_lock inside it, as the order allows) and a
 * region's peers under its peer_lock, one batch at a time into a kernel
 * buffer; it copies to user space with no lock held.  Both lists are in
 * id order: a region's id is taken under shmipc_lock and a peer's under
 * peer_lock, each right before its list_add_tail().
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
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/shmipc.h>

#define SHMIPC_BUCKET_BITS	4
#define SHMIPC_BUCKETS		BIT(SHMIPC_BUCKET_BITS)

/*
 * Protects the name table, the list of all regions, per-user accounting
 * and the region fields marked "shmipc_lock" below.
 */
extern struct mutex shmipc_lock;

/* List of all live regions, in id order, for introspection; shmipc_lock. */
extern struct list_head shmipc_regions;

/* Quotas (module parameters), read with READ_ONCE(). */
extern unsigned long long shmipc_max_region_size;
extern unsigned int shmipc_max_user_regions;
extern unsigned long long shmipc_max_total_bytes;
extern unsigned int shmipc_max_region_peers;
extern unsigned int shmipc_max_uring_wait_ms;

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
 * by the name table while a *persistent* or *tied* region is named.  The
 * last put (kref_put_mutex() under shmipc_lock) unhashes it, so a lookup
 * under shmipc_lock never finds a region whose count is zero.
 * A tied region's name (SHMIPC_CREATE_TIED) is held for its parent: the
 * parent's release (and UNLINK_DESTROY) unnames its children and drops
 * their names' references after shmipc_lock is released.  A child holds
 * no reference on its parent: the parent unnames it before it goes.  A
 * region created tied (@tied, which never changes) is never a parent, so
 * a release recurses at most once.
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
	bool tied;			/* created with SHMIPC_CREATE_TIED */

	bool named;			/* in the name table; shmipc_lock */
	/*
	 * Tied names, under shmipc_lock: @tied_to is the parent while we are
	 * named, and @tie_node then sits on its @children.  Once unnamed,
	 * @tie_node belongs to whoever unnamed us (a private list of
	 * children to put after shmipc_lock is released).
	 */
	struct shmipc_region *tied_to;
	struct list_head children;	/* our named tied regions */
	struct list_head tie_node;
	struct hlist_node hnode;	/* name table; shmipc_lock */
	struct list_head node;		/* shmipc_regions; shmipc_lock */
	struct shmipc_user *user;	/* creator's accounting; shmipc_lock */

	atomic_t nr_files;		/* open region files */
	atomic_t nr_waiters;		/* queued waiters, all buckets */
	struct shmipc_bucket buckets[SHMIPC_BUCKETS];

	/* Set once by UNLINK_DESTROY under shmipc_lock; read locklessly. */
	bool destroyed;

	struct mutex peer_lock;		/* protects the three fields below */
	struct list_head peers;		/* attached and marked dead, id order */
	unsigned int nr_peers;		/* attached */
	unsigned int nr_dead;		/* dead, still marked */

	spinlock_t event_lock;		/* protects @files, @event_seq, queues */
	struct list_head files;		/* struct shmipc_file.node */
	u64 event_seq;
	wait_queue_head_t event_wq;	/* readers and pollers of events */

	spinlock_t uring_lock;		/* protects @parked */
	struct list_head parked;	/* struct shmipc_uring_waiter.parked */
};

enum shmipc_peer_state {
	SHMIPC_PEER_ATTACHED,
	SHMIPC_PEER_DEAD,
	SHMIPC_PEER_LEFT,
};

/*
 * A process attached to a region.
 *
 * Lifetime: @ref is held by the region's peer list while the peer is on
 * it and by every waiter that names the peer; it does not pin the region
 * (waiters hold a region file, and region release empties the list, then
 * flushes the death workqueue).  While ATTACHED, @exit_wait sits on the
 * pidfd wait queue of @pid: the kernel wakes it when the whole thread
 * group has exited, and it takes itself off and queues @death_work,
 * exactly once; shmipc_peer_find() waits for a queued @death_work (with
 * its own reference, no lock held), so a death that wait(2) reported is
 * never missed.  @state changes only under region->peer_lock and is read
 * with READ_ONCE() under bucket locks by waiters.
 */
struct shmipc_peer {
	struct kref ref;
	struct shmipc_region *region;
	u64 id;
	struct pid *pid;		/* thread group; reference held */
	struct wait_queue_entry exit_wait;
	struct work_struct death_work;
	int state;			/* enum shmipc_peer_state */
	u32 status;			/* wait(2) status, set before death_work */
	u64 death_seq;			/* event seq of its DEATH */
	struct list_head node;		/* region->peers; peer_lock */
	unsigned int nr_owned;		/* peer_lock */
	u64 owned[SHMIPC_OWNED_MAX];	/* word offsets; peer_lock */
};

/* What a region file may do; fixed at open. */
#define SHMIPC_ACCESS_READ	0x1	/* map, WAIT, WAKE, WAITV */
#define SHMIPC_ACCESS_WRITE	0x2	/* map writable */

/*
 * private_data of a region file; lives as long as the file.  The event
 * queue (ev_*) is protected by region->event_lock; ev_head and ev_tail
 * run freely and are taken modulo SHMIPC_EVENT_QUEUE_LEN.
 */
struct shmipc_file {
	struct shmipc_region *region;	/* reference held */
	unsigned int access;		/* SHMIPC_ACCESS_* */
	struct pid *opener;		/* its pid namespace reads pids */
	struct list_head node;		/* region->files */
	unsigned int ev_head, ev_tail;
	u32 ev_lost;
	struct shmipc_event *ev;	/* SHMIPC_EVENT_QUEUE_LEN records */
};

/* ctx->fired before anything fired it. */
#define SHMIPC_PENDING		INT_MIN

/*
 * One blocked WAIT/WAITV (on the waiter's stack, @task set) or one parked
 * io_uring wait (in a struct shmipc_uring_waiter, @task NULL).  @fired
 * goes once from SHMIPC_PENDING to the result: the index of the woken
 * word, or -EOWNERDEAD, -ESRCH, -EIDRM, -ETIMEDOUT, -ECANCELED.  Whoever
 * wins that cmpxchg notifies (shmipc_fire()).
 */
struct shmipc_wait_ctx {
	struct task_struct *task;
	atomic_t fired;
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
	struct shmipc_peer *peer;	/* the one death that counts, or NULL */
	u64 offset;
	int index;
};

/* One word of a WAIT, WAITV or io_uring wait, resolved. */
struct shmipc_word {
	struct shmipc_region *region;
	struct shmipc_bucket *bucket;
	struct page *page;		/* held until compared, then NULL */
	struct shmipc_peer *peer;	/* reference held, or NULL */
	u64 offset;
	u32 expected;
};

/* region.c */
long shmipc_create(struct shmipc_create __user *uarg);
long shmipc_open(struct shmipc_open __user *uarg);
long shmipc_unlink(struct shmipc_unlink __user *uarg);
int shmipc_permit(struct shmipc_region *region, unsigned int access,
		  bool audit);
void shmipc_region_put(struct shmipc_region *region);
void shmipc_regions_destroy_all(void);

/* A region file made but not yet visible in the fd table. */
struct io_uring_cmd;
struct poll_table_struct;

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
int shmipc_check_offset(struct shmipc_region *region, u64 offset);
int shmipc_check_wait(const struct shmipc_wait *arg);
int shmipc_word_get(struct shmipc_word *word, struct shmipc_region *region,
		    u64 offset, u32 expected, u64 peer_id);
void shmipc_word_unpin(struct shmipc_word *word);
void shmipc_word_put(struct shmipc_word *word);
int shmipc_queue(struct shmipc_word *word, struct shmipc_waiter *w);
void shmipc_unqueue(struct shmipc_word *word, struct shmipc_waiter *w);
bool shmipc_fire(struct shmipc_wait_ctx *ctx, int result);
void shmipc_wake_region(struct shmipc_region *region,
			struct shmipc_peer *peer, int result);
long shmipc_wait(struct shmipc_file *sf, struct shmipc_wait __user *uarg);
long shmipc_wake(struct shmipc_file *sf, struct shmipc_wake __user *uarg);
long shmipc_waitv(struct shmipc_waitv __user *uarg);

/* peer.c */
int shmipc_peers_setup(void);
void shmipc_peers_cleanup(void);
void shmipc_peers_init(struct shmipc_region *region);
void shmipc_peers_release(struct shmipc_region *region);
struct shmipc_peer *shmipc_peer_find(struct shmipc_region *region, u64 id);
void shmipc_peer_put(struct shmipc_peer *peer);
bool shmipc_peer_owns(struct shmipc_peer *peer, u64 offset);
long shmipc_attach(struct shmipc_file *sf, struct shmipc_attach __user *uarg);
long shmipc_detach(struct shmipc_file *sf, unsigned long arg);
long shmipc_own(struct shmipc_file *sf, struct shmipc_own __user *uarg);
long shmipc_reclaim(struct shmipc_file *sf,
		    struct shmipc_reclaim __user *uarg);

/* event.c */
void shmipc_events_init(struct shmipc_region *region);
void shmipc_event_post(struct shmipc_region *region, u32 type,
		       struct shmipc_peer *peer, u32 status);
void shmipc_events_open(struct shmipc_file *sf);
void shmipc_events_close(struct shmipc_file *sf);
ssize_t shmipc_events_read(struct file *file, char __user *buf,
			   size_t count, loff_t *ppos);
__poll_t shmipc_events_poll(struct file *file, struct poll_table_struct *pt);

/* uring.c */
void shmipc_uring_init(struct shmipc_region *region);
int shmipc_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags);
void shmipc_uring_notify(struct shmipc_wait_ctx *ctx);
void shmipc_uring_cancel(struct shmipc_region *region, struct file *file,
			 fl_owner_t owner, int result);

/* region.c: tear down (UNLINK_DESTROY) */
void shmipc_region_destroy(struct shmipc_region *region);

/* introspect.c */
long shmipc_list(struct shmipc_list __user *uarg);
long shmipc_peers(struct shmipc_file *sf, struct shmipc_list __user *uarg);

/* debugfs.c */
void shmipc_debugfs_init(void);
void shmipc_debugfs_exit(void);

#endif /* SHMIPC_INTERNAL_H */
