// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc directory: named objects (key -> offset) and the bump
 * allocator; concurrent inserters in several processes; a hostile peer
 * corrupting entries and the heap cursor.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "lib_test.h"

#include <stdatomic.h>

#define RSIZE (256 * 1024)
/* struct rhdr: heap_top at 64, peers at 128 (32 x 32 bytes), then the
 * directory (32 x 64 bytes: state, pad, off, size, key[40]). */
#define HEAP_TOP_OFF	64
#define DIR_OFF		(128 + 32 * 32)
#define DIRENT(i)	(DIR_OFF + (i) * 64)

FIXTURE(dir) {
	char name[64];
	struct shmipc_region *r;
	char *base;
};

FIXTURE_SETUP(dir)
{
	int ret;

	ret = lt_region(self->name, sizeof(self->name), "dir", RSIZE,
			&self->r);
	ASSERT_EQ(0, ret) TH_LOG("create: %s", shmipc_strerror(ret));
	self->base = shmipc_region_base(self->r);
}

FIXTURE_TEARDOWN(dir)
{
	shmipc_region_close(self->r);
	shmipc_region_unlink(self->name);
}

TEST_F(dir, alloc_and_find)
{
	uint64_t a, b, off, size;
	struct shmipc_region_info info;
	unsigned int i;

	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "alpha", 100, 0, &a));
	EXPECT_EQ(0, a % 64);
	EXPECT_LE(SHMIPC_REGION_HDR_SIZE, a);
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, self->base[a + i]);
	memset(self->base + a, 0x11, 100);
	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "beta", 8, 8, &b));
	EXPECT_LE(a + 100, b);
	EXPECT_EQ(0, b % 8);

	ASSERT_EQ(0, shmipc_dir_find(self->r, "alpha", &off, &size));
	EXPECT_EQ(a, off);
	EXPECT_EQ(100, size);
	ASSERT_EQ(0, shmipc_dir_find(self->r, "beta", &off, NULL));
	EXPECT_EQ(b, off);
	EXPECT_EQ(-ENOENT, shmipc_dir_find(self->r, "gamma", &off, &size));

	ASSERT_EQ(0, shmipc_region_info(self->r, &info));
	EXPECT_EQ(2, info.nr_entries);
	EXPECT_EQ(b + 8, info.used);
	EXPECT_EQ(self->base + a, shmipc_region_ptr(self->r, a, 100));
	EXPECT_EQ(NULL, shmipc_region_ptr(self->r, RSIZE - 4, 8));
	EXPECT_EQ(NULL, shmipc_region_ptr(self->r, UINT64_MAX, 2));
}

TEST_F(dir, duplicate_key)
{
	uint64_t a, again = 0;

	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "same", 64, 0, &a));
	EXPECT_EQ(-EEXIST, shmipc_dir_alloc(self->r, "same", 64, 0, &again));
	EXPECT_EQ(a, again);
}

TEST_F(dir, alignment_and_arguments)
{
	uint64_t off;
	char key[64];

	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "pad", 1, 8, &off));
	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "page", 10, 4096, &off));
	EXPECT_EQ(0, off % 4096);
	EXPECT_EQ(-EINVAL, shmipc_dir_alloc(self->r, "a", 8, 3, &off));
	EXPECT_EQ(-EINVAL, shmipc_dir_alloc(self->r, "a", 8, 4, &off));
	EXPECT_EQ(-EINVAL, shmipc_dir_alloc(self->r, "a", 8, 8192, &off));
	EXPECT_EQ(-EINVAL, shmipc_dir_alloc(self->r, "a", 0, 0, &off));
	EXPECT_EQ(-EINVAL, shmipc_dir_alloc(self->r, "", 8, 0, &off));
	EXPECT_EQ(-EINVAL, shmipc_dir_alloc(self->r, NULL, 8, 0, &off));
	EXPECT_EQ(-EINVAL, shmipc_dir_alloc(self->r, "a", 8, 0, NULL));
	memset(key, 'k', sizeof(key));
	key[SHMIPC_KEY_LEN_MAX] = '\0';
	EXPECT_EQ(0, shmipc_dir_alloc(self->r, key, 8, 0, &off));
	EXPECT_EQ(0, shmipc_dir_find(self->r, key, &off, NULL));
	key[SHMIPC_KEY_LEN_MAX] = 'k';
	key[SHMIPC_KEY_LEN_MAX + 1] = '\0';
	EXPECT_EQ(-EINVAL, shmipc_dir_alloc(self->r, key, 8, 0, &off));
	EXPECT_EQ(-EINVAL, shmipc_dir_find(self->r, key, &off, NULL));
}

