#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Generate libshmipc's man pages from its public headers, so the reference
# never drifts from them.
#
# Usage: gen-man.sh VERSION INCLUDEDIR MANSRC OUTDIR
#   INCLUDEDIR  lib/include: shmipc.h and every shmipc/*.h below it are read
#   MANSRC      lib/man: hand-written pages NAME.N; "@VERSION@" and "@DATE@"
#               are filled in, and a line "@FUNCTIONS@" becomes the list of
#               every documented function, by header section
#   OUTDIR      receives man3/<function>.3 and manN/ for the hand-written
#               pages (replaced as a whole)
#
# What counts as documentation: a comment followed, without a blank line,
# by one or more declarations.  All the functions declared there share one
# page, named after the first; the others are ".so" links to it.  The page
# has NAME (the comment's first sentence without its parentheses), SYNOPSIS
# (the declarations as written), DESCRIPTION (the comment: blank lines make
# paragraphs, "- " lines list items, other indented lines stay verbatim;
# @param is set in italics, shmipc_*() in bold) and SEE ALSO (the other
# pages of the same header section).  A section starts with a comment of
# dashes; the comment after it is the section's title.  A header's first
# comment (after the licence line) is its own section's title (its first
# sentence) and introduction, in the overview.  Functions of a sub-header
# that shmipc.h includes show "#include <shmipc.h>".  A public function
# without a comment gets no page and a warning on stderr.
# Env: SOURCE_DATE_EPOCH (page date; default: the newest header's mtime).
set -eu

[ $# -eq 4 ] || { echo "usage: $0 VERSION INCLUDEDIR MANSRC OUTDIR" >&2; exit 2; }
version=$1 incdir=${2%/} mansrc=${3%/} out=${4%/}
[ -f "$incdir/shmipc.h" ] || { echo "gen-man: no $incdir/shmipc.h" >&2; exit 1; }

# shmipc.h first, then the sub-headers in name order (so pages and lists
# follow the order a reader meets them in).
set -- "$incdir/shmipc.h"
if [ -d "$incdir/shmipc" ]; then
	for h in $(cd "$incdir" && find shmipc -name '*.h' | LC_ALL=C sort); do
		set -- "$@" "$incdir/$h"
	done
fi
epoch=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$@" | sort -n | tail -n 1)}
date=$(date -u -d "@$epoch" +%Y-%m-%d)

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/man3"

# The parser.  Lines are read one by one; a declaration is collected up to
# its ";" (or the "{" of an inline body or a struct) at brace depth 0.
# Fields inside one string are separated by "\001" (lines) and "\002"
# (declarations).
# shellcheck disable=SC2016 # an awk program, not shell
prog='
function warn(msg) { printf "gen-man: %s\n", msg > "/dev/stderr"; warned = 1 }

function trim(s) { sub(/^[ \t\n]+/, "", s); sub(/[ \t\n]+$/, "", s); return s }

# Tabs to spaces (8 columns), so continuation lines keep their alignment.
function expand(s,   o, i, c) {
	o = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\t") { do o = o " "; while (length(o) % 8) }
		else o = o c
	}
	return o
}

# roff escapes: backslash, and minus for "-EINVAL", "-1", "-errno"
# (a "-" after a non-word character and before a word character; "read-write"
# keeps its hyphen).
function esc(s,   o, i, c, p, n) {
	o = ""; p = " "
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1); n = substr(s, i + 1, 1)
		if (c == "\\") o = o "\\e"
		else if (c == "-" && p !~ /[A-Za-z0-9_]/ && n ~ /[A-Za-z0-9_]/) o = o "\\-"
		else o = o c
		p = c
	}
	return o
}

# A text line can not start with a control character.
function noctl(s) { return (s ~ /^[.\047]/) ? "\\&" s : s }

