// SPDX-License-Identifier: GPL-2.0
/*
 * The shmipc command line against a known state: regions, peers (one
 * SIGKILLed), channels with known fill levels, raw and corrupt regions;
 * its text output word by word and its --json output parsed; removal;
 * watch's events as they happen; bad names, missing regions, usage
 * errors and their exit codes and messages.
 *
 * One source for both backends: on the host (portable backend, other
 * tests may add regions of their own meanwhile, so only ours are
 * looked at) and in the VM (module backend, static build).  Where the
 * backends differ (waiters, exit statuses, destroy), each is checked
 * for what it documents.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "cli_test.h"
#include "json_in.h"
#include "internal.h"	/* the region header, to corrupt it */

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/shmipc.h>

#define RSIZE		(64 * 1024)
#define UID_OTHER	1000

FIXTURE(cli) {
	char name[64];
	struct shmipc_region *r;
	struct shmipc_spsc *tx;
	struct shmipc_mpmc *q;
	uint64_t jobs_off, jobs_size, work_off, work_size, blob_off;
	bool module;
	char extra[4][64];	/* more regions to remove at the end */
	int nextra;
};

FIXTURE_SETUP(cli)
{
	char msg[64] = { 0 };
	uint64_t size;
	int i, ret;

	self->module = shmipc_backend() == SHMIPC_BACKEND_MODULE;
	lt_name(self->name, sizeof(self->name), "cli");
	ret = shmipc_region_open(self->name, RSIZE, 0640,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL,
				 &self->r);
	ASSERT_EQ(0, ret) TH_LOG("create: %s", shmipc_strerror(ret));
	ASSERT_EQ(0, shmipc_spsc_create(self->r, "jobs", 64, 8));
	ASSERT_EQ(0, shmipc_spsc_open(self->r, "jobs", SHMIPC_PRODUCER,
				      &self->tx));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, shmipc_spsc_try_send(self->tx, msg));
	ASSERT_EQ(0, shmipc_mpmc_create(self->r, "work", 16, 16));
	ASSERT_EQ(0, shmipc_mpmc_open(self->r, "work", &self->q));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, shmipc_mpmc_try_send(self->q, msg));
	ASSERT_EQ(0, shmipc_dir_alloc(self->r, "blob", 100, 8,
				      &self->blob_off));
	ASSERT_EQ(0, shmipc_dir_find(self->r, "jobs", &self->jobs_off,
				     &self->jobs_size));
	ASSERT_EQ(0, shmipc_dir_find(self->r, "work", &self->work_off,
				     &self->work_size));
	ASSERT_EQ(0, shmipc_dir_find(self->r, "blob", NULL, &size));
	ASSERT_EQ(100, size);
}

FIXTURE_TEARDOWN(cli)
{
	int i;

	shmipc_spsc_close(self->tx);
	shmipc_mpmc_close(self->q);
	shmipc_region_close(self->r);
	shmipc_region_unlink(self->name);
	for (i = 0; i < self->nextra; i++)
		shmipc_region_unlink(self->extra[i]);
}

/* A new region's name, removed at teardown. */
static const char *extra_name(FIXTURE_DATA(cli) *self, const char *tag)
{
	char *n = self->extra[self->nextra++];

	lt_name(n, sizeof(self->extra[0]), tag);
	return n;
}

/* A new persistent region of 8192 bytes, closed: its name. */
static const char *closed_region(struct __test_metadata *_metadata,
				 FIXTURE_DATA(cli) *self, const char *tag)
{
	const char *name = extra_name(self, tag);
	struct shmipc_region *r;

	ASSERT_EQ(0, shmipc_region_open(name, 8192, 0600,
					SHMIPC_REGION_CREATE |
					SHMIPC_REGION_PERSISTENT, &r));
	ASSERT_EQ(0, shmipc_region_close(r));
	return name;
}

/* Parse the tool's stdout as one JSON document (freed by the caller). */
static struct jnode *parse_out(struct __test_metadata *_metadata,
			       const struct cli_run *r)
{
	struct jnode *doc = json_parse(r->out);

	ASSERT_NE(NULL, doc) TH_LOG("not JSON: %s", r->out);
	return doc;
}

/* Our region in `ls --json`, with the document (to free). */
static const struct jnode *ls_entry(struct __test_metadata *_metadata,
				    const char *name, struct jnode **doc)
{
	struct cli_run r;

	ASSERT_EQ(0, cli(&r, "--json", "ls")) TH_LOG("%s", r.err);
	*doc = parse_out(_metadata, &r);
	return json_find(json_get(*doc, "regions"), "name", name);
}

/* `info --json NAME`, parsed. */
static struct jnode *info_json(struct __test_metadata *_metadata,
			       const char *name)
{
	struct cli_run r;

	ASSERT_EQ(0, cli(&r, "--json", "info", name)) TH_LOG("%s", r.err);
	EXPECT_STREQ("", r.err);
	return parse_out(_metadata, &r);
}

/* ------------------------------------------------------------------ */
/* ls */

TEST_F(cli, ls_json_shows_region)
{
	const struct jnode *e, *flags;
	struct jnode *doc;

	e = ls_entry(_metadata, self->name, &doc);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ(shmipc_backend_name(shmipc_backend()),
		     json_str(doc, "backend"));
	EXPECT_EQ(RSIZE, json_num(e, "size"));
	EXPECT_STREQ("0640", json_str(e, "mode"));
	EXPECT_EQ(geteuid(), json_num(e, "uid"));
	EXPECT_EQ(getegid(), json_num(e, "gid"));
	EXPECT_EQ(1, json_num(e, "peers"));
	EXPECT_EQ(0, json_num(e, "dead"));
	EXPECT_LT(0, json_num(e, "id"));
	flags = json_get(e, "flags");
	if (self->module) {
		EXPECT_EQ(0, json_num(e, "waiters"));
		EXPECT_EQ(1, json_num(e, "files"));	/* our handle */
		EXPECT_EQ(0, json_len(flags));
	} else {
		EXPECT_TRUE(json_is_null(e, "waiters"));
		EXPECT_TRUE(json_is_null(e, "files"));
		EXPECT_EQ(1, json_len(flags));
		EXPECT_STREQ("persistent", json_at(flags, 0)->str);
	}
	json_free(doc);
}

