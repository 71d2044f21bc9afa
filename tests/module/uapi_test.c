// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI of <linux/shmipc.h>: sizes, offsets, no implicit padding, sizes
 * multiple of 8 (same layout for 32-bit and 64-bit callers), ioctl numbers
 * that encode the right size and direction, and the documented constants.
 *
 * Everything is checked twice: by _Static_assert at compile time (a wrong
 * header does not build) and by a TEST at run time (it shows up in TAP).
 * Built for the host and for the VM.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <linux/shmipc.h>

#include "kselftest_harness.h"

#define M(type, member)	sizeof(((struct type *)0)->member)

/* expected size, and the sum of the member sizes (== size: no padding) */
#define FEATURES_SUM	(M(shmipc_features, api_version) + \
			 M(shmipc_features, name_max) + \
			 M(shmipc_features, waitv_max) + \
			 M(shmipc_features, event_queue_len) + \
			 M(shmipc_features, features) + \
			 M(shmipc_features, max_region_size) + \
			 M(shmipc_features, reserved))
#define CREATE_SUM	(M(shmipc_create, name) + M(shmipc_create, size) + \
			 M(shmipc_create, mode) + M(shmipc_create, flags) + \
			 M(shmipc_create, fd) + M(shmipc_create, result) + \
			 M(shmipc_create, tie_fd) + M(shmipc_create, pad) + \
			 M(shmipc_create, reserved))
#define OPEN_SUM	(M(shmipc_open, name) + M(shmipc_open, flags) + \
			 M(shmipc_open, fd) + M(shmipc_open, size) + \
			 M(shmipc_open, reserved))
#define UNLINK_SUM	(M(shmipc_unlink, name) + M(shmipc_unlink, flags) + \
			 M(shmipc_unlink, reserved))
#define INFO_SUM	(M(shmipc_info, name) + M(shmipc_info, size) + \
			 M(shmipc_info, id) + M(shmipc_info, uid) + \
			 M(shmipc_info, gid) + M(shmipc_info, cuid) + \
			 M(shmipc_info, cgid) + M(shmipc_info, mode) + \
			 M(shmipc_info, flags) + M(shmipc_info, nr_files) + \
			 M(shmipc_info, nr_waiters) + M(shmipc_info, nr_peers) + \
			 M(shmipc_info, nr_dead) + M(shmipc_info, reserved))
#define WAIT_SUM	(M(shmipc_wait, offset) + \
			 M(shmipc_wait, deadline_ns) + \
			 M(shmipc_wait, expected) + M(shmipc_wait, flags) + \
			 M(shmipc_wait, peer_id))
#define WAKE_SUM	(M(shmipc_wake, offset) + M(shmipc_wake, count) + \
			 M(shmipc_wake, flags) + M(shmipc_wake, reserved))
#define ENTRY_SUM	(M(shmipc_waitv_entry, offset) + \
			 M(shmipc_waitv_entry, peer_id) + \
			 M(shmipc_waitv_entry, fd) + \
			 M(shmipc_waitv_entry, expected) + \
			 M(shmipc_waitv_entry, flags) + \
			 M(shmipc_waitv_entry, reserved))
#define WAITV_SUM	(M(shmipc_waitv, entries) + M(shmipc_waitv, count) + \
			 M(shmipc_waitv, flags) + \
			 M(shmipc_waitv, deadline_ns) + \
			 M(shmipc_waitv, reserved))
#define ATTACH_SUM	(M(shmipc_attach, peer_id) + M(shmipc_attach, flags) + \
			 M(shmipc_attach, reserved))
#define OWN_SUM		(M(shmipc_own, offset) + M(shmipc_own, flags) + \
			 M(shmipc_own, reserved))
#define RECLAIM_SUM	(M(shmipc_reclaim, peer_id) + \
			 M(shmipc_reclaim, reserved))
#define EVENT_SUM	(M(shmipc_event, type) + M(shmipc_event, pid) + \
			 M(shmipc_event, seq) + M(shmipc_event, peer_id) + \
			 M(shmipc_event, status) + M(shmipc_event, flags))
#define URING_WAIT_SUM	(M(shmipc_uring_wait, wait) + \
			 M(shmipc_uring_wait, reserved))
#define LIST_SUM	(M(shmipc_list, entries) + M(shmipc_list, count) + \
			 M(shmipc_list, entry_size) + M(shmipc_list, cursor) + \
			 M(shmipc_list, next) + M(shmipc_list, total) + \
			 M(shmipc_list, flags) + M(shmipc_list, reserved))