TEST_F(dir, directory_full)
{
	char key[32];
	uint64_t off, seen[SHMIPC_DIR_ENTRIES];
	unsigned int i;

	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++) {
		snprintf(key, sizeof(key), "obj%u", i);
		ASSERT_EQ(0, shmipc_dir_alloc(self->r, key, 16, 0, &seen[i]));
	}
	EXPECT_EQ(-ENOSPC, shmipc_dir_alloc(self->r, "one-more", 16, 0, &off));
	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++) {
		snprintf(key, sizeof(key), "obj%u", i);
		ASSERT_EQ(0, shmipc_dir_find(self->r, key, &off, NULL));
		EXPECT_EQ(seen[i], off);
	}
	EXPECT_EQ(-ENOENT, shmipc_dir_find(self->r, "one-more", &off, NULL));
}

TEST_F(dir, heap_exhausted)
{
	uint64_t off;

	EXPECT_EQ(-ENOMEM, shmipc_dir_alloc(self->r, "big", RSIZE, 0, &off));
	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "most",
				      RSIZE - SHMIPC_REGION_HDR_SIZE - 64, 0,
				      &off));
	EXPECT_EQ(-ENOMEM, shmipc_dir_alloc(self->r, "more", 128, 0, &off));
	EXPECT_EQ(0, shmipc_dir_alloc(self->r, "last", 64, 0, &off));
	EXPECT_EQ(RSIZE - 64, off);
	EXPECT_EQ(-ENOMEM, shmipc_dir_alloc(self->r, "none", 1, 8, &off));
	EXPECT_EQ(-ENOMEM, shmipc_dir_alloc(self->r, "huge", SIZE_MAX, 0, &off));
}

/* ------------------------------------------------------------------ */
/* Processes racing */

#define RACERS 4

/* Each child inserts the same key and records its result and offset. */
TEST_F(dir, racing_same_key_one_winner)
{
	uint64_t results[RACERS][2];
	int fds[2], i, wins = 0;
	pid_t pids[RACERS];
	uint64_t off;

	ASSERT_EQ(0, pipe(fds));
	for (i = 0; i < RACERS; i++) {
		pids[i] = lt_fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			struct shmipc_region *r;
			uint64_t rec[2] = { 0, 0 };
			int ret = shmipc_region_open(self->name, 0, 0, 0, &r);

			if (ret)
				_exit(lt_code(ret));
			ret = shmipc_dir_alloc(r, "contended", 256, 0, &rec[1]);
			rec[0] = (uint64_t)(int64_t)ret;
			if (write(fds[1], rec, sizeof(rec)) != sizeof(rec))
				_exit(101);
			_exit(0);
		}
	}
	for (i = 0; i < RACERS; i++) {
		ASSERT_EQ(sizeof(results[i]),
			  read(fds[0], results[i], sizeof(results[i])));
	}
	for (i = 0; i < RACERS; i++)
		EXPECT_EQ(0, lt_reap(pids[i]));
	ASSERT_EQ(0, shmipc_dir_find(self->r, "contended", &off, NULL));
	for (i = 0; i < RACERS; i++) {
		int ret = (int)(int64_t)results[i][0];

		if (ret == 0)
			wins++;
		else
			EXPECT_EQ(-EEXIST, ret);
		EXPECT_EQ(off, results[i][1]);
	}
	EXPECT_EQ(1, wins);
	close(fds[0]);
	close(fds[1]);
}

