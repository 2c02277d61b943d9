// diskshift — guests: reaching a guest's files, what inspection finds, and what a fixup changes.
//
// A fixup is a function of a GuestFs and the inspected OS. It returns the changes it made, changes
// nothing when run a second time, and keeps the original of every file it changes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace diskshift::guest {

/// A filesystem (or swap area) of the guest, as the block layer sees it.
struct Filesystem {
    std::string device;      ///< as the guest names it once migrated: /dev/sda1, /dev/mapper/vg-root
    std::string type;        ///< ext4, xfs, btrfs, swap, vfat, …
    std::string uuid;        ///< empty when it has none
    std::string label;       ///< empty when it has none
    std::string mountpoint;  ///< where the guest mounts it, empty when unknown
};

/// A disk of the VM, in the order the images were given (the first is the boot disk).
struct Disk {
    std::string device;          ///< /dev/sda, /dev/sdb, …
    std::string partition_table; ///< "mbr", "gpt" or "" (none)
    bool has_boot_code = false;  ///< a boot loader in its first sector (BIOS boot)
};

/// An installed kernel: its modules folder name and the files under /boot.
struct Kernel {
    std::string version;  ///< the /lib/modules folder name, e.g. 5.14.0-70.el9.x86_64
    std::string image;    ///< /boot/vmlinuz-<version>
    std::string initrd;   ///< /boot/initramfs-<version>.img or initrd.img-<version>; "" if none
};

/// What inspection finds. Strings are lower case and empty when unknown.
struct OsInfo {
    std::string type;            ///< "linux", "windows"
    std::string distribution;    ///< "rhel", "centos", "debian", "ubuntu", "sles", …
    int major_version = 0;
    int minor_version = 0;
    std::string product_name;    ///< "CentOS Linux release 7.9.2009 (Core)"
    std::string architecture;    ///< "x86_64", "i386", "aarch64"
    std::string package_format;  ///< "rpm", "deb"
    std::string bootloader;      ///< "grub2", "grub-legacy", ""
    std::string firmware;        ///< "bios", "uefi"
    std::string init_system;     ///< "systemd", "sysvinit", "upstart"
    std::string initrd_tool;     ///< "dracut", "initramfs-tools", "mkinitrd", ""
    std::string network_style;   ///< "ifcfg", "interfaces", "netplan", "networkmanager", "networkd", ""
    std::string root_device;     ///< the device of "/"
    std::string boot_device;     ///< the device of "/boot", "" when it is on root
    std::vector<Filesystem> filesystems;
    std::vector<Disk> disks;
    std::vector<Kernel> kernels;  ///< newest first
};

enum class CheckStatus { pass, warn, fail };

/// One pre-flight check and its outcome.
struct Check {
    std::string name;  ///< "64-bit", "root filesystem", "free space", …
    CheckStatus status = CheckStatus::pass;
    std::string reason;
};

/// One change made (or, in a dry run, that would be made) to a guest.
struct Change {
    std::string file;    ///< the guest path changed, or the command run
    std::string action;  ///< "edited", "created", "removed", "ran"
    std::string backup;  ///< where the original is kept; "" when there was none
    std::string detail;  ///< a short description: "fstab: /dev/sda1 -> UUID=…"
};

/// What a command run inside the guest returned.
struct CommandResult {
    int exit_status = 0;
    std::string output;  ///< standard output and standard error, interleaved
};

/// The files of a guest with its filesystems mounted where the guest mounts them. Paths are
/// absolute guest paths ("/etc/fstab"). Errors are diskshift::Error with Errc::guest.
class GuestFs {
public:
    virtual ~GuestFs() = default;

    /// A name for messages: the image file(s) or the directory.
    virtual std::string name() const = 0;

    virtual bool exists(const std::string& path) const = 0;
    virtual bool is_directory(const std::string& path) const = 0;
    /// The whole file; a missing file is an error.
    virtual std::string read_file(const std::string& path) const = 0;
    /// Creates or replaces the file; a replaced file keeps its owner and mode.
    virtual void write_file(const std::string& path, std::string_view content) = 0;
    /// The names in a folder (not paths), sorted; a missing folder gives an empty list.
    virtual std::vector<std::string> list(const std::string& folder) const = 0;
    virtual void make_directories(const std::string& path) = 0;
    /// Copies a file, keeping owner, mode and timestamps.
    virtual void copy(const std::string& from, const std::string& to) = 0;
    virtual void rename(const std::string& from, const std::string& to) = 0;
    virtual void remove(const std::string& path) = 0;
    /// Runs a program of the guest with the guest's root as `/`.
    virtual CommandResult run(const std::vector<std::string>& argv) = 0;
    /// Free bytes on the filesystem holding `path`.
    virtual std::uint64_t free_bytes(const std::string& path) const = 0;

    /// Block-level facts that files cannot tell.
    virtual std::vector<Filesystem> filesystems() const = 0;
    virtual std::vector<Disk> disks() const = 0;

protected:
    GuestFs() = default;
};

/// Settings of the fixups.
struct FixOptions {
    unsigned grub_timeout_seconds = 1;
    std::string serial_console = "ttyS0,115200";  ///< added to the kernel command line
    bool all_kernels = false;  ///< rebuild the initrd of every kernel, not only the default one
};

}  // namespace diskshift::guest
