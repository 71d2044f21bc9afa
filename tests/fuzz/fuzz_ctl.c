// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the controller/worker region (slot table, doorbell, the
 * request and reply buffers' control blocks and the directory), through
 * a worker's open, next and reply and the controller's send, poll and
 * reply collection.  The controller is this process, attached to slot 0
 * (no child is spawned); see fuzz.h.
 */
#include "fuzz.h"

static struct shmipc_ctl *ctl;
static struct shmipc_ctl_worker *slot0;
static char spec0[80], spec1[80];

static int fz_setup(struct fz *f)
{
	int ret;

	/* The controller makes its own region: use it instead. */
	shmipc_region_close(f->r);
	shmipc_region_unlink(f->name);
	ret = shmipc_ctl_create(f->name, 2, 256, &ctl) ?:
	      shmipc_ctl_attach(ctl, 0, &slot0) ?:
	      shmipc_region_open(f->name, 0, 0, 0, &f->r);
	if (ret)
		return ret;
	f->sweep = true;	/* the buffers may grow to forged generations */
	snprintf(spec0, sizeof(spec0), "%s/0", f->name);
	snprintf(spec1, sizeof(spec1), "%s/1", f->name);
	/* A request waits for the worker of slot 0. */
	ret = shmipc_ctl_send_async(slot0, SHMIPC_CTL_PROCESS, "run 1", 5);
	f->off = 0;
	f->len = 8192;	/* header, directory, ctl object, buffers */
	return ret;
}

static void worker(const char *spec, unsigned int ops)
{
	struct shmipc_worker *w;
	const void *payload;
	unsigned int kind;
	size_t len;

	if (shmipc_worker_open(spec, &w))
		return;
	if (FZ_OP(ops, 1) &&
	    !shmipc_worker_next(w, &kind, &payload, &len, fz_now()))
		shmipc_worker_reply(w, "done", 4);
	shmipc_worker_close(w);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	struct shmipc_ctl_worker *who;
	const void *reply;
	size_t len;
	int st;

	(void)f;
	if (FZ_OP(ops, 0))
		worker(spec0, ops);
	if (FZ_OP(ops, 2))
		worker(spec1, ops);
	if (FZ_OP(ops, 8))
		shmipc_ctl_send_async(slot0, SHMIPC_CTL_PROCESS, "run", 3);
	if (FZ_OP(ops, 9))
		shmipc_ctl_poll(ctl, &who, fz_now());
	if (FZ_OP(ops, 10))
		shmipc_ctl_wait(slot0, &reply, &len, fz_now());
	if (FZ_OP(ops, 11))
		shmipc_ctl_reply(slot0, &reply, &len);
	if (FZ_OP(ops, 12))
		shmipc_ctl_worker_status(slot0, &st);
}
