/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A strict little JSON reader for the command-line tests: parses a whole
 * document into a tree (objects, arrays, strings with escapes, integers,
 * true/false/null) and rejects anything else, so a test that parses the
 * tool's --json output also checks that it is well-formed.  Numbers are
 * integers only (the tool writes no others).
 */
#ifndef JSON_IN_H
#define JSON_IN_H

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype type;
	char *key;		/* member name inside an object */
	char *str;		/* J_STR (bytes of \u00XX escapes decoded) */
	long long num;		/* J_NUM */
	bool b;			/* J_BOOL */
	struct jnode *child;	/* J_ARR, J_OBJ: first element / member */
	struct jnode *next;
};

struct jparser {
	const char *p;
	int depth;
};

static void json_free(struct jnode *n)
{
	while (n) {
		struct jnode *next = n->next;

		json_free(n->child);
		free(n->key);
		free(n->str);
		free(n);
		n = next;
	}
}

static void jp_ws(struct jparser *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' ||
	       *jp->p == '\r')
		jp->p++;
}

/* A string at jp->p (after its quote is checked): malloc'd, or NULL. */
static char *jp_string(struct jparser *jp)
{
	size_t cap = strlen(jp->p) + 1, n = 0;
	char *s = malloc(cap);

	if (!s || *jp->p != '"')
		goto bad;
	jp->p++;
	while (*jp->p != '"') {
		unsigned char c = (unsigned char)*jp->p++;

		if (c < 0x20)
			goto bad;	/* raw control byte, or end of text */
		if (c == '\\') {
			char e = *jp->p++;
			unsigned int v;

			switch (e) {
			case '"': case '\\': case '/':
				s[n++] = e;
				break;
			case 'n':
				s[n++] = '\n';
				break;
			case 't':
				s[n++] = '\t';
				break;
			case 'r':
				s[n++] = '\r';
				break;
			case 'b':
				s[n++] = '\b';
				break;
			case 'f':
				s[n++] = '\f';
				break;
			case 'u':
				if (!isxdigit((unsigned char)jp->p[0]) ||
				    !isxdigit((unsigned char)jp->p[1]) ||
				    !isxdigit((unsigned char)jp->p[2]) ||
				    !isxdigit((unsigned char)jp->p[3]))
					goto bad;
				v = (unsigned int)strtoul((char[5]){ jp->p[0],
					jp->p[1], jp->p[2], jp->p[3], 0 },
					NULL, 16);
				/* the tool writes no others */
				if (v > 0xff)
					goto bad;
				s[n++] = (char)v;
				jp->p += 4;
				break;
			default:
				goto bad;
			}
		} else {
			s[n++] = (char)c;
		}
	}
	jp->p++;
	s[n] = '\0';
	return s;
bad:
	free(s);
	return NULL;
}

static struct jnode *jp_value(struct jparser *jp);

/* Elements (or members) up to @close; NULL on error, else the node. */
static struct jnode *jp_container(struct jparser *jp, struct jnode *n,
				  char close, bool members)
{
	struct jnode **tail = &n->child;

	jp->p++;
	jp_ws(jp);
	if (*jp->p == close) {
		jp->p++;
		return n;
	}
	for (;;) {
		char *key = NULL;
		struct jnode *v;

		jp_ws(jp);
		if (members) {
			key = jp_string(jp);
			if (!key)
				goto bad;
			jp_ws(jp);
			if (*jp->p++ != ':') {
				free(key);
				goto bad;
			}
		}
		v = jp_value(jp);
		if (!v) {
			free(key);
			goto bad;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		jp_ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p++ == close)
			return n;
		goto bad;
	}
bad:
	json_free(n);
	return NULL;
}

static struct jnode *jp_value(struct jparser *jp)
{
	struct jnode *n;

