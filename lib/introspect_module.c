// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Introspection on the module backend: SHMIPC_IOC_LIST on /dev/shmipc,
 * a read-only region fd (SHMIPC_OPEN_RDONLY: never a peer) for INFO,
 * SHMIPC_IOC_PEERS and the peer events the kernel queues on it.
 */
#include "introspect_internal.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/shmipc.h>

/* Entries fetched per LIST / PEERS call. */
#define PAGE_ENTRIES	64

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static int dev_open(void)
{
	int fd = open("/dev/shmipc", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void set_name(char dst[SHMIPC_NAME_MAX], const char *name)
{
	memset(dst, 0, SHMIPC_NAME_MAX);
	memcpy(dst, name, strlen(name));	/* checked: < SHMIPC_NAME_MAX */
}

static uint32_t stat_flags(uint32_t info_flags)
{
	uint32_t f = 0;

	if (info_flags & SHMIPC_INFO_PERSISTENT)
		f |= SHMIPC_STAT_PERSISTENT;
	if (info_flags & SHMIPC_INFO_UNLINKED)
		f |= SHMIPC_STAT_UNLINKED;
	if (info_flags & SHMIPC_INFO_DESTROYED)
		f |= SHMIPC_STAT_DESTROYED;
	return f;
}

/*
 * Page through LIST (@req on @fd) or PEERS: @each is called for every
 * entry with its index.  Returns the number of entries, or -errno
 * (-EOPNOTSUPP from a module that lacks the ioctl).
 */
static int page_all(int fd, unsigned long req, size_t entry_size,
		    void (*each)(const void *entry, size_t i, void *ctx),
		    void *ctx)
{
	unsigned char buf[PAGE_ENTRIES * sizeof(struct shmipc_region_entry)];
	struct shmipc_list l;
	uint64_t cursor = 0;
	size_t n = 0;
	uint32_t i;
	int ret;

	do {
		memset(&l, 0, sizeof(l));
		l.entries = (uint64_t)(uintptr_t)buf;
		l.count = PAGE_ENTRIES;
		l.entry_size = (uint32_t)entry_size;
		l.cursor = cursor;
		ret = xioctl(fd, req, &l);
		if (ret == -ENOTTY)
			return -EOPNOTSUPP;
		if (ret < 0)
			return ret;
		if (l.count > PAGE_ENTRIES)
			return -EPROTO;
		for (i = 0; i < l.count; i++, n++)
			each(buf + i * entry_size, n, ctx);
		cursor = l.next;
	} while (cursor);
	return n > INT32_MAX ? -EOVERFLOW : (int)n;
}

/* ------------------------------------------------------------------ */
/* Regions */

struct list_ctx {
	struct shmipc_region_stat *out;
	size_t max;
};

static void list_one(const void *entry, size_t i, void *ctx)
{
	const struct shmipc_region_entry *e = entry;
	struct list_ctx *c = ctx;
	struct shmipc_region_stat *st;

	if (i >= c->max)
		return;
	st = &c->out[i];
	memset(st, 0, sizeof(*st));
	memcpy(st->name, e->name, sizeof(st->name) - 1);
	st->size = e->size;
	st->id = e->id;
	st->uid = e->uid;
	st->gid = e->gid;
	st->mode = e->mode;
	st->flags = stat_flags(e->flags);
	st->nr_peers = e->nr_peers;
	st->nr_dead = e->nr_dead;
	st->nr_waiters = e->nr_waiters;
	st->nr_files = e->nr_files;
	st->backend = SHMIPC_BACKEND_MODULE;
}

static int module_list(struct shmipc_region_stat *out, size_t max)
{
	struct list_ctx c = { out, max };
	int dev = dev_open(), ret;

	if (dev < 0)
		return dev;
	ret = page_all(dev, SHMIPC_IOC_LIST, sizeof(struct shmipc_region_entry),
		       list_one, &c);
	close(dev);
	return ret;
}

static int module_destroy(const char *name)
{
	struct shmipc_unlink u;
	int dev = dev_open(), ret;

	if (dev < 0)
		return dev;
	memset(&u, 0, sizeof(u));
	set_name(u.name, name);
	u.flags = SHMIPC_UNLINK_DESTROY;
	ret = xioctl(dev, SHMIPC_IOC_UNLINK, &u);
	close(dev);
	return ret;
}

/* ------------------------------------------------------------------ */
/* One region */

static int module_open(struct shmipc_inspect *in, const char *name)
{
	struct shmipc_open o;
	int dev = dev_open(), ret;

	if (dev < 0)
		return dev;
	memset(&o, 0, sizeof(o));
	set_name(o.name, name);
	o.flags = SHMIPC_OPEN_RDONLY;
	o.fd = -1;
	ret = xioctl(dev, SHMIPC_IOC_OPEN, &o);
	close(dev);
	if (ret < 0)
		return ret;
	in->r.fd = o.fd;
	if (o.size > SIZE_MAX)
		return -EFBIG;
	in->r.size = (size_t)o.size;
	return 0;
}

/* Events are read without blocking: poll() does the waiting. */
static int module_setup(struct shmipc_inspect *in)
{
	int fl = fcntl(in->r.fd, F_GETFL);

	if (fl < 0 || fcntl(in->r.fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int module_stat(const struct shmipc_inspect *in,
		       struct shmipc_region_stat *st)
{
	struct shmipc_info info;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = xioctl(in->r.fd, SHMIPC_IOC_INFO, &info);
	if (ret < 0)
		return ret;
	memcpy(st->name, info.name, sizeof(st->name) - 1);
	st->size = info.size;
	st->id = info.id;
	st->uid = info.uid;
	st->gid = info.gid;
	st->mode = info.mode;
	st->flags = stat_flags(info.flags);
	st->nr_peers = info.nr_peers;
	st->nr_dead = info.nr_dead;
	st->nr_waiters = info.nr_waiters;
	/* Not counting ours: inspecting changes nothing others see. */
	st->nr_files = info.nr_files ? info.nr_files - 1 : 0;
	st->backend = SHMIPC_BACKEND_MODULE;
	return 0;
}

struct peers_ctx {
	struct shmipc_peer_stat *out;
	size_t max;
};

static void peer_one(const void *entry, size_t i, void *ctx)
{
	const struct shmipc_peer_entry *e = entry;
	struct peers_ctx *c = ctx;
	struct shmipc_peer_stat *p;

	if (i >= c->max)
		return;
	p = &c->out[i];
	p->peer_id = e->peer_id;
	p->pid = e->pid;
	p->state = e->state == SHMIPC_PEER_STATE_DEAD ? SHMIPC_INSPECT_DEAD :
							  SHMIPC_INSPECT_ALIVE;
	p->nr_owned = e->nr_owned;
	p->status = e->state == SHMIPC_PEER_STATE_DEAD ? e->status :
							   SHMIPC_STAT_UNKNOWN;
}

static int module_peers(const struct shmipc_inspect *in,
			struct shmipc_peer_stat *out, size_t max)
{
	struct peers_ctx c = { out, max };

	return page_all(in->r.fd, SHMIPC_IOC_PEERS,
			sizeof(struct shmipc_peer_entry), peer_one, &c);
}

/* ------------------------------------------------------------------ */
/* Events: the kernel's records, as they come */

static const uint32_t event_types[] = {
	[SHMIPC_EVENT_JOIN] = SHMIPC_PEER_JOIN,
	[SHMIPC_EVENT_LEAVE] = SHMIPC_PEER_LEAVE,
	[SHMIPC_EVENT_DEATH] = SHMIPC_PEER_DEATH,
	[SHMIPC_EVENT_OVERFLOW] = SHMIPC_PEER_OVERFLOW,
};

/* Read what is pending: 1 if something was queued, 0 if nothing. */
static int read_events(struct shmipc_inspect *in)
{
	struct shmipc_event buf[INSPECT_EVENT_BATCH];
	ssize_t n;
	int i, got = 0;

	n = read(in->r.fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -EIDRM;	/* destroyed, and every event was read */
	if (n % (ssize_t)sizeof(buf[0]))
		return -EPROTO;
	for (i = 0; i < (int)(n / (ssize_t)sizeof(buf[0])); i++) {
		struct shmipc_peer_event ev;

		if (buf[i].type == 0 ||
		    buf[i].type >= sizeof(event_types) / sizeof(event_types[0]))
			continue;	/* a newer kernel's record */
		memset(&ev, 0, sizeof(ev));
		ev.type = event_types[buf[i].type];
		ev.pid = buf[i].pid;
		ev.seq = buf[i].seq;
		ev.peer_id = buf[i].peer_id;
		ev.status = buf[i].status;
		if (buf[i].flags & SHMIPC_EVENT_REPLAY)
			ev.flags |= SHMIPC_PEER_REPLAY;
		/* The queue has room for a whole batch when this runs. */
		shmipc_inspect_queue(in, &ev);
		got = 1;
	}
	return got;
}

static int module_events(struct shmipc_inspect *in, uint64_t deadline_ns)
{
	struct pollfd p = { .fd = in->r.fd, .events = POLLIN };
	int ret;

	for (;;) {
		uint64_t now = shmipc_now_ns();
		int ms;

		ret = read_events(in);
		if (ret)
			return ret < 0 ? ret : 0;
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		if (deadline_ns == SHMIPC_FOREVER ||
		    deadline_ns - now > (uint64_t)INT32_MAX * 1000000ULL)
			ms = -1;
		else	/* rounded up: never wake just before the deadline */
			ms = (int)((deadline_ns - now + 999999) / 1000000);
		ret = poll(&p, 1, ms);
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}

const struct inspect_ops shmipc_inspect_module_ops = {
	.list = module_list,
	.destroy = module_destroy,
	.open = module_open,
	.setup = module_setup,
	.stat = module_stat,
	.peers = module_peers,
	.events = module_events,
};
