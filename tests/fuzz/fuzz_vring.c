// SPDX-License-Identifier: GPL-2.0
/* Fuzz target: a variable-size ring's header, ends and records (fuzz.h). */
#include "fuzz.h"

static int fz_setup(struct fz *f)
{
	struct shmipc_vring *tx, *rx;
	char m[64] = "message";
	size_t len;
	int ret = shmipc_vring_create(f->r, "v", 256) ?:
		  shmipc_vring_open(f->r, "v", SHMIPC_PRODUCER, &tx);

	if (ret)
		return ret;
	ret = shmipc_vring_open(f->r, "v", SHMIPC_CONSUMER, &rx);
	if (ret)
		return ret;
	shmipc_vring_try_send(tx, m, 10);
	shmipc_vring_try_send(tx, m, 60);
	shmipc_vring_try_send(tx, m, 0);
	shmipc_vring_try_recv(rx, m, sizeof(m), &len);
	shmipc_vring_close(tx);
	shmipc_vring_close(rx);
	return fz_window(f, "v", 0);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	struct shmipc_vring *v;
	char m[128] = { 0 };
	const void *cp;
	size_t len;
	void *p;

	if (FZ_OP(ops, 0) &&
	    !shmipc_vring_open(f->r, "v", SHMIPC_PRODUCER, &v)) {
		shmipc_vring_max_msg(v);
		if (FZ_OP(ops, 1))
			shmipc_vring_try_send(v, m, 24);
		if (FZ_OP(ops, 2) && !shmipc_vring_reserve(v, 40, &p))
			shmipc_vring_commit(v, 33);
		if (FZ_OP(ops, 3))
			shmipc_vring_send(v, m, 100, fz_now());
		shmipc_vring_close(v);
	}
	if (FZ_OP(ops, 8) &&
	    !shmipc_vring_open(f->r, "v", SHMIPC_CONSUMER, &v)) {
		if (FZ_OP(ops, 9))
			shmipc_vring_try_recv(v, m, sizeof(m), &len);
		if (FZ_OP(ops, 10) && !shmipc_vring_peek(v, &cp, &len))
			shmipc_vring_release(v);
		if (FZ_OP(ops, 11))
			shmipc_vring_recv(v, m, 16, &len, fz_now());
		shmipc_vring_close(v);
	}
}
