#!/usr/bin/env bash
# Runs each libFuzzer target of Fuzz/ for FUZZ_SECONDS (default 60), one after the other, and
# fails if any of them crashed (a trap, an ASan report, a leak, a failed harness invariant, an
# input taking over 10 s or a single allocation over 256 MiB). Called by `make fuzz` after it
# built the targets into .build-fuzz/fuzzer. FUZZ_TARGETS limits the run to some targets.
#
# Per target: new corpus entries go to .build-fuzz/corpus/<target> (the committed seeds in
# Fuzz/Corpus/<target> are read, never written), crash inputs to .build-fuzz/crashes/<target>-*,
# the log to .build-fuzz/logs/<target>.log.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
binaries=.build-fuzz/fuzzer/release
targets=${FUZZ_TARGETS:-FuzzFrameDecoder FuzzBinaryCodec FuzzGossipCodec FuzzMembership}
mkdir -p .build-fuzz/crashes .build-fuzz/logs
# Swift's own crash backtracer reads the crashed process's memory, which ASan reports as a
# second, unrelated error after a harness's fatalError; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no

# Longest input per target: a few frames; a value tree; a datagram (1,400 bytes at most on the
# wire); a script of several datagrams and clock steps.
max_len() {
    case $1 in
        FuzzFrameDecoder | FuzzBinaryCodec) echo 4096 ;;
        FuzzGossipCodec) echo 1500 ;;
        *) echo 8192 ;;
    esac
}

# The membership runs ~100-400 inputs a second, too few for libFuzzer's length control to grow
# scripts past ~100 bytes in a minute; longer scripts at once reached more of SWIM (cov 3,577
# against 3,496 for a 10-minute run with length control).
extra_flags() {
    case $1 in
        FuzzMembership) echo -len_control=0 ;;
        *) echo ;;
    esac
}

failed=()
for target in $targets; do
    corpus=.build-fuzz/corpus/$target
    log=.build-fuzz/logs/$target.log
    mkdir -p "$corpus"
    echo "== $target: ${seconds}s, -max_len=$(max_len "$target")"
    "$binaries/$target" "$corpus" "Fuzz/Corpus/$target" \
        -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 -malloc_limit_mb=256 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=".build-fuzz/crashes/$target-" $(extra_flags "$target") >"$log" 2>&1
    status=$?
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" |
        sed 's/^/   /'
    grep -E '^#[0-9]+.*(cov|DONE)' "$log" | tail -1 | sed 's/^/   /'
    if [ $status -ne 0 ]; then
        echo "   CRASHED (exit $status): see $log and .build-fuzz/crashes/"
        grep -E 'ERROR: |fuzz invariant|Fatal error|SUMMARY' "$log" | head -5 | sed 's/^/   /'
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]}"
    exit 1
fi
echo "fuzzing: no crashes"
