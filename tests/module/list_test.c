// SPDX-License-Identifier: GPL-2.0
/*
 * SHMIPC_IOC_LIST: the regions a caller may read, with the fields INFO
 * shows, paged by id; what it filters (permissions, user namespaces);
 * every bad argument of LIST and PEERS (struct shmipc_list is shared);
 * walks racing with create/unlink churn.
 *
 * Runs in the VM as root with the module loaded.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "kselftest_harness.h"
#include "shmipc_test.h"

#define UID_A	1000
#define GID_A	1000
#define UID_B	2000
#define GID_B	2000

FIXTURE(list) {
	int dev;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_SETUP(list)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev) TH_LOG("open " SX_DEV ": %s",
					strerror(-self->dev));
	sx_unique_name(self->name, "list");
}

FIXTURE_TEARDOWN(list)
{
	sx_unlink(self->dev, self->name);
	close(self->dev);
}

/* "<tag>-<pid>-<i>" */
static void nth_name(char out[SHMIPC_NAME_MAX], const char *tag, int i)
{
	snprintf(out, SHMIPC_NAME_MAX, "%.30s-%d-%d", tag, (int)getpid(), i);
}

TEST_F(list, features_announce_list)
{
	struct shmipc_features f;

	ASSERT_EQ(0, sx_features(self->dev, &f));
	EXPECT_TRUE(f.features & SHMIPC_FEAT_LIST);
}

/* Every field of an entry is what INFO says of the same region. */
static void expect_entry_is_info(struct __test_metadata *_metadata,
				 const struct shmipc_region_entry *e,
				 const struct shmipc_info *info)
{
	EXPECT_STREQ(info->name, e->name);
	EXPECT_EQ(info->size, e->size);
	EXPECT_EQ(info->id, e->id);
	EXPECT_EQ(info->uid, e->uid);
	EXPECT_EQ(info->gid, e->gid);
	EXPECT_EQ(info->mode, e->mode);
	/* READ and WRITE describe an fd; a list entry has none. */
	EXPECT_EQ(info->flags & ~(SHMIPC_INFO_READ | SHMIPC_INFO_WRITE),
		  e->flags);
	EXPECT_EQ(info->nr_peers, e->nr_peers);
	EXPECT_EQ(info->nr_waiters, e->nr_waiters);
	EXPECT_EQ(info->nr_files, e->nr_files);
	EXPECT_EQ(info->nr_dead, e->nr_dead);
	EXPECT_EQ(0, e->reserved[0]);
	EXPECT_EQ(0, e->reserved[1]);
}

TEST_F(list, entry_shows_known_state)
{
	struct shmipc_region_entry e;
	struct shmipc_info info;
	__u64 own = 8, me, dead_id = 0;
	pid_t waiter, owner;
	int fd, fd2;

	fd = sx_create(self->dev, self->name, 3 * 4096 + 100, 0640,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	fd2 = sx_open(self->dev, self->name, SHMIPC_OPEN_RDONLY);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, sx_attach(fd, &me));
	/* a dead peer still marked: it owned a word */
	owner = sx_fork_owner(fd, &own, 1, NULL, 0, &dead_id);
	ASSERT_LT(0, owner);
	ASSERT_EQ(128 + SIGKILL, sx_kill_reap(owner));
	ASSERT_TRUE(sx_wait_peers(fd, 1, 1));
	/* a waiter asleep on word 4 */
	waiter = sx_fork();
	ASSERT_LE(0, waiter);
	if (waiter == 0)
		_exit(sx_errcode(sx_wait(fd, 4, 0,
					 sx_deadline_ms(SX_CHILD_WAIT_MS))));
	ASSERT_TRUE(sx_wait_waiters(fd, 1));

	ASSERT_EQ(0, sx_list_find(self->dev, self->name, &e));
	ASSERT_EQ(0, sx_info(fd, &info));
	expect_entry_is_info(_metadata, &e, &info);
	/* and the values themselves */
	EXPECT_EQ(3 * 4096 + 100, e.size);
	EXPECT_EQ(0640, e.mode);
	EXPECT_EQ(0, e.uid);
	EXPECT_EQ(0, e.gid);
	EXPECT_EQ(SHMIPC_INFO_PERSISTENT, e.flags);
	EXPECT_EQ(1, e.nr_peers);
	EXPECT_EQ(1, e.nr_dead);
	EXPECT_EQ(1, e.nr_waiters);
	/* fd and fd2: children's inherited copies are the same files */
	EXPECT_EQ(2, e.nr_files);

	ASSERT_EQ(1, sx_wake(fd, 4, 1));
	EXPECT_EQ(0, sx_reap(waiter));
	ASSERT_EQ(0, sx_reclaim(fd, dead_id));
	ASSERT_EQ(0, sx_list_find(self->dev, self->name, &e));
	EXPECT_EQ(0, e.nr_waiters);
	EXPECT_EQ(0, e.nr_dead);
	close(fd2);
	ASSERT_EQ(0, sx_list_find(self->dev, self->name, &e));
	EXPECT_EQ(1, e.nr_files);
	close(fd);
}

