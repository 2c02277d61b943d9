// Internal: what the GRUB and initrd fixups need to know about a guest's kernels — which are
// installed, which paravirtual drivers each has, which one should boot — and its programs.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <diskshift/guest.hpp>

namespace diskshift::guest::fixups {

/// The storage and network drivers the targets need, in the order they are added: KVM (virtio),
/// Xen and EC2 Xen instances (xen-*), EC2 Nitro (nvme, ena). Names as modprobe spells them.
inline constexpr std::array<std::string_view, 8> pv_drivers{
    "virtio_blk", "virtio_scsi", "virtio_net", "virtio_pci", "xen-blkfront", "xen-netfront", "nvme", "ena"};

/// Which of pv_drivers a kernel has, by kind.
struct KernelDrivers {
    std::vector<std::string> modules;  ///< loadable: a .ko[.xz|.zst|.gz] under /lib/modules/<version>
    std::vector<std::string> builtin;  ///< listed in /lib/modules/<version>/modules.builtin
    std::vector<std::string> missing;
    /// Whether the kernel can reach a disk on some target (virtio, Xen or NVMe storage).
    bool has_storage_driver() const;
};

/// Looks the drivers up in modules.dep and modules.builtin, or, without modules.dep, in the files
/// under /lib/modules/<version>.
KernelDrivers find_drivers(const GuestFs& fs, const std::string& version);

/// The installed kernels, newest first: those inspection found, else the folders of /lib/modules
/// (with the usual /boot file names).
std::vector<Kernel> installed_kernels(const GuestFs& fs, const OsInfo& os);

/// The kernel that should boot on the target: the newest non-debug kernel with a storage driver,
/// else the newest non-debug one, else the newest. `kernels` must not be empty.
const Kernel& default_kernel(const GuestFs& fs, const std::vector<Kernel>& kernels);

/// Whether the guest has `program` in /usr/sbin, /usr/bin, /sbin or /bin (where GuestFs::run()
/// looks for it).
bool has_program(const GuestFs& fs, std::string_view program);

}  // namespace diskshift::guest::fixups
