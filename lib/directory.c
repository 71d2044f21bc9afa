// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The named-object directory in the region header (key -> offset, size)
 * and the bump allocator that places objects in the region's heap.
 *
 * Lock-free: an entry's 32-bit state word holds the key's hash (high 30
 * bits) and a phase (low 2 bits: FREE, CLAIMED, READY).  An inserter
 * claims a FREE entry with a CAS, fills it, then publishes READY with a
 * release store; readers load the state with acquire.  Inserters of the
 * same key probe the same sequence, so the second one meets the first's
 * claim and waits (bounded) for it to be READY before comparing keys.
 * Entries are never removed, so a FREE entry ends a probe.
 */
#include "internal.h"

#include <string.h>
#include <time.h>

static uint32_t key_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261U;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619U;
	}
	return h & ~3U;
}

int shmipc_check_key(const char *key, size_t *len)
{
	if (!key)
		return -EINVAL;
	*len = strnlen(key, SHMIPC_KEY_LEN_MAX + 1);
	return *len == 0 || *len > SHMIPC_KEY_LEN_MAX ? -EINVAL : 0;
}

/* Bump-allocate @len bytes aligned to @align; 0 or -ENOMEM / -EBADMSG. */
static int heap_alloc(struct shmipc_region *r, uint64_t len, uint64_t align,
		      uint64_t *off)
{
	struct rhdr *h = region_hdr(r);
	uint64_t top, start;

	/* Relaxed: the CAS only hands out disjoint ranges; the object is
	 * published later through its directory entry (release). */
	top = atomic_load_explicit(&h->heap_top, memory_order_relaxed);
	do {
		if (top < SHMIPC_REGION_HDR_SIZE || top > r->size)
			return -EBADMSG;
		start = (top + align - 1) & ~(align - 1);
		if (start > r->size || r->size - start < len)
			return -ENOMEM;
	} while (!atomic_compare_exchange_weak_explicit(
			 &h->heap_top, &top, start + len,
			 memory_order_relaxed, memory_order_relaxed));
	*off = start;
	return 0;
}

/*
 * Check a READY entry @e for @key (copying what another process wrote
 * before using it).  1 and *@off/@size if it is @key, 0 if another key,
 * -EBADMSG if the entry is corrupt.
 */
static int entry_match(const struct shmipc_region *r,
		       const struct rhdr_dirent *e, const char *key,
		       size_t len, uint64_t *off, uint64_t *size)
{
	char k[DIR_KEY_BYTES];
	uint64_t o, s;

	memcpy(k, e->key, sizeof(k));
	o = e->off;
	s = e->size;
	if (memchr(k, '\0', sizeof(k)) == NULL)
		return -EBADMSG;
	if (strlen(k) != len || memcmp(k, key, len))
		return 0;
	if (o < SHMIPC_REGION_HDR_SIZE || s == 0 ||
	    !shmipc_in_region(r, o, s))
		return -EBADMSG;
	if (off)
		*off = o;
	if (size)
		*size = s;
	return 1;
}

/* Wait (bounded) while entry @e is CLAIMED with hash @hash. */
static uint32_t wait_ready(struct rhdr_dirent *e, uint32_t st)
{
	uint64_t end = shmipc_now_ns() + RHDR_INIT_WAIT_MS * 1000000ULL;
	struct timespec ts = { 0, 100000 };

	while ((st & 3U) == DIR_CLAIMED) {
		if (shmipc_now_ns() >= end)
			break;
		nanosleep(&ts, NULL);
		/* Acquire: pairs with the inserter's release of READY. */
		st = atomic_load_explicit(&e->state, memory_order_acquire);
	}
	return st;
}

/*
 * Look @key up.  Returns 1 (found), 0 (not found: *@free_idx is the
 * first FREE entry of the probe, or -1), or -errno.
 */
static int dir_lookup(const struct shmipc_region *r, const char *key,
		      size_t len, uint32_t hash, uint64_t *off,
		      uint64_t *size, int *free_idx)
{
	struct rhdr *h = region_hdr(r);
	unsigned int i, idx;

	*free_idx = -1;
	for (i = 0; i < SHMIPC_DIR_ENTRIES; i++) {
		struct rhdr_dirent *e;
		uint32_t st;
		int ret;

		idx = (hash / 4 + i) % SHMIPC_DIR_ENTRIES;
		e = &h->dir[idx];
		/* Acquire: pairs with the release of READY. */
		st = atomic_load_explicit(&e->state, memory_order_acquire);
		if (st == DIR_FREE) {
			*free_idx = (int)idx;
			return 0;
		}
		if ((st & 3U) == 3U || (st & 3U) == 0)
			return -EBADMSG;	/* no such phase */
		if ((st & ~3U) != hash)
			continue;
		if ((st & 3U) == DIR_CLAIMED) {
			st = wait_ready(e, st);
			if ((st & 3U) == DIR_CLAIMED)
				return -EAGAIN;
			if ((st & ~3U) != hash || (st & 3U) != DIR_READY)
				return -EBADMSG;
		}
		ret = entry_match(r, e, key, len, off, size);
		if (ret)
			return ret;
	}
	return 0;
}

