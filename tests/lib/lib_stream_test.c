// SPDX-License-Identifier: GPL-2.0
/*
 * libshmipc streams: chunks in place through a pool of segments, out of
 * order releases, flow control, explicit ends and the writer's abort
 * code, a multi-MiB file streamed byte-exact through a small pool
 * (send_fd / recv_fd, threads and processes), SIGKILL of the writer and
 * of the reader mid-stream (the survivor gets -EOWNERDEAD promptly, a
 * successor takes over and no segment of the pool is lost), repeated
 * kills at random points, bad arguments, and a hostile peer corrupting
 * the header, the queues and the recovery records (-EBADMSG, no crash,
 * no hang).
 *
 * No test asserts on speed.  Deadlines only bound hangs.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "lib_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>

#define RSIZE	(4 * 1024 * 1024)
#define SEG	4096U
#define NSEGS	4U
/* struct stream_hdr (lib/stream.c) */
#define S_MAGIC		0
#define S_VERSION	4
#define S_HDRSIZE	8
#define S_SEGSIZE	12
#define S_NSEGS		16
#define S_STRIDE	20
#define S_CHUNKCAP	24
#define S_CHUNKOFF	32
#define S_FREEOFF	40
#define S_RECSOFF	48
#define S_SEGSOFF	56
#define S_WREC		64
/* inside each queue (an SPSC ring, lib/spsc.c) */
#define Q_MSGSIZE	12
#define Q_CAPACITY	20
#define Q_HEAD		64
#define Q_SLOTS		320

#define SOON(ms)	shmipc_deadline_in((uint64_t)(ms) * LT_MS)

/* Chunk contents: a header (payload, chunk number, length) and bytes
 * derived from it, so a chunk is checked on its own. */
struct chunk_hdr {
	uint64_t payload;
	uint64_t no;
	uint64_t len;
};

static void chunk_fill(unsigned char *p, uint32_t len, uint64_t payload,
		       uint64_t no)
{
	struct chunk_hdr h = { payload, no, len };
	uint32_t i;

	memcpy(p, &h, sizeof(h));
	for (i = sizeof(h); i < len; i++)
		p[i] = (unsigned char)lt_mix(payload * 7919 + no * 31 + i);
}

static bool chunk_ok(const unsigned char *p, uint32_t len, uint64_t *payload,
		     uint64_t *no)
{
	struct chunk_hdr h;
	uint32_t i;

	if (len < sizeof(h))
		return false;
	memcpy(&h, p, sizeof(h));
	if (h.len != len)
		return false;
	for (i = sizeof(h); i < len; i++)
		if (p[i] != (unsigned char)lt_mix(h.payload * 7919 + h.no * 31 +
						  i))
			return false;
	*payload = h.payload;
	*no = h.no;
	return true;
}

FIXTURE(st) {
	struct lt_obj o;
	struct shmipc_stream *w, *rd;
};

/* The object under test. */
static int make_stream(struct shmipc_region *r, const char *key)
{
	return shmipc_stream_create(r, key, SEG, NSEGS);
}

FIXTURE_SETUP(st)
{
	int ret = lt_obj_setup(&self->o, "stream", RSIZE, "st", make_stream);

	ASSERT_EQ(0, ret) TH_LOG("setup: %s", shmipc_strerror(ret));
}

FIXTURE_TEARDOWN(st)
{
	shmipc_stream_close(self->w);
	shmipc_stream_close(self->rd);
	lt_obj_teardown(&self->o);
}

static uint32_t *word(FIXTURE_DATA(st) *self, uint64_t at)
{
	return lt_obj_word(&self->o, at);
}

/* A field of the stream header that is an offset from the region base,
 * turned into one from the stream's start. */
static uint64_t rel(FIXTURE_DATA(st) *self, unsigned int field)
{
	uint64_t v;

	memcpy(&v, word(self, field), 8);
	return v - self->o.off;
}

/* Both ends, in the fixture. */
#define open_both(_metadata, self)					\
	ASSERT_EQ(0, LT_OPEN_BOTH(shmipc_stream_open, &(self)->o, "st",	\
				  &(self)->w, &(self)->rd))

/* Commit one checked chunk of @len bytes (reserve with @deadline). */
static int put_chunk(struct shmipc_stream *s, uint32_t len, uint64_t payload,
		     uint64_t no, uint64_t deadline)
{
	void *buf;
	int ret = shmipc_stream_reserve(s, &buf, deadline);

	if (ret < 0)
		return ret;
	chunk_fill(buf, len, payload, no);
	return shmipc_stream_commit(s, len);
}