	if (++jp->depth > 32)
		return NULL;
	jp_ws(jp);
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (*jp->p == '{') {
		n->type = J_OBJ;
		n = jp_container(jp, n, '}', true);
	} else if (*jp->p == '[') {
		n->type = J_ARR;
		n = jp_container(jp, n, ']', false);
	} else if (*jp->p == '"') {
		n->type = J_STR;
		n->str = jp_string(jp);
		if (!n->str) {
			free(n);
			n = NULL;
		}
	} else if (*jp->p == '-' || isdigit((unsigned char)*jp->p)) {
		char *end;

		n->type = J_NUM;
		n->num = strtoll(jp->p, &end, 10);
		/* integers only; no leading zeros */
		if (end == jp->p || *end == '.' || *end == 'e' || *end == 'E' ||
		    (jp->p[0] == '0' && end - jp->p > 1)) {
			free(n);
			n = NULL;
		} else {
			jp->p = end;
		}
	} else if (!strncmp(jp->p, "true", 4) || !strncmp(jp->p, "false", 5)) {
		n->type = J_BOOL;
		n->b = jp->p[0] == 't';
		jp->p += n->b ? 4 : 5;
	} else if (!strncmp(jp->p, "null", 4)) {
		n->type = J_NULL;
		jp->p += 4;
	} else {
		free(n);
		n = NULL;
	}
	jp->depth--;
	return n;
}

/* Parse @text (one value, then only whitespace); NULL if invalid. */
static struct jnode *json_parse(const char *text)
{
	struct jparser jp = { text, 0 };
	struct jnode *n = jp_value(&jp);

	if (!n)
		return NULL;
	jp_ws(&jp);
	if (*jp.p) {
		json_free(n);
		return NULL;
	}
	return n;
}

/* Member @key of object @o, or NULL. */
static const struct jnode *json_get(const struct jnode *o, const char *key)
{
	const struct jnode *c;

	if (!o || o->type != J_OBJ)
		return NULL;
	for (c = o->child; c; c = c->next)
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}

static int json_len(const struct jnode *a)
{
	const struct jnode *c;
	int n = 0;

	if (!a || (a->type != J_ARR && a->type != J_OBJ))
		return -1;
	for (c = a->child; c; c = c->next)
		n++;
	return n;
}

static const struct jnode *json_at(const struct jnode *a, int i)
{
	const struct jnode *c;

	if (!a || a->type != J_ARR)
		return NULL;
	for (c = a->child; c && i > 0; c = c->next)
		i--;
	return c;
}

/* The element of array @a whose member @key is the string @val. */
static const struct jnode *json_find(const struct jnode *a, const char *key,
				     const char *val)
{
	const struct jnode *c, *m;

	if (!a || a->type != J_ARR)
		return NULL;
	for (c = a->child; c; c = c->next) {
		m = json_get(c, key);
		if (m && m->type == J_STR && !strcmp(m->str, val))
			return c;
	}
	return NULL;
}

/* The element of array @a whose member @key is the number @val. */
static const struct jnode *json_find_num(const struct jnode *a,
					 const char *key, long long val)
{
	const struct jnode *c, *m;

	if (!a || a->type != J_ARR)
		return NULL;
	for (c = a->child; c; c = c->next) {
		m = json_get(c, key);
		if (m && m->type == J_NUM && m->num == val)
			return c;
	}
	return NULL;
}

/* Member @key as a number, a string, null or bool; defaults if absent. */
static long long json_num(const struct jnode *o, const char *key)
{
	const struct jnode *m = json_get(o, key);

	return m && m->type == J_NUM ? m->num : LLONG_MIN;
}

static const char *json_str(const struct jnode *o, const char *key)
{
	const struct jnode *m = json_get(o, key);

	return m && m->type == J_STR ? m->str : NULL;
}

static bool json_is_null(const struct jnode *o, const char *key)
{
	const struct jnode *m = json_get(o, key);

	return m && m->type == J_NULL;
}

static int json_bool_of(const struct jnode *o, const char *key)
{
	const struct jnode *m = json_get(o, key);

	return m && m->type == J_BOOL ? m->b : -1;
}

#endif /* JSON_IN_H */