#define REGION_ENTRY_SUM (M(shmipc_region_entry, name) + \
			 M(shmipc_region_entry, size) + \
			 M(shmipc_region_entry, id) + \
			 M(shmipc_region_entry, uid) + \
			 M(shmipc_region_entry, gid) + \
			 M(shmipc_region_entry, mode) + \
			 M(shmipc_region_entry, flags) + \
			 M(shmipc_region_entry, nr_peers) + \
			 M(shmipc_region_entry, nr_waiters) + \
			 M(shmipc_region_entry, nr_files) + \
			 M(shmipc_region_entry, nr_dead) + \
			 M(shmipc_region_entry, reserved))
#define PEER_ENTRY_SUM	(M(shmipc_peer_entry, peer_id) + \
			 M(shmipc_peer_entry, pid) + \
			 M(shmipc_peer_entry, state) + \
			 M(shmipc_peer_entry, nr_owned) + \
			 M(shmipc_peer_entry, status) + \
			 M(shmipc_peer_entry, reserved))

/* Sizes: fixed forever (a change is a new ioctl number). */
_Static_assert(sizeof(struct shmipc_features) == 64, "features size");
_Static_assert(sizeof(struct shmipc_create) == 104, "create size");
_Static_assert(sizeof(struct shmipc_open) == 96, "open size");
_Static_assert(sizeof(struct shmipc_unlink) == 80, "unlink size");
_Static_assert(sizeof(struct shmipc_info) == 144, "info size");
_Static_assert(sizeof(struct shmipc_wait) == 32, "wait size");
_Static_assert(sizeof(struct shmipc_wake) == 24, "wake size");
_Static_assert(sizeof(struct shmipc_waitv_entry) == 32, "entry size");
_Static_assert(sizeof(struct shmipc_waitv) == 32, "waitv size");
_Static_assert(sizeof(struct shmipc_attach) == 16, "attach size");
_Static_assert(sizeof(struct shmipc_own) == 16, "own size");
_Static_assert(sizeof(struct shmipc_reclaim) == 16, "reclaim size");
_Static_assert(sizeof(struct shmipc_event) == 32, "event size");
_Static_assert(sizeof(struct shmipc_uring_wait) == 16, "uring_wait size");
_Static_assert(sizeof(struct shmipc_list) == 56, "list size");
_Static_assert(sizeof(struct shmipc_region_entry) == 128, "region entry size");
_Static_assert(sizeof(struct shmipc_peer_entry) == 32, "peer entry size");

/* No implicit padding anywhere. */
_Static_assert(FEATURES_SUM == sizeof(struct shmipc_features), "features pad");
_Static_assert(CREATE_SUM == sizeof(struct shmipc_create), "create pad");
_Static_assert(OPEN_SUM == sizeof(struct shmipc_open), "open pad");
_Static_assert(UNLINK_SUM == sizeof(struct shmipc_unlink), "unlink pad");
_Static_assert(INFO_SUM == sizeof(struct shmipc_info), "info pad");
_Static_assert(WAIT_SUM == sizeof(struct shmipc_wait), "wait pad");
_Static_assert(WAKE_SUM == sizeof(struct shmipc_wake), "wake pad");
_Static_assert(ENTRY_SUM == sizeof(struct shmipc_waitv_entry), "entry pad");
_Static_assert(WAITV_SUM == sizeof(struct shmipc_waitv), "waitv pad");
_Static_assert(ATTACH_SUM == sizeof(struct shmipc_attach), "attach pad");
_Static_assert(OWN_SUM == sizeof(struct shmipc_own), "own pad");
_Static_assert(RECLAIM_SUM == sizeof(struct shmipc_reclaim), "reclaim pad");
_Static_assert(EVENT_SUM == sizeof(struct shmipc_event), "event pad");
_Static_assert(URING_WAIT_SUM == sizeof(struct shmipc_uring_wait),
	       "uring_wait pad");
_Static_assert(LIST_SUM == sizeof(struct shmipc_list), "list pad");
_Static_assert(REGION_ENTRY_SUM == sizeof(struct shmipc_region_entry),
	       "region entry pad");
_Static_assert(PEER_ENTRY_SUM == sizeof(struct shmipc_peer_entry),
	       "peer entry pad");

