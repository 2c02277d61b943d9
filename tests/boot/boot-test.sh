#!/bin/bash
# The real-boot test: a Debian 12 guest as VMware exports it must not boot under qemu (TCG, virtio
# disk and NIC), and must boot to multi-user with a DHCP address once imgfix has fixed it.
#
#   boot-test.sh IMGFIX CACHE_DIR WORK_DIR
#
# The guest comes from make-guest.sh (cached in CACHE_DIR). The kernel, the initrd and the command
# line are read from the image's own /boot/grub/grub.cfg with debugfs, as GRUB would read them, and
# booted directly by qemu. Exit 0 pass, 1 fail, 77 skipped (not root, or a tool missing).
set -euo pipefail

imgfix=${1:?usage: boot-test.sh IMGFIX CACHE_DIR WORK_DIR}
cache=${2:?usage: boot-test.sh IMGFIX CACHE_DIR WORK_DIR}
work=${3:?usage: boot-test.sh IMGFIX CACHE_DIR WORK_DIR}
here=$(cd "$(dirname "$0")" && pwd)
boot_timeout=${DISKSHIFT_BOOT_TIMEOUT:-600}   # seconds for one boot under TCG on a loaded machine
partition_offset=1048576                      # make-guest.sh: the partition starts at 1 MiB

log() { printf '[boot-test %s] %s\n' "$(date -u +%T)" "$*"; }

if [[ $(id -u) != 0 ]]; then
    log "SKIP: debootstrap and chroot need root"; exit 77
fi
for tool in debootstrap qemu-system-x86_64 debugfs sfdisk mke2fs; do
    command -v "$tool" > /dev/null || { log "SKIP: $tool is not installed"; exit 77; }
done

start=$SECONDS
"$here/make-guest.sh" "$cache"
log "guest ready in $((SECONDS - start)) s"

mkdir -p "$work"
image=$work/guest.raw
cp --sparse=always "$cache/vmware.raw" "$image"

# A file of the guest's root filesystem, read with debugfs from the partition.
guest_file() {
    debugfs -R "dump -p $1 $2" "$image?offset=$partition_offset" > /dev/null 2>&1
    [[ -s $2 ]] || { log "FAIL: $1 is missing from the image"; exit 1; }
}

# The first menu entry of the guest's grub.cfg: kernel, initrd and arguments, as GRUB boots them.
read_menu() {
    guest_file /boot/grub/grub.cfg "$work/grub.cfg"
    local linux initrd
    linux=$(awk '$1 ~ /^linux(16|efi)?$/ {print; exit}' "$work/grub.cfg")
    initrd=$(awk '$1 ~ /^initrd(16|efi)?$/ {print $2; exit}' "$work/grub.cfg")
    kernel_path=$(awk '{print $2}' <<< "$linux")
    cmdline="BOOT_IMAGE=$kernel_path $(cut -d' ' -f3- <<< "$(tr -s ' \t' '  ' <<< "$linux" | sed 's/^ //')")"
    rm -f "$work/vmlinuz" "$work/initrd.img"
    guest_file "$kernel_path" "$work/vmlinuz"
    guest_file "$initrd" "$work/initrd.img"
}

# Boots the image; sets boot_log and boot_result (marker, no-root, panic, timeout).
boot() {
    local name=$1 console=
    boot_log=$work/$name.serial.log
    rm -f "$boot_log"
    # The console on the serial port so that the test sees it (the fixed guest has one already).
    [[ $cmdline == *console=ttyS0* ]] || console=" console=ttyS0,115200"
    local args="$cmdline$console"
    log "boot '$name': $args"
    nice -n 19 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -no-reboot -display none -monitor none \
        -serial "file:$boot_log" -kernel "$work/vmlinuz" -initrd "$work/initrd.img" -append "$args" \
        -drive "file=$image,format=raw,if=virtio" \
        -netdev user,id=net0 -device virtio-net-pci,netdev=net0 < /dev/null > "$work/$name.qemu.log" 2>&1 &
    local qemu=$! begin=$SECONDS
    boot_result=timeout
    while (( SECONDS - begin < boot_timeout )); do
        if grep -qa 'DISKSHIFT-BOOT-OK' "$boot_log" 2> /dev/null; then boot_result=marker; break; fi
        if grep -qaE 'Gave up waiting for root|ALERT! .* does not exist' "$boot_log" 2> /dev/null; then
            boot_result=no-root; break
        fi
        if grep -qa 'Kernel panic' "$boot_log" 2> /dev/null; then boot_result=panic; break; fi
        if ! kill -0 "$qemu" 2> /dev/null; then boot_result=exited; break; fi
        sleep 2
    done
    if [[ $boot_result == marker ]]; then
        # The guest powers itself off after the marker.
        for _ in $(seq 60); do kill -0 "$qemu" 2> /dev/null || break; sleep 1; done
    fi
    kill "$qemu" 2> /dev/null || true
    wait "$qemu" 2> /dev/null || true
    log "boot '$name': $boot_result after $((SECONDS - begin)) s"
}

# 1. As exported: the initrd has no virtio driver, so no root device.
read_menu
boot before
if [[ $boot_result == marker ]]; then
    log "FAIL: the unfixed guest booted:"; grep -a DISKSHIFT-BOOT-OK "$boot_log"; exit 1
fi
if [[ $boot_result != no-root ]]; then
    log "FAIL: the unfixed guest did not stop for want of its root device ($boot_result):"
    tail -40 "$boot_log"; exit 1
fi

# 2. imgfix, in place.
log "imgfix"
begin=$SECONDS
LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg nice -n 19 "$imgfix" -f raw "$image" \
    > "$work/imgfix.log" 2>&1 || { log "FAIL: imgfix failed:"; cat "$work/imgfix.log"; exit 1; }
log "imgfix done in $((SECONDS - begin)) s"
sed 's/^/    /' "$work/imgfix.log"

# 3. Fixed: multi-user with the address qemu's user network hands out by DHCP (10.0.2.15).
read_menu
boot after
if [[ $boot_result != marker ]]; then
    log "FAIL: the fixed guest did not reach the marker ($boot_result):"; tail -60 "$boot_log"; exit 1
fi
marker=$(grep -a -o 'DISKSHIFT-BOOT-OK.*' "$boot_log" | head -1 | tr -d '\r')
log "$marker"
if [[ ! $marker =~ ^DISKSHIFT-BOOT-OK\ 10\.0\.2\.[0-9]+/[0-9]+\ target=active ]]; then
    log "FAIL: the fixed guest booted without a DHCP address or multi-user"; exit 1
fi
log "PASS in $((SECONDS - start)) s"
