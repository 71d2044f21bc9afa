// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench smoke test.  The benchmark (tools/bench/) is not a test and
 * asserts nothing about its figures; this only runs it very briefly and
 * checks the shape of what it writes, so that it cannot rot unnoticed:
 * every JSON line is one flat object with exactly the documented fields
 * of the right types, the rows that must be there are, spinning rows
 * never run on one CPU, every row compared to a baseline got a ratio,
 * the Markdown table has a line per JSON line, and bad options are
 * refused before anything is written; likewise ctlscale's rows (the
 * controller/worker transition, channel-count scaling) and the host's
 * kill-to-wake rows.  Never asserts on time.
 *
 * The binaries: $CHANBENCH, else build/bench/chanbench found from this
 * test's own path (build/tests/host/); build/bench/ctlscale and
 * kill-to-wake likewise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

/* ------------------------------------------------------------------ */
/* A checker for chanbench's JSON lines: flat objects, no escapes. */

enum jtype { J_STR, J_STR_OR_NULL, J_NUM_OR_NULL, J_UINT };

static const struct field {
	const char *key;
	enum jtype type;
} fields[] = {
	{ "bench", J_STR },		{ "backend", J_STR },
	{ "transport", J_STR },		{ "placement", J_STR },
	{ "msg_size", J_UINT },		{ "p50_ns", J_NUM_OR_NULL },
	{ "p99_ns", J_NUM_OR_NULL },	{ "p999_ns", J_NUM_OR_NULL },
	{ "msgs_per_s", J_NUM_OR_NULL }, { "bytes_per_s", J_NUM_OR_NULL },
	{ "cpu_ns_per_msg", J_NUM_OR_NULL }, { "ratio", J_NUM_OR_NULL },
	{ "baseline", J_STR_OR_NULL },	{ "samples", J_UINT },
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

struct jrow {
	char str[NFIELDS][64];	/* strings; "" for null */
	double num[NFIELDS];	/* numbers; NAN for null */
};

enum { F_BENCH, F_BACKEND, F_TRANSPORT, F_PLACEMENT, F_SIZE, F_P50, F_P99,
       F_P999, F_MSGS, F_BYTES, F_CPU, F_RATIO, F_BASELINE, F_SAMPLES };

/* A string without escapes or control characters; @p after it. */
static int parse_str(const char **p, char *out, size_t len)
{
	const char *s = *p;
	size_t n = 0;

	if (*s++ != '"')
		return -1;
	for (; *s != '"'; s++) {
		if (!*s || *s == '\\' || (unsigned char)*s < 0x20 ||
		    n + 1 >= len)
			return -1;
		out[n++] = *s;
	}
	out[n] = 0;
	*p = s + 1;
	return 0;
}

/* A JSON number (strict grammar); @p after it. */
static int parse_num(const char **p, double *out)
{
	const char *s = *p, *start = s;
	char *end;

	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return -1;
	if (*s == '.') {
		if (!(*++s >= '0' && *s <= '9'))
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	*out = strtod(start, &end);
	if (end != s || !isfinite(*out))
		return -1;
	*p = s;
	return 0;
}

static int field_index(const char *key)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		if (!strcmp(fields[i].key, key))
			return (int)i;
	return -1;
}

/* 0 if @line is one object with exactly the fields, typed; else -1. */
static int parse_row(const char *line, struct jrow *row)
{
	bool seen[NFIELDS] = { false };
	const char *p = line;
	char key[32];
	size_t n = 0;
	int i;

	if (*p++ != '{')
		return -1;
	for (;;) {
		if (parse_str(&p, key, sizeof(key)) || *p++ != ':')
			return -1;
		i = field_index(key);
		if (i < 0 || seen[i])
			return -1;
		seen[i] = true;
		n++;
		row->str[i][0] = 0;
		row->num[i] = NAN;
		if (!strncmp(p, "null", 4)) {
			if (fields[i].type != J_STR_OR_NULL &&
			    fields[i].type != J_NUM_OR_NULL)
				return -1;
			p += 4;
		} else if (fields[i].type == J_STR ||
			   fields[i].type == J_STR_OR_NULL) {
			if (parse_str(&p, row->str[i], sizeof(row->str[i])))
				return -1;
		} else {
			if (parse_num(&p, &row->num[i]))
				return -1;
			if (fields[i].type == J_UINT &&
			    (row->num[i] < 0 ||
			     row->num[i] != floor(row->num[i])))
				return -1;
		}
		if (*p == '}')
			break;
		if (*p++ != ',')
			return -1;
	}
	p++;
	if (*p == '\n')
		p++;
	return *p || n != NFIELDS ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Running chanbench */

/* build/bench/@prog; $CHANBENCH overrides chanbench's path. */
static void bench_path(char *buf, size_t len, const char *prog)
{
	const char *env = strcmp(prog, "chanbench") ? NULL : getenv("CHANBENCH");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	/* build/tests/host/ -> build/bench/@prog */
	snprintf(buf, len, "%s/../../bench/%s", self, prog);
}

/* Run @prog with @args (NULL-terminated), stdout to @out; exit code. */
static int run_bench(const char *prog, const char *const *args,
		     const char *out)
{
	char path[PATH_MAX + 32];
	const char *argv[32];
	int i, status;
	pid_t pid;

	bench_path(path, sizeof(path), prog);
	argv[0] = path;
	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_WRONLY);

		if (fd < 0 || null < 0 || dup2(fd, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int allowed_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	return CPU_COUNT(&set);
}

/* Table lines of a row (not the header, separator or section lines). */
static int table_rows(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0, seen_sep = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "| --- ", 6)) {
			seen_sep = 1;
			continue;
		}
		if (seen_sep && !strncmp(line, "| ", 2) &&
		    strncmp(line, "| *", 3))
			n++;
	}
	fclose(f);
	return n;
}

