// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * shmipc: list and inspect shmipc regions, their peers and the objects
 * in their directories; remove regions; watch peers come and go.
 *
 *   shmipc [--json] ls
 *   shmipc [--json] info NAME
 *   shmipc [--json] rm [--destroy] NAME...
 *   shmipc [--json] watch [--count N] [--timeout SECONDS] NAME
 *
 * Exit status as coreutils: 0 success, 1 failure (with a message on
 * stderr: "shmipc: cannot open 'x': No such file or directory"), 2 a
 * usage error.  Everything it knows comes from libshmipc's introspection
 * API (<shmipc/introspect.h>), so it works on both backends; the help
 * text says what the portable backend cannot know.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <shmipc.h>

#include "json_out.h"

#ifndef SHMIPC_VERSION
#define SHMIPC_VERSION "unknown"
#endif

#define EXIT_USAGE	2

static const char *prog = "shmipc";

#if defined(__SANITIZE_ADDRESS__)
/* The sanitizer build (tests): a report must not pass for exit 1. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "exitcode=66:detect_leaks=1";
}
#endif

struct opts {
	bool json;
	bool destroy;
	bool has_count;
	unsigned long count;
	bool has_timeout;
	double timeout_s;
};

/* ------------------------------------------------------------------ */
/* Messages */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [--json] COMMAND [ARGS]\n"
"List and inspect shmipc shared-memory regions, their peers and the\n"
"objects in their directories.\n"
"\n"
"Commands:\n"
"  ls                       list the regions: name, size, owner, mode,\n"
"                           peers, waiters, flags\n"
"  info NAME                a region, its peers (pid, state, exit status)\n"
"                           and the objects of its directory (key, type,\n"
"                           offset, size, fill level of channels and event\n"
"                           pools; heaps' free bytes, buffers' generation,\n"
"                           controllers' workers)\n"
"  rm [--destroy] NAME...   remove regions (holders keep using them);\n"
"                           --destroy also tears them down (module only)\n"
"  watch [--count N] [--timeout SECONDS] NAME\n"
"                           print peers' JOIN, LEAVE and DEATH events as\n"
"                           they happen, until interrupted, N events or\n"
"                           SECONDS (a status line goes to stderr first)\n"
"\n"
"Options:\n"
"  --json     machine-readable output: one JSON document per command\n"
"             (watch: one JSON object per line)\n"
"  --help     display this help and exit\n"
"  --version  output version information and exit\n"
"\n"
"Backends: the shmipc kernel module (/dev/shmipc) when it can be opened,\n"
"else the portable backend (/dev/shm/shmipc.NAME); SHMIPC_BACKEND=module\n"
"or SHMIPC_BACKEND=portable forces one.  The portable backend does not\n"
"know waiters, open files, owned words or exit statuses (shown as '-',\n"
"null in JSON), keeps dead peers listed until their slot is reused, and\n"
"watch polls its peer table every %d ms: a death shows within that time,\n"
"a peer that joins and leaves in between is not seen.\n"
"\n"
"Exit status: 0 on success, 1 on failure, 2 on a usage error.\n",
		prog, SHMIPC_PORTABLE_SLICE_MS);
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	return EXIT_USAGE;
}

/* "shmipc: cannot VERB 'NAME': ERROR"; returns 1. */
static int fail(const char *verb, const char *name, int err)
{
	if (name)
		fprintf(stderr, "%s: cannot %s '%s': %s\n", prog, verb, name,
			shmipc_strerror(err));
	else
		fprintf(stderr, "%s: cannot %s: %s\n", prog, verb,
			shmipc_strerror(err));
	return EXIT_FAILURE;
}

/* The library's rule for names, checked here for a clearer message. */
static bool check_name(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > SHMIPC_NAME_LEN_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		goto bad;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", name[i]))
			goto bad;
	return true;
bad:
	fprintf(stderr, "%s: invalid region name '%s': use 1 to %d of "
		"[A-Za-z0-9._-], not '.' or '..'\n", prog, name,
		SHMIPC_NAME_LEN_MAX);
	return false;
}