TEST_F(cli, ls_text_row)
{
	char line[512];
	const char *owner;
	const struct jnode *e;
	struct jnode *doc;
	struct cli_run r;

	e = ls_entry(_metadata, self->name, &doc);
	ASSERT_NE(NULL, e);
	owner = json_str(e, "owner");
	ASSERT_NE(NULL, owner);
	ASSERT_EQ(0, cli(&r, "ls"));
	EXPECT_STREQ("", r.err);
	EXPECT_TRUE(words_eq(r.out,
			     "NAME SIZE OWNER MODE PEERS WAITERS FLAGS"))
		TH_LOG("%s", r.out);
	ASSERT_TRUE(find_line(r.out, self->name, line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, fmt("%s %d %s 0640 1 %s %s", self->name,
				       RSIZE, owner, self->module ? "0" : "-",
				       self->module ? "-" : "persistent")))
		TH_LOG("%s", line);
	json_free(doc);
}

/* A region listed again after it went: ls reads the state now. */
TEST_F(cli, ls_follows_changes)
{
	const char *x = extra_name(self, "clix");
	struct shmipc_region *r2;
	const struct jnode *e;
	struct jnode *doc;

	ASSERT_EQ(0, shmipc_region_open(x, 8192, 0600, SHMIPC_REGION_CREATE |
					SHMIPC_REGION_PERSISTENT, &r2));
	e = ls_entry(_metadata, x, &doc);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(8192, json_num(e, "size"));
	EXPECT_STREQ("0600", json_str(e, "mode"));
	EXPECT_EQ(1, json_num(e, "peers"));
	json_free(doc);
	ASSERT_EQ(0, shmipc_region_close(r2));
	e = ls_entry(_metadata, x, &doc);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(0, json_num(e, "peers"));
	json_free(doc);
	ASSERT_EQ(0, shmipc_region_unlink(x));
	e = ls_entry(_metadata, x, &doc);
	EXPECT_EQ(NULL, e);
	json_free(doc);
}

/* Module: a process asleep in a receive is a waiter. */
TEST_F(cli, waiters_counted)
{
	const struct jnode *e = NULL;
	struct jnode *doc = NULL;
	int ready[2], i;
	pid_t pid;

	ASSERT_EQ(0, shmipc_spsc_create(self->r, "empty", 8, 4));
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct shmipc_region *r;
		struct shmipc_spsc *rx;
		char m[8];

		if (shmipc_region_open(self->name, 0, 0, 0, &r) ||
		    shmipc_spsc_open(r, "empty", SHMIPC_CONSUMER, &rx))
			_exit(100);
		lt_signal(ready[1]);
		_exit(lt_code(shmipc_spsc_recv(rx, m, shmipc_deadline_in(
					       LT_SOON_MS * LT_MS))));
	}
	ASSERT_EQ(0, lt_await(ready[0]));
	/* it falls asleep soon; the module counts it then */
	for (i = 0; i < 1000; i++) {
		json_free(doc);
		e = ls_entry(_metadata, self->name, &doc);
		ASSERT_NE(NULL, e);
		if (!self->module || json_num(e, "waiters") == 1)
			break;
		lt_sleep_ms(10);
	}
	if (self->module) {
		EXPECT_EQ(1, json_num(e, "waiters"));
	} else {
		EXPECT_TRUE(json_is_null(e, "waiters"));
	}
	EXPECT_EQ(2, json_num(e, "peers"));
	json_free(doc);
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pid));
	close(ready[0]);
	close(ready[1]);
}

/* ------------------------------------------------------------------ */
/* info */