/* Every __u64 naturally aligned (offsets below), sizes multiple of 8. */
_Static_assert(sizeof(struct shmipc_features) % 8 == 0, "features % 8");
_Static_assert(sizeof(struct shmipc_create) % 8 == 0, "create % 8");
_Static_assert(sizeof(struct shmipc_open) % 8 == 0, "open % 8");
_Static_assert(sizeof(struct shmipc_unlink) % 8 == 0, "unlink % 8");
_Static_assert(sizeof(struct shmipc_info) % 8 == 0, "info % 8");
_Static_assert(sizeof(struct shmipc_wait) % 8 == 0, "wait % 8");
_Static_assert(sizeof(struct shmipc_wake) % 8 == 0, "wake % 8");
_Static_assert(sizeof(struct shmipc_waitv_entry) % 8 == 0, "entry % 8");
_Static_assert(sizeof(struct shmipc_waitv) % 8 == 0, "waitv % 8");
_Static_assert(sizeof(struct shmipc_attach) % 8 == 0, "attach % 8");
_Static_assert(sizeof(struct shmipc_own) % 8 == 0, "own % 8");
_Static_assert(sizeof(struct shmipc_reclaim) % 8 == 0, "reclaim % 8");
_Static_assert(sizeof(struct shmipc_event) % 8 == 0, "event % 8");
_Static_assert(sizeof(struct shmipc_uring_wait) % 8 == 0, "uring_wait % 8");
_Static_assert(sizeof(struct shmipc_list) % 8 == 0, "list % 8");
_Static_assert(sizeof(struct shmipc_region_entry) % 8 == 0, "region entry % 8");
_Static_assert(sizeof(struct shmipc_peer_entry) % 8 == 0, "peer entry % 8");

/* Offsets (the ABI, not only the size). */
_Static_assert(offsetof(struct shmipc_features, api_version) == 0, "");
_Static_assert(offsetof(struct shmipc_features, name_max) == 4, "");
_Static_assert(offsetof(struct shmipc_features, waitv_max) == 8, "");
_Static_assert(offsetof(struct shmipc_features, event_queue_len) == 12, "");
_Static_assert(offsetof(struct shmipc_features, features) == 16, "");
_Static_assert(offsetof(struct shmipc_features, max_region_size) == 24, "");
_Static_assert(offsetof(struct shmipc_features, reserved) == 32, "");

_Static_assert(offsetof(struct shmipc_create, name) == 0, "");
_Static_assert(offsetof(struct shmipc_create, size) == 64, "");
_Static_assert(offsetof(struct shmipc_create, mode) == 72, "");
_Static_assert(offsetof(struct shmipc_create, flags) == 76, "");
_Static_assert(offsetof(struct shmipc_create, fd) == 80, "");
_Static_assert(offsetof(struct shmipc_create, result) == 84, "");
_Static_assert(offsetof(struct shmipc_create, tie_fd) == 88, "");
_Static_assert(offsetof(struct shmipc_create, pad) == 92, "");
_Static_assert(offsetof(struct shmipc_create, reserved) == 96, "");

_Static_assert(offsetof(struct shmipc_open, name) == 0, "");
_Static_assert(offsetof(struct shmipc_open, flags) == 64, "");
_Static_assert(offsetof(struct shmipc_open, fd) == 68, "");
_Static_assert(offsetof(struct shmipc_open, size) == 72, "");
_Static_assert(offsetof(struct shmipc_open, reserved) == 80, "");

_Static_assert(offsetof(struct shmipc_unlink, name) == 0, "");
_Static_assert(offsetof(struct shmipc_unlink, flags) == 64, "");
_Static_assert(offsetof(struct shmipc_unlink, reserved) == 72, "");

_Static_assert(offsetof(struct shmipc_info, name) == 0, "");
_Static_assert(offsetof(struct shmipc_info, size) == 64, "");
_Static_assert(offsetof(struct shmipc_info, id) == 72, "");
_Static_assert(offsetof(struct shmipc_info, uid) == 80, "");
_Static_assert(offsetof(struct shmipc_info, gid) == 84, "");
_Static_assert(offsetof(struct shmipc_info, cuid) == 88, "");
_Static_assert(offsetof(struct shmipc_info, cgid) == 92, "");
_Static_assert(offsetof(struct shmipc_info, mode) == 96, "");
_Static_assert(offsetof(struct shmipc_info, flags) == 100, "");
_Static_assert(offsetof(struct shmipc_info, nr_files) == 104, "");
_Static_assert(offsetof(struct shmipc_info, nr_waiters) == 108, "");
_Static_assert(offsetof(struct shmipc_info, nr_peers) == 112, "");
_Static_assert(offsetof(struct shmipc_info, nr_dead) == 116, "");
_Static_assert(offsetof(struct shmipc_info, reserved) == 120, "");

