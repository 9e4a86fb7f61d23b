# The two commands of the README: `make run` and `make test`. Everything else is a helper.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)

BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps build build-asan build-fuzz run test test-fast fuzz format format-check clean bench

all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DSFB_WERROR=ON

$(BUILD_ASAN)/CMakeCache.txt:
	CC=clang cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSFB_WERROR=ON -DSFB_SANITIZE=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(BUILD_ASAN)/CMakeCache.txt
	cmake --build $(BUILD_ASAN) -j $(JOBS)

$(BUILD_FUZZ)/CMakeCache.txt:
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DSFB_SANITIZE=ON -DSFB_FUZZ=ON

build-fuzz: deps $(BUILD_FUZZ)/CMakeCache.txt
	cmake --build $(BUILD_FUZZ) -j $(JOBS)

# Each libFuzzer harness for FUZZ_SECONDS, starting from its seed corpus (new inputs go to
# $(BUILD_FUZZ)/corpus-NAME; crashers to $(BUILD_FUZZ)/crash-*). Not part of `make test`.
fuzz: build-fuzz
	@set -e; for f in $(BUILD_FUZZ)/tests/fuzz/fuzz_*; do \
	    n=$${f##*/fuzz_}; mkdir -p $(BUILD_FUZZ)/corpus-$$n; \
	    echo "== fuzz $$n for $(FUZZ_SECONDS)s"; \
	    ASAN_OPTIONS=allocator_may_return_null=1 $$f -max_total_time=$(FUZZ_SECONDS) \
	        -malloc_limit_mb=512 -close_fd_mask=2 -print_final_stats=1 -artifact_prefix=$(BUILD_FUZZ)/crash-$$n- \
	        $(BUILD_FUZZ)/corpus-$$n tests/fuzz/corpus/$$n 2>&1 | \
	        grep -E 'stat::number_of_executed_units|cov:|ERROR|SUMMARY' | tail -3; \
	done

# Starts the whole broker on loopback; Ctrl-C stops everything.
run: build
	@BUILD=$(BUILD) sh scripts/run-local.sh

# The full suite: format check, the release build's tests, then the sanitizer build's tests.
test: build build-asan format-check
	cd $(BUILD) && ctest --output-on-failure --timeout 300
	cd $(BUILD_ASAN) && ctest --output-on-failure --timeout 300 -LE no-asan

# The benchmarks of BENCHMARKS.md against the release build, references measured in the same
# run (< 10 minutes; not part of `make test`). Rewrites BENCHMARKS.md and docs/bench/.
# Knobs: BENCH_RUNS, BENCH_SECONDS, HOLDS, REFERENCE_BROKER (see scripts/bench.sh).
bench: build
	@BUILD=$(BUILD) bash scripts/bench.sh

# Only the release build (quicker while developing).
test-fast: build
	cd $(BUILD) && ctest --output-on-failure --timeout 300

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