TEST_F(list, unlinked_region_listed_while_held)
{
	struct shmipc_region_entry e;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_list_find(self->dev, self->name, &e));
	EXPECT_EQ(0, e.flags);
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	ASSERT_EQ(0, sx_list_find(self->dev, self->name, &e));
	EXPECT_EQ(SHMIPC_INFO_UNLINKED, e.flags);
	close(fd);
	EXPECT_EQ(-ENOENT, sx_list_find(self->dev, self->name, NULL));
}

TEST_F(list, destroyed_region_flagged)
{
	struct shmipc_region_entry e;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600,
		       SHMIPC_CREATE_EXCL | SHMIPC_CREATE_PERSISTENT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_destroy(self->dev, self->name));
	ASSERT_EQ(0, sx_list_find(self->dev, self->name, &e));
	EXPECT_EQ(SHMIPC_INFO_PERSISTENT | SHMIPC_INFO_UNLINKED |
		  SHMIPC_INFO_DESTROYED, e.flags);
	close(fd);
	EXPECT_EQ(-ENOENT, sx_list_find(self->dev, self->name, NULL));
}

#define NPAGED 10

TEST_F(list, pages_cover_every_region_once)
{
	struct shmipc_region_entry all[512];
	char names[NPAGED][SHMIPC_NAME_MAX];
	int fds[NPAGED], seen[NPAGED] = { 0 };
	__u32 pages[] = { 1, 3, 10, 64 };
	unsigned int p;
	int i, j, n;

	for (i = 0; i < NPAGED; i++) {
		nth_name(names[i], "lpage", i);
		fds[i] = sx_create(self->dev, names[i], 4096 * (i + 1), 0600,
				   SHMIPC_CREATE_EXCL);
		ASSERT_LE(0, fds[i]);
	}
	for (p = 0; p < ARRAY_SIZE(pages); p++) {
		memset(seen, 0, sizeof(seen));
		n = sx_walk(self->dev, SHMIPC_IOC_LIST, all, 512, pages[p]);
		ASSERT_LE(NPAGED, n) TH_LOG("page %u: %d", pages[p], n);
		ASSERT_GE(512, n);
		for (i = 0; i < n; i++) {
			for (j = 0; j < NPAGED; j++) {
				if (strcmp(all[i].name, names[j]))
					continue;
				seen[j]++;
				EXPECT_EQ(4096 * (j + 1), all[i].size);
			}
		}
		for (j = 0; j < NPAGED; j++) {
			EXPECT_EQ(1, seen[j]) TH_LOG("page %u: %s",
						     pages[p], names[j]);
		}
	}
	for (i = 0; i < NPAGED; i++)
		close(fds[i]);
}

TEST_F(list, count_zero_only_counts)
{
	struct shmipc_region_entry poison[2];
	struct shmipc_list l;
	int fd, n;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	n = sx_walk(self->dev, SHMIPC_IOC_LIST, NULL, 0, 8);
	ASSERT_LE(1, n);
	memset(poison, 0xa5, sizeof(poison));
	ASSERT_EQ(0, sx_list_call(self->dev, SHMIPC_IOC_LIST, poison, 0,
				  sizeof(poison[0]), 0, &l));
	EXPECT_EQ(0, l.count);
	EXPECT_EQ(n, l.total);
	EXPECT_EQ(0, l.next);	/* nothing handed out: the cursor stays */
	EXPECT_EQ(0xa5a5a5a5U, poison[0].mode);
	/* a NULL array is fine when nothing is written */
	ASSERT_EQ(0, sx_list_call(self->dev, SHMIPC_IOC_LIST, NULL, 0,
				  sizeof(poison[0]), 0, &l));
	EXPECT_EQ(n, l.total);
	close(fd);
}