/* Can the writer take @n segments without the reader releasing any? */
static int pool_has(struct shmipc_stream *w, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = put_chunk(w, 64, 999, i, 0);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* API */

TEST_F(st, create_arguments)
{
	EXPECT_EQ(-EINVAL, shmipc_stream_create(self->o.r, "x", 0, 4));
	EXPECT_EQ(-EINVAL, shmipc_stream_create(self->o.r, "x",
					SHMIPC_STREAM_SEG_SIZE_MAX + 1, 4));
	EXPECT_EQ(-EINVAL, shmipc_stream_create(self->o.r, "x", 64, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_create(self->o.r, "x", 64,
					SHMIPC_STREAM_SEGS_MAX + 1));
	EXPECT_EQ(-EINVAL, shmipc_stream_create(NULL, "x", 64, 4));
	EXPECT_EQ(-ENOMEM, shmipc_stream_create(self->o.r, "x", 1 << 20, 8));
	EXPECT_EQ(-EEXIST, shmipc_stream_create(self->o.r, "st", 64, 4));
	EXPECT_EQ(0, shmipc_stream_create(self->o.r, "one", 1, 1));
	EXPECT_EQ(-ENOENT, shmipc_stream_open(self->o.r, "nope",
					      SHMIPC_PRODUCER, &self->w));
	EXPECT_EQ(-EINVAL, shmipc_stream_open(self->o.r, "st", 7, &self->w));
	EXPECT_EQ(-EINVAL, shmipc_stream_open(self->o.r, "st", SHMIPC_PRODUCER,
					      NULL));
	EXPECT_EQ(NULL, self->w);
	EXPECT_EQ(0, shmipc_stream_close(NULL));
}

TEST_F(st, chunks_in_place_out_of_order)
{
	const void *c[NSEGS];
	uint64_t payload, no;
	void *buf, *buf2;
	unsigned int i;
	int n;

	open_both(_metadata, self);
	EXPECT_EQ(SEG, shmipc_stream_segment_size(self->rd));
	EXPECT_EQ(NSEGS, shmipc_stream_segments(self->w));
	/* Misuse. */
	EXPECT_EQ(-EINVAL, shmipc_stream_commit(self->w, 1));
	EXPECT_EQ(-EPERM, shmipc_stream_reserve(self->rd, &buf, 0));
	EXPECT_EQ(-EPERM, shmipc_stream_commit(self->rd, 1));
	EXPECT_EQ(-EPERM, shmipc_stream_end(self->rd, 0));
	EXPECT_EQ(-EPERM, shmipc_stream_read(self->w, &c[0], 0));
	EXPECT_EQ(-EPERM, shmipc_stream_release(self->w, NULL));
	EXPECT_EQ(-EINVAL, shmipc_stream_reserve(self->w, NULL, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_read(self->rd, NULL, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_write(self->w, NULL, 1, 0));
	EXPECT_EQ(-ETIMEDOUT, shmipc_stream_read(self->rd, &c[0], 0));
	/* Reserve twice: the same segment; commit 0 keeps it. */
	ASSERT_EQ((int)SEG, shmipc_stream_reserve(self->w, &buf, 0));
	EXPECT_EQ(0, (uintptr_t)buf % 4096);
	ASSERT_EQ((int)SEG, shmipc_stream_reserve(self->w, &buf2, 0));
	EXPECT_EQ(buf, buf2);
	EXPECT_EQ(-EINVAL, shmipc_stream_commit(self->w, SEG + 1));
	EXPECT_EQ(0, shmipc_stream_commit(self->w, 0));
	EXPECT_EQ(-ETIMEDOUT, shmipc_stream_read(self->rd, &c[0], 0));
	/* A payload of NSEGS chunks, all held at once by the reader. */
	for (i = 0; i < NSEGS; i++)
		ASSERT_EQ(0, put_chunk(self->w, 100 + i * 1000, 1, i, 0));
	ASSERT_EQ(0, shmipc_stream_end(self->w, 0));
	for (i = 0; i < NSEGS; i++) {
		n = shmipc_stream_read(self->rd, &c[i], SOON(5000));
		ASSERT_EQ(100 + i * 1000, n);
		ASSERT_TRUE(chunk_ok(c[i], (uint32_t)n, &payload, &no));
		EXPECT_EQ(1, payload);
		EXPECT_EQ(i, no);
	}
	EXPECT_EQ(0, shmipc_stream_read(self->rd, &c[0], 0));	/* the end */
	/* Every segment is with the reader: the writer waits. */
	EXPECT_EQ(-ETIMEDOUT, shmipc_stream_reserve(self->w, &buf, SOON(20)));
	/* Released in any order; not ours / twice: -EINVAL. */
	EXPECT_EQ(-EINVAL, shmipc_stream_release(self->rd, NULL));
	EXPECT_EQ(-EINVAL, shmipc_stream_release(self->rd,
						 (const char *)c[2] + 8));
	EXPECT_EQ(-EINVAL, shmipc_stream_release(self->rd, &n));
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c[2]));
	EXPECT_EQ(-EINVAL, shmipc_stream_release(self->rd, c[2]));
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c[0]));
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c[3]));
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c[1]));
	/* Empty payloads are payloads. */
	ASSERT_EQ(0, shmipc_stream_end(self->w, 0));
	EXPECT_EQ(0, shmipc_stream_read(self->rd, &c[0], 0));
	/* write(): copies into as many chunks as it takes. */
	{
		static unsigned char big[3 * SEG + 5], back[3 * SEG + 5];
		size_t got = 0;

		for (i = 0; i < sizeof(big); i++)
			big[i] = (unsigned char)lt_mix(i);
		ASSERT_EQ(0, shmipc_stream_write(self->w, big, sizeof(big),
						 SOON(5000)));
		ASSERT_EQ(0, shmipc_stream_end(self->w, 0));
		while ((n = shmipc_stream_read(self->rd, &c[0], 0)) > 0) {
			ASSERT_GE(sizeof(back), got + (size_t)n);
			memcpy(back + got, c[0], (size_t)n);
			got += (size_t)n;
			ASSERT_EQ(0, shmipc_stream_release(self->rd, c[0]));
		}
		EXPECT_EQ(0, n);
		EXPECT_EQ(sizeof(big), got);
		EXPECT_EQ(0, memcmp(big, back, sizeof(big)));
	}
	EXPECT_EQ(0, pool_has(self->w, NSEGS));
}

