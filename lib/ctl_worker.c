// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Worker side of the controller/worker protocol (ctl.h): open a slot of
 * a controller's region, take requests, reply.  The request buffer is
 * read in place; a request is acked before its reply is committed (see
 * ctl.c for why), and the reply is followed by a bump of the slot's
 * replies counter and a ring of the controller's doorbell.
 */
#include "ctl_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct shmipc_worker {
	struct shmipc_region *r;
	struct ctl_hdr *h;
	struct ctl_slot *s;
	struct shmipc_growbuf *req;	/* we read requests */
	struct shmipc_growbuf *rep;	/* we write replies */
	char name[SHMIPC_NAME_LEN_MAX + 1];	/* the controller's region */
	uint64_t max_msg;
	unsigned int slot;
	bool holding;			/* a request taken, not replied */
	bool controller_died;		/* we saw it (-EOWNERDEAD) */
	struct ctl_msg cur;
};

/* "<region>/<slot>" into @name and *@slot. */
static int parse_spec(const char *spec, char name[SHMIPC_NAME_LEN_MAX + 1],
		      unsigned int *slot)
{
	const char *sl = strrchr(spec, '/');
	size_t n = sl ? (size_t)(sl - spec) : 0;
	unsigned long v = 0;
	const char *d;

	if (!sl || !n || n > SHMIPC_NAME_LEN_MAX || !sl[1] || strlen(sl) > 4)
		return -EINVAL;
	for (d = sl + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*d - '0');
	}
	memcpy(name, spec, n);
	name[n] = '\0';
	*slot = (unsigned int)v;
	return shmipc_check_name(name);
}

int shmipc_worker_open(const char *spec, struct shmipc_worker **out)
{
	char name[SHMIPC_NAME_LEN_MAX + 1], req[16], rep[16];
	struct shmipc_worker *w;
	struct ctl_cfg cfg;
	unsigned int slot;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!spec)
		spec = getenv(SHMIPC_CTL_ENV);
	if (!spec)
		return -ENOENT;
	ret = parse_spec(spec, name, &slot);
	if (ret)
		return ret;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	memcpy(w->name, name, sizeof(w->name));
	ret = shmipc_region_open(name, 0, 0, 0, &w->r);
	if (!ret)
		ret = ctl_hdr_open(w->r, &w->h, &cfg);
	if (!ret && slot >= cfg.nr_slots)
		ret = -ERANGE;
	if (!ret) {
		w->s = &w->h->slots[slot];
		w->slot = slot;
		w->max_msg = cfg.max_msg;
		ctl_keys(slot, req, rep);
		ret = shmipc_growbuf_open(w->r, req, SHMIPC_CONSUMER, &w->req);
	}
	if (!ret)
		ret = shmipc_growbuf_open(w->r, rep, SHMIPC_PRODUCER, &w->rep);
	if (ret) {
		shmipc_worker_close(w);
		return ret;
	}
	/* Relaxed: information only. */
	atomic_store_explicit(&w->s->pid, (uint32_t)getpid(),
			      memory_order_relaxed);
	/* Release: the controller that sees our id sees us attached. */
	atomic_store_explicit(&w->s->peer, shmipc_region_peer_id(w->r),
			      memory_order_release);
	*out = w;
	return 0;
}

int shmipc_worker_close(struct shmipc_worker *w)
{
	char req[16], rep[16];

	if (!w)
		return 0;
	shmipc_growbuf_close(w->req);
	shmipc_growbuf_close(w->rep);
	/* Ring after the ends are CLOSED (the controller counts that as our
	 * leave): nothing else wakes a controller asleep on the bell, as the
	 * module tells a clean detach only to waiters naming our peer.
	 * Forced: a close is rare, so a wake nobody needed costs nothing
	 * that matters, and the wake does not rest on the waiter flag. */
	if (w->h)
		shmipc_wake_sleepers(w->r, &w->h->bell_waiting, &w->h->bell,
				     1, true);
	/* Portable: our buffers' names may postdate the removal of the dead
	 * controller's names by another worker (a reply we were building
	 * then); nobody reads them now, and our mapping still finds them. */
	if (w->controller_died && w->r->ops->kind == SHMIPC_BACKEND_PORTABLE) {
		ctl_keys(w->slot, req, rep);
		shmipc_growbuf_unlink(w->r, req);
		shmipc_growbuf_unlink(w->r, rep);
	}
	shmipc_region_close(w->r);
	free(w);
	return 0;
}