/* Different keys from several processes: all succeed, none overlap. */
TEST_F(dir, racing_distinct_keys)
{
	uint64_t off[RACERS * 6], size[RACERS * 6];
	int i, j;
	pid_t pids[RACERS];

	for (i = 0; i < RACERS; i++) {
		pids[i] = lt_fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			struct shmipc_region *r;
			int ret = shmipc_region_open(self->name, 0, 0, 0, &r);

			if (ret)
				_exit(lt_code(ret));
			for (j = 0; j < 6; j++) {
				char key[32];
				uint64_t o;

				snprintf(key, sizeof(key), "p%d-k%d", i, j);
				ret = shmipc_dir_alloc(r, key, 100 + 8 * j, 0, &o);
				if (ret)
					_exit(lt_code(ret));
				/* Fill it: an overlap would show below. */
				memset(shmipc_region_ptr(r, o, 100 + 8 * j),
				       i * 6 + j + 1, 100 + 8 * j);
			}
			_exit(0);
		}
	}
	for (i = 0; i < RACERS; i++)
		EXPECT_EQ(0, lt_reap(pids[i]));
	for (i = 0; i < RACERS; i++) {
		for (j = 0; j < 6; j++) {
			char key[32];
			int k = i * 6 + j;
			uint64_t b;

			snprintf(key, sizeof(key), "p%d-k%d", i, j);
			ASSERT_EQ(0, shmipc_dir_find(self->r, key, &off[k],
						     &size[k]));
			EXPECT_EQ(100 + 8 * j, size[k]);
			for (b = 0; b < size[k]; b++)
				if (self->base[off[k] + b] != k + 1)
					break;
			EXPECT_EQ(size[k], b) TH_LOG("object %s overwritten", key);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Hostile peer */

TEST_F(dir, corrupt_entries)
{
	char *e;
	uint64_t off, a;
	uint64_t saved[8];
	unsigned int i;

	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "victim", 64, 0, &a));
	/* Find the entry that holds it. */
	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++)
		if (!strcmp(self->base + DIRENT(i) + 24, "victim"))
			break;
	ASSERT_GT(SHMIPC_DIR_ENTRIES, i);
	e = self->base + DIRENT(i);
	memcpy(saved, e, 64);

	*(uint64_t *)(e + 8) = RSIZE - 8;	/* object runs past the end */
	EXPECT_EQ(-EBADMSG, shmipc_dir_find(self->r, "victim", &off, NULL));
	memcpy(e, saved, 64);
	*(uint64_t *)(e + 8) = 8;		/* inside the header */
	EXPECT_EQ(-EBADMSG, shmipc_dir_find(self->r, "victim", &off, NULL));
	memcpy(e, saved, 64);
	*(uint64_t *)(e + 16) = UINT64_MAX;	/* size overflows */
	EXPECT_EQ(-EBADMSG, shmipc_dir_find(self->r, "victim", &off, NULL));
	memcpy(e, saved, 64);
	memset(e + 24, 'x', 40);		/* key without NUL */
	EXPECT_EQ(-EBADMSG, shmipc_dir_find(self->r, "victim", &off, NULL));
	memcpy(e, saved, 64);
	*(uint32_t *)e |= 3;			/* no such phase */
	EXPECT_EQ(-EBADMSG, shmipc_dir_find(self->r, "victim", &off, NULL));
	EXPECT_EQ(-EBADMSG, shmipc_dir_alloc(self->r, "victim", 8, 0, &off));
	memcpy(e, saved, 64);
	ASSERT_EQ(0, shmipc_dir_find(self->r, "victim", &off, NULL));
	EXPECT_EQ(a, off);

	/* Stuck half-inserted (its inserter died): bounded wait, -EAGAIN. */
	*(uint32_t *)e = (*(uint32_t *)e & ~3U) | 1;
	EXPECT_EQ(-EAGAIN, shmipc_dir_find(self->r, "victim", &off, NULL));
	memcpy(e, saved, 64);

	/* Every entry taken by garbage: errors, no endless loop. */
	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++)
		*(uint32_t *)(self->base + DIRENT(i)) = 0x12345678 | 2;
	EXPECT_EQ(-ENOSPC, shmipc_dir_alloc(self->r, "new", 8, 0, &off));
	EXPECT_EQ(-ENOENT, shmipc_dir_find(self->r, "victim", &off, NULL));
	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++) {
		*(uint32_t *)(self->base + DIRENT(i)) = (uint32_t)saved[0];
		memset(self->base + DIRENT(i) + 24, 'z', 40);
	}
	EXPECT_EQ(-EBADMSG, shmipc_dir_find(self->r, "victim", &off, NULL));
}

