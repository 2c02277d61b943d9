// Internal: how the fixups turn the device names a guest's configuration uses (/dev/sda1, /dev/vdb,
// /dev/nvme0n1p2, /dev/disk/by-id/…) into names that survive the move to another hypervisor
// (UUID=…), using the filesystems inspection found.
#pragma once

#include <string>
#include <string_view>

#include <diskshift/guest.hpp>

namespace diskshift::guest::fixups {

/// What a block device name in a guest's configuration becomes.
struct DeviceLookup {
    enum class Kind {
        not_a_device,  ///< proc, tmpfs, nas:/export, //server/share, none: not a local block device
        stable,        ///< already survives the move: LVM, /dev/mapper, matching UUID=/LABEL=, by-uuid
        resolved,      ///< a name that changes with the hypervisor, and the filesystem it names: `spec`
        unresolved,    ///< names no filesystem of the guest (a missing disk, an unknown UUID)
    };
    Kind kind = Kind::not_a_device;
    std::string spec;  ///< for `resolved`: "UUID=<uuid>"
};

/// Looks `name` up among `os.filesystems` (and `os.disks` for /dev/disk/by-id and by-path names,
/// which are resolvable only when the guest has a single disk).
DeviceLookup lookup_device(std::string_view name, const OsInfo& os);

}  // namespace diskshift::guest::fixups
