// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc growable buffers: the write / read-in-place / ack cycle,
 * growth across several generations with the reader following (and the
 * superseded generations' names gone), the serialization hook with a
 * nontrivial object, request/response between threads and between
 * processes with checksums, SIGKILL of the writer mid-message and
 * mid-growth and of the reader mid-read (the survivor gets -EOWNERDEAD
 * promptly; a successor takes over), a clean close (-EPIPE), bad
 * arguments, and a hostile peer corrupting the control block (-EBADMSG,
 * no crash, no hang).
 *
 * No test asserts on speed.  Deadlines only bound hangs.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "lib_test.h"

#include <pthread.h>

#define RSIZE	(1024 * 1024)
#define INIT	4096ULL
#define MAX	(16ULL << 20)
/* struct growbuf_ctl (lib/growbuf.c): config line, seq/gen/len at +64,
 * ack at +128, sleep words at +192, ends at +256. */
#define C_MAGIC		0
#define C_VERSION	4
#define C_HDRSIZE	8
#define C_INIT		16
#define C_MAX		24
#define C_SEQ		64
#define C_GEN		68
#define C_LEN		72
#define C_ACK		128
#define C_PROD_STATE	(256 + 8)
#define C_CONS_STATE	(256 + 16 + 8)

#define SOON(ms)	shmipc_deadline_in((uint64_t)(ms) * LT_MS)

static void fill(unsigned char *p, uint64_t len, uint64_t seed)
{
	uint64_t i, x = 0;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = lt_mix(seed * 1000003 + i / 8);
		p[i] = (unsigned char)(x >> (i % 8 * 8));
	}
}

static bool same(const unsigned char *p, uint64_t len, uint64_t seed)
{
	uint64_t i, x = 0;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = lt_mix(seed * 1000003 + i / 8);
		if (p[i] != (unsigned char)(x >> (i % 8 * 8)))
			return false;
	}
	return true;
}

FIXTURE(gb) {
	struct lt_obj o;
	struct shmipc_growbuf *w, *rd;
};

/* The object under test. */
static int make_buffer(struct shmipc_region *r, const char *key)
{
	return shmipc_growbuf_create(r, key, INIT, MAX);
}

FIXTURE_SETUP(gb)
{
	int ret = lt_obj_setup(&self->o, "growbuf", RSIZE, "gb", make_buffer);

	ASSERT_EQ(0, ret) TH_LOG("setup: %s", shmipc_strerror(ret));
}

FIXTURE_TEARDOWN(gb)
{
	shmipc_growbuf_close(self->w);
	shmipc_growbuf_close(self->rd);
	/* Portable backend: names a killed writer may have left. */
	while (shmipc_growbuf_unlink(self->o.r, "gb") == 0)
		;
	lt_obj_teardown(&self->o);
}

static uint32_t *word(FIXTURE_DATA(gb) *self, unsigned int at)
{
	return lt_obj_word(&self->o, at);
}

/* Both ends, in the fixture. */
#define open_both(_metadata, self)					\
	ASSERT_EQ(0, LT_OPEN_BOTH(shmipc_growbuf_open, &(self)->o, "gb",	\
				  &(self)->w, &(self)->rd))

/* Does generation @gen of "gb" still have a name? */
static bool gen_exists(FIXTURE_DATA(gb) *self, uint32_t gen)
{
	char name[80];
	struct shmipc_region *g = NULL;
	int ret;

	snprintf(name, sizeof(name), "%s.gb.g%u", self->o.name, gen);
	ret = shmipc_region_open(name, 0, 0, 0, &g);
	shmipc_region_close(g);
	return ret == 0;
}

static void unlink_gen(FIXTURE_DATA(gb) *self, uint32_t gen)
{
	char name[80];

	snprintf(name, sizeof(name), "%s.gb.g%u", self->o.name, gen);
	shmipc_region_unlink(name);
}

/* ------------------------------------------------------------------ */
/* Arguments and the basic cycle */

TEST_F(gb, create_arguments)
{
	char key[80];

	EXPECT_EQ(-EINVAL, shmipc_growbuf_create(self->o.r, "x", 0, 10));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_create(self->o.r, "x", 11, 10));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_create(self->o.r, "x", 1,
					SHMIPC_GROWBUF_SIZE_MAX + 1));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_create(NULL, "x", 1, 10));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_create(self->o.r, "a/b", 1, 10));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_create(self->o.r, "", 1, 10));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_create(self->o.r, NULL, 1, 10));
	memset(key, 'k', sizeof(key));
	key[SHMIPC_GROWBUF_BASE_MAX - strlen(self->o.name)] = 0;
	EXPECT_EQ(-ENAMETOOLONG, shmipc_growbuf_create(self->o.r, key, 1, 10));
	key[SHMIPC_GROWBUF_BASE_MAX - strlen(self->o.name) - 1] = 0;
	EXPECT_EQ(0, shmipc_growbuf_create(self->o.r, key, 1, 10));
	EXPECT_EQ(-EEXIST, shmipc_growbuf_create(self->o.r, "gb", 1, 10));
	EXPECT_EQ(-ENOENT, shmipc_growbuf_open(self->o.r, "nope",
					       SHMIPC_PRODUCER, &self->w));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_open(self->o.r, "gb", 0, &self->w));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_PRODUCER,
					       NULL));
	EXPECT_EQ(NULL, self->w);
	EXPECT_EQ(0, shmipc_growbuf_close(NULL));
	EXPECT_EQ(-ENOENT, shmipc_growbuf_unlink(self->o.r, "gb"));
}

