# whefs — the two commands: `make demo` and `make test`.
CARGO ?= cargo

.PHONY: all demo test build

all: build

build:
	$(CARGO) build --release

demo: build
	./target/release/whefs demo

test:
	$(CARGO) test --all-targets
