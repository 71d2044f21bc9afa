// SPDX-License-Identifier: GPL-2.0
/*
 * memory: what shmipc costs in memory besides the bytes it carries.  Not
 * a test: it reports, it asserts nothing.
 *
 *   kernel, per region  /proc/meminfo's Slab before and after one process
 *                       creates N small regions (open + map + attach,
 *                       each held open), divided by N
 *   kernel, per peer    N processes forked and waiting first; Slab
 *                       before and after each of them opens (maps,
 *                       attaches to) one region, divided by N
 *   library, per channel  region bytes a channel takes beyond its slots
 *                       (SPSC and MPMC, two shapes each)
 *   library, per record   a heap filled with records of one size until
 *                       it is full: heap bytes / records - record size
 *
 * The kernel figures are measured with the module backend only (the VM);
 * the portable backend's kernel side is POSIX shm and futexes.
 *
 * Usage: memory [--json FILE] [N]   (default N = 1000)
 * A Markdown table on stdout; with --json, one JSON object per figure:
 * bench, backend, item, count, bytes_per_item.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "shmipc.h"

#define SMALL_REGION	(64U << 10)

static FILE *json;
static const char *backend;

static void figure(const char *bench, const char *item, long count,
		   double bytes, const char *note)
{
	printf("| %s | %s | %ld | %.0f | %s |\n", bench, item, count, bytes,
	       note);
	if (json)
		fprintf(json, "{\"bench\":\"%s\",\"backend\":\"%s\",\"item\":\"%s\",\"count\":%ld,\"bytes_per_item\":%.1f}\n",
			bench, backend, item, count, bytes);
}

static void failed(const char *bench, const char *item, const char *what,
		   int err)
{
	printf("| %s | %s | - | - | FAILED: %s: %s |\n", bench, item, what,
	       strerror(-err));
}

/* /proc/meminfo's Slab, in bytes (-1 if unreadable). */
static long long slab_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static int kernel_per_region(long n)
{
	struct shmipc_region **r = calloc((size_t)n, sizeof(*r));
	long long before, after;
	char name[32];
	long i;
	int ret = 0;

	if (!r)
		return -ENOMEM;
	before = slab_bytes();
	for (i = 0; i < n && !ret; i++) {
		snprintf(name, sizeof(name), "memb-r%ld", i);
		shmipc_region_unlink(name);
		ret = shmipc_region_open(name, SMALL_REGION, 0600,
					 SHMIPC_REGION_CREATE |
						 SHMIPC_REGION_EXCL, &r[i]);
	}
	after = slab_bytes();
	if (ret)
		failed("kernel", "per region", "region_open", ret);
	else
		figure("kernel", "per region (slab)", n,
		       (double)(after - before) / (double)n,
		       "one process holds each open: fd, mapping, module state");
	for (i = 0; i < n; i++) {
		if (!r[i])
			continue;
		shmipc_region_close(r[i]);
		snprintf(name, sizeof(name), "memb-r%ld", i);
		shmipc_region_unlink(name);
	}
	free(r);
	return ret;
}

/* A peer: wait for the go, open the region, say so, wait for the end. */
static void peer(int go, int ack, int end)
{
	struct shmipc_region *r;
	char c = 0;
	int ret;

	if (read(go, &c, 1) != 1)
		_exit(1);
	ret = shmipc_region_open("memb-peers", 0, 0, 0, &r);
	c = ret ? 'f' : 'k';
	if (write(ack, &c, 1) != 1)
		_exit(1);
	if (read(end, &c, 1) < 0)	/* EOF: the parent is done */
		_exit(1);
	_exit(ret ? 1 : 0);
}

static int kernel_per_peer(long n)
{
	int go[2], ack[2], end[2], ret = 0;
	struct shmipc_region *r;
	long long before, after;
	long i, forked, ok = 0;
	char c;

	shmipc_region_unlink("memb-peers");
	ret = shmipc_region_open("memb-peers", SMALL_REGION, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL, &r);
	if (ret) {
		failed("kernel", "per peer", "region_open", ret);
		return ret;
	}
	if (pipe(go) || pipe(ack) || pipe(end)) {
		ret = -errno;
		failed("kernel", "per peer", "pipe", ret);
		goto out;
	}
	for (forked = 0; forked < n; forked++) {
		pid_t pid = fork();

		if (pid < 0)
			break;
		if (pid == 0) {
			close(end[1]);
			peer(go[0], ack[1], end[0]);
		}
	}
	close(end[0]);
	sleep(1);	/* the forks' own allocations settle */
	before = slab_bytes();
	for (i = 0; i < forked; i++)
		if (write(go[1], "g", 1) != 1)
			break;
	for (i = 0; i < forked; i++) {
		if (read(ack[0], &c, 1) != 1)
			break;
		ok += c == 'k';
	}
	after = slab_bytes();
	if (ok != n)
		failed("kernel", "per peer", "fork or attach", -ECHILD);
	else
		figure("kernel", "per peer (slab)", n,
		       (double)(after - before) / (double)n,
		       "a waiting process opens the region: fd, mapping, attach");
	close(end[1]);
	while (wait(NULL) > 0)
		;
	ret = ok == n ? 0 : -ECHILD;
out:
	shmipc_region_close(r);
	shmipc_region_unlink("memb-peers");
	return ret;
}

