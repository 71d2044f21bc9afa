/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small streaming JSON writer for the command line tools: compact
 * output, members in the order written, commas placed by the writer.
 * Strings are escaped so that any bytes (a hostile directory key, say)
 * give valid JSON: quotes, backslashes, control bytes and bytes above
 * 0x7f become escapes (the latter read as Latin-1).
 */
#ifndef SHMIPC_JSON_OUT_H
#define SHMIPC_JSON_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX	16

struct json_out {
	FILE *f;
	int depth;
	bool need_comma[JSON_DEPTH_MAX];
};

void json_init(struct json_out *j, FILE *f);

/* @key is the member name inside an object, NULL inside an array. */
void json_begin_object(struct json_out *j, const char *key);
void json_end_object(struct json_out *j);
void json_begin_array(struct json_out *j, const char *key);
void json_end_array(struct json_out *j);

void json_string(struct json_out *j, const char *key, const char *val);
/* @len bytes of @val (which need not be NUL-terminated). */
void json_string_len(struct json_out *j, const char *key, const char *val,
		     size_t len);
void json_u64(struct json_out *j, const char *key, uint64_t val);
void json_i64(struct json_out *j, const char *key, int64_t val);
void json_bool(struct json_out *j, const char *key, bool val);
void json_null(struct json_out *j, const char *key);

/* After the outermost value: a newline, and the stream flushed. */
void json_finish(struct json_out *j);

#endif /* SHMIPC_JSON_OUT_H */
