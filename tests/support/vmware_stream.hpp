// A test generator of stream-optimized VMDK files in VMware's own layout (VMware "Virtual Disk
// Format 5.0", "Stream-Optimized Compressed Sparse Extents"): a header whose grain directory offset
// is GD_AT_END, grain markers in ascending order, a grain table (behind a GT marker) after each
// group of 512 grains that holds data and none for empty groups, the grain directory behind a GD
// marker, a footer marker, the footer, and an end-of-stream marker as the last sector.
#pragma once

#include <cstdint>
#include <filesystem>

namespace dstest {

struct VmwareStreamStats {
    std::uint64_t grains = 0;            ///< grains written (all-zero grains are left out)
    std::uint64_t grain_tables = 0;      ///< grain tables written
    std::uint64_t largest_grain = 0;     ///< the largest compressed grain, in bytes
    std::uint64_t first_grain_marker = 0;  ///< the file offset of the first grain marker
};

/// Writes the raw disk `raw` (its size must be a multiple of 512) as a VMware-layout stream file at
/// `destination`, with 64 KiB grains; a last partial grain is compressed at its partial length.
VmwareStreamStats write_vmware_stream(const std::filesystem::path& raw, const std::filesystem::path& destination);

}  // namespace dstest
