// Checking a VHD (Virtual Hard Disk Image Format Specification 1.0): both footers and their
// checksums, the dynamic header, the BAT, the parent locators, and every block inside the file and
// clear of the metadata and of each other. A footer copy at offset 0 may differ from the footer at
// the end in its time stamp or saved-state byte (writers update one of them); only differences in
// the fields that locate or size the disk are problems.
#include <array>
#include <bit>
#include <optional>

#include <fmt/format.h>

#include "core/endian.hpp"
#include "core/file_range.hpp"
#include "formats/checks.hpp"
#include "formats/vhd/vhd_layout.hpp"
#include "ops/check_layout.hpp"

namespace diskshift::formats {
namespace {

using namespace vhd;

/// Offsets of footer and dynamic header fields that problems name (spec "Hard Disk Footer Format",
/// "Dynamic Disk Header Format").
constexpr std::uint64_t footer_checksum_field = 64;
constexpr std::uint64_t header_checksum_field = 36;
constexpr std::uint64_t header_table_offset_field = 16;
constexpr std::uint64_t header_max_entries_field = 28;
constexpr std::uint64_t header_block_size_field = 32;
constexpr std::uint64_t header_locators_field = 576;
constexpr std::uint64_t locator_entry_bytes = 24;

std::optional<Footer> footer_at(const ByteSource& source, std::uint64_t offset)
{
    std::array<std::byte, footer_size> bytes{};
    source.read_at(bytes, offset);
    return has_footer_cookie(bytes) ? std::optional(parse_footer(bytes)) : std::nullopt;
}

void check_footer_checksum(const Footer& footer, std::uint64_t offset, const char* what, CheckReport& report)
{
    if (footer.checksum != footer.computed_checksum) {
        report.add(what, offset + footer_checksum_field,
                   fmt::format("checksum is wrong: stored 0x{:08x}, computed 0x{:08x}", footer.checksum,
                               footer.computed_checksum));
    }
}

/// The fields that place and size the disk must agree between the footer and its copy.
void compare_footer_copy(const Footer& end, const Footer& copy, CheckReport& report)
{
    const bool same = end.disk_type == copy.disk_type && end.data_offset == copy.data_offset &&
                      end.current_size == copy.current_size && end.unique_id == copy.unique_id &&
                      end.geometry.bytes() == copy.geometry.bytes();
    if (!same) {
        report.add("footer copy", 0,
                   "differs from the footer at the end of the file in disk type, data offset, size, geometry or "
                   "unique id");
    }
}

std::optional<DynamicHeader> check_dynamic_header(const ByteSource& source, std::uint64_t offset, CheckReport& report)
{
    if (!inside_file(source, offset, dynamic_header_size)) {
        report.add("dynamic header", offset,
                   fmt::format("lies past the end of the file (0x{:x} bytes)", source.size()));
        return std::nullopt;
    }
    std::array<std::byte, dynamic_header_size> bytes{};
    source.read_at(bytes, offset);
    DynamicHeader header = parse_dynamic_header(bytes);
    if (!header.has_cookie) {
        report.add("dynamic header", offset, "has no \"cxsparse\" cookie");
        return std::nullopt;
    }
    if (header.checksum != header.computed_checksum) {
        report.add("dynamic header", offset + header_checksum_field,
                   fmt::format("checksum is wrong: stored 0x{:08x}, computed 0x{:08x}", header.checksum,
                               header.computed_checksum));
    }
    if (!std::has_single_bit(header.block_size) || header.block_size < sector_size ||
        header.block_size > max_block_size) {
        report.add("dynamic header", offset + header_block_size_field,
                   fmt::format("block size {} is not a power of two between 512 bytes and 256 MiB", header.block_size));
        return std::nullopt;
    }
    return header;
}

/// Loads the BAT entries the disk uses, once the whole table is known to lie inside the file.
std::optional<std::vector<std::uint32_t>> load_bat(const ByteSource& source, const DynamicHeader& header,
                                                   std::uint64_t header_offset, std::uint64_t needed,
                                                   CheckReport& report)
{
    if (header.max_table_entries < needed) {
        report.add("dynamic header", header_offset + header_max_entries_field,
                   fmt::format("BAT has {} entries, too few for a disk of {} blocks", header.max_table_entries,
                               needed));
        return std::nullopt;
    }
    const std::uint64_t bytes = std::uint64_t{header.max_table_entries} * 4;
    if (!inside_file(source, header.table_offset, bytes)) {
        report.add("BAT", header.table_offset,
                   fmt::format("{} entries run past the end of the file (0x{:x} bytes) (table offset field at "
                               "0x{:x})", header.max_table_entries, source.size(),
                               header_offset + header_table_offset_field));
        return std::nullopt;
    }
    // Only the entries the disk uses are read (as the reader does); the rest must be in the file.
    std::vector<std::byte> raw(static_cast<std::size_t>(needed * 4));
    source.read_at(raw, header.table_offset);
    std::vector<std::uint32_t> bat(static_cast<std::size_t>(needed));
    for (std::size_t i = 0; i < bat.size(); ++i) {
        bat[i] = load_be<std::uint32_t>(raw.data() + i * 4);
    }
    return bat;
}

void add_locators(const DynamicHeader& header, std::uint64_t header_offset, FileLayout& layout, CheckReport& report,
                  std::uint64_t file_size)
{
    const std::uint16_t kind = layout.kind("parent locator data");
    for (std::size_t i = 0; i < header.locators.size(); ++i) {
        const ParentLocator& l = header.locators[i];
        if (l.platform_code == FourCC{} || l.data_length == 0) {
            continue;
        }
        if (l.data_offset > file_size || l.data_length > file_size - l.data_offset) {
            report.add(fmt::format("parent locator {}", i), header_offset + header_locators_field + i * locator_entry_bytes,
                       fmt::format("data of {} bytes at 0x{:x} lies past the end of the file (0x{:x} bytes)",
                                   l.data_length, l.data_offset, file_size));
            continue;
        }
        layout.add(kind, l.data_offset, l.data_length, i);
    }
}

/// Dynamic and differencing disks: header, BAT, locators, blocks.
void check_sparse(const ByteSource& source, const Footer& footer, bool has_end_footer, bool has_copy,
                  CheckReport& report)
{
    const std::uint64_t header_offset = footer.data_offset;
    const std::optional<DynamicHeader> header = check_dynamic_header(source, header_offset, report);
    if (!header) {
        return;
    }
    const SizeChoice size = choose_virtual_size(footer);
    const std::uint64_t block_size = header->block_size;
    const std::uint64_t blocks = units_for(size.bytes, block_size);
    const auto bat = load_bat(source, *header, header_offset, blocks, report);
    if (!bat) {
        return;
    }
    FileLayout layout(source.size());
    if (has_copy) {
        layout.add(layout.kind("footer copy"), 0, footer_size);
    }
    if (has_end_footer) {
        layout.add(layout.kind("footer"), source.size() - footer_size, footer_size);
    }
    layout.add(layout.kind("dynamic header"), header_offset, dynamic_header_size);
    layout.add(layout.kind("BAT"), header->table_offset, std::uint64_t{header->max_table_entries} * 4);
    if (static_cast<DiskType>(footer.disk_type) == DiskType::differencing) {
        add_locators(*header, header_offset, layout, report, source.size());
    }
    // Spec "Block Allocation Table and Data Blocks": an entry is the sector of the block's bitmap,
    // the data follows. Only the part of the last block inside the disk must be in the file.
    const std::uint16_t block_kind = layout.kind("block of BAT entry");
    const std::uint64_t bitmap = bitmap_bytes(block_size);
    for (std::uint64_t i = 0; i < blocks; ++i) {
        if ((*bat)[i] != unallocated_block) {
            layout.add(block_kind, std::uint64_t{(*bat)[i]} * sector_size,
                       bitmap + std::min(block_size, size.bytes - i * block_size), i);
        }
    }
    layout.report(report);
}

}  // namespace

void check_vhd(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
               CheckReport& report)
{
    const std::uint64_t size = source->size();
    if (size < footer_size) {
        report.add("footer", 0, fmt::format("the file of {} bytes is too short to hold a footer", size));
        return;
    }
    const std::uint64_t end_offset = size - footer_size;
    const std::optional<Footer> end = footer_at(*source, end_offset);
    const std::optional<Footer> copy = end_offset > 0 ? footer_at(*source, 0) : std::nullopt;
    if (end) {
        check_footer_checksum(*end, end_offset, "footer", report);
    } else {
        report.add("footer", end_offset, "no footer (cookie \"conectix\") at the end of the file: truncated?");
    }
    const bool copy_counts = copy && static_cast<DiskType>(copy->disk_type) != DiskType::fixed;
    if (!end && !copy_counts) {
        return;
    }
    const Footer& footer = end ? *end : *copy;
    report.subformat = disk_type_name(footer.disk_type);
    const auto type = static_cast<DiskType>(footer.disk_type);
    if (type == DiskType::fixed) {
        const SizeChoice choice = choose_virtual_size(footer);
        if (choice.bytes > end_offset) {
            report.add("footer", end_offset,
                       fmt::format("disk size of {} bytes (from the {}) is larger than the {} data bytes in front "
                                   "of the footer: the file is truncated",
                                   choice.bytes, choice.from_geometry ? "CHS geometry" : "current_size", end_offset));
        }
    } else if (type == DiskType::dynamic || type == DiskType::differencing) {
        if (!copy) {
            report.add("footer copy", 0, "a dynamic or differencing disk has no footer copy at offset 0");
        } else {
            check_footer_checksum(*copy, 0, "footer copy", report);
            if (end) {
                compare_footer_copy(*end, *copy, report);
            }
        }
        if (choose_virtual_size(footer).bytes > max_dynamic_disk_size) {
            report.add("footer", end ? end_offset : 0, "disk size exceeds the 2040 GiB a dynamic VHD can hold");
            return;
        }
        check_sparse(*source, footer, end.has_value(), copy.has_value(), report);
    } else {
        report.add("footer", (end ? end_offset : 0) + 60,
                   fmt::format("disk type {} is not fixed (2), dynamic (3) or differencing (4)", footer.disk_type));
        return;
    }
    if (report.clean()) {
        check_by_reading(format, std::move(source), context, report);
    }
}

}  // namespace diskshift::formats
