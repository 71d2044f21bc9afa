// SPDX-License-Identifier: GPL-2.0
/*
 * Controller/worker protocol against a hostile peer: garbage in the
 * controller's header and slot words, in the request/reply buffers'
 * control blocks and in the messages themselves.  Every call returns a
 * documented result (-EBADMSG for what cannot be), before its deadline,
 * and nothing crashes (the -asan build checks what is read).
 *
 * The worker runs in this process (its own region handle), so each step
 * of a transition can be spoiled in between; its replies are sent from
 * a thread, as on the module backend a reply into a new generation
 * waits until the controller (this thread) has taken it.
 */
#include "kselftest_harness.h"
#include "lib_test.h"
#include "ctl_test.h"

#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#define SOON(ms)	shmipc_deadline_in((uint64_t)(ms) * LT_MS)
#define NSLOTS		2
#define MAXMSG		256

/* The controller's header (struct ctl_hdr) and slot words. */
enum {
	H_MAGIC = 0, H_VERSION = 4, H_HDRSIZE = 8, H_NSLOTS = 12,
	H_MAXMSG = 16, H_CTLPEER = 24, H_BELLW = 32, H_BELL = 36,
	H_SLOT0 = 64,
	S_PEER = 0, S_PID = 8, S_REPLIES = 12,
};

/* A growable buffer's control block (growbuf.c). */
enum {
	G_SEQ = 64, G_GEN = 68, G_LEN = 72, G_ACK = 128, G_SIZE = 5 * 64,
};

/* The worker's reply (or request and reply), sent from a thread. */
struct server {
	pthread_t t;
	struct shmipc_worker *wk;
	bool take;		/* take the request first (else: held) */
	bool running;
	_Atomic int done;
	int ret;
};

FIXTURE(hx) {
	char name[64];
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *w;	/* slot 0, attached */
	struct shmipc_worker *wk;	/* its worker, in this process */
	struct shmipc_region *view;	/* our window on the region */
	struct lt_obj hdr, req, rep;	/* "ctl", "w0.req", "w0.rep" */
	struct server srv;
};

static int find_obj(struct lt_obj *o, struct shmipc_region *r,
		    const char *key)
{
	o->r = r;
	o->base = shmipc_region_base(r);
	return shmipc_dir_find(r, key, &o->off, NULL);
}

static void hx_open(struct __test_metadata *_metadata,
		    FIXTURE_DATA(hx) *self)
{
	ASSERT_EQ(0, shmipc_ctl_create(self->name, NSLOTS, MAXMSG,
				       &self->ctl));
	ASSERT_EQ(0, shmipc_ctl_attach(self->ctl, 0, &self->w));
	ASSERT_EQ(0, shmipc_worker_open(shmipc_ctl_worker_name(self->w),
					&self->wk));
	ASSERT_EQ(0, shmipc_region_open(self->name, 0, 0, 0, &self->view));
	ASSERT_EQ(0, find_obj(&self->hdr, self->view, "ctl"));
	ASSERT_EQ(0, find_obj(&self->req, self->view, "w0.req"));
	ASSERT_EQ(0, find_obj(&self->rep, self->view, "w0.rep"));
}

static int serve_end(FIXTURE_DATA(hx) *self);

static void hx_close(FIXTURE_DATA(hx) *self)
{
	/* The controller first: a reply waiting for it ends (-EPIPE). */
	shmipc_ctl_destroy(self->ctl);
	serve_end(self);
	shmipc_worker_close(self->wk);
	shmipc_region_close(self->view);
	self->view = NULL;
	self->wk = NULL;
	self->ctl = NULL;
}

FIXTURE_SETUP(hx)
{
	lt_name(self->name, sizeof(self->name), "ctlx");
	hx_open(_metadata, self);
}

FIXTURE_TEARDOWN(hx)
{
	hx_close(self);
	shmipc_ctl_unlink(self->name);
}

static uint32_t *slot_word(FIXTURE_DATA(hx) *self, unsigned int at)
{
	return lt_obj_word(&self->hdr, H_SLOT0 + at);
}

/* The bytes of the message in the buffer @key's generation 1. */
static char *message(struct __test_metadata *_metadata,
		     FIXTURE_DATA(hx) *self, const char *key,
		     struct shmipc_region **gen)
{
	char name[128];
	uint64_t off;

