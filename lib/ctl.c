// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Controller side of the controller/worker protocol (ctl.h): the region
 * with its slot table and request/reply buffers, spawning and reaping
 * workers, transitions (sync and async) and restart.
 *
 * A transition is in flight from its post on the request buffer until
 * one of: its reply is taken (the slot's replies counter moved and the
 * reply buffer holds a message of the right seq), or the worker is seen
 * dead (waitpid of a spawned child; the kernel's or the pid probe's
 * answer for the peer the worker published).  A reply committed before
 * the death wins: it is looked for again after a death is seen.
 *
 * The worker acks a request before it commits the reply, so whether the
 * dead worker had consumed the request tells a restart what to do: an
 * unconsumed request is redelivered to the new worker by the buffer's
 * role takeover; a consumed one (died between its ack and its commit) is
 * posted again.  Either way the new worker gets it once.
 */
#include "ctl_int.h"
#include "introspect_internal.h"

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/shmipc.h>

extern char **environ;

enum ctl_wstate {
	W_FREE = 0,	/* slot not in use */
	W_LIVE,		/* started (or waiting for an attached worker) */
	W_DEAD,		/* seen dead; restart it */
};

struct shmipc_ctl_worker {
	struct shmipc_ctl *ctl;
	unsigned int slot;
	struct ctl_slot *s;
	struct shmipc_growbuf *req;	/* we write requests */
	struct shmipc_growbuf *rep;	/* we read replies */
	char name[SHMIPC_NAME_LEN_MAX + 16];
	char **argv;			/* spawned: a copy; NULL: attached */
	pid_t pid;			/* spawned: our child */
	uint64_t peer;			/* attached: the peer it published */
	enum ctl_wstate state;
	bool in_flight;
	bool pid_only;			/* only waitpid can tell its death */
	bool unreaped;			/* spawned, gone by its leave: reap */
	int status_known;		/* 1: wstatus holds how it died */
	int wstatus;
	/* module: a DEATH event of the peer @ev_peer, read before its
	 * worker was seen dead (the region fd's queue is shared) */
	uint64_t ev_peer;
	int ev_status;
	uint64_t seq;			/* transitions sent */
	uint32_t replies_seen;
	/* the request in flight, kept for a resend */
	unsigned int kind;
	void *req_buf;
	size_t req_len, req_cap;
	/* the last reply */
	void *reply;
	size_t reply_len, reply_cap;
	bool has_reply;
};

struct shmipc_ctl {
	struct shmipc_region *r;
	struct ctl_hdr *h;
	char name[SHMIPC_NAME_LEN_MAX + 1];
	unsigned int nr;
	unsigned int next;		/* poll: where the next scan starts */
	uint64_t max_msg;
	struct shmipc_ctl_worker w[SHMIPC_CTL_WORKERS_MAX];
};

int ctl_hdr_check(const struct ctl_hdr *h, uint64_t size,
		  struct ctl_cfg *cfg)
{
	/* Written once by the creator before its release of the magic,
	 * which the caller acquired; read once each (volatile), as a peer
	 * may rewrite them: only the copies are used. */
	uint32_t nr = *(const volatile uint32_t *)&h->nr_slots;
	uint64_t max = *(const volatile uint64_t *)&h->max_msg;

	if (nr < 1 || nr > SHMIPC_CTL_WORKERS_MAX || size < ctl_obj_size(nr) ||
	    !max || max > CTL_MSG_MAX)
		return -EBADMSG;
	cfg->nr_slots = nr;
	cfg->max_msg = max;
	return 0;
}

int ctl_hdr_open(const struct shmipc_region *r, struct ctl_hdr **out,
		 struct ctl_cfg *cfg)
{
	struct shmipc_obj_hdr *obj;
	uint64_t off, size;
	int ret = shmipc_obj_open(r, CTL_OBJ, CTL_MAGIC, sizeof(**out), &off,
				  &size, &obj);

	if (!ret)
		ret = ctl_hdr_check((struct ctl_hdr *)obj, size, cfg);
	if (!ret)
		*out = (struct ctl_hdr *)obj;
	return ret;
}

