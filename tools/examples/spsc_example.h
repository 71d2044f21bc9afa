/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What spsc_producer and spsc_consumer agree on: the region, the channel
 * inside it and the message.  Either program may start first: each one
 * creates the region and the channel when they are missing, then attaches
 * to its own end of the channel.
 */
#ifndef SPSC_EXAMPLE_H
#define SPSC_EXAMPLE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <shmipc.h>

#define EXAMPLE_REGION		"spsc-example"	/* default region name */
#define EXAMPLE_REGION_SIZE	(1 << 20)
#define EXAMPLE_CHANNEL		"squares"	/* the channel's directory key */
#define EXAMPLE_CAPACITY	256		/* messages, a power of two */
/* Both sides give up after this long without progress (a hung peer). */
#define EXAMPLE_PATIENCE_NS	(30 * 1000000000ULL)

/* One message: a sequence number and its square. */
struct square {
	uint64_t seq;
	uint64_t value;
};

/*
 * Open the region @name (create it if missing), create the channel unless
 * it exists, and attach to it as @role.  Prints why on failure.
 */
static inline int example_attach(const char *name, enum shmipc_role role,
				 struct shmipc_region **r,
				 struct shmipc_spsc **ch)
{
	int err;

	/* No SHMIPC_REGION_EXCL: the second of the two programs joins the
	 * region the first one made (and waits until it is initialized). */
	err = shmipc_region_open(name, EXAMPLE_REGION_SIZE, 0600,
				 SHMIPC_REGION_CREATE, r);
	if (err) {
		fprintf(stderr, "region %s: %s\n", name, shmipc_strerror(err));
		return err;
	}
	/* Exactly one creator wins; the other gets -EEXIST, which is fine. */
	err = shmipc_spsc_create(*r, EXAMPLE_CHANNEL, sizeof(struct square),
				 EXAMPLE_CAPACITY);
	if (!err || err == -EEXIST)
		err = shmipc_spsc_open(*r, EXAMPLE_CHANNEL, role, ch);
	/* A channel of the same name made by another program: not ours. */
	if (!err && shmipc_spsc_slot_size(*ch) != sizeof(struct square)) {
		shmipc_spsc_close(*ch);
		err = -EPROTO;
	}
	if (err) {
		fprintf(stderr, "channel %s: %s\n", EXAMPLE_CHANNEL,
			shmipc_strerror(err));
		shmipc_region_close(*r);
	}
	return err;
}

#endif /* SPSC_EXAMPLE_H */
