// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Regions: backend selection, open/create/close/unlink/info, the shared
 * header's initialization and validation, and small common helpers.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#ifdef SHMIPC_TESTING
#include <signal.h>

_Atomic unsigned long shmipc_test_wakes;
_Atomic int shmipc_test_kp;
_Atomic int shmipc_test_kp_signal;
_Atomic unsigned long shmipc_test_kp_skip;

void shmipc_test_kill_point(enum shmipc_kill_point kp)
{
	int sig;

	/* Relaxed: a test arms the point before the calls it aims at. */
	if (atomic_load_explicit(&shmipc_test_kp, memory_order_relaxed) !=
	    (int)kp ||
	    atomic_fetch_sub_explicit(&shmipc_test_kp_skip, 1,
				      memory_order_relaxed) != 0)
		return;
	atomic_store_explicit(&shmipc_test_kp, SHMIPC_KP_NONE,
			      memory_order_relaxed);
	sig = atomic_load_explicit(&shmipc_test_kp_signal,
				   memory_order_relaxed);
	kill(getpid(), sig ? sig : SIGKILL);
}
#endif

/* ------------------------------------------------------------------ */
/* Backend selection */

static pthread_once_t backend_once = PTHREAD_ONCE_INIT;
static const struct shmipc_backend_ops *backend_ops;
static int backend_err;

static void backend_select(void)
{
	const char *env = getenv("SHMIPC_BACKEND");

	if (env && !strcmp(env, "portable")) {
		backend_ops = &shmipc_portable_ops;
	} else if (env && !strcmp(env, "module")) {
		if (access("/dev/shmipc", R_OK | W_OK))
			backend_err = -ENODEV;
		else
			backend_ops = &shmipc_module_ops;
	} else if (env && *env) {
		backend_err = -EINVAL;
	} else {
		backend_ops = access("/dev/shmipc", R_OK | W_OK) ?
			&shmipc_portable_ops : &shmipc_module_ops;
	}
}

const struct shmipc_backend_ops *shmipc_ops(int *err)
{
	pthread_once(&backend_once, backend_select);
	if (!backend_ops && err)
		*err = backend_err;
	return backend_ops;
}

int shmipc_backend(void)
{
	int err = -ENODEV;
	const struct shmipc_backend_ops *ops = shmipc_ops(&err);

	return ops ? ops->kind : err;
}

const char *shmipc_backend_name(int kind)
{
	switch (kind) {
	case SHMIPC_BACKEND_MODULE:
		return "module";
	case SHMIPC_BACKEND_PORTABLE:
		return "portable";
	default:
		return "unknown";
	}
}

const char *shmipc_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EBADMSG:
		return "corrupt shared data (header, offset or cursor)";
	case EPROTONOSUPPORT:
		return "shared header of another layout version";
	case EOWNERDEAD:
		return "the peer this call depends on died";
	case EPIPE:
		return "the peer on the other side closed its end";
	case ETIMEDOUT:
		return "deadline passed";
	case EAGAIN:
		return "would block (full, empty or not ready)";
	case EUSERS:
		return "peer table full";
	default:
		return strerror(err);	/* glibc: static strings for errnos */
	}
}

/* ------------------------------------------------------------------ */
/* Time */

uint64_t shmipc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t shmipc_deadline_in(uint64_t ns)
{
	uint64_t now = shmipc_now_ns();

	return ns >= SHMIPC_FOREVER - now ? SHMIPC_FOREVER :
						  now + ns;
}

/* ------------------------------------------------------------------ */
/* Helpers */

int shmipc_check_name(const char *name)
{
	size_t n, i;

	if (!name)
		return -EINVAL;
	n = strnlen(name, SHMIPC_NAME_LEN_MAX + 1);
	if (n == 0 || n > SHMIPC_NAME_LEN_MAX)
		return -EINVAL;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return -EINVAL;
	}
	return 0;
}

uint32_t shmipc_sleep_arm(_Atomic uint32_t *flag, _Atomic uint32_t *seq)
{
	/* Acquire, and before the flag store: a waker that takes this
	 * round's flag bumps the word after we read it, so our wait returns
	 * -EAGAIN (see internal.h); one that bumped before we read it
	 * published first, and our re-check sees that. */
	uint32_t s = atomic_load_explicit(seq, memory_order_acquire);

	/* seq_cst store and fence: the flag is visible before the caller
	 * re-checks (the store-load order C11 only gives with the fence). */
	atomic_store_explicit(flag, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	shmipc_test_kill_point(SHMIPC_KP_SLEEP_ARMED);
	return s;
}

bool shmipc_in_region(const struct shmipc_region *r, uint64_t off,
		      uint64_t len)
{
	return off <= r->size && len <= r->size - off;
}

void *shmipc_region_ptr(const struct shmipc_region *r, uint64_t off,
			uint64_t len)
{
	if (!r || !shmipc_in_region(r, off, len))
		return NULL;
	return (char *)r->base + off;
}

void *shmipc_region_base(const struct shmipc_region *r)
{
	return r ? r->base : NULL;
}

size_t shmipc_region_size(const struct shmipc_region *r)
{
	return r ? r->size : 0;
}

uint64_t shmipc_region_peer_id(const struct shmipc_region *r)
{
	return r ? r->peer_id : 0;
}

/* ------------------------------------------------------------------ */
/* The shared header */

static void hdr_init(struct shmipc_region *r)
{
	struct rhdr *h = region_hdr(r);

	/* The memory is fresh (zero): only non-zero fields are written. */
	h->version = SHMIPC_LIB_VERSION;
	h->hdr_size = SHMIPC_REGION_HDR_SIZE;
	h->dir_cap = SHMIPC_DIR_ENTRIES;
	h->peer_cap = SHMIPC_PEERS_MAX;
	h->size = r->size;
	atomic_store_explicit(&h->heap_top, SHMIPC_REGION_HDR_SIZE,
			      memory_order_relaxed);
	atomic_store_explicit(&h->next_peer_id, 0, memory_order_relaxed);
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&h->magic, RHDR_MAGIC, memory_order_release);
}

