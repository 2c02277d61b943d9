// Fake guest disks for the imgfix tests, built without root: sfdisk lays out the partitions,
// mke2fs -d and mkfs.btrfs --rootdir fill them from host folders, and guestfish reads them back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dstest {

/// A partition of a fake disk and the filesystem made in it from a host folder.
struct GuestPartition {
    std::uint64_t size_mib = 0;    ///< 0: the rest of the disk
    std::string fs_type = "ext4";  ///< ext2/3/4, btrfs, or "" to leave it empty (an LVM PV guestfish fills)
    std::string uuid;
    std::string label;
    std::filesystem::path tree;  ///< the files to put in it; empty for an empty filesystem
};

struct GuestDisk {
    std::uint64_t size_mib = 512;
    std::vector<GuestPartition> partitions;  ///< MBR partitions from 1 MiB on, the first bootable
    bool boot_code = true;                   ///< a GRUB boot.img signature in the first sector
};

/// Writes the sparse raw image `image` holding `disk`.
void build_guest_disk(const std::filesystem::path& image, const GuestDisk& disk);

/// Makes `root` able to run shell scripts in the libguestfs appliance: the host's dash as /bin/sh
/// with its loader and libc, /bin/ls (an x86-64 ELF libguestfs and imgfix take the architecture
/// from), /etc/hosts and an empty /var/log.
void put_guest_shell(const std::filesystem::path& root);

/// Makes `root` + `guest_path` a shell script that appends "<its name> <its arguments>" to
/// $DISKSHIFT_GUEST_ROOT/var/log/diskshift-fake-tools.log using only shell builtins, so it runs in
/// a guest that has nothing but /bin/sh.
void put_fake_guest_tool(const std::filesystem::path& root, const std::string& guest_path);

/// Copies the guest folders `guest_paths` of the raw disks `images` (inspected and mounted by
/// guestfish --ro -i, one appliance launch) into `destination`.
void guestfish_copy_out(const std::vector<std::filesystem::path>& images, const std::vector<std::string>& guest_paths,
                        const std::filesystem::path& destination);

/// Sets LIBGUESTFS_BACKEND=direct and LIBGUESTFS_BACKEND_SETTINGS=force_tcg unless they are set
/// (CTest sets them; a direct run of the test binary may not, and KVM hangs on this kind of host).
void use_libguestfs_tcg();

/// Runs a guestfish script against the raw disks `images` (read-write, one launch).
void guestfish_run(const std::vector<std::filesystem::path>& images, const std::string& script);

}  // namespace dstest
