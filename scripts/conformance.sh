#!/usr/bin/env bash
# conformance.sh [IMAGES_DIR] — reads real images made by Windows, Hyper-V, ESXi and qemu (the
# gzip-compressed samples in ../shared/images, described in their README) and checks diskshift
# against qemu-img on each: the raw bytes a guest sees, the parent a delta names, the warning a
# damaged file earns. Not part of the test suite: the project's tests never need ../shared.
# Needs a build (build/bin, or DISKSHIFT_BIN) plus qemu-img and python3. Exit 0 when every check holds.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
images=${1:-$here/../shared/images}
bin=${DISKSHIFT_BIN:-$here/build/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { printf 'ok    %s\n' "$*"; passed=$((passed + 1)); }
bad() { printf 'FAIL  %s\n' "$*"; failed=$((failed + 1)); }

unpack() {  # unpack NAME -> path of a private copy
    gunzip -c "$images/$1.gz" > "$work/$1" && printf '%s' "$work/$1"
}

# same_as_qemu FILE [QEMU-IMG OPTIONS...]: our raw output equals qemu-img's, byte for byte.
same_as_qemu() {
    local file=$1 name
    shift
    name=$(basename "$file")
    if ! "$bin/imgconv" -O raw "$file" "$work/$name.ours.raw" 2> "$work/err"; then
        bad "$name: imgconv failed: $(cat "$work/err")"
        return
    fi
    qemu-img convert "$@" -O raw "$file" "$work/$name.qemu.raw"
    if cmp -s "$work/$name.ours.raw" "$work/$name.qemu.raw"; then
        ok "$name: $(stat -c %s "$work/$name.ours.raw") bytes, identical to qemu-img convert $*"
    else
        bad "$name: differs from qemu-img convert $* ($(cmp "$work/$name.ours.raw" "$work/$name.qemu.raw" 2>&1 | head -1))"
    fi
    rm -f "$work/$name.ours.raw" "$work/$name.qemu.raw"
}

json_field() {  # json_field FILE PYTHON-EXPRESSION-ON-j
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

# is_format FILE FORMAT: imginfo probes FILE as FORMAT.
is_format() {
    local name
    name=$(basename "$1")
    "$bin/imginfo" --json "$1" > "$work/info.json" 2> "$work/err" || { bad "$name: imginfo failed: $(cat "$work/err")"; return; }
    local format
    format=$(json_field "$work/info.json" "j['format']")
    [[ $format == "$2" ]] && ok "$name: probed as $2" || bad "$name: probed as $format, expected $2"
}

# delta_with_parent FILE: imginfo reports a parent (hint and id), imgconv refuses the delta alone
# with exit 1 and names the parent.
delta_with_parent() {
    local file=$1 name hint id
    name=$(basename "$file")
    "$bin/imginfo" --json "$file" > "$work/info.json" 2> "$work/err" || { bad "$name: imginfo failed: $(cat "$work/err")"; return; }
    hint=$(json_field "$work/info.json" "(j.get('parent') or {}).get('hint','')")
    id=$(json_field "$work/info.json" "(j.get('parent') or {}).get('id','')")
    if [[ -n $hint && -n $id ]]; then ok "$name: parent hint '$hint', id $id"; else bad "$name: no parent hint/id in imginfo --json"; fi
    "$bin/imgconv" -O raw "$file" "$work/delta.raw" > /dev/null 2> "$work/err"
    local status=$?
    if [[ $status == 1 ]] && grep -qF -- "$hint" "$work/err"; then
        ok "$name: refused alone (exit 1): $(head -c 160 "$work/err")"
    else
        bad "$name: imgconv alone gave exit $status: $(cat "$work/err")"
    fi
}

# warns FILE TEXT: imginfo reads the file and shows a warning containing TEXT.
warns() {
    local name
    name=$(basename "$1")
    if "$bin/imginfo" "$1" > "$work/info.txt" 2>&1 && grep -i "warning" "$work/info.txt" | grep -qi -- "$2"; then
        ok "$name: read, with a warning about '$2'"
    else
        bad "$name: expected a warning about '$2': $(cat "$work/info.txt")"
    fi
}

# fixed_vhd_checksums FILE OUT: a copy of a VHD with its footer checksums corrected (the footer at
# the end and its copy at offset 0, VHD spec "Hard Disk Footer Format": one's complement of the byte
# sum with the checksum field as zero), so that qemu-img, which refuses bad checksums, can be the oracle.
fixed_vhd_checksums() {
    python3 - "$1" "$2" <<'PY'
import sys
data = bytearray(open(sys.argv[1], 'rb').read())
def fix(at):
    footer = data[at:at + 512]
    if footer[:8] != b'conectix':
        return
    footer[64:68] = b'\0\0\0\0'
    data[at + 64:at + 68] = ((~sum(footer)) & 0xffffffff).to_bytes(4, 'big')
fix(len(data) - 512)
fix(0)
open(sys.argv[2], 'wb').write(data)
PY
}

# same_as_qemu_after_checksum_fix FILE: our reading of the damaged file equals qemu's reading of
# the repaired copy.
same_as_qemu_after_checksum_fix() {
    local file=$1 name
    name=$(basename "$file")
    fixed_vhd_checksums "$file" "$work/fixed-$name"
    if ! "$bin/imgconv" -O raw "$file" "$work/ours.raw" 2> "$work/err"; then
        bad "$name: imgconv failed: $(cat "$work/err")"
        return
    fi
    qemu-img convert -f vpc -O raw "$work/fixed-$name" "$work/qemu.raw"
    cmp -s "$work/ours.raw" "$work/qemu.raw" && ok "$name: identical to qemu-img on a checksum-repaired copy" \
        || bad "$name: differs from qemu-img on a checksum-repaired copy"
    rm -f "$work/ours.raw" "$work/qemu.raw" "$work/fixed-$name"
}

# sesparse_same_as_qemu FILE: qemu reads a bare seSparse extent only through a descriptor.
sesparse_same_as_qemu() {
    local file=$1 sectors
    sectors=$(python3 -c "import sys; print(int.from_bytes(open(sys.argv[1],'rb').read(24)[16:24],'little'))" "$file")
    cat > "$work/sesparse-descriptor.vmdk" <<DESC
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="seSparse"

# Extent description
RW $sectors SESPARSE "$(basename "$file")"
DESC
    "$bin/imgconv" -O raw "$file" "$work/ours.raw" 2> "$work/err" || { bad "$(basename "$file"): imgconv failed: $(cat "$work/err")"; return; }
    qemu-img convert -O raw "$work/sesparse-descriptor.vmdk" "$work/qemu.raw"
    cmp -s "$work/ours.raw" "$work/qemu.raw" && ok "$(basename "$file"): identical to qemu-img through a seSparse descriptor" \
        || bad "$(basename "$file"): differs from qemu-img through a seSparse descriptor"
    rm -f "$work/ours.raw" "$work/qemu.raw"
}

# checks_clean FILE: imgcheck finds no problem (exit 0).
checks_clean() {
    local name
    name=$(basename "$1")
    if "$bin/imgcheck" "$1" > "$work/check.txt" 2>&1; then
        ok "$name: imgcheck clean ($(tail -1 "$work/check.txt" | sed 's/^[^:]*: //'))"
    else
        bad "$name: imgcheck reports problems: $(head -c 400 "$work/check.txt")"
    fi
}

# check_finds FILE STRUCTURE OFFSET: imgcheck exits 1 and names STRUCTURE at OFFSET (hex).
check_finds() {
    local name
    name=$(basename "$1")
    "$bin/imgcheck" "$1" > "$work/check.txt" 2>&1
    local status=$?
    if [[ $status == 1 ]] && grep -qF -- "$2 at offset $3:" "$work/check.txt"; then
        ok "$name: imgcheck names the $2 at offset $3"
    else
        bad "$name: expected imgcheck exit 1 naming '$2 at offset $3', got exit $status: $(head -c 400 "$work/check.txt")"
    fi
}

for name in "$images"/*.gz; do
    name=$(basename "$name" .gz)
    unpack "$name" > /dev/null || { bad "$name: cannot unpack"; continue; }
done
(cd "$work" && sha256sum ./*.vhd ./*.vhdx ./*.avhdx ./*.vmdk > inputs.sha256 2> /dev/null)

is_format "$work/dissect-fixed.vhd" vhd
same_as_qemu "$work/dissect-fixed.vhd" -f vpc
same_as_qemu "$work/dissect-dynamic.vhd"
same_as_qemu "$work/dfvfs-ext2.vhd"
same_as_qemu "$work/dissect-fixed.vhdx"
same_as_qemu "$work/dissect-dynamic.vhdx"
same_as_qemu "$work/dfvfs-ext2.vmdk"
sesparse_same_as_qemu "$work/dissect-sesparse.vmdk"
delta_with_parent "$work/dissect-differencing.avhdx"
delta_with_parent "$work/dfvfs-fat-differential.vhd"
delta_with_parent "$work/dfvfs-image-differential.vhd"
warns "$work/dfvfs-image.vhd" checksum
warns "$work/dfvfs-image-differential.vhd" checksum
same_as_qemu_after_checksum_fix "$work/dfvfs-image.vhd"
for valid in dissect-fixed.vhd dissect-dynamic.vhd dfvfs-ext2.vhd dfvfs-fat-differential.vhd dissect-fixed.vhdx \
             dissect-dynamic.vhdx dissect-differencing.avhdx dfvfs-ext2.vmdk dissect-sesparse.vmdk; do
    checks_clean "$work/$valid"
done
# Made by an old qemu, then edited: both footers' checksums are wrong (0x200a40 = end footer + 64).
check_finds "$work/dfvfs-image.vhd" footer 0x200a40
check_finds "$work/dfvfs-image.vhd" "footer copy" 0x40
check_finds "$work/dfvfs-image-differential.vhd" "dynamic header" 0x224

if (cd "$work" && sha256sum --quiet -c inputs.sha256); then ok "no input was modified"; else bad "an input changed"; fi

printf '\n%d checks passed, %d failed\n' "$passed" "$failed"
[[ $failed == 0 ]]