/* ------------------------------------------------------------------ */
/* Formatting */

/* @s with every byte outside printable ASCII as \xNN (hostile keys). */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* The user name of @uid from /etc/passwd (no NSS: static builds too). */
static const char *user_name(uint32_t uid, char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/etc/passwd", "re");

	snprintf(buf, len, "%" PRIu32, uid);
	if (!f)
		return buf;
	/* name:password:uid:... (fields may be empty) */
	while (fgets(line, sizeof(line), f)) {
		char *pw = strchr(line, ':');
		char *uid_s = pw ? strchr(pw + 1, ':') : NULL;
		char *end;

		if (!uid_s || pw == line)
			continue;
		if (strtoul(uid_s + 1, &end, 10) == uid && *end == ':' &&
		    end != uid_s + 1) {
			snprintf(buf, len, "%.*s", (int)(pw - line), line);
			break;
		}
	}
	fclose(f);
	return buf;
}

static const char *count_str(uint32_t v, char *buf, size_t len)
{
	if (v == SHMIPC_STAT_UNKNOWN)
		return "-";
	snprintf(buf, len, "%" PRIu32, v);
	return buf;
}

static const char *flags_str(uint32_t flags, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s",
		 flags & SHMIPC_STAT_PERSISTENT ? "persistent," : "",
		 flags & SHMIPC_STAT_UNLINKED ? "unlinked," : "",
		 flags & SHMIPC_STAT_DESTROYED ? "destroyed," : "");
	if (!buf[0])
		return "-";
	buf[strlen(buf) - 1] = '\0';
	return buf;
}

/* "exited 3", "killed by SIGKILL", "-" (alive), "unknown". */
static const char *status_str(uint32_t state, uint32_t status, char *buf,
			      size_t len)
{
	int st = (int)status;

	if (state != SHMIPC_INSPECT_DEAD)
		return "-";
	if (status == SHMIPC_STAT_UNKNOWN)
		return "unknown";
	if (WIFEXITED(st))
		snprintf(buf, len, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by SIG%s%s",
			 sigabbrev_np(WTERMSIG(st)) ?: "?",
			 WCOREDUMP(st) ? " (core dumped)" : "");
	else
		snprintf(buf, len, "status %#x", status);
	return buf;
}

/* JSON: the count, or null when unknown. */
static void json_count(struct json_out *j, const char *key, uint32_t v)
{
	if (v == SHMIPC_STAT_UNKNOWN)
		json_null(j, key);
	else
		json_u64(j, key, v);
}

/* JSON: a dead peer's wait status, split. */
static void json_status(struct json_out *j, uint32_t state, uint32_t status)
{
	int st = (int)status;

	if (state != SHMIPC_INSPECT_DEAD || status == SHMIPC_STAT_UNKNOWN) {
		json_null(j, "status");
		json_null(j, "exit_code");
		json_null(j, "signal");
		return;
	}
	json_u64(j, "status", status);
	if (WIFEXITED(st))
		json_i64(j, "exit_code", WEXITSTATUS(st));
	else
		json_null(j, "exit_code");
	if (WIFSIGNALED(st))
		json_i64(j, "signal", WTERMSIG(st));
	else
		json_null(j, "signal");
}

/* ------------------------------------------------------------------ */
/* Tables: cells collected, then printed in aligned columns */

#define COLS_MAX	8
#define CELL_LEN	200

struct table {
	int ncols;
	const char *head[COLS_MAX];
	bool right[COLS_MAX];	/* right-aligned (numbers) */
	char (*cells)[COLS_MAX][CELL_LEN];
	size_t nrows, cap;
};

/* A new row; its cells are filled with snprintf(t->cells[row][col]). */
static size_t table_row(struct table *t)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		void *p = realloc(t->cells, cap * sizeof(*t->cells));

		if (!p) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(EXIT_FAILURE);
		}
		t->cells = p;
		t->cap = cap;
	}
	memset(t->cells[t->nrows], 0, sizeof(*t->cells));
	return t->nrows++;
}

