// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc shared buffer allocator: records of every class and large
 * runs, out of memory and recovery, bad frees, channels of records
 * between processes and threads (payload checksums, the receiver frees),
 * thread caches flushed at thread exit, SIGKILLed holders, senders and
 * receivers (reclaim gives everything back: the free bytes return to
 * their start value), channel removal and heap destruction with their
 * reference counts, and a hostile peer corrupting the heap (-EBADMSG,
 * no crash, no hang).
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "lib_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RSIZE	(18ULL << 20)
#define HSIZE	(15ULL << 20)
#define KB	1024ULL
#define MB	(1024ULL * 1024)
#define PAGE	SHMIPC_HEAP_PAGE_SIZE
#define DL_LONG	(20000 * LT_MS)

/* struct heap_hdr (lib/heap_internal.h): the config line, then the
 * lifecycle line, the class hints, 64 slots of 32 bytes, 64 channel
 * entries of 64 bytes. */
#define HH_MAGIC	0
#define HH_VERSION	4
#define HH_NPAGES	12
#define HH_PAGETAB	24
#define HH_STATES	40
#define HH_DATA		48
#define HH_LIFE		64
#define HH_SLOTS	192
#define HH_CHANS	(192 + 64 * 32)

FIXTURE(heap) {
	char name[64];
	struct shmipc_region *r;
	char *base;
	uint64_t off;			/* the heap object */
	struct shmipc_heap *h;
	struct shmipc_heap_stats st0;	/* right after setup */
};

FIXTURE_SETUP(heap)
{
	int ret;

	lt_name(self->name, sizeof(self->name), "heap");
	ret = shmipc_region_open(self->name, RSIZE, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL,
				 &self->r);
	ASSERT_EQ(0, ret) TH_LOG("create: %s", shmipc_strerror(ret));
	self->base = shmipc_region_base(self->r);
	ASSERT_EQ(0, shmipc_heap_create(self->r, "h", HSIZE));
	ASSERT_EQ(0, shmipc_dir_find(self->r, "h", &self->off, NULL));
	ASSERT_EQ(0, shmipc_heap_open(self->r, "h", &self->h));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &self->st0));
}

FIXTURE_TEARDOWN(heap)
{
	shmipc_heap_close(self->h);
	shmipc_region_close(self->r);
	shmipc_region_unlink(self->name);
}

static uint32_t *hword(FIXTURE_DATA(heap) *self, uint64_t at)
{
	return (uint32_t *)(self->base + self->off + at);
}

static uint64_t *hword64(FIXTURE_DATA(heap) *self, uint64_t at)
{
	return (uint64_t *)(self->base + self->off + at);
}

/* The page table entry of the page of @off, and the state word of the
 * 64-byte granule at @off (lib/heap_internal.h). */
static uint32_t *page_entry(FIXTURE_DATA(heap) *self, uint64_t off)
{
	uint64_t data = self->off + *hword64(self, HH_DATA);

	return hword(self, *hword64(self, HH_PAGETAB) +
			   4 * ((off - data) / PAGE));
}

static uint32_t *state_word(FIXTURE_DATA(heap) *self, uint64_t off)
{
	uint64_t data = self->off + *hword64(self, HH_DATA);

	return hword(self, *hword64(self, HH_STATES) + 4 * ((off - data) / 64));
}

/* A record's bytes: a pattern from @seed, the last 8 its checksum. */
static void fill(void *p, uint64_t len, uint64_t seed)
{
	unsigned char *b = p;
	uint64_t i, sum = 0;

	for (i = 0; i + 8 < len || (len < 16 && i < len); i++) {
		b[i] = (unsigned char)lt_mix(seed + i / 8);
		sum += b[i];
	}
	if (len >= 16)
		memcpy(b + len - 8, &sum, 8);
}

static bool check(const void *p, uint64_t len, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t i, sum = 0, want;

	for (i = 0; i + 8 < len || (len < 16 && i < len); i++) {
		if (b[i] != (unsigned char)lt_mix(seed + i / 8))
			return false;
		sum += b[i];
	}
	if (len < 16)
		return true;
	memcpy(&want, b + len - 8, 8);
	return want == sum;
}

static void *rec_ptr(struct shmipc_heap *h, uint64_t off, uint64_t *size)
{
	void *p = NULL;

	if (shmipc_heap_record(h, off, &p, size))
		return NULL;
	return p;
}

/* Everything free (caches included) and the sum adds up. */
#define EXPECT_ALL_FREE(self) do {					\
		struct shmipc_heap_stats s_;				\
		ASSERT_EQ(0, shmipc_heap_flush((self)->h));		\
		ASSERT_EQ(0, shmipc_heap_stats((self)->h, &s_));	\
		EXPECT_EQ((self)->st0.free_bytes, s_.free_bytes);	\
		EXPECT_EQ(0, s_.cached_bytes);				\
		EXPECT_EQ(0, s_.used_bytes);				\
		EXPECT_EQ(0, s_.in_flight_bytes);			\
		EXPECT_EQ(s_.total_bytes, s_.free_bytes +		\
			  s_.cached_bytes + s_.used_bytes +		\
			  s_.in_flight_bytes + s_.channel_bytes);	\
	} while (0)

/* The destroyed heap "h" is re-created in place (not at another size),
 * reopened as self->h, and empty: only that handle, no page carved. */
#define EXPECT_RECREATED_EMPTY(self) do {				\
		struct shmipc_heap_stats r_;				\
		EXPECT_EQ(-EEXIST, shmipc_heap_create((self)->r, "h",	\
						      HSIZE / 2));	\
		ASSERT_EQ(0, shmipc_heap_create((self)->r, "h", HSIZE));	\
		ASSERT_EQ(0, shmipc_heap_open((self)->r, "h", &(self)->h)); \
		EXPECT_ALL_FREE(self);					\
		ASSERT_EQ(0, shmipc_heap_stats((self)->h, &r_));	\
		EXPECT_EQ(1, r_.handles);				\
		EXPECT_EQ(r_.total_bytes, r_.unassigned_bytes);		\
	} while (0)

/* A child's heap: open the region and the heap (exit code on failure). */
static struct shmipc_heap *child_heap(const char *name,
				      struct shmipc_region **r)
{
	struct shmipc_heap *h;
	int ret = shmipc_region_open(name, 0, 0, 0, r);

	if (ret)
		_exit(lt_code(ret));
	ret = shmipc_heap_open(*r, "h", &h);
	if (ret)
		_exit(lt_code(ret));
	return h;
}

/* ------------------------------------------------------------------ */
/* One process */

