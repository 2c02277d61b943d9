#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ (ASan + UBSan), makes their seed corpora
# and runs every target for SECONDS (default 60) seconds, one after the other.
# Prints per target: executions, time and result; exits non-zero when any target found something,
# naming the saved input (build-fuzz/tests/fuzz/findings/<target>/).
#   bash scripts/fuzz.sh 20          # what CI runs
#   FUZZ_TARGETS="vhd vhdx" bash scripts/fuzz.sh 600
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}

launcher=()
if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# -O1 -g1: what libFuzzer's documentation suggests, and the quickest build that keeps line tables.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
    -DDISKSHIFT_FUZZ=ON -DDISKSHIFT_BUILD_TESTS=OFF -DDISKSHIFT_BUILD_TOOLS=ON -DDISKSHIFT_INSTALL=OFF \
    -DDISKSHIFT_FUZZ_SECONDS="$seconds" "${launcher[@]}" >/dev/null
# imgconv (built with the same flags) writes some of the seeds.
cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target imgconv fuzz_seed \
    $(printf 'fuzz_%s ' vmdk vmdk_descriptor vhd vhdx ova tar ovf manifest)

if [[ -n ${FUZZ_TARGETS:-} ]]; then
    "$root/tests/fuzz/make-seeds.sh" "$build/tests/fuzz/seeds" "$build/bin/imgconv" "$build/bin/fuzz_seed"
    # shellcheck disable=SC2086
    exec "$root/tests/fuzz/run-fuzzers.sh" "$build/bin" "$build/tests/fuzz" "$seconds" $FUZZ_TARGETS
fi
cmake --build "$build" --target fuzz