static bool is_spinning(const char *bench)
{
	return !strcmp(bench, "latency-polled") ||
	       !strncmp(bench, "throughput-polled", 17) ||
	       !strncmp(bench, "throughput-burst", 16) ||
	       !strncmp(bench, "throughput-zerocopy", 19);
}

static bool is_placement(const char *p)
{
	return !strcmp(p, "same-cpu") || !strcmp(p, "cross-cpu") ||
	       !strcmp(p, "single-cpu");
}

struct rows {
	struct jrow *v;
	int n;
};

/* Read @path's JSON lines; -1 (and the line number in @bad) if one is
 * malformed. */
static int read_rows(const char *path, struct rows *rows, int *bad)
{
	FILE *f = fopen(path, "r");
	char line[2048];

	rows->v = NULL;
	rows->n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct jrow *v = realloc(rows->v, (rows->n + 1) * sizeof(*v));

		if (!v || parse_row(line, &v[rows->n])) {
			rows->v = v ? v : rows->v;
			*bad = rows->n + 1;
			fclose(f);
			return -1;
		}
		rows->v = v;
		rows->n++;
	}
	fclose(f);
	return 0;
}

static int count_rows(const struct rows *rows, const char *transport,
		      const char *bench, const char *placement, double size)
{
	int i, n = 0;

	for (i = 0; i < rows->n; i++) {
		const struct jrow *r = &rows->v[i];

		if (!strcmp(r->str[F_TRANSPORT], transport) &&
		    !strcmp(r->str[F_BENCH], bench) &&
		    !strcmp(r->str[F_PLACEMENT], placement) &&
		    (size < 0 || r->num[F_SIZE] == size))
			n++;
	}
	return n;
}

/* ------------------------------------------------------------------ */

FIXTURE(files) {
	char json[64], out[64];
};

FIXTURE_SETUP(files)
{
	char path[PATH_MAX + 32];

	bench_path(path, sizeof(path), "chanbench");
	ASSERT_EQ(0, access(path, X_OK)) {
		TH_LOG("no %s (make -C tools/bench host)", path);
	}
	snprintf(self->json, sizeof(self->json), "/tmp/chanbench-test-%d.jsonl",
		 (int)getpid());
	snprintf(self->out, sizeof(self->out), "/tmp/chanbench-test-%d.md",
		 (int)getpid());
	unlink(self->json);
}

FIXTURE_TEARDOWN(files)
{
	unlink(self->json);
	unlink(self->out);
}