TEST_F(heap, arguments)
{
	struct shmipc_heap *h2 = NULL;
	struct shmipc_heap_channel *ch = NULL;
	uint64_t off, obj;
	char long_key[SHMIPC_KEY_LEN_MAX + 2];

	/* Module in the VM, portable on the host. */
	EXPECT_EQ(lt_expected_backend(), shmipc_backend());
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = 0;
	EXPECT_EQ(-EINVAL, shmipc_heap_create(NULL, "x", HSIZE));
	EXPECT_EQ(-EINVAL, shmipc_heap_create(self->r, "x",
					      SHMIPC_HEAP_SIZE_MIN - 1));
	EXPECT_EQ(-EEXIST, shmipc_heap_create(self->r, "h", HSIZE));
	EXPECT_EQ(-EEXIST, shmipc_heap_create(self->r, "h", HSIZE / 2));
	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "obj", 64, 64, &obj));
	EXPECT_EQ(-EEXIST, shmipc_heap_create(self->r, "obj", 64 * KB * 8));
	EXPECT_EQ(-EBADMSG, shmipc_heap_open(self->r, "obj", &h2));
	EXPECT_EQ(-ENOENT, shmipc_heap_open(self->r, "none", &h2));
	EXPECT_EQ(-EINVAL, shmipc_heap_open(self->r, "h", NULL));
	EXPECT_EQ(-EINVAL, shmipc_heap_alloc(self->h, 0, &off));
	EXPECT_EQ(-EINVAL, shmipc_heap_alloc(self->h, 64, NULL));
	EXPECT_EQ(-EINVAL, shmipc_heap_alloc(NULL, 64, &off));
	EXPECT_EQ(-ENOMEM, shmipc_heap_alloc(self->h, HSIZE, &off));
	EXPECT_EQ(-EINVAL, shmipc_heap_free(NULL, 0));
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, 0));
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, RSIZE + 64));
	EXPECT_EQ(-EINVAL, shmipc_heap_channel_add(self->h, "c", 3));
	EXPECT_EQ(-EINVAL, shmipc_heap_channel_add(self->h, "c", 1));
	EXPECT_EQ(-EINVAL, shmipc_heap_channel_add(self->h, "", 8));
	EXPECT_EQ(-EINVAL, shmipc_heap_channel_add(self->h, long_key, 8));
	EXPECT_EQ(-EINVAL, shmipc_heap_channel_add(NULL, "c", 8));
	EXPECT_EQ(-ENOENT, shmipc_heap_channel_open(self->h, "c", &ch));
	EXPECT_EQ(-ENOENT, shmipc_heap_channel_remove(self->h, "c"));
	EXPECT_EQ(-EINVAL, shmipc_heap_send(NULL, 0, 0));
	EXPECT_EQ(-EINVAL, shmipc_heap_recv(NULL, &off, 0));
	EXPECT_EQ(-EINVAL, shmipc_heap_stats(self->h, NULL));
	EXPECT_EQ(0, shmipc_heap_close(NULL));
	EXPECT_EQ(0, shmipc_heap_channel_close(NULL));
	/* 1/16 of the pages' size for the states, the rest for pages. */
	EXPECT_LE(self->st0.pages * (PAGE + PAGE / 16 + 8), HSIZE);
	EXPECT_GT((self->st0.pages + 1) * (PAGE + PAGE / 16 + 8) + 16 * KB,
		  HSIZE);
	EXPECT_EQ(self->st0.pages * PAGE, self->st0.total_bytes);
	EXPECT_EQ(self->st0.total_bytes, self->st0.free_bytes);
	EXPECT_EQ(self->st0.total_bytes, self->st0.unassigned_bytes);
	EXPECT_EQ(1, self->st0.handles);
}

TEST_F(heap, alloc_free_reuse)
{
	enum { N = 200 };
	uint64_t offs[N], size, again;
	void *p;
	int i, j;

	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, shmipc_heap_alloc(self->h, 100, &offs[i]));
		p = rec_ptr(self->h, offs[i], &size);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(128, size);
		EXPECT_EQ(0, offs[i] % 128);
		EXPECT_EQ(self->base + offs[i], p);
		fill(p, size, (uint64_t)i);
	}
	/* Distinct and not overlapping: every pattern survived. */
	for (i = 0; i < N; i++) {
		EXPECT_TRUE(check(rec_ptr(self->h, offs[i], NULL), 128,
				  (uint64_t)i));
		for (j = 0; j < i; j++)
			ASSERT_NE(offs[i], offs[j]);
	}
	/* The last record freed is the next one handed out. */
	ASSERT_EQ(0, shmipc_heap_free(self->h, offs[7]));
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 128, &again));
	EXPECT_EQ(offs[7], again);
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, shmipc_heap_free(self->h, offs[i]));
	EXPECT_ALL_FREE(self);
	/* Many rounds reuse the same memory. */
	for (i = 0; i < 20000; i++) {
		ASSERT_EQ(0, shmipc_heap_alloc(self->h, 1 + i % 3000, &offs[0]));
		ASSERT_EQ(0, shmipc_heap_free(self->h, offs[0]));
	}
	EXPECT_ALL_FREE(self);
}

TEST_F(heap, every_class_and_large)
{
	uint64_t offs[3 * 15], sizes[3 * 15], large[3], size, a, b;
	const uint64_t lsize[3] = { MB + 1, 3 * MB + 7, 2 * MB };
	unsigned int n = 0, i, k;

	/* Every class: 2^k - 1, 2^k and 2^k + 1 bytes (the last is the
	 * next class, or large above 1 MiB), all held at once. */
	for (k = 6; k <= 20; k++) {
		uint64_t want[3] = { (1ULL << k) - 1, 1ULL << k,
				     (1ULL << k) + 1 };

		for (i = 0; i < 3; i++) {
			uint64_t cap = 1ULL << (want[i] <= (1ULL << k) ? k :
								 k + 1);
			void *p;

			if (want[i] > MB)
				cap = (want[i] + PAGE - 1) / PAGE * PAGE;
			ASSERT_EQ(0, shmipc_heap_alloc(self->h, want[i],
						       &offs[n]))
				TH_LOG("size %llu", (unsigned long long)want[i]);
			p = rec_ptr(self->h, offs[n], &size);
			ASSERT_NE(NULL, p);
			EXPECT_EQ(cap, size);
			EXPECT_EQ(0, offs[n] % (cap < 4096 ? cap : 4096));
			fill(p, size, offs[n]);
			sizes[n++] = size;
		}
	}
	for (i = 0; i < n; i++)
		EXPECT_TRUE(check(rec_ptr(self->h, offs[i], NULL), sizes[i],
				  offs[i]));
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, shmipc_heap_free(self->h, offs[i]));
	EXPECT_ALL_FREE(self);
	/* Large: runs of pages; a free run of the same length is reused. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, shmipc_heap_alloc(self->h, lsize[i], &large[i]));
		ASSERT_NE(NULL, rec_ptr(self->h, large[i], &size));
		EXPECT_EQ((lsize[i] + PAGE - 1) / PAGE * PAGE, size);
		fill(rec_ptr(self->h, large[i], NULL), size, i);
	}
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(check(rec_ptr(self->h, large[i], NULL),
				  (lsize[i] + PAGE - 1) / PAGE * PAGE, i));
	ASSERT_EQ(0, shmipc_heap_free(self->h, large[1]));
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 3 * MB + 1, &a));
	EXPECT_EQ(large[1], a);
	/* Inside a run is not a record; neither is past its first byte. */
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, a + PAGE));
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, a + 64));
	ASSERT_EQ(0, shmipc_heap_free(self->h, a));
	ASSERT_EQ(0, shmipc_heap_free(self->h, large[0]));
	ASSERT_EQ(0, shmipc_heap_free(self->h, large[2]));
	EXPECT_ALL_FREE(self);
	/* The whole heap in one record, then nothing else fits. */
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, self->st0.total_bytes, &a));
	EXPECT_EQ(-ENOMEM, shmipc_heap_alloc(self->h, 64, &b));
	ASSERT_EQ(0, shmipc_heap_free(self->h, a));
	/* Its pages go back to small classes when needed. */
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 64, &b));
	ASSERT_EQ(0, shmipc_heap_free(self->h, b));
	EXPECT_ALL_FREE(self);
}