TEST_F(st, abort_code_delivered)
{
	const void *c;
	uint64_t payload, no;
	int n;

	open_both(_metadata, self);
	EXPECT_EQ(-EINVAL, shmipc_stream_abort(self->w, 0, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_abort(self->w, 5, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_abort(self->w, -EPIPE, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_abort(self->w, -EOWNERDEAD, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_abort(self->w, -ETIMEDOUT, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_abort(self->w, -EBADMSG, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_abort(self->w, -EAGAIN, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_abort(self->w, -5000, 0));
	EXPECT_EQ(-EPERM, shmipc_stream_abort(self->rd, -EIO, 0));
	ASSERT_EQ(0, put_chunk(self->w, 500, 5, 0, 0));
	ASSERT_EQ(0, put_chunk(self->w, 600, 5, 1, 0));
	ASSERT_EQ(0, shmipc_stream_abort(self->w, -EIO, 0));
	ASSERT_EQ(0, put_chunk(self->w, 700, 6, 0, 0));
	ASSERT_EQ(0, shmipc_stream_abort(self->w, -ENOENT, 0));
	/* The chunks before the abort, then its code, once. */
	n = shmipc_stream_read(self->rd, &c, 0);
	ASSERT_EQ(500, n);
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
	n = shmipc_stream_read(self->rd, &c, 0);
	ASSERT_EQ(600, n);
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
	EXPECT_EQ(-EIO, shmipc_stream_read(self->rd, &c, 0));
	/* The next payload goes on. */
	n = shmipc_stream_read(self->rd, &c, 0);
	ASSERT_EQ(700, n);
	EXPECT_TRUE(chunk_ok(c, 700, &payload, &no));
	EXPECT_EQ(6, payload);
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
	EXPECT_EQ(-ENOENT, shmipc_stream_read(self->rd, &c, 0));
	EXPECT_EQ(-ETIMEDOUT, shmipc_stream_read(self->rd, &c, 0));
}

/* Ends pile up while the reader does not read: end() then waits, and a
 * chunk still always finds a slot in the queue. */
TEST_F(st, ends_never_block_chunks)
{
	const void *c;
	unsigned int ends = 0;
	int n, ret;

	open_both(_metadata, self);
	while ((ret = shmipc_stream_end(self->w, SOON(20))) == 0)
		ends++;
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_LE(1, ends);
	EXPECT_EQ(0, pool_has(self->w, NSEGS));
	while ((n = shmipc_stream_read(self->rd, &c, 0)) == 0)
		ends--;
	EXPECT_EQ(0, ends);
	ASSERT_EQ(64, n);
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
}

TEST_F(st, clean_close_gives_epipe)
{
	uint64_t dl = SOON(10000);
	const void *c;
	void *buf;

	open_both(_metadata, self);
	ASSERT_EQ(0, put_chunk(self->w, 80, 1, 0, 0));
	shmipc_stream_close(self->w);
	self->w = NULL;
	ASSERT_EQ(80, shmipc_stream_read(self->rd, &c, dl));
	EXPECT_EQ(-EPIPE, shmipc_stream_read(self->rd, &c, dl));
	ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
	/* The reader closes holding chunks: they return to the pool. */
	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_PRODUCER,
					&self->w));
	ASSERT_EQ(0, pool_has(self->w, NSEGS));
	ASSERT_EQ(64, shmipc_stream_read(self->rd, &c, dl));
	shmipc_stream_close(self->rd);
	self->rd = NULL;
	EXPECT_EQ(0, put_chunk(self->w, 64, 2, 0, dl));	/* the one it held */
	EXPECT_EQ(-EPIPE, shmipc_stream_reserve(self->w, &buf, dl));
	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_CONSUMER,
					&self->rd));
	while (shmipc_stream_read(self->rd, &c, 0) > 0)
		ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
	EXPECT_EQ(0, pool_has(self->w, NSEGS));
	EXPECT_GT(dl, shmipc_now_ns());
}

/* ------------------------------------------------------------------ */
/* A file, byte-exact */

#define FILE_BYTES	((5U << 20) + 12345U)
#define FILE_SEG	(64U * 1024)

/* A memfd holding FILE_BYTES of reproducible noise. */
static int make_file(void)
{
	unsigned char *buf = malloc(FILE_BYTES);
	int fd = memfd_create("lt-stream-src", 0);
	uint32_t i;

	if (!buf || fd < 0)
		return -1;
	for (i = 0; i < FILE_BYTES; i++)
		buf[i] = (unsigned char)lt_mix(i / 3 + (i % 3) * 0x1000000);
	if (write(fd, buf, FILE_BYTES) != (ssize_t)FILE_BYTES ||
	    lseek(fd, 0, SEEK_SET)) {
		close(fd);
		fd = -1;
	}
	free(buf);
	return fd;
}

static bool same_file(int a, int b)
{
	off_t size = lseek(a, 0, SEEK_END);
	unsigned char *pa, *pb;
	bool ok;

	if (size != lseek(b, 0, SEEK_END) || size <= 0)
		return false;
	pa = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, a, 0);
	pb = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, b, 0);
	ok = pa != MAP_FAILED && pb != MAP_FAILED &&
	     !memcmp(pa, pb, (size_t)size);
	munmap(pa, (size_t)size);
	munmap(pb, (size_t)size);
	return ok;
}

struct sender {
	struct shmipc_stream *w;
	int fd, ret;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;

	s->ret = shmipc_stream_send_fd(s->w, s->fd, SOON(120000));
	return NULL;
}

TEST_F_TIMEOUT(st, file_through_small_pool_threads, 180)
{
	struct sender snd = { 0 };
	int dst = memfd_create("lt-stream-dst", 0);
	pthread_t t;

	ASSERT_EQ(0, shmipc_stream_create(self->o.r, "file", FILE_SEG, 3));
	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "file", SHMIPC_PRODUCER,
					&self->w));
	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "file", SHMIPC_CONSUMER,
					&self->rd));
	snd.w = self->w;
	snd.fd = make_file();
	ASSERT_LE(0, snd.fd);
	ASSERT_LE(0, dst);
	ASSERT_EQ(0, pthread_create(&t, NULL, send_thread, &snd));
	EXPECT_EQ(0, shmipc_stream_recv_fd(self->rd, dst, SOON(120000)));
	pthread_join(t, NULL);
	EXPECT_EQ(0, snd.ret) TH_LOG("send: %s", shmipc_strerror(snd.ret));
	EXPECT_TRUE(same_file(snd.fd, dst));
	/* Bad descriptors. */
	EXPECT_EQ(-EINVAL, shmipc_stream_send_fd(self->w, -1, 0));
	EXPECT_EQ(-EINVAL, shmipc_stream_recv_fd(self->rd, -1, 0));
	close(snd.fd);
	close(dst);
}

