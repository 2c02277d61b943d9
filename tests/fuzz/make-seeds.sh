#!/usr/bin/env bash
# Makes the fuzz targets' seed corpora in OUTDIR/<target>/: small images (virtual size 1-4 MiB,
# a few KiB of data) from qemu-img and, when IMGCONV is given, from our own writers, and copies of
# the text files in testdata/. Small seeds keep the fuzzer mutating metadata rather than data.
#   tests/fuzz/make-seeds.sh OUTDIR [IMGCONV [FUZZ_SEED]]
# FUZZ_SEED (built with the fuzz targets) makes what qemu-img cannot: ESXi sparse VMDKs, and the
# folded VHDX files fuzz_vhdx reads (tests/fuzz/vhdx_fold.hpp; without it, no VHDX seeds).
set -euo pipefail

out=${1:?usage: make-seeds.sh OUTDIR [IMGCONV]}
mkdir -p "$out"
out=$(cd "$out" && pwd)
imgconv=${2:-}
fuzz_seed=${3:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
# imgconv may carry the sanitizers (the fuzz build); leaks at exit are not what seeds are about.
export ASAN_OPTIONS=detect_leaks=0

targets=(vmdk vmdk_descriptor vhd vhdx ova tar ovf manifest)
for t in "${targets[@]}"; do
    rm -rf "${out:?}/$t"
    mkdir -p "$out/$t"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The source disk: 2 MiB, three short runs of data (one at the very end); small: 1 MiB, 4 KiB of
# data, for the formats that allocate whole blocks of 1 MiB.
qemu-img create -q -f raw "$work/disk.raw" 2M
qemu-io -f raw -c "write -q -P 0xab 0 4k" -c "write -q -P 0xcd 1M 8k" -c "write -q -P 0x5a 2044k 4k" "$work/disk.raw"
qemu-img create -q -f raw "$work/small.raw" 1M
qemu-io -f raw -c "write -q -P 0xab 8k 4k" "$work/small.raw"

# qemu-img: VMDK (hosted sparse, stream-optimized, descriptor + extents, flat), VHD, VHDX.
for sub in monolithicSparse streamOptimized; do
    qemu-img convert -q -f raw -O vmdk -o subformat=$sub "$work/disk.raw" "$out/vmdk/qemu-$sub.vmdk"
done
# A descriptor file with its one extent: the fuzz harness serves the part of the input after the
# descriptor's NUL padding (at the next 512-byte boundary) as the files the descriptor names.
descriptor_with_extent() {  # DESCRIPTOR EXTENT OUT
    local length padded
    tr -d '\000' < "$1" > "$work/descriptor.txt"  # qemu-img pads some descriptors itself
    length=$(stat -c %s "$work/descriptor.txt")
    padded=$(( (length + 512) / 512 * 512 ))
    { cat "$work/descriptor.txt"; head -c $((padded - length)) /dev/zero; cat "$2"; } > "$3"
}
qemu-img convert -q -f raw -O vmdk -o subformat=twoGbMaxExtentSparse "$work/disk.raw" "$work/sparse.vmdk"
descriptor_with_extent "$work/sparse.vmdk" "$work/sparse-s001.vmdk" "$out/vmdk/qemu-twoGbMaxExtentSparse.vmdk"
qemu-img create -q -f vmdk -o subformat=monolithicFlat "$work/flat.vmdk" 64K
qemu-io -f vmdk -c "write -q -P 0x77 0 4k" "$work/flat.vmdk"
descriptor_with_extent "$work/flat.vmdk" "$work/flat-flat.vmdk" "$out/vmdk/qemu-monolithicFlat.vmdk"
cp "$work/sparse.vmdk" "$out/vmdk_descriptor/qemu-twoGbMaxExtentSparse.txt"
cp "$work/flat.vmdk" "$out/vmdk_descriptor/qemu-monolithicFlat.txt"
# VHD and VHDX allocate whole blocks (1 MiB and more), so their seeds hold no data or one block.
qemu-img create -q -f vpc -o subformat=dynamic "$out/vhd/qemu-dynamic-empty.vhd" 4M
qemu-img create -q -f vpc -o subformat=fixed "$out/vhd/qemu-fixed.vhd" 64K
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M,log_size=1M "$work/empty.vhdx" 4M
if [[ -n $fuzz_seed ]]; then
    "$fuzz_seed" vhdx "$work/empty.vhdx" "$out/vhdx/qemu-dynamic-empty.vhdx-folded"
    "$fuzz_seed" vhdx --pending-log "$work/empty.vhdx" "$out/vhdx/qemu-pending-log.vhdx-folded"
    "$fuzz_seed" esx "$out/vmdk"
fi

# Our writers.
if [[ -n $imgconv ]]; then
    "$imgconv" -f raw -O vmdk "$work/disk.raw" "$out/vmdk/imgconv-stream.vmdk"
    "$imgconv" -f raw -O vmdk -o subformat=monolithicSparse "$work/disk.raw" "$out/vmdk/imgconv-sparse.vmdk"
    "$imgconv" -f raw -O vhd -o block_size=1M "$work/small.raw" "$out/vhd/imgconv-dynamic.vhd"
    "$imgconv" -f raw -O vhdx -o block_size=1M "$work/small.raw" "$work/imgconv.vhdx"
    if [[ -n $fuzz_seed ]]; then
        "$fuzz_seed" vhdx "$work/imgconv.vhdx" "$out/vhdx/imgconv-dynamic.vhdx-folded"
    fi
    "$imgconv" -f raw -O ova "$work/disk.raw" "$out/ova/imgconv.ova"
    "$imgconv" -f raw -O ova "$work/disk.raw" "$work/small.raw" "$out/ova/imgconv-2disks.ova"
    mkdir -p "$work/ova"
    tar -xf "$out/ova/imgconv.ova" -C "$work/ova"
    cp "$work"/ova/*.ovf "$out/ovf/"
    cp "$work"/ova/*.mf "$out/manifest/"
    cp "$out/ova/imgconv.ova" "$out/tar/"
    # The same package with its disk gzip-compressed (ovf:compression, as ovftool writes) and no
    # manifest.
    gzip -9 -n -c "$work/ova/disk.vmdk" > "$work/ova/disk.vmdk.gz"
    mkdir -p "$work/gz"
    mv "$work/ova/disk.vmdk.gz" "$work/gz/disk.vmdk"
    sed "s|<File ovf:href=\"disk.vmdk\" ovf:id=\"file1\" ovf:size=\"[0-9]*\"/>|<File ovf:href=\"disk.vmdk\" ovf:id=\"file1\" ovf:compression=\"gzip\"/>|" \
        "$work"/ova/*.ovf > "$work/gz/vm.ovf"
    tar -C "$work/gz" --format=ustar -cf "$out/ova/imgconv-gzip.ova" vm.ovf disk.vmdk
fi

# An OVA made by tar around a qemu-made stream-optimized disk and a descriptor from testdata/.
mkdir -p "$work/pkg"
cp "$root/testdata/ova/vsphere-1disk.ovf" "$work/pkg/vm.ovf"
href=$(sed -n 's/.*ovf:href="\([^"]*\)".*/\1/p' "$work/pkg/vm.ovf" | head -n 1)
cp "$out/vmdk/qemu-streamOptimized.vmdk" "$work/pkg/$href"
(cd "$work/pkg" && sha256sum --tag vm.ovf "$href" | sed 's/ = /= /; s/ (/(/' > vm.mf)
tar -C "$work/pkg" --format=ustar -cf "$out/ova/tar-vsphere.ova" vm.ovf vm.mf "$href"
cp "$work/pkg/vm.mf" "$out/manifest/openssl-style.mf"
(cd "$work/pkg" && sha256sum --tag vm.ovf > "$out/manifest/virtualbox-style.mf")

# Tar archives: ustar, GNU (a long name), pax (a long name and a pax record).
mkdir -p "$work/tar/sub"
echo small > "$work/tar/a.txt"
echo long > "$work/tar/sub/$(printf 'n%.0s' {1..120}).txt"
for format in ustar gnu pax; do
    tar -C "$work/tar" --format=$format -cf "$out/tar/$format.tar" . 2>/dev/null || true
done

cp "$root"/testdata/ova/*.ovf "$out/ovf/"
cat > "$out/vmdk_descriptor/hand.txt" <<'TEXT'
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"
RW 4096 FLAT "disk-flat.vmdk" 0
RDONLY 2048 ZERO
NOACCESS 16 VMFS "x.vmdk" 8
ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "2"
TEXT
cat > "$out/manifest/cert.cert" <<'TEXT'
SHA256(vm.mf)= 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUd
-----END CERTIFICATE-----
TEXT

# The regression inputs of each target (testdata/fuzz/<target>/) are seeds too.
for t in "${targets[@]}"; do
    if [[ -d $root/testdata/fuzz/$t ]]; then
        cp "$root/testdata/fuzz/$t"/* "$out/$t/"
    fi
done
for t in "${targets[@]}"; do
    printf '%-16s %3d seeds, %7d bytes\n' "$t" "$(find "$out/$t" -type f | wc -l)" "$(cat "$out/$t"/* | wc -c)"
done
