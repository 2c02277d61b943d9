#include "formats/vhd/vhd_layout.hpp"

#include <algorithm>
#include <chrono>
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

constexpr char footer_cookie[] = "conectix";
constexpr char header_cookie[] = "cxsparse";

// Footer field offsets (spec "Hard Disk Footer Format").
namespace footer_field {
constexpr std::size_t features = 8;
constexpr std::size_t format_version = 12;
constexpr std::size_t data_offset = 16;
constexpr std::size_t timestamp = 24;
constexpr std::size_t creator_app = 28;
constexpr std::size_t creator_version = 32;
constexpr std::size_t creator_host_os = 36;
constexpr std::size_t original_size = 40;
constexpr std::size_t current_size = 48;
constexpr std::size_t cylinders = 56;
constexpr std::size_t heads = 58;
constexpr std::size_t sectors_per_track = 59;
constexpr std::size_t disk_type = 60;
constexpr std::size_t checksum = 64;
constexpr std::size_t unique_id = 68;
constexpr std::size_t saved_state = 84;
}  // namespace footer_field

// Dynamic header field offsets (spec "Dynamic Disk Header Format").
namespace header_field {
constexpr std::size_t data_offset = 8;
constexpr std::size_t table_offset = 16;
constexpr std::size_t header_version = 24;
constexpr std::size_t max_table_entries = 28;
constexpr std::size_t block_size = 32;
constexpr std::size_t checksum = 36;
constexpr std::size_t parent_unique_id = 40;
constexpr std::size_t parent_timestamp = 56;
constexpr std::size_t parent_name = 64;
constexpr std::size_t parent_name_bytes = 512;
constexpr std::size_t locators = 576;
constexpr std::size_t locator_entry_bytes = 24;
}  // namespace header_field

/// The "format version" and "header version" every VHD carries: 1.0 (spec).
constexpr std::uint32_t version_1_0 = 0x00010000;
/// Footer "features": bit 1 is reserved and must always be set (spec "Features").
constexpr std::uint32_t features_reserved = 0x2;
/// An unused 64-bit offset: all bits set (the footer's data offset of a fixed disk, the dynamic
/// header's data offset). The spec says 0xFFFFFFFF; Windows and qemu write all 64 bits.
constexpr std::uint64_t no_offset = ~std::uint64_t{0};

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
    return bytes.size() >= 8 && std::memcmp(bytes.data(), footer_cookie, 8) == 0;
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
    namespace at = footer_field;
    const std::byte* p = bytes.data();
    Footer f;
    f.features = load_be<std::uint32_t>(p + at::features);
    f.format_version = load_be<std::uint32_t>(p + at::format_version);
    f.data_offset = load_be<std::uint64_t>(p + at::data_offset);
    f.timestamp = load_be<std::uint32_t>(p + at::timestamp);
    f.creator_app = load_fourcc(p + at::creator_app);
    f.creator_version = load_be<std::uint32_t>(p + at::creator_version);
    f.creator_host_os = load_fourcc(p + at::creator_host_os);
    f.original_size = load_be<std::uint64_t>(p + at::original_size);
    f.current_size = load_be<std::uint64_t>(p + at::current_size);
    f.geometry.cylinders = load_be<std::uint16_t>(p + at::cylinders);
    f.geometry.heads = static_cast<std::uint8_t>(p[at::heads]);
    f.geometry.sectors_per_track = static_cast<std::uint8_t>(p[at::sectors_per_track]);
    f.disk_type = load_be<std::uint32_t>(p + at::disk_type);
    f.checksum = load_be<std::uint32_t>(p + at::checksum);
    f.computed_checksum = vhd_checksum(bytes, at::checksum);
    std::copy_n(p + at::unique_id, f.unique_id.size(), f.unique_id.begin());
    f.saved_state = static_cast<std::uint8_t>(p[at::saved_state]);
    return f;
}

std::array<std::byte, footer_size> footer_bytes(const Footer& f) noexcept
{
    namespace at = footer_field;
    std::array<std::byte, footer_size> bytes{};
    std::byte* p = bytes.data();
    std::memcpy(p, footer_cookie, 8);
    store_be(p + at::features, f.features);
    store_be(p + at::format_version, f.format_version);
    store_be(p + at::data_offset, f.data_offset);
    store_be(p + at::timestamp, f.timestamp);
    std::memcpy(p + at::creator_app, f.creator_app.data(), f.creator_app.size());
    store_be(p + at::creator_version, f.creator_version);
    std::memcpy(p + at::creator_host_os, f.creator_host_os.data(), f.creator_host_os.size());
    store_be(p + at::original_size, f.original_size);
    store_be(p + at::current_size, f.current_size);
    store_be(p + at::cylinders, f.geometry.cylinders);
    p[at::heads] = std::byte{f.geometry.heads};
    p[at::sectors_per_track] = std::byte{f.geometry.sectors_per_track};
    store_be(p + at::disk_type, f.disk_type);
    std::copy(f.unique_id.begin(), f.unique_id.end(), p + at::unique_id);
    p[at::saved_state] = std::byte{f.saved_state};
    store_be(p + at::checksum, vhd_checksum(bytes, at::checksum));
    return bytes;
}

