// SPDX-License-Identifier: GPL-2.0
/*
 * kill-to-wake, classic iceoryx 2.0 (C binding): the victim offers a
 * publisher.  Nothing in a runtime learns of a peer's death by itself:
 * RouDi's process monitoring removes a process whose keep-alive messages
 * stopped (2.0: after 1.5 s), which withdraws its publishers' offers
 * from the service registry.  A subscriber does not see it (Debian's
 * build is many-to-many: a subscription stays SUBSCRIBED, waiting for
 * any publisher), and the C binding has no event for a registry change,
 * so the survivor asks service discovery for the victim's service every
 * KW_IOX_POLL_NS until it is gone.
 *
 * RouDi is started for this mode; the survivor's runtime is made then
 * (the killer and its victims were forked before it: a runtime does not
 * survive fork()), each victim makes its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "iceoryx_binding_c/enums.h"
#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/service_discovery.h"
#include "iceoryx_binding_c/types.h"

#include "bench.h"
#include "killwake.h"

#define KW_IOX_POLL_NS	1000000ULL	/* 1 ms */
#define KW_IOX_SERVICE	"kill-to-wake"
#define KW_IOX_EVENT	"death"

static iox_service_discovery_storage_t discovery_storage;
static iox_service_discovery_t discovery;

static void runtime_init(const char *role)
{
	char name[64];

	snprintf(name, sizeof(name), "kill-to-wake-%s-%d", role, (int)getpid());
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);	/* terminates the process if RouDi is gone */
}

/*
 * RouDi is stopped at exit, after the survivor's runtime deregistered
 * in its destructor (which runs first: atexit() order is the reverse of
 * registration); RouDi signals (SIGTERM) the applications still
 * registered when it stops.
 */
static int iox_start(void)
{
	int ret = roudi_start();

	if (ret)
		return ret;
	atexit(roudi_stop);
	runtime_init("survivor");
	discovery = iox_service_discovery_init(&discovery_storage);
	return 0;
}

static void iox_stop(void)
{
	iox_service_discovery_deinit(discovery);
}

/* The publisher (offered at once), until the victim dies. */
static int iox_victim(const struct kw_trial *t)
{
	static iox_pub_storage_t storage;
	iox_pub_options_t o;

	runtime_init("victim");
	iox_pub_options_init(&o);
	iox_pub_init(&storage, KW_IOX_SERVICE, t->name, KW_IOX_EVENT, &o);
	return 0;
}

/* Ask discovery every KW_IOX_POLL_NS until the victim's service is
 * (@offered) or is not. */
static int iox_until(struct kw_trial *t, bool offered)
{
	iox_service_description_t found[1];
	uint64_t missed;

	while ((iox_service_discovery_find_service(discovery, KW_IOX_SERVICE,
						   t->name, KW_IOX_EVENT,
						   found, 1, &missed,
						   MessagingPattern_PUB_SUB) > 0) !=
	       offered) {
		if (now_ns() >= t->limit_ns)
			return -ETIMEDOUT;
		sleep_ns(KW_IOX_POLL_NS);
	}
	return 0;
}

/* RouDi has registered the victim's offer. */
static int iox_arm(struct kw_trial *t)
{
	return iox_until(t, true);
}

static int iox_await(struct kw_trial *t)
{
	return iox_until(t, false);
}

const struct kw_mode kw_iceoryx = {
	.name = "iceoryx-roudi-poll-1ms",
	.how = "RouDi's monitoring; service discovery asked every 1 ms",
	.slow = true,
	.start = iox_start,
	.stop = iox_stop,
	.victim = iox_victim,
	.arm = iox_arm,
	.await = iox_await,
};
