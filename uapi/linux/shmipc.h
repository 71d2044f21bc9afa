/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * shmipc: named shared-memory regions with blocking wake-ups.
 *
 * /dev/shmipc is a control device.  Its ioctls create, open, unlink and
 * list named regions; CREATE and OPEN return a new close-on-exec *region
 * fd*.  A region fd is mmap()ed (MAP_SHARED only) and carries the
 * per-region ioctls: INFO, WAIT, WAKE, WAITV, the peer ioctls and PEERS.
 *
 * Names
 *   1..SHMIPC_NAME_MAX-1 bytes of [A-Za-z0-9._-], not "." or "..",
 *   NUL-terminated inside the array, every byte after the NUL zero.
 *   Violations give -EINVAL; no NUL in the array gives -ENAMETOOLONG.
 *
 *   Names are private to the creator's *user namespace*.  We chose the
 *   user namespace over the IPC namespace because ownership and permission
 *   checks (uid, gid, CAP_IPC_OWNER) are already interpreted in it, any
 *   process can enter a new one without privilege (unshare -U), and a
 *   module can hold a reference on it (put_ipc_ns() is not exported in
 *   6.1).  A container that shares the host's user namespace shares its
 *   names: give it its own user namespace to isolate them.
 *
 * Lifetime
 *   A region lives while any open file description refers to it: every
 *   region fd counts, with its dup()s and inherited or passed copies.  A
 *   region created without SHMIPC_CREATE_PERSISTENT loses its name when
 *   its last fd closes; a persistent one keeps its name (and its memory)
 *   until SHMIPC_IOC_UNLINK, even with no fd open; a *tied* one
 *   (SHMIPC_CREATE_TIED) keeps it until UNLINK or until the region it is
 *   tied to goes.  UNLINK removes a name
 *   at once; holders keep using the region.  A mapping keeps the memory
 *   it maps alive after every fd is closed (as with memfd), but not the
 *   name, and it counts in no quota: quotas bound regions.
 *
 * Permissions (as SysV IPC)
 *   The creator's euid/egid become owner and creator ids; mode has the
 *   0777 bits.  OPEN checks read (and write unless SHMIPC_OPEN_RDONLY)
 *   against the owner, group or other bits; CAP_IPC_OWNER in the region's
 *   user namespace overrides.  UNLINK needs the owner or creator uid, or
 *   CAP_IPC_OWNER.  A read-only fd can map only without PROT_WRITE and
 *   can never gain it (mprotect and mremap refuse).  A SHMIPC_OPEN_STAT
 *   fd needs read permission (as IPC_STAT) and allows INFO and events
 *   (read, poll) only: mmap on it fails with -EACCES; WAIT, WAKE, WAITV,
 *   ATTACH, DETACH, OWN and RECLAIM with -EBADF.  MAP_PRIVATE gives -EINVAL; a mapping past
 *   the region's last page gives -ENXIO; mremap() cannot grow a mapping.
 *
 * Quotas (module parameters, writable by root at run time)
 *   max_region_size  bytes of one region      (larger: -EFBIG)
 *   max_user_regions live regions per creator uid (more: -EDQUOT)
 *   max_total_bytes  bytes of all live regions, default half of RAM
 *                    (more: -ENOSPC)
 *   max_region_peers attached plus marked dead peers of one region
 *                    (more: ATTACH gives -EUSERS)
 *   max_uring_wait_ms longest parked io_uring wait (see io_uring)
 *
 * Words, wait and wake (futex semantics scoped to a region)
 *   A word is a __u32 at a byte offset of the region: 4-byte aligned and
 *   inside the region's size, else -EINVAL.  The region need not be mapped
 *   by the caller.  WAIT compares the word with .expected and, if equal,
 *   sleeps atomically with respect to WAKE on the same word: a WAKE issued
 *   after the word was changed cannot be missed.  Results:
 *     0           woken by WAKE (may rarely be spurious: re-check the word)
 *     -EAGAIN     the word did not hold .expected
 *     -ETIMEDOUT  the absolute CLOCK_MONOTONIC deadline passed
 *     -ERESTARTSYS/-EINTR  a signal arrived (the deadline is absolute, so
 *                 a restart is safe)
 *   SHMIPC_DEADLINE_NONE waits forever; other deadlines above INT64_MAX
 *   give -EINVAL.  WAKE wakes at most .count waiters of the word
 *   (SHMIPC_WAKE_ALL for all; 0 is -EINVAL) and returns how many it woke.
 *   WAITV waits on up to SHMIPC_WAITV_MAX words, each in any region fd,
 *   and returns the index of the entry whose word was woken.  Plain
 *   futex(2) also works on mapped region words (the memory is shmem).
 *
 * Peers and death (SHMIPC_FEAT_PEERS)
 *   A process becomes a *peer* of a region with ATTACH on any of its
 *   region fds and gets an opaque, never reused peer id.  The peer is the
 *   process (its thread group), not the fd: fork() creates no peer, and an
 *   fd inherited or passed elsewhere neither keeps a dead peer alive nor
 *   hides its death.  One peer per process and region (-EBUSY).  DETACH
 *   ends it cleanly (a LEAVE event); the exit of its process in any way
 *   (exit, signal, crash, OOM kill) ends it as a DEATH, detected by the
 *   kernel at once from the process exit itself, whatever fds exist.
 *
 *   Events: every region fd has a queue of SHMIPC_EVENT_QUEUE_LEN records
 *   (struct shmipc_event) for the JOIN, LEAVE and DEATH of the region's
 *   peers, read with read() (whole records; a buffer smaller than one
 *   record: -EINVAL; none pending: blocks, or -EAGAIN with O_NONBLOCK)
 *   and pollable (EPOLLIN when one is pending, EPOLLHUP once the region
 *   is destroyed).  A DEATH's status is the wait(2) status of the process
 *   (WIFSIGNALED/WTERMSIG, WEXITSTATUS).  When a queue is full, further
 *   events are counted, and an OVERFLOW record carrying the count stands
 *   where they were lost: loss is never silent, and seq shows the gap.
 *
 *   Events carry the pid as seen in the pid namespace of the process that
 *   opened the fd; read() returns 0 once a destroyed region's queue is
 *   drained.
 *
 *   Owned words: OWN registers a word of the caller's peer (a writable
 *   fd is needed, else -EBADF; at most SHMIPC_OWNED_MAX, else -ENOSPC).
 *   When that peer dies, the kernel sets SHMIPC_OWNER_DIED (bit 31) in
 *   each of its owned words and wakes all their waiters with -EOWNERDEAD.
 *   A dead peer that owned words stays *marked* until someone repairs
 *   them and calls RECLAIM (writable fd; a live peer gives -EBUSY): a
 *   region fd opened meanwhile still gets its DEATH event (flag
 *   SHMIPC_EVENT_REPLAY).  A peer that owned no words is forgotten once
 *   its death is posted.
 *
 *   Waiters and death: a WAIT with .peer_id 0 returns -EOWNERDEAD when
 *   any peer of the region dies while it sleeps.  With .peer_id set, only
 *   that peer's death counts (or a clean leave: -ESRCH), and it is checked
 *   on entry too: a dead peer still marked gives -EOWNERDEAD at once, a
 *   peer no longer known (left, reclaimed, dead without owned words, or
 *   never attached) -ESRCH.  Either way a waiter that depends on one peer
 *   cannot sleep past its end.  The entry check never lags the exit: once
 *   wait(2) or waitid() has reported the process exited, the peer is no
 *   longer found attached (a deadline 0 WAIT is a liveness probe); a
 *   pidfd may poll readable a moment before that.  Waiters of a destroyed
 *   region return -EIDRM.
 *
 *   Destroy: UNLINK with SHMIPC_UNLINK_DESTROY also tears the region
 *   down: waiters and parked io_uring waits return -EIDRM, new WAIT,
 *   ATTACH and mmap calls too, and every fd polls EPOLLHUP.
 *
 * io_uring (SHMIPC_FEAT_URING_CMD)
 *   Region fds work with IORING_OP_POLL_ADD (events, hang-up), and
 *   IORING_OP_URING_CMD with cmd_op SHMIPC_URING_WAIT and a struct
 *   shmipc_uring_wait in sqe->cmd parks a WAIT: it completes with the
 *   WAIT result on wake, deadline, death or destroy.  Closing the region
 *   fd (or exiting) cancels the caller's parked waits on it (-ECANCELED).
 *   Linux 6.1 cannot cancel a parked command otherwise (execve(), an
 *   SQPOLL thread's exit, a region fd used only as a fixed file), so a
 *   parked wait lasts at most max_uring_wait_ms (default 1000): it then
 *   completes with -EINTR, and the caller resubmits it.
 *
 * Introspection (SHMIPC_FEAT_LIST)
 *   SHMIPC_IOC_LIST on /dev/shmipc lists the regions of the caller's user
 *   namespace that it may read (the rule of a SHMIPC_OPEN_STAT open: read
 *   permission, or CAP_IPC_OWNER), unlinked ones still held open included
 *   (flag SHMIPC_INFO_UNLINKED), one struct shmipc_region_entry each.
 *   SHMIPC_IOC_PEERS on any region fd (a STAT fd too) lists the region's
 *   peers, one struct shmipc_peer_entry each: the attached ones (ALIVE)
 *   and the dead ones still marked (DEAD, with their wait(2) status until
 *   RECLAIM).  A peer that left, or that died owning no word, is gone
 *   from the list at once (its LEAVE or DEATH event tells of it).  Pids
 *   are in the caller's pid namespace, 0 when not visible there.
 *
 *   Both take a struct shmipc_list and page the same way: entries come
 *   in increasing id order (ids are never reused), .cursor is 0 for the
 *   first call and the .next of the previous one after that; .next is 0
 *   once nothing follows.  A region or peer that exists for the whole
 *   walk is listed exactly once; one made or removed meanwhile is listed
 *   at most once.  .count 0 only counts: .total is the number of entries
 *   visible when the call began.  .entry_size is the stride of the
 *   caller's array: at least the size of the entry struct (a later
 *   version may add fields at the end; bytes past what the kernel knows
 *   are zeroed), a multiple of 8, at most SHMIPC_LIST_ENTRY_MAX.
 *   Errors: -EINVAL (flags, reserved, entry_size), -EFAULT (the struct or
 *   the array is not writable).  Nothing is locked while user memory is
 *   written, so a slow or faulting buffer cannot stall other callers.
 *
 * ABI rules
 *   Every flags, pad and reserved field must be zero (-EINVAL); unknown
 *   ioctls give -ENOTTY.  Out fields are ignored on input.  Structs never
 *   change size: a new behaviour gets a flag or a new ioctl number, and
 *   SHMIPC_IOC_GET_FEATURES tells which are there.
 *
 * Example
 *   int dev = open("/dev/shmipc", O_RDWR | O_CLOEXEC);
 *   struct shmipc_create c = { .name = "demo", .size = 4096, .mode = 0600 };
 *   if (ioctl(dev, SHMIPC_IOC_CREATE, &c) < 0) err(1, "create");
 *   __u32 *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
 *   struct shmipc_wait wt = { .offset = 0, .expected = 0,
 *                             .deadline_ns = SHMIPC_DEADLINE_NONE };
 *   ioctl(c.fd, SHMIPC_IOC_WAIT, &wt);    // sleeps while *w == 0
 *   // elsewhere: *w = 1; struct shmipc_wake wk = { .offset = 0, .count = 1 };
 *   //            ioctl(fd, SHMIPC_IOC_WAKE, &wk);
 */