/* Room for @len bytes in *@buf (capacity *@cap). */
static int ensure(void **buf, size_t *cap, size_t len)
{
	void *p;

	if (len <= *cap && *buf)
		return 0;
	p = realloc(*buf, len ? len : 1);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = len ? len : 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Removing a dead controller's names */

/* Remove the buffers' names of every slot of @h (portable cleanup). */
static void unlink_buffers(struct shmipc_region *r, unsigned int nr)
{
	char req[16], rep[16];
	unsigned int i;

	for (i = 0; i < nr; i++) {
		ctl_keys(i, req, rep);
		shmipc_growbuf_unlink(r, req);
		shmipc_growbuf_unlink(r, rep);
	}
}

int shmipc_ctl_unlink(const char *name)
{
	struct shmipc_region *r;
	struct ctl_hdr *h;
	struct ctl_cfg cfg;
	uint64_t peer;
	int ret = shmipc_region_open(name, 0, 0, 0, &r);

	if (ret)
		return ret;
	ret = ctl_hdr_open(r, &h, &cfg);
	if (!ret) {
		/* Relaxed: published with the magic, which was acquired. */
		peer = atomic_load_explicit(&h->ctl_peer,
					    memory_order_relaxed);
		if (peer && r->ops->peer_alive(r, peer) == 1)
			ret = -EBUSY;
		else
			unlink_buffers(r, cfg.nr_slots);
	}
	shmipc_region_close(r);
	if (ret)
		return ret;
	return shmipc_region_unlink(name);
}

/* ------------------------------------------------------------------ */
/* Create / destroy */

static int open_slot(struct shmipc_ctl *ctl, unsigned int i)
{
	struct shmipc_ctl_worker *w = &ctl->w[i];
	char req[16], rep[16];
	uint64_t max = ctl->max_msg + sizeof(struct ctl_msg);
	uint64_t first = max < CTL_INITIAL ? max : CTL_INITIAL;
	int ret;

	w->ctl = ctl;
	w->slot = i;
	w->s = &ctl->h->slots[i];
	snprintf(w->name, sizeof(w->name), "%s/%u", ctl->name, i);
	ctl_keys(i, req, rep);
	ret = shmipc_growbuf_create(ctl->r, req, first, max);
	if (!ret)
		ret = shmipc_growbuf_create(ctl->r, rep, first, max);
	if (!ret)
		ret = shmipc_growbuf_open(ctl->r, req, SHMIPC_PRODUCER, &w->req);
	if (!ret)
		ret = shmipc_growbuf_open(ctl->r, rep, SHMIPC_CONSUMER, &w->rep);
	return ret;
}

static void free_worker(struct shmipc_ctl_worker *w)
{
	char **a;

	shmipc_growbuf_close(w->req);
	shmipc_growbuf_close(w->rep);
	for (a = w->argv; a && *a; a++)
		free(*a);
	free(w->argv);
	free(w->req_buf);
	free(w->reply);
	w->req = w->rep = NULL;
	w->argv = NULL;
}

static int create_once(const char *name, unsigned int nr, uint64_t max_msg,
		       struct shmipc_ctl *ctl)
{
	struct shmipc_obj_hdr *obj;
	uint64_t off;
	unsigned int i;
	int ret = shmipc_region_open(name, CTL_REGION_SIZE, 0600,
				     SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL,
				     &ctl->r);

	if (ret)
		return ret;
	ret = shmipc_obj_create(ctl->r, CTL_OBJ, ctl_obj_size(nr),
				sizeof(struct ctl_hdr), &off, &obj);
	if (ret)
		return ret;
	ctl->h = (struct ctl_hdr *)obj;
	ctl->h->nr_slots = nr;
	ctl->h->max_msg = max_msg;
	/* Relaxed: published by the release of the magic below. */
	atomic_store_explicit(&ctl->h->ctl_peer,
			      shmipc_region_peer_id(ctl->r),
			      memory_order_relaxed);
	shmipc_obj_publish(&ctl->h->obj, CTL_MAGIC);
	for (i = 0; i < nr; i++) {
		ret = open_slot(ctl, i);
		if (ret)
			return ret;
	}
	return 0;
}

static void teardown(struct shmipc_ctl *ctl, bool unlink)
{
	unsigned int i;

	for (i = 0; i < SHMIPC_CTL_WORKERS_MAX; i++)
		free_worker(&ctl->w[i]);
	if (ctl->r && unlink && ctl->h)
		unlink_buffers(ctl->r, ctl->nr);
	shmipc_region_close(ctl->r);
	if (ctl->r && unlink)
		shmipc_region_unlink(ctl->name);
	ctl->r = NULL;
}

int shmipc_ctl_create(const char *name, unsigned int nr_workers,
		      uint64_t max_msg, struct shmipc_ctl **out)
{
	struct shmipc_ctl *ctl;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!name || nr_workers < 1 || nr_workers > SHMIPC_CTL_WORKERS_MAX ||
	    !max_msg || max_msg > CTL_MSG_MAX)
		return -EINVAL;
	ret = shmipc_check_name(name);
	if (ret)
		return ret;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	snprintf(ctl->name, sizeof(ctl->name), "%s", name);
	ctl->nr = nr_workers;
	ctl->max_msg = max_msg;
	ret = create_once(name, nr_workers, max_msg, ctl);
	/* A dead controller's region (portable: names outlive crashes). */
	if (ret == -EEXIST && !shmipc_ctl_unlink(name))
		ret = create_once(name, nr_workers, max_msg, ctl);
	if (ret) {
		teardown(ctl, ret != -EEXIST);
		free(ctl);
		return ret;
	}
	*out = ctl;
	return 0;
}

