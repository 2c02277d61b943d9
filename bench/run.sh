#!/usr/bin/env bash
# diskshift benchmark: diskshift against qemu-img, measured alternately in one run.
#
#   bench/run.sh            build (Release), make the inputs, run every case, print the table
#
# Environment:
#   BENCH_DIR   where inputs and outputs go (default /var/tmp/diskshift-bench; needs ~8 GiB free
#               on a file system with holes, not tmpfs, to measure real writes)
#   ROUNDS      rounds per case, each running diskshift and qemu-img, in turn first (default 7, at least 3)
#   BUILD_DIR   the Release build to use or make (default build-bench)
#   KEEP=1      keep BENCH_DIR afterwards (inputs are reused when their recipe has not changed)
#   CASES       the cases to run (default "a b c d e f")
#
# The source disk is reproducible: a 2 GiB raw image holding 1.2 GiB of real, compressible data
# (a tar of /usr in name order with fixed owners and times) in three pieces, with zero ranges
# (holes) between them. Inputs are made by qemu-img, so neither side reads its own output.
# Case (f) merges a delta chain: a sparse VMDK of the source and a sparse VMDK delta over it (made by
# qemu-img create -b and qemu-io) that rewrites 10% of the disk in 52 pieces of 4 MiB; imgmerge and
# `qemu-img convert` both read the chain from its top and write raw.
# Every timed command starts after `sync`, so write-back from an earlier run is not charged to it.
# Times are wall-clock seconds (medians), RSS is the peak resident set from /usr/bin/time -v, sizes are
# the output file's length in bytes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir=${BENCH_DIR:-/var/tmp/diskshift-bench}
rounds=${ROUNDS:-7}
cases=${CASES:-a b c d e f}
build_dir=${BUILD_DIR:-$root/build-bench}
bin=$build_dir/bin

MiB=$((1024 * 1024))
log() { printf '==> %s\n' "$*" >&2; }

if ((rounds < 3)); then
    log "ROUNDS must be at least 3 (a median of fewer says little)"
    exit 2
fi

build() {
    log "building diskshift (Release) in $build_dir"
    BUILD_DIR=$build_dir CMAKE_BUILD_TYPE=Release CMAKE_ARGS="-DDISKSHIFT_BUILD_TESTS=OFF" \
        bash "$root/scripts/setup.sh" build >&2
}

# The 2 GiB source: pieces of the tar stream at fixed offsets, holes between them.
#   [0, 400 MiB) data, [400, 700) hole, [700, 1300) data, [1300, 1700) hole, [1700, 1900) data,
#   [1900, 2048) hole: 1.2 GiB of data.
make_source() {
    local source=$bench_dir/source.raw recipe=$bench_dir/source.recipe
    local wanted="v1 tar /usr sorted, 400@0 600@700 200@1700 of 2048 MiB"
    if [[ -f $source && -f $recipe && $(cat "$recipe") == "$wanted" ]]; then
        log "reusing $source"
        return
    fi
    log "making $source (2 GiB, 1.2 GiB of data from a tar of /usr)"
    rm -f "$source" "$recipe"
    truncate -s $((2048 * MiB)) "$source"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --ignore-failed-read \
        -cf - /usr 2>/dev/null | head -c $((1200 * MiB)) >"$bench_dir/data.tar" || true
    local have
    have=$(stat -c %s "$bench_dir/data.tar")
    if ((have < 1200 * MiB)); then
        log "/usr gave only $((have / MiB)) MiB; repeating it to reach 1200 MiB"
        while ((have < 1200 * MiB)); do
            head -c $((1200 * MiB - have)) "$bench_dir/data.tar" >>"$bench_dir/data.tar.more"
            cat "$bench_dir/data.tar.more" >>"$bench_dir/data.tar"
            rm -f "$bench_dir/data.tar.more"
            have=$(stat -c %s "$bench_dir/data.tar")
        done
    fi
    place() { # place FROM_MiB LENGTH_MiB AT_MiB
        dd if="$bench_dir/data.tar" of="$source" bs=1M skip="$1" count="$2" seek="$3" conv=notrunc,sparse \
            status=none
    }
    place 0 400 0
    place 400 600 700
    place 1000 200 1700
    rm -f "$bench_dir/data.tar"
    echo "$wanted" >"$recipe"
}