TEST_F(gb, write_read_ack_cycle)
{
	unsigned char msg[3000];
	const void *p, *p2;
	uint64_t len;
	void *wr;
	int i;

	open_both(_metadata, self);
	EXPECT_EQ(0, shmipc_growbuf_generation(self->w));
	EXPECT_EQ(-ETIMEDOUT, shmipc_growbuf_read(self->rd, &p, &len, 0));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_ack(self->rd));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_commit(self->w, 0));
	/* Roles and arguments. */
	EXPECT_EQ(-EPERM, shmipc_growbuf_reserve(self->rd, 1, &wr, 0));
	EXPECT_EQ(-EPERM, shmipc_growbuf_commit(self->rd, 0));
	EXPECT_EQ(-EPERM, shmipc_growbuf_read(self->w, &p, &len, 0));
	EXPECT_EQ(-EPERM, shmipc_growbuf_ack(self->w));
	EXPECT_EQ(-EPERM, shmipc_growbuf_wait_ack(self->rd, 0));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_reserve(self->w, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_read(self->rd, NULL, &len, 0));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_write(self->w, NULL, 1, 0));
	EXPECT_EQ(-EMSGSIZE, shmipc_growbuf_reserve(self->w, MAX + 1, &wr, 0));
	/* Nothing pending: the writer does not wait. */
	EXPECT_EQ(0, shmipc_growbuf_wait_ack(self->w, 0));

	for (i = 0; i < 100; i++) {
		uint64_t n = (uint64_t)(i * 29) % sizeof(msg);

		fill(msg, n, (uint64_t)i);
		ASSERT_EQ(0, shmipc_growbuf_write(self->w, msg, n, SOON(5000)));
		/* One message at a time: the next waits for the ack. */
		EXPECT_EQ(-ETIMEDOUT, shmipc_growbuf_reserve(self->w, 1, &wr,
							     SOON(1)));
		ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len,
						 SOON(5000)));
		ASSERT_EQ(n, len);
		EXPECT_TRUE(same(p, len, (uint64_t)i));
		EXPECT_EQ(0, (uintptr_t)p % 64);
		/* Read again before ack: the same message. */
		ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p2, &len, 0));
		EXPECT_EQ(p, p2);
		EXPECT_EQ(n, len);
		ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
		EXPECT_EQ(-EINVAL, shmipc_growbuf_ack(self->rd));
		ASSERT_EQ(0, shmipc_growbuf_wait_ack(self->w, SOON(5000)));
	}
	/* Steady state: one generation, no growth. */
	EXPECT_EQ(1, shmipc_growbuf_generation(self->w));
	EXPECT_EQ(1, shmipc_growbuf_generation(self->rd));
	EXPECT_EQ(INIT, shmipc_growbuf_capacity(self->w));
	/* Zero copy: reserve, commit less; commit more than reserved. */
	ASSERT_EQ(0, shmipc_growbuf_reserve(self->w, 100, &wr, 0));
	fill(wr, 60, 99);
	EXPECT_EQ(-EINVAL, shmipc_growbuf_commit(self->w, 101));
	ASSERT_EQ(0, shmipc_growbuf_commit(self->w, 60));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_commit(self->w, 0));
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, 0));
	EXPECT_EQ(60, len);
	EXPECT_TRUE(same(p, 60, 99));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
}

/* Messages of growing sizes: several generations, the reader follows,
 * superseded generations lose their names; then steady state. */
TEST_F_TIMEOUT(gb, growth_across_generations, 120)
{
	static const uint64_t sizes[] = {
		100, INIT, INIT + 1, 3 * INIT, 5000, 70000, 1 << 20, 100,
		(3 << 20) + 7, 1 << 20, MAX,
	};
	unsigned char *msg = malloc(MAX);
	uint32_t gen = 0, gens = 0;
	const void *p;
	uint64_t len;
	unsigned int i;

	ASSERT_NE(NULL, msg);
	open_both(_metadata, self);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t before = shmipc_growbuf_capacity(self->w);

		fill(msg, sizes[i], i);
		ASSERT_EQ(0, shmipc_growbuf_write(self->w, msg, sizes[i],
						  SOON(10000)));
		EXPECT_LE(sizes[i], shmipc_growbuf_capacity(self->w));
		if (sizes[i] <= before) {
			EXPECT_EQ(before, shmipc_growbuf_capacity(self->w));
		} else if (before) {
			/* At least doubles. */
			EXPECT_LE(2 * before < MAX ? 2 * before : MAX,
				  shmipc_growbuf_capacity(self->w));
		}
		ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len,
						 SOON(10000)));
		ASSERT_EQ(sizes[i], len);
		EXPECT_TRUE(same(p, len, i)) TH_LOG("message %u", i);
		EXPECT_EQ(shmipc_growbuf_generation(self->w),
			  shmipc_growbuf_generation(self->rd));
		if (shmipc_growbuf_generation(self->rd) != gen) {
			if (gen)
				EXPECT_FALSE(gen_exists(self, gen));
			gen = shmipc_growbuf_generation(self->rd);
			gens++;
		}
		EXPECT_TRUE(gen_exists(self, gen));
		ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	}
	EXPECT_LE(4, gens);
	EXPECT_EQ(MAX, shmipc_growbuf_capacity(self->rd));
	EXPECT_EQ(-EMSGSIZE, shmipc_growbuf_write(self->w, msg, MAX + 1, 0));
	/* Both done: the last generation's name goes with them. */
	shmipc_growbuf_close(self->w);
	shmipc_growbuf_close(self->rd);
	self->w = self->rd = NULL;
	EXPECT_FALSE(gen_exists(self, gen));
	free(msg);
}

