# The two commands of README.md, plus the sanitizer and fuzz builds.
#   make run    install what is missing, build, start the main daemon on examples/
#   make test   install what is missing, build (release with assertions), check formatting, run every test
#   make asan   the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz   build the libFuzzer targets with clang and run each (FUZZ_SECONDS, default 60)

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
FUZZERS ?= $(notdir $(basename $(wildcard fuzz/*_fuzz.cpp)))

.PHONY: run test asan fuzz setup build build-asan build-fuzz format format-check clean

setup:
	@scripts/setup

build/%/build.ninja: CMakeLists.txt CMakePresets.json | setup
	cmake --preset $*

build: setup build/release/build.ninja
	cmake --build build/release -j $(JOBS)

run: build
	@scripts/run-example

test: build
	@$(MAKE) --no-print-directory format-check
	ctest --test-dir build/release --output-on-failure -j $(JOBS)

build-asan: setup build/asan/build.ninja
	cmake --build build/asan -j $(JOBS)

asan: build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build/asan --output-on-failure -j $(JOBS)

build-fuzz: setup build/fuzz/build.ninja
	cmake --build build/fuzz -j $(JOBS)

fuzz: build-fuzz
	@for f in $(FUZZERS); do \
	  echo "== $$f for $(FUZZ_SECONDS)s"; \
	  mkdir -p build/fuzz/corpus/$$f; \
	  build/fuzz/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build/fuzz/corpus/$$f fuzz/corpus/$$f || exit 1; \
	done

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

format-check: setup
	@clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.hpp') && echo 'format-check: clean'

clean:
	rm -rf build
