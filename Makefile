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

.PHONY: module tests ksrc vm-test check check-debug deps lint dkms-check demo bench clean lib \
	install uninstall examples cli demo-host

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
	$(MAKE) -C tools/demo host vm-test

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

# Installs what is missing, builds (in parallel: one job per CPU), runs
# host then VM tests.  Last line: "N passed, N failed[, N skipped]".
NPROC := $(shell nproc)
check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) module tests
	KVER=$(KVER) tools/check.sh

# The VM tests under a KASAN/lockdep/kmemleak kernel (built once, cached);
# records its pass in .ci/debug-lane.sha256 (tools/debug-lane.sh).
check-debug: tests
	tools/install-deps.sh --debug
	tools/check-debug.sh

lint: deps
	KVER=$(KVER) KDIR=$(KDIR) tools/lint.sh

dkms-check: deps
	KVER=$(KVER) tools/dkms-check.sh $(VERSION)

# The demo (tools/demo/): a controller with 4 workers and an event
# builder with 2 writers and 3 readers, one worker and one reader
# SIGKILLed mid-flight, then what happened, the checks and a table.
# `demo`: in the VM on the module backend; `demo-host`: here, on the
# portable backend.  DEMO_ARGS: shmipc-demo's options ("--events 500").
# Like check, it installs what is missing first (the README's first
# command on a fresh machine).
demo: deps
	@$(MAKE) --no-print-directory module
	$(MAKE) -C tools/demo vm
	KVER=$(KVER) DEMO_ARGS="$(DEMO_ARGS)" tools/vm/run-demo.sh

demo-host:
	$(MAKE) -C tools/demo host
	build/demo/shmipc-demo $(DEMO_ARGS)

# Benchmarks (not tests, tools/bench/): chanbench, memory and ctlscale on
# the host, then the same and kill-to-wake in the VM, then kill-to-wake
# on the host (portable backend and the alternatives); results in
# build/bench/results.* and the plot build/bench/latency-*.png
# (CHANBENCH_ARGS="--time-ms 50" for a quick run).  Installs what the
# alternatives and the plot need first (install-deps.sh --bench).
bench: module
	tools/install-deps.sh --bench
	$(MAKE) -C tools/bench
	KVER=$(KVER) tools/bench/run.sh

clean:
	-[ ! -d $(KDIR) ] || $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-[ ! -f tests/Makefile ] || $(MAKE) -C tests clean
	-$(MAKE) -C lib clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C tests/cli clean
	-$(MAKE) -C tools/demo clean
	rm -rf build