/* The checker itself must be able to fail. */
TEST(checker_rejects_malformed_lines)
{
	static const char good[] =
		"{\"bench\":\"rtt-blocking\",\"backend\":\"portable\",\"transport\":\"spsc\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":1.5,\"p99_ns\":2,\"p999_ns\":3e2,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":0.5,\"ratio\":null,\"baseline\":\"futex/rtt-blocking\",\"samples\":10}\n";
	static const char *const bad[] = {
		/* a field missing (samples) */
		"{\"bench\":\"b\",\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":1,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null}",
		/* an unknown field */
		"{\"bench\":\"b\",\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":1,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1,\"x\":1}",
		/* a field twice */
		"{\"bench\":\"b\",\"bench\":\"b\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":1,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1}",
		/* a string where a number goes, null for a string */
		"{\"bench\":null,\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":1,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1}",
		"{\"bench\":\"b\",\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":\"8\",\"p50_ns\":1,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1}",
		/* not JSON numbers */
		"{\"bench\":\"b\",\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":nan,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1}",
		"{\"bench\":\"b\",\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":1.,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1}",
		"{\"bench\":\"b\",\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8.5,\"p50_ns\":1,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1}",
		/* trailing garbage, unterminated */
		"{\"bench\":\"b\",\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":1,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1}}",
		"{\"bench\":\"b\",\"backend\":\"p\",\"transport\":\"t\",\"placement\":\"same-cpu\",\"msg_size\":8,\"p50_ns\":1,\"p99_ns\":2,\"p999_ns\":3,\"msgs_per_s\":null,\"bytes_per_s\":null,\"cpu_ns_per_msg\":1,\"ratio\":null,\"baseline\":null,\"samples\":1",
		"",
	};
	struct jrow row;
	size_t i;

	ASSERT_EQ(0, parse_row(good, &row));
	EXPECT_STREQ("spsc", row.str[F_TRANSPORT]);
	EXPECT_EQ(300.0, row.num[F_P999]);
	EXPECT_TRUE(isnan(row.num[F_RATIO]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, parse_row(bad[i], &row)) {
			TH_LOG("accepted bad line %zu", i);
		}
	}
}

