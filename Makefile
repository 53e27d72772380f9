# lambent: `make run` to try it, `make test` to check it. See README.md.
BUILD ?= build
LISTEN ?= 127.0.0.1:9000
JOBS ?= $(shell nproc)

.PHONY: all deps build test run bench clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 1200

run: build
	LISTEN=$(LISTEN) BUILD=$(BUILD) bash scripts/run-example.sh

bench: build
	BUILD=$(BUILD) bash bench/run.sh

clean:
	rm -rf $(BUILD)
