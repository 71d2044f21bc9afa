// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc regions: backend selection, create/open/close/unlink, info,
 * peers, and a corrupted region header (error, never a crash).
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "lib_test.h"

#include <stdatomic.h>
#include <sys/stat.h>

#define RSIZE (64 * 1024)

TEST(backend_selected)
{
	int b = shmipc_backend();

	ASSERT_EQ(lt_expected_backend(), b);
	EXPECT_STREQ(b == SHMIPC_BACKEND_MODULE ? "module" : "portable",
		     shmipc_backend_name(b));
	EXPECT_STREQ("unknown", shmipc_backend_name(0));
	EXPECT_NE(NULL, strstr(shmipc_strerror(-EOWNERDEAD), "died"));
	EXPECT_NE(NULL, strstr(shmipc_strerror(EBADMSG), "corrupt"));
}

/* SHMIPC_BACKEND forces a backend, checked once per process. */
static int backend_with_env(const char *val)
{
	pid_t pid = lt_fork();

	if (pid == 0) {
		struct shmipc_region *r;
		int b, ret;

		setenv("SHMIPC_BACKEND", val, 1);
		b = shmipc_backend();
		ret = shmipc_region_open("x", 0, 0, 0, &r);
		/* Errors propagate to every call. */
		if (b < 0 && ret != b)
			_exit(150);
		_exit(b < 0 ? lt_code(b) : 100 + b);
	}
	return lt_reap(pid);
}

TEST(backend_env)
{
	bool dev = access("/dev/shmipc", R_OK | W_OK) == 0;

	EXPECT_EQ(100 + SHMIPC_BACKEND_PORTABLE, backend_with_env("portable"));
	EXPECT_EQ(dev ? 100 + SHMIPC_BACKEND_MODULE : ENODEV,
		  backend_with_env("module"));
	EXPECT_EQ(EINVAL, backend_with_env("bogus"));
}

TEST(deadline)
{
	uint64_t now = shmipc_now_ns();

	EXPECT_LE(now, shmipc_deadline_in(0));
	EXPECT_EQ(SHMIPC_FOREVER, shmipc_deadline_in(UINT64_MAX - 5));
	EXPECT_LE(now + 1000000000ULL, shmipc_deadline_in(1000000000ULL));
}

FIXTURE(region) {
	char name[64];
	struct shmipc_region *r;
};

FIXTURE_SETUP(region)
{
	int ret;

	ret = lt_region(self->name, sizeof(self->name), "region", RSIZE,
			&self->r);
	ASSERT_EQ(0, ret) TH_LOG("create: %s", shmipc_strerror(ret));
}

FIXTURE_TEARDOWN(region)
{
	shmipc_region_close(self->r);
	shmipc_region_unlink(self->name);
}

TEST_F(region, create_open_share)
{
	struct shmipc_region *r2 = NULL;
	struct shmipc_region_info info;
	unsigned char *a, *b;

	a = shmipc_region_base(self->r);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(RSIZE, shmipc_region_size(self->r));
	EXPECT_NE(0, shmipc_region_peer_id(self->r));
	a[RSIZE - 1] = 0x5a;
	a[SHMIPC_REGION_HDR_SIZE] = 0xa5;

	ASSERT_EQ(0, shmipc_region_open(self->name, 0, 0, 0, &r2));
	b = shmipc_region_base(r2);
	EXPECT_NE(a, b);
	EXPECT_EQ(RSIZE, shmipc_region_size(r2));
	EXPECT_EQ(0x5a, b[RSIZE - 1]);
	EXPECT_EQ(0xa5, b[SHMIPC_REGION_HDR_SIZE]);
	b[100 + SHMIPC_REGION_HDR_SIZE] = 7;
	EXPECT_EQ(7, a[100 + SHMIPC_REGION_HDR_SIZE]);
	/* One process, one peer on the module; same id for both handles. */
	if (shmipc_backend() == SHMIPC_BACKEND_MODULE)
		EXPECT_EQ(shmipc_region_peer_id(self->r),
			  shmipc_region_peer_id(r2));

	ASSERT_EQ(0, shmipc_region_info(self->r, &info));
	EXPECT_STREQ(self->name, info.name);
	EXPECT_EQ(RSIZE, info.size);
	EXPECT_EQ(SHMIPC_REGION_HDR_SIZE, info.used);
	EXPECT_EQ(0600, info.mode);
	EXPECT_EQ(getuid(), info.uid);
	EXPECT_EQ(1, info.created);
	EXPECT_EQ(shmipc_backend(), info.backend);
	EXPECT_LE(1, info.nr_peers);
	EXPECT_EQ(0, info.nr_entries);
	ASSERT_EQ(0, shmipc_region_info(r2, &info));
	EXPECT_EQ(0, info.created);

	EXPECT_EQ(0, shmipc_region_close(r2));
	EXPECT_EQ(0, shmipc_region_close(NULL));
}

