// VHDX structures of the first MiB and the metadata region: file identifier, headers, region
// table (MS-VHDX 2.2) and metadata items (2.6).
#include <algorithm>
#include <cstring>
#include <set>

#include "core/bytes.hpp"
#include "core/crc32c.hpp"
#include "core/endian.hpp"
#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "core/text.hpp"
#include "formats/vhdx/vhdx_layout.hpp"

namespace diskshift::formats::vhdx {
namespace {

bool has_signature(std::span<const std::byte> bytes, std::string_view signature)
{
    return bytes.size() >= signature.size() && std::memcmp(bytes.data(), signature.data(), signature.size()) == 0;
}

Guid guid_at(const std::byte* p)
{
    Guid guid;
    std::copy(p, p + guid.size(), guid.begin());
    return guid;
}

/// CRC-32C of a structure whose checksum field (4 bytes at offset 4) counts as zero.
std::uint32_t checksum_without_field(std::span<const std::byte> bytes)
{
    static constexpr std::byte zero_field[4] = {};
    std::uint32_t crc = crc32c(bytes.first(4));
    crc = crc32c(zero_field, crc);
    return crc32c(bytes.subspan(8), crc);
}

bool checksum_holds(std::span<const std::byte> bytes)
{
    return checksum_without_field(bytes) == load_le<std::uint32_t>(bytes.data() + 4);
}


void require_file_reaches(const ByteSource& file, std::uint64_t end, std::string_view structure)
{
    if (file.size() < end) {
        fail(Errc::corrupt, "{}: the file ends at 0x{:x}, before the end of the {} (offset 0x{:x})", file.name(),
             file.size(), structure, end);
    }
}

// --- headers (2.2.2) ---

std::optional<Header> parse_header(const ByteSource& file, unsigned index)
{
    std::array<std::byte, header_size> bytes;
    file.read_at(bytes, header_offsets[index]);
    if (!has_signature(bytes, "head")) {
        return std::nullopt;
    }
    const std::byte* p = bytes.data();
    Header h;
    h.index = index + 1;
    h.checksum_ok = checksum_holds(bytes);
    h.sequence = load_le<std::uint64_t>(p + 8);
    h.file_write_guid = guid_at(p + 16);
    h.data_write_guid = guid_at(p + 32);
    h.log_guid = guid_at(p + 48);
    h.log_version = load_le<std::uint16_t>(p + 64);
    h.version = load_le<std::uint16_t>(p + 66);
    h.log_length = load_le<std::uint32_t>(p + 68);
    h.log_offset = load_le<std::uint64_t>(p + 72);
    return h;
}

/// Fields a header must have to be used at all: version 1, log version 0, a 1 MiB-aligned log.
bool fields_consistent(const Header& h)
{
    return h.version == 1 && h.log_version == 0 && h.log_length % MiB == 0 && h.log_offset % MiB == 0 &&
           (h.log_length == 0 || h.log_offset >= header_area_size) && h.log_offset <= UINT64_MAX - h.log_length;
}

/// The usable header with the highest sequence number among `headers` that pass `usable`.
const Header* newest(const std::vector<Header>& headers, bool (*usable)(const Header&))
{
    const Header* best = nullptr;
    for (const Header& h : headers) {
        if (usable(h) && (best == nullptr || h.sequence > best->sequence)) {
            best = &h;
        }
    }
    return best;
}

// --- region table (2.2.3) ---

RegionTable parse_region_entries(const ByteSource& file, std::span<const std::byte> table, std::uint64_t at,
                                 ImageInfo& info)
{
    const std::uint32_t count = load_le<std::uint32_t>(table.data() + 8);
    if (count > max_region_entries) {
        fail(Errc::corrupt, "{}: region table lists {} entries, more than {} (offset 0x{:x})", file.name(), count,
             max_region_entries, at + 8);
    }
    std::optional<Region> bat;
    std::optional<Region> metadata;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::byte* e = table.data() + 16 + 32 * std::size_t{i};
        const std::uint64_t entry_at = at + 16 + 32 * std::uint64_t{i};
        const Guid guid = guid_at(e);
        const Region region{load_le<std::uint64_t>(e + 16), load_le<std::uint32_t>(e + 24)};
        const bool required = (load_le<std::uint32_t>(e + 28) & 1) != 0;
        std::optional<Region>* slot = guid == bat_region_guid ? &bat : guid == metadata_region_guid ? &metadata : nullptr;
        if (slot == nullptr) {
            if (required) {
                fail(Errc::unsupported, "{}: region table entry {} is an unknown region {{{}}} marked required; "
                     "this reader cannot open the file safely (offset 0x{:x})", file.name(), i, format_windows_guid(guid), entry_at);
            }
            info.warnings.push_back(fmt::format("region table entry {} is an unknown optional region {{{}}}; ignored",
                                                i, format_windows_guid(guid)));
            continue;
        }
        const char* name = slot == &bat ? "BAT" : "metadata";
        if (slot->has_value()) {
            fail(Errc::corrupt, "{}: region table lists the {} region twice (offset 0x{:x})", file.name(), name, entry_at);
        }
        if (region.offset % MiB != 0 || region.length % MiB != 0 || region.length == 0 ||
            region.offset < header_area_size) {
            fail(Errc::corrupt, "{}: region table entry for the {} region has offset 0x{:x} and length 0x{:x}, "
                 "which are not non-zero 1 MiB multiples past the header area (offset 0x{:x})",
                 file.name(), name, region.offset, region.length, entry_at);
        }
        if (!inside_file(file, region.offset, region.length)) {
            fail(Errc::corrupt, "{}: the {} region [0x{:x}, 0x{:x}) lies past the end of the file at 0x{:x} "
                 "(region table entry at offset 0x{:x})", file.name(), name, region.offset, region.end(), file.size(),
                 entry_at);
        }
        *slot = region;
    }
    if (!bat || !metadata) {
        fail(Errc::corrupt, "{}: region table has no {} region (offset 0x{:x})", file.name(), bat ? "metadata" : "BAT", at);
    }
    if (bat->overlaps(*metadata)) {
        fail(Errc::corrupt, "{}: the BAT region [0x{:x}, 0x{:x}) overlaps the metadata region [0x{:x}, 0x{:x}) "
             "(region table at offset 0x{:x})", file.name(), bat->offset, bat->end(), metadata->offset,
             metadata->end(), at);
    }
    return {*bat, *metadata};
}

// --- metadata (2.6) ---

struct MetadataItem {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
};

void decode_parent_locator(const ByteSource& file, const std::vector<std::byte>& item, std::uint64_t at,
                           Metadata& out)
{
    if (item.size() < 20) {
        fail(Errc::corrupt, "{}: parent locator item is {} bytes, too short for its header (offset 0x{:x})",
             file.name(), item.size(), at);
    }
    if (guid_at(item.data()) != vhdx_locator_type_guid) {
        fail(Errc::unsupported, "{}: parent locator has the unknown type {{{}}} (offset 0x{:x})", file.name(),
             format_windows_guid(guid_at(item.data())), at);
    }
    const std::uint16_t count = load_le<std::uint16_t>(item.data() + 18);
    if (20 + 12 * std::size_t{count} > item.size()) {
        fail(Errc::corrupt, "{}: parent locator lists {} entries, more than its {} bytes hold (offset 0x{:x})",
             file.name(), count, item.size(), at);
    }
    auto text_at = [&](std::uint32_t offset, std::uint16_t length, std::size_t entry) {
        if (offset > item.size() || length > item.size() - offset) {
            fail(Errc::corrupt, "{}: parent locator entry {} points outside the locator (offset 0x{:x})", file.name(),
                 entry, at + 20 + 12 * entry);
        }
        return utf16_to_utf8(std::span(item).subspan(offset, length), Endian::little);
    };
    for (std::size_t i = 0; i < count; ++i) {
        const std::byte* e = item.data() + 20 + 12 * i;
        out.parent_locator.emplace_back(text_at(load_le<std::uint32_t>(e), load_le<std::uint16_t>(e + 8), i),
                                        text_at(load_le<std::uint32_t>(e + 4), load_le<std::uint16_t>(e + 10), i));
    }
}

/// Checks the metadata items this reader knows and stores them in `out`.
void decode_item(const ByteSource& file, const Guid& id, const std::vector<std::byte>& item, std::uint64_t at,
                 Metadata& out)
{
    auto need = [&](std::size_t size, const char* name) {
        if (item.size() < size) {
            fail(Errc::corrupt, "{}: metadata item {} is {} bytes, expected {} (offset 0x{:x})", file.name(), name,
                 item.size(), size, at);
        }
    };
    if (id == file_parameters_guid) {
        need(8, "File Parameters");
        out.block_size = load_le<std::uint32_t>(item.data());
        const std::uint32_t flags = load_le<std::uint32_t>(item.data() + 4);
        out.leave_blocks_allocated = (flags & leave_blocks_allocated_flag) != 0;
        out.has_parent = (flags & has_parent_flag) != 0;
    } else if (id == virtual_disk_size_guid) {
        need(8, "Virtual Disk Size");
        out.virtual_size = load_le<std::uint64_t>(item.data());
    } else if (id == page83_guid) {
        need(16, "Page 83 Data");
        out.page83 = guid_at(item.data());
    } else if (id == logical_sector_size_guid) {
        need(4, "Logical Sector Size");
        out.logical_sector_size = load_le<std::uint32_t>(item.data());
    } else if (id == physical_sector_size_guid) {
        need(4, "Physical Sector Size");
        out.physical_sector_size = load_le<std::uint32_t>(item.data());
    } else if (id == parent_locator_guid) {
        decode_parent_locator(file, item, at, out);
    }
}

bool is_known_item(const Guid& id)
{
    static constexpr std::array known = {file_parameters_guid, virtual_disk_size_guid, page83_guid,
                                         logical_sector_size_guid, physical_sector_size_guid, parent_locator_guid};
    return std::find(known.begin(), known.end(), id) != known.end();
}

void check_metadata_values(const ByteSource& file, const Metadata& m, std::uint64_t at)
{
    if (!is_valid_block_size(m.block_size)) {
        fail(Errc::corrupt, "{}: metadata block size {} is not a power of two between 1 MiB and 256 MiB "
             "(metadata region at offset 0x{:x})", file.name(), m.block_size, at);
    }
    for (const auto& [name, value] : {std::pair{"logical", m.logical_sector_size}, {"physical", m.physical_sector_size}}) {
        if (value != 512 && value != 4096) {
            fail(Errc::corrupt, "{}: metadata {} sector size {} is neither 512 nor 4096 (metadata region at offset 0x{:x})",
                 file.name(), name, value, at);
        }
    }
    if (m.virtual_size > max_virtual_size || m.virtual_size % m.logical_sector_size != 0) {
        fail(Errc::corrupt, "{}: metadata virtual disk size {} is not a multiple of the {}-byte logical sector up to "
             "64 TiB (metadata region at offset 0x{:x})", file.name(), m.virtual_size, m.logical_sector_size, at);
    }
    if (m.has_parent && m.parent_locator.empty()) {
        fail(Errc::corrupt, "{}: a differencing disk (HasParent) without a parent locator (metadata region at offset 0x{:x})",
             file.name(), at);
    }
}

}  // namespace