#ifndef _UAPI_LINUX_SHMIPC_H
#define _UAPI_LINUX_SHMIPC_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define SHMIPC_API_VERSION	1
#define SHMIPC_NAME_MAX		64	/* bytes, including the NUL */
#define SHMIPC_WAITV_MAX	64	/* entries of one WAITV */
#define SHMIPC_DEADLINE_NONE	(~(__u64)0)
#define SHMIPC_WAKE_ALL		(~(__u32)0)
#define SHMIPC_EVENT_QUEUE_LEN	128	/* records per region fd */
#define SHMIPC_OWNER_DIED	0x80000000U	/* set in owned words */
#define SHMIPC_OWNED_MAX	64	/* owned words per peer */

/* struct shmipc_features.features */
#define SHMIPC_FEAT_REGIONS	0x1ULL	/* CREATE/OPEN/UNLINK/INFO/mmap */
#define SHMIPC_FEAT_WAIT	0x2ULL	/* WAIT/WAKE */
#define SHMIPC_FEAT_WAITV	0x4ULL	/* WAITV */
#define SHMIPC_FEAT_PEERS	0x8ULL	/* ATTACH/DETACH/OWN/RECLAIM, events */
#define SHMIPC_FEAT_URING_CMD	0x10ULL	/* SHMIPC_URING_WAIT */
#define SHMIPC_FEAT_LIST	0x20ULL	/* LIST, PEERS */
#define SHMIPC_FEAT_TIED	0x40ULL	/* SHMIPC_CREATE_TIED */