/*
 * Wait (bounded) for the creator to publish the header, then check it.
 * The size recorded in the header must equal our mapping's: we only ever
 * use our private r->size for bounds.
 */
static int hdr_check(struct shmipc_region *r)
{
	struct rhdr *h = region_hdr(r);
	int ret = shmipc_await_header(&h->magic, &h->version, RHDR_MAGIC);

	if (ret)
		return ret;
	if (h->hdr_size != SHMIPC_REGION_HDR_SIZE ||
	    h->dir_cap != SHMIPC_DIR_ENTRIES ||
	    h->peer_cap != SHMIPC_PEERS_MAX || h->size != r->size)
		return -EBADMSG;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Open / close */

static int region_open(const char *name, size_t size, unsigned int mode,
		       unsigned int flags, const struct shmipc_region *tie,
		       struct shmipc_region **out)
{
	int err = -ENODEV;
	const struct shmipc_backend_ops *ops = shmipc_ops(&err);
	struct shmipc_region *r;
	int ret;

	if (!ops)
		return err;
	if (!out || shmipc_check_name(name))
		return -EINVAL;
	*out = NULL;
	if (flags & ~(SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL |
		      SHMIPC_REGION_PERSISTENT))
		return -EINVAL;
	if (flags & SHMIPC_REGION_CREATE) {
		if (size < SHMIPC_REGION_HDR_SIZE + 64 || mode & ~0777U)
			return -EINVAL;
	} else if (flags & SHMIPC_REGION_EXCL) {
		return -EINVAL;
	}

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ops = ops;
	r->fd = -1;
	r->peer_slot = -1;
	r->base = MAP_FAILED;
	strcpy(r->name, name);
	ret = ops->open(r, name, size, mode, flags, tie ? tie->fd : -1);
	if (ret)
		goto fail;
	if (r->size < SHMIPC_REGION_HDR_SIZE + 64) {
		ret = -EBADMSG;	/* too small to be ours */
		goto fail;
	}
	r->base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       r->fd, 0);
	if (r->base == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	if (r->created)
		hdr_init(r);
	ret = hdr_check(r);
	if (ret)
		goto fail;
	ret = ops->attach(r);
	if (ret)
		goto fail;
	r->attached = 1;
	*out = r;
	return 0;
fail:
	if (r->base != MAP_FAILED)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		ops->close(r);
	free(r);
	return ret;
}

int shmipc_region_open(const char *name, size_t size, unsigned int mode,
		       unsigned int flags, struct shmipc_region **out)
{
	return region_open(name, size, mode, flags, NULL, out);
}

int shmipc_region_create_tied(const struct shmipc_region *parent,
			      const char *name, size_t size, unsigned int mode,
			      unsigned int flags, struct shmipc_region **out)
{
	if (!parent || !(flags & SHMIPC_REGION_CREATE) ||
	    flags & SHMIPC_REGION_PERSISTENT)
		return -EINVAL;
	return region_open(name, size, mode, flags, parent, out);
}

int shmipc_region_close(struct shmipc_region *r)
{
	if (!r)
		return 0;
	if (r->attached)
		r->ops->detach(r);
	munmap(r->base, r->size);
	r->ops->close(r);
	free(r);
	return 0;
}

int shmipc_region_unlink(const char *name)
{
	int err = -ENODEV;
	const struct shmipc_backend_ops *ops = shmipc_ops(&err);

	if (!ops)
		return err;
	if (shmipc_check_name(name))
		return -EINVAL;
	return ops->unlink(name);
}

int shmipc_region_info(const struct shmipc_region *r,
		       struct shmipc_region_info *info)
{
	struct rhdr *h;
	uint64_t top;
	unsigned int i, n = 0;

	if (!r || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	h = region_hdr(r);
	strcpy(info->name, r->name);
	info->size = r->size;
	/* Relaxed: a snapshot for display; range-checked below. */
	top = atomic_load_explicit(&h->heap_top, memory_order_relaxed);
	if (top < SHMIPC_REGION_HDR_SIZE || top > r->size)
		return -EBADMSG;
	info->used = top;
	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++)
		if ((atomic_load_explicit(&h->dir[i].state,
					  memory_order_relaxed) & 3) ==
		    DIR_READY)
			n++;
	info->nr_entries = n;
	info->backend = r->ops->kind;
	info->created = r->created;
	return r->ops->info(r, info);
}
