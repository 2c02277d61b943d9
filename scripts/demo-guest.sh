#!/usr/bin/env bash
# Makes a small Debian 12 guest disk the way VMware leaves one, for the demo migration:
# root given as /dev/sda1, a static address on ens192, GRUB 2 and initramfs-tools. The guest's
# tools (update-initramfs, update-grub) are stand-ins that log their arguments; its shell is the
# host's dash. No root needed: the filesystem is made with mke2fs -d inside a partitioned file.
#
#   scripts/demo-guest.sh DISK.raw
set -euo pipefail

disk=${1:?usage: demo-guest.sh DISK.raw}
kernel=6.1.0-17-amd64
size_mib=320
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

put() {  # put PATH CONTENT: a guest file
    mkdir -p "$tree/$(dirname "$1")"
    printf '%b' "$2" > "$tree/$1"
}

put_host_file() {  # put_host_file HOST_PATH GUEST_PATH
    mkdir -p "$tree/$(dirname "$2")"
    cp "$1" "$tree/$2"
}

put_fake_tool() {  # a guest program that records how it was called
    put "$1" '#!/bin/sh\necho "${0##*/} $*" >> "$DISKSHIFT_GUEST_ROOT/var/log/diskshift-fake-tools.log"\n'
    chmod 755 "$tree/$1"
}

put_host_file "$(command -v dash)" /bin/sh
put_host_file /lib64/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
put_host_file /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libc.so.6
mkdir -p "$tree/var/log" "$tree/tmp"
put etc/hostname 'web01\n'
put etc/os-release 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
put etc/debian_version '12.4\n'
put etc/fstab '# /etc/fstab as the VMware guest had it\n/dev/sda1 / ext4 errors=remount-ro 0 1\n'
put etc/network/interfaces 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n\nauto ens192\niface ens192 inet static\n    address 192.168.10.5/24\n    gateway 192.168.10.1\n'
put etc/default/grub 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n'
put boot/grub/grub.cfg "menuentry 'Debian GNU/Linux' {\n  linux /boot/vmlinuz-$kernel root=/dev/sda1 ro quiet\n}\n"
put etc/initramfs-tools/modules '# List of modules to include in the initramfs\n'
put var/lib/dpkg/status "Package: linux-image-$kernel\nStatus: install ok installed\n"
put lib/systemd/systemd ''
put "boot/vmlinuz-$kernel" ''
put "boot/initrd.img-$kernel" 'initrd with the VMware drivers only\n'
for module in block/virtio_blk net/virtio_net scsi/virtio_scsi virtio/virtio_pci; do
    put "lib/modules/$kernel/kernel/drivers/$module.ko" ''
done
put_fake_tool usr/sbin/update-initramfs
put_fake_tool usr/sbin/update-grub

# One bootable Linux partition from 1 MiB to the end of the disk.
rm -f "$disk"
truncate -s "${size_mib}M" "$disk"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$disk"
mke2fs -q -F -t ext4 -E offset=$((1024 * 1024)) -d "$tree" "$disk" "$((size_mib - 1))M"