_Static_assert(offsetof(struct shmipc_wait, offset) == 0, "");
_Static_assert(offsetof(struct shmipc_wait, deadline_ns) == 8, "");
_Static_assert(offsetof(struct shmipc_wait, expected) == 16, "");
_Static_assert(offsetof(struct shmipc_wait, flags) == 20, "");
_Static_assert(offsetof(struct shmipc_wait, peer_id) == 24, "");

_Static_assert(offsetof(struct shmipc_wake, offset) == 0, "");
_Static_assert(offsetof(struct shmipc_wake, count) == 8, "");
_Static_assert(offsetof(struct shmipc_wake, flags) == 12, "");
_Static_assert(offsetof(struct shmipc_wake, reserved) == 16, "");

_Static_assert(offsetof(struct shmipc_waitv_entry, offset) == 0, "");
_Static_assert(offsetof(struct shmipc_waitv_entry, peer_id) == 8, "");
_Static_assert(offsetof(struct shmipc_waitv_entry, fd) == 16, "");
_Static_assert(offsetof(struct shmipc_waitv_entry, expected) == 20, "");
_Static_assert(offsetof(struct shmipc_waitv_entry, flags) == 24, "");
_Static_assert(offsetof(struct shmipc_waitv_entry, reserved) == 28, "");

_Static_assert(offsetof(struct shmipc_waitv, entries) == 0, "");
_Static_assert(offsetof(struct shmipc_waitv, count) == 8, "");
_Static_assert(offsetof(struct shmipc_waitv, flags) == 12, "");
_Static_assert(offsetof(struct shmipc_waitv, deadline_ns) == 16, "");
_Static_assert(offsetof(struct shmipc_waitv, reserved) == 24, "");

_Static_assert(offsetof(struct shmipc_attach, peer_id) == 0, "");
_Static_assert(offsetof(struct shmipc_attach, flags) == 8, "");
_Static_assert(offsetof(struct shmipc_attach, reserved) == 12, "");

_Static_assert(offsetof(struct shmipc_own, offset) == 0, "");
_Static_assert(offsetof(struct shmipc_own, flags) == 8, "");
_Static_assert(offsetof(struct shmipc_own, reserved) == 12, "");

_Static_assert(offsetof(struct shmipc_reclaim, peer_id) == 0, "");
_Static_assert(offsetof(struct shmipc_reclaim, reserved) == 8, "");

_Static_assert(offsetof(struct shmipc_event, type) == 0, "");
_Static_assert(offsetof(struct shmipc_event, pid) == 4, "");
_Static_assert(offsetof(struct shmipc_event, seq) == 8, "");
_Static_assert(offsetof(struct shmipc_event, peer_id) == 16, "");
_Static_assert(offsetof(struct shmipc_event, status) == 24, "");
_Static_assert(offsetof(struct shmipc_event, flags) == 28, "");

_Static_assert(offsetof(struct shmipc_uring_wait, wait) == 0, "");
_Static_assert(offsetof(struct shmipc_uring_wait, reserved) == 8, "");

_Static_assert(offsetof(struct shmipc_list, entries) == 0, "");
_Static_assert(offsetof(struct shmipc_list, count) == 8, "");
_Static_assert(offsetof(struct shmipc_list, entry_size) == 12, "");
_Static_assert(offsetof(struct shmipc_list, cursor) == 16, "");
_Static_assert(offsetof(struct shmipc_list, next) == 24, "");
_Static_assert(offsetof(struct shmipc_list, total) == 32, "");
_Static_assert(offsetof(struct shmipc_list, flags) == 36, "");
_Static_assert(offsetof(struct shmipc_list, reserved) == 40, "");