/* ------------------------------------------------------------------ */
/* Serialization hook */

/* A nontrivial object: a name, a variable array of samples and a list
 * of tagged values, serialized as a self-describing byte string. */
struct tag {
	uint32_t key;
	int64_t value;
	struct tag *next;
};

struct event {
	char name[32];
	uint32_t nsamples;
	double *samples;
	struct tag *tags;
};

struct wire_head {
	char name[32];
	uint32_t nsamples;
	uint32_t ntags;
};

static uint32_t count_tags(const struct tag *t)
{
	uint32_t n = 0;

	for (; t; t = t->next)
		n++;
	return n;
}

static uint64_t ev_size(const void *obj, void *ctx)
{
	const struct event *e = obj;

	(void)ctx;
	return sizeof(struct wire_head) + e->nsamples * sizeof(double) +
	       count_tags(e->tags) * (4 + 8);
}

static int ev_write(const void *obj, void *dst, uint64_t len, void *ctx)
{
	const struct event *e = obj;
	struct wire_head h;
	unsigned char *p = dst;
	const struct tag *t;
	int *fail = ctx;

	if (fail && *fail)
		return -ENODATA;
	if (len != ev_size(obj, NULL))
		return -EPROTO;
	memcpy(h.name, e->name, sizeof(h.name));
	h.nsamples = e->nsamples;
	h.ntags = count_tags(e->tags);
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, e->samples, e->nsamples * sizeof(double));
	p += e->nsamples * sizeof(double);
	for (t = e->tags; t; t = t->next) {
		memcpy(p, &t->key, 4);
		memcpy(p + 4, &t->value, 8);
		p += 12;
	}
	return 0;
}

/* Rebuilds the object, checking every length against @len. */
static int ev_read(void *obj, const void *src, uint64_t len, void *ctx)
{
	struct event *e = obj;
	const unsigned char *p = src;
	struct wire_head h;
	struct tag **link = &e->tags;
	uint32_t i;

	(void)ctx;
	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	if (len != sizeof(h) + (uint64_t)h.nsamples * 8 + (uint64_t)h.ntags * 12 ||
	    memchr(h.name, 0, sizeof(h.name)) == NULL)
		return -EPROTO;
	p += sizeof(h);
	memcpy(e->name, h.name, sizeof(e->name));
	e->nsamples = h.nsamples;
	e->samples = malloc(h.nsamples * sizeof(double) + 1);
	if (!e->samples)
		return -ENOMEM;
	memcpy(e->samples, p, h.nsamples * sizeof(double));
	p += h.nsamples * sizeof(double);
	e->tags = NULL;
	for (i = 0; i < h.ntags; i++) {
		struct tag *t = calloc(1, sizeof(*t));

		if (!t)
			return -ENOMEM;
		memcpy(&t->key, p, 4);
		memcpy(&t->value, p + 4, 8);
		p += 12;
		*link = t;
		link = &t->next;
	}
	return 0;
}

static void ev_free(struct event *e)
{
	while (e->tags) {
		struct tag *t = e->tags;

		e->tags = t->next;
		free(t);
	}
	free(e->samples);
}

static bool ev_equal(const struct event *a, const struct event *b)
{
	const struct tag *x = a->tags, *y = b->tags;

	if (strcmp(a->name, b->name) || a->nsamples != b->nsamples ||
	    memcmp(a->samples, b->samples, a->nsamples * sizeof(double)))
		return false;
	for (; x && y; x = x->next, y = y->next)
		if (x->key != y->key || x->value != y->value)
			return false;
	return !x && !y;
}

static void ev_make(struct event *e, uint32_t nsamples, uint32_t ntags,
		    uint64_t seed)
{
	uint32_t i;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "event-%llu",
		 (unsigned long long)seed);
	e->nsamples = nsamples;
	e->samples = malloc(nsamples * sizeof(double) + 1);
	for (i = 0; i < nsamples; i++)
		e->samples[i] = (double)lt_mix(seed + i) / 3.0;
	for (i = 0; i < ntags; i++) {
		struct tag *t = calloc(1, sizeof(*t));

		t->key = i * 7;
		t->value = -(int64_t)lt_mix(seed ^ i);
		t->next = e->tags;
		e->tags = t;
	}
}

