// Internal: the VHDX on-disk layout (MS-VHDX) and the parsed forms of its structures. All integers
// are little-endian; GUIDs are kept as their 16 stored bytes (Windows mixed-endian form).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <diskshift/image.hpp>
#include <diskshift/io.hpp>
#include <diskshift/writer.hpp>

#include "core/rounding.hpp"

namespace diskshift::formats::vhdx {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;

using Guid = std::array<std::byte, 16>;

/// The stored bytes of the GUID written "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx": the first three
/// fields little-endian, the last eight bytes as written (MS-VHDX 2.1, GUID).
consteval Guid guid_from_text(std::string_view text)
{
    auto nibble = [](char c) {
        return c <= '9' ? c - '0' : (c <= 'F' ? c - 'A' + 10 : c - 'a' + 10);
    };
    std::array<std::byte, 16> display{};
    std::size_t pos = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        if (text[pos] == '-') {
            ++pos;
        }
        display[i] = static_cast<std::byte>(nibble(text[pos]) * 16 + nibble(text[pos + 1]));
        pos += 2;
    }
    return {display[3], display[2], display[1], display[0], display[5], display[4], display[7], display[6],
            display[8], display[9], display[10], display[11], display[12], display[13], display[14], display[15]};
}

// File layout (MS-VHDX 2.1): the identifier, two headers and two region tables in the first MiB.
inline constexpr std::uint64_t header_offsets[2] = {64 * KiB, 128 * KiB};
inline constexpr std::uint64_t header_size = 4 * KiB;
inline constexpr std::uint64_t region_table_offsets[2] = {192 * KiB, 256 * KiB};
inline constexpr std::uint64_t region_table_size = 64 * KiB;
inline constexpr std::uint64_t header_area_size = 1 * MiB;
inline constexpr std::uint32_t max_region_entries = 2047;  // 2.2.3

// Region GUIDs (2.2.3.1).
inline constexpr Guid bat_region_guid = guid_from_text("2DC27766-F623-4200-9D64-115E9BFD4A08");
inline constexpr Guid metadata_region_guid = guid_from_text("8B7CA206-4790-4B9A-B8FE-575F050F886E");

