#include "formats/vhd/vhd_layout.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/endian.hpp"
#include "core/text.hpp"

namespace diskshift::formats::vhd {
namespace {

/// Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC (spec "Time Stamp").
constexpr std::int64_t vhd_epoch_unix_seconds = 946684800;

// Footer field offsets (spec "Hard Disk Footer Format").
constexpr std::size_t footer_checksum_offset = 64;
// Dynamic header field offsets (spec "Dynamic Disk Header Format").
constexpr std::size_t header_checksum_offset = 36;
constexpr std::size_t parent_name_offset = 64;
constexpr std::size_t parent_name_bytes = 512;
constexpr std::size_t locators_offset = 576;
constexpr std::size_t locator_entry_bytes = 24;

FourCC load_fourcc(const std::byte* p) noexcept
{
    FourCC code{};
    std::memcpy(code.data(), p, code.size());
    return code;
}

/// The creator application codes known from real images (reference vhd.md §1, §6) and how each
/// creator sizes its disks: by CHS geometry or by current_size.
struct Creator {
    char code[5];
    const char* name;
    bool sizes_by_geometry;
};
constexpr Creator known_creators[] = {
    {"vpc ", "Microsoft Virtual PC", true},
    {"qemu", "qemu", true},
    {"vs  ", "Microsoft Virtual Server", false},
    {"win ", "Windows / Hyper-V", false},
    {"d2v\0", "Disk2vhd", false},
    {"d2v ", "Disk2vhd", false},
    {"qem2", "qemu (force_size)", false},
    {"CTXS", "Citrix XenConverter", false},
    {"tap\0", "XenServer blktap", false},
    {"wa\0\0", "Microsoft Azure", false},
    {"vbox", "VirtualBox", false},
};

/// Printable ASCII as it is; any other byte as "\\xNN".
void append_printable(std::string& text, unsigned char byte)
{
    if (byte < 0x20 || byte >= 0x7F) {
        text += fmt::format("\\x{:02x}", byte);
    } else {
        text += static_cast<char>(byte);
    }
}

const Creator* find_creator(const FourCC& code) noexcept
{
    for (const Creator& creator : known_creators) {
        if (std::memcmp(code.data(), creator.code, code.size()) == 0) {
            return &creator;
        }
    }
    return nullptr;
}

}  // namespace

std::string disk_type_name(std::uint32_t type)
{
    switch (static_cast<DiskType>(type)) {
    case DiskType::fixed:
        return "fixed";
    case DiskType::dynamic:
        return "dynamic";
    case DiskType::differencing:
        return "differencing";
    case DiskType::none:
        break;
    }
    return fmt::format("type {}", type);
}

std::string fourcc_text(const FourCC& code)
{
    std::string text;
    for (const char c : code) {
        if (c == '\0') {
            text += "\\0";
        } else {
            append_printable(text, static_cast<unsigned char>(c));
        }
    }
    return text;
}

std::string printable_text(std::span<const std::byte> bytes)
{
    std::string text;
    for (const std::byte b : bytes) {
        if (b == std::byte{0}) {
            break;
        }
        append_printable(text, static_cast<unsigned char>(b));
    }
    return text;
}

bool has_footer_cookie(std::span<const std::byte> bytes) noexcept
{
    static constexpr char cookie[] = "conectix";
    return bytes.size() >= 8 && std::memcmp(bytes.data(), cookie, 8) == 0;
}

std::uint32_t vhd_checksum(std::span<const std::byte> bytes, std::size_t checksum_offset) noexcept
{
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i < checksum_offset || i >= checksum_offset + 4) {
            sum += static_cast<std::uint8_t>(bytes[i]);
        }
    }
    return ~sum;
}

