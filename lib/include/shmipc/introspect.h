/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc introspection: list the regions, and look inside one without
 * joining it (what the shmipc command line shows).  Included by
 * <shmipc.h>; the conventions there hold (0 / count or -errno, opaque
 * handles, shared data validated before use).
 *
 * An inspector never becomes a peer of a region and never writes to it:
 * it maps the region read-only, so it needs read permission on it
 * (module: as a SHMIPC_OPEN_STAT open; portable: on the file
 * /dev/shm/shmipc.<name>), and its presence changes nothing another
 * process can observe but one more open file (module: nr_files, which
 * shmipc_inspect_stat() does not count).
 *
 * Backend differences
 *   module    regions come from the kernel (SHMIPC_IOC_LIST: those of the
 *             caller's user namespace it may read, unlinked ones still
 *             held open included), peers too (SHMIPC_IOC_PEERS: attached
 *             ones, and dead ones still marked because they owned
 *             words), and events are pushed by the kernel as they happen
 *             (read from the region fd), with a dead peer's wait status.
 *   portable  regions are the /dev/shm/shmipc.<name> objects the caller
 *             can see (one it cannot read shows unknown peer counts);
 *             peers are the region header's peer table, their liveness
 *             probed by pid (a dead peer stays listed until its slot is
 *             reused); waiters, open files, owned words and exit statuses
 *             are not known (SHMIPC_STAT_UNKNOWN).  Events are found by
 *             comparing the peer table every SHMIPC_PORTABLE_SLICE_MS: a
 *             death is seen within a slice, a peer that joins and leaves
 *             between two looks is not seen at all, and the table can be
 *             forged by anyone who may write the region.
 */
#ifndef SHMIPC_INTROSPECT_H
#define SHMIPC_INTROSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "../shmipc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A count or status the backend cannot know. */
#define SHMIPC_STAT_UNKNOWN	UINT32_MAX

/* struct shmipc_region_stat.flags */
#define SHMIPC_STAT_PERSISTENT	0x1U	/* name outlives its handles */
#define SHMIPC_STAT_UNLINKED	0x2U	/* module: name gone, still held */
#define SHMIPC_STAT_DESTROYED	0x4U	/* module: torn down */

struct shmipc_region_stat {
	char name[SHMIPC_NAME_LEN_MAX + 1];
	uint64_t size;		/* bytes */
	uint64_t id;		/* module: region id; portable: inode number */
	uint32_t uid;		/* owner */
	uint32_t gid;
	uint32_t mode;		/* 0777 bits */
	uint32_t flags;		/* SHMIPC_STAT_* */
	uint32_t nr_peers;	/* live peers, or SHMIPC_STAT_UNKNOWN */
	uint32_t nr_dead;	/* dead peers still listed, or UNKNOWN */
	uint32_t nr_waiters;	/* words waited on (module), or UNKNOWN */
	uint32_t nr_files;	/* open files (module), or UNKNOWN */
	int backend;		/* SHMIPC_BACKEND_* */
};

/*
 * The regions the caller can see (see Backend differences): up to @max
 * into @out (@out may be NULL when @max is 0).  Returns how many there
 * are, which may exceed @max (then call again with more room; regions
 * come and go, so loop until the count fits).  Module: in id order;
 * portable: in directory order.
 * Errors: -EINVAL, -ENOMEM, -EOPNOTSUPP (a module without
 * SHMIPC_FEAT_LIST), the backend's (-ENODEV...).  Thread-safe.
 */
int shmipc_list_regions(struct shmipc_region_stat *out, size_t max);

/*
 * Remove @name and tear the region down (SHMIPC_UNLINK_DESTROY): its
 * waiters return -EIDRM and it can no longer be mapped.  Needs what
 * shmipc_region_unlink() needs.  Portable: -EOPNOTSUPP (a POSIX shm
 * object cannot be torn down under its holders; shmipc_region_unlink()
 * only removes the name).
 */
int shmipc_region_destroy(const char *name);

/* ------------------------------------------------------------------ */
/* Inspecting one region */

struct shmipc_inspect;

/*
 * Open @name for inspection (read-only, not as a peer).  Errors:
 * -EINVAL (name), -ENOENT, -EACCES, -ENOMEM, the backend's.  A region
 * that cannot be mapped (module: destroyed) still opens: then
 * shmipc_inspect_objects() gives why (-EIDRM when destroyed).
 * Thread-safe.
 */
int shmipc_inspect_open(const char *name, struct shmipc_inspect **out);

/* Free the handle.  NULL is a no-op. */
int shmipc_inspect_close(struct shmipc_inspect *in);

/* The region, as shmipc_list_regions() shows it, now.  Thread-safe. */
int shmipc_inspect_stat(const struct shmipc_inspect *in,
			struct shmipc_region_stat *st);

