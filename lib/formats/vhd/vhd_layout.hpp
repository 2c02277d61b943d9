// Internal: the on-disk structures of VHD (Virtual Hard Disk Image Format Specification 1.0,
// October 2006) and the rule that picks the virtual size. Every integer is big-endian.
#pragma once

#include <array>
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "core/rounding.hpp"

namespace diskshift::formats::vhd {

inline constexpr std::size_t footer_size = 512;           ///< spec "Hard Disk Footer Format"
inline constexpr std::size_t dynamic_header_size = 1024;  ///< spec "Dynamic Disk Header Format"
inline constexpr std::uint64_t sector_size = 512;
inline constexpr std::size_t locator_count = 8;           ///< parent locator entries in the header
/// The largest disk Hyper-V and qemu accept for a dynamic VHD: 0xff000000 sectors = 2040 GiB.
inline constexpr std::uint64_t max_dynamic_disk_size = 0xff000000ULL * sector_size;
/// The largest block size diskshift reads or writes: 256 MiB, so that one block's sector bitmap
/// stays small (64 KiB).
inline constexpr std::uint64_t max_block_size = 256ULL << 20;
/// BAT entry of a block that has no storage (spec "Block Allocation Table").
inline constexpr std::uint32_t unallocated_block = 0xFFFFFFFF;

/// The footer's disk type field (spec "Disk Type"); 1, 5 and 6 are deprecated.
enum class DiskType : std::uint32_t { none = 0, fixed = 2, dynamic = 3, differencing = 4 };

/// "fixed", "dynamic", "differencing" or "type N".
std::string disk_type_name(std::uint32_t type);

struct Geometry {
    std::uint16_t cylinders = 0;
    std::uint8_t heads = 0;
    std::uint8_t sectors_per_track = 0;

