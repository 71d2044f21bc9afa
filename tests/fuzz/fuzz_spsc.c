// SPDX-License-Identifier: GPL-2.0
/* Fuzz target: an SPSC channel's header, end states and slots (fuzz.h). */
#include "fuzz.h"

static int fz_setup(struct fz *f)
{
	struct shmipc_spsc *tx, *rx;
	unsigned char m[16] = { 1 };
	int ret = shmipc_spsc_create(f->r, "c", 16, 8) ?:
		  shmipc_spsc_open(f->r, "c", SHMIPC_PRODUCER, &tx);

	if (ret)
		return ret;
	ret = shmipc_spsc_open(f->r, "c", SHMIPC_CONSUMER, &rx);
	if (ret)
		return ret;
	shmipc_spsc_try_send(tx, m);
	shmipc_spsc_try_send(tx, m);
	shmipc_spsc_try_send(tx, m);
	shmipc_spsc_try_recv(rx, m);
	shmipc_spsc_close(tx);
	shmipc_spsc_close(rx);
	return fz_window(f, "c", 0);
}

static void producer(struct fz *f, unsigned int ops)
{
	unsigned char m[4][16] = { { 0 } };
	struct shmipc_spsc *ch;
	unsigned int n;
	void *slots[4];

	if (shmipc_spsc_open(f->r, "c", SHMIPC_PRODUCER, &ch))
		return;
	shmipc_spsc_slot_size(ch);
	if (FZ_OP(ops, 1))
		shmipc_spsc_try_send(ch, m[0]);
	if (FZ_OP(ops, 2))
		shmipc_spsc_send_burst(ch, m, 4, &n);
	if (FZ_OP(ops, 3))
		shmipc_spsc_send_bulk(ch, m, 3, &n);
	if (FZ_OP(ops, 4) && shmipc_spsc_reserve(ch, 4, slots) > 0)
		shmipc_spsc_commit(ch, 1);
	if (FZ_OP(ops, 5))
		shmipc_spsc_send(ch, m[0], fz_now());
	shmipc_spsc_close(ch);
}

static void consumer(struct fz *f, unsigned int ops)
{
	unsigned char m[4][16];
	struct shmipc_spsc *ch;
	const void *slots[4];
	unsigned int n;

	if (shmipc_spsc_open(f->r, "c", SHMIPC_CONSUMER, &ch))
		return;
	if (FZ_OP(ops, 9))
		shmipc_spsc_try_recv(ch, m[0]);
	if (FZ_OP(ops, 10))
		shmipc_spsc_recv_burst(ch, m, 4, &n);
	if (FZ_OP(ops, 11))
		shmipc_spsc_recv_bulk(ch, m, 2, &n);
	if (FZ_OP(ops, 12) && shmipc_spsc_peek(ch, 4, slots) > 0)
		shmipc_spsc_release(ch, 1);
	if (FZ_OP(ops, 13))
		shmipc_spsc_recv(ch, m[0], fz_now());
	shmipc_spsc_close(ch);
}

static void fz_run(struct fz *f, unsigned int ops)
{
	if (FZ_OP(ops, 0))
		producer(f, ops);
	if (FZ_OP(ops, 8))
		consumer(f, ops);
}