TEST_F(list, cursor_past_the_end_gives_nothing)
{
	struct shmipc_region_entry e[4];
	struct shmipc_info info;
	struct shmipc_list l;
	int fd;

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sx_info(fd, &info));
	/* ours is the newest region: nothing after its id */
	ASSERT_EQ(0, sx_list_call(self->dev, SHMIPC_IOC_LIST, e, 4,
				  sizeof(e[0]), info.id, &l));
	EXPECT_EQ(0, l.count);
	EXPECT_EQ(0, l.next);
	EXPECT_LE(1, l.total);
	/* and just before it: exactly ours */
	ASSERT_EQ(0, sx_list_call(self->dev, SHMIPC_IOC_LIST, e, 4,
				  sizeof(e[0]), info.id - 1, &l));
	ASSERT_EQ(1, l.count);
	EXPECT_STREQ(self->name, e[0].name);
	EXPECT_EQ(0, l.next);
	close(fd);
}

TEST_F(list, larger_entry_size_zeroes_the_tail)
{
	const __u32 stride = 256;
	unsigned char buf[2 * 256];
	struct shmipc_region_entry e;
	struct shmipc_list l;
	int fd, fd2, i;
	char name2[SHMIPC_NAME_MAX];

	fd = sx_create(self->dev, self->name, 4096, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	nth_name(name2, "ltail", 0);
	fd2 = sx_create(self->dev, name2, 8192, 0600, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd2);
	memset(buf, 0xa5, sizeof(buf));
	{
		struct shmipc_info info;

		ASSERT_EQ(0, sx_info(fd, &info));
		ASSERT_EQ(0, sx_list_call(self->dev, SHMIPC_IOC_LIST, buf, 2,
					  stride, info.id - 1, &l));
	}
	ASSERT_EQ(2, l.count);
	memcpy(&e, buf, sizeof(e));
	EXPECT_STREQ(self->name, e.name);
	memcpy(&e, buf + stride, sizeof(e));
	EXPECT_STREQ(name2, e.name);
	EXPECT_EQ(8192, e.size);
	for (i = sizeof(e); i < (int)stride; i++) {
		EXPECT_EQ(0, buf[i]);
		EXPECT_EQ(0, buf[stride + i]);
	}
	close(fd2);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* The struct shmipc_list checks, for LIST and for PEERS */

FIXTURE(args) {
	int dev;
	int fd;		/* the fd the ioctl goes to */
	int region;
	char name[SHMIPC_NAME_MAX];
};

FIXTURE_VARIANT(args) {
	unsigned long req;
};

FIXTURE_VARIANT_ADD(args, list) {
	.req = SHMIPC_IOC_LIST,
};

FIXTURE_VARIANT_ADD(args, peers) {
	.req = SHMIPC_IOC_PEERS,
};

FIXTURE_SETUP(args)
{
	self->dev = sx_dev_open();
	ASSERT_LE(0, self->dev);
	sx_unique_name(self->name, "largs");
	self->region = sx_create(self->dev, self->name, 4096, 0600,
				 SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, self->region);
	/* one entry at least on either list */
	ASSERT_EQ(0, sx_attach(self->region, NULL));
	self->fd = variant->req == SHMIPC_IOC_LIST ? self->dev : self->region;
}

FIXTURE_TEARDOWN(args)
{
	close(self->region);
	close(self->dev);
}

TEST_F(args, bad_struct_fields_einval)
{
	unsigned char buf[SHMIPC_LIST_ENTRY_MAX + 8];
	__u32 esz = (__u32)sx_page_entry_size(variant->req);
	__u32 bad_sizes[] = { 0, 8, esz - 8, esz + 4, esz + 1,
			      SHMIPC_LIST_ENTRY_MAX + 8, 0xffffffffU };
	struct shmipc_list l;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		EXPECT_EQ(-EINVAL, sx_list_call(self->fd, variant->req, buf, 1,
						bad_sizes[i], 0, NULL))
			TH_LOG("entry_size %u", bad_sizes[i]);
	}
	/* the largest stride is fine */
	EXPECT_EQ(0, sx_list_call(self->fd, variant->req, buf, 1,
				  SHMIPC_LIST_ENTRY_MAX, 0, NULL));

	memset(&l, 0, sizeof(l));
	l.entries = (__u64)(uintptr_t)buf;
	l.count = 1;
	l.entry_size = esz;
	l.flags = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, variant->req, &l));
	l.flags = 0x80000000U;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, variant->req, &l));
	l.flags = 0;
	l.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, variant->req, &l));
	l.reserved[0] = 0;
	l.reserved[1] = 1ULL << 63;
	EXPECT_EQ(-EINVAL, sx_ioctl(self->fd, variant->req, &l));
	l.reserved[1] = 0;
	EXPECT_EQ(0, sx_ioctl(self->fd, variant->req, &l));
}