	snprintf(name, sizeof(name), "%s.%s.g1", self->name, key);
	ASSERT_EQ(0, shmipc_region_open(name, 0, 0, 0, gen));
	ASSERT_EQ(0, shmipc_dir_find(*gen, "growbuf", &off, NULL));
	return (char *)shmipc_region_base(*gen) + off;
}

static void *serve_main(void *arg)
{
	struct server *s = arg;
	unsigned int kind;
	const void *p = "xyz";
	size_t n = 3;
	int ret = 0;

	if (s->take)
		ret = shmipc_worker_next(s->wk, &kind, &p, &n, SOON(1000));
	s->ret = ret ? ret : shmipc_worker_reply(s->wk, p, n);
	atomic_store(&s->done, 1);
	return NULL;
}

/*
 * The worker's half of a transition (@take: take the request, echo it;
 * else reply "xyz" to the one held) in a thread; returns once the reply
 * is counted or the worker failed.  serve_end() collects the result.
 */
static void serve_start(FIXTURE_DATA(hx) *self, bool take)
{
	_Atomic uint32_t *count = (_Atomic uint32_t *)slot_word(self,
								S_REPLIES);
	uint32_t before = atomic_load(count);
	struct server *s = &self->srv;

	serve_end(self);
	s->wk = self->wk;
	s->take = take;
	atomic_store(&s->done, 0);
	s->running = !pthread_create(&s->t, NULL, serve_main, s);
	while (s->running && !atomic_load(&s->done) &&
	       atomic_load(count) == before)
		usleep(100);
}

/* Wait for the worker's thread: its result (0 if none ran). */
static int serve_end(FIXTURE_DATA(hx) *self)
{
	struct server *s = &self->srv;

	if (!s->running)
		return 0;
	pthread_join(s->t, NULL);
	s->running = false;
	return s->ret;
}

/* Has the worker's thread finished within @ms? */
static bool serve_done(FIXTURE_DATA(hx) *self, unsigned int ms)
{
	while (ms-- && !atomic_load(&self->srv.done))
		lt_sleep_ms(1);
	return atomic_load(&self->srv.done);
}

/* A whole transition, both halves: 0 or the first error. */
static int round_trip(FIXTURE_DATA(hx) *self)
{
	const void *reply;
	size_t len;
	int ret = shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT, "abc", 3);

	if (!ret)
		serve_start(self, true);
	if (!ret)
		ret = shmipc_ctl_wait(self->w, &reply, &len, SOON(1000));
	if (!ret)
		ret = serve_end(self);
	if (!ret && (len != 3 || memcmp(reply, "abc", 3)))
		ret = -EPROTO;
	return ret;
}

/* Open slot 1 as a worker (and leave it): the result. */
static int open_slot1(FIXTURE_DATA(hx) *self)
{
	struct shmipc_worker *x = NULL;
	char spec[80];
	int ret;

	snprintf(spec, sizeof(spec), "%s/1", self->name);
	ret = shmipc_worker_open(spec, &x);
	shmipc_worker_close(x);
	return ret;
}

TEST_F(hx, sane)
{
	EXPECT_EQ(0, round_trip(self));
	EXPECT_EQ(0, round_trip(self));
	EXPECT_EQ(0, open_slot1(self));
}

TEST_F(hx, corrupt_header)
{
	char saved[64];
	uint64_t v;

	memcpy(saved, lt_obj_word(&self->hdr, 0), sizeof(saved));
#define SPOIL(at, val, err) LT_SPOIL(&self->hdr, saved, sizeof(saved), at, \
				     val, open_slot1(self), err)
	SPOIL(H_MAGIC, 0x1234, -EBADMSG);
	SPOIL(H_VERSION, 99, -EPROTONOSUPPORT);
	SPOIL(H_HDRSIZE, 4096, -EBADMSG);
	SPOIL(H_NSLOTS, 0, -EBADMSG);
	SPOIL(H_NSLOTS, SHMIPC_CTL_WORKERS_MAX + 1, -EBADMSG);
	SPOIL(H_NSLOTS, 0xffffffff, -EBADMSG);
	SPOIL(H_MAXMSG, 0, -EBADMSG);
	SPOIL(H_MAXMSG + 4, 2, -EBADMSG);	/* max_msg above 2^32 */
	/* Fewer slots than the spec names. */
	SPOIL(H_NSLOTS, 1, -ERANGE);
	/* The cleanup of a dead controller's names reads it too. */
	SPOIL(H_NSLOTS, 0x7fffffff, shmipc_ctl_unlink(self->name) ?: -EBADMSG);
	SPOIL(H_MAGIC, 0x4321, shmipc_ctl_unlink(self->name));