_Static_assert(offsetof(struct shmipc_region_entry, name) == 0, "");
_Static_assert(offsetof(struct shmipc_region_entry, size) == 64, "");
_Static_assert(offsetof(struct shmipc_region_entry, id) == 72, "");
_Static_assert(offsetof(struct shmipc_region_entry, uid) == 80, "");
_Static_assert(offsetof(struct shmipc_region_entry, gid) == 84, "");
_Static_assert(offsetof(struct shmipc_region_entry, mode) == 88, "");
_Static_assert(offsetof(struct shmipc_region_entry, flags) == 92, "");
_Static_assert(offsetof(struct shmipc_region_entry, nr_peers) == 96, "");
_Static_assert(offsetof(struct shmipc_region_entry, nr_waiters) == 100, "");
_Static_assert(offsetof(struct shmipc_region_entry, nr_files) == 104, "");
_Static_assert(offsetof(struct shmipc_region_entry, nr_dead) == 108, "");
_Static_assert(offsetof(struct shmipc_region_entry, reserved) == 112, "");

_Static_assert(offsetof(struct shmipc_peer_entry, peer_id) == 0, "");
_Static_assert(offsetof(struct shmipc_peer_entry, pid) == 8, "");
_Static_assert(offsetof(struct shmipc_peer_entry, state) == 12, "");
_Static_assert(offsetof(struct shmipc_peer_entry, nr_owned) == 16, "");
_Static_assert(offsetof(struct shmipc_peer_entry, status) == 20, "");
_Static_assert(offsetof(struct shmipc_peer_entry, reserved) == 24, "");

/* io_uring: the command payload fits a plain (64-byte) SQE's 16 bytes. */
_Static_assert(sizeof(struct shmipc_uring_wait) <= 16, "fits sqe->cmd");

/* Field widths that callers rely on. */
_Static_assert(M(shmipc_create, name) == SHMIPC_NAME_MAX, "");
_Static_assert(M(shmipc_open, name) == SHMIPC_NAME_MAX, "");
_Static_assert(M(shmipc_unlink, name) == SHMIPC_NAME_MAX, "");
_Static_assert(M(shmipc_info, name) == SHMIPC_NAME_MAX, "");
_Static_assert(M(shmipc_waitv, entries) == 8, "pointers travel as __u64");
_Static_assert(M(shmipc_wait, deadline_ns) == 8, "");
_Static_assert(M(shmipc_wait, expected) == 4, "words are 32-bit");
_Static_assert(M(shmipc_wait, peer_id) == 8, "peer ids are 64-bit");
_Static_assert(M(shmipc_waitv_entry, peer_id) == 8, "");
_Static_assert(M(shmipc_attach, peer_id) == 8, "");
_Static_assert(M(shmipc_reclaim, peer_id) == 8, "");
_Static_assert(M(shmipc_event, peer_id) == 8, "");
_Static_assert(M(shmipc_uring_wait, wait) == 8, "pointers travel as __u64");
_Static_assert(M(shmipc_info, reserved) == 24, "info reserved[3]");
_Static_assert(M(shmipc_list, entries) == 8, "pointers travel as __u64");
_Static_assert(M(shmipc_region_entry, name) == SHMIPC_NAME_MAX, "");
_Static_assert(SHMIPC_LIST_ENTRY_MAX % 8 == 0, "strides are multiples of 8");
_Static_assert(sizeof(struct shmipc_region_entry) <= SHMIPC_LIST_ENTRY_MAX,
	       "");

/* Run-time copies of the same facts, so that they count in TAP. */

TEST(struct_sizes)
{
	EXPECT_EQ(64, sizeof(struct shmipc_features));
	EXPECT_EQ(104, sizeof(struct shmipc_create));
	EXPECT_EQ(96, sizeof(struct shmipc_open));
	EXPECT_EQ(80, sizeof(struct shmipc_unlink));
	EXPECT_EQ(144, sizeof(struct shmipc_info));
	EXPECT_EQ(32, sizeof(struct shmipc_wait));
	EXPECT_EQ(24, sizeof(struct shmipc_wake));
	EXPECT_EQ(32, sizeof(struct shmipc_waitv_entry));
	EXPECT_EQ(32, sizeof(struct shmipc_waitv));
	EXPECT_EQ(16, sizeof(struct shmipc_attach));
	EXPECT_EQ(16, sizeof(struct shmipc_own));
	EXPECT_EQ(16, sizeof(struct shmipc_reclaim));
	EXPECT_EQ(32, sizeof(struct shmipc_event));
	EXPECT_EQ(16, sizeof(struct shmipc_uring_wait));
	EXPECT_EQ(56, sizeof(struct shmipc_list));
	EXPECT_EQ(128, sizeof(struct shmipc_region_entry));
	EXPECT_EQ(32, sizeof(struct shmipc_peer_entry));
}

