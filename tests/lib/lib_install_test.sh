#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck source-path=SCRIPTDIR disable=SC2317 # cases run via ktap_main
#
# `make install` / `make uninstall` of libshmipc into scratch DESTDIRs:
# the installed files and their modes, the pkg-config file, headers that
# compile alone, and programs built from the installed tree only (through
# pkg-config, shared and static) that run on this host's backend.
# ktap.sh: beside this file in tests/lib, in sh/ once installed.
ktap=$(dirname "$0")/ktap.sh
[ -f "$ktap" ] || ktap=$(dirname "$0")/sh/ktap.sh
# shellcheck source=ktap.sh
. "$ktap"

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TOP/dkms.conf")
unset DESTDIR PREFIX LIBDIR INCLUDEDIR MANDIR PKGCONFIGDIR
root=$KTAP_TMP/root		# DESTDIR of the default PREFIX=/usr install

install_to() {			# DESTDIR make-variables...
	local d=$1
	shift
	make -s --no-print-directory -C "$TOP" install DESTDIR="$d" "$@"
}

# pkg-config that sees only the shmipc.pc under DESTDIR $1, libdir $2.
pc() {
	local d=$1 libdir=$2
	shift 2
	PKG_CONFIG_PATH="$d$libdir/pkgconfig" PKG_CONFIG_LIBDIR="$d$libdir/pkgconfig" \
	PKG_CONFIG_SYSROOT_DIR="$d" \
	PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
		pkg-config "$@" | sed 's/[[:space:]]*$//'
}

# Every file and symlink under $1, relative to it.
files_under() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort); }

# What an install must hold, from the source tree: LIBDIR INCLUDEDIR MANDIR
# (without the leading /).
expected_files() {
	local lib=$1 inc=$2 man=$3 f
	printf '%s\n' "$lib/libshmipc.so.0" "$lib/libshmipc.so" "$lib/libshmipc.a" \
		"$lib/pkgconfig/shmipc.pc" "$inc/shmipc.h"
	for f in "$TOP"/lib/include/shmipc/*.h; do
		[ -f "$f" ] && echo "$inc/shmipc/${f##*/}"
	done
	for f in "$TOP"/build/man/man3/*.3; do echo "$man/man3/${f##*/}"; done
	for f in "$TOP"/build/man/man7/*.7; do echo "$man/man7/${f##*/}"; done
}

check_tree() {			# DESTDIR LIBDIR INCLUDEDIR MANDIR
	local d=$1
	expected_files "${2#/}" "${3#/}" "${4#/}" | LC_ALL=C sort > "$KTAP_TMP/want"
	files_under "$d" > "$KTAP_TMP/got"
	diff -u "$KTAP_TMP/want" "$KTAP_TMP/got" || fail "installed files differ (- expected, + installed)"
	[ "$(grep -c '/man3/' "$KTAP_TMP/got")" -gt 0 ] || fail "no man3 pages installed"
}

# A small user of the library: one MPMC message through a region.
cat > "$KTAP_TMP/probe.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <shmipc.h>

int main(void)
{
	struct shmipc_region *r;
	struct shmipc_mpmc *q;
	char name[64], out[16] = "", in[16] = "installed";
	int err, kind = shmipc_backend();

	snprintf(name, sizeof(name), "install-probe-%d", (int)getpid());
	err = shmipc_region_open(name, 1 << 16, 0600,
				 SHMIPC_REGION_CREATE | SHMIPC_REGION_EXCL, &r);
	if (err)
		goto fail;
	err = shmipc_mpmc_create(r, "q", sizeof(in), 4);
	if (!err)
		err = shmipc_mpmc_open(r, "q", &q);
	if (!err)
		err = shmipc_mpmc_send(q, in, shmipc_deadline_in(1000000000));
	if (!err)
		err = shmipc_mpmc_recv(q, out, shmipc_deadline_in(1000000000));
	if (!err && strcmp(in, out))
		err = -1;
	shmipc_mpmc_close(q);
	shmipc_region_unlink(name);
	shmipc_region_close(r);
	if (err)
		goto fail;
	printf("probe: %s via the %s backend\n", out, shmipc_backend_name(kind));
	return 0;
fail:
	printf("probe: %s\n", shmipc_strerror(err));
	return 1;
}
C