Footer new_footer(DiskType type, std::uint64_t size, std::uint64_t data_offset)
{
    Footer f;
    f.features = features_reserved;
    f.format_version = version_1_0;
    f.data_offset = type == DiskType::fixed ? no_offset : data_offset;
    f.timestamp = vhd_timestamp_now();
    f.creator_app = {'w', 'i', 'n', ' '};
    f.creator_version = 0x000A0000;  // 10.0, as Windows 10 and Hyper-V on Server 2016+ write
    f.creator_host_os = {'W', 'i', '2', 'k'};
    f.original_size = size;
    f.current_size = size;
    f.geometry = geometry_for_size(size);
    f.disk_type = static_cast<std::uint32_t>(type);
    f.unique_id = random_uuid(Endian::big);
    return f;
}

DynamicHeader parse_dynamic_header(std::span<const std::byte, dynamic_header_size> bytes)
{
    namespace at = header_field;
    const std::byte* p = bytes.data();
    DynamicHeader h;
    h.has_cookie = std::memcmp(p, header_cookie, 8) == 0;
    h.table_offset = load_be<std::uint64_t>(p + at::table_offset);
    h.header_version = load_be<std::uint32_t>(p + at::header_version);
    h.max_table_entries = load_be<std::uint32_t>(p + at::max_table_entries);
    h.block_size = load_be<std::uint32_t>(p + at::block_size);
    h.checksum = load_be<std::uint32_t>(p + at::checksum);
    h.computed_checksum = vhd_checksum(bytes, at::checksum);
    std::copy_n(p + at::parent_unique_id, h.parent_unique_id.size(), h.parent_unique_id.begin());
    h.parent_timestamp = load_be<std::uint32_t>(p + at::parent_timestamp);
    h.parent_name = utf16_to_utf8(bytes.subspan(at::parent_name, at::parent_name_bytes), Endian::big);
    for (std::size_t i = 0; i < locator_count; ++i) {
        const std::byte* e = p + at::locators + i * at::locator_entry_bytes;
        ParentLocator& locator = h.locators[i];
        locator.platform_code = load_fourcc(e);
        locator.data_space = load_be<std::uint32_t>(e + 4);
        locator.data_length = load_be<std::uint32_t>(e + 8);
        locator.data_offset = load_be<std::uint64_t>(e + 16);
    }
    return h;
}

std::array<std::byte, dynamic_header_size> dynamic_header_bytes(std::uint64_t table_offset,
                                                                 std::uint32_t max_table_entries,
                                                                 std::uint32_t block_size) noexcept
{
    namespace at = header_field;
    std::array<std::byte, dynamic_header_size> bytes{};
    std::byte* p = bytes.data();
    std::memcpy(p, header_cookie, 8);
    store_be(p + at::data_offset, no_offset);
    store_be(p + at::table_offset, table_offset);
    store_be(p + at::header_version, version_1_0);
    store_be(p + at::max_table_entries, max_table_entries);
    store_be(p + at::block_size, block_size);
    store_be(p + at::checksum, vhd_checksum(bytes, at::checksum));
    return bytes;
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

std::uint32_t vhd_timestamp_of(std::chrono::system_clock::time_point time)
{
    const auto unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
    const std::int64_t since_2000 = unix_seconds - vhd_epoch_unix_seconds;
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(since_2000, 0, UINT32_MAX));
}

std::uint32_t vhd_timestamp_now()
{
    return vhd_timestamp_of(std::chrono::system_clock::now());
}

Geometry geometry_for_size(std::uint64_t bytes) noexcept
{
    // Spec appendix "CHS Calculation": the largest geometry the algorithm reaches is 65535/16/255;
    // below 65535*16*63 sectors it tries 17, then 31, then 63 sectors per track.
    constexpr std::uint64_t max_sectors = 65535ULL * 16 * 255;
    const std::uint64_t total = std::min(bytes / sector_size, max_sectors);
    std::uint64_t sectors_per_track = 0;
    std::uint64_t heads = 0;
    std::uint64_t cylinder_times_heads = 0;
    if (total >= 65535ULL * 16 * 63) {
        sectors_per_track = 255;
        heads = 16;
        cylinder_times_heads = total / sectors_per_track;
    } else {
        sectors_per_track = 17;
        cylinder_times_heads = total / sectors_per_track;
        heads = std::max<std::uint64_t>(4, (cylinder_times_heads + 1023) / 1024);
        if (cylinder_times_heads >= heads * 1024 || heads > 16) {
            sectors_per_track = 31;
            heads = 16;
            cylinder_times_heads = total / sectors_per_track;
        }
        if (cylinder_times_heads >= heads * 1024) {
            sectors_per_track = 63;
            heads = 16;
            cylinder_times_heads = total / sectors_per_track;
        }
    }
    return {static_cast<std::uint16_t>(cylinder_times_heads / heads), static_cast<std::uint8_t>(heads),
            static_cast<std::uint8_t>(sectors_per_track)};
}

}  // namespace diskshift::formats::vhd
