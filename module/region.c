// SPDX-License-Identifier: GPL-2.0
/*
 * Named regions: the name table, permissions, quotas and lifetime.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "shmipc.h"

/* The global lock: what it protects is listed in shmipc.h. */
DEFINE_MUTEX(shmipc_lock);
LIST_HEAD(shmipc_regions);

/* Name table, keyed by (user namespace, name); shmipc_lock. */
static DEFINE_HASHTABLE(shmipc_names, 8);
/* struct shmipc_user entries; shmipc_lock. */
static LIST_HEAD(shmipc_users);
/* Page-rounded bytes of all live regions; shmipc_lock. */
static u64 shmipc_total_bytes;
/* Last region id handed out; shmipc_lock. */
static u64 shmipc_last_id;

static u32 shmipc_name_hash(struct user_namespace *ns, const char *name)
{
	return full_name_hash(ns, name, strlen(name));
}

/*
 * A name is 1..SHMIPC_NAME_MAX-1 bytes of [A-Za-z0-9._-], not "." or
 * "..", NUL-terminated, with only zero bytes after the NUL.
 */
static int shmipc_check_name(const char name[SHMIPC_NAME_MAX])
{
	size_t len = strnlen(name, SHMIPC_NAME_MAX);
	size_t i;

	if (len == SHMIPC_NAME_MAX)
		return -ENAMETOOLONG;
	if (!len || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!(isascii(c) && isalnum(c)) && c != '.' && c != '_' &&
		    c != '-')
			return -EINVAL;
	}
	for (; i < SHMIPC_NAME_MAX; i++)
		if (name[i])
			return -EINVAL;
	return 0;
}

static struct shmipc_region *shmipc_lookup(struct user_namespace *ns,
					   const char *name)
{
	struct shmipc_region *region;

	lockdep_assert_held(&shmipc_lock);
	hash_for_each_possible(shmipc_names, region, hnode,
			       shmipc_name_hash(ns, name))
		if (region->user_ns == ns && !strcmp(region->name, name))
			return region;
	return NULL;
}

/*
 * SysV ipcperms(): owner, then group, then other bits; CAP_IPC_OWNER wins.
 * @audit false for a mere probe (LIST filtering a region out is no denied
 * access): then a missing capability leaves no audit record.
 */
int shmipc_permit(struct shmipc_region *region, unsigned int access,
		  bool audit)
{
	kuid_t euid = current_euid();
	unsigned int granted = region->mode;
	unsigned int want = 0;

	if (access & SHMIPC_ACCESS_READ)
		want |= 4;
	if (access & SHMIPC_ACCESS_WRITE)
		want |= 2;
	if (uid_eq(euid, region->cuid) || uid_eq(euid, region->uid))
		granted >>= 6;
	else if (in_group_p(region->cgid) || in_group_p(region->gid))
		granted >>= 3;
	if (!(want & ~granted & 7))
		return 0;
	if (audit ? ns_capable(region->user_ns, CAP_IPC_OWNER) :
		    ns_capable_noaudit(region->user_ns, CAP_IPC_OWNER))
		return 0;
	return -EACCES;
}

static struct shmipc_user *shmipc_user_get(kuid_t uid)
{
	struct shmipc_user *user;

	lockdep_assert_held(&shmipc_lock);
	list_for_each_entry(user, &shmipc_users, node)
		if (uid_eq(user->uid, uid))
			return user;
	user = kzalloc(sizeof(*user), GFP_KERNEL);
	if (!user)
		return NULL;
	user->uid = uid;
	list_add(&user->node, &shmipc_users);
	return user;
}

static void shmipc_user_put(struct shmipc_user *user)
{
	lockdep_assert_held(&shmipc_lock);
	if (!user->nr_regions) {
		list_del(&user->node);
		kfree(user);
	}
}

/*
 * Make a named region with one reference (plus the name's if persistent
 * or tied to @parent).
 */
static struct shmipc_region *shmipc_region_new(const struct shmipc_create *arg,
					       struct shmipc_region *parent)
{
	u64 bytes = PAGE_ALIGN(arg->size);
	struct shmipc_region *region;
	u64 total;
	struct shmipc_user *user;
	char shmem_name[sizeof("shmipc:") + SHMIPC_NAME_MAX];
	int ret;

