# SPDX-License-Identifier: GPL-2.0
# shmipc: thin wrapper.  Kbuild lists the module's objects; this file only
# calls the kernel's build system and our scripts.  No KERNELRELEASE test:
# dkms prepends KERNELRELEASE= to make, which such a test would misread.

# The Debian kernel to build and boot against (never `uname -r`).  Found
# on first use, so `make check` can install the headers before it looks.
ifeq ($(KVER),)
KVER = $(eval KVER := $(or $(KERNELRELEASE),$(shell tools/kver.sh)))$(KVER)
endif
KDIR ?= /lib/modules/$(KVER)/build
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
KSRC := build/ksrc
DEMO_CFLAGS := -static -O2 -Wall -Wextra -Iuapi

.PHONY: module tests ksrc vm-test check check-debug deps lint dkms-check demo bench clean lib \
	install uninstall examples cli

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Kernel files the tests and lint use (selftest harness, checkpatch).
ksrc:
	tools/kernel-files.sh $(KSRC)

tests: ksrc
	@if [ -f tests/Makefile ]; then $(MAKE) -C tests; \
	else echo "tests: no tests/Makefile yet, nothing to build"; fi
	$(MAKE) -C lib
	$(MAKE) -C tests/lib
	$(MAKE) -C tests/fuzz
	$(MAKE) -C tools
	$(MAKE) -C tests/cli
	$(MAKE) -C tools/bench host

# libshmipc: lib/libshmipc.a and lib/libshmipc.so (its tests: tests/lib).
lib:
	$(MAKE) -C lib

# Installs libshmipc: the shared and static library, its headers, shmipc.pc
# and the man pages.  PREFIX (/usr/local), DESTDIR, LIBDIR, INCLUDEDIR and
# MANDIR reach lib/Makefile from the command line.
install uninstall:
	$(MAKE) -C lib $@

# Example programs of libshmipc -> build/examples/ (tools/examples/).
examples:
	$(MAKE) -C tools/examples

# The shmipc command line: build/bin/shmipc, build/bin/shmipc-static (VM).
cli:
	$(MAKE) -C lib
	$(MAKE) -C tools

vm-test: module tests
	KVER=$(KVER) tools/vm/run-tests.sh

deps:
	tools/install-deps.sh

# Installs what is missing, builds, runs host then VM tests.
# Last line: "N passed, N failed[, N skipped]".
check: deps
	@$(MAKE) --no-print-directory module tests
	KVER=$(KVER) tools/check.sh

# The VM tests under a KASAN/lockdep/kmemleak kernel (built once, cached).
check-debug: tests
	tools/install-deps.sh --debug
	tools/check-debug.sh

lint: deps
	KVER=$(KVER) KDIR=$(KDIR) tools/lint.sh

dkms-check: deps
	KVER=$(KVER) tools/dkms-check.sh $(VERSION)

build/demo/demo-min: tools/demo-min.c uapi/linux/shmipc.h
	@mkdir -p $(@D)
	$(CC) $(DEMO_CFLAGS) -o $@ $<

demo: module build/demo/demo-min
	KVER=$(KVER) tools/vm/run-demo.sh

# Benchmarks (not tests, tools/bench/): chanbench on the host, then
# chanbench and kill-to-wake in the VM; results in build/bench/results.*
# (CHANBENCH_ARGS="--time-ms 50" for a quick run).
bench: module
	$(MAKE) -C tools/bench
	KVER=$(KVER) tools/bench/run.sh

clean:
	-[ ! -d $(KDIR) ] || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-[ ! -f tests/Makefile ] || $(MAKE) -C tests clean
	-$(MAKE) -C lib clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C tests/cli clean
	rm -rf build