TEST_F(heap, enomem_and_recovery)
{
	uint64_t max = self->st0.total_bytes / (4 * KB);
	uint64_t *offs = calloc(max + 1, sizeof(*offs));
	uint64_t n = 0, m = 0, i, off;
	int ret;

	ASSERT_NE(NULL, offs);
	while ((ret = shmipc_heap_alloc(self->h, 4 * KB, &offs[n])) == 0) {
		ASSERT_LT(n, max);
		n++;
	}
	EXPECT_EQ(-ENOMEM, ret);
	EXPECT_EQ(max, n);	/* every page went to 4 KiB records */
	EXPECT_EQ(-ENOMEM, shmipc_heap_alloc(self->h, 64, &off));
	EXPECT_EQ(-ENOMEM, shmipc_heap_alloc(self->h, 2 * MB, &off));
	/* Free every other one: exactly those come back. */
	for (i = 0; i < n; i += 2)
		ASSERT_EQ(0, shmipc_heap_free(self->h, offs[i]));
	while (shmipc_heap_alloc(self->h, 4 * KB, &offs[i = m * 2]) == 0) {
		ASSERT_LT(m * 2, n);
		m++;
	}
	EXPECT_EQ((n + 1) / 2, m);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, shmipc_heap_free(self->h, offs[i]));
	EXPECT_ALL_FREE(self);
	/* The 4 KiB pages serve other classes and runs again. */
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, self->st0.total_bytes - PAGE,
				       &off));
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 64, &offs[0]));
	ASSERT_EQ(0, shmipc_heap_free(self->h, off));
	ASSERT_EQ(0, shmipc_heap_free(self->h, offs[0]));
	EXPECT_ALL_FREE(self);
	free(offs);
}

TEST_F(heap, bad_frees)
{
	struct shmipc_heap *h2;
	struct shmipc_heap_channel *ch;
	uint64_t a, b, c;

	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 256, &a));
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 256, &b));
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, a + 8));	/* interior */
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, a + 64));
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, self->off));
	ASSERT_EQ(0, shmipc_heap_free(self->h, a));
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, a));	/* double */
	EXPECT_EQ(-EINVAL, shmipc_heap_record(self->h, a, NULL, NULL));
	/* A record never allocated: on its page, and on an unused one. */
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, b + 4 * 256));
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, b + 100 * PAGE));
	/* Another handle's record, and a record in flight. */
	ASSERT_EQ(0, shmipc_heap_open(self->r, "h", &h2));
	ASSERT_EQ(0, shmipc_heap_alloc(h2, 256, &c));
	EXPECT_EQ(-EPERM, shmipc_heap_free(self->h, c));
	EXPECT_EQ(-EPERM, shmipc_heap_free(h2, b));
	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 4));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch));
	EXPECT_EQ(-EPERM, shmipc_heap_try_send(ch, c));
	EXPECT_EQ(-EINVAL, shmipc_heap_try_send(ch, a));
	ASSERT_EQ(0, shmipc_heap_try_send(ch, b));
	EXPECT_EQ(-EPERM, shmipc_heap_free(self->h, b));
	EXPECT_EQ(-EBUSY, shmipc_heap_close(self->h));
	ASSERT_EQ(0, shmipc_heap_try_recv(ch, &a));
	EXPECT_EQ(b, a);
	ASSERT_EQ(0, shmipc_heap_free(self->h, b));
	ASSERT_EQ(0, shmipc_heap_free(h2, c));
	EXPECT_EQ(0, shmipc_heap_close(h2));
	EXPECT_EQ(0, shmipc_heap_channel_close(ch));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	EXPECT_ALL_FREE(self);
}

TEST_F(heap, channel_basics)
{
	struct shmipc_heap_channel *ch, *ch2;
	struct shmipc_heap_stats st;
	uint64_t offs[9], got;
	char key[16];
	int i;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 8));
	EXPECT_EQ(-EEXIST, shmipc_heap_channel_add(self->h, "c", 8));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch2));
	EXPECT_EQ(-EAGAIN, shmipc_heap_try_recv(ch, &got));
	for (i = 0; i < 9; i++)
		ASSERT_EQ(0, shmipc_heap_alloc(self->h, 64 << (i % 4),
					       &offs[i]));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, shmipc_heap_try_send(i % 2 ? ch : ch2, offs[i]));
	EXPECT_EQ(-EAGAIN, shmipc_heap_try_send(ch, offs[8]));
	EXPECT_EQ(-ETIMEDOUT, shmipc_heap_send(ch, offs[8],
					       shmipc_deadline_in(20 * LT_MS)));
	/* Refused: still ours. */
	ASSERT_EQ(0, shmipc_heap_free(self->h, offs[8]));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(8, st.in_flight_records);
	EXPECT_EQ(1, st.channels);
	EXPECT_LT(0, st.channel_bytes);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, shmipc_heap_recv(i % 2 ? ch2 : ch, &got,
					      shmipc_deadline_in(DL_LONG)));
		EXPECT_EQ(offs[i], got);	/* FIFO */
		ASSERT_EQ(0, shmipc_heap_free(self->h, got));
	}
	/* Table full: SHMIPC_HEAP_CHANNELS_MAX channels. */
	for (i = 1; i < SHMIPC_HEAP_CHANNELS_MAX; i++) {
		snprintf(key, sizeof(key), "c%d", i);
		ASSERT_EQ(0, shmipc_heap_channel_add(self->h, key, 2));
	}
	EXPECT_EQ(-ENOSPC, shmipc_heap_channel_add(self->h, "more", 2));
	for (i = 1; i < SHMIPC_HEAP_CHANNELS_MAX; i++) {
		snprintf(key, sizeof(key), "c%d", i);
		ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, key));
	}
	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "more", 2));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "more"));
	EXPECT_EQ(0, shmipc_heap_channel_close(ch));
	EXPECT_EQ(0, shmipc_heap_channel_close(ch2));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(0, st.channels);
	EXPECT_EQ(0, st.channels_removed);
	EXPECT_EQ(0, st.channel_bytes);
	EXPECT_ALL_FREE(self);
}

/* ------------------------------------------------------------------ */
/* Threads */

#define NTHREADS	4
#define PER_THREAD	20000

struct tctx {
	struct shmipc_heap *h;
	struct shmipc_heap_channel *ch;
	unsigned int id;
	int ret;
	uint64_t bad;
};

/* Allocate and free records of random sizes, checking that nobody else
 * wrote to ours; pass some to the next thread through the channel and
 * free what comes from the previous one. */
static void *thread_mix(void *arg)
{
	struct tctx *c = arg;
	uint64_t held[16] = { 0 }, sz[16] = { 0 }, seed = c->id + 1, off;
	unsigned int i, k;

	for (i = 0; i < PER_THREAD && !c->ret; i++) {
		k = (unsigned int)(lt_rand(&seed) % 16);
		if (held[k]) {
			if (!check(rec_ptr(c->h, held[k], NULL), sz[k],
				   held[k] ^ c->id))
				c->bad++;
			if (i % 5 == 0 && shmipc_heap_try_send(c->ch, held[k])
			    == 0) {
				held[k] = 0;
				continue;
			}
			c->ret = shmipc_heap_free(c->h, held[k]);
			held[k] = 0;
			continue;
		}
		sz[k] = 1 + lt_rand(&seed) % (k < 15 ? 2048 : 200 * KB);
		c->ret = shmipc_heap_alloc(c->h, sz[k], &held[k]);
		if (c->ret)
			break;
		fill(rec_ptr(c->h, held[k], NULL), sz[k], held[k] ^ c->id);
		while (shmipc_heap_try_recv(c->ch, &off) == 0)
			if (shmipc_heap_free(c->h, off))
				c->bad++;
	}
	for (k = 0; k < 16; k++)
		if (held[k] && shmipc_heap_free(c->h, held[k]))
			c->bad++;
	return NULL;	/* no flush: thread exit does it */
}