static void table_print(struct table *t)
{
	int w[COLS_MAX], c;
	size_t r;

	for (c = 0; c < t->ncols; c++)
		w[c] = (int)strlen(t->head[c]);
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++)
			if ((int)strlen(t->cells[r][c]) > w[c])
				w[c] = (int)strlen(t->cells[r][c]);
	for (r = 0; r <= t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = r ? t->cells[r - 1][c] : t->head[c];
			bool last = c == t->ncols - 1;

			if (t->right[c])
				printf("%*s%s", w[c], s, last ? "" : "  ");
			else if (last)
				printf("%s", s);
			else
				printf("%-*s  ", w[c], s);
		}
		putchar('\n');
	}
	free(t->cells);
	t->cells = NULL;
}

#define CELL(t, row, col, ...) \
	snprintf((t)->cells[row][col], CELL_LEN, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* ls */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct shmipc_region_stat *)a)->name,
		      ((const struct shmipc_region_stat *)b)->name);
}

static void json_region(struct json_out *j, const char *key,
			const struct shmipc_region_stat *st)
{
	char owner[64], mode[8];

	json_begin_object(j, key);
	json_string(j, "name", st->name);
	json_u64(j, "size", st->size);
	json_u64(j, "id", st->id);
	json_u64(j, "uid", st->uid);
	json_u64(j, "gid", st->gid);
	json_string(j, "owner", user_name(st->uid, owner, sizeof(owner)));
	snprintf(mode, sizeof(mode), "%04o", st->mode);
	json_string(j, "mode", mode);
	json_begin_array(j, "flags");
	if (st->flags & SHMIPC_STAT_PERSISTENT)
		json_string(j, NULL, "persistent");
	if (st->flags & SHMIPC_STAT_UNLINKED)
		json_string(j, NULL, "unlinked");
	if (st->flags & SHMIPC_STAT_DESTROYED)
		json_string(j, NULL, "destroyed");
	json_end_array(j);
	json_count(j, "peers", st->nr_peers);
	json_count(j, "dead", st->nr_dead);
	json_count(j, "waiters", st->nr_waiters);
	json_count(j, "files", st->nr_files);
	json_end_object(j);
}

/* All regions, sorted by name: their count, or -errno. */
static int load_regions(struct shmipc_region_stat **out)
{
	struct shmipc_region_stat *v = NULL;
	size_t cap = 16;
	int n;

	for (;;) {
		void *p = realloc(v, cap * sizeof(*v));

		if (!p) {
			free(v);
			return -ENOMEM;
		}
		v = p;
		n = shmipc_list_regions(v, cap);
		if (n < 0 || (size_t)n <= cap)
			break;
		cap = (size_t)n + 16;	/* more came meanwhile: again */
	}
	if (n < 0) {
		free(v);
		return n;
	}
	qsort(v, (size_t)n, sizeof(*v), by_name);
	*out = v;
	return n;
}

