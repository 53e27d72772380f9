# lambent: `make run` to try it, `make test` to check it. See README.md.
BUILD ?= build
LISTEN ?= 127.0.0.1:9000
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local

.PHONY: all deps build install uninstall test run bench fuzz clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# $(PREFIX)/bin/lambent links to $(PREFIX)/lib/lambent/bin/lambent, which finds lambent-init
# beside itself, the runtimes' bootstraps in ../runtimes and the dashboard in ../ui. No root:
# PREFIX=$$HOME/.local.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lambent/bin
	install -m 0755 $(BUILD)/bin/lambent $(BUILD)/bin/lambent-init $(DESTDIR)$(PREFIX)/lib/lambent/bin/
	install -m 0644 $(BUILD)/bin/liblambent-zygote.so $(DESTDIR)$(PREFIX)/lib/lambent/bin/
	rm -rf $(DESTDIR)$(PREFIX)/lib/lambent/runtimes
	cp -R $(BUILD)/runtimes $(DESTDIR)$(PREFIX)/lib/lambent/runtimes
	find $(DESTDIR)$(PREFIX)/lib/lambent/runtimes -name __pycache__ -prune -exec rm -rf {} +
	rm -rf $(DESTDIR)$(PREFIX)/lib/lambent/ui
	cp -R $(BUILD)/ui $(DESTDIR)$(PREFIX)/lib/lambent/ui
	ln -sfn ../lib/lambent/bin/lambent $(DESTDIR)$(PREFIX)/bin/lambent
	@echo "installed: $(PREFIX)/bin/lambent"

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/lambent $(DESTDIR)$(PREFIX)/lib/lambent

# Two at a time: the e2e groups spend most of their time waiting on clients and daemons
# (each test has its own daemon, data directory and free port), so side by side they take
# little longer than the longest of them.
test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 1200 --parallel 2

run: build
	LISTEN=$(LISTEN) BUILD=$(BUILD) bash scripts/run-example.sh

bench: build
	BUILD=$(BUILD) bash bench/run.sh

# The daemon under fuzzed input for FUZZ_SECONDS (default 600); FUZZ_SEED=N replays a run.
fuzz: build
	/usr/bin/python3 tests/fuzz/fuzz_daemon.py --lambent-bin $(BUILD)/bin --seconds $(or $(FUZZ_SECONDS),600) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

clean:
	rm -rf $(BUILD)
