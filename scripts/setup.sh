#!/usr/bin/env bash
# diskshift set-up: installs the missing Debian packages, builds, then runs a job.
#
#   scripts/setup.sh demo    install + build, convert the bundled sample, then migrate a generated
#                            guest: OVA in, raw disk out, imgfix's report printed
#   scripts/setup.sh test    install + build with AddressSanitizer and UndefinedBehaviorSanitizer
#                            (in build-sanitize/), run every test there, then run each fuzz target
#                            for FUZZ_SECONDS (default 10) seconds (what CI runs)
#   scripts/setup.sh deps    only install the missing packages
#   scripts/setup.sh build   install + build
#
# Environment: BUILD_DIR (default: build, or build-sanitize for `test`), CMAKE_BUILD_TYPE (default: RelWithDebInfo),
# JOBS (default: all cores), CMAKE_ARGS (extra configure arguments).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

# libguestfs cannot use KVM on these machines: run its appliance under TCG.
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

log() { printf '==> %s\n' "$*" >&2; }

wanted_packages() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$root/cmake/debian-packages.txt" | grep -v '^$'
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_missing_packages() {
    local missing=() pkg
    while read -r pkg; do
        is_installed "$pkg" || missing+=("$pkg")
    done < <(wanted_packages)
    if ((${#missing[@]} == 0)); then
        log "all $(wanted_packages | wc -l) Debian packages already installed"
        return
    fi
    log "installing ${#missing[@]} missing Debian packages: ${missing[*]}"
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || { echo "setup.sh: run as root to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {  # build [EXTRA_CMAKE_ARGUMENT...]
    log "configuring and building in $build_dir"
    # shellcheck disable=SC2086  # CMAKE_ARGS is a list of words on purpose
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
        -DDISKSHIFT_WERROR=ON "$@" ${CMAKE_ARGS:-}
    cmake --build "$build_dir" -j "$jobs"
}

run_demo() {
    local bin=$build_dir/bin out=$build_dir/demo
    local sample=$root/testdata/sample-disk.raw
    mkdir -p "$out"
    log "imginfo of the bundled sample"
    "$bin/imginfo" -f raw "$sample"
    log "imgconv -f raw -O raw (sparse copy)"
    "$bin/imgconv" -f raw -O raw -p "$sample" "$out/sample-disk.raw"
    log "imginfo --json of the result"
    "$bin/imginfo" -f raw --json "$out/sample-disk.raw"
    log "allocation map of the result"
    "$bin/imginfo" -f raw --map "$out/sample-disk.raw"
    cmp "$sample" "$out/sample-disk.raw"
    log "imgconv -O vmdk (stream-optimized, as clouds import it), then vmdk2raw back"
    "$bin/imgconv" -f raw -O vmdk "$sample" "$out/sample-disk.vmdk"
    "$bin/imginfo" "$out/sample-disk.vmdk"
    "$bin/vmdk2raw" "$out/sample-disk.vmdk" "$out/sample-disk-back.raw"
    cmp "$sample" "$out/sample-disk-back.raw"
    log "demo: $out/sample-disk.raw and the VMDK round trip are byte-identical to the sample"
    run_migration_demo "$bin" "$out"
}

# The whole migration on a generated guest: a Debian 12 disk as VMware leaves it (root /dev/sda1,
# static address on ens192), exported as an OVA, converted to a raw disk and fixed to boot on KVM.
run_migration_demo() {
    local bin=$1 out=$2
    log "migration: a VMware-style Debian 12 guest disk (scripts/demo-guest.sh), packaged as an OVA"
    bash "$root/scripts/demo-guest.sh" "$out/web01-vmware.raw"
    "$bin/imgconv" -f raw -O ova -o name=web01,os=debian12_64Guest "$out/web01-vmware.raw" "$out/web01.ova"
    "$bin/imginfo" "$out/web01.ova"
    log "migration: imgfix --output converts the OVA's disk to raw and fixes the copy (libguestfs, about a minute)"
    rm -f "$out/web01-kvm.raw"
    "$bin/imgfix" --output "$out/web01-kvm.raw" "$out/web01.ova"
    log "demo done: $out/web01-kvm.raw is the migrated disk; the OVA and its source are unchanged"
}

# The tests run on a sanitized build, so that every test also checks memory safety and undefined
# behaviour; it lives in its own folder, next to the plain build the demo uses. -O1 -g1 (line
# tables, enough for the sanitizers' stack traces) compiles in 60% of the time -O2 -g takes.
build_for_tests() {
    build_dir=${BUILD_DIR:-$root/build-sanitize}
    build -DDISKSHIFT_SANITIZE=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
}

run_tests() {
    log "running all tests"
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 1500
}

# Every libFuzzer target for a short, fixed time (scripts/fuzz.sh: a clang build in build-fuzz/).
run_fuzz_smoke() {
    log "fuzzing every parser for ${FUZZ_SECONDS:-10} s each"
    bash "$root/scripts/fuzz.sh" "${FUZZ_SECONDS:-10}"
}

case ${1:-} in
    deps) install_missing_packages ;;
    build) install_missing_packages; build ;;
    demo) install_missing_packages; build; run_demo ;;
    test) install_missing_packages; build_for_tests; run_tests; run_fuzz_smoke ;;
    *) echo "usage: scripts/setup.sh demo|test|deps|build" >&2; exit 2 ;;
esac