TEST(no_implicit_padding)
{
	EXPECT_EQ(FEATURES_SUM, sizeof(struct shmipc_features));
	EXPECT_EQ(CREATE_SUM, sizeof(struct shmipc_create));
	EXPECT_EQ(OPEN_SUM, sizeof(struct shmipc_open));
	EXPECT_EQ(UNLINK_SUM, sizeof(struct shmipc_unlink));
	EXPECT_EQ(INFO_SUM, sizeof(struct shmipc_info));
	EXPECT_EQ(WAIT_SUM, sizeof(struct shmipc_wait));
	EXPECT_EQ(WAKE_SUM, sizeof(struct shmipc_wake));
	EXPECT_EQ(ENTRY_SUM, sizeof(struct shmipc_waitv_entry));
	EXPECT_EQ(WAITV_SUM, sizeof(struct shmipc_waitv));
	EXPECT_EQ(ATTACH_SUM, sizeof(struct shmipc_attach));
	EXPECT_EQ(OWN_SUM, sizeof(struct shmipc_own));
	EXPECT_EQ(RECLAIM_SUM, sizeof(struct shmipc_reclaim));
	EXPECT_EQ(EVENT_SUM, sizeof(struct shmipc_event));
	EXPECT_EQ(URING_WAIT_SUM, sizeof(struct shmipc_uring_wait));
	EXPECT_EQ(LIST_SUM, sizeof(struct shmipc_list));
	EXPECT_EQ(REGION_ENTRY_SUM, sizeof(struct shmipc_region_entry));
	EXPECT_EQ(PEER_ENTRY_SUM, sizeof(struct shmipc_peer_entry));
}

TEST(sizes_multiple_of_8_and_u64_aligned)
{
	EXPECT_EQ(0, sizeof(struct shmipc_features) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_create) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_open) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_unlink) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_info) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_wait) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_wake) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_waitv_entry) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_waitv) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_attach) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_own) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_reclaim) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_event) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_uring_wait) % 8);
	/* every __u64 at an offset multiple of 8 */
	EXPECT_EQ(0, offsetof(struct shmipc_features, features) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_features, max_region_size) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_create, size) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_create, reserved) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_open, size) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_unlink, flags) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_info, size) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_info, id) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_info, reserved) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_wait, deadline_ns) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_wait, peer_id) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_waitv_entry, peer_id) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_waitv, deadline_ns) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_attach, peer_id) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_own, offset) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_reclaim, reserved) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_event, seq) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_event, peer_id) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_uring_wait, reserved) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_list) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_region_entry) % 8);
	EXPECT_EQ(0, sizeof(struct shmipc_peer_entry) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_list, cursor) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_list, next) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_list, reserved) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_region_entry, id) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_region_entry, reserved) % 8);
	EXPECT_EQ(0, offsetof(struct shmipc_peer_entry, reserved) % 8);
}