TEST_F_TIMEOUT(heap, threads_concurrent, 180)
{
	struct tctx c[NTHREADS];
	pthread_t t[NTHREADS];
	struct shmipc_heap_channel *ch;
	uint64_t off;
	int i;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 256));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch));
	for (i = 0; i < NTHREADS; i++) {
		c[i] = (struct tctx){ self->h, ch, (unsigned int)i, 0, 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, thread_mix, &c[i]));
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, c[i].ret) TH_LOG("thread %d: %s", i,
					      shmipc_strerror(c[i].ret));
		EXPECT_EQ(0, c[i].bad);
	}
	while (shmipc_heap_try_recv(ch, &off) == 0)
		ASSERT_EQ(0, shmipc_heap_free(self->h, off));
	EXPECT_EQ(0, shmipc_heap_channel_close(ch));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	EXPECT_ALL_FREE(self);
}

#define SMALL_HEAP	(1ULL << 20)

/* Hold records of mixed sizes in a small heap, always near its limit:
 * on -ENOMEM free half of them.  Out-of-memory paths give pages back
 * while other threads take records from them. */
static void *thread_pressure(void *arg)
{
	struct tctx *c = arg;
	uint64_t held[24] = { 0 }, sz[24], seed = c->id * 7 + 1;
	unsigned int i, k, n = 0;

	for (i = 0; i < PER_THREAD / 4 && !c->ret; i++) {
		uint64_t r = lt_rand(&seed), size, off;

		size = r % 4 == 0 ? 64 * KB + r / 4 % (100 * KB) :
					1 + r / 4 % 4000;
		c->ret = shmipc_heap_alloc(c->h, size, &off);
		if (c->ret == 0 && n < 24) {
			fill(rec_ptr(c->h, off, NULL), size, off ^ c->id);
			held[n] = off;
			sz[n++] = size;
			continue;
		}
		if (c->ret == 0)
			c->ret = shmipc_heap_free(c->h, off);
		else if (c->ret == -ENOMEM)
			c->ret = 0;
		for (k = 0; k < n && !c->ret; k += 2) {
			if (!check(rec_ptr(c->h, held[k], NULL), sz[k],
				   held[k] ^ c->id))
				c->bad++;
			c->ret = shmipc_heap_free(c->h, held[k]);
			held[k] = held[n - 1];
			sz[k] = sz[--n];
		}
	}
	for (k = 0; k < n; k++) {
		if (!check(rec_ptr(c->h, held[k], NULL), sz[k],
			   held[k] ^ c->id))
			c->bad++;
		if (shmipc_heap_free(c->h, held[k]))
			c->bad++;
	}
	return NULL;
}

TEST_F_TIMEOUT(heap, threads_under_memory_pressure, 180)
{
	struct shmipc_heap_stats st;
	struct shmipc_heap *small;
	struct tctx c[NTHREADS];
	pthread_t t[NTHREADS];
	int i;

	ASSERT_EQ(0, shmipc_heap_create(self->r, "small", SMALL_HEAP));
	ASSERT_EQ(0, shmipc_heap_open(self->r, "small", &small));
	for (i = 0; i < NTHREADS; i++) {
		c[i] = (struct tctx){ small, NULL, (unsigned int)i, 0, 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, thread_pressure,
					    &c[i]));
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, c[i].ret) TH_LOG("thread %d: %s", i,
					      shmipc_strerror(c[i].ret));
		EXPECT_EQ(0, c[i].bad);
	}
	ASSERT_EQ(0, shmipc_heap_stats(small, &st));
	EXPECT_EQ(st.total_bytes, st.free_bytes)
		TH_LOG("cached %llu used %llu (%llu records) unassigned %llu",
		       (unsigned long long)st.cached_bytes,
		       (unsigned long long)st.used_bytes,
		       (unsigned long long)st.used_records,
		       (unsigned long long)st.unassigned_bytes);
	EXPECT_EQ(0, shmipc_heap_close(small));
}

/*
 * Threads of one handle, in a fixed order without synchronizing with
 * each other (relaxed steps): A writes and frees a record of page 2; B
 * runs out of memory and gives pages 1 (a free run) and 2 back; C cuts a
 * run over pages 1-2 and writes it.  C must come after A's use of page 2
 * through the heap alone: it acquired only page 1's state from B (its
 * search reads the page entries relaxed), so the claim of page 2 itself
 * must acquire B's release of it (a data race on page 2 for
 * ThreadSanitizer otherwise).
 */
struct handoff {
	struct shmipc_heap *h;
	_Atomic int step;
	uint64_t total, run_off;
	int ret[3];
};

static void await_step(struct handoff *o, int step)
{
	/* Relaxed: the order of the steps, and no synchronization. */
	while (atomic_load_explicit(&o->step, memory_order_relaxed) != step)
		sched_yield();
}

static void *handoff_a(void *arg)
{
	struct handoff *o = arg;
	uint64_t off;

	await_step(o, 1);
	o->ret[0] = shmipc_heap_alloc(o->h, 64, &off);
	if (!o->ret[0]) {
		fill(rec_ptr(o->h, off, NULL), 64, off);
		o->ret[0] = shmipc_heap_free(o->h, off);
	}
	shmipc_heap_flush(o->h);
	atomic_store_explicit(&o->step, 2, memory_order_relaxed);
	return NULL;
}

static void *handoff_b(void *arg)
{
	struct handoff *o = arg;
	uint64_t off;

	await_step(o, 3);
	o->ret[1] = shmipc_heap_alloc(o->h, o->total, &off);
	atomic_store_explicit(&o->step, 4, memory_order_relaxed);
	return NULL;
}

static void *handoff_c(void *arg)
{
	struct handoff *o = arg;

	await_step(o, 4);
	o->ret[2] = shmipc_heap_alloc(o->h, 2 * PAGE, &o->run_off);
	if (!o->ret[2]) {
		fill(rec_ptr(o->h, o->run_off, NULL), 2 * PAGE, 1);
		o->ret[2] = shmipc_heap_free(o->h, o->run_off);
	}
	return NULL;
}

TEST_F(heap, run_cut_over_a_page_another_thread_gave_back)
{
	struct handoff o = { .h = self->h, .total = self->st0.total_bytes };
	void *(*fn[3])(void *) = { handoff_a, handoff_b, handoff_c };
	uint64_t pin, page1;
	pthread_t t[3];
	int i;

	/* Page 0: a record we keep; page 1: a run we give back later. */
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 128, &pin));
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, PAGE, &page1));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fn[i], &o));
	atomic_store_explicit(&o.step, 1, memory_order_relaxed);
	await_step(&o, 2);
	ASSERT_EQ(0, shmipc_heap_free(self->h, page1));
	atomic_store_explicit(&o.step, 3, memory_order_relaxed);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, o.ret[0]);
	EXPECT_EQ(-ENOMEM, o.ret[1]);	/* page 0 is held */
	EXPECT_EQ(0, o.ret[2]);
	EXPECT_EQ(page1, o.run_off);	/* over pages 1 and 2 */
	ASSERT_EQ(0, shmipc_heap_free(self->h, pin));
	EXPECT_ALL_FREE(self);
}

/*
 * A thread that took a word through a stale page entry (here written by
 * hand: the 64-byte record at a + 64 of a page that was of that class
 * before) holds it with the same state as its handle's dissolver.  When
 * the dissolver gives the page back, it must leave that word alone: the
 * stale taker gives it back, or keeps it if the page comes back with
 * its class; nobody else may be handed that record meanwhile.
 */
