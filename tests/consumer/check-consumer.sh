#!/usr/bin/env bash
# check-consumer.sh SOURCE_DIR BUILD_DIR WORK_DIR
# Installs diskshift, then builds and runs tests/consumer/project/example.cpp against the install:
#   1. the build tree's static library, found with find_package(diskshift);
#   2. the same install, found with pkg-config;
#   3. a shared library (BUILD_SHARED_LIBS=ON), found with find_package(diskshift).
set -euo pipefail
src=$1 build=$2 work=$3
project=$src/tests/consumer/project
rm -rf "$work"
mkdir -p "$work"

step() { printf '\n== %s\n' "$*"; }

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
cmake --install "$build" --prefix "$work/static" > /dev/null
test -f "$work/static/include/diskshift/diskshift.hpp"
test -f "$work/static/include/diskshift/version.hpp"
ls "$work"/static/lib*/libdiskshift.a > /dev/null
cmake -S "$project" -B "$work/static-consumer" -DCMAKE_PREFIX_PATH="$work/static" > /dev/null
cmake --build "$work/static-consumer" > /dev/null
run_example "$work/static-consumer/example" static-find-package

step "static library: pkg-config"
pc_dir=$(dirname "$(ls "$work"/static/lib*/pkgconfig/diskshift.pc)")
# shellcheck disable=SC2046  # pkg-config prints a list of words
c++ -std=c++20 -o "$work/pkg-config-example" "$project/example.cpp" \
    $(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs diskshift)
run_example "$work/pkg-config-example" static-pkg-config

step "shared library: build, install, find_package"
cmake -S "$src" -B "$work/shared-build" -DBUILD_SHARED_LIBS=ON -DDISKSHIFT_BUILD_TOOLS=OFF \
    -DDISKSHIFT_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/shared-build" -j "$(nproc)" > /dev/null
cmake --install "$work/shared-build" --prefix "$work/shared" > /dev/null
cmake -S "$project" -B "$work/shared-consumer" -DCMAKE_PREFIX_PATH="$work/shared" > /dev/null
cmake --build "$work/shared-consumer" > /dev/null
ldd "$work/shared-consumer/example" | grep -q "$work/shared/.*libdiskshift.so"
run_example "$work/shared-consumer/example" shared-find-package

rm -rf "$work"
echo "consumer test: all three ways of linking work"
