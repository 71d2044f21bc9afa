/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libFuzzer harness of the library's parsers of shared structures: a
 * hostile peer writes anything into a region, and every call on it must
 * end with a documented result, never a crash, a sanitizer report or an
 * endless loop.  Each target (fuzz_<name>.c) defines:
 *
 *   fz_setup(struct fz *f)   build the region and its object(s) once,
 *                            set f->off / f->len: the bytes an input
 *                            overwrites (the object's shared header and
 *                            tables)
 *   fz_run(struct fz *f, unsigned int ops)
 *                            open and call everything on the region as it
 *                            is now; @ops (the input's first 2 bytes)
 *                            picks which calls
 *
 * Per input: the region is put back to its state after fz_setup(), the
 * input after its 2 op bytes is copied over [off, off + len), fz_run()
 * runs.  Blocking calls get a deadline that has passed (one look), so an
 * input cannot wait.  The seed corpus is the harness's own: run with
 * SHMIPC_FUZZ_SEEDS=DIR, it writes the untouched bytes (all ops, and a few
 * op subsets) into DIR and exits (tests/lib/lib_fuzz_test.sh does so).
 */
#ifndef SHMIPC_FUZZ_H
#define SHMIPC_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#ifndef FZ_REGION_SIZE
#define FZ_REGION_SIZE	(256U << 10)	/* a target may ask for more */
#endif

struct fz {
	char name[64];
	struct shmipc_region *r;	/* the creator's: keeps the mapping */
	unsigned char *base;
	size_t size;			/* of the mapping */
	unsigned char *pristine;	/* the region after fz_setup() */
	uint64_t off, len;		/* what an input overwrites */
	/* Set by targets whose calls may create regions (growable
	 * buffers' generations named after a forged number): those not
	 * there after fz_setup() are removed after each input. */
	bool sweep;
	char *kept;			/* names after fz_setup(), '/'-separated */
};

static int fz_setup(struct fz *f);
static void fz_run(struct fz *f, unsigned int ops);

static struct fz fz_state;

/* A deadline that has passed: blocking calls take one look. */
static inline uint64_t fz_now(void)
{
	return shmipc_now_ns();
}

/* The object @key's offset and size into f->off / f->len, at most @max
 * bytes of it (0: all). */
static inline int fz_window(struct fz *f, const char *key, uint64_t max)
{
	uint64_t size;
	int ret = shmipc_dir_find(f->r, key, &f->off, &size);

	if (ret)
		return ret;
	f->len = max && size > max ? max : size;
	return 0;
}

/*
 * Each region of ours (named "<name>..."; the portable backend's
 * /dev/shm/shmipc.<name>) for which @fn returns true is unlinked; a
 * '/'-separated list of the others is returned when @keep (malloc'd).
 */
static char *fz_regions(bool (*fn)(const char *name), bool keep)
{
	size_t len = strlen(fz_state.name), used = 0;
	char *list = keep ? calloc(1, 1) : NULL;
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		const char *n = e->d_name;
		char *grown;

		if (strncmp(n, "shmipc.", 7) || strncmp(n + 7, fz_state.name, len))
			continue;
		n += 7;
		if (fn(n)) {
			shmipc_region_unlink(n);
			continue;
		}
		if (!keep || !(grown = realloc(list, used + strlen(n) + 3)))
			continue;
		list = grown;
		used += (size_t)sprintf(list + used, "/%s/", n) - 1;
	}
	if (d)
		closedir(d);
	return list;
}

static bool fz_all(const char *name)
{
	(void)name;
	return true;
}

/* At setup: nothing is removed, everything listed. */
static bool fz_not_kept_init(const char *name)
{
	(void)name;
	return false;
}

static bool fz_not_kept(const char *name)
{
	char pat[SHMIPC_NAME_LEN_MAX + 3];

	snprintf(pat, sizeof(pat), "/%s/", name);
	return !strstr(fz_state.kept, pat);
}

/* Remove every region this process created (generations included). */
static void fz_cleanup(void)
{
	fz_regions(fz_all, false);
}

static void fz_write_seed(const char *dir, unsigned int ops)
{
	struct fz *f = &fz_state;
	char path[4096];
	unsigned char hdr[2] = { ops & 0xff, ops >> 8 };
	FILE *out;

	snprintf(path, sizeof(path), "%s/seed-%04x", dir, ops);
	out = fopen(path, "w");
	if (!out || fwrite(hdr, 1, 2, out) != 2 ||
	    fwrite(f->pristine + f->off, 1, f->len, out) != f->len ||
	    fclose(out)) {
		fprintf(stderr, "fuzz: cannot write %s\n", path);
		exit(1);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fz *f = &fz_state;
	const char *seeds = getenv("SHMIPC_FUZZ_SEEDS");
	int ret;

	(void)argc;
	(void)argv;
	/* The host's backend; a region of our own. */
	setenv("SHMIPC_BACKEND", "portable", 1);
	snprintf(f->name, sizeof(f->name), "fz-%d-x", (int)getpid());
	atexit(fz_cleanup);
	ret = shmipc_region_open(f->name, FZ_REGION_SIZE, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL,
				 &f->r);
	if (!ret)
		ret = fz_setup(f);
	if (ret) {
		fprintf(stderr, "fuzz: setup: %s\n", shmipc_strerror(ret));
		exit(1);
	}
	/* fz_setup() may have replaced f->r (ctl makes its own region). */
	f->base = shmipc_region_base(f->r);
	f->size = shmipc_region_size(f->r);
	f->pristine = malloc(f->size);
	if (!f->pristine || f->off + f->len > f->size)
		exit(1);
	memcpy(f->pristine, f->base, f->size);
	if (f->sweep)
		f->kept = fz_regions(fz_not_kept_init, true);
	if (seeds) {
		static const unsigned int sets[] = {
			0xffff, 0x00ff, 0xff00, 0x0f0f, 0xf0f0, 0x0001,
		};
		unsigned int i;

		for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
			fz_write_seed(seeds, sets[i]);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *f = &fz_state;
	unsigned int ops = 0xffff;

	memcpy(f->base, f->pristine, f->size);
	if (size >= 2) {
		ops = data[0] | (unsigned int)data[1] << 8;
		data += 2;
		size -= 2;
		memcpy(f->base + f->off, data, size < f->len ? size : f->len);
	}
	fz_run(f, ops);
	if (f->sweep && f->kept)
		fz_regions(fz_not_kept, false);
	return 0;
}

/* Op @bit of @ops selected? */
#define FZ_OP(ops, bit) (((ops) >> (bit)) & 1U)

#endif /* SHMIPC_FUZZ_H */