int shmipc_dir_find(const struct shmipc_region *r, const char *key,
		    uint64_t *off, uint64_t *size)
{
	size_t len;
	int ret, free_idx;

	if (!r || shmipc_check_key(key, &len))
		return -EINVAL;
	ret = dir_lookup(r, key, len, key_hash(key, len), off, size,
			 &free_idx);
	return ret == 1 ? 0 : ret == 0 ? -ENOENT : ret;
}

int shmipc_dir_alloc(struct shmipc_region *r, const char *key, size_t size,
		     size_t align, uint64_t *off)
{
	struct rhdr *h;
	uint64_t obj, found;
	uint32_t hash;
	size_t len;
	unsigned int tries;
	int ret, idx;

	if (!r || !off || shmipc_check_key(key, &len) || size == 0)
		return -EINVAL;
	if (align == 0)
		align = 64;
	if (align < 8 || align > 4096 || (align & (align - 1)))
		return -EINVAL;
	h = region_hdr(r);
	hash = key_hash(key, len);

	ret = dir_lookup(r, key, len, hash, &found, NULL, &idx);
	if (ret == 1) {
		*off = found;
		return -EEXIST;
	}
	if (ret < 0)
		return ret;
	if (idx < 0)
		return -ENOSPC;
	/* Memory first, so that a claimed entry never has to be undone
	 * (a FREE entry must end every probe).  Losing the race below to
	 * an inserter of the same key wastes this allocation. */
	ret = heap_alloc(r, size, align, &obj);
	if (ret)
		return ret;
	/* Entries are never freed, so each failed claim means one more entry
	 * taken: more failures than entries means a hostile writer. */
	for (tries = 0; tries <= SHMIPC_DIR_ENTRIES; tries++) {
		struct rhdr_dirent *e = &h->dir[idx];
		uint32_t expect = DIR_FREE;

		/* Acquire on success is not needed (we only write the entry),
		 * but acq_rel keeps the claim ordered before our writes. */
		if (atomic_compare_exchange_strong_explicit(
			    &e->state, &expect, hash | DIR_CLAIMED,
			    memory_order_acq_rel, memory_order_relaxed)) {
			memset(e->key, 0, sizeof(e->key));
			memcpy(e->key, key, len);
			e->off = obj;
			e->size = size;
			/* Release: key, off and size before READY. */
			atomic_store_explicit(&e->state, hash | DIR_READY,
					      memory_order_release);
			*off = obj;
			return 0;
		}
		/* Someone took the entry: look again from the start. */
		ret = dir_lookup(r, key, len, hash, &found, NULL, &idx);
		if (ret == 1) {
			*off = found;
			return -EEXIST;
		}
		if (ret < 0)
			return ret;
		if (idx < 0)
			return -ENOSPC;
	}
	return -EBADMSG;
}

void *shmipc_dir_new(struct shmipc_region *r, const char *key, uint64_t size,
		     size_t align, uint64_t *off, int *err)
{
	void *p;

	*err = shmipc_dir_alloc(r, key, size, align, off);
	if (*err)
		return NULL;
	p = shmipc_region_ptr(r, *off, size);
	if (!p)
		*err = -EBADMSG;	/* the heap cursor was corrupt */
	return p;
}

/* ------------------------------------------------------------------ */
/* Objects: the header every named object starts with */

int shmipc_obj_create(struct shmipc_region *r, const char *key,
		      uint64_t bytes, uint32_t hdr_size, uint64_t *off,
		      struct shmipc_obj_hdr **hdr)
{
	struct shmipc_obj_hdr *h;
	int ret;

	h = shmipc_dir_new(r, key, bytes, 64, off, &ret);
	if (!h)
		return ret;
	h->version = SHMIPC_LIB_VERSION;
	h->hdr_size = hdr_size;
	*hdr = h;
	return 0;
}

void shmipc_obj_publish(struct shmipc_obj_hdr *h, uint32_t magic)
{
	/* Release: an opener that sees the magic (acquire) sees the rest. */
	atomic_store_explicit(&h->magic, magic, memory_order_release);
}

int shmipc_obj_find(const struct shmipc_region *r, const char *key,
		    uint64_t *off, uint64_t *size)
{
	int ret = shmipc_dir_find(r, key, off, size);

	return ret ? ret : *off % 64 ? -EBADMSG : 0;
}

int shmipc_obj_open(const struct shmipc_region *r, const char *key,
		    uint32_t magic, uint32_t hdr_size, uint64_t *off,
		    uint64_t *size, struct shmipc_obj_hdr **hdr)
{
	struct shmipc_obj_hdr *h;
	int ret = shmipc_obj_find(r, key, off, size);

	if (ret)
		return ret;
	h = shmipc_region_ptr(r, *off, hdr_size);
	if (!h || *size < hdr_size)
		return -EBADMSG;
	ret = shmipc_await_magic(&h->magic, magic);
	if (ret)
		return ret;
	if (h->version != SHMIPC_LIB_VERSION)
		return -EPROTONOSUPPORT;
	if (h->hdr_size != hdr_size)
		return -EBADMSG;
	*hdr = h;
	return 0;
}