TEST(field_offsets)
{
	EXPECT_EQ(16, offsetof(struct shmipc_features, features));
	EXPECT_EQ(24, offsetof(struct shmipc_features, max_region_size));
	EXPECT_EQ(64, offsetof(struct shmipc_create, size));
	EXPECT_EQ(80, offsetof(struct shmipc_create, fd));
	EXPECT_EQ(84, offsetof(struct shmipc_create, result));
	EXPECT_EQ(68, offsetof(struct shmipc_open, fd));
	EXPECT_EQ(72, offsetof(struct shmipc_open, size));
	EXPECT_EQ(64, offsetof(struct shmipc_unlink, flags));
	EXPECT_EQ(100, offsetof(struct shmipc_info, flags));
	EXPECT_EQ(108, offsetof(struct shmipc_info, nr_waiters));
	EXPECT_EQ(12, offsetof(struct shmipc_features, event_queue_len));
	EXPECT_EQ(112, offsetof(struct shmipc_info, nr_peers));
	EXPECT_EQ(116, offsetof(struct shmipc_info, nr_dead));
	EXPECT_EQ(120, offsetof(struct shmipc_info, reserved));
	EXPECT_EQ(16, offsetof(struct shmipc_wait, expected));
	EXPECT_EQ(24, offsetof(struct shmipc_wait, peer_id));
	EXPECT_EQ(8, offsetof(struct shmipc_wake, count));
	EXPECT_EQ(8, offsetof(struct shmipc_waitv_entry, peer_id));
	EXPECT_EQ(16, offsetof(struct shmipc_waitv_entry, fd));
	EXPECT_EQ(20, offsetof(struct shmipc_waitv_entry, expected));
	EXPECT_EQ(16, offsetof(struct shmipc_waitv, deadline_ns));
	EXPECT_EQ(8, offsetof(struct shmipc_attach, flags));
	EXPECT_EQ(8, offsetof(struct shmipc_own, flags));
	EXPECT_EQ(8, offsetof(struct shmipc_reclaim, reserved));
	EXPECT_EQ(4, offsetof(struct shmipc_event, pid));
	EXPECT_EQ(8, offsetof(struct shmipc_event, seq));
	EXPECT_EQ(16, offsetof(struct shmipc_event, peer_id));
	EXPECT_EQ(24, offsetof(struct shmipc_event, status));
	EXPECT_EQ(28, offsetof(struct shmipc_event, flags));
	EXPECT_EQ(8, offsetof(struct shmipc_uring_wait, reserved));
	EXPECT_EQ(12, offsetof(struct shmipc_list, entry_size));
	EXPECT_EQ(24, offsetof(struct shmipc_list, next));
	EXPECT_EQ(32, offsetof(struct shmipc_list, total));
	EXPECT_EQ(36, offsetof(struct shmipc_list, flags));
	EXPECT_EQ(72, offsetof(struct shmipc_region_entry, id));
	EXPECT_EQ(92, offsetof(struct shmipc_region_entry, flags));
	EXPECT_EQ(108, offsetof(struct shmipc_region_entry, nr_dead));
	EXPECT_EQ(8, offsetof(struct shmipc_peer_entry, pid));
	EXPECT_EQ(20, offsetof(struct shmipc_peer_entry, status));
}

struct ioc_expect {
	const char *name;
	unsigned long cmd;
	unsigned int nr;
	unsigned int dir;
	size_t size;
};

TEST(ioctl_numbers)
{
	const struct ioc_expect ioc[] = {
		{ "GET_FEATURES", SHMIPC_IOC_GET_FEATURES, 0x00, _IOC_READ,
		  sizeof(struct shmipc_features) },
		{ "CREATE", SHMIPC_IOC_CREATE, 0x01, _IOC_READ | _IOC_WRITE,
		  sizeof(struct shmipc_create) },
		{ "OPEN", SHMIPC_IOC_OPEN, 0x02, _IOC_READ | _IOC_WRITE,
		  sizeof(struct shmipc_open) },
		{ "UNLINK", SHMIPC_IOC_UNLINK, 0x03, _IOC_WRITE,
		  sizeof(struct shmipc_unlink) },
		{ "INFO", SHMIPC_IOC_INFO, 0x10, _IOC_READ,
		  sizeof(struct shmipc_info) },
		{ "WAIT", SHMIPC_IOC_WAIT, 0x11, _IOC_WRITE,
		  sizeof(struct shmipc_wait) },
		{ "WAKE", SHMIPC_IOC_WAKE, 0x12, _IOC_WRITE,
		  sizeof(struct shmipc_wake) },
		{ "WAITV", SHMIPC_IOC_WAITV, 0x13, _IOC_WRITE,
		  sizeof(struct shmipc_waitv) },
		{ "ATTACH", SHMIPC_IOC_ATTACH, 0x20, _IOC_READ | _IOC_WRITE,
		  sizeof(struct shmipc_attach) },
		{ "DETACH", SHMIPC_IOC_DETACH, 0x21, _IOC_NONE, 0 },
		{ "OWN", SHMIPC_IOC_OWN, 0x22, _IOC_WRITE,
		  sizeof(struct shmipc_own) },
		{ "RECLAIM", SHMIPC_IOC_RECLAIM, 0x23, _IOC_WRITE,
		  sizeof(struct shmipc_reclaim) },
		{ "LIST", SHMIPC_IOC_LIST, 0x04, _IOC_READ | _IOC_WRITE,
		  sizeof(struct shmipc_list) },
		{ "PEERS", SHMIPC_IOC_PEERS, 0x24, _IOC_READ | _IOC_WRITE,
		  sizeof(struct shmipc_list) },
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(ioc); i++) {
		EXPECT_EQ(SHMIPC_IOC_MAGIC, _IOC_TYPE(ioc[i].cmd))
			TH_LOG("%s: type", ioc[i].name);
		EXPECT_EQ(ioc[i].nr, _IOC_NR(ioc[i].cmd))
			TH_LOG("%s: nr", ioc[i].name);
		EXPECT_EQ(ioc[i].dir, _IOC_DIR(ioc[i].cmd))
			TH_LOG("%s: dir", ioc[i].name);
		EXPECT_EQ(ioc[i].size, _IOC_SIZE(ioc[i].cmd))
			TH_LOG("%s: size", ioc[i].name);
		for (j = 0; j < i; j++) {
			EXPECT_NE(ioc[j].cmd, ioc[i].cmd)
				TH_LOG("%s == %s", ioc[j].name, ioc[i].name);
		}
	}
}

