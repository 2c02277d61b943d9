// Internal: the VMDK writers. Both make one hosted sparse extent with its descriptor embedded
// (VMware "Virtual Disk Format 5.0"): streamOptimized (compressed grains behind markers, tables at
// the end, VMware's layout) and monolithicSparse (version 1, tables up front, plain grains).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <diskshift/io.hpp>
#include <diskshift/writer.hpp>

#include "core/rounding.hpp"
#include "formats/vmdk/sparse_extent.hpp"

namespace diskshift::formats::vmdk {

/// What VMware writes: grains of 128 sectors (64 KiB), 512 entries per grain table, so one table
/// covers 32 MiB of the disk.
inline constexpr std::uint64_t new_grain_sectors = 128;
inline constexpr std::uint64_t new_grain_bytes = new_grain_sectors * sector_bytes;
inline constexpr std::uint32_t new_gtes_per_gt = 512;
inline constexpr std::uint64_t table_span_bytes = new_grain_bytes * new_gtes_per_gt;
inline constexpr std::uint64_t grain_table_bytes = std::uint64_t{new_gtes_per_gt} * 4;
/// Where the embedded descriptor starts, in sectors: right after the header.
inline constexpr std::uint64_t new_descriptor_offset = 1;

/// What both writers need to lay out a new file.
struct NewFile {
    std::uint64_t capacity_sectors = 0;
    std::string descriptor;         ///< the embedded descriptor's text
    int compression_level = 0;      ///< libdeflate level of stream grains
};

/// Grain directory entries (one per grain table) a disk of `capacity_sectors` needs.
constexpr std::uint64_t directory_entries(std::uint64_t capacity_sectors) noexcept
{
    return units_for(capacity_sectors, new_grain_sectors * new_gtes_per_gt);
}

/// The header fields both subformats share: capacity, grain and table sizes, the descriptor's
/// place, the new-line test flag.
SparseHeader new_header(const NewFile& file);

/// Writes the header and the embedded descriptor after it at offset 0, in one write.
void write_header_and_descriptor(ByteSink& sink, const SparseHeader& header, const std::string& descriptor);

/// `sector` as a grain directory or table entry, which is 32 bits wide: a file may not grow past
/// 2^32 sectors (2 TiB). Throws Error(Errc::unsupported) naming the sink otherwise.
std::uint32_t table_entry(const ByteSink& sink, std::uint64_t sector);

/// Stores grain directory or grain table entries at `out`, little-endian.
void store_table_entries(std::byte* out, std::span<const std::uint32_t> entries) noexcept;

std::unique_ptr<Writer> make_stream_writer(ByteSink& sink, NewFile file);
std::unique_ptr<Writer> make_sparse_writer(ByteSink& sink, NewFile file);

/// Reads the `-o` options (subformat, adapter_type, hwversion, toolsversion, compression_level)
/// and makes the writer they ask for.
std::unique_ptr<Writer> create_writer(ByteSink& sink, CreateRequest request);

}  // namespace diskshift::formats::vmdk
