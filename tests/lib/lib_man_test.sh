#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cases run via ktap_main
#
# libshmipc's man pages (tools/gen-man.sh -> build/man): current with the
# headers, one page for every exported function and none for anything
# else, every page rendered by groff and man without a warning and indexed
# by whatis, the overview listing them all; and the generator itself on a
# header made to trip it.
# ktap.sh: beside this file in tests/lib, in sh/ once installed.
ktap=$(dirname "$0")/ktap.sh
[ -f "$ktap" ] || ktap=$(dirname "$0")/sh/ktap.sh
# shellcheck source=ktap.sh
. "$ktap"

man_out=$TOP/build/man
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TOP/dkms.conf")

# The functions libshmipc.so exports (nm -D), one a line.
exports() {
	nm -D --defined-only "$TOP/lib/libshmipc.so" |
		awk '$2 ~ /^[TW]$/ && $3 ~ /^shmipc_/ { sub(/@.*/, "", $3); print $3 }' |
		LC_ALL=C sort -u
}

# Page names (without .3) in man3 of $1.
pages() { (cd "$1/man3" && for f in *.3; do echo "${f%.3}"; done) | LC_ALL=C sort; }

# The build makes the pages, from the headers as they are now.
pages_are_current() {
	make -s --no-print-directory -C "$TOP/lib"
	"$TOP/tools/gen-man.sh" "$version" "$TOP/lib/include" "$TOP/lib/man" \
		"$KTAP_TMP/man" 2> "$KTAP_TMP/err"
	cat "$KTAP_TMP/err"
	[ ! -s "$KTAP_TMP/err" ] || fail "gen-man.sh warns (a public function without a doc comment?)"
	diff -r -x .stamp "$KTAP_TMP/man" "$man_out" || fail "build/man is stale"
}

every_export_has_a_page() {
	exports > "$KTAP_TMP/exports"
	[ -s "$KTAP_TMP/exports" ] || fail "libshmipc.so exports no shmipc_* function"
	pages "$man_out" > "$KTAP_TMP/pages"
	comm -23 "$KTAP_TMP/exports" "$KTAP_TMP/pages" > "$KTAP_TMP/missing"
	[ ! -s "$KTAP_TMP/missing" ] || fail "no man page for: $(tr '\n' ' ' < "$KTAP_TMP/missing")"
}