/*
 * An entry of a library object moved off its 64-byte alignment: every
 * open says -EBADMSG and introspection shows a plain object, instead of
 * reading a header at a misaligned address (undefined behaviour, split
 * atomics; found by tests/fuzz/fuzz_region and fuzz_ctl).
 */
TEST_F(dir, misaligned_objects)
{
	static const char *const keys[] = { "s", "m", "e", "h", "v" };
	struct shmipc_object_stat os[SHMIPC_DIR_ENTRIES];
	struct shmipc_inspect *in;
	struct shmipc_spsc *s;
	struct shmipc_mpmc *m;
	struct shmipc_evpool *ev;
	struct shmipc_heap *h;
	struct shmipc_vring *v;
	struct shmipc_region *r;
	unsigned int i, k;
	char name[64], *base;
	int n;

	/* Room for a heap too. */
	ASSERT_EQ(0, lt_region_new(name, "dirmis", 1 << 20, &r));
	base = shmipc_region_base(r);
	ASSERT_EQ(0, shmipc_spsc_create(r, "s", 16, 8));
	ASSERT_EQ(0, shmipc_mpmc_create(r, "m", 16, 8));
	ASSERT_EQ(0, shmipc_evpool_create(r, "e", 2, 256, 0, 0));
	ASSERT_EQ(0, shmipc_heap_create(r, "h", 256 * 1024));
	ASSERT_EQ(0, shmipc_vring_create(r, "v", 256));
	for (k = 0; k < 5; k++) {
		for (i = 0; i < SHMIPC_DIR_ENTRIES; i++)
			if (!strcmp(base + DIRENT(i) + 24, keys[k]))
				break;
		ASSERT_GT(SHMIPC_DIR_ENTRIES, i);
		*(uint64_t *)(base + DIRENT(i) + 8) += 1;
	}
	EXPECT_EQ(-EBADMSG, shmipc_spsc_open(r, "s", SHMIPC_PRODUCER, &s));
	EXPECT_EQ(-EBADMSG, shmipc_mpmc_open(r, "m", &m));
	EXPECT_EQ(-EBADMSG, shmipc_evpool_open(r, "e", SHMIPC_CONSUMER,
					       &ev));
	EXPECT_EQ(-EBADMSG, shmipc_heap_open(r, "h", &h));
	EXPECT_EQ(-EBADMSG, shmipc_vring_open(r, "v", SHMIPC_CONSUMER,
					      &v));
	ASSERT_EQ(0, shmipc_inspect_open(name, &in));
	n = shmipc_inspect_objects(in, os, SHMIPC_DIR_ENTRIES);
	shmipc_inspect_close(in);
	ASSERT_EQ(5, n);
	for (k = 0; k < 5; k++)
		EXPECT_STREQ("object", os[k].type) TH_LOG("%s", os[k].key);
	shmipc_region_close(r);
	shmipc_region_unlink(name);
}

