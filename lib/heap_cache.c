// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The heap's per-thread caches: for each (thread, heap handle) a
 * magazine of free records per small class, in process memory.  The
 * records in it are CACHED by the handle's slot in shared memory, so a
 * death leaves them to reclaim like any record the process held.
 *
 * A thread finds its cache through _Thread_local pointers (the last one
 * used, then its list); the handle lists its caches too, so that close
 * can flush every thread's.  The two meet under cache_lock:
 *   - close flushes each cache of the handle, then marks it orphaned
 *     (h = NULL, release) and forgets it; it never frees it;
 *   - the thread frees its orphaned caches when it next looks for one
 *     (acquire of h), and all of its caches at exit (a pthread key
 *     destructor), flushing those still attached.
 * Caches inherited through fork() belong to the parent's handles: a
 * handle's id holds the pid of its process, so a child's handles never
 * match them, and the child frees them at thread exit without flushing.
 */
#include "heap_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct heap_mag {
	uint32_t n;
	uint64_t off[HEAP_MAG_MAX];	/* LIFO: the last freed is reused */
};

struct heap_tcache {
	struct heap_tcache *tnext;	/* the thread's list */
	struct heap_tcache *hnext;	/* the handle's list (cache_lock) */
	_Atomic(struct shmipc_heap *) h; /* NULL: the handle closed */
	uint64_t hid;
	pid_t pid;
	struct heap_mag mag[HK_CACHED];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static bool cache_key_ok;
static _Atomic uint32_t hid_next;
static _Thread_local struct heap_tcache *tc_list, *tc_last;

uint64_t heap_new_hid(void)
{
	/* Relaxed: only uniqueness matters. */
	return (uint64_t)getpid() << 32 |
	       (atomic_fetch_add_explicit(&hid_next, 1,
					  memory_order_relaxed) + 1);
}

/* Give the @n oldest records of @m back to the pool. */
static void mag_flush(struct shmipc_heap *h, struct heap_mag *m,
		      unsigned int n)
{
	uint32_t cached = heap_mine(h, RS_CACHED);
	unsigned int i;

	if (n > m->n)
		n = m->n;
	/* A record that is no longer CACHED by us (a hostile write) is
	 * not ours to give back: forgetting it is all we can do. */
	for (i = 0; i < n; i++)
		heap_release(h, m->off[i], cached);
	memmove(m->off, m->off + n, (m->n - n) * sizeof(m->off[0]));
	m->n -= n;
}

static void tcache_flush(struct shmipc_heap *h, struct heap_tcache *tc)
{
	unsigned int k;

	for (k = 0; k < HK_CACHED; k++)
		mag_flush(h, &tc->mag[k], tc->mag[k].n);
}

/* Thread exit: flush and free every cache of the thread. */
static void tcache_thread_exit(void *arg)
{
	struct heap_tcache *tc = arg, *next;
	pid_t pid = getpid();

	for (; tc; tc = next) {
		struct shmipc_heap *h;

		next = tc->tnext;
		pthread_mutex_lock(&cache_lock);
		h = atomic_load_explicit(&tc->h, memory_order_relaxed);
		if (h && tc->pid == pid) {
			struct heap_tcache **pp;

			tcache_flush(h, tc);
			for (pp = &h->caches; *pp; pp = &(*pp)->hnext) {
				if (*pp == tc) {
					*pp = tc->hnext;
					break;
				}
			}
		}
		pthread_mutex_unlock(&cache_lock);
		free(tc);
	}
	tc_list = tc_last = NULL;
}

static void cache_atfork_prepare(void)
{
	pthread_mutex_lock(&cache_lock);
}

static void cache_atfork_release(void)
{
	pthread_mutex_unlock(&cache_lock);
}

static void cache_key_init(void)
{
	cache_key_ok = !pthread_key_create(&cache_key, tcache_thread_exit) &&
		       !pthread_atfork(cache_atfork_prepare,
				       cache_atfork_release,
				       cache_atfork_release);
}

/* The calling thread's cache of @h: found, or made if @create; NULL if
 * none (or no memory: the caller then goes to the pool directly). */
static struct heap_tcache *tcache_get(struct shmipc_heap *h, bool create)
{
	struct heap_tcache *tc = tc_last, **pp;

