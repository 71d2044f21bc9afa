// SPDX-License-Identifier: GPL-2.0
/*
 * A worker for lib_ctl_test (built into build/tests/{host,vm}/helpers/,
 * not run as a test).  Usage:
 *
 *   ctl_worker MODE [KIND [ONCE_FILE]]
 *
 * It opens the slot named by $SHMIPC_CTL and answers each request with
 * struct ctl_test_reply followed by the request's payload, until STOP
 * (it replies, then exits 0) or until the controller goes (exit 0).
 * MODE says what it does at the first request of kind KIND (all kinds
 * when KIND is 0 or missing), and, with ONCE_FILE, only if it could
 * remove that file (so a restarted worker behaves):
 *   echo        nothing special
 *   crash       exit 3 before opening the slot (KIND ignored)
 *   die-before  SIGKILL itself before replying
 *   die-after   SIGKILL itself right after replying
 *   die-acked   SIGKILLed inside its reply, between the ack of the
 *               request and the commit of the reply (a kill point)
 *   die-committed  SIGKILLed inside its reply, after the commit and
 *               before the count that tells the controller
 *   hang        never reply (sleeps until killed)
 *   leave       close the slot without replying, then sleep until killed
 *               (or until the controller's process ends: a failed test
 *               does not leave it behind)
 * Exit codes: 0 clean end, 3 crash mode, 10 + -errno of a failed call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "internal.h"	/* the kill points of the test build */
#include "ctl_test.h"

/* SIGKILL this process at the next pass through @kp. */
static void arm(enum shmipc_kill_point kp)
{
	atomic_store(&shmipc_test_kp_skip, 0);
	atomic_store(&shmipc_test_kp_signal, SIGKILL);
	atomic_store(&shmipc_test_kp, (int)kp);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "echo";
	unsigned int act_kind = argc > 2 ? (unsigned int)atoi(argv[2]) : 0;
	const char *once = argc > 3 ? argv[3] : NULL;
	struct ctl_test_reply hdr = { .pid = (uint32_t)getpid() };
	static char out[CTL_TEST_MAX + sizeof(hdr)];
	struct shmipc_worker *w;
	bool armed = true;
	int ret;

	if (!strcmp(mode, "crash"))
		return 3;
	ret = shmipc_worker_open(NULL, &w);
	if (ret)
		return 10 + (-ret < 100 ? -ret : 99);
	for (;;) {
		unsigned int kind;
		const void *payload;
		size_t len;
		bool act;

		ret = shmipc_worker_next(w, &kind, &payload, &len,
					 SHMIPC_FOREVER);
		if (ret == -EOWNERDEAD || ret == -EPIPE) {
			shmipc_worker_close(w);
			return 0;	/* the controller went: clean exit */
		}
		if (ret)
			return 10 + (-ret < 100 ? -ret : 99);
		hdr.kind = kind;
		hdr.nth++;
		act = armed && (!act_kind || kind == act_kind) &&
		      (!once || !unlink(once));
		if (act)
			armed = false;
		if (act && !strcmp(mode, "die-before"))
			raise(SIGKILL);
		if (act && !strcmp(mode, "leave")) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			shmipc_worker_close(w);
		}
		if (act && (!strcmp(mode, "hang") || !strcmp(mode, "leave")))
			for (;;)
				pause();
		if (act && !strcmp(mode, "die-acked"))
			arm(SHMIPC_KP_CTL_ACKED);
		if (act && !strcmp(mode, "die-committed"))
			arm(SHMIPC_KP_CTL_COMMITTED);
		if (len > CTL_TEST_MAX)
			len = CTL_TEST_MAX;
		memcpy(out, &hdr, sizeof(hdr));
		memcpy(out + sizeof(hdr), payload, len);
		ret = shmipc_worker_reply(w, out, sizeof(hdr) + len);
		if (ret)
			return 10 + (-ret < 100 ? -ret : 99);
		if (act && !strcmp(mode, "die-after"))
			raise(SIGKILL);
		if (kind == SHMIPC_CTL_STOP)
			break;
	}
	shmipc_worker_close(w);
	return 0;
}