	lockdep_assert_held(&shmipc_lock);
	user = shmipc_user_get(current_euid());
	if (!user)
		return ERR_PTR(-ENOMEM);
	ret = -EDQUOT;
	if (user->nr_regions >= READ_ONCE(shmipc_max_user_regions))
		goto err_user;
	ret = -ENOSPC;
	if (check_add_overflow(shmipc_total_bytes, bytes, &total) ||
	    total > READ_ONCE(shmipc_max_total_bytes))
		goto err_user;

	ret = -ENOMEM;
	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		goto err_user;
	snprintf(shmem_name, sizeof(shmem_name), "shmipc:%s", arg->name);
	region->shmem = shmem_file_setup(shmem_name, arg->size, VM_NORESERVE);
	if (IS_ERR(region->shmem)) {
		ret = PTR_ERR(region->shmem);
		goto err_free;
	}

	kref_init(&region->ref);
	region->id = ++shmipc_last_id;
	strscpy(region->name, arg->name, sizeof(region->name));
	region->user_ns = get_user_ns(current_user_ns());
	region->size = arg->size;
	region->uid = current_euid();
	region->cuid = region->uid;
	region->gid = current_egid();
	region->cgid = region->gid;
	region->mode = arg->mode;
	region->persistent = arg->flags & SHMIPC_CREATE_PERSISTENT;
	region->tied = !!parent;
	INIT_LIST_HEAD(&region->children);
	INIT_LIST_HEAD(&region->tie_node);
	atomic_set(&region->nr_files, 0);
	atomic_set(&region->nr_waiters, 0);
	shmipc_buckets_init(region);
	shmipc_peers_init(region);
	shmipc_events_init(region);
	shmipc_uring_init(region);

	region->user = user;
	user->nr_regions++;
	shmipc_total_bytes = total;
	region->named = true;
	hash_add(shmipc_names, &region->hnode,
		 shmipc_name_hash(region->user_ns, region->name));
	list_add_tail(&region->node, &shmipc_regions);
	if (parent) {
		region->tied_to = parent;
		list_add_tail(&region->tie_node, &parent->children);
	}
	if (region->persistent || parent)
		kref_get(&region->ref);	/* the name's reference */
	return region;

err_free:
	kfree(region);
err_user:
	shmipc_user_put(user);
	return ERR_PTR(ret);
}

/*
 * Remove the name of @region.  Returns true when the caller must drop the
 * reference the name held (persistent and tied regions), after
 * shmipc_lock is released.
 */
static bool shmipc_unname(struct shmipc_region *region)
{
	lockdep_assert_held(&shmipc_lock);
	if (!region->named)
		return false;
	hash_del(&region->hnode);
	region->named = false;
	if (region->tied_to) {
		list_del_init(&region->tie_node);
		region->tied_to = NULL;
		return true;
	}
	return region->persistent;
}

/* Unname every child tied to @region, moving them to @untied. */
static void shmipc_untie_children(struct shmipc_region *region,
				  struct list_head *untied)
{
	struct shmipc_region *child, *tmp;

	lockdep_assert_held(&shmipc_lock);
	list_for_each_entry_safe(child, tmp, &region->children, tie_node) {
		shmipc_unname(child);
		list_add(&child->tie_node, untied);
	}
}

/*
 * Drop the names' references of the children shmipc_untie_children()
 * collected, without shmipc_lock.  Children are never parents: their
 * release does not come back here.
 */
static void shmipc_put_untied(struct list_head *untied)
{
	struct shmipc_region *child, *tmp;

	list_for_each_entry_safe(child, tmp, untied, tie_node) {
		list_del_init(&child->tie_node);
		shmipc_region_put(child);
	}
}

/* kref release: called with shmipc_lock held, returns with it released. */
static void shmipc_region_release(struct kref *ref)
{
	struct shmipc_region *region =
		container_of(ref, struct shmipc_region, ref);
	LIST_HEAD(untied);

	shmipc_unname(region);
	shmipc_untie_children(region, &untied);	/* they go with us */
	list_del(&region->node);
	region->user->nr_regions--;
	shmipc_user_put(region->user);
	shmipc_total_bytes -= PAGE_ALIGN(region->size);
	mutex_unlock(&shmipc_lock);

	shmipc_put_untied(&untied);
	shmipc_peers_release(region);
	fput(region->shmem);
	put_user_ns(region->user_ns);
	kfree(region);
}