/* A whole run, briefly: every row well formed and where it belongs. */
TEST_F(files, quick_run_is_well_formed)
{
	/* iceoryx is left out: its RouDi is one per machine, and another
	 * run may be using it. */
	static const char *const args[] = {
		"--time-ms", "2", "--warmup-ms", "1", "--gap-us", "10",
		"--max-samples", "20000", "--repeat", "1",
		"--lat-sizes", "8,64,4096", "--tput-sizes", "8,4096",
		"--skip", "iceoryx", "--json", NULL, NULL,
	};
	const char *argv[sizeof(args) / sizeof(args[0])];
	bool cross = allowed_cpus() >= 2;
	struct rows rows;
	int i, bad = 0, rc;

	memcpy(argv, args, sizeof(args));
	argv[17] = self->json;
	rc = run_bench("chanbench", argv, self->out);
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, read_rows(self->json, &rows, &bad)) {
		TH_LOG("line %d of %s is not a well-formed row", bad,
		       self->json);
	}
	EXPECT_EQ(rows.n, table_rows(self->out));
	for (i = 0; i < rows.n; i++) {
		const struct jrow *r = &rows.v[i];
		const double *v = r->num;

		EXPECT_STREQ("portable", r->str[F_BACKEND]);
		EXPECT_TRUE(is_placement(r->str[F_PLACEMENT]));
		EXPECT_GE(v[F_SIZE], 8);
		EXPECT_GT(v[F_SAMPLES], 0);
		/* Spinning rows never on one CPU. */
		if (is_spinning(r->str[F_BENCH])) {
			EXPECT_STREQ("cross-cpu", r->str[F_PLACEMENT]);
		}
		/* A latency row has ordered percentiles; a throughput row
		 * has a rate and bytes = rate x size. */
		if (!isnan(v[F_P50])) {
			EXPECT_GT(v[F_P50], 0);
			EXPECT_LE(v[F_P50], v[F_P99]);
			EXPECT_LE(v[F_P99], v[F_P999]);
			EXPECT_TRUE(isnan(v[F_MSGS]));
		} else {
			EXPECT_GT(v[F_MSGS], 0);
			EXPECT_LE(fabs(v[F_BYTES] - v[F_MSGS] * v[F_SIZE]),
				  v[F_SIZE]);
		}
		/* Compared to a baseline of the same run: a ratio. */
		if (r->str[F_BASELINE][0]) {
			EXPECT_FALSE(isnan(v[F_RATIO])) {
				TH_LOG("row %d (%s/%s) has no ratio", i + 1,
				       r->str[F_TRANSPORT], r->str[F_BENCH]);
			}
		}
	}
	/* The rows issue 4 asks for, beside their baselines. */
	EXPECT_EQ(2, count_rows(&rows, "memcpy", "bandwidth", "single-cpu", -1));
	EXPECT_EQ(3, count_rows(&rows, "futex", "rtt-blocking", "same-cpu", -1));
	EXPECT_EQ(3, count_rows(&rows, "spsc", "rtt-blocking", "same-cpu", -1));
	EXPECT_EQ(3, count_rows(&rows, "mpmc", "rtt-blocking", "same-cpu", -1));
	EXPECT_EQ(1, count_rows(&rows, "spsc", "throughput-blocking", "same-cpu", 8));
	EXPECT_EQ(1, count_rows(&rows, "spsc", "throughput-blocking", "same-cpu", 4096));
	EXPECT_EQ(2, count_rows(&rows, "mpmc", "throughput-blocking-2x2", "same-cpu", -1));
	EXPECT_EQ(0, count_rows(&rows, "cacheline", "latency-polled", "same-cpu", -1));
	/* What users would pick instead, in the same run (issue 6). */
	EXPECT_EQ(3, count_rows(&rows, "pipe", "rtt-blocking", "same-cpu", -1));
	EXPECT_EQ(3, count_rows(&rows, "unix-stream", "rtt-blocking", "same-cpu", -1));
	EXPECT_EQ(3, count_rows(&rows, "unix-dgram", "rtt-blocking", "same-cpu", -1));
	EXPECT_EQ(3, count_rows(&rows, "eventfd-shm", "rtt-blocking", "same-cpu", -1));
	EXPECT_EQ(2, count_rows(&rows, "pipe", "throughput-blocking", "same-cpu", -1));
	EXPECT_EQ(1, count_rows(&rows, "pipe", "wake-blocking", "same-cpu", 8));
	EXPECT_EQ(0, count_rows(&rows, "iceoryx", "rtt-blocking", "same-cpu", -1));
	if (cross) {
		EXPECT_EQ(3, count_rows(&rows, "cacheline", "latency-polled", "cross-cpu", -1));
		EXPECT_EQ(3, count_rows(&rows, "futex", "rtt-blocking", "cross-cpu", -1));
		EXPECT_EQ(3, count_rows(&rows, "spsc", "latency-polled", "cross-cpu", -1));
		EXPECT_EQ(3, count_rows(&rows, "mpmc", "latency-polled", "cross-cpu", -1));
		EXPECT_EQ(1, count_rows(&rows, "spsc", "throughput-polled", "cross-cpu", 8));
		EXPECT_EQ(1, count_rows(&rows, "spsc", "throughput-polled", "cross-cpu", 4096));
		EXPECT_EQ(2, count_rows(&rows, "spsc", "throughput-burst32", "cross-cpu", -1));
		EXPECT_EQ(2, count_rows(&rows, "spsc", "throughput-zerocopy", "cross-cpu", -1));
		EXPECT_EQ(2, count_rows(&rows, "mpmc", "throughput-polled", "cross-cpu", -1));
		EXPECT_EQ(3, count_rows(&rows, "pipe", "rtt-blocking", "cross-cpu", -1));
	}
	free(rows.v);
}

/* --filter and the size lists choose the rows; --placement same drops
 * the other placement. */