# Prose: escaped, @param in italics, shmipc_name() in bold.
function prose(s,   o, w) {
	s = esc(s); o = ""
	while (match(s, /@[A-Za-z_][A-Za-z0-9_]*/)) {
		o = o substr(s, 1, RSTART - 1) "\\fI" substr(s, RSTART + 1, RLENGTH - 1) "\\fR"
		s = substr(s, RSTART + RLENGTH)
	}
	s = o s; o = ""
	while (match(s, /shmipc_[A-Za-z0-9_]*\(/)) {
		w = substr(s, RSTART, RLENGTH - 1)
		o = o substr(s, 1, RSTART - 1) "\\fB" w "\\fR("
		s = substr(s, RSTART + RLENGTH)
	}
	return noctl(o s)
}

# A comment (lines joined by \001) to man(7) markup.
function doc_roff(text,   n, L, i, l, mode, cut, o) {
	n = split(text, L, "\001"); o = ""; mode = "p"
	for (i = 1; i <= n; i++) {
		l = L[i]
		if (l ~ /^[ \t]*$/) {
			if (mode == "v") o = o ".fi\n.RE\n"
			if (o != "") o = o ".PP\n"
			mode = "p"
			continue
		}
		if (match(l, /^[ \t]*- /)) {
			if (mode == "v") o = o ".fi\n.RE\n"
			o = o ".IP \\(bu 2\n" prose(substr(l, RLENGTH + 1)) "\n"
			mode = "l"
			continue
		}
		if (l ~ /^[ \t]/) {
			if (mode == "l") {
				sub(/^[ \t]+/, "", l); o = o prose(l) "\n"; continue
			}
			if (mode != "v") {
				match(l, /^[ \t]+/); cut = RLENGTH
				o = o ".RS 4\n.nf\n"; mode = "v"
			}
			if (match(l, /^ +/) && RLENGTH >= cut) l = substr(l, cut + 1)
			else sub(/^ +/, "", l)
			o = o noctl(esc(l)) "\n"
			continue
		}
		if (mode == "v") o = o ".fi\n.RE\n"
		else if (mode == "l") o = o ".PP\n"
		mode = "p"
		o = o prose(l) "\n"
	}
	if (mode == "v") o = o ".fi\n.RE\n"
	sub(/(\.PP\n)+$/, "", o)
	return o
}

# The first sentence of a comment, without parentheses, for NAME.
function summary(text,   n, L, i, s, l) {
	n = split(text, L, "\001"); s = ""
	for (i = 1; i <= n; i++) {
		l = trim(L[i])
		if (l == "") { if (s != "") break; continue }
		s = s (s == "" ? "" : (s ~ /[.:]$/ ? "  " : " ")) l
	}
	# kernel-doc style "name() - what it does"
	if (match(s, /^[A-Za-z_][A-Za-z0-9_]*\(\) +- /)) s = substr(s, RLENGTH + 1)
	if (match(s, /[.]  /)) s = substr(s, 1, RSTART)
	while (match(s, /[ ]*\([^()]*\)/)) s = substr(s, 1, RSTART - 1) substr(s, RSTART + RLENGTH)
	if (index(s, ";")) s = substr(s, 1, index(s, ";") - 1)
	gsub(/\*?@/, "", s); gsub(/  +/, " ", s)
	while (match(s, / [,;:.]/)) s = substr(s, 1, RSTART - 1) substr(s, RSTART + 1)
	s = trim(s); sub(/[.:;,]+$/, "", s)
	if (substr(s, 2, 1) ~ /[a-z ]/) s = tolower(substr(s, 1, 1)) substr(s, 2)
	return esc(s)
}

# A declaration for SYNOPSIS: bold, parameter names in italics.
function synopsis(decl,   n, L, i, o, s, p, w, id) {
	n = split(decl, L, "\n"); o = ""
	for (i = 1; i <= n; i++) {
		s = esc(expand(L[i])); p = ""
		if (i == 1) {	# the part up to the parameter list
			match(s, /shmipc_[A-Za-z0-9_]*[ ]*\(/)
			p = substr(s, 1, RSTART + RLENGTH - 1); s = substr(s, RSTART + RLENGTH)
		}
		while (match(s, /[A-Za-z_][A-Za-z0-9_]*[ ]*[,)]/)) {
			w = substr(s, RSTART, RLENGTH); id = w; sub(/[ ]*[,)]$/, "", id)
			if (id == "void") p = p substr(s, 1, RSTART + RLENGTH - 1)
			else p = p substr(s, 1, RSTART - 1) "\\fI" id "\\fB" substr(w, length(id) + 1)
			s = substr(s, RSTART + RLENGTH)
		}
		o = o noctl("\\fB" p s "\\fR") "\n"
	}
	return o
}