TEST_F(heap, dissolver_spares_a_word_its_own_handle_took)
{
	uint64_t data = self->off + *hword64(self, HH_DATA);
	uint64_t a, pin, off[64], stale;
	uint32_t mine;
	unsigned int i;
	bool handed_out = false;

	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 4096, &a));	/* page 0 */
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 128, &pin));	/* page 1 */
	mine = *state_word(self, pin);				/* USED(us) */
	ASSERT_EQ(0, shmipc_heap_free(self->h, a));
	ASSERT_EQ(0, shmipc_heap_flush(self->h));
	/* The second 64 bytes of the page: inside a 4 KiB record. */
	stale = data + ((a - data) & ~(uint64_t)(PAGE - 1)) + 64;
	*state_word(self, stale) = mine;
	/* Out of memory: page 0 (all free) goes back to the unused pages. */
	EXPECT_EQ(-ENOMEM, shmipc_heap_alloc(self->h, self->st0.total_bytes,
					     &off[0]));
	EXPECT_EQ(0, *page_entry(self, a));
	EXPECT_EQ(mine, *state_word(self, stale));
	/* Page 0 comes back as 64-byte records: that one is not free. */
	for (i = 0; i < 64; i++) {
		ASSERT_EQ(0, shmipc_heap_alloc(self->h, 64, &off[i]));
		handed_out |= off[i] == stale;
	}
	EXPECT_FALSE(handed_out);
	/* The stale taker keeps it: its class is back. */
	EXPECT_EQ(0, shmipc_heap_free(self->h, stale));
	for (i = 0; i < 64; i++)
		if (off[i] != stale)
			ASSERT_EQ(0, shmipc_heap_free(self->h, off[i]));
	ASSERT_EQ(0, shmipc_heap_free(self->h, pin));
	EXPECT_ALL_FREE(self);
}

static void *thread_cache_some(void *arg)
{
	struct tctx *c = arg;
	uint64_t offs[40];
	int i;

	for (i = 0; i < 40 && !c->ret; i++)
		c->ret = shmipc_heap_alloc(c->h, 64 + (uint64_t)(i % 4) * 500,
					   &offs[i]);
	for (i = 0; i < 40 && !c->ret; i++)
		c->ret = shmipc_heap_free(c->h, offs[i]);
	return NULL;
}

/* A thread's cache is given back when it exits. */
TEST_F(heap, thread_exit_flushes_cache)
{
	struct shmipc_heap_stats st;
	struct tctx c = { self->h, NULL, 0, 0, 0 };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, thread_cache_some, &c));
	pthread_join(t, NULL);
	ASSERT_EQ(0, c.ret);
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(0, st.cached_bytes);
	EXPECT_EQ(self->st0.free_bytes, st.free_bytes);
	/* Our own thread's cache holds what we free, until a flush. */
	ASSERT_EQ(0, thread_cache_some(&c) == NULL ? c.ret : -1);
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_LT(0, st.cached_bytes);
	EXPECT_EQ(self->st0.free_bytes, st.free_bytes + st.cached_bytes);
	EXPECT_ALL_FREE(self);
}
/* ------------------------------------------------------------------ */
/* Processes */

/* A payload filling the record: its sequence number, then a pattern
 * from it. */
static int put_payload(struct shmipc_heap *h, uint64_t off, uint64_t seq)
{
	uint64_t size;
	void *p = rec_ptr(h, off, &size);

	if (!p || size < 64)
		return -EFAULT;
	memcpy(p, &seq, 8);
	fill((char *)p + 8, size - 8, seq);
	return 0;
}

static int take_payload(struct shmipc_heap *h, uint64_t off, uint64_t *seq)
{
	uint64_t size;
	void *p = rec_ptr(h, off, &size);

	if (!p || size < 64)
		return -EFAULT;
	memcpy(seq, p, 8);
	return check((char *)p + 8, size - 8, *seq) ? 0 : -EILSEQ;
}

#define XFER	300

/* Parent -> child on "a2b"; the child frees the even ones and sends the
 * odd ones back on "b2a"; the parent checks and frees those. */
TEST_F_TIMEOUT(heap, cross_process_send_recv, 120)
{
	struct shmipc_heap_channel *a2b, *b2a;
	uint64_t i, off, seq;
	pid_t pid;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "a2b", 16));
	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "b2a", 16));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "a2b", &a2b));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "b2a", &b2a));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_region *r;
		struct shmipc_heap *h = child_heap(self->name, &r);
		struct shmipc_heap_channel *in, *out;
		int ret;

		if (shmipc_heap_channel_open(h, "a2b", &in) ||
		    shmipc_heap_channel_open(h, "b2a", &out))
			_exit(90);
		for (i = 0; i < XFER; i++) {
			ret = shmipc_heap_recv(in, &off,
					       shmipc_deadline_in(DL_LONG));
			if (ret)
				_exit(lt_code(ret));
			if (take_payload(h, off, &seq) || seq != i)
				_exit(91);
			ret = i % 2 ? shmipc_heap_send(out, off,
					shmipc_deadline_in(DL_LONG)) :
				      shmipc_heap_free(h, off);
			if (ret)
				_exit(lt_code(ret));
		}
		shmipc_heap_channel_close(in);
		shmipc_heap_channel_close(out);
		_exit(lt_code(shmipc_heap_close(h)));
	}
	for (i = 0; i < XFER; i++) {
		ASSERT_EQ(0, shmipc_heap_alloc(self->h, 64 + i * 97 % 20000,
					       &off));
		ASSERT_EQ(0, put_payload(self->h, off, i));
		ASSERT_EQ(0, shmipc_heap_send(a2b, off,
					      shmipc_deadline_in(DL_LONG)));
		if (i % 2 == 0)
			continue;
		ASSERT_EQ(0, shmipc_heap_recv(b2a, &off,
					      shmipc_deadline_in(DL_LONG)));
		ASSERT_EQ(0, take_payload(self->h, off, &seq));
		EXPECT_EQ(i, seq);
		ASSERT_EQ(0, shmipc_heap_free(self->h, off));
	}
	EXPECT_EQ(0, lt_reap(pid));
	EXPECT_EQ(0, shmipc_heap_channel_close(a2b));
	EXPECT_EQ(0, shmipc_heap_channel_close(b2a));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "a2b"));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "b2a"));
	EXPECT_ALL_FREE(self);
}

/*
 * Fork a child that opens the heap, runs @fn (which _exits on failure),
 * tells us, and then waits to be killed.  Its pid once it told us, or -1
 * (it died first).  kill_holder(): SIGKILL it; its reaped status.
 */
