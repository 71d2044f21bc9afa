/* SPDX-License-Identifier: GPL-2.0 */
/* What lib_ctl_test and its worker (helpers/ctl_worker.c) agree on. */
#ifndef CTL_TEST_H
#define CTL_TEST_H

#include <stdint.h>

#define CTL_TEST_MAX	(64 * 1024)	/* payload bytes the test uses */

/* The worker's reply: this, then the request's payload. */
struct ctl_test_reply {
	uint32_t kind;		/* of the request */
	uint32_t nth;		/* requests this process took, from 1 */
	uint32_t pid;		/* the worker's */
	uint32_t pad;
};

#endif /* CTL_TEST_H */