void shmipc_region_put(struct shmipc_region *region)
{
	kref_put_mutex(&region->ref, shmipc_region_release, &shmipc_lock);
}

/*
 * The parent of a SHMIPC_CREATE_TIED region: the region of the writable
 * region fd @fd.  On success @f holds the fd (fdput() it).
 */
static int shmipc_tie_parent(int fd, struct fd *f,
			     struct shmipc_region **parent)
{
	struct shmipc_file *sf;

	*f = fdget(fd);
	if (!f->file)
		return -EBADF;
	sf = shmipc_file_of(f->file);
	if (!sf || !(sf->access & SHMIPC_ACCESS_WRITE)) {
		fdput(*f);
		return -EBADF;
	}
	*parent = sf->region;
	return 0;
}

long shmipc_create(struct shmipc_create __user *uarg)
{
	struct shmipc_region *region, *parent = NULL;
	struct shmipc_create arg;
	struct shmipc_new_fd nfd;
	struct fd tie = { NULL };
	bool created = false;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~(SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT |
			  SHMIPC_CREATE_TIED) ||
	    (arg.flags & SHMIPC_CREATE_PERSISTENT &&
	     arg.flags & SHMIPC_CREATE_TIED) ||
	    (!(arg.flags & SHMIPC_CREATE_TIED) && arg.tie_fd) ||
	    arg.pad || arg.reserved || arg.mode & ~0777U || !arg.size)
		return -EINVAL;
	ret = shmipc_check_name(arg.name);
	if (ret)
		return ret;
	if (arg.size > READ_ONCE(shmipc_max_region_size) ||
	    arg.size > MAX_LFS_FILESIZE)
		return -EFBIG;
	if (arg.flags & SHMIPC_CREATE_TIED) {
		if (arg.tie_fd < 0)
			return -EBADF;
		ret = shmipc_tie_parent(arg.tie_fd, &tie, &parent);
		if (ret)
			return ret;
	}

	mutex_lock(&shmipc_lock);
	region = shmipc_lookup(current_user_ns(), arg.name);
	if (region) {
		if (arg.flags & SHMIPC_CREATE_EXCL)
			ret = -EEXIST;
		else if (arg.size > region->size)
			ret = -EINVAL;
		else
			ret = shmipc_permit(region, SHMIPC_ACCESS_READ |
					    SHMIPC_ACCESS_WRITE, true);
		if (!ret)
			kref_get(&region->ref);
	} else if (parent && READ_ONCE(parent->destroyed)) {
		ret = -EIDRM;
	} else if (parent && parent->tied) {
		ret = -EINVAL;	/* no chains: see struct shmipc_region */
	} else {
		region = shmipc_region_new(&arg, parent);
		if (IS_ERR(region))
			ret = PTR_ERR(region);
		else
			created = true;
	}
	mutex_unlock(&shmipc_lock);
	/* The parent's fd is not needed past the lock. */
	if (parent)
		fdput(tie);
	if (ret)
		return ret;

	/* The file takes over our reference. */
	ret = shmipc_fd_prepare(region, SHMIPC_ACCESS_READ |
				SHMIPC_ACCESS_WRITE, &nfd);
	if (ret)
		goto err_put;
	arg.fd = nfd.fd;
	arg.result = created ? SHMIPC_RESULT_CREATED : 0;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto err_abort;
	}
	shmipc_fd_commit(&nfd);
	return 0;

err_abort:
	/* Keep a reference so that undoing the name below stays safe. */
	kref_get(&region->ref);
	shmipc_fd_abort(&nfd);
err_put:
	if (created) {
		bool drop;

		mutex_lock(&shmipc_lock);
		drop = shmipc_unname(region);
		mutex_unlock(&shmipc_lock);
		if (drop)
			shmipc_region_put(region);
	}
	shmipc_region_put(region);
	return ret;
}