#undef SPOIL
	/* A controller id that names nobody: taken for a dead controller
	 * (its names go), never a crash. */
	memcpy(&v, lt_obj_word(&self->hdr, H_CTLPEER), 8);
	*lt_obj_word(&self->hdr, H_CTLPEER) ^= 0x5a5a5a5a;
	EXPECT_EQ(0, shmipc_ctl_unlink(self->name));
	memcpy(lt_obj_word(&self->hdr, H_CTLPEER), &v, 8);
	/* The header was only read: the transitions go on. */
	EXPECT_EQ(0, round_trip(self));
	/* Doorbell words rung by anyone: spurious wakes, nothing more. */
	*lt_obj_word(&self->hdr, H_BELLW) = 0xffffffff;
	*lt_obj_word(&self->hdr, H_BELL) += 77;
	EXPECT_EQ(0, round_trip(self));
}

/* A request that is not one: the worker drops it (-EBADMSG). */
TEST_F(hx, corrupt_request)
{
	static const struct { unsigned int at, val; } bad[] = {
		{ 0, 0 },			/* kind 0 */
		{ 0, SHMIPC_CTL_KIND_MAX + 1 },	/* kind too large */
		{ 4, 1 },			/* flags */
	};
	struct shmipc_region *gen;
	unsigned int kind, i;
	const void *p;
	size_t n;

	ASSERT_EQ(0, round_trip(self));		/* maps generation 1 */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *m;

		hx_close(self);
		hx_open(_metadata, self);
		ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT,
						   "abc", 3));
		m = message(_metadata, self, "w0.req", &gen);
		memcpy(m + bad[i].at, &bad[i].val, 4);
		EXPECT_EQ(-EBADMSG, shmipc_worker_next(self->wk, &kind, &p,
							&n, SOON(1000)));
		shmipc_region_close(gen);
		/* Dropped: the controller waits in vain, to its deadline. */
		EXPECT_EQ(-ETIMEDOUT, shmipc_ctl_wait(self->w, NULL, NULL,
						      SOON(20)));
		EXPECT_EQ(-EINVAL, shmipc_worker_reply(self->wk, "x", 1));
	}
	/* Lengths: shorter than a message header, longer than max_msg. */
	hx_close(self);
	hx_open(_metadata, self);
	ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT, "abc", 3));
	*lt_obj_word(&self->req, G_LEN) = 5;
	EXPECT_EQ(-EBADMSG, shmipc_worker_next(self->wk, &kind, &p, &n,
						SOON(1000)));
	ASSERT_EQ(0, shmipc_ctl_wait(self->w, NULL, NULL, 0) == -ETIMEDOUT ?
		     0 : -1);
	hx_close(self);
	hx_open(_metadata, self);
	ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT, "abc", 3));
	*lt_obj_word(&self->req, G_LEN) = 16 + MAXMSG + 1;
	EXPECT_EQ(-EBADMSG, shmipc_worker_next(self->wk, &kind, &p, &n,
						SOON(1000)));
	/* A cursor that cannot be: the request buffer says so. */
	hx_close(self);
	hx_open(_metadata, self);
	ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT, "abc", 3));
	*lt_obj_word(&self->req, G_SEQ) += 5;
	EXPECT_EQ(-EBADMSG, shmipc_worker_next(self->wk, &kind, &p, &n,
						SOON(1000)));
}