/* A read error on the source aborts the payload: the reader gets it. */
TEST_F(st, send_fd_read_error_aborts)
{
	int wronly = memfd_create("lt-stream-wo", 0), dst = memfd_create(
		"lt-stream-dst", 0);
	char path[64];
	int fd;

	open_both(_metadata, self);
	ASSERT_LE(0, wronly);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", wronly);
	fd = open(path, O_WRONLY);	/* read(2) gives EBADF */
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADF, shmipc_stream_send_fd(self->w, fd, SOON(5000)));
	EXPECT_EQ(-EBADF, shmipc_stream_recv_fd(self->rd, dst, SOON(5000)));
	close(fd);
	close(wronly);
	close(dst);
}

TEST_F_TIMEOUT(st, file_through_small_pool_processes, 180)
{
	int src = make_file(), dst = memfd_create("lt-stream-dst", 0);
	pid_t pid;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_EQ(0, shmipc_stream_create(self->o.r, "file", FILE_SEG, 3));
	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "file", SHMIPC_CONSUMER,
					&self->rd));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_stream *w = NULL;

		lt_child_must(shmipc_stream_open(lt_child_region(self->o.name),
						 "file", SHMIPC_PRODUCER, &w));
		_exit(lt_code(shmipc_stream_send_fd(w, src, SOON(120000))));
	}
	EXPECT_EQ(0, shmipc_stream_recv_fd(self->rd, dst, SOON(120000)));
	EXPECT_EQ(0, lt_reap(pid));
	EXPECT_TRUE(same_file(src, dst));
	close(src);
	close(dst);
}

/* ------------------------------------------------------------------ */
/* Deaths */

/*
 * Take over @role of "st" from a process that was just killed and
 * reaped.  The module marks a death a moment after the process is gone
 * (until then its role is busy): retry -EBUSY for a while.
 */
static int open_after_kill(struct shmipc_region *r, enum shmipc_role role,
			   struct shmipc_stream **s)
{
	uint64_t end = SOON(LT_SOON_MS);
	int ret;

	while ((ret = shmipc_stream_open(r, "st", role, s)) == -EBUSY &&
	       shmipc_now_ns() < end)
		lt_sleep_ms(1);
	return ret;
}

/*
 * Child: open the region and the stream as @role; on failure, tell the
 * parent through @fd (a byte other than lt_signal()'s, so it does not
 * wait for a signal that never comes) and exit with the code.
 */
static struct shmipc_stream *child_open(const char *name,
					enum shmipc_role role, int fd)
{
	struct shmipc_region *r = NULL;
	struct shmipc_stream *s = NULL;
	int ret = shmipc_region_open(name, 0, 0, 0, &r);