TEST(constants)
{
	EXPECT_EQ(1, SHMIPC_API_VERSION);
	EXPECT_EQ(64, SHMIPC_NAME_MAX);
	EXPECT_EQ(64, SHMIPC_WAITV_MAX);
	EXPECT_EQ(UINT64_MAX, SHMIPC_DEADLINE_NONE);
	EXPECT_EQ(8, sizeof(SHMIPC_DEADLINE_NONE));
	EXPECT_EQ(UINT32_MAX, SHMIPC_WAKE_ALL);
	EXPECT_EQ(4, sizeof(SHMIPC_WAKE_ALL));
	/* single bits, no overlap inside a flags word */
	EXPECT_EQ(0x7ULL, SHMIPC_FEAT_REGIONS | SHMIPC_FEAT_WAIT |
			  SHMIPC_FEAT_WAITV);
	EXPECT_EQ(0x7U, SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT |
			SHMIPC_CREATE_TIED);
	EXPECT_EQ(0, SHMIPC_OPEN_RDONLY & SHMIPC_OPEN_STAT);
	EXPECT_EQ(0x3fU, SHMIPC_INFO_PERSISTENT | SHMIPC_INFO_UNLINKED |
			 SHMIPC_INFO_READ | SHMIPC_INFO_WRITE |
			 SHMIPC_INFO_DESTROYED | SHMIPC_INFO_TIED);
	EXPECT_NE(0, SHMIPC_RESULT_CREATED);
}

TEST(peer_constants)
{
	EXPECT_EQ(0x1fULL, SHMIPC_FEAT_REGIONS | SHMIPC_FEAT_WAIT |
			   SHMIPC_FEAT_WAITV | SHMIPC_FEAT_PEERS |
			   SHMIPC_FEAT_URING_CMD);
	EXPECT_EQ(128, SHMIPC_EVENT_QUEUE_LEN);
	EXPECT_EQ(64, SHMIPC_OWNED_MAX);
	EXPECT_EQ(0x80000000U, SHMIPC_OWNER_DIED);
	EXPECT_EQ(4, sizeof(SHMIPC_OWNER_DIED));
	EXPECT_EQ(0x1U, SHMIPC_UNLINK_DESTROY);
	EXPECT_EQ(0x1U, SHMIPC_OWN_RELEASE);
	EXPECT_EQ(0x1U, SHMIPC_EVENT_REPLAY);
	/* event types: distinct, non-zero (a zeroed record is no event) */
	EXPECT_EQ(1, SHMIPC_EVENT_JOIN);
	EXPECT_EQ(2, SHMIPC_EVENT_LEAVE);
	EXPECT_EQ(3, SHMIPC_EVENT_DEATH);
	EXPECT_EQ(4, SHMIPC_EVENT_OVERFLOW);
	/* the io_uring command is the WAIT ioctl number */
	EXPECT_EQ(SHMIPC_IOC_WAIT, SHMIPC_URING_WAIT);
	/* cmd_op is 32 bits in the SQE */
	EXPECT_EQ(SHMIPC_URING_WAIT, (__u32)SHMIPC_URING_WAIT);
}

TEST(list_constants)
{
	EXPECT_EQ(0x20ULL, SHMIPC_FEAT_LIST);
	EXPECT_EQ(1024, SHMIPC_LIST_ENTRY_MAX);
	EXPECT_EQ(1, SHMIPC_PEER_STATE_ALIVE);
	EXPECT_EQ(2, SHMIPC_PEER_STATE_DEAD);
}

TEST_HARNESS_MAIN