TEST_F(gb, serialization_round_trip)
{
	int fail = 0;
	struct shmipc_serializer ser = { ev_size, ev_write, ev_read, &fail };
	struct shmipc_serializer bad = { NULL, ev_write, ev_read, NULL };
	struct event in, out;
	unsigned int i;
	const void *p;
	uint64_t len;

	open_both(_metadata, self);
	/* Small, then large enough to grow the buffer in place. */
	for (i = 0; i < 4; i++) {
		ev_make(&in, i * 100000, i * 50 + 1, i);
		ASSERT_EQ(0, shmipc_growbuf_write_obj(self->w, &ser, &in,
						      SOON(10000)));
		memset(&out, 0, sizeof(out));
		ASSERT_EQ(0, shmipc_growbuf_read_obj(self->rd, &ser, &out,
						     SOON(10000)));
		EXPECT_TRUE(ev_equal(&in, &out));
		ev_free(&in);
		ev_free(&out);
	}
	EXPECT_LT(1, shmipc_growbuf_generation(self->rd));
	/* A failing write() sends nothing. */
	ev_make(&in, 3, 3, 77);
	fail = 1;
	EXPECT_EQ(-ENODATA, shmipc_growbuf_write_obj(self->w, &ser, &in, 0));
	EXPECT_EQ(-ETIMEDOUT, shmipc_growbuf_read(self->rd, &p, &len, 0));
	fail = 0;
	/* A failing read() (a message that is no event): the error, and
	 * the message is consumed. */
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, "garbage", 7, 0));
	memset(&out, 0, sizeof(out));
	EXPECT_EQ(-EPROTO, shmipc_growbuf_read_obj(self->rd, &ser, &out, 0));
	EXPECT_EQ(0, shmipc_growbuf_wait_ack(self->w, 0));
	ev_free(&out);
	EXPECT_EQ(-EINVAL, shmipc_growbuf_write_obj(self->w, &bad, &in, 0));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_write_obj(self->w, NULL, &in, 0));
	EXPECT_EQ(-EINVAL, shmipc_growbuf_read_obj(self->rd, NULL, &out, 0));
	ev_free(&in);
}

/* ------------------------------------------------------------------ */
/* Request / response */

#define ROUNDS 300

/* Request i: a size that sometimes grows; response: the bytes reversed. */
static uint64_t req_size(unsigned int i)
{
	return (uint64_t)(lt_mix(i) % (i < ROUNDS / 2 ? 9000 : 300000));
}

struct worker {
	struct shmipc_growbuf *req, *resp;
	int ret;
	unsigned int bad;
};

static void *worker_loop(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	for (i = 0; i < ROUNDS; i++) {
		const unsigned char *q;
		unsigned char *out;
		uint64_t len, k;
		void *wr;

		w->ret = shmipc_growbuf_read(w->req, (const void **)&q, &len,
					     SOON(60000));
		if (w->ret)
			break;
		if (len != req_size(i) || !same(q, len, i))
			w->bad++;
		w->ret = shmipc_growbuf_reserve(w->resp, len, &wr, SOON(60000));
		if (w->ret)
			break;
		out = wr;
		for (k = 0; k < len; k++)
			out[k] = q[len - 1 - k];
		shmipc_growbuf_ack(w->req);
		w->ret = shmipc_growbuf_commit(w->resp, len);
		if (w->ret)
			break;
	}
	return NULL;
}

/* The controller side: request, wait for the response, check it. */
static int controller_loop(struct shmipc_growbuf *req,
			   struct shmipc_growbuf *resp, unsigned int *bad)
{
	unsigned char *buf = malloc(300000);
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ROUNDS && buf; i++) {
		const unsigned char *a;
		uint64_t n = req_size(i), len, k;

		fill(buf, n, i);
		ret = shmipc_growbuf_write(req, buf, n, SOON(60000));
		if (!ret)
			ret = shmipc_growbuf_read(resp, (const void **)&a, &len,
						  SOON(60000));
		if (ret)
			break;
		for (k = 0; k < len && len == n; k++)
			if (a[k] != buf[n - 1 - k])
				break;
		if (len != n || k != n)
			(*bad)++;
		ret = shmipc_growbuf_ack(resp);
		if (ret)
			break;
	}
	free(buf);
	return buf ? ret : -ENOMEM;
}

TEST_F_TIMEOUT(gb, threads_request_response, 180)
{
	struct shmipc_growbuf *resp_w, *resp_r;
	struct worker wk = { 0 };
	unsigned int bad = 0;
	pthread_t t;

	ASSERT_EQ(0, shmipc_growbuf_create(self->o.r, "resp", 64, MAX));
	open_both(_metadata, self);
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "resp", SHMIPC_PRODUCER,
					 &resp_w));
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "resp", SHMIPC_CONSUMER,
					 &resp_r));
	wk.req = self->rd;
	wk.resp = resp_w;
	ASSERT_EQ(0, pthread_create(&t, NULL, worker_loop, &wk));
	EXPECT_EQ(0, controller_loop(self->w, resp_r, &bad));
	pthread_join(t, NULL);
	EXPECT_EQ(0, wk.ret) TH_LOG("worker: %s", shmipc_strerror(wk.ret));
	EXPECT_EQ(0, wk.bad);
	EXPECT_EQ(0, bad);
	EXPECT_LT(1, shmipc_growbuf_generation(resp_r));
	shmipc_growbuf_close(resp_w);
	shmipc_growbuf_close(resp_r);
	while (shmipc_growbuf_unlink(self->o.r, "resp") == 0)
		;
}

/* Child: open the region and a buffer, or exit with a code. */
static struct shmipc_growbuf *child_open(const char *name, const char *key,
					 enum shmipc_role role)
{
	struct shmipc_growbuf *gb = NULL;

	lt_child_must(shmipc_growbuf_open(lt_child_region(name), key, role,
					  &gb));
	return gb;
}

