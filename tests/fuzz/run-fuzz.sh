#!/bin/sh
# run-fuzz.sh: build the libFuzzer targets with clang and run each for a
# bounded time on a copy of its checked-in seed corpus and regression inputs.
# Fails if a target finds a crash, a leak, a sanitizer report or a timeout;
# what it found is kept under BUILD-DIR/fuzz-run/TARGET/artifacts/ (minimise
# it and add it to tests/fuzz/regress/TARGET/, see tests/fuzz/README.md).
#
#   tests/fuzz/run-fuzz.sh [BUILD-DIR]      default: build-fuzz
#   DROVER_FUZZ_SECONDS=60                  per target (0: skip)
#
# Without clang it says so and exits 0 (contrib/install-deps installs it).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=${1:-build-fuzz}
secs=${DROVER_FUZZ_SECONDS:-60}
jobs=$(nproc 2>/dev/null || echo 2)
targets="plan template"

case $secs in
'' | *[!0-9]*)
	echo "run-fuzz: DROVER_FUZZ_SECONDS must be a number of seconds," \
		"not \"$secs\"" >&2
	exit 2
	;;
esac
if [ "$secs" -eq 0 ]; then
	echo "run-fuzz: DROVER_FUZZ_SECONDS=0: fuzzing skipped"
	exit 0
fi
if ! command -v clang >/dev/null 2>&1; then
	echo "run-fuzz: clang not found: fuzzing skipped" \
		"(contrib/install-deps installs it)"
	exit 0
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
probe='int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);
int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }'
if ! printf '%s\n' "$probe" | clang -x c -fsanitize=fuzzer,address,undefined -o "$build/fuzz-probe" - \
		>"$build/fuzz-probe.log" 2>&1; then
	cat "$build/fuzz-probe.log" >&2
	echo "run-fuzz: clang cannot link libFuzzer programs:" \
		"install libclang-rt-14-dev (contrib/install-deps does)" >&2
	exit 1
fi
rm -f "$build/fuzz-probe" "$build/fuzz-probe.log"

CC=clang cmake -S . -B "$build" -DDROVER_FUZZ=ON -DBUILD_TESTING=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target fuzz_plan fuzz_template

# Stacks must be symbolized: fuzz_plan's leak suppressions match function
# names. Debian's clang runtime looks for llvm-symbolizer-14 only, which is
# in llvm-14, not a dependency of clang: use binutils' addr2line without it.
sym=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 ||
	command -v addr2line || true)
if [ -z "$sym" ]; then
	echo "run-fuzz: no llvm-symbolizer or addr2line: stacks cannot be" \
		"symbolized and libconfig's leak cannot be suppressed" >&2
	exit 1
fi
# UBSan reports are fatal (the build does not use -fno-sanitize-recover).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
ASAN_OPTIONS=$ASAN_OPTIONS:external_symbolizer_path=$sym
UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS UBSAN_OPTIONS

fail=0
for t in $targets; do
	run=$build/fuzz-run/$t
	rm -rf "$run"
	mkdir -p "$run/corpus" "$run/artifacts"
	# A copy: libFuzzer adds what it finds to its first corpus directory.
	for f in tests/fuzz/corpus/"$t"/* tests/fuzz/regress/"$t"/*; do
		[ -f "$f" ] && cp "$f" "$run/corpus/"
	done
	seeds=$(find "$run/corpus" -type f | wc -l)
	# libconfig's token leak (suppressed, see fuzz_plan.c) leaves more
	# mallocs than frees after many plan inputs, and libFuzzer then runs
	# a full leak check after each: 20 times fewer executions. So
	# fuzz_plan fuzzes without them (a leak still fails the run when the
	# process exits, with its stack) and every input of the final corpus
	# is then checked for leaks one by one, which names the input.
	leaks=1
	[ "$t" = plan ] && leaks=0
	rc=0
	(cd "$run" && "$build/tests/fuzz/fuzz_$t" \
		-max_total_time="$secs" -print_final_stats=1 -timeout=25 \
		-detect_leaks=$leaks -dict="$top/tests/fuzz/$t.dict" \
		-artifact_prefix="$run/artifacts/" "$run/corpus") \
		>"$run/log" 2>&1 || rc=$?
	if [ "$leaks" -eq 0 ]; then
		lrc=0
		(cd "$run" && "$build/tests/fuzz/fuzz_$t" -runs=0 \
			-detect_leaks=1 -timeout=25 \
			-artifact_prefix="$run/artifacts/" "$run/corpus") \
			>"$run/leaks.log" 2>&1 || lrc=$?
		if [ "$lrc" -ne 0 ]; then
			cat "$run/leaks.log" >>"$run/log"
			[ "$rc" -ne 0 ] || rc=$lrc
		fi
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" |
		head -n 1)
	[ -n "$execs" ] ||
		execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' \
			"$run/log" | head -n 1)
	found=$(find "$run/artifacts" -type f | wc -l)
	corpus=$(find "$run/corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
		echo "fuzz_$t: ${execs:-?} executions in ${secs} s," \
			"corpus $seeds -> $corpus inputs: ok"
	else
		fail=1
		echo "fuzz_$t: ${execs:-?} executions, exit $rc: FAILED"
		tail -n 60 "$run/log"
		for a in "$run"/artifacts/*; do
			[ -f "$a" ] && echo "fuzz_$t: input saved: $a"
		done
		if [ "$leaks" -eq 0 ] && grep -q "LeakSanitizer" "$run/log" &&
			! grep -q "^INFO: a leak has been found" "$run/log"; then
			echo "fuzz_$t: a leak seen at exit: the input saved is" \
				"the last one run, not necessarily the one that" \
				"leaked; the stack above says where"
		fi
		echo "fuzz_$t: full log: $run/log"
	fi
done
exit $fail
