// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: an MPMC queue's header, registry and slot sequence words,
 * including the repair paths of blocking calls (fuzz.h).
 */
#include "fuzz.h"

static int fz_setup(struct fz *f)
{
	unsigned char m[32] = { 1 };
	struct shmipc_mpmc *q;
	int ret = shmipc_mpmc_create(f->r, "q", 32, 8) ?:
		  shmipc_mpmc_open(f->r, "q", &q);

	if (ret)
		return ret;
	shmipc_mpmc_try_send(q, m);
	shmipc_mpmc_try_send_var(q, m, 5);
	shmipc_mpmc_try_send(q, m);
	shmipc_mpmc_try_recv(q, m);
	shmipc_mpmc_close(q);
	return fz_window(f, "q", 0);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	unsigned char m[4][32] = { { 0 } };
	struct shmipc_mpmc *q;
	const void *cslot;
	unsigned int n;
	uint32_t ticket;
	size_t len;
	void *slot;

	if (shmipc_mpmc_open(f->r, "q", &q))
		return;
	shmipc_mpmc_capacity(q);
	if (FZ_OP(ops, 0))
		shmipc_mpmc_try_recv(q, m[0]);
	if (FZ_OP(ops, 1))
		shmipc_mpmc_try_send(q, m[0]);
	if (FZ_OP(ops, 2))
		shmipc_mpmc_recv_burst(q, m, 4, &n);
	if (FZ_OP(ops, 3))
		shmipc_mpmc_send_burst(q, m, 4, &n);
	if (FZ_OP(ops, 4))
		shmipc_mpmc_try_recv_var(q, m[0], 8, &len);
	if (FZ_OP(ops, 5))
		shmipc_mpmc_try_send_var(q, m[0], 9);
	if (FZ_OP(ops, 6) && !shmipc_mpmc_reserve(q, &slot, &ticket))
		shmipc_mpmc_commit(q, ticket);
	if (FZ_OP(ops, 7) && !shmipc_mpmc_peek(q, &cslot, &ticket))
		shmipc_mpmc_release(q, ticket);
	if (FZ_OP(ops, 8))
		shmipc_mpmc_recv(q, m[0], fz_now());
	if (FZ_OP(ops, 9))
		shmipc_mpmc_send(q, m[0], fz_now());
	if (FZ_OP(ops, 10))
		shmipc_mpmc_recv_bulk(q, m, 2, &n);
	if (FZ_OP(ops, 11))
		shmipc_mpmc_send_bulk(q, m, 2, &n);
	if (FZ_OP(ops, 12))
		shmipc_mpmc_recv_var(q, m[0], 32, &len, fz_now());
	shmipc_mpmc_close(q);
}