TEST_F(args, out_fields_ignored_on_input)
{
	struct shmipc_list l, ref;
	unsigned char buf[4 * 128];
	__u32 esz = (__u32)sx_page_entry_size(variant->req);

	ASSERT_EQ(0, sx_list_call(self->fd, variant->req, buf, 4, esz, 0,
				  &ref));
	memset(&l, 0, sizeof(l));
	l.entries = (__u64)(uintptr_t)buf;
	l.count = 4;
	l.entry_size = esz;
	l.next = 0xdeadbeefULL;
	l.total = 0xdeadbeefU;
	ASSERT_EQ(0, sx_ioctl(self->fd, variant->req, &l));
	EXPECT_EQ(ref.count, l.count);
	EXPECT_EQ(ref.total, l.total);
	EXPECT_EQ(ref.next, l.next);
}

TEST_F(args, bad_pointers_efault)
{
	__u32 esz = (__u32)sx_page_entry_size(variant->req);
	long pg = (long)sx_page();
	void *ro;

	/* the array */
	EXPECT_EQ(-EFAULT, sx_list_call(self->fd, variant->req, NULL, 1, esz, 0,
					NULL));
	EXPECT_EQ(-EFAULT, sx_list_call(self->fd, variant->req, (void *)8, 1,
					esz, 0, NULL));
	EXPECT_EQ(-EFAULT, sx_list_call(self->fd, variant->req,
					(void *)-4096L, 1, esz, 0, NULL));
	/* the struct itself */
	EXPECT_EQ(-EFAULT, sx_ioctl(self->fd, variant->req, NULL));
	EXPECT_EQ(-EFAULT, sx_ioctl(self->fd, variant->req, (void *)16));
	/* readable but not writable: the array, then the struct */
	ro = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	{
		struct shmipc_list *l = ro;

		memset(l, 0, sizeof(*l));
		l->entries = (__u64)(uintptr_t)((char *)ro + 512);
		l->count = 1;
		l->entry_size = esz;
		ASSERT_EQ(0, mprotect(ro, (size_t)pg, PROT_READ));
		EXPECT_EQ(-EFAULT, sx_ioctl(self->fd, variant->req, ro));
		/* count 0 writes no entry, but the struct still is */
		ASSERT_EQ(0, mprotect(ro, (size_t)pg, PROT_READ | PROT_WRITE));
		l->count = 0;
		ASSERT_EQ(0, mprotect(ro, (size_t)pg, PROT_READ));
		EXPECT_EQ(-EFAULT, sx_ioctl(self->fd, variant->req, ro));
	}
	munmap(ro, (size_t)pg);
}

TEST_F(args, wrong_fd_enotty)
{
	unsigned char buf[128];
	__u32 esz = (__u32)sx_page_entry_size(variant->req);
	int other = self->fd == self->dev ? self->region : self->dev;

	EXPECT_EQ(-ENOTTY, sx_list_call(other, variant->req, buf, 1, esz, 0,
					NULL));
}