TEST_F_TIMEOUT(gb, processes_request_response, 180)
{
	struct shmipc_growbuf *resp_r;
	unsigned int bad = 0;
	pid_t pid;

	ASSERT_EQ(0, shmipc_growbuf_create(self->o.r, "resp", 64, MAX));
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_PRODUCER,
					 &self->w));
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "resp", SHMIPC_CONSUMER,
					 &resp_r));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct worker wk = { 0 };

		wk.req = child_open(self->o.name, "gb", SHMIPC_CONSUMER);
		wk.resp = child_open(self->o.name, "resp", SHMIPC_PRODUCER);
		worker_loop(&wk);
		/* Make sure the last response was read before leaving. */
		if (!wk.ret)
			wk.ret = shmipc_growbuf_wait_ack(wk.resp, SOON(60000));
		shmipc_growbuf_close(wk.req);
		shmipc_growbuf_close(wk.resp);
		_exit(wk.ret ? lt_code(wk.ret) : wk.bad ? 100 : 0);
	}
	EXPECT_EQ(0, controller_loop(self->w, resp_r, &bad));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, lt_reap(pid));
	shmipc_growbuf_close(resp_r);
	while (shmipc_growbuf_unlink(self->o.r, "resp") == 0)
		;
}

/* ------------------------------------------------------------------ */
/* Deaths */

/* Open the reader here, then fork (with a handshake pipe) a child that
 * is to be the writer: the pid, 0 in the child, -1 on failure. */
static pid_t reader_and_writer_child(FIXTURE_DATA(gb) *self, int fds[2])
{
	if (shmipc_growbuf_open(self->o.r, "gb", SHMIPC_CONSUMER, &self->rd))
		return -1;
	return lt_fork_pipe(fds);
}

/*
 * The reader's role in the parent, and a child writer that writes one
 * 20000-byte message filled with @seed (a new generation), signals fds[1]
 * and waits to be killed: its pid, or -1.
 */
static pid_t writer_of_one_message(FIXTURE_DATA(gb) *self, int fds[2],
				   int seed)
{
	pid_t pid = reader_and_writer_child(self, fds);

	if (pid == 0) {
		struct shmipc_growbuf *w = child_open(self->o.name, "gb",
						      SHMIPC_PRODUCER);
		unsigned char *msg = malloc(20000);

		fill(msg, 20000, seed);
		if (shmipc_growbuf_write(w, msg, 20000, SOON(5000)))
			_exit(101);
		lt_signal(fds[1]);
		for (;;)
			pause();	/* killed here */
	}
	return pid;
}

/*
 * The writer sends one message, then is SIGKILLed in the middle of the
 * next one, after growing the buffer for it (a new generation created,
 * half written, not committed), while the reader blocks: the reader gets
 * the first message, then -EOWNERDEAD well before its deadline.  A new
 * writer takes over, starts a generation of its own, and the reader
 * follows it.
 */
TEST_F_TIMEOUT(gb, writer_killed_mid_growth, 60)
{
	uint64_t dl = SOON(20000), len;
	unsigned char msg[100];
	const void *p;
	int fds[2];
	pid_t pid, killer;

	pid = reader_and_writer_child(self, fds);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_growbuf *w = child_open(self->o.name, "gb",
						      SHMIPC_PRODUCER);
		void *wr;

		fill(msg, sizeof(msg), 1);
		if (shmipc_growbuf_write(w, msg, sizeof(msg), SOON(5000)))
			_exit(101);
		if (shmipc_growbuf_reserve(w, 100000, &wr, SOON(5000)))
			_exit(102);
		memset(wr, 0xee, 50000);
		lt_signal(fds[1]);
		for (;;)
			pause();	/* killed here */
	}
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_EQ(sizeof(msg), len);
	EXPECT_TRUE(same(p, len, 1));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	ASSERT_EQ(0, lt_await(fds[0]));	/* it grew, and writes */
	killer = lt_kill_later(pid, 200);
	ASSERT_LE(0, killer);
	EXPECT_EQ(-EOWNERDEAD, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_EQ(0, lt_reap(killer));
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	EXPECT_EQ(-EOWNERDEAD, shmipc_growbuf_read(self->rd, &p, &len, dl));
	/* A successor writer: a fresh generation (replacing the one the
	 * dead writer left unpublished); the reader follows. */
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_PRODUCER,
					 &self->w));
	fill(msg, sizeof(msg), 2);
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, msg, sizeof(msg), dl));
	EXPECT_EQ(2, shmipc_growbuf_generation(self->w));
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_EQ(sizeof(msg), len);
	EXPECT_TRUE(same(p, len, 2));
	EXPECT_EQ(shmipc_growbuf_generation(self->w),
		  shmipc_growbuf_generation(self->rd));
	/* The dead writer's published generation lost its name. */
	EXPECT_FALSE(gen_exists(self, 1));
	close(fds[0]);
	close(fds[1]);
}

/*
 * The writer commits a message into a new generation and is SIGKILLed
 * before the reader mapped it: the name outlives the writer (portable:
 * as every name; module: tied to the growbuf's region), the reader gets
 * the message, then -EOWNERDEAD, and the name is gone.  Never a hang.
 */
TEST_F_TIMEOUT(gb, writer_killed_after_growing, 60)
{
	uint64_t dl = SOON(20000), len;
	const void *p;
	int fds[2], ret;
	pid_t pid;

	pid = writer_of_one_message(self, fds, 3);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_await(fds[0]));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	EXPECT_TRUE(gen_exists(self, 1));
	ret = shmipc_growbuf_read(self->rd, &p, &len, dl);
	ASSERT_EQ(0, ret) TH_LOG("%s", shmipc_strerror(ret));
	EXPECT_EQ(20000, len);
	EXPECT_TRUE(same(p, len, 3));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	EXPECT_EQ(-EOWNERDEAD, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	/* Nobody writes any more: the reader removed the name. */
	EXPECT_FALSE(gen_exists(self, 1));
	close(fds[0]);
	close(fds[1]);
}