TEST_F(dir, corrupt_heap_cursor)
{
	uint64_t *top = (uint64_t *)(self->base + HEAP_TOP_OFF);
	uint64_t off;

	*top = 8;			/* inside the header */
	EXPECT_EQ(-EBADMSG, shmipc_dir_alloc(self->r, "a", 8, 0, &off));
	*top = RSIZE + 64;		/* past the end */
	EXPECT_EQ(-EBADMSG, shmipc_dir_alloc(self->r, "a", 8, 0, &off));
	*top = UINT64_MAX - 7;		/* would wrap when aligned */
	EXPECT_EQ(-EBADMSG, shmipc_dir_alloc(self->r, "a", 8, 0, &off));
	*top = RSIZE;			/* full, legitimately */
	EXPECT_EQ(-ENOMEM, shmipc_dir_alloc(self->r, "a", 8, 0, &off));
	*top = SHMIPC_REGION_HDR_SIZE;
	EXPECT_EQ(0, shmipc_dir_alloc(self->r, "a", 8, 0, &off));
}

/*
 * A hostile peer writes garbage anywhere in the region header but the
 * magic, keeping directory entries out of the "being inserted" phase
 * (that one is a bounded 1 s wait, tested above): every call returns a
 * documented result, never crashes, never hangs.
 */
TEST_F_TIMEOUT(dir, hostile_fuzz, 120)
{
	static unsigned char saved[SHMIPC_REGION_HDR_SIZE];
	uint64_t seed = 0x2545f4914f6cdd1dULL, off, size;
	struct shmipc_region_info info;
	unsigned int i, k, bad = 0, ok = 0, corrupt = 0;
	char key[16];

	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		ASSERT_EQ(0, shmipc_dir_alloc(self->r, key, 64 + i, 0, &off));
	}
	memcpy(saved, self->base, sizeof(saved));
	for (i = 0; i < 2000; i++) {
		int rets[4], n = 0;

		for (k = 0; k <= lt_rand(&seed) % 4; k++) {
			unsigned int at = 4 + 4 * (lt_rand(&seed) % 1023);
			uint32_t v = lt_evil32(&seed);

			if (at >= DIR_OFF && (at - DIR_OFF) % 64 == 0 &&
			    (v & 3) == 1)
				v |= 2;		/* not CLAIMED */
			*(uint32_t *)(self->base + at) = v;
		}
		snprintf(key, sizeof(key), "k%u", (unsigned int)(lt_rand(&seed) % 12));
		rets[n++] = shmipc_dir_find(self->r, key, &off, &size);
		if (rets[0] == 0 && !shmipc_region_ptr(self->r, off, size))
			bad++;		/* a found object must be inside */
		rets[n++] = shmipc_dir_alloc(self->r, key, 8, 0, &off);
		if (rets[1] == 0 && !shmipc_region_ptr(self->r, off, 8))
			bad++;
		rets[n++] = shmipc_region_info(self->r, &info);
		for (k = 0; k < (unsigned int)n; k++) {
			int r = rets[k];

			if (!(r == 0 || r == -ENOENT || r == -EEXIST ||
			      r == -EBADMSG || r == -ENOMEM || r == -ENOSPC)) {
				bad++;
				TH_LOG("round %u call %u: %d", i, k, r);
			}
			ok += r == 0;
			corrupt += r == -EBADMSG;
		}
		if (i % 50 == 49) {
			struct shmipc_region *r2;
			int r = shmipc_region_open(self->name, 0, 0, 0, &r2);

			if (r == 0)
				shmipc_region_close(r2);
			else if (r != -EBADMSG && r != -EPROTONOSUPPORT &&
				 r != -EUSERS)
				bad++;
		}
		if (i % 8 == 7)
			memcpy(self->base, saved, sizeof(saved));
	}
	EXPECT_EQ(0, bad);
	EXPECT_LT(100, ok);
	EXPECT_LT(100, corrupt);
	TH_LOG("%u rounds: %u calls succeeded, %u corrupt", i, ok, corrupt);
}

TEST_HARNESS_MAIN
