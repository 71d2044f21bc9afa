// SPDX-License-Identifier: LGPL-2.1-or-later
/* A small streaming JSON writer: see json_out.h. */
#include "json_out.h"

#include <inttypes.h>
#include <string.h>

void json_init(struct json_out *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void put_escaped(FILE *f, const char *s, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c > 0x7e)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The comma before a value, and its member name. */
static void lead(struct json_out *j, const char *key)
{
	if (j->depth > 0) {
		if (j->need_comma[j->depth])
			fputc(',', j->f);
		j->need_comma[j->depth] = true;
	}
	if (key) {
		put_escaped(j->f, key, strlen(key));
		fputc(':', j->f);
	}
}

static void open_scope(struct json_out *j, const char *key, char c)
{
	lead(j, key);
	fputc(c, j->f);
	if (j->depth < JSON_DEPTH_MAX - 1)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_scope(struct json_out *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_begin_object(struct json_out *j, const char *key)
{
	open_scope(j, key, '{');
}

void json_end_object(struct json_out *j)
{
	close_scope(j, '}');
}

void json_begin_array(struct json_out *j, const char *key)
{
	open_scope(j, key, '[');
}

void json_end_array(struct json_out *j)
{
	close_scope(j, ']');
}

void json_string_len(struct json_out *j, const char *key, const char *val,
		     size_t len)
{
	lead(j, key);
	put_escaped(j->f, val, len);
}

void json_string(struct json_out *j, const char *key, const char *val)
{
	json_string_len(j, key, val, strlen(val));
}

void json_u64(struct json_out *j, const char *key, uint64_t val)
{
	lead(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void json_i64(struct json_out *j, const char *key, int64_t val)
{
	lead(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void json_bool(struct json_out *j, const char *key, bool val)
{
	lead(j, key);
	fputs(val ? "true" : "false", j->f);
}

void json_null(struct json_out *j, const char *key)
{
	lead(j, key);
	fputs("null", j->f);
}

void json_finish(struct json_out *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