TEST_F(region, exists_and_missing)
{
	struct shmipc_region *r2 = NULL;
	char other[64];

	EXPECT_EQ(-EEXIST, shmipc_region_open(self->name, RSIZE, 0600,
					      SHMIPC_REGION_CREATE |
					      SHMIPC_REGION_EXCL, &r2));
	EXPECT_EQ(NULL, r2);
	/* CREATE without EXCL opens the existing one. */
	ASSERT_EQ(0, shmipc_region_open(self->name, RSIZE, 0600,
					SHMIPC_REGION_CREATE, &r2));
	EXPECT_EQ(RSIZE, shmipc_region_size(r2));
	shmipc_region_close(r2);
	/* Asking for more than there is. */
	EXPECT_EQ(-EINVAL, shmipc_region_open(self->name, RSIZE * 2, 0, 0, &r2));

	lt_name(other, sizeof(other), "missing");
	EXPECT_EQ(-ENOENT, shmipc_region_open(other, 0, 0, 0, &r2));
	EXPECT_EQ(-ENOENT, shmipc_region_unlink(other));

	/* After unlink the name is gone; the open handle still works. */
	ASSERT_EQ(0, shmipc_region_unlink(self->name));
	EXPECT_EQ(-ENOENT, shmipc_region_open(self->name, 0, 0, 0, &r2));
	((char *)shmipc_region_base(self->r))[RSIZE - 1] = 1;
}

TEST(bad_arguments)
{
	struct shmipc_region *r = (void *)1;
	char long_name[80];
	const char *bad[] = { "", ".", "..", "a/b", "a b", "\xc3\xa9" };
	unsigned int i;

	memset(long_name, 'x', 64);
	long_name[64] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *b = bad[i];

		EXPECT_EQ(-EINVAL, shmipc_region_open(b, RSIZE, 0600,
						      SHMIPC_REGION_CREATE, &r))
			TH_LOG("name '%s'", b);
	}
	EXPECT_EQ(-EINVAL, shmipc_region_open(long_name, RSIZE, 0600,
					      SHMIPC_REGION_CREATE, &r));
	EXPECT_EQ(-EINVAL, shmipc_region_open(NULL, RSIZE, 0600,
					      SHMIPC_REGION_CREATE, &r));
	EXPECT_EQ(-EINVAL, shmipc_region_open("ok", SHMIPC_REGION_HDR_SIZE,
					      0600, SHMIPC_REGION_CREATE, &r));
	EXPECT_EQ(-EINVAL, shmipc_region_open("ok", RSIZE, 01600,
					      SHMIPC_REGION_CREATE, &r));
	EXPECT_EQ(-EINVAL, shmipc_region_open("ok", RSIZE, 0600, 0x100, &r));
	EXPECT_EQ(-EINVAL, shmipc_region_open("ok", RSIZE, 0600,
					      SHMIPC_REGION_EXCL, &r));
	EXPECT_EQ(-EINVAL, shmipc_region_open("ok", RSIZE, 0600,
					      SHMIPC_REGION_CREATE, NULL));
	EXPECT_EQ(-EINVAL, shmipc_region_unlink("a/b"));
	EXPECT_EQ(-EINVAL, shmipc_region_info(NULL, NULL));
	EXPECT_EQ(NULL, shmipc_region_base(NULL));
	EXPECT_EQ(0, shmipc_region_size(NULL));
}