	if (!ret)
		ret = open_after_kill(r, role, &s);
	if (ret) {
		char code = (char)lt_code(ret);

		if (write(fd, &code, 1) != 1)
			_exit(199);
		_exit(lt_code(ret));
	}
	return s;
}

/* The child's one-byte report: 'x' (lt_signal) or its open error. */
static int child_report(int fd)
{
	char c = 0;

	return read(fd, &c, 1) == 1 ? c : -1;
}

/*
 * The writer commits 2 chunks and is SIGKILLed in the middle of the
 * third (reserved, half written) while the reader blocks: the reader
 * gets the 2, then -EOWNERDEAD well before its deadline.  A new writer
 * takes over with the half-written segment, and the pool is whole.
 */
TEST_F_TIMEOUT(st, writer_killed_mid_stream, 60)
{
	uint64_t dl = SOON(20000), payload, no;
	const void *c;
	int fds[2], n, i;
	pid_t pid, killer;

	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_CONSUMER,
					&self->rd));
	pid = lt_fork_pipe(fds);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_stream *w = child_open(self->o.name,
						     SHMIPC_PRODUCER, fds[1]);
		void *buf;

		for (i = 0; i < 2; i++)
			if (put_chunk(w, 1000, 9, (uint64_t)i, 0))
				_exit(101);
		if (shmipc_stream_reserve(w, &buf, 0) < 0)
			_exit(102);
		memset(buf, 0xee, SEG / 2);
		lt_signal(fds[1]);
		for (;;)
			pause();	/* killed here */
	}
	ASSERT_EQ('x', child_report(fds[0]));
	for (i = 0; i < 2; i++) {
		n = shmipc_stream_read(self->rd, &c, dl);
		ASSERT_EQ(1000, n);
		EXPECT_TRUE(chunk_ok(c, 1000, &payload, &no));
		EXPECT_EQ(i, no);
		ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
	}
	killer = lt_kill_later(pid, 200);
	ASSERT_LE(0, killer);
	EXPECT_EQ(-EOWNERDEAD, shmipc_stream_read(self->rd, &c, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_EQ(0, lt_reap(killer));
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	EXPECT_EQ(-EOWNERDEAD, shmipc_stream_read(self->rd, &c, dl));
	/* The successor: every segment usable, its chunks arrive. */
	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_PRODUCER,
					&self->w));
	EXPECT_EQ(0, pool_has(self->w, NSEGS));
	EXPECT_EQ(-ETIMEDOUT, pool_has(self->w, 1));
	for (i = 0; i < (int)NSEGS; i++) {
		ASSERT_EQ(64, shmipc_stream_read(self->rd, &c, dl));
		EXPECT_TRUE(chunk_ok(c, 64, &payload, &no));
		EXPECT_EQ(999, payload);
		ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
	}
	close(fds[0]);
	close(fds[1]);
}

/*
 * The reader takes 3 chunks, releases one and is SIGKILLed holding two,
 * while the writer waits for a segment: -EOWNERDEAD.  A new reader gets
 * the chunk still queued, and the dead one's two return to the pool.
 */
TEST_F_TIMEOUT(st, reader_killed_mid_stream, 60)
{
	uint64_t dl = SOON(20000), payload, no;
	const void *c;
	void *buf;
	int fds[2], i;
	pid_t pid, killer;

	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_PRODUCER,
					&self->w));
	for (i = 0; i < (int)NSEGS; i++)
		ASSERT_EQ(0, put_chunk(self->w, 200, 3, (uint64_t)i, 0));
	pid = lt_fork_pipe(fds);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_stream *r = child_open(self->o.name,
						     SHMIPC_CONSUMER, fds[1]);
		const void *held[3];

		for (i = 0; i < 3; i++)
			if (shmipc_stream_read(r, &held[i], 0) != 200)
				_exit(101);
		if (shmipc_stream_release(r, held[1]))
			_exit(102);
		lt_signal(fds[1]);
		for (;;)
			pause();	/* killed here */
	}
	ASSERT_EQ('x', child_report(fds[0]));
	/* The released one comes back; then the pool is empty. */
	ASSERT_EQ(0, put_chunk(self->w, 200, 3, NSEGS, dl));
	killer = lt_kill_later(pid, 200);
	ASSERT_LE(0, killer);
	EXPECT_EQ(-EOWNERDEAD, shmipc_stream_reserve(self->w, &buf, dl));
	EXPECT_GT(dl, shmipc_now_ns());
	EXPECT_EQ(0, lt_reap(killer));
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	/* The successor: chunks 3 and 4 are still queued, in order. */
	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_CONSUMER,
					&self->rd));
	for (i = 3; i <= (int)NSEGS; i++) {
		ASSERT_EQ(200, shmipc_stream_read(self->rd, &c, dl));
		EXPECT_TRUE(chunk_ok(c, 200, &payload, &no));
		EXPECT_EQ(i, no);
		ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
	}
	EXPECT_EQ(-ETIMEDOUT, shmipc_stream_read(self->rd, &c, 0));
	EXPECT_EQ(0, pool_has(self->w, NSEGS));
	EXPECT_EQ(-ETIMEDOUT, pool_has(self->w, 1));
	close(fds[0]);
	close(fds[1]);
}