/*
 * The reader follows the writer into its new generation while the writer
 * still lives; the writer is SIGKILLed only after the reader acked its
 * message.  The reader's next read gives -EOWNERDEAD and removes the
 * name (nobody else would: the writer is gone, and the reader that
 * followed saw it alive then).
 */
TEST_F_TIMEOUT(gb, writer_killed_after_reader_followed, 60)
{
	uint64_t dl = SOON(20000), len;
	const void *p;
	int fds[2], ret;
	pid_t pid;

	pid = writer_of_one_message(self, fds, 4);
	ASSERT_LE(0, pid);
	ret = shmipc_growbuf_read(self->rd, &p, &len, dl);
	ASSERT_EQ(0, ret) TH_LOG("%s", shmipc_strerror(ret));
	EXPECT_EQ(20000, len);
	EXPECT_TRUE(same(p, len, 4));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	EXPECT_TRUE(gen_exists(self, 1));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	EXPECT_EQ(-EOWNERDEAD, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_FALSE(gen_exists(self, 1));
	close(fds[0]);
	close(fds[1]);
}

/*
 * A reader reads and acks the writer's message, then leaves; a new reader
 * takes the role (it maps no generation yet).  The writer is SIGKILLed:
 * the new reader's read gives -EOWNERDEAD and removes the name of the
 * generation everything was read from.
 */
TEST_F_TIMEOUT(gb, writer_killed_after_the_reader_was_replaced, 60)
{
	uint64_t dl = SOON(20000), len;
	const void *p;
	int fds[2], ret;
	pid_t pid;

	pid = writer_of_one_message(self, fds, 5);
	ASSERT_LE(0, pid);
	ret = shmipc_growbuf_read(self->rd, &p, &len, dl);
	ASSERT_EQ(0, ret) TH_LOG("%s", shmipc_strerror(ret));
	EXPECT_TRUE(same(p, len, 5));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	shmipc_growbuf_close(self->rd);
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_CONSUMER,
					 &self->rd));
	EXPECT_EQ(0, shmipc_growbuf_generation(self->rd));
	EXPECT_TRUE(gen_exists(self, 1));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	EXPECT_EQ(-EOWNERDEAD, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_FALSE(gen_exists(self, 1));
	/* A successor writer starts generation 2; the reader follows. */
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_PRODUCER,
					 &self->w));
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, "again", 5, dl));
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_EQ(0, memcmp(p, "again", 5));
	EXPECT_EQ(2, shmipc_growbuf_generation(self->rd));
	close(fds[0]);
	close(fds[1]);
}

/*
 * A child that takes the reader's role of "gb", reads one message without
 * acking it, signals fds[1] and waits to be killed: its pid, or -1.
 */
static pid_t reader_holding_message(FIXTURE_DATA(gb) *self, int fds[2])
{
	pid_t pid = lt_fork_pipe(fds);

	if (pid == 0) {
		struct shmipc_growbuf *r = child_open(self->o.name, "gb",
						      SHMIPC_CONSUMER);
		const void *p;
		uint64_t len;

		if (shmipc_growbuf_read(r, &p, &len, SOON(5000)))
			_exit(101);
		lt_signal(fds[1]);
		for (;;)
			pause();	/* killed here */
	}
	return pid;
}

/*
 * The reader is SIGKILLed in the middle of a read (holding the message,
 * not acked) while the writer waits to write the next: -EOWNERDEAD.  A
 * new reader gets the message again.
 */
TEST_F_TIMEOUT(gb, reader_killed_mid_read, 60)
{
	uint64_t dl = SOON(20000), len;
	unsigned char msg[5000];
	const void *p;
	void *wr;
	int fds[2];
	pid_t pid, killer;

	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_PRODUCER,
					 &self->w));
	fill(msg, sizeof(msg), 4);
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, msg, sizeof(msg), dl));
	pid = reader_holding_message(self, fds);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_await(fds[0]));
	killer = lt_kill_later(pid, 200);
	ASSERT_LE(0, killer);
	EXPECT_EQ(-EOWNERDEAD, shmipc_growbuf_reserve(self->w, 10, &wr, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_EQ(0, lt_reap(killer));
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	EXPECT_EQ(-EOWNERDEAD, shmipc_growbuf_wait_ack(self->w, dl));
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_CONSUMER,
					 &self->rd));
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_EQ(sizeof(msg), len);
	EXPECT_TRUE(same(p, len, 4));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	ASSERT_EQ(0, shmipc_growbuf_wait_ack(self->w, dl));
	close(fds[0]);
	close(fds[1]);
}

/*
 * The reader dies holding an unacked message, then the writer closes:
 * the message stays for a reader that takes the role over (it then gets
 * -EPIPE), and the generation's name goes once that reader has it.
 */