	/* Relaxed: only this thread (or close, which no call may race)
	 * sets tc->h to a handle; the hid tells processes apart. */
	if (tc && tc->hid == h->hid &&
	    atomic_load_explicit(&tc->h, memory_order_relaxed) == h)
		return tc;
	pthread_once(&cache_once, cache_key_init);
	for (pp = &tc_list; (tc = *pp);) {
		/* Acquire: pairs with close's release, after its flush. */
		struct shmipc_heap *th = atomic_load_explicit(
			&tc->h, memory_order_acquire);

		if (!th && tc->pid == getpid()) {
			*pp = tc->tnext;
			if (tc_last == tc)
				tc_last = NULL;
			free(tc);
			continue;
		}
		if (th == h && tc->hid == h->hid) {
			tc_last = tc;
			goto found;
		}
		pp = &tc->tnext;
	}
	tc = NULL;
	if (create && cache_key_ok)
		tc = calloc(1, sizeof(*tc));
	if (tc) {
		tc->hid = h->hid;
		tc->pid = getpid();
		atomic_store_explicit(&tc->h, h, memory_order_relaxed);
		pthread_mutex_lock(&cache_lock);
		tc->hnext = h->caches;
		h->caches = tc;
		pthread_mutex_unlock(&cache_lock);
		tc->tnext = tc_list;
		tc_list = tc;
		tc_last = tc;
	}
found:
	/* The destructor gets the list's head: keep it current. */
	if (cache_key_ok && pthread_getspecific(cache_key) != tc_list)
		pthread_setspecific(cache_key, tc_list);
	return tc;
}

/* CACHED(us) -> USED(us) at @off; false if someone wrote it meanwhile. */
static bool take_cached(struct shmipc_heap *h, uint64_t off)
{
	uint32_t v = heap_mine(h, RS_CACHED);

	/* Relaxed: the record stays ours; taking it from the pool was the
	 * acquire. */
	return atomic_compare_exchange_strong_explicit(
		&h->states[(off - h->data_off) >> HG_SHIFT], &v,
		heap_mine(h, RS_USED), memory_order_relaxed,
		memory_order_relaxed);
}

int heap_cache_alloc(struct shmipc_heap *h, int cls, uint64_t *off)
{
	uint32_t cap = h->cache_cap[cls - HK_MIN];
	struct heap_tcache *tc = tcache_get(h, true);
	struct heap_mag *m;
	int got;

	if (!tc) {
		got = heap_claim_small(h, cls, heap_mine(h, RS_USED), off, 1);
		return got == 1 ? 0 : got == 0 ? -ENOMEM : got;
	}
	m = &tc->mag[cls - HK_MIN];
	for (;;) {
		while (m->n) {
			uint64_t o = m->off[--m->n];

			if (take_cached(h, o)) {
				*off = o;
				return 0;
			}
		}
		got = heap_claim_small(h, cls, heap_mine(h, RS_CACHED),
				       m->off, cap / 2);
		if (got <= 0)
			return got ? got : -ENOMEM;
		m->n = (uint32_t)got;
	}
}

int heap_cache_free(struct shmipc_heap *h, const struct heap_rec *rec,
		    uint64_t off)
{
	uint32_t cap = h->cache_cap[rec->cls - HK_MIN];
	uint32_t used = heap_mine(h, RS_USED);
	struct heap_tcache *tc = tcache_get(h, true);
	struct heap_mag *m;

	if (!tc)
		return heap_release(h, off, used);
	m = &tc->mag[rec->cls - HK_MIN];
	if (m->n >= cap)
		mag_flush(h, m, cap / 2);
	/* Relaxed: the record stays ours (a CAS, so that of two threads
	 * freeing it at once, one gets -EINVAL). */
	if (!atomic_compare_exchange_strong_explicit(
		    &h->states[rec->sidx], &used, heap_mine(h, RS_CACHED),
		    memory_order_relaxed, memory_order_relaxed)) {
		int ret = heap_check_state(h, used, heap_mine(h, RS_USED));

		return ret ? ret : -EINVAL;
	}
	shmipc_test_kill_point(SHMIPC_KP_HEAP_CACHED);
	m->off[m->n++] = off;
	return 0;
}

void heap_cache_flush_mine(struct shmipc_heap *h)
{
	struct heap_tcache *tc = tcache_get(h, false);

	if (tc)
		tcache_flush(h, tc);
}

void heap_cache_detach_all(struct shmipc_heap *h)
{
	struct heap_tcache *tc, *next;

	pthread_mutex_lock(&cache_lock);
	for (tc = h->caches; tc; tc = next) {
		next = tc->hnext;
		tcache_flush(h, tc);
		/* Release: our flush before the owner thread frees it. */
		atomic_store_explicit(&tc->h, NULL, memory_order_release);
	}
	h->caches = NULL;
	pthread_mutex_unlock(&cache_lock);
}