/* A reply that is not one: the controller says -EBADMSG. */
TEST_F(hx, corrupt_reply)
{
	static const struct { unsigned int at, val; } bad[] = {
		{ 0, SHMIPC_CTL_BEGIN_RUN },	/* another kind */
		{ 4, 1 },			/* flags */
		{ 8, 12345 },			/* another transition */
		{ 12, 1 },
	};
	struct shmipc_region *gen;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *m;

		ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT,
						   "abc", 3));
		serve_start(self, true);
		m = message(_metadata, self, "w0.rep", &gen);
		memcpy(m + bad[i].at, &bad[i].val, 4);
		EXPECT_EQ(-EBADMSG, shmipc_ctl_wait(self->w, NULL, NULL,
						    SOON(1000)))
			TH_LOG("word %u", bad[i].at);
		EXPECT_EQ(0, serve_end(self));
		shmipc_region_close(gen);
		/* Dropped; the next transition works. */
		EXPECT_EQ(0, round_trip(self));
	}
	/* Lengths: short, beyond max_msg, beyond the generation. */
	for (i = 0; i < 3; i++) {
		static const uint32_t len[] = { 15, 16 + MAXMSG + 1, 1 << 30 };

		ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT,
						   "abc", 3));
		serve_start(self, true);
		*lt_obj_word(&self->rep, G_LEN) = len[i];
		EXPECT_EQ(-EBADMSG, shmipc_ctl_wait(self->w, NULL, NULL,
						    SOON(1000)))
			TH_LOG("len %u", len[i]);
		if (i < 2) {
			EXPECT_EQ(0, serve_end(self));
			EXPECT_EQ(0, round_trip(self));
		}
	}
	/* The reply buffer's cursor two ahead: the controller's one look
	 * says -EBADMSG (it cannot be trusted any more). */
	hx_close(self);
	hx_open(_metadata, self);
	ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT, "abc", 3));
	serve_start(self, true);
	*lt_obj_word(&self->rep, G_SEQ) += 1;
	EXPECT_EQ(-EBADMSG, shmipc_ctl_wait(self->w, NULL, NULL, SOON(1000)));
	/* The request buffer's ack moved by someone: the next send. */
	*lt_obj_word(&self->req, G_ACK) += 3;
	EXPECT_EQ(-EBADMSG, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT,
						  "abc", 3));
}

/* Slot words: a count of replies that were never sent, pids and peer
 * ids that name someone else. */
TEST_F(hx, lying_slot_words)
{
	uint64_t bogus = 0xdeadbeef12ULL;

	/* Replies counted but none there: the controller looks, finds
	 * nothing, and waits on to its deadline. */
	ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT, "abc", 3));
	*slot_word(self, S_REPLIES) += 9;
	EXPECT_EQ(-ETIMEDOUT, shmipc_ctl_wait(self->w, NULL, NULL, SOON(30)));
	/* The real reply still gets through. */
	serve_start(self, true);
	EXPECT_EQ(0, shmipc_ctl_wait(self->w, NULL, NULL, SOON(1000)));
	EXPECT_EQ(0, serve_end(self));
	/* A pid is information only. */
	*slot_word(self, S_PID) = 0xffffffff;
	EXPECT_EQ(0, round_trip(self));
	/* A peer id of nobody: the attached worker looks dead. */
	ASSERT_EQ(0, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT, "abc", 3));
	memcpy(slot_word(self, S_PEER), &bogus, 8);
	EXPECT_EQ(-EOWNERDEAD, shmipc_ctl_wait(self->w, NULL, NULL,
					       SOON(1000)));
	EXPECT_EQ(-EOWNERDEAD, shmipc_ctl_send_async(self->w, SHMIPC_CTL_INIT,
						     "abc", 3));
}

static const char *worker_bin(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return "ctl_worker";
	self[n] = '\0';
	snprintf(buf, len, "%s/helpers/ctl_worker", dirname(self));
	return buf;
}

/* The peer id of a process that joined @name and was SIGKILLed. */
static uint64_t dead_peer(const char *name)
{
	uint64_t id = 0;
	int fds[2];
	pid_t pid = lt_fork_pipe(fds);

	if (pid == 0) {
		struct shmipc_region *r = lt_child_region(name);

		id = shmipc_region_peer_id(r);
		if (write(fds[1], &id, sizeof(id)) != sizeof(id))
			_exit(1);
		raise(SIGKILL);
	}
	close(fds[1]);
	if (read(fds[0], &id, sizeof(id)) != sizeof(id))
		id = 0;
	close(fds[0]);
	lt_reap(pid);
	return id;
}

/*
 * A spawned worker that names a dead peer as its own while it hangs:
 * our child is alive (waitpid says so), so the controller waits on to
 * its deadline (it never blocks on the lie), then kills it.
 */