TEST_F_TIMEOUT(gb, message_outlives_reader_death_and_writer_close, 60)
{
	uint64_t dl = SOON(20000), len;
	const void *p;
	int fds[2];
	pid_t pid;

	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_PRODUCER,
					 &self->w));
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, "unread", 6, dl));
	ASSERT_EQ(1U, shmipc_growbuf_generation(self->w));
	pid = reader_holding_message(self, fds);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_await(fds[0]));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	EXPECT_EQ(-EOWNERDEAD, shmipc_growbuf_wait_ack(self->w, dl));
	shmipc_growbuf_close(self->w);
	self->w = NULL;
	EXPECT_TRUE(gen_exists(self, 1));
	/* A reader that comes later gets it, then is told the writer left. */
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_CONSUMER,
					 &self->rd));
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_EQ(6U, len);
	EXPECT_EQ(0, memcmp(p, "unread", 6));
	EXPECT_FALSE(gen_exists(self, 1));	/* mapped, its writer gone */
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	EXPECT_EQ(-EPIPE, shmipc_growbuf_read(self->rd, &p, &len, dl));
	close(fds[0]);
	close(fds[1]);
}

/*
 * A generation name another user left behind (a writer of that user that
 * died), which this writer may not remove: it grows into the next
 * number instead of failing for good, and the reader follows.
 */
TEST_F_TIMEOUT(gb, stale_generation_of_another_user_skipped, 60)
{
	uint64_t dl = SOON(20000), len;
	struct shmipc_region *shared, *stale;
	struct shmipc_growbuf *rd;
	char name[80], sname[96];
	const void *p;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to act as another user");
	snprintf(name, sizeof(name), "%.40s-x", self->o.name);
	shmipc_region_unlink(name);
	ASSERT_EQ(0, shmipc_region_open(name, RSIZE, 0666,
					SHMIPC_REGION_CREATE |
						SHMIPC_REGION_EXCL, &shared));
	ASSERT_EQ(0, shmipc_growbuf_create(shared, "gb", INIT, MAX));
	/* Root's leftover "generation 1", not removable by nobody. */
	snprintf(sname, sizeof(sname), "%s.gb.g1", name);
	ASSERT_EQ(0, shmipc_region_open(sname, 8192, 0644,
					SHMIPC_REGION_CREATE |
						SHMIPC_REGION_EXCL, &stale));
	ASSERT_EQ(0, shmipc_growbuf_open(shared, "gb", SHMIPC_CONSUMER, &rd));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_region *r;
		struct shmipc_growbuf *w;

		if (setgid(65534) || setuid(65534))
			_exit(100);
		if (shmipc_region_open(name, 0, 0, 0, &r) ||
		    shmipc_growbuf_open(r, "gb", SHMIPC_PRODUCER, &w))
			_exit(101);
		if (shmipc_growbuf_write(w, "as nobody", 9, SOON(5000)))
			_exit(102);
		_exit(shmipc_growbuf_generation(w) == 2 ? 0 : 103);
	}
	EXPECT_EQ(0, lt_reap(pid));
	ASSERT_EQ(0, shmipc_growbuf_read(rd, &p, &len, dl));
	EXPECT_EQ(9U, len);
	EXPECT_EQ(0, memcmp(p, "as nobody", 9));
	EXPECT_EQ(2U, shmipc_growbuf_generation(rd));
	ASSERT_EQ(0, shmipc_growbuf_ack(rd));
	shmipc_growbuf_close(rd);
	shmipc_region_close(stale);
	/* The cleanup reaches the skipped name too. */
	while (shmipc_growbuf_unlink(shared, "gb") == 0)
		;
	EXPECT_EQ(-ENOENT, shmipc_region_open(sname, 0, 0, 0, &stale));
	shmipc_region_close(shared);
	shmipc_region_unlink(name);
}

TEST_F(gb, clean_close_gives_epipe)
{
	uint64_t dl = SOON(10000), len;
	const void *p;
	void *wr;

	open_both(_metadata, self);
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, "one", 3, dl));
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, dl));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, "two", 3, dl));
	shmipc_growbuf_close(self->w);
	self->w = NULL;
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_EQ(0, memcmp(p, "two", 3));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	/* The writer left "two" unacked, so it kept the name; the reader,
	 * done with it and told the writer left, removes it. */
	EXPECT_TRUE(gen_exists(self, shmipc_growbuf_generation(self->rd)));
	EXPECT_EQ(-EPIPE, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_FALSE(gen_exists(self, shmipc_growbuf_generation(self->rd)));
	/* And the reader closing while the writer waits for an ack. */
	ASSERT_EQ(0, shmipc_growbuf_open(self->o.r, "gb", SHMIPC_PRODUCER,
					 &self->w));
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, "three", 5, dl));
	shmipc_growbuf_close(self->rd);
	self->rd = NULL;
	EXPECT_EQ(-EPIPE, shmipc_growbuf_reserve(self->w, 1, &wr, dl));
	EXPECT_GT(dl, shmipc_now_ns());
}

/* ------------------------------------------------------------------ */
/* Hostile peer */

/* Open (and close) the writer's end: the result. */
static int reopen_gb(FIXTURE_DATA(gb) *self)
{
	struct shmipc_growbuf *x = NULL;
	int ret = shmipc_growbuf_open(self->o.r, "gb", SHMIPC_PRODUCER, &x);

	shmipc_growbuf_close(x);
	return ret;
}