TEST_F(files, options_choose_rows)
{
	const char *argv[] = {
		"--time-ms", "1", "--warmup-ms", "0", "--repeat", "2",
		"--placement", "same",
		"--filter", "spsc/rtt", "--lat-sizes", "8,16", "--json",
		self->json, NULL,
	};
	struct rows rows;
	int i, bad = 0;

	ASSERT_EQ(0, run_bench("chanbench", argv, self->out));
	ASSERT_EQ(0, read_rows(self->json, &rows, &bad));
	ASSERT_EQ(2, rows.n);
	for (i = 0; i < rows.n; i++) {
		EXPECT_STREQ("spsc", rows.v[i].str[F_TRANSPORT]);
		EXPECT_STREQ("rtt-blocking", rows.v[i].str[F_BENCH]);
		EXPECT_STREQ("same-cpu", rows.v[i].str[F_PLACEMENT]);
		EXPECT_EQ(i ? 16 : 8, rows.v[i].num[F_SIZE]);
	}
	free(rows.v);
}

/* --skip drops the rows --filter chose. */
TEST_F(files, skip_drops_rows)
{
	const char *argv[] = {
		"--time-ms", "1", "--warmup-ms", "0", "--repeat", "1",
		"--placement", "same", "--filter", "/rtt-blocking",
		"--lat-sizes", "8", "--skip", "spsc,iceoryx", "--json", self->json,
		NULL,
	};
	struct rows rows;
	int i, bad = 0;

	ASSERT_EQ(0, run_bench("chanbench", argv, self->out));
	ASSERT_EQ(0, read_rows(self->json, &rows, &bad));
	EXPECT_GE(rows.n, 2);	/* futex, mpmc, the alternatives */
	EXPECT_EQ(1, count_rows(&rows, "mpmc", "rtt-blocking", "same-cpu", 8));
	for (i = 0; i < rows.n; i++) {
		EXPECT_STRNE("spsc", rows.v[i].str[F_TRANSPORT]);
		EXPECT_STRNE("iceoryx", rows.v[i].str[F_TRANSPORT]);
	}
	free(rows.v);
}

