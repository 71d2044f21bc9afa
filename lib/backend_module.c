// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The module backend: /dev/shmipc CREATE/OPEN/UNLINK, region fds, INFO,
 * WAIT/WAKE with a peer id, ATTACH/DETACH.
 *
 * The module allows one peer per process and region (ATTACH on a second
 * fd gives -EBUSY), while the library allows several handles on one
 * region: a process-wide table maps a region id to this process's peer id
 * and counts the handles using it.
 */
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/shmipc.h>

#define DEV_PATH "/dev/shmipc"

static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static int dev_fd = -1;

static int dev_get(void)
{
	int fd;

	pthread_mutex_lock(&dev_lock);
	if (dev_fd < 0)
		dev_fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	fd = dev_fd < 0 ? -errno : dev_fd;
	pthread_mutex_unlock(&dev_lock);
	return fd;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR && req != SHMIPC_IOC_WAIT);
	return ret < 0 ? -errno : ret;
}

static void set_name(char dst[SHMIPC_NAME_MAX], const char *name)
{
	memset(dst, 0, SHMIPC_NAME_MAX);
	memcpy(dst, name, strlen(name));	/* checked: < SHMIPC_NAME_MAX */
}

/* ------------------------------------------------------------------ */
/* Process-wide peer table */

struct peer_ref {
	struct peer_ref *next;
	pid_t pid;		/* entries inherited over fork() are stale */
	uint64_t region_id;
	uint64_t peer_id;
	unsigned int refs;
};

static pthread_mutex_t peers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct peer_ref *peers;

static int region_id(int fd, uint64_t *id)
{
	struct shmipc_info info;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = xioctl(fd, SHMIPC_IOC_INFO, &info);
	if (ret < 0)
		return ret;
	*id = info.id;
	return 0;
}