struct shmipc_features {
	__u32 api_version;	/* out: SHMIPC_API_VERSION */
	__u32 name_max;		/* out: SHMIPC_NAME_MAX */
	__u32 waitv_max;	/* out: SHMIPC_WAITV_MAX */
	__u32 event_queue_len;	/* out: SHMIPC_EVENT_QUEUE_LEN */
	__u64 features;		/* out: SHMIPC_FEAT_* */
	__u64 max_region_size;	/* out: current quota, bytes */
	__u64 reserved[4];	/* out: 0 */
};

/* struct shmipc_create.flags */
#define SHMIPC_CREATE_EXCL	  0x1U /* fail with -EEXIST if it exists */
#define SHMIPC_CREATE_PERSISTENT 0x2U /* name outlives its fds: UNLINK */
#define SHMIPC_CREATE_TIED	  0x4U /* name lives while .tie_fd's region does */

/* struct shmipc_create.result */
#define SHMIPC_RESULT_CREATED	0x1U /* a new region was made */

/*
 * Create a region, or without SHMIPC_CREATE_EXCL open an existing one
 * read-write (then .size must not exceed its size, else -EINVAL, and
 * .mode, SHMIPC_CREATE_PERSISTENT and SHMIPC_CREATE_TIED are ignored,
 * though .tie_fd is still checked).  Memory reads as zero.
 *
 * SHMIPC_CREATE_TIED (SHMIPC_FEAT_TIED) makes the new region's name live
 * as long as the *parent* region of the writable region fd .tie_fd: like
 * a persistent name, it outlives the region's own fds, until UNLINK (by
 * its owner or creator), until the parent region itself goes (no fd
 * open, no persistent name) or until the parent is destroyed
 * (UNLINK_DESTROY).  So a process can hand a new region to a peer that
 * may open it after the creator died, and nothing is left when both are
 * gone.  It counts against its creator's quotas until then.  A region
 * created tied is never a parent.  Errors: -EBADF (.tie_fd is no open
 * region fd, or not writable), -EINVAL (with SHMIPC_CREATE_PERSISTENT;
 * a parent created tied; .tie_fd set without the flag; .pad or
 * .reserved not 0), -EIDRM (the parent was destroyed).
 */
