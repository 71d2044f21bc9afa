// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * spsc_producer [REGION [COUNT]]: send COUNT (default 1000) numbered
 * messages to spsc_consumer over an SPSC channel, then close.
 *
 *	spsc_consumer my-region &
 *	spsc_producer my-region 100000
 *
 * Exit status: 0 when all were sent, 2 when the consumer died, 1 on any
 * other error.
 */
#include <stdlib.h>

#include "spsc_example.h"

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : EXAMPLE_REGION;
	unsigned long long count = 1000, seq;
	struct shmipc_region *r;
	struct shmipc_spsc *tx;
	char *end;
	int err = 0, rc;

	if (argc > 2) {
		count = strtoull(argv[2], &end, 10);
		if (*end || argv[2][0] == '-') {
			fprintf(stderr, "usage: %s [REGION [COUNT]]\n", argv[0]);
			return 1;
		}
	}
	if (example_attach(name, SHMIPC_PRODUCER, &r, &tx))
		return 1;
	printf("producer: sending %llu messages on %s (%s backend)\n", count,
	       name, shmipc_backend_name(shmipc_backend()));
	fflush(stdout);

	for (seq = 0; seq < count; seq++) {
		struct square m = { .seq = seq, .value = seq * seq };

		/* Copies the message into the next slot.  It sleeps only
		 * while the ring is full, and makes a system call only when
		 * the consumer sleeps.  (shmipc_spsc_send_burst() sends many
		 * at once; shmipc_spsc_reserve()/commit() writes in place.) */
		err = shmipc_spsc_send(tx, &m,
				       shmipc_deadline_in(EXAMPLE_PATIENCE_NS));
		if (err)
			break;
	}

	switch (err) {
	case 0:
		printf("producer: sent %llu messages\n", count);
		rc = 0;
		break;
	case -EOWNERDEAD:	/* the consumer was killed or crashed */
		printf("producer: the consumer died after %llu messages\n", seq);
		rc = 2;
		break;
	default:		/* -EPIPE: it closed early; -ETIMEDOUT: hung */
		fprintf(stderr, "producer: %s\n", shmipc_strerror(err));
		rc = 1;
	}
	/* The consumer gets -EPIPE once it has received every message. */
	shmipc_spsc_close(tx);
	/* The consumer removes the region's name when it is done; if it died,
	 * nobody else will (the portable backend keeps names until then). */
	if (err == -EOWNERDEAD)
		shmipc_region_unlink(name);
	shmipc_region_close(r);
	return rc;
}