bool checksum_field_holds(std::span<const std::byte> bytes)
{
    return checksum_holds(bytes);
}

bool is_zero_guid(const Guid& guid) noexcept
{
    return is_all_zero(guid);
}

std::string read_creator(const ByteSource& file)
{
    std::array<std::byte, 512> creator;
    file.read_at(creator, 8);
    return utf16_to_utf8(creator, Endian::little);
}

Header read_current_header(const ByteSource& file, ImageInfo& info)
{
    require_file_reaches(file, header_area_size, "header area (file identifier, headers, region tables)");
    std::vector<Header> headers;
    for (unsigned i = 0; i < 2; ++i) {
        if (auto h = parse_header(file, i)) {
            headers.push_back(*h);
        }
    }
    const Header* chosen = newest(headers, [](const Header& h) { return h.checksum_ok && fields_consistent(h); });
    if (chosen == nullptr) {
        chosen = newest(headers, fields_consistent);
        if (chosen == nullptr) {
            fail(Errc::corrupt, "{}: neither header is valid (signature \"head\", version 1, log fields) "
                 "(offsets 0x{:x} and 0x{:x})", file.name(), header_offsets[0], header_offsets[1]);
        }
        info.warnings.push_back(fmt::format("both headers fail their CRC-32C checksum; read with header {} "
                                            "(sequence {}), whose fields are consistent", chosen->index, chosen->sequence));
    }
    return *chosen;
}