/* Bad options: exit 2 and no JSON file at all. */
TEST_F(files, bad_options_are_refused)
{
	static const char *const bad[][3] = {
		{ "--time-ms", "0" },	{ "--time-ms", "x" },
		{ "--lat-sizes", "4" },	{ "--tput-sizes", "8,2000000" },
		{ "--lat-sizes", "8,,9" }, { "--placement", "sideways" },
		{ "--cpus", "0,0" },	{ "--cpus", "0" },
		{ "--max-samples", "-1" }, { "--repeat", "0" },
		{ "--bogus" },		{ "stray" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[6] = { bad[i][0], bad[i][1] };
		int k = bad[i][1] ? 2 : 1;

		argv[k++] = "--json";
		argv[k++] = self->json;
		argv[k] = NULL;
		EXPECT_EQ(2, run_bench("chanbench", argv, self->out)) {
			TH_LOG("accepted %s %s", bad[i][0],
			       bad[i][1] ? bad[i][1] : "");
		}
		EXPECT_EQ(-1, access(self->json, F_OK));
	}
}

/* An unwritable JSON file is an error before any row runs. */
TEST_F(files, unwritable_json_is_an_error)
{
	const char *argv[] = { "--time-ms", "1", "--json",
			       "/nonexistent-dir/x.jsonl", NULL };

	EXPECT_EQ(2, run_bench("chanbench", argv, self->out));
	EXPECT_EQ(0, table_rows(self->out));
}

/*
 * ctlscale (the controller/worker transition and channel-count rows):
 * every row of both placements, well formed, one table line each.
 */
TEST_F(files, ctlscale_run_is_well_formed)
{
	static const char *const scales[] = { "scale-1ch", "scale-16ch",
					      "scale-256ch", "scale-1024ch" };
	const char *argv[] = { "--time-ms", "1", "--json", self->json, NULL };
	const char *places[] = { "same-cpu", "cross-cpu" };
	int nplaces = allowed_cpus() >= 2 ? 2 : 1;
	struct rows rows;
	int i, p, bad = 0;

	ASSERT_EQ(0, run_bench("ctlscale", argv, self->out));
	ASSERT_EQ(0, read_rows(self->json, &rows, &bad)) {
		TH_LOG("line %d of %s is not a well-formed row", bad,
		       self->json);
	}
	EXPECT_EQ(5 * nplaces, rows.n);
	EXPECT_EQ(rows.n, table_rows(self->out));
	for (i = 0; i < rows.n; i++) {
		const double *v = rows.v[i].num;

		EXPECT_STREQ("portable", rows.v[i].str[F_BACKEND]);
		EXPECT_GT(v[F_SAMPLES], 0);
		EXPECT_GT(v[F_P50], 0);
		EXPECT_LE(v[F_P50], v[F_P99]);
		EXPECT_LE(v[F_P99], v[F_P999]);
	}
	for (p = 0; p < nplaces; p++) {
		EXPECT_EQ(1, count_rows(&rows, "ctl", "transition-rtt",
					places[p], 8));
		for (i = 0; i < 4; i++)
			EXPECT_EQ(1, count_rows(&rows, "spsc", scales[i],
						places[p], 8));
	}
	free(rows.v);
	/* Bad options: refused before anything runs. */
	argv[1] = "0";
	EXPECT_EQ(2, run_bench("ctlscale", argv, self->out));
	EXPECT_EQ(0, table_rows(self->out));
	argv[0] = "--bogus";
	EXPECT_EQ(2, run_bench("ctlscale", argv, self->out));
	EXPECT_EQ(0, table_rows(self->out));
}

/*
 * kill-to-wake on the host (libshmipc's portable backend beside the
 * kernel's notifications): every row well formed, compared with the
 * pidfd baseline, one table line each; bad options refused.  Boost and
 * iceoryx are left out (optional packages; RouDi is one per machine).
 */
/* Above kill-to-wake's own 30 s limit per wait, so it reports first. */
TEST_F_TIMEOUT(files, kill_to_wake_run_is_well_formed, 120)
{
	static const char *const transports[] = { "pidfd", "pipe-eof",
						  "unix-stream-eof", "spsc" };
	const char *argv[] = { "--trials", "10", "--only",
			       "pidfd,pipe,unix-stream,spsc", "--json",
			       self->json, NULL };
	struct rows rows;
	int i, bad = 0;

	ASSERT_EQ(0, run_bench("kill-to-wake", argv, self->out));
	ASSERT_EQ(0, read_rows(self->json, &rows, &bad)) {
		TH_LOG("line %d of %s is not a well-formed row", bad,
		       self->json);
	}
	ASSERT_EQ(4, rows.n);
	EXPECT_EQ(rows.n, table_rows(self->out));
	for (i = 0; i < rows.n; i++) {
		const struct jrow *r = &rows.v[i];
		const double *v = r->num;

		EXPECT_STREQ(transports[i], r->str[F_TRANSPORT]);
		EXPECT_STREQ("kill-to-wake", r->str[F_BENCH]);
		EXPECT_STREQ("portable", r->str[F_BACKEND]);
		EXPECT_TRUE(is_placement(r->str[F_PLACEMENT]));
		EXPECT_EQ(0, v[F_SIZE]);
		EXPECT_EQ(10, v[F_SAMPLES]);
		EXPECT_GT(v[F_P50], 0);
		EXPECT_LE(v[F_P50], v[F_P99]);
		EXPECT_LE(v[F_P99], v[F_P999]);
		if (i == 0) {
			EXPECT_EQ(0, r->str[F_BASELINE][0]);
			EXPECT_TRUE(isnan(v[F_RATIO]));
		} else {
			EXPECT_STREQ("pidfd/kill-to-wake", r->str[F_BASELINE]);
			EXPECT_FALSE(isnan(v[F_RATIO]));
		}
	}
	free(rows.v);
	/* Bad options: exit 2, no JSON file. */
	unlink(self->json);
	argv[1] = "9";
	EXPECT_EQ(2, run_bench("kill-to-wake", argv, self->out));
	EXPECT_EQ(-1, access(self->json, F_OK));
	argv[1] = "x";
	EXPECT_EQ(2, run_bench("kill-to-wake", argv, self->out));
	argv[0] = "--bogus";
	EXPECT_EQ(2, run_bench("kill-to-wake", argv, self->out));
	EXPECT_EQ(-1, access(self->json, F_OK));
}

TEST_HARNESS_MAIN
