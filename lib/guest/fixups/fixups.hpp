// Internal: the fixups imgfix runs, one file each under lib/guest/fixups/. Each takes the guest's
// files and the inspected OS, returns the changes it made, changes nothing when run a second time,
// and keeps the original of every file it changes (guest/file_edit.hpp).
#pragma once

#include <vector>

#include <diskshift/guest.hpp>

namespace diskshift::guest::fixups {

/// /etc/fstab and /etc/crypttab: device names to UUID=, nofail, network filesystems commented out.
std::vector<Change> fix_fstab(GuestFs& fs, const OsInfo& os, const FixOptions& options);

/// Network configuration: static addressing to DHCP on the first interface, whatever its new name;
/// MAC pinning and udev persistent-net rules removed.
std::vector<Change> fix_network(GuestFs& fs, const OsInfo& os, const FixOptions& options);

/// GRUB 2 or GRUB legacy: timeout, default kernel, root=/resume= to UUIDs, serial console,
/// net.ifnames=0, device.map; grub.cfg regenerated with the guest's own tool when present.
std::vector<Change> fix_grub(GuestFs& fs, const OsInfo& os, const FixOptions& options);

/// PV drivers (virtio, xen, nvme, ena) in the initrd of the default kernel (every kernel with
/// FixOptions::all_kernels), rebuilt with the guest's tool, the old initrd kept.
std::vector<Change> fix_initrd(GuestFs& fs, const OsInfo& os, const FixOptions& options);

}  // namespace diskshift::guest::fixups
