#!/usr/bin/env bash
# check-consumer.sh SOURCE_DIR BUILD_DIR WORK_DIR
# Installs diskshift, then builds and runs tests/consumer/project/example.cpp against the install:
#   1. the build tree's static library, found with find_package(diskshift);
#   2. the same install, found with pkg-config;
#   3. a shared library (BUILD_SHARED_LIBS=ON), found with find_package(diskshift), built with the
#      tools as `setup.sh demo` builds them (warnings are errors), whose installed tools then run.
set -euo pipefail
src=$1 build=$2 work=$3
project=$src/tests/consumer/project
rm -rf "$work"
mkdir -p "$work"

step() { printf '\n== %s\n' "$*"; }

# quietly CMD...: runs CMD with its output in a log, and prints that log's tail if CMD fails,
# so that a failure in CI says which command failed and why.
quietly() {
    local log=$work/command.log
    if ! "$@" > "$log" 2>&1; then
        echo "consumer test: command failed: $*" >&2
        tail -n 40 "$log" >&2
        return 1
    fi
}

# A small sparse disk with data at both ends.
sample=$work/sample.raw
truncate -s 8M "$sample"
printf 'diskshift consumer test' | dd of="$sample" conv=notrunc status=none
printf 'last bytes' | dd of="$sample" bs=1 seek=$((8 * 1024 * 1024 - 10)) conv=notrunc status=none

run_example() {  # run_example EXE LABEL
    local out=$work/$2.raw
    "$1" "$sample" "$out" > "$work/$2.log"
    grep -q '"format": "raw"' "$work/$2.log"
    cmp "$sample" "$out"
    echo "$2: example converted the sample byte for byte"
}

step "static library: install, find_package"
quietly cmake --install "$build" --prefix "$work/static"
test -f "$work/static/include/diskshift/diskshift.hpp"
test -f "$work/static/include/diskshift/version.hpp"
ls "$work"/static/lib*/libdiskshift.a > /dev/null
quietly cmake -S "$project" -B "$work/static-consumer" -DCMAKE_PREFIX_PATH="$work/static"
quietly cmake --build "$work/static-consumer"
run_example "$work/static-consumer/example" static-find-package

step "static library: pkg-config"
pc_dir=$(dirname "$(ls "$work"/static/lib*/pkgconfig/diskshift.pc)")
# shellcheck disable=SC2046  # pkg-config prints a list of words
c++ -std=c++20 -o "$work/pkg-config-example" "$project/example.cpp" \
    $(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs diskshift)
run_example "$work/pkg-config-example" static-pkg-config

# This build is also the plain (unsanitized) build of the library and the tools, with warnings as
# errors, in the configuration `setup.sh demo` uses: CI's test build is a sanitized one.
step "shared library: build, install, find_package"
quietly cmake -S "$src" -B "$work/shared-build" -DBUILD_SHARED_LIBS=ON -DDISKSHIFT_BUILD_TOOLS=ON \
    -DDISKSHIFT_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDISKSHIFT_WERROR=ON
quietly cmake --build "$work/shared-build" -j "$(nproc)"
quietly cmake --install "$work/shared-build" --prefix "$work/shared"
quietly cmake -S "$project" -B "$work/shared-consumer" -DCMAKE_PREFIX_PATH="$work/shared"
quietly cmake --build "$work/shared-consumer"
# Not `ldd | grep -q`: under pipefail, grep leaving early can kill ldd with SIGPIPE.
linked=$(ldd "$work/shared-consumer/example")
if [[ $linked != *"$work/shared/"*libdiskshift.so* ]]; then
    printf 'consumer test: example is not linked to the installed libdiskshift.so:\n%s\n' "$linked" >&2
    exit 1
fi
run_example "$work/shared-consumer/example" shared-find-package
"$work/shared/bin/imgconv" -f raw -O vmdk "$sample" "$work/sample.vmdk"
"$work/shared/bin/vmdk2raw" "$work/sample.vmdk" "$work/sample-back.raw"
cmp "$sample" "$work/sample-back.raw"
echo "installed tools: the plain build's imgconv and vmdk2raw round-trip the sample through a VMDK"

rm -rf "$work"
echo "consumer test: all three ways of linking work"