static int cmd_ls(const struct opts *o)
{
	struct shmipc_region_stat *v;
	struct table t = {
		.ncols = 7,
		.head = { "NAME", "SIZE", "OWNER", "MODE", "PEERS", "WAITERS",
			  "FLAGS" },
		.right = { false, true, false, false, true, true, false },
	};
	int n = load_regions(&v), i;

	if (n < 0)
		return fail("list regions", NULL, n);
	if (o->json) {
		struct json_out j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_string(&j, "backend",
			    shmipc_backend_name(shmipc_backend()));
		json_begin_array(&j, "regions");
		for (i = 0; i < n; i++)
			json_region(&j, NULL, &v[i]);
		json_end_array(&j);
		json_end_object(&j);
		json_finish(&j);
	} else {
		for (i = 0; i < n; i++) {
			size_t r = table_row(&t);
			char buf[64];

			CELL(&t, r, 0, "%s", v[i].name);
			CELL(&t, r, 1, "%" PRIu64, v[i].size);
			CELL(&t, r, 2, "%s",
			     user_name(v[i].uid, buf, sizeof(buf)));
			CELL(&t, r, 3, "%04o", v[i].mode);
			CELL(&t, r, 4, "%s",
			     count_str(v[i].nr_peers, buf, sizeof(buf)));
			CELL(&t, r, 5, "%s",
			     count_str(v[i].nr_waiters, buf, sizeof(buf)));
			CELL(&t, r, 6, "%s",
			     flags_str(v[i].flags, buf, sizeof(buf)));
		}
		table_print(&t);
	}
	free(v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* info */

static int by_peer_id(const void *a, const void *b)
{
	uint64_t x = ((const struct shmipc_peer_stat *)a)->peer_id;
	uint64_t y = ((const struct shmipc_peer_stat *)b)->peer_id;

	return x < y ? -1 : x > y;
}

static int by_offset(const void *a, const void *b)
{
	uint64_t x = ((const struct shmipc_object_stat *)a)->offset;
	uint64_t y = ((const struct shmipc_object_stat *)b)->offset;

	return x < y ? -1 : x > y;
}

/* An error of the library in words (why a list is empty, say). */
static const char *err_text(int err)
{
	switch (err) {
	case -ENODATA:
		return "not a libshmipc region (no library header)";
	case -EIDRM:
		return "the region is destroyed";
	case -EBADMSG:
		return "corrupt library header or directory";
	case -EPROTONOSUPPORT:
		return "library header of another layout version";
	default:
		return shmipc_strerror(err);
	}
}

/* JSON: the error @ret (< 0) in words, or null. */
static void json_error(struct json_out *j, const char *key, int ret)
{
	if (ret < 0)
		json_string(j, key, err_text(ret));
	else
		json_null(j, key);
}

struct info {
	struct shmipc_region_stat st;
	struct shmipc_peer_stat peers[256];
	int npeers;		/* or -errno */
	struct shmipc_object_stat objs[SHMIPC_DIR_ENTRIES];
	int nobjs;		/* or -errno */
};

static void info_json(const struct info *in)
{
	struct json_out j;
	int i;

	json_init(&j, stdout);
	json_begin_object(&j, NULL);
	json_string(&j, "backend", shmipc_backend_name(in->st.backend));
	json_region(&j, "region", &in->st);
	json_begin_array(&j, "peers");
	for (i = 0; i < in->npeers && i < 256; i++) {
		const struct shmipc_peer_stat *p = &in->peers[i];

		json_begin_object(&j, NULL);
		json_u64(&j, "peer_id", p->peer_id);
		json_i64(&j, "pid", p->pid);
		json_string(&j, "state", p->state == SHMIPC_INSPECT_DEAD ?
					  "dead" : "alive");
		json_count(&j, "owned", p->nr_owned);
		json_status(&j, p->state, p->status);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_error(&j, "peers_error", in->npeers);
	json_begin_array(&j, "objects");
	for (i = 0; i < in->nobjs; i++) {
		const struct shmipc_object_stat *ob = &in->objs[i];
		bool queue = ob->flags & SHMIPC_OBJECT_QUEUE;

		json_begin_object(&j, NULL);
		json_string(&j, "key", ob->key);
		json_string(&j, "type", ob->type);
		json_u64(&j, "offset", ob->offset);
		json_u64(&j, "size", ob->size);
		json_bool(&j, "corrupt", ob->flags & SHMIPC_OBJECT_CORRUPT);
		if (queue) {
			json_u64(&j, "slot_size", ob->slot_size);
			json_u64(&j, "capacity", ob->capacity);
			json_u64(&j, "fill", ob->fill);
		} else {
			json_null(&j, "slot_size");
			json_null(&j, "capacity");
			json_null(&j, "fill");
		}
		json_string(&j, "detail", ob->detail);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_error(&j, "objects_error", in->nobjs);
	json_end_object(&j);
	json_finish(&j);
}

static void info_text(const struct info *in)
{
	const struct shmipc_region_stat *st = &in->st;
	uint32_t alive = 0, dead = 0;
	char buf[64], buf2[64];
	int i;

	printf("name:     %s\n", st->name);
	printf("backend:  %s\n", shmipc_backend_name(st->backend));
	printf("id:       %" PRIu64 "\n", st->id);
	printf("size:     %" PRIu64 "\n", st->size);
	printf("owner:    %s (uid %" PRIu32 ", gid %" PRIu32 ")\n",
	       user_name(st->uid, buf, sizeof(buf)), st->uid, st->gid);
	printf("mode:     %04o\n", st->mode);
	printf("flags:    %s\n", flags_str(st->flags, buf, sizeof(buf)));
	printf("files:    %s\n", count_str(st->nr_files, buf, sizeof(buf)));
	printf("waiters:  %s\n", count_str(st->nr_waiters, buf, sizeof(buf)));
	for (i = 0; i < in->npeers && i < 256; i++) {
		if (in->peers[i].state == SHMIPC_INSPECT_DEAD)
			dead++;
		else
			alive++;
	}
	if (in->npeers < 0)
		printf("peers:    none (%s)\n", err_text(in->npeers));
	else
		printf("peers:    %" PRIu32 " alive, %" PRIu32 " dead\n", alive,
		       dead);
	if (in->npeers > 0) {
		struct table t = {
			.ncols = 5,
			.head = { "PEER", "PID", "STATE", "OWNED", "STATUS" },
			.right = { true, true, false, true, false },
		};

		putchar('\n');
		for (i = 0; i < in->npeers && i < 256; i++) {
			const struct shmipc_peer_stat *p = &in->peers[i];
			size_t r = table_row(&t);

			CELL(&t, r, 0, "%" PRIu64, p->peer_id);
			CELL(&t, r, 1, "%" PRId32, p->pid);
			CELL(&t, r, 2, "%s", p->state == SHMIPC_INSPECT_DEAD ?
						 "dead" : "alive");
			CELL(&t, r, 3, "%s", count_str(p->nr_owned, buf,
						       sizeof(buf)));
			CELL(&t, r, 4, "%s", status_str(p->state, p->status,
							buf2, sizeof(buf2)));
		}
		table_print(&t);
	}
	putchar('\n');
	if (in->nobjs < 0) {
		printf("objects:  none (%s)\n", err_text(in->nobjs));
	} else if (in->nobjs == 0) {
		printf("objects:  none\n");
	} else {
		struct table t = {
			.ncols = 6,
			.head = { "KEY", "TYPE", "OFFSET", "SIZE", "FILL",
				  "DETAIL" },
			.right = { false, false, true, true, true, false },
		};

		for (i = 0; i < in->nobjs; i++) {
			const struct shmipc_object_stat *ob = &in->objs[i];
			size_t r = table_row(&t);
			char key[4 * SHMIPC_KEY_LEN_MAX + 8];

			CELL(&t, r, 0, "%s",
			     printable(ob->key, key, sizeof(key)));
			CELL(&t, r, 1, "%s", ob->type);
			CELL(&t, r, 2, "%" PRIu64, ob->offset);
			CELL(&t, r, 3, "%" PRIu64, ob->size);
			if (ob->flags & SHMIPC_OBJECT_QUEUE)
				CELL(&t, r, 4, "%" PRIu64 "/%" PRIu64, ob->fill,
				     ob->capacity);
			else
				CELL(&t, r, 4, "-");
			CELL(&t, r, 5, "%s%s",
			     ob->flags & SHMIPC_OBJECT_CORRUPT ?
			     "corrupt header " : "",
			     ob->detail[0] ? ob->detail : "-");
		}
		table_print(&t);
	}
}

/* Open @name for inspection: 0, or the exit status (message given). */
static int open_region(const char *name, struct shmipc_inspect **h)
{
	int ret;

	if (!check_name(name))
		return EXIT_FAILURE;
	ret = shmipc_inspect_open(name, h);
	return ret ? fail("open", name, ret) : 0;
}

static int cmd_info(const struct opts *o, const char *name)
{
	struct shmipc_inspect *h;
	struct info *in;
	int ret;

	ret = open_region(name, &h);
	if (ret)
		return ret;
	in = calloc(1, sizeof(*in));
	if (!in) {
		shmipc_inspect_close(h);
		return fail("inspect", name, -ENOMEM);
	}
	ret = shmipc_inspect_stat(h, &in->st);
	if (ret) {
		shmipc_inspect_close(h);
		free(in);
		return fail("inspect", name, ret);
	}
	in->npeers = shmipc_inspect_peers(h, in->peers, 256);
	if (in->npeers > 0)
		qsort(in->peers, in->npeers < 256 ? (size_t)in->npeers : 256,
		      sizeof(in->peers[0]), by_peer_id);
	in->nobjs = shmipc_inspect_objects(h, in->objs, SHMIPC_DIR_ENTRIES);
	if (in->nobjs > SHMIPC_DIR_ENTRIES)
		in->nobjs = SHMIPC_DIR_ENTRIES;
	if (in->nobjs > 0)
		qsort(in->objs, (size_t)in->nobjs, sizeof(in->objs[0]),
		      by_offset);
	shmipc_inspect_close(h);
	if (o->json)
		info_json(in);
	else
		info_text(in);
	free(in);
	return 0;
}

/* ------------------------------------------------------------------ */
/* rm */

static int cmd_rm(const struct opts *o, char **names, int n)
{
	struct json_out j;
	int i, rc = 0;

	if (o->json) {
		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_string(&j, "backend",
			    shmipc_backend_name(shmipc_backend()));
		json_begin_array(&j, "results");
	}
	for (i = 0; i < n; i++) {
		int ret = -EINVAL;

		if (check_name(names[i]))
			ret = o->destroy ? shmipc_region_destroy(names[i]) :
					   shmipc_region_unlink(names[i]);
		if (ret && ret != -EINVAL)
			fail(o->destroy ? "destroy" : "remove", names[i], ret);
		if (ret)
			rc = EXIT_FAILURE;
		if (o->json) {
			json_begin_object(&j, NULL);
			json_string(&j, "name", names[i]);
			json_bool(&j, "removed", !ret);
			json_error(&j, "error", ret);
			json_end_object(&j);
		}
	}
	if (o->json) {
		json_end_array(&j);
		json_end_object(&j);
		json_finish(&j);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* watch */

static const char *event_name(uint32_t type)
{
	switch (type) {
	case SHMIPC_PEER_JOIN:
		return "join";
	case SHMIPC_PEER_LEAVE:
		return "leave";
	case SHMIPC_PEER_DEATH:
		return "death";
	case SHMIPC_PEER_OVERFLOW:
		return "overflow";
	default:
		return "unknown";
	}
}

static void print_event(const struct opts *o,
			const struct shmipc_peer_event *ev)
{
	uint32_t state = ev->type == SHMIPC_PEER_DEATH ? SHMIPC_INSPECT_DEAD :
							 SHMIPC_INSPECT_ALIVE;
	char buf[64];

	if (o->json) {
		struct json_out j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_string(&j, "event", event_name(ev->type));
		json_u64(&j, "seq", ev->seq);
		if (ev->type == SHMIPC_PEER_OVERFLOW) {
			json_u64(&j, "lost", ev->status);
		} else {
			json_u64(&j, "peer_id", ev->peer_id);
			json_i64(&j, "pid", ev->pid);
			json_status(&j, state, ev->status);
			json_bool(&j, "replay", ev->flags & SHMIPC_PEER_REPLAY);
		}
		json_end_object(&j);
		json_finish(&j);
		return;
	}
	if (ev->type == SHMIPC_PEER_OVERFLOW) {
		printf("OVERFLOW %" PRIu32 " events lost\n", ev->status);
	} else {
		char up[16];
		size_t i;

		snprintf(up, sizeof(up), "%s", event_name(ev->type));
		for (i = 0; up[i]; i++)
			up[i] = (char)(up[i] - 'a' + 'A');
		printf("%-5s peer %" PRIu64 " pid %" PRId32, up, ev->peer_id,
		       ev->pid);
		if (ev->type == SHMIPC_PEER_DEATH)
			printf(" %s", status_str(state, ev->status, buf,
						 sizeof(buf)));
		if (ev->flags & SHMIPC_PEER_REPLAY)
			printf(" (before watch)");
		putchar('\n');
	}
	fflush(stdout);
}

static int cmd_watch(const struct opts *o, const char *name)
{
	uint64_t deadline = SHMIPC_FOREVER;
	struct shmipc_inspect *h;
	unsigned long seen = 0;
	int ret;

	ret = open_region(name, &h);
	if (ret)
		return ret;
	if (o->has_timeout)
		deadline = shmipc_deadline_in((uint64_t)(o->timeout_s * 1e9));
	fprintf(stderr, "%s: watching '%s' (%s backend)\n", prog, name,
		shmipc_backend_name(shmipc_backend()));
	while (!o->has_count || seen < o->count) {
		struct shmipc_peer_event ev;

		ret = shmipc_inspect_next_event(h, &ev, deadline);
		if (ret)
			break;
		print_event(o, &ev);
		seen++;
	}
	shmipc_inspect_close(h);
	if (ret == -EIDRM) {
		if (o->json)
			printf("{\"event\":\"destroyed\"}\n");
		else
			printf("DESTROYED\n");
		return 0;
	}
	if (ret == -ETIMEDOUT) {
		if (!o->has_count)
			return 0;
		fprintf(stderr, "%s: watch '%s': timed out after %lu of %lu "
			"events\n", prog, name, seen, o->count);
		return EXIT_FAILURE;
	}
	if (ret)
		return fail("watch", name, ret);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Command line */

enum {
	OPT_JSON = 0x100,
	OPT_DESTROY,
	OPT_COUNT,
	OPT_TIMEOUT,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "destroy", no_argument, NULL, OPT_DESTROY },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Parse options anywhere on the line; operands stay in argv[optind..]. */
static int parse(int argc, char **argv, struct opts *o)
{
	char *end;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_DESTROY:
			o->destroy = true;
			break;
		case OPT_COUNT:
			errno = 0;
			o->count = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || o->count == 0 ||
			    optarg[0] == '-')
				return usage_error("invalid --count '%s': a "
						   "positive integer", optarg);
			o->has_count = true;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			o->timeout_s = strtod(optarg, &end);
			if (errno || *end || end == optarg ||
			    !isfinite(o->timeout_s) || o->timeout_s < 0 ||
			    o->timeout_s > 1e9)
				return usage_error("invalid --timeout '%s': "
						   "seconds, >= 0", optarg);
			o->has_timeout = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("%s %s (libshmipc layout %d)\n", prog,
			       SHMIPC_VERSION, SHMIPC_LIB_VERSION);
			exit(EXIT_SUCCESS);
		case ':':
			return usage_error("option '%s' requires an argument",
					   argv[optind - 1]);
		default:
			return usage_error("unrecognized option '%s'",
					   argv[optind - 1]);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	const char *cmd;
	char **args;
	int nargs, ret;

	ret = parse(argc, argv, &o);
	if (ret)
		return ret;
	if (optind >= argc)
		return usage_error("missing command");
	cmd = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;

	if (strcmp(cmd, "ls") && strcmp(cmd, "info") && strcmp(cmd, "rm") &&
	    strcmp(cmd, "watch"))
		return usage_error("unknown command '%s'", cmd);
	if (o.destroy && strcmp(cmd, "rm"))
		return usage_error("option '--destroy' is only for 'rm'");
	if ((o.has_count || o.has_timeout) && strcmp(cmd, "watch"))
		return usage_error("options '--count' and '--timeout' are only "
				   "for 'watch'");
	if (!strcmp(cmd, "ls")) {
		if (nargs)
			return usage_error("extra operand '%s'", args[0]);
		return cmd_ls(&o);
	}
	if (!nargs)
		return usage_error("missing region name after '%s'", cmd);
	if (!strcmp(cmd, "rm"))
		return cmd_rm(&o, args, nargs);
	if (nargs > 1)
		return usage_error("extra operand '%s'", args[1]);
	if (!strcmp(cmd, "info"))
		return cmd_info(&o, args[0]);
	return cmd_watch(&o, args[0]);
}