/*
 * Writers killed at random points of their loop (inside reserve and
 * commit too), one after another, while one reader reads on: every
 * chunk it gets is intact, each writer's chunks come in order, the
 * reader learns each death, and at the end no segment is lost.
 */
TEST_F_TIMEOUT(st, writers_killed_at_random, 180)
{
	uint64_t seed = 0xd1b54a32d192ed03ULL, payload, no;
	unsigned int round, bad = 0, deaths = 0;
	const void *c;
	int n, fds[2];

	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_CONSUMER,
					&self->rd));
	ASSERT_EQ(0, pipe(fds));
	for (round = 0; round < 20; round++) {
		uint64_t next = 0, dl = SOON(20000);
		unsigned int want = 1 + (unsigned int)(lt_rand(&seed) % 40);
		pid_t pid = lt_fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct shmipc_stream *w = child_open(self->o.name,
						     SHMIPC_PRODUCER, fds[1]);

			lt_signal(fds[1]);
			for (no = 0;; no++)
				if (put_chunk(w, 64 + (uint32_t)(no % 50) * 8,
					      round, no, SOON(20000)))
					_exit(101);
		}
		/* The previous writer's death is durable: read once the
		 * successor has taken over. */
		ASSERT_EQ('x', child_report(fds[0]));
		for (;;) {
			n = shmipc_stream_read(self->rd, &c, dl);
			if (n <= 0)
				break;
			if (!chunk_ok(c, (uint32_t)n, &payload, &no) ||
			    payload != round || no != next)
				bad++;
			next = no + 1;
			ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
			if (next == want)
				kill(pid, SIGKILL);
		}
		EXPECT_EQ(-EOWNERDEAD, n) TH_LOG("round %u", round);
		deaths += n == -EOWNERDEAD;
		EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
		EXPECT_GT(dl, shmipc_now_ns());
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(20, deaths);
	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_PRODUCER,
					&self->w));
	EXPECT_EQ(0, pool_has(self->w, NSEGS));
	EXPECT_EQ(-ETIMEDOUT, pool_has(self->w, 1));
	close(fds[0]);
	close(fds[1]);
}

/*
 * Readers killed at random points (holding up to two chunks, inside
 * read and release too), one after another, while one writer writes
 * on: each successor takes over the role and the dead one's chunks,
 * gets intact chunks, and at the end no segment is lost.
 */
TEST_F_TIMEOUT(st, readers_killed_at_random, 180)
{
	uint64_t seed = 0x9e6c63d0676a9a99ULL, no = 0;
	unsigned int round;
	int fds[2];

	ASSERT_EQ(0, shmipc_stream_open(self->o.r, "st", SHMIPC_PRODUCER,
					&self->w));
	ASSERT_EQ(0, pipe(fds));
	for (round = 0; round < 20; round++) {
		unsigned int chunks = 1 + (unsigned int)(lt_rand(&seed) % 30);
		pid_t pid = lt_fork();
		int ret = 0;
		unsigned int i;

		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct shmipc_stream *r = child_open(self->o.name,
						     SHMIPC_CONSUMER, fds[1]);
			const void *held[NSEGS];
			unsigned int k = 0;
			uint64_t payload, cno;

			lt_signal(fds[1]);
			for (;;) {
				int n = shmipc_stream_read(r, &held[k],
							   SOON(20000));

				if (n <= 0)
					_exit(lt_code(n));
				if (!chunk_ok(held[k], (uint32_t)n, &payload,
					      &cno))
					_exit(100);
				/* Hold up to 2, release the oldest. */
				if (++k == 3) {
					if (shmipc_stream_release(r, held[0]))
						_exit(102);
					held[0] = held[1];
					held[1] = held[2];
					k = 2;
				}
			}
		}
		ASSERT_EQ('x', child_report(fds[0]));
		for (i = 0; i < chunks && !ret; i++)
			ret = put_chunk(self->w, 80, round, no++, SOON(20000));
		EXPECT_EQ(0, ret) TH_LOG("round %u: %s", round,
					 shmipc_strerror(ret));
		kill(pid, SIGKILL);
		EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	}
	/* A last reader drains what is queued; then the pool is whole. */
	ASSERT_EQ(0, open_after_kill(self->o.r, SHMIPC_CONSUMER, &self->rd));
	{
		const void *c;
		uint64_t payload, cno;
		int n;

		while ((n = shmipc_stream_read(self->rd, &c, 0)) > 0) {
			EXPECT_TRUE(chunk_ok(c, (uint32_t)n, &payload, &cno));
			ASSERT_EQ(0, shmipc_stream_release(self->rd, c));
		}
		EXPECT_EQ(-ETIMEDOUT, n);
	}
	EXPECT_EQ(0, pool_has(self->w, NSEGS));
	EXPECT_EQ(-ETIMEDOUT, pool_has(self->w, 1));
	close(fds[0]);
	close(fds[1]);
}

