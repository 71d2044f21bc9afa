// SPDX-License-Identifier: GPL-2.0
/*
 * Region files: the fd CREATE and OPEN return, its mmap and its ioctls.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "shmipc.h"

struct shmipc_file *shmipc_file_of(struct file *file)
{
	if (file->f_op != &shmipc_region_fops)
		return NULL;
	return file->private_data;
}

/*
 * Make a close-on-exec region file for @region and reserve an fd for it.
 * On success the file owns one reference of @region that the caller had
 * taken; on failure the caller keeps it.
 */
int shmipc_fd_prepare(struct shmipc_region *region, unsigned int access,
		      struct shmipc_new_fd *nfd)
{
	struct shmipc_file *sf;
	int flags;
	int ret;

	/* A STAT fd is O_RDONLY too: read() returns events on every fd. */
	flags = access & SHMIPC_ACCESS_WRITE ? O_RDWR : O_RDONLY;

	/* Charged to the opener's memory cgroup: each fd holds a queue. */
	sf = kzalloc(sizeof(*sf), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return -ENOMEM;
	sf->ev = kcalloc(SHMIPC_EVENT_QUEUE_LEN, sizeof(*sf->ev),
			 GFP_KERNEL_ACCOUNT);
	if (!sf->ev) {
		ret = -ENOMEM;
		goto err_free;
	}
	sf->region = region;
	sf->access = access;

	nfd->fd = get_unused_fd_flags(O_CLOEXEC);
	if (nfd->fd < 0) {
		ret = nfd->fd;
		goto err_free;
	}
	nfd->file = anon_inode_getfile("[shmipc]", &shmipc_region_fops, sf,
				       flags | O_CLOEXEC);
	if (IS_ERR(nfd->file)) {
		ret = PTR_ERR(nfd->file);
		goto err_fd;
	}
	atomic_inc(&region->nr_files);
	shmipc_events_open(sf);
	return 0;

err_fd:
	put_unused_fd(nfd->fd);
err_free:
	kfree(sf->ev);
	kfree(sf);
	return ret;
}

void shmipc_fd_commit(struct shmipc_new_fd *nfd)
{
	fd_install(nfd->fd, nfd->file);
}

/* Undo shmipc_fd_prepare(): the file's release drops its reference. */
void shmipc_fd_abort(struct shmipc_new_fd *nfd)
{
	put_unused_fd(nfd->fd);
	fput(nfd->file);
}

static int shmipc_region_release(struct inode *inode, struct file *file)
{
	struct shmipc_file *sf = file->private_data;

	shmipc_events_close(sf);
	atomic_dec(&sf->region->nr_files);
	shmipc_region_put(sf->region);
	kfree(sf->ev);
	kfree(sf);
	return 0;
}

/*
 * Shared mappings only, inside the region.  The VFS already refuses
 * PROT_WRITE on a read-only file and clears VM_MAYWRITE, so mprotect()
 * cannot add write later; VM_DONTEXPAND stops mremap() from growing the
 * mapping past the region.  The mapping then belongs to the shmem file:
 * its pages are ordinary shmem pages, so futex(2) works on them.
 */
static int shmipc_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct shmipc_file *sf = file->private_data;
	struct shmipc_region *region = sf->region;
	unsigned long pages = PAGE_ALIGN(region->size) >> PAGE_SHIFT;

	if (!(sf->access & SHMIPC_ACCESS_READ))
		return -EACCES;	/* a STAT fd maps nothing */
	if (READ_ONCE(region->destroyed))
		return -EIDRM;
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >= pages || vma_pages(vma) > pages - vma->vm_pgoff)
		return -ENXIO;
	if (!(sf->access & SHMIPC_ACCESS_WRITE)) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vma->vm_flags &= ~VM_MAYWRITE;
	}
	vma->vm_flags |= VM_DONTEXPAND;
	vma_set_file(vma, region->shmem);
	return call_mmap(vma->vm_file, vma);
}

static long shmipc_info(struct shmipc_file *sf, struct shmipc_info __user *uarg)
{
	struct user_namespace *ns = current_user_ns();
	struct shmipc_region *region = sf->region;
	struct shmipc_info info;

	memset(&info, 0, sizeof(info));
	strscpy(info.name, region->name, sizeof(info.name));
	info.size = region->size;
	info.id = region->id;
	info.uid = from_kuid_munged(ns, region->uid);
	info.gid = from_kgid_munged(ns, region->gid);
	info.cuid = from_kuid_munged(ns, region->cuid);
	info.cgid = from_kgid_munged(ns, region->cgid);
	info.mode = region->mode;
	if (region->persistent)
		info.flags |= SHMIPC_INFO_PERSISTENT;
	mutex_lock(&shmipc_lock);
	if (!region->named)
		info.flags |= SHMIPC_INFO_UNLINKED;
	if (region->tied_to)
		info.flags |= SHMIPC_INFO_TIED;
	mutex_unlock(&shmipc_lock);
	if (READ_ONCE(region->destroyed))
		info.flags |= SHMIPC_INFO_DESTROYED;
	mutex_lock(&region->peer_lock);
	info.nr_peers = region->nr_peers;
	info.nr_dead = region->nr_dead;
	mutex_unlock(&region->peer_lock);
	if (sf->access & SHMIPC_ACCESS_READ)
		info.flags |= SHMIPC_INFO_READ;
	if (sf->access & SHMIPC_ACCESS_WRITE)
		info.flags |= SHMIPC_INFO_WRITE;
	info.nr_files = atomic_read(&region->nr_files);
	info.nr_waiters = atomic_read(&region->nr_waiters);
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long shmipc_region_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct shmipc_file *sf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SHMIPC_IOC_INFO:
		return shmipc_info(sf, uarg);
	case SHMIPC_IOC_WAIT:
		return shmipc_wait(sf, uarg);
	case SHMIPC_IOC_WAKE:
		return shmipc_wake(sf, uarg);
	case SHMIPC_IOC_WAITV:
		if (!(sf->access & SHMIPC_ACCESS_READ))
			return -EBADF;
		return shmipc_waitv(uarg);
	case SHMIPC_IOC_ATTACH:
		return shmipc_attach(sf, uarg);
	case SHMIPC_IOC_DETACH:
		return shmipc_detach(sf, arg);
	case SHMIPC_IOC_OWN:
		return shmipc_own(sf, uarg);
	case SHMIPC_IOC_RECLAIM:
		return shmipc_reclaim(sf, uarg);
	case SHMIPC_IOC_PEERS:
		return shmipc_peers(sf, uarg);
	default:
		return -ENOTTY;
	}
}

/* A close or exit of the submitter ends its parked io_uring waits. */
static int shmipc_region_flush(struct file *file, fl_owner_t id)
{
	struct shmipc_file *sf = file->private_data;

	shmipc_uring_cancel(sf->region, file, id, -ECANCELED);
	return 0;
}

const struct file_operations shmipc_region_fops = {
	.owner		= THIS_MODULE,
	.release	= shmipc_region_release,
	.flush		= shmipc_region_flush,
	.read		= shmipc_events_read,
	.poll		= shmipc_events_poll,
	.uring_cmd	= shmipc_uring_cmd,
	.mmap		= shmipc_region_mmap,
	.unlocked_ioctl	= shmipc_region_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};
