# whefs — the two commands: `make demo` and `make test`.
CARGO ?= cargo
SHELL := /bin/bash

.PHONY: all demo test build deps

all: build

build:
	$(CARGO) build --release

# Tools the C tests need; present on a fresh machine of this kind, installed if not.
# The mount tests (tests/mount*.rs) need fusermount3 (fuse3) and run rsync,
# sqlite3 and git inside a mount.
deps:
	@command -v cc >/dev/null && command -v c++ >/dev/null && command -v pkg-config >/dev/null && command -v valgrind >/dev/null \
	    || (apt-get update && apt-get install -y gcc g++ pkg-config valgrind)
	@command -v fusermount3 >/dev/null && command -v rsync >/dev/null && command -v sqlite3 >/dev/null && command -v git >/dev/null \
	    || (apt-get update && apt-get install -y fuse3 rsync sqlite3 git)

demo: build
	./target/release/whefs demo

# Every test: Rust (unit, integration, doctests; tests/ffi.rs builds and runs
# the C tests under AddressSanitizer and valgrind), a smoke run of the
# benchmark (bench-quick: it must run to completion, no figure is checked),
# the installed C library, the Python and PHP bindings, and the PHP example
# application served by nginx + php-fpm (browser, load test). Each suite's
# output is kept in build/logs/ and the last line counts every test that
# ran: "N passed, N failed".
LOGS := build/logs
test: deps
	@mkdir -p $(LOGS)
	@rm -f $(LOGS)/*.log
	set -o pipefail; $(CARGO) test --all-targets 2>&1 | tee $(LOGS)/rust.log
	set -o pipefail; $(CARGO) test --doc 2>&1 | tee $(LOGS)/rust-doc.log
	set -o pipefail; $(MAKE) --no-print-directory bench-quick 2>&1 | tee $(LOGS)/rust-bench.log
	$(MAKE) --no-print-directory test-install
	set -o pipefail; $(MAKE) --no-print-directory test-python 2>&1 | tee $(LOGS)/python.log
	set -o pipefail; $(MAKE) --no-print-directory test-php 2>&1 | tee $(LOGS)/php.log
	set -o pipefail; $(MAKE) --no-print-directory test-php-web 2>&1 | tee $(LOGS)/php-web.log
	@sh tests/summary.sh $(LOGS)

# ---- The C library: header, install, C tests --------------------------------
# make header                       regenerate include/whefs.h (commit it)
# make install PREFIX=/some/dir     header, libwhefs.so (+ soname links), .a, whefs.pc
# make test-c                       the C tests only
# make test-install                 install into build/test-prefix, build an example with pkg-config
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PROFILE ?= release
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
SOMAJOR := $(word 1,$(subst ., ,$(VERSION)))
LIB_OUT := target/$(if $(filter release,$(PROFILE)),release,debug)
TEST_PREFIX := $(CURDIR)/build/test-prefix

.PHONY: lib header test-c install uninstall test-install

lib:
	$(CARGO) build --lib --no-default-features $(if $(filter release,$(PROFILE)),--release)

header:
	WHEFS_UPDATE_HEADER=1 $(CARGO) test --test ffi committed_header_is_the_generated_one

test-c:
	$(CARGO) test --test ffi

install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/whefs.h $(DESTDIR)$(INCLUDEDIR)/whefs.h
	install -m 755 $(LIB_OUT)/libwhefs.so $(DESTDIR)$(LIBDIR)/libwhefs.so.$(VERSION)
	ln -sf libwhefs.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libwhefs.so.$(SOMAJOR)
	ln -sf libwhefs.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libwhefs.so
	install -m 644 $(LIB_OUT)/libwhefs.a $(DESTDIR)$(LIBDIR)/libwhefs.a
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    whefs.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/whefs.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/whefs.h $(DESTDIR)$(LIBDIR)/libwhefs.so \
	    $(DESTDIR)$(LIBDIR)/libwhefs.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libwhefs.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/libwhefs.a $(DESTDIR)$(LIBDIR)/pkgconfig/whefs.pc

# What a C user does: install, then `cc app.c $(pkg-config --cflags --libs whefs)`.
# Uses the debug library, so it adds no release build to `make test`.
test-install:
	rm -rf $(TEST_PREFIX)
	$(MAKE) --no-print-directory install PROFILE=debug PREFIX=$(TEST_PREFIX)
	test -L $(TEST_PREFIX)/lib/libwhefs.so -a -L $(TEST_PREFIX)/lib/libwhefs.so.$(SOMAJOR)
	PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig sh -c '$(CC) -Wall -Wextra -Werror \
	    -o $(TEST_PREFIX)/whefs-putget examples/c/whefs-putget.c \
	    $$(pkg-config --cflags --libs whefs) -Wl,-rpath,$(TEST_PREFIX)/lib'
	readelf -d $(TEST_PREFIX)/whefs-putget | grep -q 'NEEDED.*libwhefs.so.$(SOMAJOR)'
	printf 'installed\0library\n' > $(TEST_PREFIX)/in.txt
	rm -f $(TEST_PREFIX)/box.whefs
	$(TEST_PREFIX)/whefs-putget $(TEST_PREFIX)/box.whefs put a/b.txt $(TEST_PREFIX)/in.txt
	$(TEST_PREFIX)/whefs-putget $(TEST_PREFIX)/box.whefs get a/b.txt $(TEST_PREFIX)/out.txt
	cmp $(TEST_PREFIX)/in.txt $(TEST_PREFIX)/out.txt
	$(TEST_PREFIX)/whefs-putget $(TEST_PREFIX)/box.whefs ls | grep -q 'a/b.txt'
	awk '/^```c$$/ { inside = 1; next } /^```$$/ { if (inside) exit } inside' README.md > $(TEST_PREFIX)/hello.c
	cd $(TEST_PREFIX) && PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig sh -c \
	    '$(CC) -o hello hello.c $$(pkg-config --cflags --libs whefs) -Wl,-rpath,$$(pkg-config --variable=libdir whefs)'
	cd $(TEST_PREFIX) && ./hello | grep -qx 'hello, whefs'
	cd $(TEST_PREFIX) && PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig sh -c \
	    '$(CC) -o hello-static hello.c $$(pkg-config --cflags whefs) lib/libwhefs.a -lpthread -ldl -lm -lrt -lutil -lgcc_s'
	cd $(TEST_PREFIX) && ./hello-static | grep -qx 'hello, whefs'
	@echo "test-install: pkg-config builds against $(TEST_PREFIX) work"

# ---- Benchmarks -------------------------------------------------------------
# make bench         whefs (C API) vs plain files vs SQLite in one run: the
#                    workloads of issues 9 and 10 and the machine's floors,
#                    repeated, alternated, medians (examples/bench/). Prints
#                    the tables; writes docs/benchmarks.md, docs/benchmarks.tsv,
#                    docs/bench-*.svg and README.md's bench block. About 10
#                    minutes on 2 cores. WHEFS_BENCH_REPS=N, WHEFS_BENCH_DIR=...
#                    BENCH_ARGS="--only stat,cgi" for some workloads (--list).
# make bench-quick   the program's unit tests, then the same run with tiny
#                    sizes, both on the test profile `make test` builds
#                    anyway: a smoke run of seconds (make test runs it; no
#                    figure is checked), output in target/bench-quick/.
# make bench-more    the single-purpose programs: open time vs. number of
#                    files, streaming memory, threads, processes.
BENCH_ARGS ?=
.PHONY: bench bench-quick bench-compare bench-more
bench:
	$(CARGO) run --release --features bench-sqlite --example bench -- $(BENCH_ARGS)

bench-quick:
	$(CARGO) test --features bench-sqlite --example bench
	WHEFS_BENCH_QUICK=1 $(CARGO) run --profile test --features bench-sqlite --example bench -- $(BENCH_ARGS)

# The old name of `make bench`'s comparison.
bench-compare: bench

bench-more:
	$(CARGO) run --release --example bench_open
	$(CARGO) run --release --example bench_stream
	$(CARGO) run --release --example bench_threads
	$(CARGO) run --release --example bench_mp

# Fuzzing (DESIGN §6): cargo-fuzz on the stable toolchain, no sanitizer.
# New inputs go to fuzz/work/<target> (not committed); the committed seeds
# and finds in fuzz/corpus/<target> are replayed by tests/fuzz_corpus.rs.
# make fuzz FUZZ_SECS=600           longer runs
FUZZ_SECS ?= 120
FUZZ_TARGETS := open_check api_ops
.PHONY: fuzz
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(CURDIR)/fuzz/work/$$t && \
	    $(CARGO) fuzz run -s none $$t $(CURDIR)/fuzz/work/$$t $(CURDIR)/fuzz/corpus/$$t \
	        -- -max_total_time=$(FUZZ_SECS) || exit 1; \
	done

# ---- The Python binding (bindings/python) ------------------------------------
# make test-python   installs swig (apt) if missing, builds the debug library,
#                    builds the wheel with `pip wheel ./bindings/python` (SWIG
#                    wrapper from bindings/swig/whefs.i, libwhefs.a linked in
#                    statically), installs it into a fresh virtualenv and runs
#                    pytest on bindings/python/tests there (the differential
#                    test against builtin files included), then
#                    `mypy --strict` over the package.
# WHEFS_DIFF_EXAMPLES=2000 make test-python   a longer differential run
PYTHON ?= python3
# Tools: pytest, hypothesis, mypy, selenium, setuptools (also for test-php-web).
PY_VENV := $(CURDIR)/build/python-venv
PY_TOOLS := pytest setuptools wheel hypothesis mypy selenium
# Where the wheel is installed for the tests: made anew each run.
PY_WHEEL_DIR := $(CURDIR)/build/python-wheel
PY_TEST_VENV := $(CURDIR)/build/python-test-venv

.PHONY: test-python python-deps python-wheel

python-deps: deps
	@command -v swig >/dev/null || (apt-get update && apt-get install -y -o DPkg::Lock::Timeout=300 swig)
	@test -x $(PY_VENV)/bin/python || $(PYTHON) -m venv $(PY_VENV)
	@$(PY_VENV)/bin/python -c 'import pytest, setuptools, wheel, hypothesis, mypy, selenium' 2>/dev/null \
	    || $(PY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(PY_TOOLS)

# The bindings build the library alone (no `cli` feature); their test builds
# add `test-hooks` (whefs_test_panic) and tell SWIG so.
BINDINGS_LIB_FEATURES := --no-default-features --features test-hooks

python-wheel: python-deps
	$(CARGO) build --lib $(BINDINGS_LIB_FEATURES)
	rm -rf bindings/python/build bindings/python/whefs.egg-info $(PY_WHEEL_DIR)
	WHEFS_TEST_HOOKS=1 WHEFS_LIB_DIR=$(CURDIR)/target/debug $(PY_VENV)/bin/python -m pip wheel --quiet \
	    --disable-pip-version-check --no-deps -w $(PY_WHEEL_DIR) ./bindings/python
	rm -rf bindings/python/build bindings/python/whefs.egg-info

test-python: python-wheel
	rm -rf $(PY_TEST_VENV)
	$(PYTHON) -m venv $(PY_TEST_VENV)
	$(PY_TEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(PY_WHEEL_DIR)/whefs-*.whl pytest hypothesis
	cd build && $(PY_TEST_VENV)/bin/python -m pytest -q $(CURDIR)/bindings/python/tests
	cd bindings/python && $(PY_VENV)/bin/python -m mypy --strict --cache-dir $(CURDIR)/build/mypy-cache whefs


# ---- The PHP binding (bindings/php) ---------------------------------------
# make test-php   installs swig, php-cli and php-dev (apt) if missing, builds
#                 the debug library, generates the SWIG wrapper into
#                 build/php/ (`swig -php7`, SWIG 4.1's PHP 8 backend),
#                 compiles the extension build/php/whefs.so (libwhefs.a linked
#                 in statically) and runs the .phpt tests of
#                 bindings/php/tests with `php -n -d extension=.../whefs.so`:
#                 nothing is installed into the system's PHP.
PHP_BUILD := $(CURDIR)/build/php
PHP_EXT := $(PHP_BUILD)/whefs.so
# What Rust's std needs from the system when linked statically.
RUST_STATIC_SYSLIBS := -lpthread -ldl -lm -lrt -lutil -lgcc_s

.PHONY: test-php php-deps php-ext

php-deps: deps
	@command -v php >/dev/null && command -v php-config >/dev/null && command -v swig >/dev/null \
	    || (apt-get update && apt-get install -y -o DPkg::Lock::Timeout=300 swig php-cli php-dev)

php-ext: php-deps
	$(CARGO) build --lib $(BINDINGS_LIB_FEATURES)
	mkdir -p $(PHP_BUILD)
	swig -php7 -Wall -Werror -DWHEFS_TEST_HOOKS -Iinclude -o $(PHP_BUILD)/whefs_wrap.c -outdir $(PHP_BUILD) bindings/swig/whefs.i
	$(CC) -shared -fPIC -O2 -Wall -Werror -Wno-unused-label -Wno-unused-variable -Wno-unused-function \
	    $$(php-config --includes) -Iinclude -o $(PHP_EXT) $(PHP_BUILD)/whefs_wrap.c \
	    target/debug/libwhefs.a -Wl,--exclude-libs,ALL -Wl,--gc-sections $(RUST_STATIC_SYSLIBS)
	php -n -d extension=$(PHP_EXT) -r 'exit(function_exists("whefs_version") ? 0 : 1);'

# The tests run from a copy under build/php, so that the files run-tests.php
# leaves next to a failed test (.out, .diff, ...) stay out of the source tree.
# Without PHP's run-tests.php (php-dev), bindings/php/tests/run.php runs them.
# make test-php PHP_TEST_FLAGS=-m   the same under valgrind (leaks, bad reads)
PHP_TEST_FLAGS ?=
test-php: php-ext
	rm -rf $(PHP_BUILD)/src $(PHP_BUILD)/tests $(PHP_BUILD)/README.md
	cp -r bindings/php/src bindings/php/tests bindings/php/README.md $(PHP_BUILD)/
	cd $(PHP_BUILD) && runner=$$(php-config --extension-dir)/build/run-tests.php; \
	    if [ -f "$$runner" ]; then \
	        RUST_BACKTRACE=0 WHEFS_PHP_EXTENSION=$(PHP_EXT) TEST_PHP_EXECUTABLE=$$(command -v php) \
	            php -n $$runner -q -n -d extension=$(PHP_EXT) --no-color --no-progress --show-diff $(PHP_TEST_FLAGS) tests; \
	    else \
	        RUST_BACKTRACE=0 WHEFS_PHP_EXTENSION=$(PHP_EXT) php -n tests/run.php tests; \
	    fi



# ---- The PHP example application (bindings/php/examples/filedrop) ----------
# make php-demo                      serves filedrop (a file drop / pastebin
#                                    keeping everything in one whefs container)
#                                    with nginx + php-fpm on 127.0.0.1; prints the URL
# make php-demo-cgi                  the same with php-cgi
# make php-demo PHP_DEMO_BACKEND=sqlite PHP_DEMO_PORT=9000   the same app on SQLite (or dir)
# make test-php-web                  browser test (headless Chromium), both SAPIs
#                                    on every backend, and the load test (whefs vs a
#                                    directory vs SQLite, workers SIGKILLed)
# WHEFS_LONG_LOAD=1 make test-php-web   the load test for 60 s per backend
# All of it runs from build/ with its own configs, sockets and pid files
# (bindings/php/examples/filedrop/serve.py); the extension is built against the
# release library, as a deployment would be.
PHP_RELEASE_BUILD := $(CURDIR)/build/php-release
PHP_EXT_RELEASE := $(PHP_RELEASE_BUILD)/whefs.so
PHP_DEMO_PORT ?= 8080
PHP_DEMO_BACKEND ?= whefs
PHP_DEMO_SAPI ?= fpm
PHP_VERSION = $(shell php-config --version | cut -d. -f1,2)

.PHONY: php-web-deps php-ext-release php-demo php-demo-cgi test-php-web

# nginx, php-fpm, php-cgi, PDO SQLite; chromium and its driver for the browser test.
php-web-deps: php-deps
	@command -v nginx >/dev/null && command -v php-fpm$(PHP_VERSION) >/dev/null && command -v php-cgi >/dev/null \
	    && test -f $$(php-config --extension-dir)/pdo_sqlite.so \
	    && command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	    || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 \
	        nginx php$(PHP_VERSION)-fpm php$(PHP_VERSION)-cgi php$(PHP_VERSION)-sqlite3 chromium chromium-driver)

php-ext-release: php-deps
	$(CARGO) build --lib --release --no-default-features
	mkdir -p $(PHP_RELEASE_BUILD)
	swig -php7 -Wall -Werror -Iinclude -o $(PHP_RELEASE_BUILD)/whefs_wrap.c -outdir $(PHP_RELEASE_BUILD) bindings/swig/whefs.i
	$(CC) -shared -fPIC -O2 -Wall -Werror -Wno-unused-label -Wno-unused-variable -Wno-unused-function \
	    $$(php-config --includes) -Iinclude -o $(PHP_EXT_RELEASE) $(PHP_RELEASE_BUILD)/whefs_wrap.c \
	    target/release/libwhefs.a -Wl,--exclude-libs,ALL -Wl,--gc-sections $(RUST_STATIC_SYSLIBS)
	php -n -d extension=$(PHP_EXT_RELEASE) -r 'exit(function_exists("whefs_version") ? 0 : 1);'

php-demo: php-web-deps php-ext-release
	$(PYTHON) bindings/php/examples/filedrop/serve.py --workdir build/php-demo --port $(PHP_DEMO_PORT) \
	    --backend $(PHP_DEMO_BACKEND) --sapi $(PHP_DEMO_SAPI) --extension $(PHP_EXT_RELEASE)

php-demo-cgi:
	$(MAKE) --no-print-directory php-demo PHP_DEMO_SAPI=cgi

test-php-web: php-web-deps php-ext-release python-deps
	cd build && WHEFS_PHP_EXTENSION=$(PHP_EXT_RELEASE) $(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider \
	    $(CURDIR)/bindings/php/tests/web