TEST_F(cli, info_text)
{
	uint64_t me = shmipc_region_peer_id(self->r);
	char line[512];
	struct cli_run r;

	ASSERT_EQ(0, cli(&r, "info", self->name)) TH_LOG("%s", r.err);
	EXPECT_STREQ("", r.err);
	EXPECT_TRUE(starts_with(r.out, fmt("name:     %s\nbackend:  %s\n",
					   self->name, shmipc_backend_name(
						   shmipc_backend()))))
		TH_LOG("%s", r.out);
	ASSERT_TRUE(find_line(r.out, "size:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, fmt("size: %d", RSIZE)));
	ASSERT_TRUE(find_line(r.out, "mode:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, "mode: 0640"));
	ASSERT_TRUE(find_line(r.out, "peers:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, "peers: 1 alive, 0 dead"));
	ASSERT_TRUE(find_line(r.out, "waiters:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, self->module ? "waiters: 0" : "waiters: -"));
	ASSERT_TRUE(find_line(r.out, "files:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, self->module ? "files: 1" : "files: -"));

	ASSERT_TRUE(find_line(r.out, "PEER", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, "PEER PID STATE OWNED STATUS"));
	ASSERT_TRUE(find_line(r.out, fmt("%llu", (unsigned long long)me), line,
			      sizeof(line)));
	/* module: the producer end's state word is our owned word */
	EXPECT_TRUE(words_eq(line, fmt("%llu %d alive %s -",
				       (unsigned long long)me, getpid(),
				       self->module ? "1" : "-")))
		TH_LOG("%s", line);

	ASSERT_TRUE(find_line(r.out, "KEY", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, "KEY TYPE OFFSET SIZE FILL DETAIL"));
	ASSERT_TRUE(find_line(r.out, "jobs", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, fmt("jobs spsc %llu %llu 3/8 producer: "
				       "peer %llu, consumer: none",
				       (unsigned long long)self->jobs_off,
				       (unsigned long long)self->jobs_size,
				       (unsigned long long)me)))
		TH_LOG("%s", line);
	ASSERT_TRUE(find_line(r.out, "work", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, fmt("work mpmc %llu %llu 5/16 -",
				       (unsigned long long)self->work_off,
				       (unsigned long long)self->work_size)))
		TH_LOG("%s", line);
	ASSERT_TRUE(find_line(r.out, "blob", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, fmt("blob object %llu 100 - -",
				       (unsigned long long)self->blob_off)))
		TH_LOG("%s", line);
	/* objects in allocation order */
	EXPECT_LT(strstr(r.out, "\njobs"), strstr(r.out, "\nwork"));
	EXPECT_LT(strstr(r.out, "\nwork"), strstr(r.out, "\nblob"));
}

/* A queue object of `info --json`: its type and numbers. */
static void expect_queue(struct __test_metadata *_metadata,
			 const struct jnode *o, const char *type,
			 long long slot_size, long long capacity,
			 long long fill)
{
	EXPECT_STREQ(type, json_str(o, "type"));
	EXPECT_EQ(slot_size, json_num(o, "slot_size"));
	EXPECT_EQ(capacity, json_num(o, "capacity"));
	EXPECT_EQ(fill, json_num(o, "fill"));
}

TEST_F(cli, info_json)
{
	const struct jnode *reg, *peers, *objs, *p, *o;
	struct jnode *doc = info_json(_metadata, self->name);

	reg = json_get(doc, "region");
	EXPECT_STREQ(self->name, json_str(reg, "name"));
	EXPECT_EQ(RSIZE, json_num(reg, "size"));
	EXPECT_STREQ("0640", json_str(reg, "mode"));

	peers = json_get(doc, "peers");
	ASSERT_EQ(1, json_len(peers));
	EXPECT_TRUE(json_is_null(doc, "peers_error"));
	p = json_at(peers, 0);
	EXPECT_EQ((long long)shmipc_region_peer_id(self->r),
		  json_num(p, "peer_id"));
	EXPECT_EQ(getpid(), json_num(p, "pid"));
	EXPECT_STREQ("alive", json_str(p, "state"));
	EXPECT_TRUE(json_is_null(p, "status"));
	EXPECT_TRUE(json_is_null(p, "signal"));
	if (self->module) {
		EXPECT_EQ(1, json_num(p, "owned"));
	} else {
		EXPECT_TRUE(json_is_null(p, "owned"));
	}

	objs = json_get(doc, "objects");
	ASSERT_EQ(3, json_len(objs));
	EXPECT_TRUE(json_is_null(doc, "objects_error"));
	o = json_find(objs, "key", "jobs");
	ASSERT_NE(NULL, o);
	expect_queue(_metadata, o, "spsc", 64, 8, 3);
	EXPECT_EQ((long long)self->jobs_off, json_num(o, "offset"));
	EXPECT_EQ((long long)self->jobs_size, json_num(o, "size"));
	EXPECT_EQ(0, json_bool_of(o, "corrupt"));
	o = json_find(objs, "key", "work");
	ASSERT_NE(NULL, o);
	expect_queue(_metadata, o, "mpmc", 16, 16, 5);
	o = json_find(objs, "key", "blob");
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("object", json_str(o, "type"));
	EXPECT_EQ((long long)self->blob_off, json_num(o, "offset"));
	EXPECT_EQ(100, json_num(o, "size"));
	EXPECT_TRUE(json_is_null(o, "fill"));
	json_free(doc);
}

/* Fill levels are read now: receive two, send one more. */
TEST_F(cli, info_fill_follows_the_queue)
{
	const struct jnode *o;
	struct shmipc_spsc *rx;
	struct jnode *doc;
	char m[64] = { 0 };

	ASSERT_EQ(0, shmipc_spsc_open(self->r, "jobs", SHMIPC_CONSUMER, &rx));
	ASSERT_EQ(0, shmipc_spsc_try_recv(rx, m));
	ASSERT_EQ(0, shmipc_spsc_try_recv(rx, m));
	ASSERT_EQ(0, shmipc_mpmc_try_recv(self->q, m));
	doc = info_json(_metadata, self->name);
	o = json_find(json_get(doc, "objects"), "key", "jobs");
	EXPECT_EQ(1, json_num(o, "fill"));
	EXPECT_STREQ(fmt("producer: peer %llu, consumer: peer %llu",
			 (unsigned long long)shmipc_region_peer_id(self->r),
			 (unsigned long long)shmipc_region_peer_id(self->r)),
		     json_str(o, "detail"));
	o = json_find(json_get(doc, "objects"), "key", "work");
	EXPECT_EQ(4, json_num(o, "fill"));
	json_free(doc);
	ASSERT_EQ(0, shmipc_spsc_close(rx));
}

/*
 * Fork a peer of @name.  With @consumer it takes the consumer end of
 * "jobs" (module: an owned word, so its death stays marked).  Then, with
 * @go >= 0, it leaves on a byte from @go (closes the region) and exits
 * 0; else it sleeps until killed.  Its pid (its peer id in *@id), or -1.
 */
static pid_t fork_peer(const char *name, bool consumer, int go, uint64_t *id)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = lt_fork();
	if (pid == 0) {
		struct shmipc_region *r;
		struct shmipc_spsc *rx;
		uint64_t me;

		if (shmipc_region_open(name, 0, 0, 0, &r) ||
		    (consumer &&
		     shmipc_spsc_open(r, "jobs", SHMIPC_CONSUMER, &rx)))
			_exit(100);
		me = shmipc_region_peer_id(r);
		if (write(p[1], &me, sizeof(me)) != sizeof(me))
			_exit(101);
		if (go < 0) {
			pause();
			_exit(102);
		}
		if (lt_await(go))
			_exit(103);
		_exit(shmipc_region_close(r) ? 104 : 0);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], id, sizeof(*id)) != sizeof(*id)) {
		lt_reap(pid);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

/* `info --json` until peer @id is dead (a death is seen soon, not at
 * once); the document, or NULL. */
static struct jnode *info_until_dead(struct __test_metadata *_metadata,
				     const char *name, uint64_t id)
{
	uint64_t end = shmipc_deadline_in(LT_SOON_MS * LT_MS);

	for (;;) {
		struct jnode *doc = info_json(_metadata, name);
		const struct jnode *p = json_find_num(json_get(doc, "peers"),
						      "peer_id",
						      (long long)id);
		const char *st = json_str(p, "state");

		if (st && !strcmp(st, "dead"))
			return doc;
		json_free(doc);
		if (shmipc_now_ns() >= end)
			return NULL;
		lt_sleep_ms(10);
	}
}

/*
 * A consumer of "jobs" SIGKILLed (module: a marked death): once info
 * shows it dead, the parsed document; its pid and peer id in *@pid, *@id.
 */
static struct jnode *kill_consumer(struct __test_metadata *_metadata,
				   const char *name, pid_t *pid, uint64_t *id)
{
	struct jnode *doc;

	*pid = fork_peer(name, true, -1, id);
	ASSERT_LT(0, *pid);
	kill(*pid, SIGKILL);
	ASSERT_EQ(128 + SIGKILL, lt_reap(*pid));
	doc = info_until_dead(_metadata, name, *id);
	ASSERT_NE(NULL, doc) TH_LOG("peer %llu never shown dead",
				    (unsigned long long)*id);
	return doc;
}

TEST_F(cli, info_shows_killed_peer_dead)
{
	const struct jnode *p, *o;
	char line[512], status[64];
	struct jnode *doc;
	struct cli_run r;
	uint64_t id = 0;
	pid_t pid;

	doc = kill_consumer(_metadata, self->name, &pid, &id);
	p = json_find_num(json_get(doc, "peers"), "peer_id", (long long)id);
	EXPECT_EQ(pid, json_num(p, "pid"));
	EXPECT_EQ(1, json_num(json_get(doc, "region"), "dead"));
	EXPECT_EQ(1, json_num(json_get(doc, "region"), "peers"));
	if (self->module) {
		EXPECT_EQ(SIGKILL, json_num(p, "signal"));
		EXPECT_TRUE(json_is_null(p, "exit_code"));
		EXPECT_EQ(1, json_num(p, "owned"));
		snprintf(status, sizeof(status), "1 killed by SIGKILL");
	} else {
		EXPECT_TRUE(json_is_null(p, "status"));
		EXPECT_TRUE(json_is_null(p, "signal"));
		snprintf(status, sizeof(status), "- unknown");
	}
	o = json_find(json_get(doc, "objects"), "key", "jobs");
	EXPECT_STREQ(fmt("producer: peer %llu, consumer: peer %llu (dead)",
			 (unsigned long long)shmipc_region_peer_id(self->r),
			 (unsigned long long)id), json_str(o, "detail"));
	json_free(doc);

	ASSERT_EQ(0, cli(&r, "info", self->name));
	ASSERT_TRUE(find_line(r.out, "peers:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, "peers: 1 alive, 1 dead"));
	ASSERT_TRUE(find_line(r.out, fmt("%llu", (unsigned long long)id), line,
			      sizeof(line)));
	EXPECT_TRUE(words_eq(line, fmt("%llu %d dead %s",
				       (unsigned long long)id, pid, status)))
		TH_LOG("%s", line);
}

/*
 * The library's other objects, each in a known state: a heap (one record
 * used, one channel), an event pool (one event full, one being written),
 * a growable buffer (one message unread), and a controller region (one
 * worker attached and alive, one slot never used) with its buffers.
 */
TEST_F(cli, info_describes_library_objects)
{
	const char *name = extra_name(self, "clo");
	char ctl_name[64], line[512];
	struct shmipc_heap_stats hs;
	struct shmipc_region *r;
	struct shmipc_heap *h;
	struct shmipc_evpool *ev;
	struct shmipc_growbuf *gb;
	struct shmipc_ctl *ctl;
	struct shmipc_ctl_worker *cw;
	const struct jnode *objs, *o;
	pid_t child;
	int fds[2], i;
	struct jnode *doc;
	struct cli_run run;
	static char msg[100];
	uint64_t off, me;

	ASSERT_EQ(0, shmipc_region_open(name, 1 << 20, 0600,
					SHMIPC_REGION_CREATE |
					SHMIPC_REGION_EXCL, &r));
	me = shmipc_region_peer_id(r);
	ASSERT_EQ(0, shmipc_heap_create(r, "hp", 512 * 1024));
	ASSERT_EQ(0, shmipc_heap_open(r, "hp", &h));
	ASSERT_EQ(0, shmipc_heap_alloc(h, 100, &off));
	ASSERT_EQ(0, shmipc_heap_channel_add(h, "ch", 4));
	ASSERT_EQ(0, shmipc_heap_stats(h, &hs));
	ASSERT_EQ(0, shmipc_evpool_create(r, "ev", 4, 256, 0, 0));
	ASSERT_EQ(0, shmipc_evpool_open(r, "ev", SHMIPC_PRODUCER, &ev));
	ASSERT_EQ(1, shmipc_evpool_add(ev, 1, 1, 0, "a", 1, 0));
	ASSERT_EQ(0, shmipc_evpool_add(ev, 2, 2, 0, "b", 1, 0));
	ASSERT_EQ(0, shmipc_growbuf_create(r, "gb", 4096, 65536));
	ASSERT_EQ(0, shmipc_growbuf_open(r, "gb", SHMIPC_PRODUCER, &gb));
	ASSERT_EQ(0, shmipc_growbuf_write(gb, msg, sizeof(msg), 0));
	lt_name(ctl_name, sizeof(ctl_name), "clc");
	ASSERT_EQ(0, shmipc_ctl_create(ctl_name, 2, 1000, &ctl));
	ASSERT_EQ(0, shmipc_ctl_attach(ctl, 0, &cw));
	/* The worker: a process of its own (module: peers are per process). */
	child = lt_fork_pipe(fds);
	if (child == 0) {
		struct shmipc_worker *wk;

		lt_child_must(shmipc_worker_open(shmipc_ctl_worker_name(cw),
						 &wk));
		lt_child_must(lt_signal(fds[1]));
		pause();
		_exit(0);
	}
	close(fds[1]);
	ASSERT_EQ(0, lt_await(fds[0]));
	close(fds[0]);

	ASSERT_EQ(0, cli(&run, "info", name)) TH_LOG("%s", run.err);
	ASSERT_TRUE(find_line(run.out, "hp", line, sizeof(line)));
	EXPECT_TRUE(strstr(line, " heap ") &&
		    strstr(line, fmt("%llu of %llu bytes free, 1 records used, "
				     "1 channels",
				     (unsigned long long)hs.free_bytes,
				     (unsigned long long)hs.total_bytes)))
		TH_LOG("%s", line);
	ASSERT_TRUE(find_line(run.out, "ev", line, sizeof(line)));
	EXPECT_TRUE(strstr(line, " evpool ") && strstr(line, " 1/4 ") &&
		    strstr(line, "empty 2, writing 1, full 1, reading 0"))
		TH_LOG("%s", line);
	ASSERT_TRUE(find_line(run.out, "gb", line, sizeof(line)));
	EXPECT_TRUE(strstr(line, " growbuf ") &&
		    strstr(line, fmt("gen 1, last 100 of max 65536 B, unread; "
				     "writer: peer %llu, reader: none",
				     (unsigned long long)me)))
		TH_LOG("%s", line);

	doc = info_json(_metadata, name);
	objs = json_get(doc, "objects");
	o = json_find(objs, "key", "ev");
	ASSERT_NE(NULL, o);
	expect_queue(_metadata, o, "evpool", 256, 4, 1);
	o = json_find(objs, "key", "hp");
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("heap", json_str(o, "type"));
	EXPECT_EQ(0, json_bool_of(o, "corrupt"));
	o = json_find(objs, "key", "gb");
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("growbuf", json_str(o, "type"));
	EXPECT_TRUE(json_is_null(o, "fill"));
	json_free(doc);

	/* The controller: its workers and its buffers. */
	doc = info_json(_metadata, ctl_name);
	objs = json_get(doc, "objects");
	o = json_find(objs, "key", "ctl");
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("ctl", json_str(o, "type"));
	EXPECT_STREQ(fmt("controller alive; workers 2: 0 alive pid %d, 1 none",
			 child), json_str(o, "detail"));
	o = json_find(objs, "key", "w1.rep");
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("growbuf", json_str(o, "type"));
	EXPECT_TRUE(starts_with(json_str(o, "detail"), "gen 0, last 0 of max "
				"1016 B, read; writer: none, reader: peer"))
		TH_LOG("%s", json_str(o, "detail"));
	json_free(doc);

	/* The worker killed: seen dead (module: a moment after the reap). */
	kill(child, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(child));
	for (i = 0; i < 500; i++) {
		bool dead;

		doc = info_json(_metadata, ctl_name);
		o = json_find(json_get(doc, "objects"), "key", "ctl");
		ASSERT_NE(NULL, o);
		dead = !strcmp(fmt("controller alive; workers 2: 0 dead pid "
				   "%d, 1 none", child), json_str(o, "detail"));
		if (!dead && i == 499)
			TH_LOG("%s", json_str(o, "detail"));
		json_free(doc);
		if (dead)
			break;
		lt_sleep_ms(10);
	}
	EXPECT_GT(500, i);

	shmipc_ctl_destroy(ctl);
	shmipc_growbuf_close(gb);
	shmipc_growbuf_unlink(r, "gb");
	shmipc_evpool_close(ev);
	shmipc_heap_close(h);
	shmipc_region_close(r);
}

/* A corrupt header of each kind shows as such, and info goes on. */
TEST_F(cli, info_corrupt_library_objects)
{
	const char *name = extra_name(self, "clx");
	const char *keys[] = { "hp", "ev", "gb" };
	struct shmipc_region *r;
	struct cli_run run;
	char line[512];
	uint64_t off;
	unsigned int i;

	ASSERT_EQ(0, shmipc_region_open(name, 1 << 20, 0600,
					SHMIPC_REGION_CREATE |
					SHMIPC_REGION_EXCL, &r));
	ASSERT_EQ(0, shmipc_heap_create(r, "hp", 512 * 1024));
	ASSERT_EQ(0, shmipc_evpool_create(r, "ev", 4, 256, 0, 0));
	ASSERT_EQ(0, shmipc_growbuf_create(r, "gb", 4096, 65536));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, shmipc_dir_find(r, keys[i], &off, NULL));
		/* hdr_size (the word after magic and version) */
		((uint32_t *)((char *)shmipc_region_base(r) + off))[2] = 7;
	}
	ASSERT_EQ(0, cli(&run, "info", name)) TH_LOG("%s", run.err);
	for (i = 0; i < 3; i++) {
		ASSERT_TRUE(find_line(run.out, keys[i], line, sizeof(line)));
		EXPECT_TRUE(strstr(line, "corrupt header")) TH_LOG("%s", line);
	}
	shmipc_region_close(r);
}

TEST_F(cli, info_raw_region_has_no_directory)
{
	const char *x = extra_name(self, "cliraw");
	struct jnode *doc;
	struct cli_run r;
	char line[512];
	int fd;

	/* a region made without the library: no header, all zero */
	if (self->module) {
		struct shmipc_create c;
		int dev = open("/dev/shmipc", O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, dev);
		memset(&c, 0, sizeof(c));
		strcpy(c.name, x);
		c.size = 8192;
		c.mode = 0600;
		c.flags = SHMIPC_CREATE_PERSISTENT;
		ASSERT_EQ(0, ioctl(dev, SHMIPC_IOC_CREATE, &c));
		fd = c.fd;
		close(dev);
	} else {
		fd = shm_open(fmt("/shmipc.%s", x), O_RDWR | O_CREAT | O_EXCL,
			      0600);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ftruncate(fd, 8192));
	}
	close(fd);
	ASSERT_EQ(0, cli(&r, "info", x)) TH_LOG("%s", r.err);
	ASSERT_TRUE(find_line(r.out, "objects:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, "objects: none (not a libshmipc region "
			     "(no library header))")) TH_LOG("%s", line);
	ASSERT_TRUE(find_line(r.out, "size:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, "size: 8192"));
	doc = info_json(_metadata, x);
	EXPECT_EQ(0, json_len(json_get(doc, "objects")));
	EXPECT_STREQ("not a libshmipc region (no library header)",
		     json_str(doc, "objects_error"));
	/* module: the kernel knows its peers anyway (none) */
	if (self->module) {
		EXPECT_TRUE(json_is_null(doc, "peers_error"));
	} else {
		EXPECT_NE(NULL, json_str(doc, "peers_error"));
	}
	EXPECT_EQ(0, json_len(json_get(doc, "peers")));
	json_free(doc);
}

/* A hostile peer's garbage gives a message, never a crash. */
TEST_F(cli, info_corrupt_region)
{
	struct rhdr *h = shmipc_region_base(self->r);
	uint32_t *jobs = shmipc_region_ptr(self->r, self->jobs_off, 32);
	const struct jnode *o;
	struct jnode *doc;
	struct cli_run r;
	char line[512];
	unsigned int i;

	/* a channel header with a capacity that is no power of two */
	jobs[5] = 3;
	doc = info_json(_metadata, self->name);
	o = json_find(json_get(doc, "objects"), "key", "jobs");
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("spsc", json_str(o, "type"));
	EXPECT_EQ(1, json_bool_of(o, "corrupt"));
	EXPECT_TRUE(json_is_null(o, "fill"));
	json_free(doc);
	ASSERT_EQ(0, cli(&r, "info", self->name));
	ASSERT_TRUE(find_line(r.out, "jobs", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, fmt("jobs spsc %llu %llu - corrupt header -",
				       (unsigned long long)self->jobs_off,
				       (unsigned long long)self->jobs_size)))
		TH_LOG("%s", line);

	/* a directory entry whose key has no end */
	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++)
		if (!strcmp(h->dir[i].key, "blob"))
			memset(h->dir[i].key, 0xfe, sizeof(h->dir[i].key));
	ASSERT_EQ(0, cli(&r, "info", self->name));
	ASSERT_TRUE(find_line(r.out, "objects:", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, "objects: none (corrupt library header "
			     "or directory)")) TH_LOG("%s", line);
	/* the header itself */
	h->dir_cap = 7;
	doc = info_json(_metadata, self->name);
	EXPECT_STREQ("corrupt library header or directory",
		     json_str(doc, "objects_error"));
	json_free(doc);
	h->dir_cap = SHMIPC_DIR_ENTRIES;
}

/* ------------------------------------------------------------------ */
/* Errors */

TEST_F(cli, missing_region)
{
	char missing[64];
	struct cli_run r;

	lt_name(missing, sizeof(missing), "nosuch");
	EXPECT_EQ(1, cli(&r, "info", missing));
	EXPECT_STREQ("", r.out);
	EXPECT_STREQ(fmt("shmipc: cannot open '%s': No such file or "
			 "directory\n", missing), r.err);
	EXPECT_EQ(1, cli(&r, "--json", "info", missing));
	EXPECT_STREQ("", r.out);
	EXPECT_EQ(1, cli(&r, "watch", "--timeout", "1", missing));
	EXPECT_STREQ(fmt("shmipc: cannot open '%s': No such file or "
			 "directory\n", missing), r.err);
	EXPECT_EQ(1, cli(&r, "rm", missing));
	EXPECT_STREQ(fmt("shmipc: cannot remove '%s': No such file or "
			 "directory\n", missing), r.err);
}

TEST_F(cli, bad_names)
{
	const char *bad[] = {
		"a/b", "", ".", "..", "x y", "caf\xc3\xa9",
		/* 64 bytes: one too many */
		"0123456789012345678901234567890123456789"
		"012345678901234567890123",
	};
	unsigned int i;
	struct cli_run r;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *want = fmt("shmipc: invalid region name '%s'",
				       bad[i]);

		EXPECT_EQ(1, cli(&r, "info", bad[i])) TH_LOG("'%s'", bad[i]);
		EXPECT_TRUE(starts_with(r.err, want))
			TH_LOG("'%s': %s", bad[i], r.err);
		EXPECT_STREQ("", r.out);
		EXPECT_EQ(1, cli(&r, "watch", bad[i]));
		EXPECT_TRUE(starts_with(r.err, want));
		EXPECT_EQ(1, cli(&r, "rm", bad[i], self->name));
		EXPECT_TRUE(starts_with(r.err, want));
		/* the good one is removed all the same */
		EXPECT_EQ(1, cli(&r, "info", self->name));
	}
	/* "-" is a valid name (that does not exist) */
	EXPECT_EQ(1, cli(&r, "info", "-"));
	EXPECT_STREQ("shmipc: cannot open '-': No such file or directory\n",
		     r.err);
}

TEST_F(cli, usage_errors)
{
	const char *const *cases[] = {
		CLI_ARGS("--json"),
		CLI_ARGS("frobnicate"),
		CLI_ARGS("info"),
		CLI_ARGS("watch"),
		CLI_ARGS("rm"),
		CLI_ARGS("ls", "extra"),
		CLI_ARGS("info", "a", "b"),
		CLI_ARGS("--bogus", "ls"),
		CLI_ARGS("ls", "-x"),
		CLI_ARGS("info", "--destroy", "a"),
		CLI_ARGS("ls", "--count", "2"),
		CLI_ARGS("watch", "--count", "0", "a"),
		CLI_ARGS("watch", "--count", "-3", "a"),
		CLI_ARGS("watch", "--count", "many", "a"),
		CLI_ARGS("watch", "--timeout", "-1", "a"),
		CLI_ARGS("watch", "--timeout", "soon", "a"),
		CLI_ARGS("watch", "a", "--count"),
	};
	unsigned int i;
	struct cli_run r;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		EXPECT_EQ(2, cli_run_as(&r, (uid_t)-1, cases[i]))
			TH_LOG("case %u: %s", i, r.err);
		EXPECT_NE(NULL, strstr(r.err, "Try 'shmipc --help' for more "
					      "information.\n"))
			TH_LOG("case %u: %s", i, r.err);
		EXPECT_TRUE(starts_with(r.err, "shmipc: "));
		EXPECT_STREQ("", r.out);
	}
	EXPECT_EQ(0, cli(&r, "--help"));
	EXPECT_TRUE(starts_with(r.out, "Usage: shmipc "));
	EXPECT_STREQ("", r.err);
	EXPECT_EQ(0, cli(&r, "info", "--help"));
	EXPECT_TRUE(starts_with(r.out, "Usage: shmipc "));
	EXPECT_EQ(0, cli(&r, "--version"));
	EXPECT_TRUE(starts_with(r.out, "shmipc "));
}

/* Module: what the caller may not read is not listed; portable: the
 * file shows, its contents do not (see the help). */
TEST_F(cli, permissions)
{
	const char *x = extra_name(self, "cliperm");
	struct shmipc_region *r2;
	const struct jnode *e;
	struct jnode *doc;
	struct cli_run r;
	bool root = geteuid() == 0;
	uid_t as = root ? UID_OTHER : (uid_t)-1;

	/* root reads anything: read it as another uid; else, mode 0 */
	ASSERT_EQ(0, shmipc_region_open(x, 8192, root ? 0600 : 0,
					SHMIPC_REGION_CREATE |
					SHMIPC_REGION_PERSISTENT, &r2));
	EXPECT_EQ(1, cli_run_as(&r, as, CLI_ARGS("info", x)));
	EXPECT_STREQ(fmt("shmipc: cannot open '%s': Permission denied\n", x),
		     r.err);
	EXPECT_EQ(1, cli_run_as(&r, as, CLI_ARGS("watch", x)));
	EXPECT_EQ(0, cli_run_as(&r, as, CLI_ARGS("--json", "ls")));
	doc = parse_out(_metadata, &r);
	e = json_find(json_get(doc, "regions"), "name", x);
	if (self->module) {
		EXPECT_EQ(NULL, e);
	} else {
		ASSERT_NE(NULL, e);
		EXPECT_EQ(8192, json_num(e, "size"));
		EXPECT_TRUE(json_is_null(e, "peers"));
	}
	json_free(doc);
	EXPECT_EQ(0, shmipc_region_close(r2));
}

/* ------------------------------------------------------------------ */
/* rm */

TEST_F(cli, rm_removes)
{
	const char *a = closed_region(_metadata, self, "clirma");
	const char *b = closed_region(_metadata, self, "clirmb");
	struct shmipc_region *r2;
	char missing[64];
	struct cli_run r;

	lt_name(missing, sizeof(missing), "nosuch");

	EXPECT_EQ(0, cli(&r, "rm", a));
	EXPECT_STREQ("", r.out);
	EXPECT_STREQ("", r.err);
	EXPECT_EQ(1, cli(&r, "info", a));
	EXPECT_EQ(-ENOENT, shmipc_region_open(a, 0, 0, 0, &r2));

	/* one missing: the others are removed, the status says failure */
	EXPECT_EQ(1, cli(&r, "rm", missing, b));
	EXPECT_STREQ(fmt("shmipc: cannot remove '%s': No such file or "
			 "directory\n", missing), r.err);
	EXPECT_EQ(-ENOENT, shmipc_region_open(b, 0, 0, 0, &r2));
}

TEST_F(cli, rm_json)
{
	const char *a = closed_region(_metadata, self, "clirmj");
	const struct jnode *res, *e;
	char missing[64];
	struct jnode *doc;
	struct cli_run r;

	lt_name(missing, sizeof(missing), "nosuch");
	EXPECT_EQ(1, cli(&r, "--json", "rm", a, missing));
	doc = parse_out(_metadata, &r);
	res = json_get(doc, "results");
	ASSERT_EQ(2, json_len(res));
	e = json_at(res, 0);
	EXPECT_STREQ(a, json_str(e, "name"));
	EXPECT_EQ(1, json_bool_of(e, "removed"));
	EXPECT_TRUE(json_is_null(e, "error"));
	e = json_at(res, 1);
	EXPECT_STREQ(missing, json_str(e, "name"));
	EXPECT_EQ(0, json_bool_of(e, "removed"));
	EXPECT_STREQ("No such file or directory", json_str(e, "error"));
	json_free(doc);
}

/* Module: --destroy tears down a region still held; portable: refused. */
TEST_F(cli, rm_destroy)
{
	const struct jnode *e, *flags;
	struct jnode *doc;
	struct cli_run r;

	if (!self->module) {
		EXPECT_EQ(1, cli(&r, "rm", "--destroy", self->name));
		EXPECT_STREQ(fmt("shmipc: cannot destroy '%s': Operation not "
				 "supported\n", self->name), r.err);
		e = ls_entry(_metadata, self->name, &doc);
		EXPECT_NE(NULL, e);
		json_free(doc);
		return;
	}
	EXPECT_EQ(0, cli(&r, "rm", "--destroy", self->name));
	EXPECT_STREQ("", r.err);
	/* still held by us: listed, flagged */
	e = ls_entry(_metadata, self->name, &doc);
	ASSERT_NE(NULL, e);
	flags = json_get(e, "flags");
	ASSERT_EQ(2, json_len(flags));
	EXPECT_STREQ("unlinked", json_at(flags, 0)->str);
	EXPECT_STREQ("destroyed", json_at(flags, 1)->str);
	json_free(doc);
	EXPECT_EQ(1, cli(&r, "info", self->name));
}

/* ------------------------------------------------------------------ */
/* watch */

/* Start `watch` with @args and wait for its status line. */
static void watch_start(struct __test_metadata *_metadata, struct cli_bg *b,
			const char *const *args, const char *name)
{
	char line[512];

	ASSERT_EQ(0, cli_bg_start(b, args));
	ASSERT_EQ(0, cli_bg_line(b, 1, line, sizeof(line), LT_SOON_MS))
		TH_LOG("no status line");
	ASSERT_STREQ(fmt("shmipc: watching '%s' (%s backend)", name,
			 shmipc_backend_name(shmipc_backend())), line);
}

TEST_F(cli, watch_text)
{
	uint64_t a = 0, k = 0;
	char line[512];
	struct cli_bg b;
	int go[2];
	pid_t pa, pk;

	watch_start(_metadata, &b, CLI_ARGS("watch", "--count", "4",
					    "--timeout", "60", self->name),
		    self->name);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pa = fork_peer(self->name, false, go[0], &a);
	ASSERT_LT(0, pa);
	ASSERT_EQ(0, cli_bg_line(&b, 0, line, sizeof(line), LT_SOON_MS));
	EXPECT_TRUE(words_eq(line, fmt("JOIN peer %llu pid %d",
				       (unsigned long long)a, pa)))
		TH_LOG("%s", line);
	ASSERT_EQ(0, lt_signal(go[1]));
	ASSERT_EQ(0, lt_reap(pa));
	ASSERT_EQ(0, cli_bg_line(&b, 0, line, sizeof(line), LT_SOON_MS));
	EXPECT_TRUE(words_eq(line, fmt("LEAVE peer %llu pid %d",
				       (unsigned long long)a, pa)))
		TH_LOG("%s", line);

	pk = fork_peer(self->name, true, -1, &k);
	ASSERT_LT(0, pk);
	ASSERT_EQ(0, cli_bg_line(&b, 0, line, sizeof(line), LT_SOON_MS));
	EXPECT_TRUE(words_eq(line, fmt("JOIN peer %llu pid %d",
				       (unsigned long long)k, pk)))
		TH_LOG("%s", line);
	kill(pk, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pk));
	ASSERT_EQ(0, cli_bg_line(&b, 0, line, sizeof(line), LT_SOON_MS));
	EXPECT_TRUE(words_eq(line, fmt("DEATH peer %llu pid %d %s",
				       (unsigned long long)k, pk,
				       self->module ? "killed by SIGKILL" :
						      "unknown")))
		TH_LOG("%s", line);
	/* --count 4: done */
	EXPECT_EQ(-EPIPE, cli_bg_line(&b, 0, line, sizeof(line), LT_SOON_MS));
	EXPECT_EQ(0, cli_bg_wait(&b));
	close(go[0]);
	close(go[1]);
}

/* The next JSON line of @b, parsed: a @type event of peer @id. */
static struct jnode *next_json_event(struct __test_metadata *_metadata,
				     struct cli_bg *b, const char *type,
				     uint64_t id)
{
	struct jnode *ev;
	char line[512];

	ASSERT_EQ(0, cli_bg_line(b, 0, line, sizeof(line), LT_SOON_MS));
	ev = json_parse(line);
	ASSERT_NE(NULL, ev) TH_LOG("%s", line);
	EXPECT_STREQ(type, json_str(ev, "event"));
	EXPECT_EQ((long long)id, json_num(ev, "peer_id"));
	EXPECT_EQ(0, json_bool_of(ev, "replay"));
	return ev;
}

TEST_F(cli, watch_json)
{
	uint64_t a = 0, k = 0;
	struct jnode *ev;
	struct cli_bg b;
	int go[2];
	pid_t pa, pk;

	watch_start(_metadata, &b, CLI_ARGS("--json", "watch", "--count", "4",
					    self->name), self->name);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pa = fork_peer(self->name, false, go[0], &a);
	ASSERT_LT(0, pa);
	ev = next_json_event(_metadata, &b, "join", a);
	EXPECT_EQ(pa, json_num(ev, "pid"));
	EXPECT_LT(0, json_num(ev, "seq"));
	json_free(ev);
	ASSERT_EQ(0, lt_signal(go[1]));
	ASSERT_EQ(0, lt_reap(pa));
	ev = next_json_event(_metadata, &b, "leave", a);
	EXPECT_TRUE(json_is_null(ev, "status"));
	json_free(ev);

	pk = fork_peer(self->name, true, -1, &k);
	ASSERT_LT(0, pk);
	/* its JOIN first: on the portable backend a peer that joins and
	 * dies between two looks at the table shows its DEATH only */
	json_free(next_json_event(_metadata, &b, "join", k));
	kill(pk, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, lt_reap(pk));
	ev = next_json_event(_metadata, &b, "death", k);
	EXPECT_EQ(pk, json_num(ev, "pid"));
	if (self->module) {
		EXPECT_EQ(SIGKILL, json_num(ev, "signal"));
		EXPECT_TRUE(json_is_null(ev, "exit_code"));
	} else {
		EXPECT_TRUE(json_is_null(ev, "signal"));
		EXPECT_TRUE(json_is_null(ev, "status"));
	}
	json_free(ev);
	EXPECT_EQ(0, cli_bg_wait(&b));
	close(go[0]);
	close(go[1]);
}

/* A death from before the watch came first, flagged as such. */
TEST_F(cli, watch_replays_earlier_death)
{
	char line[512];
	struct cli_run r;
	uint64_t k = 0;
	pid_t pk;

	json_free(kill_consumer(_metadata, self->name, &pk, &k));
	EXPECT_EQ(0, cli(&r, "watch", "--count", "1", "--timeout", "30",
			 self->name));
	ASSERT_TRUE(find_line(r.out, "DEATH", line, sizeof(line)));
	EXPECT_TRUE(words_eq(line, fmt("DEATH peer %llu pid %d %s (before "
				       "watch)", (unsigned long long)k, pk,
				       self->module ? "killed by SIGKILL" :
						      "unknown")))
		TH_LOG("%s", line);
}

TEST_F(cli, watch_timeout)
{
	struct cli_run r;

	EXPECT_EQ(0, cli(&r, "watch", "--timeout", "0.2", self->name));
	EXPECT_STREQ("", r.out);
	EXPECT_EQ(1, cli(&r, "watch", "--timeout", "0.1", "--count", "2",
			 self->name));
	EXPECT_STREQ("", r.out);
	EXPECT_NE(NULL, strstr(r.err, fmt("shmipc: watch '%s': timed out "
					  "after 0 of 2 events\n",
					  self->name))) TH_LOG("%s", r.err);
}

/* Module: a destroyed region ends the watch; portable: unlinking one
 * does not (its peers go on). */
TEST_F(cli, watch_ends_when_destroyed)
{
	struct cli_bg b;
	char line[512];
	struct cli_run r;

	watch_start(_metadata, &b, CLI_ARGS("watch", "--timeout", "2",
					    self->name), self->name);
	if (self->module) {
		EXPECT_EQ(0, cli(&r, "rm", "--destroy", self->name));
		ASSERT_EQ(0, cli_bg_line(&b, 0, line, sizeof(line),
					 LT_SOON_MS));
		EXPECT_STREQ("DESTROYED", line);
	} else {
		EXPECT_EQ(0, cli(&r, "rm", self->name));
		EXPECT_EQ(-EPIPE, cli_bg_line(&b, 0, line, sizeof(line),
					      LT_SOON_MS));
	}
	EXPECT_EQ(0, cli_bg_wait(&b));
}

TEST_HARNESS_MAIN