TEST_F(hx, spawned_worker_names_a_dead_peer)
{
	char path[PATH_MAX], kind[8];
	struct shmipc_ctl_worker *w;
	uint64_t dead = dead_peer(self->name);
	char *argv[] = { (char *)worker_bin(path, sizeof(path)), "hang",
			 kind, NULL };

	ASSERT_NE(0, dead);
	snprintf(kind, sizeof(kind), "%d", SHMIPC_CTL_PROCESS);
	ASSERT_EQ(0, shmipc_ctl_spawn(self->ctl, 1, argv, &w));
	ASSERT_EQ(0, shmipc_ctl_transition(w, SHMIPC_CTL_INIT, NULL, 0, NULL,
					   NULL, SOON(LT_SOON_MS)));
	ASSERT_EQ(0, shmipc_ctl_send_async(w, SHMIPC_CTL_PROCESS, "e", 1));
	memcpy(lt_obj_word(&self->hdr, H_SLOT0 + 64 + S_PEER), &dead, 8);
	EXPECT_EQ(-ETIMEDOUT, shmipc_ctl_wait(w, NULL, NULL, SOON(100)));
	EXPECT_EQ(-EAGAIN, shmipc_ctl_worker_status(w, &(int){ 0 }));
	EXPECT_EQ(0, shmipc_ctl_kill(w));
	EXPECT_EQ(-EOWNERDEAD, shmipc_ctl_wait(w, NULL, NULL,
					       SOON(LT_SOON_MS)));
	EXPECT_EQ(0, shmipc_ctl_worker_status(w, &(int){ 0 }));
}

static bool documented(int ret, const int *ok, size_t n)
{
	size_t i;

	if (ret >= 0 || ret == -EBADMSG)
		return true;
	for (i = 0; i < n; i++)
		if (ret == ok[i])
			return true;
	return false;
}

#define DOC(ret, ...) documented(ret, (const int[]){ __VA_ARGS__ },	\
				 sizeof((const int[]){ __VA_ARGS__ }) /	\
				 sizeof(int))

/* Random garbage over every shared word of the protocol between the
 * steps of transitions: documented results only, bounded time. */
TEST_F_TIMEOUT(hx, hostile_fuzz, 120)
{
	uint64_t seed = 0x7c7e11ab5eedULL;
	struct lt_tally t = { 0 };
	unsigned int round;

	for (round = 0; round < 600; round++) {
		struct lt_obj *objs[] = { &self->hdr, &self->req, &self->rep };
		uint64_t r = lt_rand(&seed);
		unsigned int k, kind;
		const void *p;
		size_t n;
		int ret;

		if (round % 25 == 24) {
			hx_close(self);
			hx_open(_metadata, self);
		}
		for (k = 0; k < 1 + r % 3; k++) {
			struct lt_obj *o = objs[lt_rand(&seed) % 3];
			/* hdr: the whole header and both slots; buffers:
			 * the lines after their config line. */
			unsigned int span = o == &self->hdr ?
				H_SLOT0 + NSLOTS * 64 : G_SIZE - 64;
			unsigned int at = (unsigned int)(lt_rand(&seed) %
							 (span / 4)) * 4;

			*lt_obj_word(o, o == &self->hdr ? at : 64 + at) =
				lt_evil32(&seed);
		}
		ret = shmipc_ctl_send_async(self->w, 1 + r % 6, "abcd",
					    r % 5);
		if (!lt_tally(&t, ret, DOC(ret, -EBUSY, -EOWNERDEAD)))
			TH_LOG("round %u send: %d", round, ret);
		ret = shmipc_worker_next(self->wk, &kind, &p, &n, SOON(5));
		if (!lt_tally(&t, ret, DOC(ret, -ETIMEDOUT, -EBUSY,
					   -EOWNERDEAD, -EPIPE)))
			TH_LOG("round %u next: %d", round, ret);
		serve_start(self, false);
		ret = shmipc_ctl_wait(self->w, NULL, NULL, SOON(5));
		if (!lt_tally(&t, ret, DOC(ret, -ETIMEDOUT, -EALREADY,
					   -EOWNERDEAD)))
			TH_LOG("round %u wait: %d", round, ret);
		/* A reply the controller did not take holds its thread
		 * (module): a new controller and worker. */
		if (!serve_done(self, 20)) {
			hx_close(self);
			hx_open(_metadata, self);
		}
		ret = self->srv.ret;
		serve_end(self);
		if (!lt_tally(&t, ret, DOC(ret, -EINVAL, -EOWNERDEAD, -EPIPE)))
			TH_LOG("round %u reply: %d", round, ret);
		ret = open_slot1(self);
		if (!lt_tally(&t, ret, DOC(ret, -EPROTONOSUPPORT, -ERANGE,
					   -EBUSY, -EAGAIN)))
			TH_LOG("round %u open: %d", round, ret);
	}
	EXPECT_EQ(0, t.bad);
	EXPECT_LT(100, t.ok);
	EXPECT_LT(20, t.corrupt);
}

TEST_HARNESS_MAIN
