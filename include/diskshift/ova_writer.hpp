// diskshift — write_ova(): package disks as an OVA (a tar of an OVF descriptor, a manifest and one
// stream-optimized VMDK per disk) that VMware and the clouds' import services accept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <diskshift/image.hpp>
#include <diskshift/io.hpp>
#include <diskshift/writer.hpp>

namespace diskshift {

struct OvaWriteOptions {
    std::string name;                     ///< the virtual machine's name; "" means DST's stem
    std::string os_type = "otherGuest64";  ///< VMware's guest id (vmw:osType), e.g. "ubuntu64Guest"
    unsigned cpus = 1;
    std::uint64_t memory_mib = 1024;
    std::string firmware = "bios";        ///< "bios" or "efi" (a UEFI guest boots only with "efi")
    /// Options of each disk's VMDK writer (compression_level, adapter_type, hwversion, …);
    /// subformat is always streamOptimized.
    OptionMap disk_options;
    unsigned threads = 0;  ///< worker threads; 0 means one per core
    ProgressFn progress;   ///< called as bytes of the disks (all of them, in order) are done
    Durability durability = Durability::page_cache;
};

/// Moves the OVA's own `-o` keys from `options` into `out`: name (the VM's name), os (vmw:osType),
/// cpus (1-768), memory (MiB, 4 MiB to 24 TiB, with an optional M/G/T suffix), firmware (bios or
/// efi). The keys left over are
/// the disks' VMDK options. A bad value throws Error(Errc::invalid_argument).
void take_ova_options(OptionMap& options, OvaWriteOptions& out);

/// One member of a written OVA.
struct OvaMember {
    std::string name;         ///< its name in the tar
    std::uint64_t size = 0;   ///< bytes
    std::string sha256;       ///< lowercase hex, as in the manifest
};

struct OvaWriteStats {
    std::vector<OvaMember> members;  ///< in archive order: the OVF, the manifest, the disks
    std::uint64_t size = 0;          ///< bytes of the OVA
};

/// Writes `disks` into a new OVA at `destination`: the OVF descriptor first, the manifest
/// (`SHA256(member)= hex`, one line per other member) second, then one stream-optimized VMDK per
/// disk, named after its source file. Each disk is compressed on all cores and hashed as it is
/// written. The OVA appears under its name only when complete; a failure or a cancellation leaves
/// nothing behind.
OvaWriteStats write_ova(const std::vector<const Image*>& disks, const std::filesystem::path& destination,
                        const OvaWriteOptions& options);

}  // namespace diskshift