function new_section(title) { nsec++; sec_title[nsec] = title }

# The declarations collected since the last doc comment.
function flush_group(   i) {
	if (ngf > 0) {
		if (doc == "") {
			for (i = 1; i <= ngf; i++)
				warn(gf_file[i] ":" gf_line[i] ": " gf_name[i] "() has no doc comment: no man page")
		} else {
			ng++
			g_sec[ng] = nsec; g_hdr[ng] = hdr; g_doc[ng] = doc
			g_names[ng] = gf_name[1]; g_decls[ng] = gf_decl[1]; g_int[ng] = gf_int[1]
			for (i = 2; i <= ngf; i++) {
				g_names[ng] = g_names[ng] " " gf_name[i]
				g_decls[ng] = g_decls[ng] "\002" gf_decl[i]
				g_int[ng] = g_int[ng] || gf_int[i]
			}
		}
	} else if (doc != "" && doc_fresh) set_intro(doc)
	ngf = 0; doc = ""; doc_fresh = 0
}

# A complete declaration at depth 0: a public function, or something else.
function end_decl(   flat, name, ret) {
	decl = trim(decl)
	flat = decl; gsub(/[ \t\n]+/, " ", flat)
	if (flat !~ /^typedef / && match(flat, /(^|[^A-Za-z0-9_])shmipc_[A-Za-z0-9_]*[ ]*\(/)) {
		name = substr(flat, RSTART, RLENGTH - 1)
		sub(/^[^A-Za-z0-9_]/, "", name); sub(/[ ]+$/, "", name)
		ret = substr(flat, 1, RSTART)
		gsub(/(^| )(static|inline|extern)( |$)/, " ", ret)
		ngf++
		gf_name[ngf] = name; gf_line[ngf] = decl_line; gf_file[ngf] = FILENAME
		gf_decl[ngf] = decl ";"
		gf_int[ngf] = (trim(ret) == "int")
		if (name in seen) warn(FILENAME ":" decl_line ": " name "() declared twice")
		seen[name] = 1
	}
	decl = ""
}

# A finished comment: a section ruler, a section title, or a doc comment.
function end_comment(   i, t) {
	if (cm_skip) return
	while (cm_n > 0 && cm[cm_n] ~ /^[ \t]*$/) cm_n--
	t = ""
	for (i = 1; i <= cm_n; i++) t = t (i > 1 ? " " : "") trim(cm[i])
	if (cm_n == 1 && t ~ /^-+$/) { flush_group(); want_title = 1; fresh = 0; return }
	if (want_title) { new_section(t); want_title = 0; return }
	flush_group()
	doc = ""
	for (i = 1; i <= cm_n; i++) doc = doc (i > 1 ? "\001" : "") cm[i]
	# The first comment of a header (after the licence line) describes the
	# header, unless declarations follow it directly.
	doc_fresh = fresh && t !~ /^SPDX-License-Identifier/
	if (doc_fresh) fresh = 0
}

# A header description: the title (its first sentence) and introduction of
# the header section, in the overview.
function set_intro(text,   t) {
	t = summary(text); sub(/^libshmipc:? +/, "", t)
	if (t == "") return
	sec_title[nsec] = toupper(substr(t, 1, 1)) substr(t, 2) " (" hdr ")"
	# The title sentence is not repeated in the introduction.
	t = text "\001"
	if (match(t, /[.](  |\001)/)) t = substr(t, RSTART + 1)
	sub(/^ +/, "", t); sub(/^\001+/, "", t); sub(/\001$/, "", t)
	sec_intro[nsec] = t
}

function comment_line(l, first) {
	l = expand(l)	# tabs as the author saw them, before the " * " goes
	if (first) sub(/^[ \t]*\/\*+/, "", l)
	if (index(l, "*/")) l = substr(l, 1, index(l, "*/") - 1)
	if (!first) sub(/^[ \t]*\*?/, "", l)
	sub(/^ /, "", l); sub(/[ \t]+$/, "", l)
	if (cm_n == 0 && l == "") return
	cm[++cm_n] = l
}

# Code outside comments: strip same-line comments, track braces, collect
# declarations.
function code(l,   i, c, s, e) {
	while ((s = index(l, "/*")) > 0) {
		e = index(substr(l, s + 2), "*/")
		if (e == 0) { l = substr(l, 1, s - 1); in_comment = 1; cm_skip = 1; cm_n = 0; break }
		l = substr(l, 1, s - 1) " " substr(l, s + e + 3)
	}
	sub(/\/\/.*/, "", l)
	for (i = 1; i <= length(l); i++) {
		c = substr(l, i, 1)
		if (depth == 0) {
			if (decl == "" && c ~ /[ \t]/) continue
			if (decl == "") { decl_line = FNR; fresh = 0 }
			if (c == ";") { end_decl(); continue }
			if (c == "{") { end_decl(); depth = 1; continue }
			decl = decl c
		} else if (c == "{") depth++
		else if (c == "}") depth--
	}
	if (depth == 0 && decl != "") decl = decl "\n"
}

FNR == 1 {
	if (NR > 1) flush_group()
	hdr = FILENAME
	if (index(hdr, incdir "/") == 1) hdr = substr(hdr, length(incdir) + 2)
	new_section(hdr)
	fresh = 1
	depth = 0; in_comment = 0; in_cpp = 0; cont = 0; decl = ""; doc = ""; ngf = 0; want_title = 0
}
{ line = $0; sub(/\r$/, "", line) }
cont { cont = (line ~ /\\$/); next }
# Inside "#ifdef __cplusplus" (extern "C" and its brace), nested #ifs too.
in_cpp {
	if (line ~ /^[ \t]*#[ \t]*if/) in_cpp++
	else if (line ~ /^[ \t]*#[ \t]*endif/) in_cpp--
	next
}
in_comment {
	comment_line(line, 0)
	if (index(line, "*/")) { in_comment = 0; end_comment() }
	next
}
line ~ /^[ \t]*\/\*/ && depth == 0 && decl == "" {
	cm_n = 0; cm_skip = 0
	comment_line(line, 1)
	if (index(substr(line, index(line, "/*") + 2), "*/")) end_comment()
	else in_comment = 1
	next
}
line ~ /^[ \t]*#/ {
	if (line ~ /^[ \t]*#[ \t]*if.*__cplusplus/) in_cpp = 1
	# Sub-headers that shmipc.h includes are used through it.
	if (NR == FNR && match(line, /^[ \t]*#[ \t]*include[ \t]*[<"]shmipc\/[^>"]+/))
		included[substr(line, index(line, "shmipc/"), RSTART + RLENGTH - index(line, "shmipc/"))] = 1
	cont = (line ~ /\\$/)
	next
}
line ~ /^[ \t]*$/ { if (depth == 0 && decl == "") flush_group(); next }
{ code(line) }

END {
	flush_group()
	for (g = 1; g <= ng; g++) emit(g)
	overview()
	exit warned ? 3 : 0
}

function emit(g,   names, nn, i, file, decls, nd, o, h) {
	nn = split(g_names[g], names, " ")
	file = out "/man3/" names[1] ".3"
	o = ".\\\" Generated by tools/gen-man.sh from " g_hdr[g] ": do not edit.\n"
	o = o ".TH " names[1] " 3 " date " \"libshmipc " version "\" \"libshmipc manual\"\n"
	o = o ".nh\n.ad l\n"	# identifiers: no hyphenation, no stretched lines
	o = o ".SH NAME\n"
	for (i = 1; i <= nn; i++) o = o (i > 1 ? ", " : "") esc(names[i])
	o = o " \\- " summary(g_doc[g]) "\n"
	o = o ".SH LIBRARY\nlibshmipc (\\fI\\-lshmipc\\fR; \\fIpkg\\-config \\-\\-cflags \\-\\-libs shmipc\\fR)\n"
	o = o ".SH SYNOPSIS\n.nf\n.B #include <" ((g_hdr[g] in included) ? "shmipc.h" : g_hdr[g]) ">\n"
	nd = split(g_decls[g], decls, "\002")
	for (i = 1; i <= nd; i++) o = o ".PP\n" synopsis(decls[i])
	o = o ".fi\n.SH DESCRIPTION\n" doc_roff(g_doc[g])
	if (g_int[g]) {
		o = o ".SH RETURN VALUE\n"
		o = o (nn == 1 ? "It returns" : "Those above that return \\fBint\\fR return") " 0, or the\n"
		o = o "non\\-negative value described above, on success, and a negative errno\n"
		o = o "value on failure: the error is the return value, not \\fIerrno\\fR.\n"
		o = o "The codes with a meaning of their own are listed in \\fBlibshmipc\\fR(7).\n"
	}
	o = o ".SH SEE ALSO\n"
	h = ".BR libshmipc (7)"
	for (i = 1; i <= ng; i++) {
		if (i == g || g_sec[i] != g_sec[g]) continue
		split(g_names[i], others, " ")
		h = h ",\n.BR " others[1] " (3)"
	}
	o = o h "\n"
	printf "%s", o > file
	close(file)
	for (i = 2; i <= nn; i++) {
		file = out "/man3/" names[i] ".3"
		printf ".so man3/%s.3\n", names[1] > file
		close(file)
	}
}

# The function list of the overview page, by section.
function overview(   s, g, i, nn, names, o, tag, file) {
	o = ""
	for (s = 1; s <= nsec; s++) {
		tag = ""
		for (g = 1; g <= ng; g++) if (g_sec[g] == s) tag = "x"
		if (tag == "") continue
		o = o ".SS " noctl(esc(sec_title[s])) "\n"
		if (sec_intro[s] != "") o = o doc_roff(sec_intro[s]) "\n"
		for (g = 1; g <= ng; g++) {
			if (g_sec[g] != s) continue
			nn = split(g_names[g], names, " ")
			tag = ""
			for (i = 1; i <= nn; i++) tag = tag (i > 1 ? ", " : "") "\\fB" names[i] "\\fR(3)"
			o = o ".TP\n" tag "\n" noctl(summary(g_doc[g])) "\n"
		}
	}
	file = out "/functions.roff"
	printf "%s", o > file
	close(file)
}
'
rc=0
awk -v out="$tmp" -v version="$version" -v date="$date" -v incdir="$incdir" \
	"$prog" "$@" || rc=$?
# 3: warnings only (already printed); pages are still written.
[ $rc -eq 0 ] || [ $rc -eq 3 ] || exit $rc

# The hand-written pages.
for src in "$mansrc"/*.[1-9]; do
	[ -f "$src" ] || continue
	sec=${src##*.}
	mkdir -p "$tmp/man$sec"
	awk -v list="$tmp/functions.roff" -v version="$version" -v date="$date" '
		$0 == "@FUNCTIONS@" {
			while ((getline l < list) > 0) print l
			close(list)
			next
		}
		{ gsub(/@VERSION@/, version); gsub(/@DATE@/, date); print }
	' "$src" > "$tmp/man$sec/${src##*/}"
done
rm -f "$tmp/functions.roff"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