RegionTable read_region_table(const ByteSource& file, ImageInfo& info)
{
    std::array<std::vector<std::byte>, 2> copies;
    for (unsigned i = 0; i < 2; ++i) {
        copies[i].resize(region_table_size);
        file.read_at(copies[i], region_table_offsets[i]);
        if (has_signature(copies[i], "regi") && checksum_holds(copies[i])) {
            info.details["region_table"] = fmt::format("copy {} (checksum valid)", i + 1);
            return parse_region_entries(file, copies[i], region_table_offsets[i], info);
        }
    }
    // Neither copy passes its checksum: read the first one whose entries make sense, and say so.
    std::optional<Error> first_error;
    for (unsigned i = 0; i < 2; ++i) {
        if (!has_signature(copies[i], "regi")) {
            continue;
        }
        try {
            RegionTable table = parse_region_entries(file, copies[i], region_table_offsets[i], info);
            info.details["region_table"] = fmt::format("copy {} (checksum INVALID)", i + 1);
            info.warnings.push_back(fmt::format("both region tables fail their CRC-32C checksum; read with copy {}, "
                                                "whose entries are consistent", i + 1));
            return table;
        } catch (const Error& e) {
            first_error = first_error.value_or(e);
        }
    }
    if (first_error) {
        throw *first_error;
    }
    fail(Errc::corrupt, "{}: neither region table has the signature \"regi\" (offsets 0x{:x} and 0x{:x})", file.name(),
         region_table_offsets[0], region_table_offsets[1]);
}