int shmipc_worker_next(struct shmipc_worker *w, unsigned int *kind,
		       const void **payload, size_t *len,
		       uint64_t deadline_ns)
{
	const void *p;
	uint64_t n;
	int ret;

	if (!w || !kind || !payload || !len)
		return -EINVAL;
	if (w->holding)
		return -EBUSY;
	ret = shmipc_growbuf_read(w->req, &p, &n, deadline_ns);
	/* Portable: the dead controller's names outlive it; the first of
	 * its workers to see the death removes them (it checks that the
	 * controller is dead), so nothing is left once they exit. */
	if (ret == -EOWNERDEAD) {
		w->controller_died = true;
		if (w->r->ops->kind == SHMIPC_BACKEND_PORTABLE)
			shmipc_ctl_unlink(w->name);
	}
	if (ret)
		return ret;
	if (n < sizeof(w->cur) || n - sizeof(w->cur) > w->max_msg) {
		shmipc_growbuf_ack(w->req);
		return -EBADMSG;
	}
	memcpy(&w->cur, p, sizeof(w->cur));
	if (w->cur.kind < 1 || w->cur.kind > SHMIPC_CTL_KIND_MAX ||
	    w->cur.flags) {
		shmipc_growbuf_ack(w->req);
		return -EBADMSG;
	}
	w->holding = true;
	*kind = w->cur.kind;
	*payload = (const char *)p + sizeof(w->cur);
	*len = (size_t)(n - sizeof(w->cur));
	return 0;
}

int shmipc_worker_reply(struct shmipc_worker *w, const void *data,
			size_t len)
{
	uint32_t gen;
	void *p;
	int ret;

	if (!w || !w->holding || (!data && len))
		return -EINVAL;
	if (len > w->max_msg)
		return -EMSGSIZE;
	gen = shmipc_growbuf_generation(w->rep);
	/* The controller took our previous reply before it sent this
	 * request: no wait (a reply still pending breaks the protocol). */
	ret = shmipc_growbuf_reserve(w->rep, sizeof(w->cur) + len, &p,
				     shmipc_now_ns());
	if (ret == -ETIMEDOUT)
		ret = -EBADMSG;
	if (ret == -EOWNERDEAD)
		w->controller_died = true;
	if (ret)
		return ret;
	memcpy(p, &w->cur, sizeof(w->cur));
	if (len)
		memcpy((char *)p + sizeof(w->cur), data, len);
	/* Ack first: a death between the two leaves a consumed request
	 * without reply, which a restart posts again (ctl.c). */
	ret = shmipc_growbuf_ack(w->req);
	w->holding = false;
	shmipc_test_kill_point(SHMIPC_KP_CTL_ACKED);
	if (!ret)
		ret = shmipc_growbuf_commit(w->rep, sizeof(w->cur) + len);
	if (ret)
		return ret;
	shmipc_test_kill_point(SHMIPC_KP_CTL_COMMITTED);
	/* seq_cst: the controller that sees the count sees the commit
	 * (release), and the bump precedes our look at its waiter flag in
	 * shmipc_wake_sleepers() (the Dekker pair with its sleep arm). */
	atomic_fetch_add_explicit(&w->s->replies, 1, memory_order_seq_cst);
	shmipc_wake_sleepers(w->r, &w->h->bell_waiting, &w->h->bell, 1,
			     false);
	/* Module: a new generation dies with us unless the controller has
	 * mapped it: wait until it took the reply. */
	if (w->r->ops->kind == SHMIPC_BACKEND_MODULE &&
	    shmipc_growbuf_generation(w->rep) != gen)
		ret = shmipc_growbuf_wait_ack(w->rep, SHMIPC_FOREVER);
	return ret;
}
