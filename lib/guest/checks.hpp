// Internal: the pre-flight checks imgfix runs before it changes a guest: what AWS VM Import
// requires of a Linux image (reference guest-fixups.md §1.2), each passed, warned or failed with a
// reason.
#pragma once

#include <cstdint>
#include <vector>

#include <diskshift/guest.hpp>

namespace diskshift::guest {

/// The least free space the root filesystem needs: 250 MiB (AWS vmie_prereqs.md, older edition).
inline constexpr std::uint64_t min_root_free_bytes = 250ULL << 20;
/// The most volumes (disks) an import takes: 22 (AWS vmie_prereqs.md, older edition).
inline constexpr std::size_t max_volumes = 22;

/// 64-bit, supported distribution and version, root filesystem type, GRUB, root on the boot disk,
/// free space, firmware, network interfaces, volumes, kernel.
std::vector<Check> run_checks(const GuestFs& fs, const OsInfo& os);

/// The disk a partition device belongs to: /dev/sda2 -> /dev/sda, /dev/nvme0n1p2 -> /dev/nvme0n1;
/// "" for a device that names no partition of a disk (LVM, /dev/mapper, md).
std::string disk_of(const std::string& device);

/// Whether any check failed.
bool any_failed(const std::vector<Check>& checks);

}  // namespace diskshift::guest
