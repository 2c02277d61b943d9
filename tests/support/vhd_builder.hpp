// Small VHD files built byte by byte for tests: footers with any creator code and geometry, fixed
// disks, and dynamic or differencing disks with chosen blocks, sector bitmaps and parent locators.
// Written from the VHD specification's field tables, independently of the reader.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dstest::vhd {

/// Where build() puts things in a dynamic or differencing file.
inline constexpr std::uint64_t header_offset = 512;
inline constexpr std::uint64_t bat_offset = 1536;

struct FooterFields {
    std::string creator = "win ";  ///< exactly four bytes, NULs included ("d2v\0" as {"d2v\0", 4})
    std::uint64_t current_size = 0;
    std::uint16_t cylinders = 0;
    std::uint8_t heads = 0;
    std::uint8_t sectors_per_track = 0;
    std::uint32_t disk_type = 2;                  ///< 2 fixed, 3 dynamic, 4 differencing
    std::uint64_t data_offset = ~std::uint64_t{0};  ///< set by SparseVhd::build() for dynamic disks
    std::array<std::byte, 16> unique_id{};
    bool bad_checksum = false;
};

/// The 512-byte footer, checksum included (wrong on purpose when `bad_checksum`).
std::array<std::byte, 512> footer_bytes(const FooterFields& fields);

/// A fixed VHD: `data`, then the footer.
std::vector<std::byte> fixed_vhd(std::span<const std::byte> data, const FooterFields& footer);

/// A parent locator: its platform code and the bytes it points to.
struct Locator {
    std::string platform;  ///< "W2ku", "W2ru", "MacX", …
    std::vector<std::byte> data;
};

/// A text as UTF-16 little-endian (locator paths) or big-endian (the header's parent name).
std::vector<std::byte> utf16(std::u16string_view text, bool big_endian);

struct Block {
    std::vector<std::byte> bitmap;  ///< empty: all sectors present
    std::vector<std::byte> data;    ///< up to block_size bytes, zero-padded
};

/// A dynamic (disk_type 3) or differencing (4) VHD. build() lays out: footer copy at 0, dynamic
/// header at 512, BAT at 1536, locator data, blocks in descending block order (blocks need not be
/// in BAT order), footer.
struct SparseVhd {
    FooterFields footer;
    std::uint32_t block_size = 64 * 1024;
    std::uint32_t max_table_entries = 0;  ///< 0: just enough for current_size
    std::map<std::uint32_t, Block> blocks;
    std::array<std::byte, 16> parent_id{};
    std::uint32_t parent_timestamp = 0;
    std::u16string parent_name;
    std::vector<Locator> locators;
    bool bad_header_checksum = false;

    std::vector<std::byte> build() const;
    /// max_table_entries, or the entries current_size needs.
    std::uint32_t table_entries() const;
};

/// Stores `value` big-endian into `file` at `offset` (for corrupting a built file).
void patch_be32(std::vector<std::byte>& file, std::uint64_t offset, std::uint32_t value);
void patch_be64(std::vector<std::byte>& file, std::uint64_t offset, std::uint64_t value);

}  // namespace dstest::vhd
