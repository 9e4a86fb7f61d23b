# The two commands of the README: `make run` and `make test`. Everything else is a helper.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all deps build build-asan run test test-fast format format-check clean

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

# Starts the whole broker on loopback; Ctrl-C stops everything.
run: build
	@BUILD=$(BUILD) sh scripts/run-local.sh

# The full suite: format check, the release build's tests, then the sanitizer build's tests.
test: build build-asan format-check
	cd $(BUILD) && ctest --output-on-failure --timeout 300
	cd $(BUILD_ASAN) && ctest --output-on-failure --timeout 300 -LE no-asan

# Only the release build (quicker while developing).
test-fast: build
	cd $(BUILD) && ctest --output-on-failure --timeout 300

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