install_usr() {
	install_to "$root" PREFIX=/usr
	check_tree "$root" /usr/lib /usr/include /usr/share/man
	[ -L "$root/usr/lib/libshmipc.so" ] || fail "libshmipc.so is not a symlink"
	[ "$(readlink "$root/usr/lib/libshmipc.so")" = libshmipc.so.0 ] ||
		fail "libshmipc.so -> $(readlink "$root/usr/lib/libshmipc.so")"
	readelf -d "$root/usr/lib/libshmipc.so.0" | grep -q 'SONAME.*\[libshmipc\.so\.0\]' ||
		fail "soname is not libshmipc.so.0"
	[ "$(stat -c %a "$root/usr/lib/libshmipc.so.0")" = 755 ] || fail "mode of libshmipc.so.0"
	local f
	while read -r f; do
		[ "$f" = usr/lib/libshmipc.so.0 ] || [ -L "$root/$f" ] ||
			[ "$(stat -c %a "$root/$f")" = 644 ] || fail "mode of $f: $(stat -c %a "$root/$f")"
	done < "$KTAP_TMP/got"
	# The same install again (an upgrade) works and changes nothing.
	install_to "$root" PREFIX=/usr
	files_under "$root" | diff -u "$KTAP_TMP/got" -
}

pkgconfig_file() {
	[ -f "$root/usr/lib/pkgconfig/shmipc.pc" ] || install_to "$root" PREFIX=/usr
	cat "$root/usr/lib/pkgconfig/shmipc.pc"
	pc "$root" /usr/lib --validate shmipc || fail "pkg-config --validate"
	[ "$(pc "$root" /usr/lib --modversion shmipc)" = "$version" ] ||
		fail "version is not dkms.conf's $version"
	[ "$(pc "$root" /usr/lib --cflags shmipc)" = "-I$root/usr/include" ] ||
		fail "cflags: $(pc "$root" /usr/lib --cflags shmipc)"
	[ "$(pc "$root" /usr/lib --libs shmipc)" = "-L$root/usr/lib -lshmipc" ] ||
		fail "libs: $(pc "$root" /usr/lib --libs shmipc)"
	[ "$(pc "$root" /usr/lib --static --libs shmipc)" = "-L$root/usr/lib -lshmipc -pthread" ] ||
		fail "static libs: $(pc "$root" /usr/lib --static --libs shmipc)"
	[ "$(pc "$root" /usr/lib --variable=libdir shmipc)" = "$root/usr/lib" ] ||
		fail "libdir: $(pc "$root" /usr/lib --variable=libdir shmipc)"
}

# shmipc.h alone, and each installed sub-header after it (they may insist
# on being included through it), as C11 and C++11, with nothing but the
# installed include directory (the uapi header is not installed).
headers_compile_alone() {
	[ -f "$root/usr/include/shmipc.h" ] || install_to "$root" PREFIX=/usr
	local h
	for h in $(cd "$root/usr/include" && find shmipc.h shmipc -name '*.h' 2>/dev/null); do
		printf '#include <shmipc.h>\n#include <%s>\n' "$h" > "$KTAP_TMP/one.c"
		cc -std=c11 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only \
			-I"$root/usr/include" "$KTAP_TMP/one.c" || fail "$h: not self-contained C11"
		g++ -x c++ -std=c++11 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only \
			-I"$root/usr/include" "$KTAP_TMP/one.c" || fail "$h: not valid C++11"
		! grep -n 'linux/shmipc\.h' "$root/usr/include/$h" || fail "$h includes the uapi header"
	done
}

shared_program() {
	[ -f "$root/usr/lib/pkgconfig/shmipc.pc" ] || install_to "$root" PREFIX=/usr
	# shellcheck disable=SC2046 # word splitting of the flags is meant
	cc -Wall -Werror -o "$KTAP_TMP/probe-shared" "$KTAP_TMP/probe.c" \
		$(pc "$root" /usr/lib --cflags --libs shmipc)
	readelf -d "$KTAP_TMP/probe-shared" | grep -q 'NEEDED.*\[libshmipc\.so\.0\]' ||
		fail "not linked with libshmipc.so.0"
	LD_LIBRARY_PATH="$root/usr/lib" ldd "$KTAP_TMP/probe-shared" |
		grep -F "libshmipc.so.0 => $root/usr/lib/libshmipc.so.0" ||
		fail "libshmipc.so.0 does not resolve to the installed one"
	LD_LIBRARY_PATH="$root/usr/lib" "$KTAP_TMP/probe-shared" | tee "$KTAP_TMP/out"
	grep -q '^probe: installed via the .* backend$' "$KTAP_TMP/out"
	# Without the installed library it cannot even start: it is needed.
	! "$KTAP_TMP/probe-shared" 2>/dev/null || fail "ran without libshmipc.so.0"
}

