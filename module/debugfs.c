// SPDX-License-Identifier: GPL-2.0
/*
 * Introspection under /sys/kernel/debug/shmipc/, a header line then one
 * line per object:
 *   regions  uids in the initial user namespace; userns is the inode
 *            number of the namespace the name lives in
 *   peers    pids in the initial pid namespace
 */
#include <linux/debugfs.h>
#include <linux/pid.h>
#include <linux/seq_file.h>
#include <linux/user_namespace.h>

#include "shmipc.h"

static struct dentry *shmipc_debugfs_dir;

static int shmipc_regions_show(struct seq_file *m, void *unused)
{
	struct shmipc_region *region;

	seq_puts(m, "id name size uid gid mode flags files waiters userns\n");
	mutex_lock(&shmipc_lock);
	list_for_each_entry(region, &shmipc_regions, node) {
		char flags[4];
		int n = 0;

		if (region->persistent)
			flags[n++] = 'p';
		if (!region->named)
			flags[n++] = 'u';
		if (region->tied_to)
			flags[n++] = 't';
		if (!n)
			flags[n++] = '-';
		flags[n] = '\0';
		seq_printf(m, "%llu %s %llu %u %u %04o %s %d %d %u\n",
			   region->id, region->name, region->size,
			   from_kuid(&init_user_ns, region->uid),
			   from_kgid(&init_user_ns, region->gid),
			   region->mode, flags,
			   atomic_read(&region->nr_files),
			   atomic_read(&region->nr_waiters),
			   region->user_ns->ns.inum);
	}
	mutex_unlock(&shmipc_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shmipc_regions);

static const char *const shmipc_peer_states[] = {
	[SHMIPC_PEER_ATTACHED]	= "attached",
	[SHMIPC_PEER_DEAD]	= "dead",
	[SHMIPC_PEER_LEFT]	= "left",
};

static int shmipc_peers_show(struct seq_file *m, void *unused)
{
	struct shmipc_region *region;
	struct shmipc_peer *peer;

	seq_puts(m, "region peer pid state owned status\n");
	mutex_lock(&shmipc_lock);
	list_for_each_entry(region, &shmipc_regions, node) {
		mutex_lock(&region->peer_lock);
		list_for_each_entry(peer, &region->peers, node)
			seq_printf(m, "%llu %llu %d %s %u %u\n", region->id,
				   peer->id, pid_nr(peer->pid),
				   shmipc_peer_states[peer->state],
				   peer->nr_owned, peer->status);
		mutex_unlock(&region->peer_lock);
	}
	mutex_unlock(&shmipc_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shmipc_peers);

/* debugfs failures only cost introspection: the module works without. */
void shmipc_debugfs_init(void)
{
	shmipc_debugfs_dir = debugfs_create_dir("shmipc", NULL);
	debugfs_create_file("regions", 0400, shmipc_debugfs_dir, NULL,
			    &shmipc_regions_fops);
	debugfs_create_file("peers", 0400, shmipc_debugfs_dir, NULL,
			    &shmipc_peers_fops);
}

void shmipc_debugfs_exit(void)
{
	debugfs_remove(shmipc_debugfs_dir);
}