TEST(mode_honoured)
{
	struct shmipc_region *r;
	struct shmipc_region_info info;
	char name[64];
	mode_t old = umask(077);

	lt_name(name, sizeof(name), "mode");
	ASSERT_EQ(0, shmipc_region_open(name, RSIZE, 0644,
					SHMIPC_REGION_CREATE, &r));
	umask(old);
	ASSERT_EQ(0, shmipc_region_info(r, &info));
	EXPECT_EQ(0644, info.mode);
	shmipc_region_close(r);
	shmipc_region_unlink(name);
}

/* A size that is not a multiple of the page size is kept exactly. */
TEST(odd_size)
{
	struct shmipc_region *r, *r2;
	char name[64];
	uint64_t off;

	lt_name(name, sizeof(name), "odd");
	ASSERT_EQ(0, shmipc_region_open(name, 10001, 0600,
					SHMIPC_REGION_CREATE, &r));
	EXPECT_EQ(10001, shmipc_region_size(r));
	ASSERT_EQ(0, shmipc_region_open(name, 0, 0, 0, &r2));
	EXPECT_EQ(10001, shmipc_region_size(r2));
	EXPECT_EQ(-ENOMEM, shmipc_dir_alloc(r2, "big", 10001 - 4096 + 1, 0,
					    &off));
	EXPECT_EQ(0, shmipc_dir_alloc(r2, "fits", 10001 - 4096, 0, &off));
	shmipc_region_close(r2);
	shmipc_region_close(r);
	shmipc_region_unlink(name);
}

/* Names: the module drops a non-persistent name with its last handle;
 * the portable backend keeps every name until unlink (documented). */
TEST(name_lifetime)
{
	struct shmipc_region *r, *r2;
	char name[64];

	lt_name(name, sizeof(name), "life");
	ASSERT_EQ(0, shmipc_region_open(name, RSIZE, 0600,
					SHMIPC_REGION_CREATE, &r));
	ASSERT_EQ(0, shmipc_region_close(r));
	if (shmipc_backend() == SHMIPC_BACKEND_MODULE) {
		EXPECT_EQ(-ENOENT, shmipc_region_open(name, 0, 0, 0, &r2));
	} else {
		ASSERT_EQ(0, shmipc_region_open(name, 0, 0, 0, &r2));
		shmipc_region_close(r2);
		EXPECT_EQ(0, shmipc_region_unlink(name));
	}

	lt_name(name, sizeof(name), "persist");
	ASSERT_EQ(0, shmipc_region_open(name, RSIZE, 0600,
					SHMIPC_REGION_CREATE |
					SHMIPC_REGION_PERSISTENT, &r));
	((char *)shmipc_region_base(r))[RSIZE - 1] = 9;
	ASSERT_EQ(0, shmipc_region_close(r));
	ASSERT_EQ(0, shmipc_region_open(name, 0, 0, 0, &r2));
	EXPECT_EQ(9, ((char *)shmipc_region_base(r2))[RSIZE - 1]);
	shmipc_region_close(r2);
	EXPECT_EQ(0, shmipc_region_unlink(name));
	EXPECT_EQ(-ENOENT, shmipc_region_open(name, 0, 0, 0, &r2));
}

/* A child joins the region; the parent sees two peers, then one after
 * the child is killed. */
TEST_F(region, peers_join_and_die)
{
	struct shmipc_region_info info;
	int p2c[2], c2p[2], ret;
	uint64_t end;
	pid_t pid;

	ASSERT_EQ(0, pipe(p2c));
	ASSERT_EQ(0, pipe(c2p));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_region *r;

		ret = shmipc_region_open(self->name, 0, 0, 0, &r);
		if (ret)
			_exit(lt_code(ret));
		if (shmipc_region_peer_id(r) == shmipc_region_peer_id(self->r))
			_exit(100);
		lt_signal(c2p[1]);
		lt_await(p2c[0]);	/* killed meanwhile */
		_exit(0);
	}
	ASSERT_EQ(0, lt_await(c2p[0]));
	ASSERT_EQ(0, shmipc_region_info(self->r, &info));
	EXPECT_EQ(2, info.nr_peers);
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	end = shmipc_deadline_in(LT_SOON_MS * LT_MS);
	do {
		ASSERT_EQ(0, shmipc_region_info(self->r, &info));
		if (info.nr_peers == 1)
			break;
		lt_sleep_ms(5);
	} while (shmipc_now_ns() < end);
	EXPECT_EQ(1, info.nr_peers);
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
}