/* ------------------------------------------------------------------ */
/* Hostile peer */

static int reopen(FIXTURE_DATA(st) *self, enum shmipc_role role)
{
	struct shmipc_stream *s = NULL;
	int ret = shmipc_stream_open(self->o.r, "st", role, &s);

	shmipc_stream_close(s);
	return ret;
}

TEST_F(st, corrupt_header_and_records)
{
	unsigned char saved[128];
	uint64_t recs = rel(self, S_RECSOFF);

	memcpy(saved, word(self, 0), sizeof(saved));
	ASSERT_EQ(0, reopen(self, SHMIPC_PRODUCER));
#define SPOIL(at, val, err) LT_SPOIL(&self->o, saved, sizeof(saved), at, \
					    val, reopen(self, SHMIPC_PRODUCER), \
					    err)
	SPOIL(S_MAGIC, 0x1234, -EBADMSG);
	SPOIL(S_VERSION, 3, -EPROTONOSUPPORT);
	SPOIL(S_HDRSIZE, 0, -EBADMSG);
	SPOIL(S_SEGSIZE, 0, -EBADMSG);
	SPOIL(S_SEGSIZE, SEG * 2, -EBADMSG);	/* more than allocated */
	SPOIL(S_NSEGS, 0, -EBADMSG);
	SPOIL(S_NSEGS, NSEGS + 1, -EBADMSG);
	SPOIL(S_STRIDE, 64, -EBADMSG);
	SPOIL(S_CHUNKCAP, 2, -EBADMSG);
	SPOIL(S_CHUNKOFF, 0, -EBADMSG);
	SPOIL(S_FREEOFF + 4, 1, -EBADMSG);
	SPOIL(S_RECSOFF, 8, -EBADMSG);
	SPOIL(S_SEGSOFF, 0, -EBADMSG);
	/* The writer's record: a phase that does not exist, a position
	 * that cannot be, a segment out of range. */
	SPOIL(S_WREC + 4, 0x09000000, -EBADMSG);
	SPOIL(S_WREC, 0, 0);
#undef SPOIL
	*word(self, S_WREC) = 5;
	*word(self, S_WREC + 4) = 0x01000000;		/* TAKING@5 */
	EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_PRODUCER));
	*word(self, S_WREC) = 0;
	*word(self, S_WREC + 4) = 0x02000000 | NSEGS;	/* HOLD seg 4 */
	EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_PRODUCER));
	*word(self, S_WREC + 4) = 0;
	EXPECT_EQ(0, reopen(self, SHMIPC_PRODUCER));
	/* A reader's record: a phase that does not exist, a segment field
	 * (always 0 in a reader's), a position that cannot be. */
	*word(self, recs + 8 * 2 + 4) = 0x77000000;
	EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_CONSUMER));
	*word(self, recs + 8 * 2 + 4) = 0x02000001;	/* HOLD, segment 1 */
	EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_CONSUMER));
	*word(self, recs + 8 * 2 + 4) = 0x03000000;	/* SENDING@1000 */
	*word(self, recs + 8 * 2) = 1000;
	EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_CONSUMER));
	*word(self, recs + 8 * 2) = 0;
	*word(self, recs + 8 * 2 + 4) = 0;
	EXPECT_EQ(0, reopen(self, SHMIPC_CONSUMER));
}

/*
 * The queues' own ring headers must agree with the stream's layout: a
 * free queue whose (otherwise valid) ring said 8-byte messages made the
 * reader's recovery copy 8 bytes from a 4-byte variable (found by
 * tests/fuzz/fuzz_stream).
 */
TEST_F(st, corrupt_queue_headers)
{
	uint64_t q[2] = { rel(self, S_FREEOFF), rel(self, S_CHUNKOFF) };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		uint32_t *msg = word(self, q[i] + Q_MSGSIZE);
		uint32_t *cap = word(self, q[i] + Q_CAPACITY);
		uint32_t m = *msg, c = *cap;

		*msg = m + 4;	/* free queue: 8, its stride: a valid ring */
		EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_CONSUMER)) TH_LOG("%u", i);
		EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_PRODUCER)) TH_LOG("%u", i);
		*msg = m;
		*cap = c / 2;
		EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_CONSUMER)) TH_LOG("%u", i);
		EXPECT_EQ(-EBADMSG, reopen(self, SHMIPC_PRODUCER)) TH_LOG("%u", i);
		*cap = c;
	}
	EXPECT_EQ(0, reopen(self, SHMIPC_CONSUMER));
	EXPECT_EQ(0, reopen(self, SHMIPC_PRODUCER));
}