struct shmipc_create {
	char name[SHMIPC_NAME_MAX];
	__u64 size;		/* bytes, > 0 */
	__u32 mode;		/* permission bits, within 0777 */
	__u32 flags;		/* SHMIPC_CREATE_* */
	__s32 fd;		/* out: region fd (O_CLOEXEC) */
	__u32 result;		/* out: SHMIPC_RESULT_* */
	__s32 tie_fd;		/* with SHMIPC_CREATE_TIED: parent region fd */
	__u32 pad;		/* 0 */
	__u64 reserved;		/* 0 */
};

/* struct shmipc_open.flags */
#define SHMIPC_OPEN_RDONLY	0x1U /* read-only fd and mappings */
#define SHMIPC_OPEN_STAT	0x2U /* INFO only, no permission needed */

struct shmipc_open {
	char name[SHMIPC_NAME_MAX];
	__u32 flags;		/* SHMIPC_OPEN_* */
	__s32 fd;		/* out: region fd (O_CLOEXEC) */
	__u64 size;		/* out: region size in bytes */
	__u64 reserved[2];
};

/* struct shmipc_unlink.flags */
#define SHMIPC_UNLINK_DESTROY	0x1U /* also tear the region down */

struct shmipc_unlink {
	char name[SHMIPC_NAME_MAX];
	__u64 flags;		/* SHMIPC_UNLINK_* */
	__u64 reserved;
};

/* struct shmipc_info.flags */
#define SHMIPC_INFO_PERSISTENT	0x1U /* created persistent */
#define SHMIPC_INFO_UNLINKED	0x2U /* its name is gone */
#define SHMIPC_INFO_READ	0x4U /* this fd may read / map / wait */
#define SHMIPC_INFO_WRITE	0x8U /* this fd may map writable */
#define SHMIPC_INFO_DESTROYED	0x10U /* torn down by UNLINK_DESTROY */
#define SHMIPC_INFO_TIED	0x20U /* named, tied to a live parent */

