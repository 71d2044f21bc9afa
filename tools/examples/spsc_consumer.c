// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * spsc_consumer [REGION]: receive spsc_producer's messages until it
 * closes, check each, print how many arrived and their sum, and remove
 * the region's name.
 *
 * Exit status: 0 when the producer closed after sending, 2 when it died,
 * 1 on any other error.
 */
#include "spsc_example.h"

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : EXAMPLE_REGION;
	unsigned long long received = 0, sum = 0;
	struct shmipc_region *r;
	struct shmipc_spsc *rx;
	struct square m;
	int err, rc;

	if (example_attach(name, SHMIPC_CONSUMER, &r, &rx))
		return 1;
	printf("consumer: ready on %s (%s backend)\n", name,
	       shmipc_backend_name(shmipc_backend()));
	fflush(stdout);

	for (;;) {
		/* Takes the oldest message; sleeps while there is none.  It
		 * fails with -EPIPE once the producer has closed and every
		 * message was received, -EOWNERDEAD if the producer died. */
		err = shmipc_spsc_recv(rx, &m,
				       shmipc_deadline_in(EXAMPLE_PATIENCE_NS));
		if (err)
			break;
		/* Another process wrote it: check before trusting it. */
		if (m.seq != received || m.value != m.seq * m.seq) {
			fprintf(stderr, "consumer: message %llu is wrong\n",
				received);
			err = -EBADMSG;
			break;
		}
		received++;
		sum += m.value;
	}

	switch (err) {
	case -EPIPE:		/* the normal end */
		printf("consumer: received %llu messages, sum %llu\n",
		       received, sum);
		rc = 0;
		break;
	case -EOWNERDEAD:	/* everything it sent before dying arrived */
		printf("consumer: the producer died after %llu messages\n",
		       received);
		rc = 2;
		break;
	default:
		fprintf(stderr, "consumer: %s\n", shmipc_strerror(err));
		rc = 1;
	}
	shmipc_spsc_close(rx);
	/* Both sides are done with the region: remove its name. */
	shmipc_region_unlink(name);
	shmipc_region_close(r);
	return rc;
}