typedef int (*create_fn)(struct shmipc_region *r, const char *key,
			 uint32_t slot_size, uint32_t capacity);

/* Region bytes one channel takes beyond slot_size x capacity. */
static int per_channel(struct shmipc_region *r, const char *kind,
		       create_fn create, uint32_t slot, uint32_t cap)
{
	struct shmipc_region_info a, b;
	char key[32], item[64];
	int ret;

	snprintf(key, sizeof(key), "%s-%u-%u", kind, slot, cap);
	snprintf(item, sizeof(item), "%s channel, %u x %u B", kind, cap, slot);
	ret = shmipc_region_info(r, &a);
	if (!ret)
		ret = create(r, key, slot, cap);
	if (!ret)
		ret = shmipc_region_info(r, &b);
	if (ret) {
		failed("library", item, "create", ret);
		return ret;
	}
	figure("library", item, 1,
	       (double)(b.used - a.used) - (double)slot * cap,
	       "region bytes beyond the slots");
	return 0;
}

/* Fill a heap with records of @size: overhead per record. */
static int per_record(struct shmipc_region *r, uint64_t heap_size,
		      uint64_t size)
{
	struct shmipc_heap *h;
	char key[32], item[64];
	uint64_t off, n = 0;
	int ret;

	snprintf(key, sizeof(key), "heap-%llu", (unsigned long long)size);
	snprintf(item, sizeof(item), "heap record of %llu B",
		 (unsigned long long)size);
	ret = shmipc_heap_create(r, key, heap_size);
	if (!ret)
		ret = shmipc_heap_open(r, key, &h);
	if (ret) {
		failed("library", item, "heap", ret);
		return ret;
	}
	while ((ret = shmipc_heap_alloc(h, size, &off)) == 0)
		n++;
	shmipc_heap_close(h);
	if (ret != -ENOMEM || !n) {
		failed("library", item, "alloc", ret);
		return ret;
	}
	figure("library", item, (long)n,
	       (double)heap_size / (double)n - (double)size,
	       "heap bytes / records it held when full, minus the record");
	return 0;
}

static int library(void)
{
	struct shmipc_region *r;
	int ret, bad = 0;

	shmipc_region_unlink("memb-lib");
	ret = shmipc_region_open("memb-lib", 64U << 20, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL, &r);
	if (ret) {
		failed("library", "-", "region_open", ret);
		return ret;
	}
	bad |= per_channel(r, "spsc", shmipc_spsc_create, 8, 4096);
	bad |= per_channel(r, "spsc", shmipc_spsc_create, 4096, 64);
	bad |= per_channel(r, "mpmc", shmipc_mpmc_create, 8, 4096);
	bad |= per_channel(r, "mpmc", shmipc_mpmc_create, 4096, 64);
	bad |= per_record(r, 8U << 20, 64);
	bad |= per_record(r, 8U << 20, 100);
	bad |= per_record(r, 8U << 20, 4096);
	shmipc_region_close(r);
	shmipc_region_unlink("memb-lib");
	return bad ? -EIO : 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 65536, 65536 };
	long n = 1000;
	int b, bad = 0;

	if (argc > 2 && !strcmp(argv[1], "--json")) {
		json = fopen(argv[2], "w");
		if (!json) {
			perror(argv[2]);
			return 2;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc > 1)
		n = strtol(argv[1], NULL, 10);
	if (n < 1 || n > 100000) {
		fprintf(stderr, "usage: memory [--json FILE] [N]\n");
		return 2;
	}
	b = shmipc_backend();
	if (b < 0) {
		fprintf(stderr, "memory: no libshmipc backend\n");
		return 1;
	}
	backend = shmipc_backend_name(b);
	setrlimit(RLIMIT_NOFILE, &rl);	/* a region holds an fd */
	printf("memory: kernel and library overhead, libshmipc backend **%s**\n\n",
	       backend);
	printf("| part | item | count | bytes each | how |\n");
	printf("| --- | --- | ---: | ---: | --- |\n");
	if (b == SHMIPC_BACKEND_MODULE && slab_bytes() >= 0) {
		bad |= kernel_per_region(n);
		bad |= kernel_per_peer(n);
	} else {
		printf("| kernel | - | - | - | not measured: module backend only |\n");
	}
	bad |= library();
	if (json && fclose(json))
		bad = 1;
	return bad ? 1 : 0;
}