/* ------------------------------------------------------------------ */
/* What a caller sees */

/*
 * As (uid, gid, one extra group or none): does LIST show @name?  The
 * child's exit code: 0 yes, 1 no (2: the uid in the entry is not
 * @want_uid), else an errno.
 */
static int lists_as(int dev, const char *name, uid_t uid, gid_t gid,
		    gid_t extra, __u32 want_uid)
{
	pid_t pid = sx_fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		gid_t groups[1] = { extra };
		struct shmipc_region_entry e;
		int ret;

		if (sx_become(uid, gid, groups, extra ? 1 : 0))
			_exit(100);
		ret = sx_list_find(dev, name, &e);
		if (ret == -ENOENT)
			_exit(1);
		if (ret)
			_exit(sx_errcode(ret));
		_exit(e.uid == want_uid ? 0 : 2);
	}
	return sx_reap(pid);
}

TEST_F(list, shows_only_readable_regions)
{
	/* mode 0600 of UID_A: its owner and root only */
	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0600));
	EXPECT_EQ(0, lists_as(self->dev, self->name, UID_A, GID_A, 0, UID_A));
	EXPECT_EQ(1, lists_as(self->dev, self->name, UID_B, GID_B, 0, UID_A));
	EXPECT_EQ(1, lists_as(self->dev, self->name, UID_B, GID_B, GID_A,
			      UID_A));
	EXPECT_EQ(0, sx_list_find(self->dev, self->name, NULL))
		TH_LOG("root has CAP_IPC_OWNER");
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));

	/* 0640: the group too */
	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0640));
	EXPECT_EQ(1, lists_as(self->dev, self->name, UID_B, GID_B, 0, UID_A));
	EXPECT_EQ(0, lists_as(self->dev, self->name, UID_B, GID_B, GID_A,
			      UID_A));
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));

	/* 0604: everybody; write-only bits do not make it readable */
	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0604));
	EXPECT_EQ(0, lists_as(self->dev, self->name, UID_B, GID_B, 0, UID_A));
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0622));
	EXPECT_EQ(1, lists_as(self->dev, self->name, UID_B, GID_B, 0, UID_A));
	/* the owner without read bits neither (as a STAT open) */
	ASSERT_EQ(0, sx_unlink(self->dev, self->name));
	ASSERT_EQ(0, sx_create_as(self->dev, self->name, UID_A, GID_A, 0244));
	EXPECT_EQ(1, lists_as(self->dev, self->name, UID_A, GID_A, 0, UID_A));
	EXPECT_EQ(0, lists_as(self->dev, self->name, UID_B, GID_B, 0, UID_A));
}

/*
 * A child in a new user namespace: reports over @ready whether LIST
 * there shows @outer ('v': visible, fail) and whether it shows its own
 * region @name created there; then holds it until @go.
 */
static pid_t fork_userns_lister(int dev, const char *outer, const char *name,
				int ready, int go)
{
	pid_t pid = sx_fork();

	if (pid == 0) {
		char status = 'k';
		int fd;

		if (unshare(CLONE_NEWUSER))
			status = 'u';
		else if (sx_list_find(dev, outer, NULL) != -ENOENT)
			status = 'v';
		else if ((fd = sx_create(dev, name, 4096, 0600,
					 SHMIPC_CREATE_EXCL)) < 0)
			status = 'c';
		else if (sx_list_find(dev, name, NULL))
			status = 'l';
		if (write(ready, &status, 1) != 1)
			_exit(100);
		sx_await_fd(go);
		_exit(status == 'k' ? 0 : 101);
	}
	return pid;
}

TEST_F(list, user_namespaces_see_only_their_own)
{
	char inner[SHMIPC_NAME_MAX];
	int fd, ready[2], go[2];
	char status = 0;
	pid_t pid;

	fd = sx_create(self->dev, self->name, 4096, 0666, SHMIPC_CREATE_EXCL);
	ASSERT_LE(0, fd);
	nth_name(inner, "linner", 0);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork_userns_lister(self->dev, self->name, inner, ready[1],
				 go[0]);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready[0], &status, 1));
	EXPECT_EQ('k', status) TH_LOG("userns child failed at step '%c'",
				      status);
	/* the inner region exists (debugfs shows every namespace)... */
	EXPECT_EQ(1, sx_dbg_count_name(inner));
	/* ...but not here */
	EXPECT_EQ(-ENOENT, sx_list_find(self->dev, inner, NULL));
	EXPECT_EQ(0, sx_list_find(self->dev, self->name, NULL));
	ASSERT_EQ(0, sx_signal_fd(go[1]));
	EXPECT_EQ(0, sx_reap(pid));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Walks during create/unlink churn */