Footer parse_footer(std::span<const std::byte, footer_size> bytes) noexcept
{
    const std::byte* p = bytes.data();
    Footer f;
    f.features = load_be<std::uint32_t>(p + 8);
    f.format_version = load_be<std::uint32_t>(p + 12);
    f.data_offset = load_be<std::uint64_t>(p + 16);
    f.timestamp = load_be<std::uint32_t>(p + 24);
    f.creator_app = load_fourcc(p + 28);
    f.creator_version = load_be<std::uint32_t>(p + 32);
    f.creator_host_os = load_fourcc(p + 36);
    f.original_size = load_be<std::uint64_t>(p + 40);
    f.current_size = load_be<std::uint64_t>(p + 48);
    f.geometry.cylinders = load_be<std::uint16_t>(p + 56);
    f.geometry.heads = static_cast<std::uint8_t>(p[58]);
    f.geometry.sectors_per_track = static_cast<std::uint8_t>(p[59]);
    f.disk_type = load_be<std::uint32_t>(p + 60);
    f.checksum = load_be<std::uint32_t>(p + footer_checksum_offset);
    f.computed_checksum = vhd_checksum(bytes, footer_checksum_offset);
    std::copy_n(p + 68, f.unique_id.size(), f.unique_id.begin());
    f.saved_state = static_cast<std::uint8_t>(p[84]);
    return f;
}

DynamicHeader parse_dynamic_header(std::span<const std::byte, dynamic_header_size> bytes)
{
    static constexpr char cookie[] = "cxsparse";
    const std::byte* p = bytes.data();
    DynamicHeader h;
    h.has_cookie = std::memcmp(p, cookie, 8) == 0;
    h.table_offset = load_be<std::uint64_t>(p + 16);
    h.header_version = load_be<std::uint32_t>(p + 24);
    h.max_table_entries = load_be<std::uint32_t>(p + 28);
    h.block_size = load_be<std::uint32_t>(p + 32);
    h.checksum = load_be<std::uint32_t>(p + header_checksum_offset);
    h.computed_checksum = vhd_checksum(bytes, header_checksum_offset);
    std::copy_n(p + 40, h.parent_unique_id.size(), h.parent_unique_id.begin());
    h.parent_timestamp = load_be<std::uint32_t>(p + 56);
    h.parent_name = utf16_to_utf8(bytes.subspan(parent_name_offset, parent_name_bytes), Endian::big);
    for (std::size_t i = 0; i < locator_count; ++i) {
        const std::byte* e = p + locators_offset + i * locator_entry_bytes;
        ParentLocator& locator = h.locators[i];
        locator.platform_code = load_fourcc(e);
        locator.data_space = load_be<std::uint32_t>(e + 4);
        locator.data_length = load_be<std::uint32_t>(e + 8);
        locator.data_offset = load_be<std::uint64_t>(e + 16);
    }
    return h;
}

std::uint64_t bitmap_bytes(std::uint64_t block_size) noexcept
{
    const std::uint64_t bits = (block_size + sector_size - 1) / sector_size;
    const std::uint64_t bytes = (bits + 7) / 8;
    return (bytes + sector_size - 1) / sector_size * sector_size;
}

std::string creator_name(const FourCC& code)
{
    const Creator* creator = find_creator(code);
    return creator == nullptr ? "unknown" : creator->name;
}

SizeChoice choose_virtual_size(const Footer& footer)
{
    const std::string creator = fourcc_text(footer.creator_app);
    const Creator* known = find_creator(footer.creator_app);
    if (known == nullptr || !known->sizes_by_geometry) {
        return {footer.current_size, false,
                fmt::format("{} creator '{}' sizes disks by current_size (only 'vpc ' and 'qemu' size by CHS)",
                            known == nullptr ? "an unknown" : "the", creator)};
    }
    if (footer.geometry.is_maximum() || footer.geometry.bytes() == 0) {
        return {footer.current_size, false,
                fmt::format("creator '{}' sizes disks by CHS, but the geometry {} says nothing about the size",
                            creator, footer.geometry.is_maximum() ? "is the maximum 65535/16/255" : "is empty")};
    }
    return {footer.geometry.bytes(), true, fmt::format("creator '{}' sizes disks by CHS geometry", creator)};
}

std::string vhd_time_text(std::uint32_t seconds_since_2000)
{
    const std::time_t unix_time = static_cast<std::time_t>(vhd_epoch_unix_seconds + seconds_since_2000);
    std::tm utc{};
    gmtime_r(&unix_time, &utc);
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", utc);
}

}  // namespace diskshift::formats::vhd