static int module_attach(struct shmipc_region *r)
{
	struct shmipc_attach a;
	struct peer_ref *p;
	pid_t self = getpid();
	uint64_t id;
	int ret;

	ret = region_id(r->fd, &id);
	if (ret)
		return ret;
	pthread_mutex_lock(&peers_lock);
	for (p = peers; p; p = p->next) {
		if (p->pid == self && p->region_id == id) {
			p->refs++;
			r->peer_id = p->peer_id;
			pthread_mutex_unlock(&peers_lock);
			return 0;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		pthread_mutex_unlock(&peers_lock);
		return -ENOMEM;
	}
	memset(&a, 0, sizeof(a));
	ret = xioctl(r->fd, SHMIPC_IOC_ATTACH, &a);
	if (ret < 0) {
		pthread_mutex_unlock(&peers_lock);
		free(p);
		return ret;
	}
	p->pid = self;
	p->region_id = id;
	p->peer_id = a.peer_id;
	p->refs = 1;
	p->next = peers;
	peers = p;
	r->peer_id = a.peer_id;
	pthread_mutex_unlock(&peers_lock);
	return 0;
}

static void module_detach(struct shmipc_region *r)
{
	struct peer_ref **pp, *p;
	pid_t self = getpid();
	uint64_t id;

	if (region_id(r->fd, &id))
		return;
	pthread_mutex_lock(&peers_lock);
	for (pp = &peers; (p = *pp); pp = &p->next) {
		if (p->pid != self || p->region_id != id)
			continue;
		if (--p->refs == 0) {
			*pp = p->next;
			free(p);
			xioctl(r->fd, SHMIPC_IOC_DETACH, NULL);
		}
		break;
	}
	pthread_mutex_unlock(&peers_lock);
}

/* ------------------------------------------------------------------ */
/* Regions */

/* Does the module know SHMIPC_CREATE_TIED?  Asked once. */
static bool tied_supported(int dev)
{
	/* 0 unknown, 1 yes, 2 no.  Relaxed: every thread computes the same
	 * answer from the same module; nothing else is published by it. */
	static _Atomic int known;
	struct shmipc_features f;
	int k = atomic_load_explicit(&known, memory_order_relaxed);

	if (!k) {
		memset(&f, 0, sizeof(f));
		k = !xioctl(dev, SHMIPC_IOC_GET_FEATURES, &f) &&
		    f.features & SHMIPC_FEAT_TIED ? 1 : 2;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k == 1;
}

static int module_open(struct shmipc_region *r, const char *name,
		       size_t size, unsigned int mode, unsigned int flags,
		       int tie_fd)
{
	struct shmipc_info info;
	int dev = dev_get(), ret;

	if (dev < 0)
		return dev;
	if (flags & SHMIPC_REGION_CREATE) {
		struct shmipc_create c;

		memset(&c, 0, sizeof(c));
		set_name(c.name, name);
		c.size = size;
		c.mode = mode;
		if (flags & SHMIPC_REGION_EXCL)
			c.flags |= SHMIPC_CREATE_EXCL;
		if (flags & SHMIPC_REGION_PERSISTENT)
			c.flags |= SHMIPC_CREATE_PERSISTENT;
		if (tie_fd >= 0) {
			c.flags |= SHMIPC_CREATE_TIED;
			c.tie_fd = tie_fd;
		}
		c.fd = -1;
		ret = xioctl(dev, SHMIPC_IOC_CREATE, &c);
		/* A module without ties: a plain name, as before them. */
		if (ret == -EINVAL && tie_fd >= 0 && !tied_supported(dev)) {
			c.flags &= ~SHMIPC_CREATE_TIED;
			c.tie_fd = 0;
			ret = xioctl(dev, SHMIPC_IOC_CREATE, &c);
		}
		if (ret < 0)
			return ret;
		r->fd = c.fd;
		r->created = !!(c.result & SHMIPC_RESULT_CREATED);
	} else {
		struct shmipc_open o;

		memset(&o, 0, sizeof(o));
		set_name(o.name, name);
		o.fd = -1;
		ret = xioctl(dev, SHMIPC_IOC_OPEN, &o);
		if (ret < 0)
			return ret;
		r->fd = o.fd;
		if (size && o.size < size) {
			close(r->fd);
			r->fd = -1;
			return -EINVAL;
		}
	}
	memset(&info, 0, sizeof(info));
	ret = xioctl(r->fd, SHMIPC_IOC_INFO, &info);
	if (ret < 0 || info.size > SIZE_MAX) {
		close(r->fd);
		r->fd = -1;
		return ret < 0 ? ret : -EFBIG;
	}
	/* A region created by us has exactly the size we asked for. */
	r->size = r->created ? size : (size_t)info.size;
	r->mode = info.mode;
	return 0;
}

static int module_unlink(const char *name)
{
	struct shmipc_unlink u;
	int dev = dev_get();

	if (dev < 0)
		return dev;
	memset(&u, 0, sizeof(u));
	set_name(u.name, name);
	return xioctl(dev, SHMIPC_IOC_UNLINK, &u);
}

static void module_close(struct shmipc_region *r)
{
	close(r->fd);
	r->fd = -1;
}

static int module_info(const struct shmipc_region *r,
		       struct shmipc_region_info *info)
{
	struct shmipc_info k;
	int ret;

	memset(&k, 0, sizeof(k));
	ret = xioctl(r->fd, SHMIPC_IOC_INFO, &k);
	if (ret < 0)
		return ret;
	info->mode = k.mode;
	info->uid = k.uid;
	info->nr_peers = k.nr_peers;
	return 0;
}

/* 1 alive, -EOWNERDEAD, -EPIPE: a WAIT with the peer id and a word that
 * cannot match (offset 0 is the header's magic, never 0 once valid). */
static int module_peer_alive(const struct shmipc_region *r, uint64_t peer_id)
{
	struct shmipc_wait w;
	int ret;

	if (!peer_id)
		return -EPIPE;
	memset(&w, 0, sizeof(w));
	w.offset = 0;
	w.expected = 0;
	w.deadline_ns = 0;
	w.peer_id = peer_id;
	ret = xioctl(r->fd, SHMIPC_IOC_WAIT, &w);
	if (ret == -EOWNERDEAD)
		return -EOWNERDEAD;
	if (ret == -ESRCH)
		return -EPIPE;
	return 1;
}

static int module_wait(const struct shmipc_region *r, _Atomic uint32_t *word,
		       uint32_t expected, uint64_t deadline_ns,
		       uint64_t peer_id)
{
	struct shmipc_wait w;
	int ret;

	memset(&w, 0, sizeof(w));
	w.offset = (uint64_t)((char *)word - (char *)r->base);
	w.expected = expected;
	/* The kernel takes SHMIPC_DEADLINE_NONE but rejects other deadlines
	 * above INT64_MAX (-EINVAL): those are ~292 years away, so forever. */
	w.deadline_ns = deadline_ns > (uint64_t)INT64_MAX ?
			SHMIPC_DEADLINE_NONE : deadline_ns;
	w.peer_id = peer_id;
	ret = xioctl(r->fd, SHMIPC_IOC_WAIT, &w);
	if (ret == -ESRCH)
		return -EPIPE;
	/* peer_id 0 means "any peer died": not ours, re-check. */
	if (ret == -EOWNERDEAD && !peer_id)
		return 0;
	return ret > 0 ? 0 : ret;
}

static int module_wake(const struct shmipc_region *r, _Atomic uint32_t *word,
		       uint32_t count)
{
	struct shmipc_wake w;

	memset(&w, 0, sizeof(w));
	w.offset = (uint64_t)((char *)word - (char *)r->base);
	w.count = count;
	SHMIPC_TEST_COUNT_WAKE();
	return xioctl(r->fd, SHMIPC_IOC_WAKE, &w);
}

static int module_own(const struct shmipc_region *r, _Atomic uint32_t *word,
		      bool release)
{
	struct shmipc_own o;

	memset(&o, 0, sizeof(o));
	o.offset = (uint64_t)((char *)word - (char *)r->base);
	o.flags = release ? SHMIPC_OWN_RELEASE : 0;
	return xioctl(r->fd, SHMIPC_IOC_OWN, &o);
}

static void module_reclaim(const struct shmipc_region *r, uint64_t peer_id)
{
	struct shmipc_reclaim c;

	memset(&c, 0, sizeof(c));
	c.peer_id = peer_id;
	xioctl(r->fd, SHMIPC_IOC_RECLAIM, &c);	/* best effort */
}

_Static_assert(SHMIPC_WORD_OWNER_DIED == SHMIPC_OWNER_DIED, "owner died bit");

const struct shmipc_backend_ops shmipc_module_ops = {
	.kind = SHMIPC_BACKEND_MODULE,
	.open = module_open,
	.unlink = module_unlink,
	.attach = module_attach,
	.detach = module_detach,
	.close = module_close,
	.info = module_info,
	.wait = module_wait,
	.wake = module_wake,
	.peer_alive = module_peer_alive,
	.own = module_own,
	.reclaim = module_reclaim,
};