// Metadata (2.6): the table, its items, their limits.
inline constexpr std::uint64_t metadata_table_size = 64 * KiB;
inline constexpr std::uint32_t max_metadata_entries = 2047;
inline constexpr std::uint32_t max_metadata_item_length = 1 * MiB;
inline constexpr Guid file_parameters_guid = guid_from_text("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
inline constexpr Guid virtual_disk_size_guid = guid_from_text("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
inline constexpr Guid page83_guid = guid_from_text("BECA12AB-B2E6-4523-93EF-C309E000C746");
inline constexpr Guid logical_sector_size_guid = guid_from_text("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
inline constexpr Guid physical_sector_size_guid = guid_from_text("CDA348C7-445D-4471-9CC9-E9885251C556");
inline constexpr Guid parent_locator_guid = guid_from_text("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
inline constexpr Guid vhdx_locator_type_guid = guid_from_text("B04AEFB7-D19E-4A81-B789-25B8E9445913");
inline constexpr std::uint32_t min_block_size = 1 * MiB;    // 2.6.2.1
inline constexpr std::uint32_t max_block_size = 256 * MiB;  // 2.6.2.1
inline constexpr std::uint64_t max_virtual_size = 64ULL * 1024 * 1024 * MiB;  // 64 TiB, 2.6.2.2
// Metadata table entry flags (2.6.1.2).
inline constexpr std::uint32_t metadata_is_virtual_disk = 2;
inline constexpr std::uint32_t metadata_is_required = 4;
// File Parameters flags (2.6.2.1).
inline constexpr std::uint32_t leave_blocks_allocated_flag = 1;
inline constexpr std::uint32_t has_parent_flag = 2;

/// A payload block size the format allows: a power of two from 1 MiB to 256 MiB (2.6.2.1).
constexpr bool is_valid_block_size(std::uint64_t size) noexcept
{
    return size >= min_block_size && size <= max_block_size && std::has_single_bit(size);
}

// BAT entry states (2.5.1.1 payload blocks, 2.5.1.2 sector bitmap blocks).
enum BlockState : std::uint8_t {
    block_not_present = 0,
    block_undefined = 1,
    block_zero = 2,
    block_unmapped = 3,
    block_unmapped_draft = 5,  // UNMAPPED in the v0.95 draft; older writers still use it
    block_fully_present = 6,
    block_partially_present = 7,
};
inline constexpr std::uint8_t sector_bitmap_present = 6;
inline constexpr std::uint64_t bat_offset_mask = ~(MiB - 1);  // bits 20-63: FileOffsetMB (2.5.1)

// The log (2.3): 4 KiB sectors in a circular buffer.
inline constexpr std::uint64_t log_sector_size = 4 * KiB;
/// Our cap on the log we read into memory: writers use 1 MiB; the spec sets no upper bound.
inline constexpr std::uint64_t max_log_length = 64 * MiB;

/// One of the two headers (2.2.2).
struct Header {
    unsigned index = 0;  ///< 1 or 2
    bool checksum_ok = false;
    std::uint64_t sequence = 0;
    Guid file_write_guid{};
    Guid data_write_guid{};
    Guid log_guid{};
    std::uint16_t log_version = 0;
    std::uint16_t version = 0;
    std::uint32_t log_length = 0;
    std::uint64_t log_offset = 0;
};

/// A byte range of the file.
struct Region {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;

    std::uint64_t end() const noexcept { return offset + length; }
    /// True when the two share a byte; an empty region shares none.
    bool overlaps(const Region& other) const noexcept
    {
        return length != 0 && other.length != 0 && offset < other.end() && other.offset < end();
    }
};

struct RegionTable {
    Region bat;
    Region metadata;
};

/// One key = value of the parent locator (2.6.2.6), decoded from UTF-16LE.
using LocatorEntry = std::pair<std::string, std::string>;

struct Metadata {
    std::uint32_t block_size = 0;
    bool leave_blocks_allocated = false;
    bool has_parent = false;
    std::uint64_t virtual_size = 0;
    std::uint32_t logical_sector_size = 0;
    std::uint32_t physical_sector_size = 0;
    std::optional<Guid> page83;
    std::vector<LocatorEntry> parent_locator;
};

/// Where the BAT puts payload and sector bitmap entries (2.5).
struct Geometry {
    std::uint64_t virtual_size = 0;
    std::uint64_t block_size = 0;
    std::uint64_t sector_size = 0;
    std::uint64_t chunk_ratio = 0;  ///< payload blocks per sector bitmap block
    std::uint64_t blocks = 0;
    bool differencing = false;

    explicit Geometry(const Metadata& m)
        : virtual_size(m.virtual_size), block_size(m.block_size), sector_size(m.logical_sector_size),
          chunk_ratio((std::uint64_t{1} << 23) * m.logical_sector_size / m.block_size),
          blocks(units_for(m.virtual_size, m.block_size)), differencing(m.has_parent)
    {
    }

    std::uint64_t payload_index(std::uint64_t block) const { return block + block / chunk_ratio; }
    std::uint64_t bitmap_index(std::uint64_t block) const
    {
        return (block / chunk_ratio) * (chunk_ratio + 1) + chunk_ratio;
    }
    /// BAT entries the file must hold (2.5: payload entries with a bitmap entry after every chunk;
    /// a differencing file also has the bitmap entry of its last, partial chunk).
    std::uint64_t bat_entries() const
    {
        if (differencing) {
            return units_for(blocks, chunk_ratio) * (chunk_ratio + 1);
        }
        return blocks == 0 ? 0 : blocks + (blocks - 1) / chunk_ratio;
    }
    /// Bytes of block `block` inside the disk (the last block may be cut short).
    std::uint64_t block_bytes(std::uint64_t block) const
    {
        return std::min(block_size, virtual_size - block * block_size);
    }
};

bool is_zero_guid(const Guid& guid) noexcept;

/// True when the CRC-32C stored at offset 4 of a header, region table or log entry matches
/// `bytes` with that field counted as zero (2.2.2, 2.2.3, 2.3.1.1).
bool checksum_field_holds(std::span<const std::byte> bytes);

/// The creator string of the file type identifier (2.2.1); the signature must have been checked.
std::string read_creator(const ByteSource& file);

/// The current header: the valid one (signature, CRC-32C, version 1) with the higher sequence
/// number. When neither checksum holds, the header whose other fields are consistent is used and
/// a warning is added to `info`. Throws Error(Errc::corrupt) when neither can be used.
Header read_current_header(const ByteSource& file, ImageInfo& info);

/// The region table (2.2.3), from the first copy whose checksum holds (or, with a warning, the first
/// one that parses). Unknown required regions are Errc::unsupported.
RegionTable read_region_table(const ByteSource& file, ImageInfo& info);

/// The metadata items (2.6) of the region.
Metadata read_metadata(const ByteSource& file, const Region& region);

/// The log of `header` replayed over `file` in memory (2.3.3): a source that reads as the file
/// would after the replay, or `file` itself when there is nothing to replay. Facts about the log
/// go to info.details["log"], the replay itself to a warning.
std::shared_ptr<const ByteSource> replay_log(std::shared_ptr<const ByteSource> file, const Header& header,
                                             ImageInfo& info);

/// A writer of a new fixed or dynamic VHDX into `sink`, configured by `request` (vhdx_writer.cpp).
std::unique_ptr<Writer> create_writer(ByteSink& sink, CreateRequest request);

}  // namespace diskshift::formats::vhdx
