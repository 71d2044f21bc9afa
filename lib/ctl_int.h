/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Controller/worker protocol internals shared by ctl.c (controller) and
 * ctl_worker.c (worker): the shared slot table and the message header.
 *
 * Shared layout (object "ctl" of the controller's region):
 *   struct ctl_hdr, then nr_slots struct ctl_slot (a 64-byte line each).
 * Written by the controller: the header (once, magic last) and ctl_peer.
 * Written by a slot's worker: its slot's peer, pid and replies, and the
 * doorbell.  Everything a worker writes is checked or only used as a
 * hint: a lying worker can make the controller read early (the reply
 * buffer then says "nothing yet") or look dead, never crash it.
 *
 * Each request is a struct ctl_msg then the payload, on "w<N>.req"; each
 * reply a struct ctl_msg (same seq and kind) then the reply, on
 * "w<N>.rep".  After committing a reply the worker bumps its slot's
 * replies and rings the doorbell (bell_waiting / bell: the sleep-word
 * pair of internal.h), so one controller sleep covers every worker.
 */
#ifndef SHMIPC_CTL_INT_H
#define SHMIPC_CTL_INT_H

#include "internal.h"

#include <stdio.h>

#define CTL_MAGIC	0x4c544343U	/* "CCTL" */
#define CTL_OBJ		"ctl"
#define CTL_INITIAL	4096U		/* first generation of a buffer */
#define CTL_REGION_SIZE	(64U * 1024U)
#define CTL_MSG_MAX	(1ULL << 32)	/* largest max_msg (ctl.h) */

struct ctl_slot {
	_Atomic uint64_t peer;		/* worker's peer id (0: none yet) */
	_Atomic uint32_t pid;		/* worker's pid, for information */
	_Atomic uint32_t replies;	/* replies committed, all workers */
	uint8_t pad[64 - 16];
};

struct ctl_hdr {
	struct shmipc_obj_hdr obj;	/* magic, version, hdr_size */
	uint32_t nr_slots;
	uint64_t max_msg;		/* payload bytes (header excluded) */
	_Atomic uint64_t ctl_peer;	/* the controller's peer id */
	_Atomic uint32_t bell_waiting;	/* the controller sleeps on bell */
	_Atomic uint32_t bell;
	uint8_t pad[64 - 40];
	struct ctl_slot slots[];
};

_Static_assert(sizeof(struct ctl_hdr) == 64, "ctl header layout");
_Static_assert(sizeof(struct ctl_slot) == 64, "ctl slot layout");

struct ctl_msg {
	uint32_t kind;
	uint32_t flags;			/* 0 */
	uint64_t seq;			/* the transition's number */
};

/* Buffer keys of slot @slot. */
static inline void ctl_keys(unsigned int slot, char req[16], char rep[16])
{
	snprintf(req, 16, "w%u.req", slot);
	snprintf(rep, 16, "w%u.rep", slot);
}

static inline uint64_t ctl_obj_size(uint32_t nr_slots)
{
	return sizeof(struct ctl_hdr) + (uint64_t)nr_slots *
					sizeof(struct ctl_slot);
}

/* The header's configuration, checked once and then used from a private
 * copy (a hostile peer may rewrite the shared one at any time). */
struct ctl_cfg {
	uint32_t nr_slots;
	uint64_t max_msg;
};

/* Is @h's configuration valid for an object of @size bytes?  *@cfg: it. */
SHMIPC_LOCAL int ctl_hdr_check(const struct ctl_hdr *h, uint64_t size,
			       struct ctl_cfg *cfg);

/* Find and check the "ctl" object of @r: *@out, and *@cfg its checked
 * configuration.  -EBADMSG, or shmipc_obj_open()'s errors. */
SHMIPC_LOCAL int ctl_hdr_open(const struct shmipc_region *r,
			      struct ctl_hdr **out, struct ctl_cfg *cfg);

#endif /* SHMIPC_CTL_INT_H */