static pid_t spawn_holder(const char *name,
			  void (*fn)(struct shmipc_heap *h, uint64_t arg),
			  uint64_t arg)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = lt_fork();
	if (pid == 0) {
		struct shmipc_region *r;

		close(fds[0]);
		fn(child_heap(name, &r), arg);
		lt_signal(fds[1]);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (pid > 0 && lt_await(fds[0])) {
		lt_reap_ms(pid, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

static int kill_holder(struct shmipc_region *r, pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	status = lt_reap(pid);
	lt_await_peers(r, 1);	/* the death is marked (module) */
	return status;
}

/* Hold USED records of several classes, a run and a large one, and
 * CACHED ones (some freed into the cache). */
static void hold_records(struct shmipc_heap *h, uint64_t arg)
{
	static const uint64_t sizes[] = { 100, 100, 100, 3000, 3000, 8 * KB,
					  200 * KB, 2 * MB + 5, 64, 64 };
	uint64_t offs[10];
	unsigned int i;

	(void)arg;
	for (i = 0; i < 10; i++)
		if (shmipc_heap_alloc(h, sizes[i], &offs[i]))
			_exit(90);
	for (i = 0; i < 10; i += 3)
		if (shmipc_heap_free(h, offs[i]))
			_exit(91);
}

TEST_F_TIMEOUT(heap, sigkill_holder_reclaimed, 60)
{
	struct shmipc_heap_stats st;
	pid_t pid = spawn_holder(self->name, hold_records, 0);
	int n;

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(2, st.handles);
	EXPECT_EQ(6, st.used_records);
	EXPECT_LT(0, st.cached_records);
	EXPECT_EQ(0, st.reclaimable_bytes);
	EXPECT_EQ(128 + SIGKILL, kill_holder(self->r, pid));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(st.used_bytes + st.cached_bytes, st.reclaimable_bytes);
	n = shmipc_heap_reclaim(self->h);
	EXPECT_EQ(st.used_records + st.cached_records, (uint64_t)n);
	EXPECT_EQ(0, shmipc_heap_reclaim(self->h));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(1, st.handles);
	EXPECT_EQ(0, st.reclaimable_bytes);
	EXPECT_ALL_FREE(self);
}

static void hold_everything(struct shmipc_heap *h, uint64_t arg)
{
	uint64_t off;

	while (shmipc_heap_alloc(h, arg, &off) == 0)
		;
}

/* A dead process that held nearly everything: the next allocation that
 * runs out reclaims by itself. */
TEST_F_TIMEOUT(heap, alloc_reclaims_dead_holder, 60)
{
	pid_t pid = spawn_holder(self->name, hold_everything, 16 * KB);
	uint64_t off;

	ASSERT_LT(0, pid);
	EXPECT_EQ(-ENOMEM, shmipc_heap_alloc(self->h, 16 * KB, &off));
	EXPECT_EQ(128 + SIGKILL, kill_holder(self->r, pid));
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 16 * KB, &off));
	ASSERT_EQ(0, shmipc_heap_free(self->h, off));
	EXPECT_ALL_FREE(self);
}

#define KSEND	8

static struct shmipc_heap_channel *child_channel(struct shmipc_heap *h)
{
	struct shmipc_heap_channel *ch;

	if (shmipc_heap_channel_open(h, "c", &ch))
		_exit(89);
	return ch;
}

static void send_some(struct shmipc_heap *h, uint64_t arg)
{
	struct shmipc_heap_channel *ch = child_channel(h);
	uint64_t i, off;

	(void)arg;
	for (i = 0; i < KSEND; i++)
		if (shmipc_heap_alloc(h, 500 + i * 3000, &off) ||
		    put_payload(h, off, i) || shmipc_heap_try_send(ch, off))
			_exit(90);
}

/* A sender killed after sending: its records stay in flight, and arrive
 * intact. */
TEST_F_TIMEOUT(heap, sigkill_sender_after_send, 60)
{
	struct shmipc_heap_channel *ch;
	struct shmipc_heap_stats st;
	uint64_t off, seq, i;
	pid_t pid;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 16));
	pid = spawn_holder(self->name, send_some, 0);
	ASSERT_LT(0, pid);
	EXPECT_EQ(128 + SIGKILL, kill_holder(self->r, pid));
	EXPECT_LE(0, shmipc_heap_reclaim(self->h));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(KSEND, st.in_flight_records);
	EXPECT_EQ(0, st.used_records);
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch));
	for (i = 0; i < KSEND; i++) {
		ASSERT_EQ(0, shmipc_heap_try_recv(ch, &off));
		ASSERT_EQ(0, take_payload(self->h, off, &seq));
		EXPECT_EQ(i, seq);
		ASSERT_EQ(0, shmipc_heap_free(self->h, off));
	}
	EXPECT_EQ(0, shmipc_heap_channel_close(ch));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	EXPECT_ALL_FREE(self);
}

static void recv_some(struct shmipc_heap *h, uint64_t arg)
{
	struct shmipc_heap_channel *ch = child_channel(h);
	uint64_t i, off, seq;

	(void)arg;
	for (i = 0; i < KSEND; i++)
		if (shmipc_heap_recv(ch, &off, shmipc_deadline_in(DL_LONG)) ||
		    take_payload(h, off, &seq) || seq != i)
			_exit(90);
}

/* A receiver killed after receiving: the records are its own, and
 * reclaim gives them back; the channel goes on. */
TEST_F_TIMEOUT(heap, sigkill_receiver_after_recv, 60)
{
	struct shmipc_heap_channel *ch;
	struct shmipc_heap_stats st;
	uint64_t off, seq, i;
	pid_t pid;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 16));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch));
	for (i = 0; i < KSEND; i++) {
		ASSERT_EQ(0, shmipc_heap_alloc(self->h, 300 + i * 1000, &off));
		ASSERT_EQ(0, put_payload(self->h, off, i));
		ASSERT_EQ(0, shmipc_heap_try_send(ch, off));
	}
	pid = spawn_holder(self->name, recv_some, 0);
	ASSERT_LT(0, pid);
	EXPECT_EQ(128 + SIGKILL, kill_holder(self->r, pid));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(KSEND, st.used_records);
	EXPECT_EQ(0, st.in_flight_records);
	EXPECT_LE(KSEND, shmipc_heap_reclaim(self->h));
	/* The channel still works. */
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 64, &off));
	ASSERT_EQ(0, shmipc_heap_try_send(ch, off));
	ASSERT_EQ(0, shmipc_heap_try_recv(ch, &seq));
	EXPECT_EQ(off, seq);
	ASSERT_EQ(0, shmipc_heap_free(self->h, off));
	EXPECT_EQ(0, shmipc_heap_channel_close(ch));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	EXPECT_ALL_FREE(self);
}

/* ------------------------------------------------------------------ */
/* Reference counts */

TEST_F(heap, channel_remove_with_records_in_flight)
{
	struct shmipc_heap_channel *ch, *other = NULL;
	struct shmipc_heap_stats st;
	uint64_t off, got;
	int i;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 8));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, shmipc_heap_alloc(self->h, 1000, &off));
		ASSERT_EQ(0, shmipc_heap_try_send(ch, off));
	}
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	EXPECT_EQ(-ENOENT, shmipc_heap_channel_open(self->h, "c", &other));
	EXPECT_EQ(-ENOENT, shmipc_heap_channel_remove(self->h, "c"));
	/* The key is free for a new channel at once. */
	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 4));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &other));
	EXPECT_EQ(-EAGAIN, shmipc_heap_try_recv(other, &got));
	/* The removed one still works for its holders. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, shmipc_heap_try_recv(ch, &got));
		ASSERT_EQ(0, shmipc_heap_free(self->h, got));
	}
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(3, st.in_flight_records);
	EXPECT_EQ(1, st.channels);
	EXPECT_EQ(1, st.channels_removed);
	/* Last close: ring and the 3 records in flight are freed. */
	EXPECT_EQ(0, shmipc_heap_channel_close(ch));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(0, st.in_flight_records);
	EXPECT_EQ(0, st.channels_removed);
	EXPECT_EQ(1, st.channels);
	EXPECT_EQ(0, shmipc_heap_channel_close(other));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	EXPECT_ALL_FREE(self);
}

static void open_channel(struct shmipc_heap *h, uint64_t arg)
{
	(void)arg;
	child_channel(h);
}

/* A dead process's open channel pins it until reclaim drops its ref. */
TEST_F_TIMEOUT(heap, dead_holder_unpins_removed_channel, 60)
{
	struct shmipc_heap_channel *ch;
	struct shmipc_heap_stats st;
	uint64_t off;
	pid_t pid;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 8));
	pid = spawn_holder(self->name, open_channel, 0);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch));
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 5000, &off));
	ASSERT_EQ(0, shmipc_heap_try_send(ch, off));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	EXPECT_EQ(0, shmipc_heap_channel_close(ch));
	EXPECT_EQ(128 + SIGKILL, kill_holder(self->r, pid));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(1, st.channels_removed);	/* the dead still pins it */
	EXPECT_EQ(1, st.in_flight_records);
	EXPECT_LE(0, shmipc_heap_reclaim(self->h));
	ASSERT_EQ(0, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(0, st.channels_removed);
	EXPECT_EQ(0, st.in_flight_records);
	EXPECT_ALL_FREE(self);
}

