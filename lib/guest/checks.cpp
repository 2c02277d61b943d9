#include "guest/checks.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include <fmt/format.h>

#include "guest/inspect.hpp"

namespace diskshift::guest {
namespace {

Check pass(std::string name, std::string reason) { return {std::move(name), CheckStatus::pass, std::move(reason)}; }
Check warn(std::string name, std::string reason) { return {std::move(name), CheckStatus::warn, std::move(reason)}; }
Check failed(std::string name, std::string reason) { return {std::move(name), CheckStatus::fail, std::move(reason)}; }

/// Distributions and major versions AWS VM Import lists for Linux (limitations-image.md, "Linux/
/// Unix"), to the major version.
struct SupportedRange {
    std::string_view distribution;
    int first_major;
    int last_major;
};
constexpr std::array<SupportedRange, 11> supported_distributions = {{
    {"rhel", 5, 9},
    {"centos", 5, 9},
    {"rocky", 8, 9},
    {"almalinux", 8, 9},
    {"oraclelinux", 5, 9},
    {"fedora", 19, 40},
    {"debian", 6, 12},
    {"ubuntu", 12, 24},
    {"sles", 11, 15},
    {"opensuse", 15, 15},
    {"amazonlinux", 2, 2023},
}};

/// Root filesystems AWS VM Import reads (prepare-vm-image.md).
constexpr std::array<std::string_view, 6> supported_root_types = {"ext2", "ext3", "ext4", "btrfs", "jfs", "xfs"};

Check check_architecture(const OsInfo& os)
{
    const std::string name = "64-bit";
    if (os.architecture == "x86_64" || os.architecture == "aarch64") {
        return pass(name, os.architecture);
    }
    if (os.architecture.empty()) {
        return warn(name, "the architecture could not be told: no system binary (/bin/ls, /bin/sh) and no kernel");
    }
    return failed(name, os.architecture + ": only 64-bit guests can be imported");
}

Check check_distribution(const OsInfo& os)
{
    const std::string name = "distribution";
    if (os.type != "linux") {
        return failed(name, os.type.empty() ? "no operating system found" : os.type + " guests are not handled");
    }
    const std::string version = fmt::format("{} {}.{}", os.distribution, os.major_version, os.minor_version);
    const auto range = std::ranges::find(supported_distributions, os.distribution, &SupportedRange::distribution);
    if (range == supported_distributions.end()) {
        return failed(name, (os.distribution.empty() ? std::string("unknown") : os.distribution) +
                                ": not a distribution AWS VM Import supports");
    }
    if (os.major_version < range->first_major || os.major_version > range->last_major) {
        return failed(name, fmt::format("{}: supported versions are {} to {}", version, range->first_major,
                                        range->last_major));
    }
    return pass(name, version);
}

const Filesystem* mounted_at(const OsInfo& os, std::string_view mountpoint)
{
    const auto it = std::ranges::find(os.filesystems, mountpoint, &Filesystem::mountpoint);
    return it != os.filesystems.end() ? &*it : nullptr;
}

Check check_root_filesystem(const OsInfo& os)
{
    const std::string name = "root filesystem";
    const Filesystem* root = mounted_at(os, "/");
    if (root == nullptr) {
        return failed(name, "the root filesystem was not found");
    }
    const std::string what = root->device + " is " + root->type;
    if (std::ranges::find(supported_root_types, root->type) == supported_root_types.end()) {
        return failed(name, what + ": the root must be ext2, ext3, ext4, btrfs, jfs or xfs");
    }
    return pass(name, what);
}

Check check_bootloader(const OsInfo& os)
{
    if (os.bootloader == "grub2") {
        return pass("GRUB", "GRUB 2");
    }
    if (os.bootloader == "grub-legacy") {
        return pass("GRUB", "GRUB legacy");
    }
    return failed("GRUB", "no GRUB configuration (grub.cfg, grub.conf or menu.lst) found");
}

/// The disk the firmware boots: the one holding the EFI system partition for UEFI; for BIOS, the
/// first with boot code in its first sector, else the one holding /boot (virt-v2v's
/// get_target_boot_device, reference guest-fixups.md §2.1).
std::string boot_disk(const OsInfo& os)
{
    if (os.firmware == "uefi") {
        if (const Filesystem* esp = mounted_at(os, "/boot/efi")) {
            return disk_of(esp->device);
        }
    }
    const auto with_code = std::ranges::find_if(os.disks, [](const Disk& d) { return d.has_boot_code; });
    if (with_code != os.disks.end()) {
        return with_code->device;
    }
    if (const Filesystem* boot = mounted_at(os, "/boot")) {
        return disk_of(boot->device);
    }
    return os.disks.empty() ? std::string() : os.disks.front().device;
}

Check check_root_disk(const OsInfo& os)
{
    const std::string name = "root on the boot disk";
    if (os.disks.size() <= 1) {
        return pass(name, "a single disk");
    }
    const std::string root_disk = disk_of(os.root_device);
    const std::string boot = boot_disk(os);
    if (root_disk.empty()) {
        return warn(name, os.root_device + " (LVM or RAID): cannot tell which disk holds it; it must be " + boot);
    }
    if (root_disk != boot) {
        return failed(name, "the root " + os.root_device + " is on " + root_disk + " but the boot loader is on " +
                                boot + ": the instance may not boot");
    }
    return pass(name, os.root_device + " is on " + boot);
}

std::string mib(std::uint64_t bytes) { return fmt::format("{} MiB", bytes >> 20); }

Check check_free_space(const GuestFs& fs)
{
    const std::uint64_t free = fs.free_bytes("/");
    const std::string what = mib(free) + " free on /";
    if (free < min_root_free_bytes) {
        return failed("free space", what + ", less than the " + mib(min_root_free_bytes) + " needed");
    }
    return pass("free space", what);
}

bool iequals(std::string_view a, std::string_view b)
{
    return std::ranges::equal(a, b, [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) ==
                                                                    std::tolower(static_cast<unsigned char>(y)); });
}

/// `name` in `folder`, whatever its case (FAT ignores it; a local folder does not).
std::string find_ignoring_case(const GuestFs& fs, const std::string& folder, std::string_view name)
{
    for (const auto& entry : fs.list(folder)) {
        if (iequals(entry, name)) {
            return folder + "/" + entry;
        }
    }
    return {};
}

/// UEFI guests need the removable-media fallback loader, which boots without an NVRAM entry (AWS
/// limitations-image.md: "Linux needs a fallback BOOTX64.EFI").
Check check_firmware(const GuestFs& fs, const OsInfo& os)
{
    if (os.firmware != "uefi") {
        return pass("firmware", "BIOS");
    }
    const std::string boot_folder = find_ignoring_case(fs, "/boot/efi/EFI", "BOOT");
    const std::string fallback = boot_folder.empty() ? "" : find_ignoring_case(fs, boot_folder, "BOOTX64.EFI");
    if (fallback.empty()) {
        return failed("firmware", "UEFI without the fallback loader \\EFI\\BOOT\\BOOTX64.EFI");
    }
    return pass("firmware", "UEFI with " + fallback);
}

std::string joined(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

/// AWS imports a single interface using DHCP (limitations-image.md).
Check check_network(const GuestFs& fs, const OsInfo& os)
{
    const std::string name = "network interfaces";
    const auto interfaces = configured_interfaces(fs, os);
    if (interfaces.empty()) {
        return warn(name, "none configured: the instance has network only if the distribution uses DHCP by default");
    }
    const std::string what = fmt::format("{} ({}: {})", interfaces.size(), os.network_style, joined(interfaces));
    if (interfaces.size() > 1) {
        return warn(name, what + ": an import has one interface; the first becomes DHCP");
    }
    return pass(name, what);
}

Check check_volumes(const OsInfo& os)
{
    const std::string what = fmt::format("{} disk(s)", os.disks.size());
    if (os.disks.size() > max_volumes) {
        return failed("volumes", fmt::format("{}: at most {} can be imported", what, max_volumes));
    }
    return pass("volumes", what);
}

Check check_kernel(const OsInfo& os)
{
    if (os.kernels.empty()) {
        return failed("kernel", "no kernel found (/lib/modules/<version> with /boot/vmlinuz-<version>)");
    }
    if (os.initrd_tool.empty()) {
        return warn("kernel", os.kernels.front().version + ": no initrd tool (dracut, update-initramfs, mkinitrd)");
    }
    return pass("kernel", os.kernels.front().version + ", initrd by " + os.initrd_tool);
}

}  // namespace

std::string disk_of(const std::string& device)
{
    if (device.starts_with("/dev/nvme") || device.starts_with("/dev/mmcblk")) {
        const auto p = device.rfind('p');
        return p != std::string::npos && p > 5 ? device.substr(0, p) : std::string();
    }
    const auto last_letter = device.find_last_not_of("0123456789");
    const bool partition = last_letter != std::string::npos && last_letter + 1 < device.size();
    const bool disk_style = device.starts_with("/dev/sd") || device.starts_with("/dev/vd") ||
                            device.starts_with("/dev/hd") || device.starts_with("/dev/xvd");
    return partition && disk_style ? device.substr(0, last_letter + 1) : std::string();
}

std::vector<Check> run_checks(const GuestFs& fs, const OsInfo& os)
{
    std::vector<Check> checks = {check_architecture(os), check_distribution(os), check_root_filesystem(os),
                                 check_bootloader(os)};
    checks.push_back(check_root_disk(os));
    checks.push_back(check_free_space(fs));
    checks.push_back(check_firmware(fs, os));
    checks.push_back(check_network(fs, os));
    checks.push_back(check_volumes(os));
    checks.push_back(check_kernel(os));
    return checks;
}

bool any_failed(const std::vector<Check>& checks)
{
    return std::ranges::any_of(checks, [](const Check& c) { return c.status == CheckStatus::fail; });
}

}  // namespace diskshift::guest