static_program() {
	[ -f "$root/usr/lib/pkgconfig/shmipc.pc" ] || install_to "$root" PREFIX=/usr
	# shellcheck disable=SC2046
	cc -static -Wall -Werror -o "$KTAP_TMP/probe-static" "$KTAP_TMP/probe.c" \
		$(pc "$root" /usr/lib --cflags --static --libs shmipc)
	readelf -d "$KTAP_TMP/probe-static" | grep -q 'no dynamic section' ||
		fail "not a static executable"
	"$KTAP_TMP/probe-static" | tee "$KTAP_TMP/out"
	grep -q '^probe: installed via the .* backend$' "$KTAP_TMP/out"
}

# The example programs build from the installed tree as well.
examples_from_installed_tree() {
	[ -f "$root/usr/lib/pkgconfig/shmipc.pc" ] || install_to "$root" PREFIX=/usr
	make -s --no-print-directory -C "$TOP/tools/examples" OUT="$KTAP_TMP/examples" \
		SHMIPC_CFLAGS="$(pc "$root" /usr/lib --cflags shmipc)" \
		SHMIPC_LIBS="$(pc "$root" /usr/lib --libs shmipc)"
	readelf -d "$KTAP_TMP/examples/mpmc_workers" | grep -q 'NEEDED.*libshmipc\.so\.0'
	LD_LIBRARY_PATH="$root/usr/lib" "$KTAP_TMP/examples/mpmc_workers" 2 100 | tee "$KTAP_TMP/out"
	grep -q '^mpmc_workers: 100 results checked$' "$KTAP_TMP/out"
}

# PREFIX alone moves everything; LIBDIR, INCLUDEDIR and MANDIR each move
# their part, and shmipc.pc follows.
custom_directories() {
	local d=$KTAP_TMP/local o=$KTAP_TMP/opt
	install_to "$d"
	check_tree "$d" /usr/local/lib /usr/local/include /usr/local/share/man
	grep -qx 'libdir=/usr/local/lib' "$d/usr/local/lib/pkgconfig/shmipc.pc"

	install_to "$o" PREFIX=/opt/shm LIBDIR=/opt/shm/lib64 \
		INCLUDEDIR=/opt/shm/inc MANDIR=/opt/shm/doc/man
	check_tree "$o" /opt/shm/lib64 /opt/shm/inc /opt/shm/doc/man
	[ "$(pc "$o" /opt/shm/lib64 --cflags --libs shmipc)" = "-I$o/opt/shm/inc -L$o/opt/shm/lib64 -lshmipc" ] ||
		fail "flags: $(pc "$o" /opt/shm/lib64 --cflags --libs shmipc)"
	make -s --no-print-directory -C "$TOP" uninstall DESTDIR="$o" PREFIX=/opt/shm \
		LIBDIR=/opt/shm/lib64 INCLUDEDIR=/opt/shm/inc MANDIR=/opt/shm/doc/man
	[ -z "$(files_under "$o")" ] || fail "left behind: $(files_under "$o")"
}

# uninstall removes every file install made, also from a tree that has
# extra sub-headers and pages of an older version; twice is harmless.
uninstall_all() {
	local d=$KTAP_TMP/un
	install_to "$d" PREFIX=/usr
	touch "$d/usr/include/shmipc/old.h" "$d/usr/share/man/man3/shmipc_old.3" 2>/dev/null ||
		{ mkdir -p "$d/usr/include/shmipc"; touch "$d/usr/include/shmipc/old.h" "$d/usr/share/man/man3/shmipc_old.3"; }
	# Somebody else's files stay.
	touch "$d/usr/lib/libother.so" "$d/usr/share/man/man3/other.3"
	make -s --no-print-directory -C "$TOP" uninstall DESTDIR="$d" PREFIX=/usr
	[ "$(files_under "$d")" = "$(printf '%s\n' usr/lib/libother.so usr/share/man/man3/other.3)" ] ||
		fail "after uninstall: $(files_under "$d")"
	make -s --no-print-directory -C "$TOP" uninstall DESTDIR="$d" PREFIX=/usr
}

# An install that cannot write fails loudly rather than half-succeeding.
unwritable_destdir() {
	if make -s --no-print-directory -C "$TOP" install DESTDIR=/proc/shmipc-no-such-dir PREFIX=/usr; then
		fail "install into /proc succeeded"
	fi
	echo "(the errors above are expected)"
}

ktap_main install_usr pkgconfig_file headers_compile_alone shared_program \
	static_program examples_from_installed_tree custom_directories \
	uninstall_all unwritable_destdir