TEST_F(heap, refcounted_destroy)
{
	struct shmipc_heap *h2, *h3 = NULL;
	struct shmipc_heap_stats st;
	uint64_t off;

	ASSERT_EQ(0, shmipc_heap_open(self->r, "h", &h2));
	ASSERT_EQ(0, shmipc_heap_alloc(h2, 3000, &off));
	ASSERT_EQ(0, shmipc_heap_destroy(self->h));
	EXPECT_EQ(0, shmipc_heap_destroy(h2));		/* idempotent */
	EXPECT_EQ(-EIDRM, shmipc_heap_open(self->r, "h", &h3));
	EXPECT_EQ(-EIDRM, shmipc_heap_channel_add(h2, "c", 4));
	EXPECT_EQ(-EEXIST, shmipc_heap_create(self->r, "h", HSIZE));
	/* Open handles go on working. */
	ASSERT_EQ(0, shmipc_heap_free(h2, off));
	ASSERT_EQ(0, shmipc_heap_alloc(h2, 64, &off));
	EXPECT_EQ(0, shmipc_heap_close(self->h));
	self->h = NULL;
	ASSERT_EQ(0, shmipc_heap_stats(h2, &st));
	EXPECT_EQ(1, st.handles);
	EXPECT_EQ(-EEXIST, shmipc_heap_create(self->r, "h", HSIZE));
	EXPECT_EQ(0, shmipc_heap_close(h2));		/* the last: gone */
	EXPECT_EQ(-EIDRM, shmipc_heap_open(self->r, "h", &h3));
	EXPECT_RECREATED_EMPTY(self);
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 64, &off));
	ASSERT_EQ(0, shmipc_heap_free(self->h, off));
}

/* The last live handle of a heap marked for destruction: dead holders
 * do not keep it alive. */
TEST_F_TIMEOUT(heap, destroy_with_dead_holder, 60)
{
	struct shmipc_heap *h3 = NULL;
	pid_t pid = spawn_holder(self->name, hold_records, 0);

	ASSERT_LT(0, pid);
	EXPECT_EQ(128 + SIGKILL, kill_holder(self->r, pid));
	ASSERT_EQ(0, shmipc_heap_destroy(self->h));
	EXPECT_EQ(0, shmipc_heap_close(self->h));
	self->h = NULL;
	EXPECT_EQ(-EIDRM, shmipc_heap_open(self->r, "h", &h3));
	EXPECT_RECREATED_EMPTY(self);
}

/* A heap marked for destruction whose last holder is killed: nobody
 * is left to close it, so re-creating it under the same name reclaims
 * the dead holder; while that holder lives, the name is taken. */
TEST_F_TIMEOUT(heap, recreate_reclaims_dead_holders, 60)
{
	struct shmipc_heap *h3 = NULL;
	pid_t pid = spawn_holder(self->name, hold_records, 0);

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, shmipc_heap_destroy(self->h));
	EXPECT_EQ(0, shmipc_heap_close(self->h));
	self->h = NULL;
	EXPECT_EQ(-EEXIST, shmipc_heap_create(self->r, "h", HSIZE));
	EXPECT_EQ(-EIDRM, shmipc_heap_open(self->r, "h", &h3));
	EXPECT_EQ(128 + SIGKILL, kill_holder(self->r, pid));
	EXPECT_RECREATED_EMPTY(self);
}

/* ------------------------------------------------------------------ */
/* Random kills while a process allocates, sends, receives and frees */

#define KILL_ROUNDS 8
#define KILL_KIDS 2

/* Allocate, fill, send; receive, check, free; forever (until killed). */
static void child_churn(const char *name, int fd)
{
	struct shmipc_region *r;
	struct shmipc_heap *h;
	struct shmipc_heap_channel *ch;
	uint64_t seed = (uint64_t)getpid(), off, seq = 0;
	int ret = shmipc_region_open(name, 0, 0, 0, &r);

	if (ret || (ret = shmipc_heap_open(r, "k", &h)) ||
	    (ret = shmipc_heap_channel_open(h, "c", &ch)))
		_exit(lt_code(ret));
	lt_signal(fd);
	for (;;) {
		uint64_t want = 1 + lt_rand(&seed) % (lt_rand(&seed) % 8 ?
						      4000 : 200 * KB);

		if (shmipc_heap_alloc(h, want, &off) == 0) {
			put_payload(h, off, seq++);
			if (shmipc_heap_try_send(ch, off))
				shmipc_heap_free(h, off);
		}
		if (lt_rand(&seed) % 3 && shmipc_heap_try_recv(ch, &off) == 0) {
			if (take_payload(h, off, &seq))
				_exit(95);	/* a torn record */
			shmipc_heap_free(h, off);
		}
	}
}

/* Processes churning on a small heap are killed at random instructions;
 * after reclaim and the channel's teardown, every byte is free again
 * and nothing received was torn. */
TEST_F_TIMEOUT(heap, random_kills_give_everything_back, 240)
{
	uint64_t seed = 12345, off, seq;
	unsigned int round, bad = 0, got = 0, k;
	struct shmipc_heap_stats st, st0;
	struct shmipc_heap *hk;
	int fds[2];

	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(0, shmipc_heap_create(self->r, "k", 1 * MB));
	ASSERT_EQ(0, shmipc_heap_open(self->r, "k", &hk));
	ASSERT_EQ(0, shmipc_heap_stats(hk, &st0));
	for (round = 0; round < KILL_ROUNDS; round++) {
		struct shmipc_heap_channel *ch;
		pid_t pid[KILL_KIDS];
		int ret;

		ASSERT_EQ(0, shmipc_heap_channel_add(hk, "c", 32));
		for (k = 0; k < KILL_KIDS; k++) {
			pid[k] = lt_fork();
			ASSERT_LE(0, pid[k]);
			if (pid[k] == 0)
				child_churn(self->name, fds[1]);
			ASSERT_EQ(0, lt_await(fds[0]));
		}
		for (k = 0; k < KILL_KIDS; k++) {
			lt_sleep_ms(1 + (unsigned int)(lt_rand(&seed) % 30));
			kill(pid[k], SIGKILL);
			EXPECT_EQ(128 + SIGKILL, lt_reap(pid[k]));
		}
		EXPECT_EQ(0, lt_await_peers(self->r, 1));
		EXPECT_LE(0, shmipc_heap_reclaim(hk));
		/* Drain what arrived whole; a position a dead process held
		 * is repaired (-EOWNERDEAD) or times out. */
		ASSERT_EQ(0, shmipc_heap_channel_open(hk, "c", &ch));
		for (;;) {
			ret = shmipc_heap_recv(ch, &off,
					       shmipc_deadline_in(50 * LT_MS));
			if (ret == -EOWNERDEAD)
				continue;
			if (ret)
				break;
			got++;
			if (take_payload(hk, off, &seq))
				bad++;
			ASSERT_EQ(0, shmipc_heap_free(hk, off));
		}
		EXPECT_EQ(-ETIMEDOUT, ret);
		/* What was in flight and not delivered goes with it. */
		ASSERT_EQ(0, shmipc_heap_channel_remove(hk, "c"));
		EXPECT_EQ(0, shmipc_heap_channel_close(ch));
		ASSERT_EQ(0, shmipc_heap_flush(hk));
		ASSERT_EQ(0, shmipc_heap_stats(hk, &st));
		EXPECT_EQ(st0.free_bytes, st.free_bytes)
			TH_LOG("round %u: cached %llu used %llu in flight %llu "
			       "rings %llu", round,
			       (unsigned long long)st.cached_bytes,
			       (unsigned long long)st.used_bytes,
			       (unsigned long long)st.in_flight_bytes,
			       (unsigned long long)st.channel_bytes);
		EXPECT_EQ(1, st.handles);
		EXPECT_EQ(0, st.channels + st.channels_removed);
	}
	EXPECT_EQ(0, bad);
	TH_LOG("%u records drained after kills", got);
	EXPECT_EQ(0, shmipc_heap_close(hk));
	close(fds[0]);
	close(fds[1]);
}

