# jhsim — the two commands of the README, and a few helpers.
#   make demo   set up what is missing and run the guided demo
#   make test   set up what is missing and run the whole test suite
SWIFT ?= swift
# The suite must never hang CI: SIGINT reaches the xctest child (see Docs/testing.md).
TEST_TIMEOUT ?= 1800

.PHONY: setup build demo test tsan fuzz fuzz-driver bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

demo: build
	$(SWIFT) run --skip-build jhsim demo

test: setup
	timeout -s INT -k 10 $(TEST_TIMEOUT) $(SWIFT) test

# Thread Sanitizer over the layers that run work on real Dispatch threads (machine,
# Linux, hypervisor, driver). The config, lab and CLI layers are single-threaded and
# are left out to keep CI's time down.
tsan: setup
	timeout -s INT -k 10 $(TEST_TIMEOUT) $(SWIFT) test --sanitize=thread --scratch-path .build-tsan \
		--filter 'JHMachineTests|JHLinuxTests|JHHypervisorTests|JHDriverTests'

fuzz: setup
	bash scripts/fuzz-config.sh

# The driver path under libFuzzer (Docs/fuzzing.md): FUZZ_SECONDS, FUZZ_RUNS, FUZZ_FLAGS;
# FUZZ_INPUT=FILE replays one input.
fuzz-driver: setup
	FUZZ_INPUT="$(FUZZ_INPUT)" FUZZ_RUNS="$(FUZZ_RUNS)" FUZZ_SECONDS="$(FUZZ_SECONDS)" FUZZ_FLAGS="$(FUZZ_FLAGS)" \
		bash scripts/fuzz-driver.sh

bench: setup
	cd Benchmarks && $(SWIFT) package benchmark

clean:
	rm -rf .build .build-*
