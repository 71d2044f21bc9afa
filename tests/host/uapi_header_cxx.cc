// SPDX-License-Identifier: GPL-2.0
/*
 * <linux/shmipc.h> from C++11 (-pedantic): a C++ program must be able to
 * include the uapi header alone and see the same layout as C.  Prints TAP.
 */
#include <linux/shmipc.h>

#include <cstddef>
#include <cstdio>
#include <type_traits>

static_assert(sizeof(shmipc_features) == 64, "features");
static_assert(sizeof(shmipc_create) == 104, "create");
static_assert(sizeof(shmipc_open) == 96, "open");
static_assert(sizeof(shmipc_unlink) == 80, "unlink");
static_assert(sizeof(shmipc_info) == 144, "info");
static_assert(sizeof(shmipc_wait) == 32, "wait");
static_assert(sizeof(shmipc_wake) == 24, "wake");
static_assert(sizeof(shmipc_waitv_entry) == 32, "entry");
static_assert(sizeof(shmipc_attach) == 16, "attach");
static_assert(sizeof(shmipc_own) == 16, "own");
static_assert(sizeof(shmipc_reclaim) == 16, "reclaim");
static_assert(sizeof(shmipc_event) == 32, "event");
static_assert(sizeof(shmipc_uring_wait) == 16, "uring_wait");
static_assert(sizeof(shmipc_waitv) == 32, "waitv");
static_assert(sizeof(shmipc_list) == 56, "list");
static_assert(sizeof(shmipc_region_entry) == 128, "region entry");
static_assert(sizeof(shmipc_peer_entry) == 32, "peer entry");
static_assert(offsetof(shmipc_list, cursor) == 16, "list.cursor");
static_assert(std::is_standard_layout<shmipc_create>::value, "layout");
static_assert(std::is_trivial<shmipc_info>::value, "trivial");
static_assert(offsetof(shmipc_create, fd) == 80, "create.fd");
static_assert(offsetof(shmipc_waitv, deadline_ns) == 16, "waitv.deadline");
static_assert(offsetof(shmipc_wait, peer_id) == 24, "wait.peer_id");
static_assert(offsetof(shmipc_waitv_entry, fd) == 16, "entry.fd");
static_assert(offsetof(shmipc_info, nr_dead) == 116, "info.nr_dead");
static_assert(offsetof(shmipc_event, status) == 24, "event.status");

static int pass, fail, num;

static void check(bool ok, const char *what)
{
	num++;
	(ok ? pass : fail)++;
	std::printf("%s %d %s\n", ok ? "ok" : "not ok", num, what);
}

int main()
{
	shmipc_wait w = {};
	shmipc_waitv_entry e[2] = {};
	shmipc_waitv v = {};

	std::printf("TAP version 13\n1..3\n");
	w.deadline_ns = SHMIPC_DEADLINE_NONE;
	check(w.deadline_ns == ~0ULL && w.offset == 0, "cxx_value_init");
	v.entries = reinterpret_cast<__u64>(&e[0]);
	v.count = 2;
	check(v.entries != 0 && v.count == 2, "cxx_pointer_as_u64");
	check(SHMIPC_IOC_CREATE != SHMIPC_IOC_OPEN &&
	      SHMIPC_IOC_WAIT != SHMIPC_IOC_WAITV &&
	      SHMIPC_IOC_ATTACH != SHMIPC_IOC_RECLAIM &&
	      SHMIPC_IOC_DETACH != SHMIPC_IOC_OWN, "cxx_ioctl_numbers");
	std::printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
		    pass, fail);
	return fail ? 1 : 0;
}
