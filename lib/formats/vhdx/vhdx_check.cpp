// Checking a VHDX (MS-VHDX 1.0): the file identifier, both headers (signature, CRC-32C, sequence
// numbers, log fields), both region tables (signature, CRC-32C, equal entries), the log (clean,
// pending replay, or damaged), the metadata, and every BAT entry: payload blocks and sector bitmap
// blocks inside the file, clear of the header area, the log, the regions and each other.
//
// A pending log is a state, not a problem: Hyper-V replays it on the next open. It is replayed in
// memory (never written) and the structures are checked as a reader would see them after the
// replay. Sector bitmap entries of a disk without a parent are not looked at: they are unused
// there, and qemu before 7.2.2 left garbage in them (reference vhdx.md §8.7).
#include <array>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/endian.hpp"
#include "formats/checks.hpp"
#include "formats/vhdx/vhdx_layout.hpp"
#include "ops/check_layout.hpp"

namespace diskshift::formats {
namespace {

using namespace vhdx;

/// Offsets inside a header (2.2.2) and a region table (2.2.3) that problems name.
constexpr std::uint64_t checksum_field = 4;
constexpr std::uint64_t sequence_field = 8;
constexpr std::uint64_t log_version_field = 64;  ///< then Version, LogLength, LogOffset
constexpr std::uint64_t region_count_field = 8;
constexpr std::uint64_t region_entries_at = 16;
constexpr std::uint64_t region_entry_bytes = 32;

bool starts_with(std::span<const std::byte> bytes, std::string_view signature)
{
    return bytes.size() >= signature.size() && std::memcmp(bytes.data(), signature.data(), signature.size()) == 0;
}

struct HeaderFacts {
    bool valid = false;
    std::uint64_t sequence = 0;
};

/// Signature and checksum of header `i` (0 or 1).
HeaderFacts check_header(const ByteSource& file, unsigned i, CheckReport& report)
{
    std::array<std::byte, header_size> bytes{};
    file.read_at(bytes, header_offsets[i]);
    const std::string name = fmt::format("header {}", i + 1);
    if (!starts_with(bytes, "head")) {
        report.add(name, header_offsets[i], "has no signature \"head\"");
        return {};
    }
    if (!checksum_field_holds(bytes)) {
        report.add(name, header_offsets[i] + checksum_field,
                   fmt::format("CRC-32C is wrong (stored 0x{:08x})", load_le<std::uint32_t>(bytes.data() + 4)));
        return {};
    }
    // 2.2.2: Version 1, LogVersion 0, LogOffset and LogLength multiples of 1 MiB.
    const auto log_version = load_le<std::uint16_t>(bytes.data() + log_version_field);
    const auto version = load_le<std::uint16_t>(bytes.data() + log_version_field + 2);
    const auto log_length = load_le<std::uint32_t>(bytes.data() + log_version_field + 4);
    const auto log_offset = load_le<std::uint64_t>(bytes.data() + log_version_field + 8);
    if (version != 1 || log_version != 0) {
        report.add(name, header_offsets[i] + log_version_field,
                   fmt::format("version {} and log version {} are not 1 and 0", version, log_version));
        return {};
    }
    if (log_length % MiB != 0 || log_offset % MiB != 0 || (log_length != 0 && log_offset < header_area_size)) {
        report.add(name, header_offsets[i] + log_version_field + 4,
                   fmt::format("log of 0x{:x} bytes at 0x{:x} is not 1 MiB-aligned past the header area", log_length,
                               log_offset));
        return {};
    }
    return {true, load_le<std::uint64_t>(bytes.data() + sequence_field)};
}

void check_headers(const ByteSource& file, CheckReport& report)
{
    const HeaderFacts first = check_header(file, 0, report);
    const HeaderFacts second = check_header(file, 1, report);
    // 2.2.2.1: the current header is the valid one with the greater sequence number; two valid
    // headers with the same number leave no current one (qemu refuses such a file).
    if (first.valid && second.valid && first.sequence == second.sequence) {
        report.add("header 2", header_offsets[1] + sequence_field,
                   fmt::format("has the same sequence number ({}) as header 1: neither is current", first.sequence));
    }
}

/// Signature and checksum of both copies; the entries of two valid copies must agree.
void check_region_tables(const ByteSource& file, CheckReport& report)
{
    std::array<std::vector<std::byte>, 2> copies;
    std::array<bool, 2> valid{};
    for (unsigned i = 0; i < 2; ++i) {
        copies[i].resize(region_table_size);
        file.read_at(copies[i], region_table_offsets[i]);
        const std::string name = fmt::format("region table {}", i + 1);
        if (!starts_with(copies[i], "regi")) {
            report.add(name, region_table_offsets[i], "has no signature \"regi\"");
        } else if (!checksum_field_holds(copies[i])) {
            report.add(name, region_table_offsets[i] + checksum_field,
                       fmt::format("CRC-32C is wrong (stored 0x{:08x})", load_le<std::uint32_t>(copies[i].data() + 4)));
        } else {
            valid[i] = true;
        }
    }
    if (valid[0] && valid[1]) {
        const std::uint32_t count = std::min(load_le<std::uint32_t>(copies[0].data() + region_count_field),
                                             max_region_entries);
        const std::size_t used = region_entries_at + region_entry_bytes * count;
        if (std::memcmp(copies[0].data(), copies[1].data(), used) != 0) {
            report.add("region table 2", region_table_offsets[1], "differs from region table 1");
        }
    }
}

/// The log as a state fact, or a problem when a pending log cannot be replayed.
std::shared_ptr<const ByteSource> check_log(std::shared_ptr<const ByteSource> file, const Header& header,
                                            CheckReport& report)
{
    if (is_zero_guid(header.log_guid)) {
        report.state["log"] = "clean (nothing to replay)";
        return file;
    }
    ImageInfo scratch;
    try {
        auto replayed = replay_log(file, header, scratch);
        const auto& log = scratch.details["log"];
        if (log.value("replayed", false)) {
            report.state["log"] = fmt::format("pending replay: {} entries (sequence {}); checked as replayed in "
                                              "memory, the file is unchanged",
                                              log.value("entries", 0), log.value("sequence_numbers", ""));
        } else {
            report.state["log"] = "the header names a log, but it holds no valid entry: nothing to replay";
        }
        return replayed;
    } catch (const Error& e) {
        report.add_error("log", e);
        return nullptr;
    }
}

/// Every BAT entry a reader uses, placed in `layout` (which already holds the metadata).
void check_bat(const ByteSource& file, const Geometry& g, const Region& bat_region, FileLayout& layout,
               CheckReport& report)
{
    const std::uint64_t entries = g.bat_entries();
    if (entries > bat_region.length / 8) {
        report.add("BAT region", bat_region.offset,
                   fmt::format("holds {} entries, but the disk needs {}", bat_region.length / 8, entries));
        return;
    }
    std::vector<std::byte> raw(static_cast<std::size_t>(entries * 8));
    file.read_at(raw, bat_region.offset);
    auto entry = [&](std::uint64_t i) { return load_le<std::uint64_t>(raw.data() + 8 * i); };
    const std::uint16_t payload = layout.kind("payload block of BAT entry");
    const std::uint16_t bitmap = layout.kind("sector bitmap block of BAT entry");
    std::vector<bool> bitmap_added(g.differencing ? units_for(g.blocks, g.chunk_ratio) : 0);
    for (std::uint64_t block = 0; block < g.blocks; ++block) {
        const std::uint64_t index = g.payload_index(block);
        const std::uint64_t e = entry(index);
        const std::uint8_t state = e & 7;
        const std::uint64_t at = bat_region.offset + 8 * index;
        if (state == 4 || (state == block_partially_present && !g.differencing)) {
            report.add(fmt::format("BAT entry {}", index), at,
                       fmt::format("state {} is invalid in a {} disk", state,
                                   g.differencing ? "differencing" : "non-differencing"));
            continue;
        }
        if (state == block_fully_present || state == block_partially_present) {
            layout.add(payload, e & bat_offset_mask, g.block_bytes(block), index);
        }
        if (state == block_partially_present) {
            const std::uint64_t sb_index = g.bitmap_index(block);
            const std::uint64_t sb = entry(sb_index);
            if ((sb & 7) != sector_bitmap_present) {
                report.add(fmt::format("BAT entry {}", sb_index), bat_region.offset + 8 * sb_index,
                           fmt::format("sector bitmap entry is not present, but payload entry {} is partially present",
                                       index));
            } else if (!bitmap_added[block / g.chunk_ratio]) {
                bitmap_added[block / g.chunk_ratio] = true;
                layout.add(bitmap, sb & bat_offset_mask, MiB, sb_index);
            }
        }
    }
}

void check_structures(std::shared_ptr<const ByteSource> file, CheckReport& report)
{
    if (file->size() < header_area_size) {
        report.add("header area", 0, fmt::format("the file of 0x{:x} bytes ends inside the 1 MiB header area",
                                                 file->size()));
        return;
    }
    check_headers(*file, report);
    check_region_tables(*file, report);
    ImageInfo scratch;
    std::optional<Header> header;
    try {
        header = read_current_header(*file, scratch);
    } catch (const Error& e) {
        report.add_error("headers", e);
        return;
    }
    const std::shared_ptr<const ByteSource> source = check_log(file, *header, report);
    if (!source) {
        return;
    }
    try {
        const RegionTable regions = read_region_table(*source, scratch);
        const Metadata metadata = read_metadata(*source, regions.metadata);
        report.subformat = metadata.has_parent ? "differencing"
                           : metadata.leave_blocks_allocated ? "fixed"
                                                             : "dynamic";
        FileLayout layout(source->size());
        layout.add(layout.kind("header area"), 0, header_area_size);
        layout.add(layout.kind("log"), header->log_offset, header->log_length);
        layout.add(layout.kind("metadata region"), regions.metadata.offset, regions.metadata.length);
        layout.add(layout.kind("BAT region"), regions.bat.offset, regions.bat.length);
        check_bat(*source, Geometry(metadata), regions.bat, layout, report);
        layout.report(report);
    } catch (const Error& e) {
        report.add_error("region table or metadata", e);
    }
}

}  // namespace

void check_vhdx(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
                CheckReport& report)
{
    std::array<std::byte, 8> identifier{};
    if (source->size() < identifier.size()) {
        report.add("file identifier", 0, "the file is too short to hold the identifier \"vhdxfile\"");
        return;
    }
    source->read_at(identifier, 0);
    if (!starts_with(identifier, "vhdxfile")) {
        report.add("file identifier", 0, "has no signature \"vhdxfile\"");
        return;
    }
    check_structures(source, report);
    if (report.clean()) {
        check_by_reading(format, std::move(source), context, report);
    }
}

}  // namespace diskshift::formats