#define CHURNERS	2
#define CHURN_ROUNDS	400
#define STABLE		5

/* Create and remove regions in every way, @rounds times. */
static int churn(int dev, int id, int rounds)
{
	char name[SHMIPC_NAME_MAX];
	int i, fd;

	for (i = 0; i < rounds; i++) {
		snprintf(name, sizeof(name), "lchurn-%d-%d-%d", (int)getpid(),
			 id, i % 7);
		switch (i % 3) {
		case 0:	/* made and gone with its fd */
			fd = sx_create(dev, name, 4096, 0600,
				       SHMIPC_CREATE_EXCL);
			if (fd < 0)
				return 10;
			close(fd);
			break;
		case 1:	/* persistent, unlinked by name */
			fd = sx_create(dev, name, 8192, 0644,
				       SHMIPC_CREATE_EXCL |
				       SHMIPC_CREATE_PERSISTENT);
			if (fd < 0)
				return 11;
			close(fd);
			if (sx_unlink(dev, name))
				return 12;
			break;
		default: /* unlinked while held, then destroyed by close */
			fd = sx_create(dev, name, 4096, 0600,
				       SHMIPC_CREATE_EXCL |
				       SHMIPC_CREATE_PERSISTENT);
			if (fd < 0)
				return 13;
			if (sx_destroy(dev, name))
				return 14;
			close(fd);
			break;
		}
	}
	return 0;
}

TEST_F(list, walks_survive_create_unlink_churn)
{
	char names[STABLE][SHMIPC_NAME_MAX];
	struct shmipc_region_entry all[512];
	pid_t kids[CHURNERS];
	int fds[STABLE], walks = 0, i, j, k, n;
	bool running = true;

	for (i = 0; i < STABLE; i++) {
		nth_name(names[i], "lstable", i);
		fds[i] = sx_create(self->dev, names[i], 4096, 0600,
				   SHMIPC_CREATE_EXCL);
		ASSERT_LE(0, fds[i]);
	}
	for (k = 0; k < CHURNERS; k++) {
		kids[k] = sx_fork();
		ASSERT_LE(0, kids[k]);
		if (kids[k] == 0)
			_exit(churn(self->dev, k, CHURN_ROUNDS));
	}
	/* walk while they churn, and at least a few times */
	while (running || walks < 5) {
		int seen[STABLE] = { 0 };

		n = sx_walk(self->dev, SHMIPC_IOC_LIST, all, 512,
			    (__u32)(walks % 4 + 1));
		ASSERT_LE(STABLE, n) TH_LOG("walk %d: %d", walks, n);
		ASSERT_GE(512, n);
		for (i = 0; i < n; i++) {
			for (j = 0; j < STABLE; j++)
				seen[j] += !strcmp(all[i].name, names[j]);
		}
		for (j = 0; j < STABLE; j++) {
			ASSERT_EQ(1, seen[j]) TH_LOG("walk %d: %s", walks,
						     names[j]);
		}
		walks++;
		running = false;
		for (k = 0; k < CHURNERS; k++)
			running |= !sx_exited(kids[k]);
	}
	for (k = 0; k < CHURNERS; k++) {
		EXPECT_EQ(0, sx_reap(kids[k]));
	}
	/* nothing of the churn is left */
	n = sx_walk(self->dev, SHMIPC_IOC_LIST, all, 512, 7);
	ASSERT_LE(0, n);
	for (i = 0; i < n && i < 512; i++) {
		EXPECT_NE(0, strncmp(all[i].name, "lchurn-", 7))
			TH_LOG("left: %s", all[i].name);
	}
	for (i = 0; i < STABLE; i++)
		close(fds[i]);
}

TEST_HARNESS_MAIN