TEST_F(st, corrupt_queue_entries)
{
	uint64_t dl = SOON(10000);
	uint64_t chunks = rel(self, S_CHUNKOFF), frees = rel(self, S_FREEOFF);
	uint32_t *slot;
	const void *c;
	void *buf;

	open_both(_metadata, self);
	/* A chunk entry: segment, length or kind that cannot be. */
	ASSERT_EQ(0, put_chunk(self->w, 100, 1, 0, 0));
	slot = word(self, chunks + Q_SLOTS);	/* the first entry */
#define SPOIL(i, val) do {						\
		uint32_t saved_ = slot[i];				\
		slot[i] = (val);					\
		EXPECT_EQ(-EBADMSG, shmipc_stream_read(self->rd, &c, dl)); \
		slot[i] = saved_;					\
	} while (0)
	SPOIL(0, 0);			/* kind */
	SPOIL(0, 77);
	SPOIL(1, NSEGS);		/* segment */
	SPOIL(2, 0);			/* length */
	SPOIL(2, SEG + 1);
	SPOIL(3, 1);			/* length's high word */
	slot[0] = 3;			/* an abort with a code that is not one */
	SPOIL(2, 0);
	SPOIL(2, (uint32_t)-EPIPE);
	slot[0] = 1;
#undef SPOIL
	ASSERT_EQ(100, shmipc_stream_read(self->rd, &c, dl));
	/* The same segment again while the reader holds it. */
	slot = word(self, chunks + Q_SLOTS + 16);
	ASSERT_EQ(0, put_chunk(self->w, 100, 1, 1, 0));
	slot[1] = (uint32_t)(((const unsigned char *)c - (const unsigned char *)
			      shmipc_region_base(self->o.r) - rel(self, S_SEGSOFF) -
			      self->o.off) / SEG);
	EXPECT_EQ(-EBADMSG, shmipc_stream_read(self->rd, &c, dl));
	/* A free queue entry out of range: the writer refuses it. */
	slot = word(self, frees + Q_SLOTS + 8 * (NSEGS - 1));
	ASSERT_EQ(0, put_chunk(self->w, 100, 1, 2, 0));	/* segment 2 */
	slot[0] = NSEGS + 7;		/* segment 3's entry, next in line */
	EXPECT_EQ(-EBADMSG, shmipc_stream_reserve(self->w, &buf, dl));
	/* A head that claims the queue is fuller than it can be. */
	*word(self, chunks + Q_HEAD) += 1000;
	EXPECT_EQ(-EBADMSG, shmipc_stream_read(self->rd, &c, dl));
	EXPECT_GT(dl, shmipc_now_ns());
}

/* Garbage in the header line, the queues' cursors and entries, and the
 * records, between calls: documented results only, in bounded time,
 * never a crash (-asan checks what read hands out). */
TEST_F_TIMEOUT(st, hostile_fuzz, 120)
{
	uint64_t seed = 0x5851f42d4c957f2dULL;
	uint64_t chunks = rel(self, S_CHUNKOFF), frees = rel(self, S_FREEOFF);
	uint64_t recs = rel(self, S_RECSOFF), segs = rel(self, S_SEGSOFF);
	uint64_t at[] = {
		S_WREC, S_WREC + 4, chunks + Q_HEAD, chunks + 128,
		chunks + Q_SLOTS, chunks + Q_SLOTS + 4, chunks + Q_SLOTS + 8,
		chunks + Q_SLOTS + 16, chunks + Q_SLOTS + 20, frees + Q_HEAD,
		frees + 128, frees + Q_SLOTS, frees + Q_SLOTS + 8, recs,
		recs + 4, recs + 12, chunks + 264, frees + 280,
	};
	static unsigned char saved[1 << 16];
	struct lt_tally t = { 0 };
	unsigned int i;
	const void *held = NULL, *c;
	int ret;

	ASSERT_GE(sizeof(saved), segs);
	memcpy(saved, word(self, 0), segs);
	open_both(_metadata, self);
	for (i = 0; i < 1500; i++) {
		if (lt_rand(&seed) % 2)
			*word(self, at[lt_rand(&seed) %
				       (sizeof(at) / sizeof(at[0]))]) =
				lt_evil32(&seed);
		switch (lt_rand(&seed) % 4) {
		case 0:
			ret = put_chunk(self->w, 64, 1, i, SOON(1));
			break;
		case 1:
			ret = shmipc_stream_end(self->w, SOON(1));
			break;
		case 2:
			ret = shmipc_stream_read(self->rd, &c, SOON(1));
			if (ret > 0) {
				volatile unsigned char sink = 0;
				int b;

				for (b = 0; b < ret; b++)
					sink ^= ((const unsigned char *)c)[b];
				(void)sink;
				if (held)
					shmipc_stream_release(self->rd, held);
				held = c;
			}
			break;
		default:
			ret = held ? shmipc_stream_release(self->rd, held) : 0;
			held = NULL;
			break;
		}
		if (!lt_tally(&t, ret, ret >= 0 || ret == -EBADMSG ||
					   ret == -ETIMEDOUT || ret == -EOWNERDEAD ||
					   ret == -EPIPE))
			TH_LOG("round %u: %d", i, ret);
		if (i % 16 == 15) {
			shmipc_stream_close(self->w);
			shmipc_stream_close(self->rd);
			self->w = self->rd = NULL;
			held = NULL;
			memcpy(word(self, 0), saved, segs);
			open_both(_metadata, self);
		}
	}
	EXPECT_EQ(0, t.bad);
	EXPECT_LT(50, t.ok);
	EXPECT_LT(50, t.corrupt);
}

TEST_HARNESS_MAIN