# The chain of case (f): in-chain-base.vmdk (sparse) and in-chain-delta.vmdk over it.
make_chain_inputs() {
    selected f || return 0
    local base=$bench_dir/in-chain-base.vmdk delta=$bench_dir/in-chain-delta.vmdk
    [[ -f $base ]] || qemu-img convert -f raw -O vmdk "$bench_dir/source.raw" "$base"
    [[ -f $delta ]] && return 0
    log "making $delta (52 writes of 4 MiB: 10% of the disk)"
    qemu-img create -q -f vmdk -b "$(basename "$base")" -F vmdk "$delta"
    local writes=() i
    for ((i = 0; i < 52; i++)); do
        writes+=(-c "write -q -P $((i + 1)) $((i * 39 + 3))M 4M")
    done
    qemu-io -f vmdk "${writes[@]}" "$delta"
}

selected() { [[ " $cases " == *" $1 "* ]]; }

# Only the inputs of the selected cases are made (CASES=f need not compress a stream VMDK).
make_inputs() {
    local q=(qemu-img convert -f raw)
    selected a && [[ ! -f $bench_dir/in-stream.vmdk ]] &&
        "${q[@]}" -O vmdk -o subformat=streamOptimized "$bench_dir/source.raw" "$bench_dir/in-stream.vmdk"
    selected c && [[ ! -f $bench_dir/in-dynamic.vhd ]] &&
        "${q[@]}" -O vpc -o subformat=dynamic "$bench_dir/source.raw" "$bench_dir/in-dynamic.vhd"
    selected e && [[ ! -f $bench_dir/in-empty-127g.vhd ]] &&
        qemu-img create -q -f vpc -o subformat=dynamic "$bench_dir/in-empty-127g.vhd" 127G
    return 0
}

# measure NAME OUTPUT COMMAND...: one timed run after sync; appends "seconds rss_kib size" to
# $bench_dir/results/NAME.
measure() {
    local name=$1 output=$2
    shift 2
    rm -f "$output"
    sync
    local report=$bench_dir/time.txt started ended
    # /usr/bin/time gives the peak RSS; its wall clock counts only hundredths, so bash's
    # microsecond clock times the run.
    started=$EPOCHREALTIME
    if ! /usr/bin/time -v -o "$report" "$@" >/dev/null 2>"$bench_dir/stderr.txt"; then
        log "failed: $*"
        cat "$bench_dir/stderr.txt" >&2
        exit 1
    fi
    ended=$EPOCHREALTIME
    local seconds rss
    seconds=$(awk -v s="$started" -v e="$ended" 'BEGIN { printf "%.4f", e - s }')
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$report")
    echo "$seconds $rss $(stat -c %s "$output")" >>"$bench_dir/results/$name"
    rm -f "$output"
}