/* ------------------------------------------------------------------ */
/* Hostile peer */

static int reopen(FIXTURE_DATA(heap) *self)
{
	struct shmipc_heap *h = NULL;
	int ret = shmipc_heap_open(self->r, "h", &h);

	shmipc_heap_close(h);
	return ret;
}

TEST_F(heap, corrupt_header)
{
	char saved[128];

	memcpy(saved, hword(self, 0), sizeof(saved));
#define SPOIL(at, val, err) do {					\
		*hword(self, at) = (val);				\
		EXPECT_EQ(err, reopen(self)) TH_LOG("field %d", at);	\
		memcpy(hword(self, 0), saved, sizeof(saved));		\
	} while (0)
	SPOIL(HH_MAGIC, 0x1, -EBADMSG);
	SPOIL(HH_VERSION, 7, -EPROTONOSUPPORT);
	SPOIL(HH_NPAGES, 1, -EBADMSG);
	SPOIL(HH_NPAGES, 0xffffffff, -EBADMSG);
	SPOIL(HH_PAGETAB, 4096, -EBADMSG);
	SPOIL(HH_STATES, 0, -EBADMSG);
	SPOIL(HH_DATA, 64, -EBADMSG);
	SPOIL(HH_LIFE, 77, -EBADMSG);
	SPOIL(HH_LIFE, 3, -EIDRM);
#undef SPOIL
	EXPECT_EQ(0, reopen(self));
}

/* The page entry and state word of the record at @off. */
TEST_F_TIMEOUT(heap, corrupt_page_table_and_states, 60)
{
	struct shmipc_heap_stats st;
	uint64_t a, b;
	uint32_t saved, *e, *s;

	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 128, &a));
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 200 * KB, &b));
	e = page_entry(self, a);
	saved = *e;
	/* No such page type; a class out of range; a run past the end. */
	*e = 0xf0000000;
	EXPECT_EQ(-EBADMSG, shmipc_heap_free(self->h, a));
	EXPECT_EQ(-EBADMSG, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(-EBADMSG, shmipc_heap_reclaim(self->h));
	*e = 0x10000000 | 3;
	EXPECT_EQ(-EBADMSG, shmipc_heap_free(self->h, a));
	*e = 0x20000000 | 0xfffffff;
	EXPECT_EQ(-EBADMSG, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(-EBADMSG, shmipc_heap_alloc(self->h, 3 * MB, &a));
	*e = saved;
	/* A record state that is no state, or names no slot. */
	s = state_word(self, a);
	saved = *s;
	*s = 7;
	EXPECT_EQ(-EBADMSG, shmipc_heap_free(self->h, a));
	EXPECT_EQ(-EBADMSG, shmipc_heap_stats(self->h, &st));
	*s = 3 | 200 << 3;
	EXPECT_EQ(-EBADMSG, shmipc_heap_free(self->h, a));
	EXPECT_EQ(-EBADMSG, shmipc_heap_reclaim(self->h));
	*s = saved;
	ASSERT_EQ(0, shmipc_heap_free(self->h, a));
	/* The run's tail page claims to be a head. */
	e = page_entry(self, b + PAGE);
	saved = *e;
	*e = 0x20000000 | 4;
	EXPECT_EQ(-EINVAL, shmipc_heap_free(self->h, b + PAGE / 2));
	*e = saved;
	ASSERT_EQ(0, shmipc_heap_free(self->h, b));
	EXPECT_ALL_FREE(self);
}

TEST_F(heap, corrupt_channel_entry_and_offsets)
{
	struct shmipc_heap_channel *ch, *c2 = NULL;
	struct shmipc_heap_stats st;
	uint32_t *ent = hword(self, HH_CHANS), saved[16];
	uint64_t off, got;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 4));
	memcpy(saved, ent, sizeof(saved));
	ent[2] = 12345;				/* ring offset */
	EXPECT_EQ(-EBADMSG, shmipc_heap_channel_open(self->h, "c", &c2));
	memcpy(ent, saved, sizeof(saved));
	ent[1] = 3;				/* capacity */
	EXPECT_EQ(-EBADMSG, shmipc_heap_channel_open(self->h, "c", &c2));
	memcpy(ent, saved, sizeof(saved));
	ent[0] = 9;				/* no such state */
	EXPECT_EQ(-EBADMSG, shmipc_heap_channel_open(self->h, "c", &c2));
	EXPECT_EQ(-EBADMSG, shmipc_heap_stats(self->h, &st));
	EXPECT_EQ(-EBADMSG, shmipc_heap_channel_add(self->h, "d", 4));
	memcpy(ent, saved, sizeof(saved));
	ASSERT_EQ(0, shmipc_heap_channel_open(self->h, "c", &ch));
	/* A record whose state was rewritten while in flight. */
	ASSERT_EQ(0, shmipc_heap_alloc(self->h, 64, &off));
	ASSERT_EQ(0, shmipc_heap_try_send(ch, off));
	*state_word(self, off) = 3 | 5 << 3;
	EXPECT_EQ(-EBADMSG, shmipc_heap_try_recv(ch, &got));
	EXPECT_EQ(0, shmipc_heap_channel_close(ch));
	ASSERT_EQ(0, shmipc_heap_channel_remove(self->h, "c"));
	/* That record now belongs to a slot nobody holds: reclaimed. */
	EXPECT_EQ(1, shmipc_heap_reclaim(self->h));
	EXPECT_ALL_FREE(self);
}

/* Random garbage in the page table, states, hints and slot table:
 * every call returns (any result), none crashes or hangs. */
TEST_F_TIMEOUT(heap, fuzz_tables, 240)
{
	uint64_t seed = 99, off, pt = *hword64(self, HH_PAGETAB);
	uint64_t stt = *hword64(self, HH_STATES);
	uint32_t npages = *hword(self, HH_NPAGES);
	struct shmipc_heap_stats st;
	struct shmipc_heap_channel *ch = NULL;
	uint64_t held[8] = { 0 };
	int i, j;

	ASSERT_EQ(0, shmipc_heap_channel_add(self->h, "c", 4));
	for (i = 0; i < 300; i++) {
		for (j = 0; j < 4; j++) {
			uint64_t r = lt_rand(&seed), at;

			switch (r % 4) {
			case 0:
				at = pt + 4 * (r / 4 % npages);
				break;
			case 1:
				at = stt + 4 * (r / 4 % (npages * 1024ULL));
				break;
			case 2:
				at = pt + 4 * npages + 4 * (r / 4 % npages);
				break;
			default:
				at = HH_SLOTS + 4 * (r / 4 % (64 * 8 + 64 * 16));
				break;
			}
			*hword(self, at) = lt_evil32(&seed);
		}
		j = (int)(lt_rand(&seed) % 8);
		if (held[j]) {
			shmipc_heap_free(self->h, held[j]);
			held[j] = 0;
		} else if (shmipc_heap_alloc(self->h,
					     1 + lt_rand(&seed) % (4 * MB),
					     &off) == 0) {
			held[j] = off;
		}
		shmipc_heap_stats(self->h, &st);
		if (i % 10 == 0)
			shmipc_heap_reclaim(self->h);
		if (shmipc_heap_channel_open(self->h, "c", &ch) == 0) {
			shmipc_heap_try_recv(ch, &off);
			shmipc_heap_channel_close(ch);
		}
	}
}

TEST_HARNESS_MAIN