# Every page is a function a program can call: declared by a public header
# and defined by the library (or inline).  A documented prototype that was
# never implemented fails to link here.
every_page_is_a_function() {
	local f p
	{
		for f in "$TOP"/lib/include/shmipc.h "$TOP"/lib/include/shmipc/*.h; do
			[ -f "$f" ] && echo "#include <${f#"$TOP"/lib/include/}>"
		done
		echo "typedef void (*fn)(void);"
		echo "const fn all[] = {"
		for p in $(pages "$man_out"); do echo "	(fn)$p,"; done
		echo "};"
		echo "int main(void) { return all[0] == 0; }"
	} > "$KTAP_TMP/all.c"
	cc -std=c11 -Wall -Werror -Wno-cast-function-type -I"$TOP/lib/include" \
		-o "$KTAP_TMP/all" "$KTAP_TMP/all.c" "$TOP/lib/libshmipc.a" -pthread ||
		fail "a man page names something that is not a public function"
	"$KTAP_TMP/all"
}

# Plain text, without bold or underlining by overstrike.
roff() { groff -man -Tutf8 -ww -P-cbou "$@"; }

# groff -ww for every file (from the man root, where .so links resolve),
# and man(1) itself, as a reader would run it, for every function.
pages_render_cleanly() {
	local f n=0
	cd "$man_out"
	for f in man3/*.3 man7/*.7; do
		roff "$f" > "$KTAP_TMP/out" 2> "$KTAP_TMP/err" ||
			fail "$f: groff failed"
		[ ! -s "$KTAP_TMP/err" ] || { cat "$KTAP_TMP/err"; fail "$f: groff warns"; }
		grep -q . "$KTAP_TMP/out" || fail "$f: renders empty"
		n=$((n + 1))
	done
	for f in $(exports); do
		MANWIDTH=80 man -M "$man_out" --warnings=w 3 "$f" > "$KTAP_TMP/out" 2> "$KTAP_TMP/err" ||
			fail "man 3 $f failed"
		[ ! -s "$KTAP_TMP/err" ] || { cat "$KTAP_TMP/err"; fail "man 3 $f warns"; }
		grep -q "^NAME" "$KTAP_TMP/out" || fail "man 3 $f: no NAME"
		grep -q "$f" "$KTAP_TMP/out" || fail "man 3 $f: does not name $f"
	done
	MANWIDTH=80 man -M "$man_out" --warnings=w 7 libshmipc 2> "$KTAP_TMP/err" |
		grep -q '^CONVENTIONS' || fail "man 7 libshmipc"
	[ ! -s "$KTAP_TMP/err" ] || { cat "$KTAP_TMP/err"; fail "man 7 libshmipc warns"; }
	echo "$n files rendered"
}

# mandb's parser finds "name - description" for every exported function.
whatis_entries() {
	(cd "$man_out" && lexgrog man3/*.3 man7/*.7) > "$KTAP_TMP/whatis" ||
		fail "lexgrog cannot parse a page"
	local f
	for f in $(exports) libshmipc; do
		grep -qE "\"$f - [^ ].*\"$" "$KTAP_TMP/whatis" || fail "no whatis entry for $f"
	done
}

overview_lists_every_function() {
	local p o=$man_out/man7/libshmipc.7
	! grep -n '@[A-Z]*@' "$o" || fail "placeholder left in libshmipc.7"
	grep -q "libshmipc $version" "$o" || fail "no version in libshmipc.7"
	for p in $(pages "$man_out"); do
		grep -qF "\\fB$p\\fR(3)" "$o" || fail "libshmipc.7 does not list $p"
	done
}

# The generator on a header with every construct it must tell apart.
generator_on_tricky_header() {
	local inc=$KTAP_TMP/inc src=$KTAP_TMP/mansrc out=$KTAP_TMP/fake rc=0
	mkdir -p "$inc/shmipc" "$src"
	cat > "$inc/shmipc.h" <<'H'
/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A file comment, not a function's.
 */
#ifndef FAKE_H
#define FAKE_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Widgets: a title with a back\slash */

struct shmipc_widget;

/*
 * Make a widget of @size bytes (at least 1) at *@out.  Errors: -EINVAL.
 * .a line that starts with a dot, and a back\slash
 * 'a line that starts with a quote.  See shmipc_widget_free().
 *
 *   - a list item
 *     continued
 *   - another
 * After the list.
 *
 *	verbatim	table
 *	row two
 */
int shmipc_widget_make(size_t size,
		       struct shmipc_widget **out);
int shmipc_widget_free(struct shmipc_widget *w); /* trailing comment */

int shmipc_undocumented(void);

/* A callback type: not a function. */
typedef int (*shmipc_widget_fn)(void *ctx);

/* A struct with a function-pointer member. */
struct shmipc_ops {
	/* A member's comment. */
	int (*shmipc_member)(int x);
};

/* A macro. */
#define shmipc_macro(x) \
	((x) + 1)

/* Twice @x. */
static inline int shmipc_widget_twice(int x)
{
	if (x) {
		return 2 * x;
	}
	return 0;
}

#include "shmipc/incl.h"	/* gadgets */

#ifdef __cplusplus
}
#endif
#endif
H
	cat > "$inc/shmipc/extra.h" <<'H'
/* Count @n things named @name.  Thread-safe. */
unsigned int shmipc_extra_count(const char *name, unsigned int n);
H
	cat > "$inc/shmipc/incl.h" <<'H'
/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libshmipc: gadgets (small things).  Included by <shmipc.h>.
 *
 * Gadgets are what widgets are made of.
 */
#ifndef SHMIPC_H
#error "include <shmipc.h>"
#endif

/* Spin the gadget @g. */
int shmipc_gadget_spin(int g);
H
	printf '%s\n' '.TH fake 7 @DATE@ "fake @VERSION@"' '.SH NAME' 'fake \- fake' \
		'.SH FUNCTIONS' '@FUNCTIONS@' > "$src/fake.7"
	SOURCE_DATE_EPOCH=0 "$TOP/tools/gen-man.sh" 9.8.7 "$inc" "$src" "$out" \
		2> "$KTAP_TMP/err" || rc=$?
	cat "$KTAP_TMP/err"
	[ "$rc" = 0 ] || fail "gen-man.sh exited with $rc"
	[ "$(pages "$out" | tr '\n' ' ')" = "shmipc_extra_count shmipc_gadget_spin shmipc_widget_free shmipc_widget_make shmipc_widget_twice " ] ||
		fail "pages: $(pages "$out" | tr '\n' ' ')"
	grep -q 'shmipc_undocumented() has no doc comment' "$KTAP_TMP/err" ||
		fail "no warning about the undocumented function"
	[ "$(wc -l < "$KTAP_TMP/err")" = 1 ] || fail "unexpected warnings"
	[ "$(cat "$out/man3/shmipc_widget_free.3")" = ".so man3/shmipc_widget_make.3" ] ||
		fail "shmipc_widget_free.3 is not a link to shmipc_widget_make.3"

	cd "$out"
	# Long lines, so that the NAME line stays on one.
	roff -rLL=150n man3/shmipc_widget_free.3 > "$KTAP_TMP/make.txt" 2> "$KTAP_TMP/err"
	[ ! -s "$KTAP_TMP/err" ] || { cat "$KTAP_TMP/err"; fail "groff warns"; }
	cat "$KTAP_TMP/make.txt"
	local want
	while IFS= read -r want; do
		grep -qF -- "$want" "$KTAP_TMP/make.txt" || fail "shmipc_widget_make.3 lacks: $want"
	done <<'W'
shmipc_widget_make, shmipc_widget_free - make a widget of size bytes at out
#include <shmipc.h>
int shmipc_widget_make(size_t size,
                       struct shmipc_widget **out);
int shmipc_widget_free(struct shmipc_widget *w);
.a line that starts with a dot, and a back\slash
'a line that starts with
• a list item continued
• another
After the list.
verbatim        table
row two
RETURN VALUE
libshmipc 9.8.7
1970-01-01
W
	! grep -q 'trailing comment' "$KTAP_TMP/make.txt" || fail "a trailing comment leaked in"
	grep -qF 'size_t \fIsize\fB,' man3/shmipc_widget_make.3 || fail "size not in italics"
	grep -qF 'struct shmipc_widget **\fIout\fB);' man3/shmipc_widget_make.3 ||
		fail "out not in italics"

	roff man3/shmipc_extra_count.3 > "$KTAP_TMP/extra.txt"
	grep -qF '#include <shmipc/extra.h>' "$KTAP_TMP/extra.txt" || fail "extra: wrong #include"
	# shmipc.h includes incl.h: its functions are used through shmipc.h.
	roff man3/shmipc_gadget_spin.3 | grep -qF '#include <shmipc.h>' || fail "incl: wrong #include"
	! grep -q 'RETURN VALUE' "$KTAP_TMP/extra.txt" || fail "extra: RETURN VALUE for an unsigned"
	roff man3/shmipc_widget_twice.3 |
		grep -qF 'static inline int shmipc_widget_twice(int x);' || fail "inline synopsis"

	roff man7/fake.7 > "$KTAP_TMP/fake.txt" 2> "$KTAP_TMP/err"
	[ ! -s "$KTAP_TMP/err" ] || { cat "$KTAP_TMP/err"; fail "groff warns on fake.7"; }
	cat "$KTAP_TMP/fake.txt"
	grep -qF 'Widgets: a title with a back\slash' "$KTAP_TMP/fake.txt" || fail "section title"
	grep -qF 'shmipc_extra_count(3)' "$KTAP_TMP/fake.txt" || fail "sub-header not listed"
	# A header's first comment: its section's title and introduction.
	grep -qF 'Gadgets (shmipc/incl.h)' "$KTAP_TMP/fake.txt" || fail "sub-header title"
	grep -qF 'Gadgets are what widgets are made of.' "$KTAP_TMP/fake.txt" ||
		fail "sub-header introduction"
	! grep -qF 'A file comment' "$KTAP_TMP/fake.txt" || fail "shmipc.h file comment listed"
	grep -qF 'fake 9.8.7' "$KTAP_TMP/fake.txt" || fail "version not filled in"
}

# A failing generator leaves the previous pages alone.
generator_keeps_old_pages_on_error() {
	local out=$KTAP_TMP/keep
	mkdir -p "$out/man3"
	echo old > "$out/man3/old.3"
	if "$TOP/tools/gen-man.sh" 1 "$KTAP_TMP/no-such-include" "$TOP/lib/man" "$out"; then
		fail "gen-man.sh succeeded without headers"
	fi
	[ "$(cat "$out/man3/old.3")" = old ] || fail "old pages were touched"
	! ls -d "$out".tmp.* 2>/dev/null || fail "temporary directory left behind"
	if "$TOP/tools/gen-man.sh" 1 2 3; then fail "gen-man.sh took 3 arguments"; fi
}

ktap_main pages_are_current every_export_has_a_page every_page_is_a_function \
	pages_render_cleanly whatis_entries overview_lists_every_function \
	generator_on_tricky_header generator_keeps_old_pages_on_error