median() { # median COLUMN FILE
    cut -d' ' -f"$1" "$2" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run_case KEY TITLE INPUT OURS_ARGS... -- QEMU_ARGS... [-- FLOOR]: alternate ours and qemu-img.
# Ours is `imgconv OURS_ARGS INPUT OUTPUT`, or `$ours_tool OURS_ARGS INPUT $ours_out_flag OUTPUT`
# when those variables are set.
run_case() {
    local key=$1 title=$2 input=$3 out=$bench_dir/out
    shift 3
    local ours=() qemu=()
    while [[ $1 != -- ]]; do ours+=("$1"); shift; done
    shift
    while (($#)) && [[ $1 != -- ]]; do qemu+=("$1"); shift; done
    local floor=${2:-}
    [[ " $cases " == *" $key "* ]] || return 0
    log "case ($key) $title: $rounds rounds"
    for ((round = 1; round <= rounds; round++)); do
        # Who goes first alternates too, so neither always follows the other's clean-up.
        if ((round % 2)); then
            measure "$key.ours" "$out" "$bin/${ours_tool:-imgconv}" "${ours[@]}" "$input" ${ours_out_flag:-} "$out"
            measure "$key.qemu" "$out" qemu-img convert "${qemu[@]}" "$input" "$out"
        else
            measure "$key.qemu" "$out" qemu-img convert "${qemu[@]}" "$input" "$out"
            measure "$key.ours" "$out" "$bin/${ours_tool:-imgconv}" "${ours[@]}" "$input" ${ours_out_flag:-} "$out"
        fi
        if [[ -n $floor ]]; then
            measure "$key.floor" "$out" cp --sparse=always "$floor" "$out"
        fi
    done
    titles[$key]=$title
}

print_table() {
    printf '| case | diskshift s | qemu-img s | ratio (qemu/ours) | diskshift RSS MiB | qemu-img RSS MiB | diskshift output bytes | qemu-img output bytes | cp --sparse=always s |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
    local key
    for key in $cases; do
        local r=$bench_dir/results
        local ours qemu floor="-"
        ours=$(median 1 "$r/$key.ours")
        qemu=$(median 1 "$r/$key.qemu")
        [[ -f $r/$key.floor ]] && floor=$(median 1 "$r/$key.floor")
        awk -v t="($key) ${titles[$key]}" -v o="$ours" -v q="$qemu" -v f="$floor" \
            -v ro="$(median 2 "$r/$key.ours")" -v rq="$(median 2 "$r/$key.qemu")" \
            -v so="$(median 3 "$r/$key.ours")" -v sq="$(median 3 "$r/$key.qemu")" \
            'BEGIN { printf "| %s | %.3f | %.3f | %.2f | %.1f | %.1f | %d | %d | %s |\n",
                     t, o, q, (o > 0 ? q / o : 0), ro / 1024, rq / 1024, so, sq, f }'
    done
}

main() {
    command -v qemu-img >/dev/null || { log "qemu-img is missing: run scripts/setup.sh deps"; exit 2; }
    [[ -x /usr/bin/time ]] || { log "/usr/bin/time is missing: run scripts/setup.sh deps"; exit 2; }
    mkdir -p "$bench_dir"
    rm -rf "$bench_dir/results"
    mkdir -p "$bench_dir/results"
    build
    make_source
    make_inputs
    make_chain_inputs
    declare -gA titles
    local s=$bench_dir/source.raw
    run_case a "stream-optimized VMDK -> raw" "$bench_dir/in-stream.vmdk" -O raw -- -O raw
    run_case b "raw -> stream-optimized VMDK" "$s" -f raw -O vmdk -- -f raw -O vmdk -o subformat=streamOptimized
    run_case c "dynamic VHD -> raw" "$bench_dir/in-dynamic.vhd" -O raw -- -f vpc -O raw -- "$s"
    run_case d "raw -> dynamic VHDX" "$s" -f raw -O vhdx -- -f raw -O vhdx -o subformat=dynamic -- "$s"
    run_case e "empty 127 GiB dynamic VHD -> raw" "$bench_dir/in-empty-127g.vhd" -O raw -- -f vpc -O raw
    ours_tool=imgmerge ours_out_flag=--output \
        run_case f "merge: 2 GiB sparse VMDK + delta rewriting 10% -> raw" "$bench_dir/in-chain-delta.vmdk" \
        -O raw -- -f vmdk -O raw
    log "$(nproc) cores, $rounds rounds, medians; inputs in $bench_dir"
    print_table
    if [[ ${KEEP:-0} != 1 ]]; then
        rm -rf "$bench_dir"
    fi
}

main "$@"
