/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc introspection internals: the inspection handle, the per
 * backend operations behind <shmipc/introspect.h>, and the table of
 * object types recognised in a region's directory.
 */
#ifndef SHMIPC_INTROSPECT_INTERNAL_H
#define SHMIPC_INTROSPECT_INTERNAL_H

#include "internal.h"	/* first: it sets _GNU_SOURCE */

#include <sys/types.h>

#define INSPECT_EVENT_BATCH	16

/* What the portable backend remembers of one peer table slot. */
struct inspect_slot {
	uint64_t peer_id;	/* 0: free */
	uint64_t start_time;
	int32_t pid;
	bool dead;		/* its DEATH was reported */
};

/*
 * A region opened for inspection.  @r is an ordinary region handle
 * whose mapping (if any) is read-only and which never attached: only
 * reading helpers (shmipc_region_ptr(), the backend's peer_alive) may
 * be used on it.
 */
struct shmipc_inspect {
	struct shmipc_region r;		/* base is MAP_FAILED if unmapped */
	int map_err;			/* why it is unmapped, else 0 */
	const struct inspect_ops *ops;
	/* events decoded but not yet returned */
	struct shmipc_peer_event queue[INSPECT_EVENT_BATCH * 2];
	unsigned int q_head, q_len;
	/* portable: the peer table as last seen, and our event count */
	struct inspect_slot *snap;	/* SHMIPC_PEERS_MAX slots, or NULL */
	uint64_t seq;
};

struct inspect_ops {
	int (*list)(struct shmipc_region_stat *out, size_t max);
	int (*destroy)(const char *name);
	/* Set in->r.fd and in->r.size (the name is valid). */
	int (*open)(struct shmipc_inspect *in, const char *name);
	/* After the mapping: anything the events need. */
	int (*setup)(struct shmipc_inspect *in);
	int (*stat)(const struct shmipc_inspect *in,
		    struct shmipc_region_stat *st);
	int (*peers)(const struct shmipc_inspect *in,
		     struct shmipc_peer_stat *out, size_t max);
	/* Queue at least one event (shmipc_inspect_queue()), or fail. */
	int (*events)(struct shmipc_inspect *in, uint64_t deadline_ns);
};

SHMIPC_LOCAL extern const struct inspect_ops shmipc_inspect_module_ops;
SHMIPC_LOCAL extern const struct inspect_ops shmipc_inspect_portable_ops;

/* Queue @ev for shmipc_inspect_next_event(); false when full. */
SHMIPC_LOCAL bool shmipc_inspect_queue(struct shmipc_inspect *in,
			       const struct shmipc_peer_event *ev);

/*
 * The library header of an inspected region: 0 if it is valid, -EIDRM
 * (not mapped), -ENODATA (no magic yet, or too small to hold one),
 * -EBADMSG, -EPROTONOSUPPORT.  Never waits.
 */
SHMIPC_LOCAL int shmipc_inspect_hdr(const struct shmipc_inspect *in);

/*
 * Object types: a describe function recognises its own magic at @off
 * (@size bytes of @r's directory object): 0 when it is not its type;
 * else 1 with @st filled (SHMIPC_OBJECT_CORRUPT when the header with
 * that magic is not valid).  It only reads (the mapping may be
 * read-only) and validates everything before use.  Adding a type: its
 * describe function next to its code, and a line in object_types[] in
 * introspect.c.
 */
SHMIPC_LOCAL int shmipc_spsc_describe(struct shmipc_region *r, uint64_t off,
				      uint64_t size,
				      struct shmipc_object_stat *st);
SHMIPC_LOCAL int shmipc_mpmc_describe(struct shmipc_region *r, uint64_t off,
				      uint64_t size,
				      struct shmipc_object_stat *st);
SHMIPC_LOCAL int shmipc_heap_describe(struct shmipc_region *r, uint64_t off,
				      uint64_t size,
				      struct shmipc_object_stat *st);
SHMIPC_LOCAL int shmipc_evpool_describe(struct shmipc_region *r, uint64_t off,
					uint64_t size,
					struct shmipc_object_stat *st);
SHMIPC_LOCAL int shmipc_growbuf_describe(struct shmipc_region *r,
					 uint64_t off, uint64_t size,
					 struct shmipc_object_stat *st);
SHMIPC_LOCAL int shmipc_ctl_describe(struct shmipc_region *r, uint64_t off,
				     uint64_t size,
				     struct shmipc_object_stat *st);

/*
 * For a describe function: set @st's queue fields from a producer and a
 * consumer cursor (free-running, @cap apart at most), read as one
 * snapshot; a fill above @cap marks it corrupt.
 */
SHMIPC_LOCAL void shmipc_inspect_fill(struct shmipc_object_stat *st,
				      _Atomic uint32_t *prod,
				      _Atomic uint32_t *cons, uint32_t cap,
				      uint32_t slot_size);

/* Portable backend: is the process @pid that started at @start alive? */
SHMIPC_LOCAL int shmipc_portable_pid_alive(pid_t pid, uint64_t start);

#endif /* SHMIPC_INTROSPECT_INTERNAL_H */