long shmipc_open(struct shmipc_open __user *uarg)
{
	struct shmipc_region *region;
	struct shmipc_new_fd nfd;
	struct shmipc_open arg;
	unsigned int access;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~(SHMIPC_OPEN_RDONLY | SHMIPC_OPEN_STAT) ||
	    (arg.flags & SHMIPC_OPEN_RDONLY && arg.flags & SHMIPC_OPEN_STAT) ||
	    arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	ret = shmipc_check_name(arg.name);
	if (ret)
		return ret;

	if (arg.flags & SHMIPC_OPEN_STAT)
		access = 0;
	else if (arg.flags & SHMIPC_OPEN_RDONLY)
		access = SHMIPC_ACCESS_READ;
	else
		access = SHMIPC_ACCESS_READ | SHMIPC_ACCESS_WRITE;

	mutex_lock(&shmipc_lock);
	region = shmipc_lookup(current_user_ns(), arg.name);
	if (!region)
		ret = -ENOENT;
	else	/* STAT, as IPC_STAT, needs read: an fd pins the region. */
		ret = shmipc_permit(region, access ?: SHMIPC_ACCESS_READ,
				    true);
	if (!ret)
		kref_get(&region->ref);
	mutex_unlock(&shmipc_lock);
	if (ret)
		return ret;

	ret = shmipc_fd_prepare(region, access, &nfd);
	if (ret) {
		shmipc_region_put(region);
		return ret;
	}
	arg.fd = nfd.fd;
	arg.size = region->size;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		shmipc_fd_abort(&nfd);
		return -EFAULT;
	}
	shmipc_fd_commit(&nfd);
	return 0;
}

long shmipc_unlink(struct shmipc_unlink __user *uarg)
{
	struct shmipc_region *region;
	struct shmipc_unlink arg;
	LIST_HEAD(untied);
	bool drop = false;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~(u64)SHMIPC_UNLINK_DESTROY || arg.reserved)
		return -EINVAL;
	ret = shmipc_check_name(arg.name);
	if (ret)
		return ret;

	mutex_lock(&shmipc_lock);
	region = shmipc_lookup(current_user_ns(), arg.name);
	if (!region) {
		ret = -ENOENT;
	} else if (!uid_eq(current_euid(), region->uid) &&
		   !uid_eq(current_euid(), region->cuid) &&
		   !ns_capable(region->user_ns, CAP_IPC_OWNER)) {
		ret = -EPERM;
	} else {
		/* Keep it alive past the name for the teardown below. */
		kref_get(&region->ref);
		drop = shmipc_unname(region);
		if (arg.flags & SHMIPC_UNLINK_DESTROY) {
			WRITE_ONCE(region->destroyed, true);
			/* A destroyed parent's children lose their names. */
			shmipc_untie_children(region, &untied);
		}
	}
	mutex_unlock(&shmipc_lock);
	if (ret)
		return ret;
	shmipc_put_untied(&untied);
	if (arg.flags & SHMIPC_UNLINK_DESTROY)
		shmipc_region_destroy(region);
	if (drop)
		shmipc_region_put(region);
	shmipc_region_put(region);
	return 0;
}

/*
 * Tear down a region marked destroyed: every waiter, parked io_uring wait
 * included, returns -EIDRM, and every fd polls EPOLLHUP.  New waits see
 * the mark under their bucket lock, so none can slip in afterwards.
 */
void shmipc_region_destroy(struct shmipc_region *region)
{
	shmipc_wake_region(region, NULL, -EIDRM);
	wake_up_interruptible_poll(&region->event_wq, EPOLLHUP);
}

/*
 * Module exit: no file is open (each holds a module reference), so only
 * persistent and tied names still hold regions.  Drop them.
 */
void shmipc_regions_destroy_all(void)
{
	struct shmipc_region *region;
	struct hlist_node *tmp;
	int bkt;

	for (;;) {
		region = NULL;
		mutex_lock(&shmipc_lock);
		hash_for_each_safe(shmipc_names, bkt, tmp, region, hnode)
			break;
		if (region && !shmipc_unname(region))
			region = NULL;	/* cannot happen: nothing is open */
		mutex_unlock(&shmipc_lock);
		if (!region)
			break;
		shmipc_region_put(region);
	}
}
