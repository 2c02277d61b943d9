// Internal: the on-disk layout of hosted sparse extents ("KDMV"), shared by the reader and the
// writers (VMware "Virtual Disk Format 5.0", "Hosted Sparse Extent Header" and "Stream-Optimized
// Compressed Sparse Extents"). All integers are little-endian.
#pragma once

#include <cstdint>

#include "formats/vmdk/extent_data.hpp"

namespace diskshift::formats::vmdk {

// Technote, "Hosted Sparse Extent Header": the magic is 'VMDK' stored little-endian ("KDMV").
inline constexpr std::uint32_t sparse_magic = 0x564d444b;
/// The header's gdOffset in a stream file whose grain directory follows the grains (the footer
/// then gives the real place).
inline constexpr std::uint64_t gd_at_end = 0xffffffffffffffffULL;

/// Byte offsets of the header's fields (the structure is packed: several fields are unaligned).
namespace header_field {
inline constexpr std::size_t magic = 0;
inline constexpr std::size_t version = 4;
inline constexpr std::size_t flags = 8;
inline constexpr std::size_t capacity = 12;
inline constexpr std::size_t grain_sectors = 20;
inline constexpr std::size_t descriptor_offset = 28;
inline constexpr std::size_t descriptor_sectors = 36;
inline constexpr std::size_t gtes_per_gt = 44;
inline constexpr std::size_t rgd_offset = 48;
inline constexpr std::size_t gd_offset = 56;
inline constexpr std::size_t overhead = 64;
inline constexpr std::size_t unclean_shutdown = 72;
inline constexpr std::size_t newline_test = 73;  ///< four characters: '\n', ' ', '\r', '\n'
inline constexpr std::size_t compress_algorithm = 77;
}  // namespace header_field

inline constexpr std::uint32_t flag_newline_test = 1U << 0;
inline constexpr std::uint32_t flag_redundant = 1U << 1;
inline constexpr std::uint32_t flag_zeroed_grains = 1U << 2;
inline constexpr std::uint32_t flag_compressed = 1U << 16;
inline constexpr std::uint32_t flag_markers = 1U << 17;
/// The high 16 flag bits are incompatible features: a reader must refuse any it does not know.
inline constexpr std::uint32_t incompatible_flags = 0xffff0000U;
inline constexpr std::uint16_t compress_deflate = 1;

// Stream-optimized markers (technote, "Stream-Optimized Compressed Sparse Extents"): a grain marker
// is {u64 lba, u32 compressed size, data} padded to a sector; a metadata marker is one sector
// {u64 sectors that follow, u32 0, u32 type}; an end-of-stream marker is an all-zero sector.
inline constexpr std::uint64_t grain_marker_bytes = 12;
inline constexpr std::uint32_t marker_eos = 0;
inline constexpr std::uint32_t marker_grain_table = 1;
inline constexpr std::uint32_t marker_grain_directory = 2;
inline constexpr std::uint32_t marker_footer = 3;
/// The last three sectors of a VMware stream file: footer marker, footer, end-of-stream marker.
inline constexpr std::uint64_t stream_tail_bytes = 3 * sector_bytes;

/// A grain-table entry of 0 is unallocated; 1 is a zeroed grain when the header's flag says so.
inline constexpr std::uint32_t gte_unallocated = 0;
inline constexpr std::uint32_t gte_zeroed = 1;

}  // namespace diskshift::formats::vmdk
