#!/usr/bin/env bash
# Runs fuzz targets one after the other, each for SECONDS, on WORKDIR/seeds/<target>/ (read) and
# WORKDIR/corpus/<target>/ (where libFuzzer keeps the inputs that found new coverage; it persists
# between runs). Prints executions, time and result per target; a crashing, hanging or
# over-allocating input is saved in WORKDIR/findings/<target>/ and the script exits 1.
#   tests/fuzz/run-fuzzers.sh BINDIR WORKDIR SECONDS TARGET...
set -uo pipefail

bin=${1:?usage: run-fuzzers.sh BINDIR WORKDIR SECONDS TARGET...}
work=${2:?}
seconds=${3:?}
shift 3

# The limits, per input:
#   -timeout=10: the harness bounds the work (at most 32 MiB read through convert(), sampled
#     beyond); under ASan that takes well under a second, so 10 s means a hang (a loop that does
#     not end, or work that grows with a size read from the file rather than with the file).
#   -malloc_limit_mb=256: inputs are at most a few MiB, so a parser that checks sizes read from
#     the file against the file and its caps never asks for this much in one allocation; a larger
#     request means a size trusted from the file.
#   -rss_limit_mb=1024: the same for memory held in total (libFuzzer and ASan take ~200 MiB).
limits=(-timeout=10 -malloc_limit_mb=256 -rss_limit_mb=1024)
# ASan: a failed allocation is a finding (not a null pointer the code may not expect).
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=()
for target in "$@"; do
    seeds=$work/seeds/$target
    corpus=$work/corpus/$target
    findings=$work/findings/$target
    log=$work/logs/fuzz_$target.log
    mkdir -p "$seeds" "$corpus" "$findings" "$(dirname "$log")"
    # Inputs may grow to the largest seed (a VHDX is 4 MiB: its regions are 1 MiB aligned), at
    # least 4 KiB, so the text formats can grow too.
    largest=$(find "$seeds" "$corpus" -type f -printf '%s\n' | sort -n | tail -n 1)
    max_len=$(( ${largest:-0} > 4096 ? ${largest:-0} : 4096 ))
    echo "== fuzz_$target: $seconds s (log: $log)"
    "$bin/fuzz_$target" "${limits[@]}" -max_len="$max_len" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$findings/" "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    time=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    if [[ $rc -eq 0 ]]; then
        result=ok
    else
        status=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        result="FINDING (exit $rc): ${artifact:-no input saved, see $log}"
        grep -m 5 -E '^==[0-9]+==ERROR|runtime error|uncaught exception|deadly signal|out-of-memory|malloc\(|timeout' "$log" | sed 's/^/    /'
    fi
    line=$(printf 'fuzz_%-16s executions %10s  exec/s %6s  cov %5s  time %4ss  %s' "$target" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "${time:-?}" "$result")
    echo "$line"
    summary+=("$line")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
