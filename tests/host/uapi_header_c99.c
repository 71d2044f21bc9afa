// SPDX-License-Identifier: GPL-2.0
/*
 * <linux/shmipc.h> on its own, as strict ISO C99 with -pedantic: the
 * header must include what it uses (only <linux/types.h> and
 * <linux/ioctl.h>) and use no GNU extension.  It comes first, before
 * any other header, so it cannot lean on them.  Prints TAP.
 */
#include <linux/shmipc.h>

#include <stddef.h>
#include <stdio.h>

static int pass, fail, num;

static void check(int ok, const char *what)
{
	num++;
	if (ok)
		pass++;
	else
		fail++;
	printf("%s %d %s\n", ok ? "ok" : "not ok", num, what);
}

int main(void)
{
	struct shmipc_create c = { { 'd', 'e', 'm', 'o' }, 4096, 0600,
				   SHMIPC_CREATE_EXCL, 0, 0, 0, 0, 0 };
	struct shmipc_waitv_entry e[SHMIPC_WAITV_MAX];
	struct shmipc_waitv v;
	unsigned long cmds[] = {
		SHMIPC_IOC_GET_FEATURES, SHMIPC_IOC_CREATE, SHMIPC_IOC_OPEN,
		SHMIPC_IOC_UNLINK, SHMIPC_IOC_INFO, SHMIPC_IOC_WAIT,
		SHMIPC_IOC_WAKE, SHMIPC_IOC_WAITV, SHMIPC_IOC_ATTACH,
		SHMIPC_IOC_DETACH, SHMIPC_IOC_OWN, SHMIPC_IOC_RECLAIM,
		SHMIPC_IOC_LIST, SHMIPC_IOC_PEERS,
	};
	size_t i;
	int distinct = 1;

	printf("TAP version 13\n1..7\n");
	check(sizeof(c) == 104 && c.size == 4096 && c.name[4] == 0,
	      "c99_create_initializer");
	v.entries = (__u64)(size_t)e;
	v.count = SHMIPC_WAITV_MAX;
	check(v.entries != 0 && sizeof(v) == 32 && sizeof(e) == 64 * 32,
	      "c99_waitv_pointer_as_u64");
	for (i = 1; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i] == cmds[i - 1])
			distinct = 0;
	check(distinct, "c99_ioctl_numbers_distinct");
	check(SHMIPC_DEADLINE_NONE == 0xffffffffffffffffULL &&
	      SHMIPC_WAKE_ALL == 0xffffffffU, "c99_special_values");
	check(offsetof(struct shmipc_info, nr_peers) == 112 &&
	      offsetof(struct shmipc_info, reserved) == 120 &&
	      sizeof(struct shmipc_info) == 144, "c99_info_layout");
	check(sizeof(struct shmipc_event) == 32 &&
	      sizeof(struct shmipc_attach) == 16 &&
	      sizeof(struct shmipc_own) == 16 &&
	      sizeof(struct shmipc_reclaim) == 16 &&
	      sizeof(struct shmipc_uring_wait) == 16, "c99_peer_structs");
	check(sizeof(struct shmipc_list) == 56 &&
	      sizeof(struct shmipc_region_entry) == 128 &&
	      sizeof(struct shmipc_peer_entry) == 32 &&
	      offsetof(struct shmipc_list, total) == 32 &&
	      offsetof(struct shmipc_peer_entry, status) == 20,
	      "c99_list_structs");
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
	       pass, fail);
	return fail ? 1 : 0;
}