struct shmipc_info {
	char name[SHMIPC_NAME_MAX];
	__u64 size;		/* bytes */
	__u64 id;		/* unique while the module is loaded */
	__u32 uid;		/* owner, in the caller's user namespace */
	__u32 gid;
	__u32 cuid;		/* creator */
	__u32 cgid;
	__u32 mode;		/* 0777 bits */
	__u32 flags;		/* SHMIPC_INFO_* */
	__u32 nr_files;		/* open region file descriptions */
	__u32 nr_waiters;	/* words waited on (WAIT, WAITV, io_uring) */
	__u32 nr_peers;		/* attached peers */
	__u32 nr_dead;		/* dead peers still marked (not reclaimed) */
	__u64 reserved[3];	/* out: 0 */
};

struct shmipc_wait {
	__u64 offset;		/* byte offset of the word */
	__u64 deadline_ns;	/* CLOCK_MONOTONIC, or SHMIPC_DEADLINE_NONE */
	__u32 expected;
	__u32 flags;		/* must be 0 */
	__u64 peer_id;		/* 0: any peer's death; else only this one's */
};

struct shmipc_wake {
	__u64 offset;
	__u32 count;		/* 1.., or SHMIPC_WAKE_ALL */
	__u32 flags;		/* must be 0 */
	__u64 reserved;
};

struct shmipc_waitv_entry {
	__u64 offset;
	__u64 peer_id;		/* as in struct shmipc_wait */
	__s32 fd;		/* any region fd of the caller */
	__u32 expected;
	__u32 flags;		/* must be 0 */
	__u32 reserved;
};

struct shmipc_waitv {
	__u64 entries;		/* user pointer to struct shmipc_waitv_entry[] */
	__u32 count;		/* 1..SHMIPC_WAITV_MAX */
	__u32 flags;		/* must be 0 */
	__u64 deadline_ns;	/* CLOCK_MONOTONIC, or SHMIPC_DEADLINE_NONE */
	__u64 reserved;
};

struct shmipc_attach {
	__u64 peer_id;		/* out */
	__u32 flags;		/* must be 0 */
	__u32 reserved;
};

/* struct shmipc_own.flags */
#define SHMIPC_OWN_RELEASE	0x1U /* stop owning the word */

struct shmipc_own {
	__u64 offset;		/* an aligned word inside the region */
	__u32 flags;		/* SHMIPC_OWN_* */
	__u32 reserved;
};

struct shmipc_reclaim {
	__u64 peer_id;		/* a dead, marked peer */
	__u64 reserved;
};

/* struct shmipc_event.type */
#define SHMIPC_EVENT_JOIN	1	/* a peer attached */
#define SHMIPC_EVENT_LEAVE	2	/* a peer detached cleanly */
#define SHMIPC_EVENT_DEATH	3	/* a peer's process ended */
#define SHMIPC_EVENT_OVERFLOW	4	/* .status events were lost */

/* struct shmipc_event.flags */
#define SHMIPC_EVENT_REPLAY	0x1U /* a death from before this fd opened */

struct shmipc_event {
	__u32 type;		/* SHMIPC_EVENT_* */
	__s32 pid;		/* in the reader's pid namespace; 0 if not there */
	__u64 seq;		/* per region, from 1; OVERFLOW: 0 */
	__u64 peer_id;		/* OVERFLOW: 0 */
	__u32 status;		/* DEATH: wait(2) status; OVERFLOW: lost */
	__u32 flags;		/* SHMIPC_EVENT_* flags */
};

/* sqe->cmd of IORING_OP_URING_CMD, cmd_op SHMIPC_URING_WAIT */
struct shmipc_uring_wait {
	__u64 wait;		/* user pointer to struct shmipc_wait */
	__u64 reserved;
};

