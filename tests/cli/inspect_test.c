// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc's introspection API (<shmipc/introspect.h>) itself: bad
 * arguments, counts beyond the room given, an inspector that is no
 * peer, events in order, deadlines.  What it shows of a region is
 * checked through the command line (cli_test).  Host (portable) and VM
 * (module).
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "lib_test.h"

#include <fcntl.h>

#define RSIZE	(64 * 1024)

FIXTURE(inspect) {
	char name[64];
	struct shmipc_region *r;
	bool module;
};

FIXTURE_SETUP(inspect)
{
	self->module = shmipc_backend() == SHMIPC_BACKEND_MODULE;
	lt_name(self->name, sizeof(self->name), "insp");
	ASSERT_EQ(0, shmipc_region_open(self->name, RSIZE, 0600,
					SHMIPC_REGION_CREATE |
					SHMIPC_REGION_EXCL, &self->r));
	ASSERT_EQ(0, shmipc_spsc_create(self->r, "a", 8, 4));
	ASSERT_EQ(0, shmipc_mpmc_create(self->r, "b", 8, 4));
}

FIXTURE_TEARDOWN(inspect)
{
	shmipc_region_close(self->r);
	shmipc_region_unlink(self->name);
}

TEST_F(inspect, bad_arguments)
{
	struct shmipc_inspect *in = (void *)1;
	struct shmipc_region_stat st;
	struct shmipc_peer_event ev;

	EXPECT_EQ(-EINVAL, shmipc_list_regions(NULL, 1));
	EXPECT_EQ(-EINVAL, shmipc_inspect_open(NULL, &in));
	EXPECT_EQ(-EINVAL, shmipc_inspect_open("a/b", &in));
	EXPECT_EQ(-EINVAL, shmipc_inspect_open("", &in));
	EXPECT_EQ(-EINVAL, shmipc_inspect_open(self->name, NULL));
	EXPECT_EQ(-ENOENT, shmipc_inspect_open("lt-insp-none", &in));
	EXPECT_EQ(NULL, in);
	EXPECT_EQ(-EINVAL, shmipc_region_destroy("a/b"));
	EXPECT_EQ(-EINVAL, shmipc_inspect_stat(NULL, &st));
	EXPECT_EQ(-EINVAL, shmipc_inspect_next_event(NULL, &ev, 0));
	EXPECT_EQ(0, shmipc_inspect_close(NULL));

	ASSERT_EQ(0, shmipc_inspect_open(self->name, &in));
	EXPECT_EQ(-EINVAL, shmipc_inspect_stat(in, NULL));
	EXPECT_EQ(-EINVAL, shmipc_inspect_peers(in, NULL, 1));
	EXPECT_EQ(-EINVAL, shmipc_inspect_objects(in, NULL, 1));
	EXPECT_EQ(-EINVAL, shmipc_inspect_next_event(in, NULL, 0));
	EXPECT_EQ(0, shmipc_inspect_close(in));
}

/* Counts go on beyond the room given; only that many are written. */
TEST_F(inspect, counts_beyond_room)
{
	struct shmipc_object_stat obj[2];
	struct shmipc_region_stat st[2];
	struct shmipc_peer_stat peer;
	struct shmipc_region *r2;
	struct shmipc_inspect *in;
	char other[64];
	int n;

	lt_name(other, sizeof(other), "insp2");
	ASSERT_EQ(0, shmipc_region_open(other, RSIZE, 0600,
					SHMIPC_REGION_CREATE |
					SHMIPC_REGION_PERSISTENT, &r2));
	n = shmipc_list_regions(NULL, 0);
	EXPECT_LE(2, n);
	memset(st, 0x5a, sizeof(st));
	EXPECT_LE(2, shmipc_list_regions(st, 1));
	EXPECT_EQ(0x5a5a5a5aU, st[1].mode);	/* untouched */

	ASSERT_EQ(0, shmipc_inspect_open(self->name, &in));
	memset(obj, 0x5a, sizeof(obj));
	EXPECT_EQ(2, shmipc_inspect_objects(in, NULL, 0));
	EXPECT_EQ(2, shmipc_inspect_objects(in, obj, 1));
	EXPECT_EQ(0x5a5a5a5aU, obj[1].flags);
	EXPECT_TRUE(!strcmp(obj[0].key, "a") || !strcmp(obj[0].key, "b"));
	EXPECT_EQ(1, shmipc_inspect_peers(in, NULL, 0));
	EXPECT_EQ(1, shmipc_inspect_peers(in, &peer, 1));
	EXPECT_EQ(shmipc_region_peer_id(self->r), peer.peer_id);
	EXPECT_EQ(getpid(), peer.pid);
	EXPECT_EQ(SHMIPC_INSPECT_ALIVE, peer.state);
	EXPECT_EQ(0, shmipc_inspect_close(in));
	EXPECT_EQ(0, shmipc_region_close(r2));
	EXPECT_EQ(0, shmipc_region_unlink(other));
}

