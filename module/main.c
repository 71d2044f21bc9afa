// SPDX-License-Identifier: GPL-2.0
/*
 * shmipc: named shared-memory regions with blocking wake-ups.
 *
 * /dev/shmipc is the control device (features, create, open, unlink,
 * list); everything else lives on the region fds it hands out.
 */
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "shmipc.h"

unsigned long long shmipc_max_region_size = 4ULL << 30;
module_param_named(max_region_size, shmipc_max_region_size, ullong, 0644);
MODULE_PARM_DESC(max_region_size, "Largest region, bytes (larger: EFBIG)");

unsigned int shmipc_max_user_regions = 4096;
module_param_named(max_user_regions, shmipc_max_user_regions, uint, 0644);
MODULE_PARM_DESC(max_user_regions,
		 "Live regions per creator uid (more: EDQUOT)");

/* 0 at load: half of RAM, the default size of a tmpfs. */
unsigned long long shmipc_max_total_bytes;
module_param_named(max_total_bytes, shmipc_max_total_bytes, ullong, 0644);
MODULE_PARM_DESC(max_total_bytes,
		 "Page-rounded bytes of all live regions (more: ENOSPC); default half of RAM");

unsigned int shmipc_max_region_peers = 1024;
module_param_named(max_region_peers, shmipc_max_region_peers, uint, 0644);
MODULE_PARM_DESC(max_region_peers,
		 "Attached plus marked dead peers per region (more: EUSERS)");

unsigned int shmipc_max_uring_wait_ms = 1000;
module_param_named(max_uring_wait_ms, shmipc_max_uring_wait_ms, uint, 0644);
MODULE_PARM_DESC(max_uring_wait_ms,
		 "Longest parked io_uring wait before -EINTR (resubmit)");

static long shmipc_get_features(struct shmipc_features __user *uarg)
{
	struct shmipc_features f = {
		.api_version = SHMIPC_API_VERSION,
		.name_max = SHMIPC_NAME_MAX,
		.waitv_max = SHMIPC_WAITV_MAX,
		.event_queue_len = SHMIPC_EVENT_QUEUE_LEN,
		.features = SHMIPC_FEAT_REGIONS | SHMIPC_FEAT_WAIT |
			    SHMIPC_FEAT_WAITV | SHMIPC_FEAT_PEERS |
			    SHMIPC_FEAT_URING_CMD | SHMIPC_FEAT_LIST |
			    SHMIPC_FEAT_TIED,
		.max_region_size = READ_ONCE(shmipc_max_region_size),
	};

	if (copy_to_user(uarg, &f, sizeof(f)))
		return -EFAULT;
	return 0;
}

static long shmipc_dev_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SHMIPC_IOC_GET_FEATURES:
		return shmipc_get_features(uarg);
	case SHMIPC_IOC_CREATE:
		return shmipc_create(uarg);
	case SHMIPC_IOC_OPEN:
		return shmipc_open(uarg);
	case SHMIPC_IOC_UNLINK:
		return shmipc_unlink(uarg);
	case SHMIPC_IOC_LIST:
		return shmipc_list(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations shmipc_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= shmipc_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static struct miscdevice shmipc_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "shmipc",
	.fops	= &shmipc_dev_fops,
	.mode	= 0666,
};

static int __init shmipc_init(void)
{
	int ret;

	if (!shmipc_max_total_bytes)
		shmipc_max_total_bytes = (u64)totalram_pages() << (PAGE_SHIFT - 1);
	ret = shmipc_peers_setup();
	if (ret)
		return ret;
	shmipc_debugfs_init();
	ret = misc_register(&shmipc_misc);
	if (ret)
		goto err_debugfs;
	return 0;

err_debugfs:
	shmipc_debugfs_exit();
	shmipc_peers_cleanup();
	return ret;
}

static void __exit shmipc_exit(void)
{
	misc_deregister(&shmipc_misc);
	shmipc_regions_destroy_all();
	shmipc_debugfs_exit();
	shmipc_peers_cleanup();
}

module_init(shmipc_init);
module_exit(shmipc_exit);

MODULE_DESCRIPTION("Named shared-memory regions with blocking wake-ups");
MODULE_AUTHOR("shmipc developers");
MODULE_LICENSE("GPL");