/* Paging of SHMIPC_IOC_LIST and SHMIPC_IOC_PEERS (see Introspection). */
struct shmipc_list {
	__u64 entries;		/* user pointer to the entry array */
	__u32 count;		/* in: room in entries; out: entries written */
	__u32 entry_size;	/* stride of entries in bytes */
	__u64 cursor;		/* 0 first, then .next of the last call */
	__u64 next;		/* out: cursor of the next call; 0 at the end */
	__u32 total;		/* out: entries visible in all */
	__u32 flags;		/* must be 0 */
	__u64 reserved[2];
};

#define SHMIPC_LIST_ENTRY_MAX	1024	/* largest .entry_size */

/* One region of SHMIPC_IOC_LIST: as struct shmipc_info, for the caller. */
struct shmipc_region_entry {
	char name[SHMIPC_NAME_MAX];
	__u64 size;		/* bytes */
	__u64 id;		/* as shmipc_info.id; entries in id order */
	__u32 uid;		/* owner, in the caller's user namespace */
	__u32 gid;
	__u32 mode;		/* 0777 bits */
	__u32 flags;		/* SHMIPC_INFO_* but _READ and _WRITE */
	__u32 nr_peers;		/* attached peers */
	__u32 nr_waiters;	/* words waited on */
	__u32 nr_files;		/* open region file descriptions */
	__u32 nr_dead;		/* dead peers still marked */
	__u64 reserved[2];	/* out: 0 */
};

/* struct shmipc_peer_entry.state */
#define SHMIPC_PEER_STATE_ALIVE	1	/* attached */
#define SHMIPC_PEER_STATE_DEAD	2	/* died owning words, not yet reclaimed */

/* One peer of SHMIPC_IOC_PEERS. */
struct shmipc_peer_entry {
	__u64 peer_id;		/* entries in peer id order */
	__s32 pid;		/* in the caller's pid namespace; 0 if not there */
	__u32 state;		/* SHMIPC_PEER_STATE_* */
	__u32 nr_owned;		/* owned words (SHMIPC_IOC_OWN) */
	__u32 status;		/* DEAD: wait(2) status; ALIVE: 0 */
	__u64 reserved;		/* out: 0 */
};

#define SHMIPC_IOC_MAGIC	0xB2

/* On /dev/shmipc */
#define SHMIPC_IOC_GET_FEATURES	_IOR(SHMIPC_IOC_MAGIC, 0x00, struct shmipc_features)
#define SHMIPC_IOC_CREATE	_IOWR(SHMIPC_IOC_MAGIC, 0x01, struct shmipc_create)
#define SHMIPC_IOC_OPEN		_IOWR(SHMIPC_IOC_MAGIC, 0x02, struct shmipc_open)
#define SHMIPC_IOC_UNLINK	_IOW(SHMIPC_IOC_MAGIC, 0x03, struct shmipc_unlink)
#define SHMIPC_IOC_LIST		_IOWR(SHMIPC_IOC_MAGIC, 0x04, struct shmipc_list)

/* On a region fd; WAKE and WAITV return a count / index (>= 0) */
#define SHMIPC_IOC_INFO		_IOR(SHMIPC_IOC_MAGIC, 0x10, struct shmipc_info)
#define SHMIPC_IOC_WAIT		_IOW(SHMIPC_IOC_MAGIC, 0x11, struct shmipc_wait)
#define SHMIPC_IOC_WAKE		_IOW(SHMIPC_IOC_MAGIC, 0x12, struct shmipc_wake)
#define SHMIPC_IOC_WAITV	_IOW(SHMIPC_IOC_MAGIC, 0x13, struct shmipc_waitv)
#define SHMIPC_IOC_ATTACH	_IOWR(SHMIPC_IOC_MAGIC, 0x20, struct shmipc_attach)
#define SHMIPC_IOC_DETACH	_IO(SHMIPC_IOC_MAGIC, 0x21)	/* arg 0 */
#define SHMIPC_IOC_OWN		_IOW(SHMIPC_IOC_MAGIC, 0x22, struct shmipc_own)
#define SHMIPC_IOC_RECLAIM	_IOW(SHMIPC_IOC_MAGIC, 0x23, struct shmipc_reclaim)
#define SHMIPC_IOC_PEERS	_IOWR(SHMIPC_IOC_MAGIC, 0x24, struct shmipc_list)

/* cmd_op of IORING_OP_URING_CMD on a region fd */
#define SHMIPC_URING_WAIT	SHMIPC_IOC_WAIT

#endif /* _UAPI_LINUX_SHMIPC_H */