/* Inspecting joins nothing and changes no count others see. */
TEST_F(inspect, inspector_is_no_peer)
{
	struct shmipc_region_stat before, during;
	struct shmipc_region_info info;
	struct shmipc_inspect *in, *in2;

	ASSERT_EQ(0, shmipc_inspect_open(self->name, &in));
	ASSERT_EQ(0, shmipc_inspect_stat(in, &before));
	ASSERT_EQ(0, shmipc_inspect_open(self->name, &in2));
	ASSERT_EQ(0, shmipc_inspect_stat(in, &during));
	EXPECT_EQ(1, during.nr_peers);
	/* module: not its own file, but another inspector's */
	if (self->module) {
		EXPECT_EQ(1, before.nr_files);
		EXPECT_EQ(2, during.nr_files);
	} else {
		EXPECT_EQ(SHMIPC_STAT_UNKNOWN, during.nr_files);
	}
	ASSERT_EQ(0, shmipc_region_info(self->r, &info));
	EXPECT_EQ(1, info.nr_peers);
	EXPECT_EQ(0, shmipc_inspect_close(in2));
	EXPECT_EQ(0, shmipc_inspect_close(in));
}

TEST_F(inspect, deadlines)
{
	struct shmipc_peer_event ev;
	struct shmipc_inspect *in;

	ASSERT_EQ(0, shmipc_inspect_open(self->name, &in));
	EXPECT_EQ(-ETIMEDOUT, shmipc_inspect_next_event(in, &ev, 0));
	EXPECT_EQ(-ETIMEDOUT, shmipc_inspect_next_event(
				      in, &ev, shmipc_deadline_in(30 * LT_MS)));
	EXPECT_EQ(0, shmipc_inspect_close(in));
}

/* JOIN then LEAVE of a child, in order, with its ids. */
TEST_F(inspect, events_in_order)
{
	struct shmipc_peer_event ev;
	struct shmipc_inspect *in;
	int go[2], id_pipe[2];
	uint64_t id = 0;
	pid_t pid;

	ASSERT_EQ(0, shmipc_inspect_open(self->name, &in));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(id_pipe, O_CLOEXEC));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_region *r;
		uint64_t me;

		if (shmipc_region_open(self->name, 0, 0, 0, &r))
			_exit(100);
		me = shmipc_region_peer_id(r);
		if (write(id_pipe[1], &me, sizeof(me)) != sizeof(me))
			_exit(101);
		if (lt_await(go[0]))
			_exit(102);
		_exit(shmipc_region_close(r) ? 103 : 0);
	}
	ASSERT_EQ(sizeof(id), read(id_pipe[0], &id, sizeof(id)));
	ASSERT_EQ(0, shmipc_inspect_next_event(
			     in, &ev, shmipc_deadline_in(LT_SOON_MS * LT_MS)));
	EXPECT_EQ(SHMIPC_PEER_JOIN, ev.type);
	EXPECT_EQ(id, ev.peer_id);
	EXPECT_EQ(pid, ev.pid);
	EXPECT_EQ(0, ev.flags);
	ASSERT_EQ(0, lt_signal(go[1]));
	EXPECT_EQ(0, lt_reap(pid));
	ASSERT_EQ(0, shmipc_inspect_next_event(
			     in, &ev, shmipc_deadline_in(LT_SOON_MS * LT_MS)));
	EXPECT_EQ(SHMIPC_PEER_LEAVE, ev.type);
	EXPECT_EQ(id, ev.peer_id);
	EXPECT_EQ(-ETIMEDOUT, shmipc_inspect_next_event(
				      in, &ev, shmipc_deadline_in(30 * LT_MS)));
	EXPECT_EQ(0, shmipc_inspect_close(in));
	close(go[0]);
	close(go[1]);
	close(id_pipe[0]);
	close(id_pipe[1]);
}

TEST_F(inspect, destroy)
{
	struct shmipc_inspect *in;
	struct shmipc_region_stat st;

	if (!self->module) {
		EXPECT_EQ(-EOPNOTSUPP, shmipc_region_destroy(self->name));
		return;
	}
	ASSERT_EQ(0, shmipc_inspect_open(self->name, &in));
	EXPECT_EQ(0, shmipc_region_destroy(self->name));
	EXPECT_EQ(-ENOENT, shmipc_region_destroy(self->name));
	ASSERT_EQ(0, shmipc_inspect_stat(in, &st));
	EXPECT_EQ(SHMIPC_STAT_UNLINKED | SHMIPC_STAT_DESTROYED, st.flags);
	EXPECT_EQ(0, shmipc_inspect_close(in));
	/* its name is gone */
	EXPECT_EQ(-ENOENT, shmipc_inspect_open(self->name, &in));
}

TEST_HARNESS_MAIN
