#!/bin/bash
# Builds a small real Debian 12 guest in the state a VMware export leaves it, for the boot test.
#
#   make-guest.sh CACHE_DIR
#
# CACHE_DIR/rootfs       the debootstrap tree (slow: made once, reused while the recipe is the same)
# CACHE_DIR/vmware.raw   a raw disk: one MBR partition, ext4 made with mke2fs -d (no loop, no mount)
# CACHE_DIR/vmlinuz      the guest's kernel, for qemu's direct kernel boot
# CACHE_DIR/initrd.img   the guest's initrd, built with only the VMware storage drivers
# CACHE_DIR/cmdline      the kernel command line GRUB would give the guest
#
# The VMware state: fstab mounts / from /dev/sda1, the network is a static address on ens192 and
# the initramfs holds only the VMware SCSI drivers (MODULES=list), so under virtio the initrd finds
# no disk. A marker unit prints "DISKSHIFT-BOOT-OK <address>" to the serial console once the guest
# reaches multi-user with an IPv4 address, then powers off.
set -euo pipefail

cache=${1:?usage: make-guest.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# One builder at a time per cache (two build trees may run the test at once).
exec 9> "$cache/.lock"
flock 9

suite=bookworm
mirror=${DISKSHIFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=linux-image-amd64,initramfs-tools,udev,kmod,ifupdown,isc-dhcp-client,iproute2,systemd-sysv
recipe="debootstrap --variant=minbase --include=$packages $suite $mirror"

rootfs=$cache/rootfs
log() { printf '[make-guest %s] %s\n' "$(date -u +%T)" "$*"; }

# 1. The Debian tree: rebuilt when the recipe changes.
if [[ ! -f $cache/rootfs.recipe || $(cat "$cache/rootfs.recipe") != "$recipe" ]]; then
    log "debootstrap into $rootfs (several minutes)"
    rm -rf "$rootfs" "$cache/rootfs.recipe"
    nice -n 19 debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
        > "$cache/debootstrap.log" 2>&1 || { tail -30 "$cache/debootstrap.log"; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    printf '%s' "$recipe" > "$cache/rootfs.recipe"
else
    log "reusing $rootfs"
fi

# 2. The VMware-exported state, the marker unit and the disk: remade when this script changes.
stamp=$(sha256sum "$0" | cut -d' ' -f1)
if [[ -f $cache/vmware.stamp && $(cat "$cache/vmware.stamp") == "$stamp" && -f $cache/vmware.raw ]]; then
    log "reusing $cache/vmware.raw"
    exit 0
fi
rm -f "$cache/vmware.stamp"

kver=$(basename "$(ls -d "$rootfs"/lib/modules/* | sort -V | tail -1)")
log "kernel $kver"

echo vmguest > "$rootfs/etc/hostname"
# Device names as the VMware guest saw them: the first SCSI disk.
cat > "$rootfs/etc/fstab" <<'FSTAB'
# <file system> <mount point> <type> <options> <dump> <pass>
/dev/sda1  /  ext4  errors=remount-ro  0  1
FSTAB
# vmxnet3 on PCI slot 192: ens192, a static address.
cat > "$rootfs/etc/network/interfaces" <<'NET'
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

auto ens192
iface ens192 inet static
    address 192.168.10.50/24
    gateway 192.168.10.1
NET
# What MODULES=dep gives on VMware: the root filesystem and the VMware SCSI controllers only.
sed -i 's/^MODULES=.*/MODULES=list/' "$rootfs/etc/initramfs-tools/initramfs.conf"
cat > "$rootfs/etc/initramfs-tools/modules" <<'MODS'
# The VMware guest's storage stack: LSI Logic (mptspi, mptsas), PVSCSI, SCSI disks, ext4.
mptspi
mptsas
vmw_pvscsi
sd_mod
ext4
MODS
# GRUB as grub-mkconfig writes it with GRUB_DISABLE_LINUX_UUID=true (the programs are not
# installed: direct kernel boot reads the command line from this menu).
mkdir -p "$rootfs/boot/grub"
cat > "$rootfs/etc/default/grub" <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX=""
GRUB_DISABLE_LINUX_UUID=true
GRUB
cat > "$rootfs/boot/grub/grub.cfg" <<CFG
set default="0"
set timeout=5
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os {
	insmod part_msdos
	insmod ext2
	set root='hd0,msdos1'
	linux	/boot/vmlinuz-$kver root=/dev/sda1 ro  quiet
	initrd	/boot/initrd.img-$kver
}
CFG
# The marker: once the boot is finished (multi-user), the IPv4 address on the serial console.
cat > "$rootfs/usr/local/sbin/diskshift-boot-marker" <<'MARK'
#!/bin/sh
state=$(systemctl is-system-running --wait)
for _ in $(seq 60); do
    address=$(ip -4 -o addr show scope global | awk '{print $4; exit}')
    [ -n "$address" ] && break
    sleep 1
done
echo "DISKSHIFT-BOOT-OK ${address:-none} target=$(systemctl is-active multi-user.target) state=$state" > /dev/ttyS0
systemctl poweroff
MARK
chmod 755 "$rootfs/usr/local/sbin/diskshift-boot-marker"
cat > "$rootfs/etc/systemd/system/diskshift-boot-marker.service" <<'UNIT'
[Unit]
Description=diskshift boot test marker
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/diskshift-boot-marker

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/diskshift-boot-marker.service \
    "$rootfs/etc/systemd/system/multi-user.target.wants/diskshift-boot-marker.service"

log "update-initramfs in the guest (VMware drivers only)"
nice -n 19 chroot "$rootfs" update-initramfs -u -k "$kver" > "$cache/initramfs.log" 2>&1 \
    || nice -n 19 chroot "$rootfs" update-initramfs -c -k "$kver" >> "$cache/initramfs.log" 2>&1 \
    || { cat "$cache/initramfs.log"; exit 1; }

# The disk: an MBR with one Linux partition from 1 MiB, ext4 filled from the tree (no loop device).
log "disk image"
used_kib=$(du -sk "$rootfs" | cut -f1)
fs_kib=$(( (used_kib * 3 / 2 + 262144) / 1024 * 1024 ))
rm -f "$cache/vmware.raw.tmp"
truncate -s $(( (fs_kib + 1024) * 1024 )) "$cache/vmware.raw.tmp"
echo 'start=2048, type=83, bootable' | sfdisk -q "$cache/vmware.raw.tmp"
nice -n 19 mke2fs -q -F -t ext4 -L vmroot -U 6b1c2a9e-3f4d-4e5a-9b8c-7d6e5f4a3b2c -E offset=1048576 \
    -d "$rootfs" "$cache/vmware.raw.tmp" "${fs_kib}k"
mv "$cache/vmware.raw.tmp" "$cache/vmware.raw"
cp "$rootfs/boot/vmlinuz-$kver" "$cache/vmlinuz"
cp "$rootfs/boot/initrd.img-$kver" "$cache/initrd.img"
printf '%s\n' "$stamp" > "$cache/vmware.stamp"
log "done: $(du -h --apparent-size "$cache/vmware.raw" | cut -f1) image, $(du -h "$cache/vmware.raw" | cut -f1) used"