/* struct shmipc_peer_stat.state */
#define SHMIPC_INSPECT_ALIVE	1
#define SHMIPC_INSPECT_DEAD	2

struct shmipc_peer_stat {
	uint64_t peer_id;
	int32_t pid;		/* caller's pid namespace; 0: not visible */
	uint32_t state;		/* SHMIPC_INSPECT_ALIVE / _DEAD */
	uint32_t nr_owned;	/* owned words (module), or UNKNOWN */
	uint32_t status;	/* DEAD: wait(2) status (module), or UNKNOWN */
};

/*
 * The region's peers, in peer id order (module) or table order
 * (portable): up to @max into @out; returns how many there are (may
 * exceed @max).  Errors: -EINVAL, -ENOMEM, -EBADMSG (portable: no valid
 * header), the backend's.  Thread-safe.
 */
int shmipc_inspect_peers(const struct shmipc_inspect *in,
			 struct shmipc_peer_stat *out, size_t max);

#define SHMIPC_OBJECT_TYPE_LEN		16
#define SHMIPC_OBJECT_DETAIL_LEN	96

/* struct shmipc_object_stat.flags */
#define SHMIPC_OBJECT_QUEUE	0x1U	/* slot_size, capacity, fill are set */
#define SHMIPC_OBJECT_CORRUPT	0x2U	/* known magic, invalid header */

struct shmipc_object_stat {
	char key[SHMIPC_KEY_LEN_MAX + 1];
	/* by the magic at its offset: "spsc", "mpmc", "heap", "evpool",
	 * "growbuf", "ctl"; "object" if none */
	char type[SHMIPC_OBJECT_TYPE_LEN];
	uint64_t offset;	/* from the region base */
	uint64_t size;		/* bytes */
	uint32_t flags;		/* SHMIPC_OBJECT_* */
	uint32_t slot_size;	/* QUEUE: bytes per message */
	uint64_t capacity;	/* QUEUE: messages */
	uint64_t fill;		/* QUEUE: messages queued (a snapshot) */
	/* one line, type-specific: spsc/growbuf: its two ends; mpmc: who
	 * sleeps; heap: free of total bytes, records used, channels;
	 * evpool (a QUEUE: fill = Full buffers): buffers per state; growbuf:
	 * generation, last message length, whether it was read; ctl: the
	 * controller and each worker slot (alive / dead with pid, none) */
	char detail[SHMIPC_OBJECT_DETAIL_LEN];
};

/*
 * The objects of the region's directory, in directory order, each
 * recognised by the magic at its offset: up to @max into @out; returns
 * how many there are (may exceed @max).  Only reads: counts are a
 * snapshot of a moving queue.  Errors: -EINVAL, -ENODATA (no library
 * header: not a libshmipc region, or not initialized yet), -EBADMSG
 * (corrupt header or directory entry), -EPROTONOSUPPORT (another layout
 * version), -EIDRM (module: destroyed, not mapped).  Thread-safe.
 */
int shmipc_inspect_objects(const struct shmipc_inspect *in,
			   struct shmipc_object_stat *out, size_t max);

/* struct shmipc_peer_event.type */
#define SHMIPC_PEER_JOIN	1
#define SHMIPC_PEER_LEAVE	2
#define SHMIPC_PEER_DEATH	3
#define SHMIPC_PEER_OVERFLOW	4	/* .status events were lost */

/* struct shmipc_peer_event.flags */
#define SHMIPC_PEER_REPLAY	0x1U	/* a death from before the open */

struct shmipc_peer_event {
	uint32_t type;		/* SHMIPC_PEER_* */
	int32_t pid;		/* caller's pid namespace; 0: not visible */
	uint64_t seq;		/* module: per region; portable: per handle */
	uint64_t peer_id;
	uint32_t status;	/* DEATH: wait(2) status or UNKNOWN */
	uint32_t flags;		/* SHMIPC_PEER_REPLAY */
};

/*
 * The next JOIN, LEAVE or DEATH of the region's peers since the handle
 * was opened, waiting until @deadline_ns.  Deaths from before the open
 * (module: dead peers still marked; portable: dead peers still in the
 * table) come first, flagged SHMIPC_PEER_REPLAY.  Returns 0, -ETIMEDOUT,
 * -EIDRM (module: the region was destroyed and every event was read),
 * -EBADMSG (portable: corrupt peer table), the backend's.  A signal does
 * not end the wait (it resumes until the deadline).  One thread at a time.
 */
int shmipc_inspect_next_event(struct shmipc_inspect *in,
			      struct shmipc_peer_event *ev,
			      uint64_t deadline_ns);

#ifdef __cplusplus
}
#endif

#endif /* SHMIPC_INTROSPECT_H */