TEST_F(gb, corrupt_control_block)
{
	uint64_t dl = SOON(10000), len, huge = MAX * 4;
	unsigned char saved[3 * 64];
	const void *p;
	void *wr;

	memcpy(saved, word(self, 0), sizeof(saved));
#define SPOIL(at, val, err) \
	LT_SPOIL(&self->o, saved, sizeof(saved), at, val, reopen_gb(self), err)
	SPOIL(C_MAGIC, 0x1234, -EBADMSG);
	SPOIL(C_VERSION, 9, -EPROTONOSUPPORT);
	SPOIL(C_HDRSIZE, 64, -EBADMSG);
	SPOIL(C_INIT, 0, -EBADMSG);
	SPOIL(C_MAX + 4, 0x1000, -EBADMSG);	/* max > SIZE_MAX */
	SPOIL(C_INIT + 4, 1, -EBADMSG);		/* initial > max */
	SPOIL(C_SEQ, 2, -EBADMSG);		/* seq - ack = 2 */
#undef SPOIL
	open_both(_metadata, self);
	/* Cursors: seq - ack neither 0 nor 1.  (The writer keeps its own
	 * seq: only the reader reads the shared one.) */
	*word(self, C_SEQ) = 7;
	EXPECT_EQ(-EBADMSG, shmipc_growbuf_read(self->rd, &p, &len, dl));
	*word(self, C_SEQ) = 0;
	*word(self, C_ACK) = 5;
	EXPECT_EQ(-EBADMSG, shmipc_growbuf_reserve(self->w, 1, &wr, dl));
	*word(self, C_ACK) = 0;
	/* A published length beyond the generation. */
	ASSERT_EQ(0, shmipc_growbuf_write(self->w, "abc", 3, dl));
	memcpy(word(self, C_LEN), &huge, 8);
	EXPECT_EQ(-EBADMSG, shmipc_growbuf_read(self->rd, &p, &len, dl));
	*word(self, C_LEN) = 3;
	*word(self, C_LEN + 4) = 0;
	/* A generation that does not exist (or 0), the writer alive. */
	*word(self, C_GEN) = 12345;
	EXPECT_EQ(-EBADMSG, shmipc_growbuf_read(self->rd, &p, &len, dl));
	*word(self, C_GEN) = 0;
	EXPECT_EQ(-EBADMSG, shmipc_growbuf_read(self->rd, &p, &len, dl));
	*word(self, C_GEN) = 1;
	ASSERT_EQ(0, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_EQ(0, memcmp(p, "abc", 3));
	ASSERT_EQ(0, shmipc_growbuf_ack(self->rd));
	/* A reserved bit in the writer's end state. */
	*word(self, C_PROD_STATE) |= 0x40000000U;
	EXPECT_EQ(-EBADMSG, shmipc_growbuf_read(self->rd, &p, &len, dl));
	EXPECT_GT(dl, shmipc_now_ns());
}

static bool allowed(int ret)
{
	return ret >= 0 || ret == -EBADMSG || ret == -ETIMEDOUT ||
	       ret == -EOWNERDEAD || ret == -EPIPE || ret == -EINVAL;
}

/* Close both ends and remove the names of their generations, which a
 * corrupt control block may have kept from being removed. */
static void close_both(FIXTURE_DATA(gb) *self)
{
	uint32_t g1 = shmipc_growbuf_generation(self->w);
	uint32_t g2 = shmipc_growbuf_generation(self->rd);

	shmipc_growbuf_close(self->w);
	shmipc_growbuf_close(self->rd);
	self->w = self->rd = NULL;
	unlink_gen(self, g1);
	unlink_gen(self, g2);
}

/* Garbage in the control block between calls: documented results only,
 * bounded time, no crash (-asan checks what read hands out). */
TEST_F_TIMEOUT(gb, hostile_fuzz, 120)
{
	static const unsigned int at[] = {
		C_SEQ, C_GEN, C_LEN, C_LEN + 4, C_ACK, 192, 196, 200, 204,
		256, C_PROD_STATE, 272, C_CONS_STATE,
	};
	uint64_t seed = 0x853c49e6748fea9bULL;
	struct lt_tally t = { 0 };
	unsigned int i;
	unsigned char saved[5 * 64], msg[6000];
	const void *p;
	uint64_t len;

	memcpy(saved, word(self, 0), sizeof(saved));
	open_both(_metadata, self);
	for (i = 0; i < 1500; i++) {
		int ret = 0;

		if (lt_rand(&seed) % 2)
			*word(self, at[lt_rand(&seed) %
				       (sizeof(at) / sizeof(at[0]))]) =
				lt_evil32(&seed);
		switch (lt_rand(&seed) % 3) {
		case 0:
			ret = shmipc_growbuf_write(self->w, msg,
						   lt_rand(&seed) % sizeof(msg),
						   SOON(1));
			break;
		case 1:
			ret = shmipc_growbuf_read(self->rd, &p, &len, SOON(1));
			if (!ret) {
				volatile unsigned char sink = 0;
				uint64_t b;

				for (b = 0; b < len; b++)
					sink ^= ((const unsigned char *)p)[b];
				(void)sink;
			}
			break;
		default:
			ret = shmipc_growbuf_ack(self->rd);
			break;
		}
		if (!lt_tally(&t, ret, allowed(ret)))
			TH_LOG("round %u: %d", i, ret);
		if (i % 16 == 15) {
			close_both(self);
			memcpy(word(self, 0), saved, sizeof(saved));
			open_both(_metadata, self);
		}
	}
	close_both(self);
	EXPECT_EQ(0, t.bad);
	EXPECT_LT(50, t.ok);
	EXPECT_LT(50, t.corrupt);
}

TEST_HARNESS_MAIN