    std::uint64_t bytes() const noexcept
    {
        return std::uint64_t{cylinders} * heads * sectors_per_track * sector_size;
    }
    /// 65535/16/255: what writers store when the disk is larger than CHS can say (Disk2vhd, qemu
    /// force_size), so the geometry says nothing about the size.
    bool is_maximum() const noexcept { return cylinders == 65535 && heads == 16 && sectors_per_track == 255; }
};

/// A four-byte code (creator application, host OS, locator platform) as it is stored.
using FourCC = std::array<char, 4>;

/// The code as printable text: NUL as "\0", other unprintable bytes as "\xNN" ("d2v\0").
std::string fourcc_text(const FourCC& code);

/// Bytes up to the first NUL as printable ASCII, other bytes as "\xNN" (old narrow locator paths,
/// file URLs).
std::string printable_text(std::span<const std::byte> bytes);

struct Footer {
    std::uint32_t features = 0;
    std::uint32_t format_version = 0;
    std::uint64_t data_offset = 0;  ///< the dynamic header's offset; all ones for a fixed disk
    std::uint32_t timestamp = 0;    ///< seconds since 2000-01-01 00:00:00 UTC
    FourCC creator_app{};
    std::uint32_t creator_version = 0;  ///< major << 16 | minor
    FourCC creator_host_os{};
    std::uint64_t original_size = 0;
    std::uint64_t current_size = 0;
    Geometry geometry;
    std::uint32_t disk_type = 0;
    std::uint32_t checksum = 0;           ///< as stored
    std::uint32_t computed_checksum = 0;  ///< over the 512 bytes read
    std::array<std::byte, 16> unique_id{};
    std::uint8_t saved_state = 0;
};

/// True when `bytes` starts with the footer cookie "conectix".
bool has_footer_cookie(std::span<const std::byte> bytes) noexcept;

/// The VHD checksum: the ones' complement of the sum of all bytes, the 4-byte checksum field at
/// `checksum_offset` counted as zero (spec "Checksum", same rule for footer and dynamic header).
std::uint32_t vhd_checksum(std::span<const std::byte> bytes, std::size_t checksum_offset) noexcept;

Footer parse_footer(std::span<const std::byte, footer_size> bytes) noexcept;
/// The 512 bytes of `footer`, its checksum computed (the checksum fields of `footer` are ignored).
std::array<std::byte, footer_size> footer_bytes(const Footer& footer) noexcept;

/// The footer diskshift writes for a disk of `size` bytes: current_size = original_size = `size`;
/// creator 'win ' 10.0 on 'Wi2k', which qemu (7.2 and 10), Hyper-V and libvhdi all size by
/// current_size; the spec's CHS geometry for `size`; the time now; a fresh random unique id.
/// `data_offset` is the dynamic header's offset (ignored for a fixed disk).
Footer new_footer(DiskType type, std::uint64_t size, std::uint64_t data_offset);

/// The geometry of the spec appendix "CHS Calculation": never more sectors than `bytes` holds,
/// at most 65535/16/255.
Geometry geometry_for_size(std::uint64_t bytes) noexcept;

/// Seconds since 2000-01-01 00:00:00 UTC now (spec "Time Stamp").
std::uint32_t vhd_timestamp_now();
/// `time` as a VHD time stamp (seconds since 2000-01-01 UTC, clamped to the field).
std::uint32_t vhd_timestamp_of(std::chrono::system_clock::time_point time);

/// Spec "Parent Locator Entries": where a differencing disk stores one form of its parent's path.
struct ParentLocator {
    FourCC platform_code{};
    std::uint32_t data_space = 0;   ///< Windows writes bytes here, the spec says sectors
    std::uint32_t data_length = 0;  ///< bytes
    std::uint64_t data_offset = 0;  ///< absolute file offset
};

struct DynamicHeader {
    bool has_cookie = false;  ///< "cxsparse"
    std::uint64_t table_offset = 0;
    std::uint32_t header_version = 0;
    std::uint32_t max_table_entries = 0;
    std::uint32_t block_size = 0;  ///< data bytes per block, the sector bitmap not included
    std::uint32_t checksum = 0;
    std::uint32_t computed_checksum = 0;
    std::array<std::byte, 16> parent_unique_id{};
    std::uint32_t parent_timestamp = 0;
    std::string parent_name;  ///< "Parent Unicode Name", stored UTF-16 big-endian, here UTF-8
    std::array<ParentLocator, locator_count> locators{};
};

DynamicHeader parse_dynamic_header(std::span<const std::byte, dynamic_header_size> bytes);

/// The dynamic header of a dynamic disk (no parent), checksum included.
std::array<std::byte, dynamic_header_size> dynamic_header_bytes(std::uint64_t table_offset,
                                                                 std::uint32_t max_table_entries,
                                                                 std::uint32_t block_size) noexcept;

/// The bytes of the sector bitmap in front of each block: one bit per sector, padded to a whole
/// sector (spec "Block Allocation Table and Data Blocks").
constexpr std::uint64_t bitmap_bytes(std::uint64_t block_size) noexcept
{
    return round_up(units_for(units_for(block_size, sector_size), 8), sector_size);
}

/// What a creator application code stands for ("Windows / Hyper-V"), or "unknown".
std::string creator_name(const FourCC& code);

/// The virtual size a footer states, and why.
struct SizeChoice {
    std::uint64_t bytes = 0;
    bool from_geometry = false;  ///< true: CHS geometry; false: current_size
    std::string reason;
};

/// The size rule: creators 'vpc ' (Virtual PC) and 'qemu' (qemu without force_size) size a disk
/// by its CHS geometry; every other creator ('win ', 'd2v\0', 'd2v ', 'qem2', 'CTXS', 'tap\0',
/// 'wa\0\0', 'vs  ', 'vbox' and unknown codes) by current_size. A maximum or empty geometry says
/// nothing about the size, so current_size is used then too. This is the rule of qemu 10.
SizeChoice choose_virtual_size(const Footer& footer);

/// A VHD time stamp (seconds since 2000-01-01 UTC) as "YYYY-MM-DDTHH:MM:SSZ".
std::string vhd_time_text(std::uint32_t seconds_since_2000);

}  // namespace diskshift::formats::vhd
