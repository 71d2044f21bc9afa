// SPDX-License-Identifier: GPL-2.0
/*
 * The demo's shared status block: created by the demo's main process in
 * the event builder's region (a directory object), opened by every
 * writer, reader and worker.  Its header is checked before use, and the
 * arrays are reached only through demo_delivered() / demo_latency(),
 * which check the index against the validated event count.
 */
#include <errno.h>
#include <stddef.h>

#include "demo.h"

/* The event count as validated when this process set the block up: the
 * shared copy is not read again.  Out-of-range ids land on a scratch
 * word, never outside the block. */
static uint32_t valid_events;
static _Atomic uint32_t scratch;

size_t demo_status_size(uint32_t events)
{
	return sizeof(struct demo_status) +
	       2 * (size_t)events * sizeof(_Atomic uint32_t);
}

int demo_status_create(struct shmipc_region *r, uint32_t events,
		       struct demo_status **out)
{
	struct demo_status *st;
	uint64_t off;
	int ret;

	ret = shmipc_dir_alloc(r, DEMO_STATUS_KEY, demo_status_size(events),
			       64, &off);
	if (ret)
		return ret;
	st = (struct demo_status *)((char *)shmipc_region_base(r) + off);
	st->events = events;
	st->version = DEMO_STATUS_VERSION;
	/* One reader token: the first reader to take an event at
	 * DEMO_KILL_AT percent of the stream or later holds it. */
	atomic_store_explicit(&st->reader_stall, 1, memory_order_relaxed);
	/* Release: whoever sees the magic sees the fields above. */
	atomic_store_explicit((_Atomic uint32_t *)&st->magic,
			      DEMO_STATUS_MAGIC, memory_order_release);
	valid_events = events;
	*out = st;
	return 0;
}

int demo_status_open(struct shmipc_region *r, struct demo_status **out)
{
	struct demo_status *st;
	uint64_t off, size;
	uint32_t magic;
	int ret;

	ret = shmipc_dir_find(r, DEMO_STATUS_KEY, &off, &size);
	if (ret)
		return ret;
	if (size < sizeof(*st) || off > shmipc_region_size(r) ||
	    size > shmipc_region_size(r) - off)
		return -EBADMSG;
	st = (struct demo_status *)((char *)shmipc_region_base(r) + off);
	/* Acquire: pairs with the creator's release of the magic. */
	magic = atomic_load_explicit((_Atomic uint32_t *)&st->magic,
				     memory_order_acquire);
	if (magic != DEMO_STATUS_MAGIC)
		return -EBADMSG;
	if (st->version != DEMO_STATUS_VERSION)
		return -EPROTONOSUPPORT;
	valid_events = st->events;
	if (demo_status_size(valid_events) > size)
		return -EBADMSG;
	*out = st;
	return 0;
}


_Atomic uint32_t *demo_delivered(struct demo_status *st, uint64_t seq)
{
	return seq < valid_events ? &st->slots[seq] : &scratch;
}

_Atomic uint32_t *demo_latency(struct demo_status *st, uint64_t seq)
{
	return seq < valid_events ? &st->slots[valid_events + seq] : &scratch;
}

void demo_status_error(struct demo_status *st, int err)
{
	int32_t none = 0;

	/* Relaxed: counters read after the processes are reaped. */
	atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
	atomic_compare_exchange_strong_explicit(&st->first_error, &none, err,
						memory_order_relaxed,
						memory_order_relaxed);
}

/* The event count this process checked at create or open. */
uint32_t demo_status_events(void)
{
	return valid_events;
}