/* Reap child @w within @ms; 0 when reaped. */
static int reap_within(struct shmipc_ctl_worker *w, unsigned int ms)
{
	uint64_t end = shmipc_deadline_in((uint64_t)ms * 1000000ULL);
	struct timespec ts = { 0, 1000000 };
	int st;

	for (;;) {
		pid_t p = waitpid(w->pid, &st, WNOHANG);

		if (p == w->pid || (p < 0 && errno == ECHILD)) {
			w->state = W_DEAD;
			return 0;
		}
		if (shmipc_now_ns() >= end)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
}

/* Reap our running child @w: SHMIPC_CTL_GRACE_MS to exit, then SIGKILL. */
static void reap_or_kill(struct shmipc_ctl_worker *w)
{
	if (reap_within(w, SHMIPC_CTL_GRACE_MS)) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
		w->state = W_DEAD;
	}
	w->unreaped = false;
}

int shmipc_ctl_destroy(struct shmipc_ctl *ctl)
{
	unsigned int i;

	if (!ctl)
		return 0;
	/* Closing our ends tells every waiting worker (-EPIPE). */
	for (i = 0; i < ctl->nr; i++) {
		shmipc_growbuf_close(ctl->w[i].req);
		shmipc_growbuf_close(ctl->w[i].rep);
		ctl->w[i].req = ctl->w[i].rep = NULL;
	}
	for (i = 0; i < ctl->nr; i++) {
		struct shmipc_ctl_worker *w = &ctl->w[i];

		if (w->argv && (w->state == W_LIVE || w->unreaped))
			reap_or_kill(w);
	}
	teardown(ctl, true);
	free(ctl);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Starting workers */

static struct shmipc_ctl_worker *slot_of(struct shmipc_ctl *ctl,
					 unsigned int slot)
{
	if (!ctl || slot >= ctl->nr)
		return NULL;
	return &ctl->w[slot];
}

static void drain_events(struct shmipc_ctl *ctl);
static int check_dead(struct shmipc_ctl_worker *w);

/* Forget the slot's last worker in shared memory (its death events are
 * filed first): before the next one can start and publish itself. */
static void clear_slot(struct shmipc_ctl_worker *w)
{
	drain_events(w->ctl);
	/* Relaxed: the next worker starts after this (our spawn, or an
	 * open that the caller allows only from now on); the dead one
	 * cannot write. */
	atomic_store_explicit(&w->s->peer, 0, memory_order_relaxed);
	atomic_store_explicit(&w->s->pid, 0, memory_order_relaxed);
}

/* A fresh incarnation: nothing known of the slot's worker. */
static void reset_worker(struct shmipc_ctl_worker *w)
{
	w->state = W_LIVE;
	w->status_known = 0;
	w->pid_only = false;
	w->unreaped = false;
	w->ev_peer = 0;
	w->peer = 0;
	w->pid = 0;
}

static int do_spawn(struct shmipc_ctl_worker *w)
{
	char env_var[sizeof(SHMIPC_CTL_ENV) + sizeof(w->name) + 1];
	size_t n = 0, i, len = strlen(SHMIPC_CTL_ENV);
	char **envp;
	pid_t pid;
	int ret;

	while (environ && environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	snprintf(env_var, sizeof(env_var), "%s=%s", SHMIPC_CTL_ENV, w->name);
	envp[0] = env_var;
	for (i = 0, n = 1; environ && environ[i]; i++)
		if (strncmp(environ[i], SHMIPC_CTL_ENV, len) ||
		    environ[i][len] != '=')
			envp[n++] = environ[i];
	/* Before the spawn: the child may publish its peer before
	 * posix_spawnp() returns. */
	clear_slot(w);
	ret = posix_spawnp(&pid, w->argv[0], NULL, NULL, w->argv, envp);
	free(envp);
	if (ret)
		return -ret;
	reset_worker(w);
	w->pid = pid;
	return 0;
}

int shmipc_ctl_spawn(struct shmipc_ctl *ctl, unsigned int slot,
		     char *const argv[], struct shmipc_ctl_worker **out)
{
	struct shmipc_ctl_worker *w = slot_of(ctl, slot);
	size_t n = 0, i;
	int ret;

	if (!w || !argv || !argv[0] || !out)
		return -EINVAL;
	if (w->state != W_FREE)
		return -EBUSY;
	while (argv[n])
		n++;
	w->argv = calloc(n + 1, sizeof(*w->argv));
	for (i = 0; w->argv && i < n; i++)
		if (!(w->argv[i] = strdup(argv[i])))
			break;
	ret = w->argv && i == n ? do_spawn(w) : -ENOMEM;
	if (ret) {
		for (i = 0; w->argv && w->argv[i]; i++)
			free(w->argv[i]);
		free(w->argv);
		w->argv = NULL;
		return ret;
	}
	*out = w;
	return 0;
}

int shmipc_ctl_attach(struct shmipc_ctl *ctl, unsigned int slot,
		      struct shmipc_ctl_worker **out)
{
	struct shmipc_ctl_worker *w = slot_of(ctl, slot);

	if (!w || !out)
		return -EINVAL;
	if (w->state != W_FREE)
		return -EBUSY;
	clear_slot(w);
	reset_worker(w);
	*out = w;
	return 0;
}

const char *shmipc_ctl_worker_name(const struct shmipc_ctl_worker *w)
{
	return w ? w->name : NULL;
}

unsigned int shmipc_ctl_worker_slot(const struct shmipc_ctl_worker *w)
{
	return w ? w->slot : 0;
}

pid_t shmipc_ctl_worker_pid(const struct shmipc_ctl_worker *w)
{
	if (!w)
		return 0;
	if (w->argv)
		return w->pid;
	/* Relaxed: information only. */
	return (pid_t)atomic_load_explicit(&w->s->pid, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Sending */

/* Post the saved request of @w (seq w->seq) on its request buffer. */
static int post(struct shmipc_ctl_worker *w)
{
	struct ctl_msg m = { .kind = w->kind, .flags = 0, .seq = w->seq };
	void *p;
	/* The previous request was acked before its reply came: no wait. */
	int ret = shmipc_growbuf_reserve(w->req, sizeof(m) + w->req_len, &p,
					 shmipc_now_ns());

	if (ret)
		return ret;
	memcpy(p, &m, sizeof(m));
	if (w->req_len)
		memcpy((char *)p + sizeof(m), w->req_buf, w->req_len);
	return shmipc_growbuf_commit(w->req, sizeof(m) + w->req_len);
}

int shmipc_ctl_send_async(struct shmipc_ctl_worker *w, unsigned int kind,
			  const void *payload, size_t len)
{
	int ret;

	if (!w || !w->ctl || kind < 1 || kind > SHMIPC_CTL_KIND_MAX ||
	    (!payload && len))
		return -EINVAL;
	if (len > w->ctl->max_msg)
		return -EMSGSIZE;
	if (w->state == W_FREE)
		return -EINVAL;
	if (w->state == W_DEAD)
		return -EOWNERDEAD;
	if (w->in_flight)
		return -EBUSY;
	ret = ensure(&w->req_buf, &w->req_cap, len);
	if (ret)
		return ret;
	if (len)
		memcpy(w->req_buf, payload, len);
	w->req_len = len;
	w->kind = kind;
	w->has_reply = false;
	w->seq++;
	ret = post(w);
	if (ret == -ETIMEDOUT)		/* a request never acked: a liar */
		ret = -EBADMSG;
	if (ret == -EOWNERDEAD || ret == -EPIPE) {
		/* It went without taking its last request (which only a
		 * worker that broke the protocol leaves behind). */
		if (check_dead(w))
			w->state = W_DEAD;
		ret = w->state == W_DEAD ? -EOWNERDEAD : -EBADMSG;
	}
	if (ret) {
		w->seq--;
		return ret;
	}
	shmipc_test_kill_point(SHMIPC_KP_CTL_POSTED);
	w->in_flight = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Collecting */

/*
 * Take @w's reply if one was committed: 1 taken, 0 none (yet), or
 * -EBADMSG (a reply that is not one: dropped).  The replies counter says
 * when to look; @force looks anyway (after a death: a worker may die
 * between its commit and its count).
 */
static int take_reply(struct shmipc_ctl_worker *w, bool force)
{
	struct ctl_msg m;
	const void *p;
	uint64_t len;
	/* Acquire: the worker's commit precedes its bump of replies. */
	uint32_t n = atomic_load_explicit(&w->s->replies,
					  memory_order_acquire);
	int ret;

	if (n == w->replies_seen && !force)
		return 0;
	/* A passed deadline: one look, no sleep. */
	ret = shmipc_growbuf_read(w->rep, &p, &len, 0);
	if (ret == -ETIMEDOUT || ret == -EOWNERDEAD || ret == -EPIPE)
		return 0;	/* not there (lost with a dead worker) */
	if (ret)
		return ret;
	w->replies_seen = n;
	if (len < sizeof(m) || len - sizeof(m) > w->ctl->max_msg) {
		shmipc_growbuf_ack(w->rep);
		return -EBADMSG;
	}
	memcpy(&m, p, sizeof(m));
	if (m.seq != w->seq || m.kind != w->kind || m.flags) {
		shmipc_growbuf_ack(w->rep);
		return -EBADMSG;
	}
	len -= sizeof(m);
	ret = ensure(&w->reply, &w->reply_cap, len);
	if (!ret && len)
		memcpy(w->reply, (const char *)p + sizeof(m), len);
	shmipc_growbuf_ack(w->rep);
	if (ret)
		return ret;
	w->reply_len = len;
	w->has_reply = true;
	return 1;
}

/* The worker of @ctl whose slot names peer @peer (a dead one's stays
 * until its restart), or NULL. */
static struct shmipc_ctl_worker *worker_of_peer(struct shmipc_ctl *ctl,
						 uint64_t peer)
{
	unsigned int i;

	for (i = 0; peer && i < ctl->nr; i++)
		/* Relaxed: a lookup key; a lie only misfiles a status. */
		if (atomic_load_explicit(&ctl->w[i].s->peer,
					 memory_order_relaxed) == peer)
			return &ctl->w[i];
	return NULL;
}

/*
 * Module: read the region's pending events (never blocks), keeping each
 * DEATH's status with the worker whose peer died, for attached workers
 * (not our children: the kernel's event is how we learn how they died).
 * Called at every start of a worker too, so the queue (which drops the
 * newest events when full) never fills with JOINs.
 */
static void drain_events(struct shmipc_ctl *ctl)
{
	struct shmipc_region *r = ctl->r;
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	struct shmipc_event ev;

	if (r->ops->kind != SHMIPC_BACKEND_MODULE)
		return;
	while (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) &&
	       read(r->fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev)) {
		struct shmipc_ctl_worker *w;

		if (ev.type != SHMIPC_EVENT_DEATH)
			continue;
		w = worker_of_peer(ctl, ev.peer_id);
		if (w) {
			w->ev_peer = ev.peer_id;
			w->ev_status = (int)ev.status;
		}
	}
}

/*
 * Did @w close its buffers' ends (shmipc_worker_close())?  Only once it
 * published its peer (@peer): its ends are then its own, while a
 * predecessor's stay CLOSED until the new worker takes them over.
 */
static bool worker_left(struct shmipc_ctl_worker *w, uint64_t peer)
{
	return peer && (shmipc_growbuf_other_closed(w->req) ||
			shmipc_growbuf_other_closed(w->rep));
}

/*
 * Is @w gone (dead, or left)?  1 yes (status recorded if known), 0 not
 * as far as seen.  A worker that left counts from its close on, before
 * it detaches: it rings the bell between the two, and a controller woken
 * by that ring must not see a live peer and sleep again, as nothing else
 * wakes it (module: a clean leave wakes only waiters naming the peer; a
 * spawned worker's exit after it detached is no peer death).
 * w->pid_only: a spawned worker whose death only waitpid can show (it
 * never published its peer, or its peer looks gone but the child is not
 * a zombie yet): the caller polls it in slices.
 */
static int check_dead(struct shmipc_ctl_worker *w)
{
	struct shmipc_region *r = w->ctl->r;
	/* Acquire: pairs with the worker's release of its peer id (so the
	 * ends read after it are at least the ones it took). */
	uint64_t peer = atomic_load_explicit(&w->s->peer,
					     memory_order_acquire);
	bool left = worker_left(w, peer);
	int alive = peer && !left ? r->ops->peer_alive(r, peer) : 1;
	int st;

	if (w->argv) {
		/* Our child: waitpid is the truth; the peer (which the
		 * worker wrote) is only a hint, never a reason to block. */
		pid_t p = waitpid(w->pid, &st, WNOHANG);

		w->pid_only = !peer || alive != 1;
		if (p == w->pid) {
			w->wstatus = st;
			w->status_known = 1;
			return 1;
		}
		/* Left but still running: reaped by a restart, a kill or
		 * the destroy. */
		w->unreaped = left;
		return left;
	}
	if (alive == 1 && !left)
		return 0;
	w->peer = peer;
	drain_events(w->ctl);
	if (w->ev_peer && w->ev_peer == peer) {
		w->wstatus = w->ev_status;
		w->status_known = 1;
	}
	return 1;
}

/* The end of @w's transition, if it came: 1 / -errno, or 0. */
static int check_worker(struct shmipc_ctl_worker *w)
{
	int ret = take_reply(w, false);

	if (ret)
		return ret;
	if (!check_dead(w))
		return 0;
	w->state = W_DEAD;
	/* A reply committed before the death still counts, counted or
	 * not. */
	ret = take_reply(w, true);
	if (ret == 1)
		return 1;
	return ret ? ret : -EOWNERDEAD;
}

/*
 * Wait until @deadline_ns for a transition in flight (on @only, or on
 * any worker) to end: its worker in *@who; 0, -EOWNERDEAD, -EBADMSG,
 * -ETIMEDOUT, -ECHILD (nothing in flight).
 */
static int wait_any(struct shmipc_ctl *ctl, struct shmipc_ctl_worker *only,
		    struct shmipc_ctl_worker **who, uint64_t deadline_ns)
{
	struct ctl_hdr *h = ctl->h;

	for (;;) {
		uint32_t s = shmipc_sleep_arm(&h->bell_waiting, &h->bell);
		uint64_t until = deadline_ns;
		bool any = false, pid_only = false;
		unsigned int k;
		int ret;

		for (k = 0; k < ctl->nr; k++) {
			unsigned int i = (ctl->next + k) % ctl->nr;
			struct shmipc_ctl_worker *w = &ctl->w[i];

			if ((only && w != only) || !w->in_flight ||
			    w->state != W_LIVE)
				continue;
			any = true;
			ret = check_worker(w);
			if (ret) {
				/* Relaxed: not sleeping after all. */
				atomic_store_explicit(&h->bell_waiting, 0,
						      memory_order_relaxed);
				if (ret != -EOWNERDEAD)
					w->in_flight = false;
				ctl->next = i + 1;
				*who = w;
				return ret < 0 ? ret : 0;
			}
			pid_only |= w->argv && w->pid_only;
		}
		if (!any || shmipc_now_ns() >= deadline_ns) {
			atomic_store_explicit(&h->bell_waiting, 0,
					      memory_order_relaxed);
			return any ? -ETIMEDOUT : -ECHILD;
		}
		/* No wake comes for a death only waitpid shows: slices. */
		if (pid_only) {
			uint64_t slice = shmipc_deadline_in(
				SHMIPC_PORTABLE_SLICE_MS * 1000000ULL);

			if (slice < until)
				until = slice;
		}
		/* Module: also woken when any peer of the region dies; a
		 * worker that leaves rings the bell. */
		ret = ctl->r->ops->wait(ctl->r, &h->bell, s, until, 0);
		atomic_store_explicit(&h->bell_waiting, 0,
				      memory_order_relaxed);
		if (shmipc_wait_fatal(ret))
			return ret;
	}
}

static void give_reply(const struct shmipc_ctl_worker *w, const void **reply,
		       size_t *reply_len)
{
	if (reply)
		*reply = w->has_reply ? w->reply : NULL;
	if (reply_len)
		*reply_len = w->has_reply ? w->reply_len : 0;
}

int shmipc_ctl_wait(struct shmipc_ctl_worker *w, const void **reply,
		    size_t *reply_len, uint64_t deadline_ns)
{
	struct shmipc_ctl_worker *who;
	int ret;

	if (!w || !w->ctl || w->state == W_FREE)
		return -EINVAL;
	if (!w->in_flight)
		return -EALREADY;
	if (w->state == W_DEAD)
		return -EOWNERDEAD;
	ret = wait_any(w->ctl, w, &who, deadline_ns);
	if (ret == -ECHILD)
		ret = -EALREADY;
	give_reply(w, reply, reply_len);
	return ret;
}

int shmipc_ctl_transition(struct shmipc_ctl_worker *w, unsigned int kind,
			  const void *payload, size_t len,
			  const void **reply, size_t *reply_len,
			  uint64_t deadline_ns)
{
	int ret = shmipc_ctl_send_async(w, kind, payload, len);

	if (ret)
		return ret;
	return shmipc_ctl_wait(w, reply, reply_len, deadline_ns);
}

int shmipc_ctl_poll(struct shmipc_ctl *ctl, struct shmipc_ctl_worker **who,
		    uint64_t deadline_ns)
{
	if (!ctl || !who)
		return -EINVAL;
	*who = NULL;
	return wait_any(ctl, NULL, who, deadline_ns);
}

int shmipc_ctl_reply(const struct shmipc_ctl_worker *w, const void **reply,
		     size_t *reply_len)
{
	if (!w || !reply || !reply_len)
		return -EINVAL;
	give_reply(w, reply, reply_len);
	return 0;
}

int shmipc_ctl_worker_status(const struct shmipc_ctl_worker *w, int *wstatus)
{
	if (!w || !wstatus || w->state == W_FREE)
		return -EINVAL;
	if (w->state != W_DEAD)
		return -EAGAIN;
	if (!w->status_known)
		return -ENODATA;
	*wstatus = w->wstatus;
	return 0;
}

int shmipc_ctl_kill(struct shmipc_ctl_worker *w)
{
	if (!w || w->state == W_FREE)
		return -EINVAL;
	if (!w->argv)
		return -EPERM;
	if (w->state == W_DEAD && !w->unreaped)
		return 0;
	/* Our child, not reaped yet: the pid cannot have been reused. */
	return kill(w->pid, SIGKILL) ? -errno : 0;
}

/* Ack whatever the reply buffer holds (one look, no wait). */
static void drop_reply(struct shmipc_ctl_worker *w)
{
	const void *p;
	uint64_t len;

	if (!shmipc_growbuf_read(w->rep, &p, &len, 0))
		shmipc_growbuf_ack(w->rep);
	/* Relaxed: our own bookkeeping of the (dead) worker's count. */
	w->replies_seen = atomic_load_explicit(&w->s->replies,
					       memory_order_relaxed);
}

int shmipc_ctl_restart(struct shmipc_ctl_worker *w, const void **reply,
		       size_t *reply_len, uint64_t deadline_ns)
{
	bool resend = false;
	int ret;

	if (!w || !w->ctl || w->state == W_FREE)
		return -EINVAL;
	if (w->state != W_DEAD)
		return -EBUSY;
	/* Did the dead worker consume the request in flight?  Acked: post
	 * it again; not acked: its buffer hands it to the new reader. */
	if (w->in_flight)
		resend = !shmipc_growbuf_wait_ack(w->req, 0);
	/* A reply the dead one left (not of the transition in flight: that
	 * one was taken when the death was seen) would stall the new
	 * worker's first reply: drop it. */
	drop_reply(w);
	w->has_reply = false;
	if (w->argv) {
		if (w->unreaped)
			reap_or_kill(w);	/* the one that left */
		ret = do_spawn(w);
		if (ret)
			return ret;
	} else {
		clear_slot(w);
		reset_worker(w);
	}
	if (resend) {
		ret = post(w);
		if (ret)
			return ret == -EPIPE ? -EOWNERDEAD : ret;
	}
	if (!w->in_flight) {
		give_reply(w, reply, reply_len);
		return 0;
	}
	return shmipc_ctl_wait(w, reply, reply_len, deadline_ns);
}

/* ------------------------------------------------------------------ */
/* Introspection (only reads: the mapping may be read-only) */

/* "alive" / "dead" for peer @peer of @r (0: "none"). */
static const char *peer_state(const struct shmipc_region *r, uint64_t peer)
{
	if (!peer)
		return "none";
	return r->ops->peer_alive(r, peer) == 1 ? "alive" : "dead";
}

int shmipc_ctl_describe(struct shmipc_region *r, uint64_t off, uint64_t size,
			struct shmipc_object_stat *st)
{
	struct ctl_hdr *h = shmipc_region_ptr(r, off, sizeof(*h));
	struct ctl_cfg cfg;
	size_t n;
	unsigned int i;

	if (!h || size < sizeof(*h) ||
	    atomic_load_explicit(&h->obj.magic, memory_order_acquire) !=
	    CTL_MAGIC)
		return 0;
	if (h->obj.version != SHMIPC_LIB_VERSION ||
	    h->obj.hdr_size != sizeof(*h) || ctl_hdr_check(h, size, &cfg)) {
		st->flags |= SHMIPC_OBJECT_CORRUPT;
		return 1;
	}
	/* Relaxed: peer ids and pids for display. */
	n = (size_t)snprintf(st->detail, sizeof(st->detail),
			     "controller %s; workers %u:",
			     peer_state(r, atomic_load_explicit(
				     &h->ctl_peer, memory_order_relaxed)),
			     cfg.nr_slots);
	for (i = 0; i < cfg.nr_slots && n < sizeof(st->detail); i++) {
		uint64_t peer = atomic_load_explicit(&h->slots[i].peer,
						     memory_order_relaxed);
		uint32_t pid = atomic_load_explicit(&h->slots[i].pid,
						    memory_order_relaxed);

		const char *sep = i + 1 < cfg.nr_slots ? "," : "";

		if (peer)
			n += (size_t)snprintf(st->detail + n,
					      sizeof(st->detail) - n,
					      " %u %s pid %u%s", i,
					      peer_state(r, peer), pid, sep);
		else
			n += (size_t)snprintf(st->detail + n,
					      sizeof(st->detail) - n,
					      " %u none%s", i, sep);
	}
	return 1;
}