Metadata read_metadata(const ByteSource& file, const Region& region)
{
    std::vector<std::byte> table(metadata_table_size);
    file.read_at(table, region.offset);
    if (!has_signature(table, "metadata")) {
        fail(Errc::corrupt, "{}: metadata table lacks its signature \"metadata\" (offset 0x{:x})", file.name(),
             region.offset);
    }
    const std::uint16_t count = load_le<std::uint16_t>(table.data() + 10);
    if (count > max_metadata_entries) {
        fail(Errc::corrupt, "{}: metadata table lists {} entries, more than {} (offset 0x{:x})", file.name(), count,
             max_metadata_entries, region.offset + 10);
    }
    Metadata out;
    std::set<Guid> seen;
    for (std::size_t i = 0; i < count; ++i) {
        const std::byte* e = table.data() + 32 + 32 * i;
        const std::uint64_t entry_at = region.offset + 32 + 32 * i;
        const Guid id = guid_at(e);
        const MetadataItem item{load_le<std::uint32_t>(e + 16), load_le<std::uint32_t>(e + 20)};
        const bool required = (load_le<std::uint32_t>(e + 24) & metadata_is_required) != 0;
        if (!is_known_item(id)) {
            if (required) {
                fail(Errc::unsupported, "{}: metadata item {{{}}} is unknown and marked required (offset 0x{:x})",
                     file.name(), format_windows_guid(id), entry_at);
            }
            continue;
        }
        if (!seen.insert(id).second) {
            fail(Errc::corrupt, "{}: metadata item {{{}}} is listed twice (offset 0x{:x})", file.name(), format_windows_guid(id),
                 entry_at);
        }
        if (item.length > max_metadata_item_length || item.offset < metadata_table_size ||
            item.offset > region.length || item.length > region.length - item.offset) {
            fail(Errc::corrupt, "{}: metadata item {{{}}} at 0x{:x}+0x{:x} lies outside the metadata region of 0x{:x} "
                 "bytes (offset 0x{:x})", file.name(), format_windows_guid(id), item.offset, item.length, region.length, entry_at);
        }
        std::vector<std::byte> bytes(item.length);
        file.read_at(bytes, region.offset + item.offset);
        decode_item(file, id, bytes, region.offset + item.offset, out);
    }
    for (const auto& [id, name] : {std::pair{file_parameters_guid, "File Parameters"},
                                   {virtual_disk_size_guid, "Virtual Disk Size"},
                                   {logical_sector_size_guid, "Logical Sector Size"},
                                   {physical_sector_size_guid, "Physical Sector Size"}}) {
        if (!seen.contains(id)) {
            fail(Errc::corrupt, "{}: metadata table has no {} item (offset 0x{:x})", file.name(), name, region.offset);
        }
    }
    check_metadata_values(file, out, region.offset);
    return out;
}

}  // namespace diskshift::formats::vhdx
