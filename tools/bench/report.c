// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the output.  A Markdown table on stdout (one row as each is
 * measured) and, with --json FILE, one JSON object per row:
 *   bench, backend, transport, placement, msg_size, p50_ns, p99_ns,
 *   p999_ns, msgs_per_s, bytes_per_s, cpu_ns_per_msg, ratio, baseline,
 *   samples
 * A figure that does not apply to a row is null.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "bench.h"

const char *const placement_names[PLACES] = {
	[PLACE_SAME_CPU] = "same-cpu",
	[PLACE_CROSS_CPU] = "cross-cpu",
	[PLACE_SINGLE_CPU] = "single-cpu",
};

static FILE *json;
static const char *run_backend;

void row_init(struct row *row, const char *bench, const char *transport,
	      enum placement p, size_t msg_size)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->bench, sizeof(row->bench), "%s", bench);
	snprintf(row->transport, sizeof(row->transport), "%s", transport);
	row->backend = run_backend;
	row->placement = p;
	row->msg_size = msg_size;
	row->p50_ns = row->p99_ns = row->p999_ns = NAN;
	row->msgs_per_s = row->bytes_per_s = row->cpu_ns_per_msg = NAN;
	row->ratio = NAN;
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon += 1 + (colon[1] == ' ');
		colon[strcspn(colon, "\n")] = 0;
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

int report_json_open(const char *path, const char *backend)
{
	run_backend = backend;
	if (!path)
		return 0;
	json = fopen(path, "w");
	return json ? 0 : -1;
}

int report_open(const struct bench_opts *o, const char *backend)
{
	struct utsname u;
	char model[128];

	if (report_json_open(o->json_path, backend))
		return -1;
	cpu_model(model, sizeof(model));
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	printf("chanbench: libshmipc channels beside raw baselines measured in the same run\n\n");
	printf("- libshmipc backend: **%s**; %s, %ld CPUs online, kernel %s\n",
	       backend, model, sysconf(_SC_NPROCESSORS_ONLN), u.release);
	if (o->ncpus > 1)
		printf("- placements: same-cpu = every process on CPU %d; cross-cpu = alternating between CPUs %d and %d\n",
		       o->cpus[0], o->cpus[0], o->cpus[1]);
	else
		printf("- placements: same-cpu only (CPU %d is the only one allowed)\n",
		       o->cpus[0]);
	printf("- each row: the best of %d runs (lowest p50, highest rate), each %.0f ms measured after %.0f ms of warm-up; one clock read costs %.0f ns here and each latency sample includes one\n",
	       o->repeat, o->time_ns / 1e6, o->warmup_ns / 1e6,
	       clock_cost_ns());
	printf("- latency-polled: one way (round trip / 2), spinning; rtt-blocking: a full round trip through the blocking calls; wake-blocking: one way to a receiver asleep (a %.0f us pause before each message, longer than the receiver spins)\n",
	       o->gap_ns / 1e3);
	printf("- throughput-*: one producer to one consumer unless the name says NxM; zero copy writes and reads only the first 8 bytes of each message\n");
	printf("- ratio: p50 / baseline p50 for latency (lower is better), bytes/s / baseline bytes/s for throughput (higher is better)\n\n");
	printf("| bench | transport | placement | size B | p50 ns | p99 ns | p999 ns | M msgs/s | MB/s | CPU ns/msg | ratio | baseline |\n");
	printf("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
	fflush(stdout);
	return 0;
}

void report_section(enum placement p, const char *note)
{
	printf("| *%s: %s* | | | | | | | | | | | |\n", placement_names[p], note);
	fflush(stdout);
}

/*
 * Markdown cell: "-" where a figure does not apply; @v / @scale with
 * @decimals, or (@decimals < 0) two decimals, two significant digits
 * below 0.1 (the VM's rates, small ratios).
 */
static const char *cell(char *buf, size_t len, double v, double scale,
			int decimals)
{
	if (!isfinite(v))
		return "-";
	v /= scale;
	if (decimals >= 0)
		snprintf(buf, len, "%.*f", decimals, v);
	else if (v < 0.1)
		snprintf(buf, len, "%.2g", v);
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

/* JSON number (fixed @decimals, or 4 significant digits if < 0) or null. */
static void jnum(const char *key, double v, int decimals)
{
	if (!isfinite(v))
		fprintf(json, ",\"%s\":null", key);
	else if (decimals < 0)
		fprintf(json, ",\"%s\":%.4g", key, v);
	else
		fprintf(json, ",\"%s\":%.*f", key, decimals, v);
}

static void json_row(const struct row *r)
{
	fprintf(json, "{\"bench\":\"%s\",\"backend\":\"%s\",\"transport\":\"%s\",\"placement\":\"%s\",\"msg_size\":%zu",
		r->bench, r->backend, r->transport,
		placement_names[r->placement], r->msg_size);
	jnum("p50_ns", r->p50_ns, 1);
	jnum("p99_ns", r->p99_ns, 1);
	jnum("p999_ns", r->p999_ns, 1);
	jnum("msgs_per_s", r->msgs_per_s, 0);
	jnum("bytes_per_s", r->bytes_per_s, 0);
	jnum("cpu_ns_per_msg", r->cpu_ns_per_msg, 1);
	jnum("ratio", r->ratio, -1);
	if (r->baseline[0])
		fprintf(json, ",\"baseline\":\"%s\"", r->baseline);
	else
		fprintf(json, ",\"baseline\":null");
	fprintf(json, ",\"samples\":%llu}\n", (unsigned long long)r->samples);
	fflush(json);
}

void report_json(const struct row *r)
{
	if (json)
		json_row(r);
}

void report_row(const struct row *r)
{
	char b[7][32];

	if (r->err) {
		printf("| %s | %s | %s | %zu | FAILED: %s: %s | | | | | | | |\n",
		       r->bench, r->transport, placement_names[r->placement],
		       r->msg_size, r->what, strerror(-r->err));
		fflush(stdout);
		return;
	}
	printf("| %s | %s | %s | %zu | %s | %s | %s | %s | %s | %s | %s | %s |\n",
	       r->bench, r->transport, placement_names[r->placement],
	       r->msg_size, cell(b[0], 32, r->p50_ns, 1, 1),
	       cell(b[1], 32, r->p99_ns, 1, 1),
	       cell(b[2], 32, r->p999_ns, 1, 1),
	       cell(b[3], 32, r->msgs_per_s, 1e6, -1),
	       cell(b[4], 32, r->bytes_per_s, 1e6, 0),
	       cell(b[5], 32, r->cpu_ns_per_msg, 1, 1),
	       cell(b[6], 32, r->ratio, 1, -1),
	       r->baseline[0] ? r->baseline : "-");
	fflush(stdout);
	report_json(r);
}

int report_close(void)
{
	int ret = 0;

	if (json && fclose(json))
		ret = -1;
	json = NULL;
	return ret;
}