/* ------------------------------------------------------------------ */
/* A hostile peer rewrites the header: opening fails cleanly. */

static int reopen(const char *name)
{
	struct shmipc_region *r = NULL;
	int ret = shmipc_region_open(name, 0, 0, 0, &r);

	if (!ret)
		shmipc_region_close(r);
	return ret;
}

TEST_F(region, corrupt_header)
{
	uint32_t *w = shmipc_region_base(self->r);	/* struct rhdr */
	uint64_t *q = shmipc_region_base(self->r);
	uint32_t saved[16];

	memcpy(saved, w, sizeof(saved));
	w[0] = 0xdeadbeef;		/* magic */
	EXPECT_EQ(-EBADMSG, reopen(self->name));
	memcpy(w, saved, sizeof(saved));
	ASSERT_EQ(0, reopen(self->name));

	w[1] = 99;			/* layout version */
	EXPECT_EQ(-EPROTONOSUPPORT, reopen(self->name));
	memcpy(w, saved, sizeof(saved));

	w[2] = 64;			/* header size */
	EXPECT_EQ(-EBADMSG, reopen(self->name));
	memcpy(w, saved, sizeof(saved));

	w[3] = 1000000;			/* directory capacity */
	EXPECT_EQ(-EBADMSG, reopen(self->name));
	memcpy(w, saved, sizeof(saved));

	q[3] = (uint64_t)RSIZE * 1024;	/* recorded size */
	EXPECT_EQ(-EBADMSG, reopen(self->name));
	memcpy(w, saved, sizeof(saved));

	q[8] = (uint64_t)RSIZE * 2;	/* heap top past the end */
	{
		struct shmipc_region_info info;
		uint64_t off;

		EXPECT_EQ(-EBADMSG, shmipc_region_info(self->r, &info));
		EXPECT_EQ(-EBADMSG, shmipc_dir_alloc(self->r, "k", 8, 0, &off));
	}
	memcpy(w, saved, sizeof(saved));
	q[8] = SHMIPC_REGION_HDR_SIZE;
	ASSERT_EQ(0, reopen(self->name));
}

/* A header that is never initialized (creator died first): -EAGAIN after
 * a bounded wait, not a hang. */
TEST_F(region, uninitialized_header_times_out)
{
	_Atomic uint32_t *magic = shmipc_region_base(self->r);
	uint32_t saved = atomic_load(magic);
	uint64_t t0 = shmipc_now_ns();

	atomic_store(magic, 0);
	EXPECT_EQ(-EAGAIN, reopen(self->name));
	EXPECT_GT(10000 * LT_MS, shmipc_now_ns() - t0);
	atomic_store(magic, saved);
	EXPECT_EQ(0, reopen(self->name));
}

/* Portable: a peer whose table slot was taken over (thought dead) must
 * not clear the new holder's pid when it leaves. */
#define PEERS_OFF	128	/* struct rhdr: the peer table */
#define PEER_SIZE	32	/* peer_id at 0, pid (low half of owner) at 8 */

TEST_F(region, detach_spares_new_slot_holder)
{
	struct shmipc_region *r2 = NULL;
	char *base = shmipc_region_base(self->r);
	uint64_t id;
	char *slot = NULL;
	int i;

	if (shmipc_backend() != SHMIPC_BACKEND_PORTABLE)
		return;		/* the module keeps peers in the kernel */
	ASSERT_EQ(0, shmipc_region_open(self->name, 0, 0, 0, &r2));
	id = shmipc_region_peer_id(r2);
	for (i = 0; i < SHMIPC_PEERS_MAX; i++) {
		char *p = base + PEERS_OFF + i * PEER_SIZE;

		if (__atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED) == id)
			slot = p;
	}
	ASSERT_NE(NULL, slot);
	/* Another (live: our pid) peer took the slot over. */
	__atomic_store_n((uint64_t *)slot, id + 1000, __ATOMIC_RELAXED);
	ASSERT_EQ(0, shmipc_region_close(r2));
	EXPECT_EQ(id + 1000,
		  __atomic_load_n((uint64_t *)slot, __ATOMIC_RELAXED));
	EXPECT_EQ((uint32_t)getpid(),
		  __atomic_load_n((uint32_t *)(slot + 8), __ATOMIC_RELAXED));
}

TEST_HARNESS_MAIN
