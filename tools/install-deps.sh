#!/bin/bash
# Install the Debian 12 packages that building and testing shmipc need.
# Quick when all are there; runs apt-get update only if something is missing.
# Usage: install-deps.sh [--debug] [--bench] [--list]
#   --debug: also what building the debug kernel needs (make check-debug)
#   --bench: also what `make bench` compares with and plots
#   --list:  just print the package names
set -euo pipefail

pkgs=(
	build-essential make gcc g++ libc6-dev binutils pkg-config
	linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static cpio
	xz-utils zstd gzip kmod perl sparse dkms
	liburing-dev
	groff-base man-db
	clang libclang-rt-14-dev
)
if [ "${1:-}" = --debug ]; then
	pkgs+=(flex bison bc libelf-dev libssl-dev)
	shift
fi
if [ "${1:-}" = --bench ]; then
	pkgs+=(libboost-dev iceoryx libiceoryx-binding-c-dev gnuplot-nox)
	shift
fi
if [ "${1:-}" = --list ]; then
	printf '%s\n' "${pkgs[@]}"
	exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" = "ii " ] ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
