/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal entry points of the SPSC channel (spsc.c) for structures that
 * embed SPSC rings inside a larger object of their own (the stream's
 * segment index queues), rather than naming each in the directory.
 */
#ifndef SHMIPC_SPSC_INTERNAL_H
#define SHMIPC_SPSC_INTERNAL_H

#include "internal.h"

/* Bytes of a ring (header + slots) of @capacity @slot_size messages. */
SHMIPC_LOCAL uint64_t spsc_bytes(uint32_t slot_size, uint32_t capacity);

/*
 * Lay out a ring at @off of @r (spsc_bytes() bytes, zeroed, 64-aligned)
 * holding the @n messages at @msgs already (@n <= @capacity), as if a
 * producer had sent them; nobody attached.  -EINVAL, -EBADMSG.
 */
SHMIPC_LOCAL int spsc_init_at(struct shmipc_region *r, uint64_t off,
			      uint32_t slot_size, uint32_t capacity,
			      const void *msgs, uint32_t n);

/* shmipc_spsc_open() of the ring at @off (@size bytes of the object). */
SHMIPC_LOCAL int spsc_open_at(struct shmipc_region *r, uint64_t off,
			      uint64_t size, enum shmipc_role role,
			      struct shmipc_spsc **out);

/*
 * Block until there are @n free slots (producer) or @n messages
 * (consumer), like shmipc_spsc_send/recv without moving anything.
 */
SHMIPC_LOCAL int spsc_wait(struct shmipc_spsc *ch, uint32_t n,
			   uint64_t deadline_ns);

/* Our own cursor (producer: head; consumer: tail), free-running. */
SHMIPC_LOCAL uint32_t spsc_pos(const struct shmipc_spsc *ch);

#endif /* SHMIPC_SPSC_INTERNAL_H */
