// VHD (Virtual Hard Disk Image Format Specification 1.0): fixed, dynamic and differencing disks.
//
// The footer is looked for at the end of the file first (a fixed disk has it nowhere else), then at
// offset 0 (the copy a dynamic disk keeps there). A footer or dynamic header with a bad checksum is
// read anyway and reported in ImageInfo::warnings: qemu refuses such files, but the data behind
// them is usually intact and users need it. Anything that would make a read go wrong (offsets
// outside the file, overlapping structures, a block size or disk size out of range) is an error.
// The writer is in vhd_writer.cpp.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/endian.hpp"
#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "core/rounding.hpp"
#include "core/text.hpp"
#include "formats/builtin.hpp"
#include "formats/checks.hpp"
#include "formats/delta.hpp"
#include "formats/vhd/vhd_layout.hpp"
#include "formats/vhd/vhd_writer.hpp"

namespace diskshift::formats {
namespace {

using namespace vhd;

/// Block sizes accepted: whole sectors, a power of two (spec "Block Size"), at most
/// max_block_size. Every writer seen uses 2 MiB.
constexpr std::uint64_t min_block_size = sector_size;
/// A parent locator holds a path; anything longer than this is not one.
constexpr std::uint32_t max_locator_bytes = 64 * 1024;
/// Bitmap bytes examined per read of a bitmap (32768 sectors, 16 MiB of a block).
constexpr std::size_t bitmap_window_bytes = 4096;
/// do_extents answers at most this many blocks per call (Image::extents calls again for the rest).
constexpr std::uint64_t max_blocks_per_extent_call = 65536;

std::string hex(std::uint64_t value) { return fmt::format("0x{:x}", value); }

// ---------------------------------------------------------------------------------------------
// Finding the footer

struct FoundFooter {
    Footer footer;
    std::uint64_t offset = 0;  ///< where it was read: file size - 512, or 0 for the copy
    bool has_head_copy = false;
    bool has_end_footer = false;
};

std::optional<Footer> footer_at(const ByteSource& source, std::uint64_t offset)
{
    std::array<std::byte, footer_size> bytes{};
    source.read_at(bytes, offset);
    if (!has_footer_cookie(bytes)) {
        return std::nullopt;
    }
    return parse_footer(bytes);
}

bool checksum_ok(const Footer& footer) { return footer.checksum == footer.computed_checksum; }

void warn_bad_footer_checksum(const FoundFooter& found, std::vector<std::string>& warnings)
{
    if (!checksum_ok(found.footer)) {
        warnings.push_back(fmt::format(
            "footer checksum is wrong (offset {}: stored {}, computed {}); read anyway (qemu refuses this file)",
            hex(found.offset), hex(found.footer.checksum), hex(found.footer.computed_checksum)));
    }
}

/// The footer at the end, or the copy at offset 0 when the end has none or when the end's checksum
/// is bad and the copy's is good. A fixed disk has no copy: its first sector is guest data.
FoundFooter find_footer(const ByteSource& source, std::vector<std::string>& warnings)
{
    const std::uint64_t size = source.size();
    if (size < footer_size) {
        fail(Errc::corrupt, "{}: file of {} bytes is too short to hold a VHD footer (512 bytes)", source.name(), size);
    }
    const std::uint64_t end_offset = size - footer_size;
    const std::optional<Footer> end = footer_at(source, end_offset);
    const std::optional<Footer> head = end_offset > 0 ? footer_at(source, 0) : std::nullopt;
    const bool head_usable = head && static_cast<DiskType>(head->disk_type) != DiskType::fixed;

    FoundFooter found;
    found.has_end_footer = end.has_value();
    found.has_head_copy = head.has_value();
    if (end && (checksum_ok(*end) || !head_usable || !checksum_ok(*head))) {
        found.footer = *end;
        found.offset = end_offset;
    } else if (head_usable) {
        found.footer = *head;
        warnings.push_back(end ? fmt::format("footer at the end (offset {}) has a bad checksum; used its copy at offset 0",
                                             hex(end_offset))
                               : fmt::format("no footer at the end of the file (offset {}): the file may be "
                                             "truncated; used the footer copy at offset 0",
                                             hex(end_offset)));
    } else {
        fail(Errc::corrupt, "{}: no VHD footer (cookie \"conectix\") at the end of the file (offset {}){}",
             source.name(), hex(end_offset), head ? " and the copy at offset 0 says it is a fixed disk" : "");
    }
    warn_bad_footer_checksum(found, warnings);
    return found;
}

// ---------------------------------------------------------------------------------------------
// What every VHD reports

std::string version_text(std::uint32_t version) { return fmt::format("{}.{}", version >> 16, version & 0xFFFF); }

std::string geometry_text(const Geometry& g)
{
    return fmt::format("{}/{}/{} (cylinders/heads/sectors per track)", g.cylinders, g.heads, g.sectors_per_track);
}

std::string checksum_text(std::uint32_t stored, std::uint32_t computed)
{
    return stored == computed ? "ok" : fmt::format("bad (stored {}, computed {})", hex(stored), hex(computed));
}

/// A visible note when the two sizes a footer states disagree: the size a reader trusting the other
/// one would give.
std::optional<std::string> size_mismatch_note(const Footer& footer, const SizeChoice& choice)
{
    const std::uint64_t chs = footer.geometry.bytes();
    if (chs == footer.current_size) {
        return std::nullopt;
    }
    const std::uint64_t other = choice.from_geometry ? footer.current_size : chs;
    return fmt::format("CHS geometry gives {} bytes, current_size {}: a reader using the {} would see {} bytes "
                       "instead of {}",
                       chs, footer.current_size, choice.from_geometry ? "current_size" : "CHS geometry", other,
                       choice.bytes);
}

ImageInfo footer_info(const ByteSource& source, const FoundFooter& found, const SizeChoice& choice)
{
    const Footer& f = found.footer;
    ImageInfo info;
    info.filename = source.name();
    info.format = "vhd";
    info.subformat = disk_type_name(f.disk_type);
    info.virtual_size = choice.bytes;
    info.allocated_bytes = source.allocated_bytes();
    info.id = format_uuid(f.unique_id);

    auto& d = info.details;
    d["disk_type"] = disk_type_name(f.disk_type);
    d["creator_application"] = fmt::format("'{}' ({})", fourcc_text(f.creator_app), creator_name(f.creator_app));
    d["creator_version"] = version_text(f.creator_version);
    d["creator_host_os"] = fourcc_text(f.creator_host_os);
    d["created"] = vhd_time_text(f.timestamp);
    d["current_size"] = f.current_size;
    d["original_size"] = f.original_size;
    d["geometry"] = geometry_text(f.geometry);
    d["geometry_size"] = f.geometry.bytes();
    d["virtual_size_from"] = choice.from_geometry ? "CHS geometry" : "current_size";
    d["virtual_size_reason"] = choice.reason;
    if (const auto note = size_mismatch_note(f, choice)) {
        d["size_note"] = *note;
    }
    d["footer_offset"] = found.offset;
    d["footer_copy_at_offset_0"] = found.has_head_copy;
    d["footer_checksum"] = checksum_text(f.checksum, f.computed_checksum);
    d["format_version"] = version_text(f.format_version);
    d["saved_state"] = f.saved_state != 0;
    return info;
}

// ---------------------------------------------------------------------------------------------
// The image: fixed, or blocks of [sector bitmap | data] found through the BAT

/// How guest bytes map to the file. A fixed disk has no blocks (block_size 0): the guest's bytes
/// are the file's first bytes.
struct BlockMap {
    std::uint64_t block_size = 0;
    std::uint64_t bitmap_size = 0;
    std::vector<std::uint32_t> bat;  ///< one entry per block of the virtual disk (sector offsets)
};

class VhdImage final : public Image {
public:
    VhdImage(std::shared_ptr<const ByteSource> source, ImageInfo info, BlockMap layout)
        : Image(std::move(info)), source_(std::move(source)), layout_(std::move(layout))
    {
    }

private:
    void do_read(std::span<std::byte> buf, std::uint64_t offset) const override
    {
        if (layout_.block_size == 0) {
            source_->read_at(buf, offset);
            return;
        }
        while (!buf.empty()) {
            const std::uint64_t block = offset / layout_.block_size;
            const std::uint64_t in_block = offset % layout_.block_size;
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), layout_.block_size - in_block));
            read_block_piece(layout_.bat[block], in_block, buf.first(n));
            buf = buf.subspan(n);
            offset += n;
        }
    }

    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override
    {
        if (layout_.block_size == 0) {
            return source_->allocation(offset, length);  // the file's holes read as zeros
        }
        ExtentList out(offset);
        const std::uint64_t end = offset + length;
        for (std::uint64_t blocks = 0; offset < end && blocks < max_blocks_per_extent_call; ++blocks) {
            const std::uint64_t block = offset / layout_.block_size;
            const std::uint64_t in_block = offset % layout_.block_size;
            const std::uint64_t n = std::min(end - offset, layout_.block_size - in_block);
            const std::uint32_t entry = layout_.bat[block];
            if (entry == unallocated_block) {
                out.append(n, ExtentKind::unallocated);
            } else {
                for_each_bitmap_run(entry, in_block, in_block + n, [&](std::uint64_t, std::uint64_t len, bool present) {
                    out.append(len, present ? ExtentKind::data : ExtentKind::unallocated);
                });
            }
            offset += n;
        }
        return out;
    }

    /// Reads [in_block, in_block + piece.size()) of a block: the data in one read straight into
    /// the caller's buffer, then zeros over the sectors whose bitmap bit is clear (spec "Block
    /// Allocation Table and Data Blocks": a clear bit means the sector is not in this file).
    void read_block_piece(std::uint32_t entry, std::uint64_t in_block, std::span<std::byte> piece) const
    {
        if (entry == unallocated_block) {
            std::fill(piece.begin(), piece.end(), std::byte{0});
            return;
        }
        source_->read_at(piece, block_data_offset(entry) + in_block);
        for_each_bitmap_run(entry, in_block, in_block + piece.size(),
                            [&](std::uint64_t run, std::uint64_t len, bool present) {
                                if (!present) {
                                    std::fill_n(piece.begin() + static_cast<std::ptrdiff_t>(run - in_block), len,
                                                std::byte{0});
                                }
                            });
    }

    std::uint64_t block_data_offset(std::uint32_t entry) const
    {
        return std::uint64_t{entry} * sector_size + layout_.bitmap_size;
    }

    /// Calls `visit(offset_in_block, length, present)` for the runs of sectors with one bitmap
    /// value that cover [begin, end) of a block, in order, clipped to [begin, end). The bitmap is
    /// MSB first: sector 0 is bit 7 of byte 0. Reads the bitmap bytes the range needs, at most
    /// bitmap_window_bytes at a time into a stack buffer.
    template <typename Visit>
    void for_each_bitmap_run(std::uint32_t entry, std::uint64_t begin, std::uint64_t end, Visit&& visit) const
    {
        const std::uint64_t bitmap_offset = std::uint64_t{entry} * sector_size;
        std::uint64_t run_start = begin;
        bool run_present = false;
        std::uint64_t sector = begin / sector_size;
        const std::uint64_t last_sector = units_for(end, sector_size);
        std::array<std::byte, bitmap_window_bytes> window;  // filled by each read before use
        while (sector < last_sector) {
            const std::uint64_t first_byte = sector / 8;
            const std::uint64_t bytes = std::min<std::uint64_t>(bitmap_window_bytes, (last_sector + 7) / 8 - first_byte);
            source_->read_at(std::span(window).first(static_cast<std::size_t>(bytes)), bitmap_offset + first_byte);
            const std::uint64_t window_end = std::min(last_sector, (first_byte + bytes) * 8);
            for (; sector < window_end; ++sector) {
                const auto byte = static_cast<unsigned>(window[static_cast<std::size_t>(sector / 8 - first_byte)]);
                const bool present = ((byte >> (7 - sector % 8)) & 1U) != 0;
                const std::uint64_t at = std::max(begin, sector * sector_size);
                if (at == begin) {
                    run_present = present;
                } else if (present != run_present) {
                    visit(run_start, at - run_start, run_present);
                    run_start = at;
                    run_present = present;
                }
            }
        }
        visit(run_start, end - run_start, run_present);
    }

    std::shared_ptr<const ByteSource> source_;
    BlockMap layout_;
};

// Fixed disks: the data, then the footer

std::unique_ptr<Image> open_fixed(std::shared_ptr<const ByteSource> source, const FoundFooter& found,
                                  std::vector<std::string> warnings)
{
    const SizeChoice choice = choose_virtual_size(found.footer);
    if (choice.bytes > found.offset) {
        fail(Errc::corrupt,
             "{}: footer disk size of {} bytes (from the {}) is larger than the {} data bytes in front of the "
             "footer (offset {}): the file is truncated",
             source->name(), choice.bytes, choice.from_geometry ? "CHS geometry" : "current_size", found.offset,
             hex(found.offset));
    }
    ImageInfo info = footer_info(*source, found, choice);
    info.warnings = std::move(warnings);
    return std::make_unique<VhdImage>(std::move(source), std::move(info), BlockMap{});
}

// Dynamic and differencing disks: header, BAT, blocks of [sector bitmap | data]

/// One byte range of the file that holds metadata, which no block may overlap.
struct FileRegion {
    std::uint64_t offset;
    std::uint64_t length;
    const char* what;
};

DynamicHeader read_dynamic_header(const ByteSource& source, const Footer& footer, std::vector<std::string>& warnings)
{
    const std::uint64_t offset = footer.data_offset;
    if (!inside_file(source, offset, dynamic_header_size)) {
        fail(Errc::corrupt, "{}: dynamic header (footer data offset {}) lies past the end of the file ({} bytes)",
             source.name(), hex(offset), source.size());
    }
    std::array<std::byte, dynamic_header_size> bytes{};
    source.read_at(bytes, offset);
    DynamicHeader header = parse_dynamic_header(bytes);
    if (!header.has_cookie) {
        fail(Errc::corrupt, "{}: dynamic header has no \"cxsparse\" cookie (offset {})", source.name(), hex(offset));
    }
    if (header.checksum != header.computed_checksum) {
        warnings.push_back(fmt::format(
            "dynamic header checksum is wrong (offset {}: stored {}, computed {}); read anyway (qemu refuses this file)",
            hex(offset), hex(header.checksum), hex(header.computed_checksum)));
    }
    if (!std::has_single_bit(header.block_size) || header.block_size < min_block_size ||
        header.block_size > max_block_size) {
        fail(Errc::corrupt,
             "{}: dynamic header block size {} is not a power of two between 512 bytes and 256 MiB (offset {})",
             source.name(), header.block_size, hex(offset + 32));
    }
    return header;
}

void check_dynamic_size(const ByteSource& source, const FoundFooter& found, const SizeChoice& choice)
{
    if (choice.bytes > max_dynamic_disk_size) {
        fail(Errc::corrupt,
             "{}: footer disk size of {} bytes (from the {}) exceeds the 2040 GiB a dynamic VHD can hold (offset {})",
             source.name(), choice.bytes, choice.from_geometry ? "CHS geometry" : "current_size", hex(found.offset));
    }
}

/// Loads the BAT entries the virtual disk needs, in one read, after checking they fit in the file.
std::vector<std::uint32_t> load_bat(const ByteSource& source, const DynamicHeader& header, std::uint64_t entries,
                                    std::uint64_t header_offset)
{
    if (header.max_table_entries < entries) {
        fail(Errc::corrupt, "{}: BAT has {} entries, too few for a disk of {} blocks (dynamic header offset {})",
             source.name(), header.max_table_entries, entries, hex(header_offset));
    }
    const std::uint64_t bytes = entries * 4;
    if (!inside_file(source, header.table_offset, bytes)) {
        fail(Errc::corrupt, "{}: BAT of {} entries at offset {} runs past the end of the file ({} bytes)",
             source.name(), entries, hex(header.table_offset), source.size());
    }
    std::vector<std::uint32_t> bat(static_cast<std::size_t>(entries));
    source.read_at(std::as_writable_bytes(std::span(bat)), header.table_offset);
    for (std::uint32_t& entry : bat) {
        entry = load_be<std::uint32_t>(reinterpret_cast<const std::byte*>(&entry));
    }
    return bat;
}

bool overlaps(std::uint64_t a, std::uint64_t a_length, const FileRegion& r)
{
    return a < r.offset + r.length && r.offset < a + a_length;
}

/// Every allocated block (its bitmap and the part of its data inside the disk) must lie inside
/// the file and clear of the footers, the dynamic header and the BAT.
void check_blocks(const ByteSource& source, const BlockMap& layout, std::uint64_t disk_size,
                  std::span<const FileRegion> metadata, std::uint64_t bat_offset)
{
    for (std::size_t i = 0; i < layout.bat.size(); ++i) {
        if (layout.bat[i] == unallocated_block) {
            continue;
        }
        const std::uint64_t start = std::uint64_t{layout.bat[i]} * sector_size;
        const std::uint64_t length = layout.bitmap_size + std::min(layout.block_size, disk_size - i * layout.block_size);
        if (!inside_file(source, start, length)) {
            fail(Errc::corrupt, "{}: BAT entry {} points past the end of the file: block at offset {}, file of {} bytes "
                 "(BAT at offset {})", source.name(), i, hex(start), source.size(), hex(bat_offset));
        }
        for (const FileRegion& region : metadata) {
            if (overlaps(start, length, region)) {
                fail(Errc::corrupt, "{}: BAT entry {} puts a block at offset {} over the {} (offset {})", source.name(), i,
                     hex(start), region.what, hex(region.offset));
            }
        }
    }
}

std::vector<FileRegion> metadata_regions(const ByteSource& source, const FoundFooter& found, const DynamicHeader& header,
                                         std::uint64_t bat_entries)
{
    std::vector<FileRegion> regions = {
        {found.footer.data_offset, dynamic_header_size, "dynamic header"},
        {header.table_offset, bat_entries * 4, "BAT"},
    };
    if (found.has_head_copy) {
        regions.push_back({0, footer_size, "footer copy"});
    }
    if (found.has_end_footer) {
        regions.push_back({source.size() - footer_size, footer_size, "footer"});
    }
    return regions;
}

// Differencing disks: where the parent is

/// A locator's path as text: UTF-16 LE for W2ku/W2ru (verified on Windows-made files, although
/// the spec's header name is big-endian); a file URL (MacX) or an old narrow path (Wi2r/Wi2k) kept
/// as printable ASCII; nothing for a Mac alias blob.
std::string locator_path(const FourCC& code, std::span<const std::byte> data)
{
    const std::string name(code.data(), code.size());
    if (name == "W2ku" || name == "W2ru") {
        return utf16_to_utf8(data, Endian::little);
    }
    if (name == "MacX" || name == "Wi2r" || name == "Wi2k") {
        return printable_text(data);
    }
    return {};
}

struct Locator {
    std::string platform;
    std::string path;
};

std::vector<Locator> read_locators(const ByteSource& source, const DynamicHeader& header, std::uint64_t header_offset,
                                   nlohmann::ordered_json& details, std::vector<std::string>& warnings)
{
    std::vector<Locator> found;
    details["parent_locators"] = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < header.locators.size(); ++i) {
        const ParentLocator& l = header.locators[i];
        if (l.platform_code == FourCC{}) {
            continue;
        }
        const std::string platform = fourcc_text(l.platform_code);
        nlohmann::ordered_json entry = {{"platform", platform},
                                        {"data_offset", l.data_offset},
                                        {"data_length", l.data_length},
                                        {"data_space", l.data_space}};
        if (l.data_length > max_locator_bytes || !inside_file(source, l.data_offset, l.data_length)) {
            warnings.push_back(fmt::format("parent locator {} ('{}') data of {} bytes at offset {} lies outside the "
                                           "file or is too long; ignored (dynamic header offset {})",
                                           i, platform, l.data_length, hex(l.data_offset), hex(header_offset)));
        } else {
            std::vector<std::byte> data(l.data_length);
            source.read_at(data, l.data_offset);
            const std::string path = locator_path(l.platform_code, data);
            entry["path"] = path;
            found.push_back({std::string(l.platform_code.data(), 4), path});
        }
        details["parent_locators"].push_back(std::move(entry));
    }
    return found;
}

std::string with_forward_slashes(std::string path)
{
    std::replace(path.begin(), path.end(), '\\', '/');
    return path;
}

/// The parent's path to try first: the relative Windows path (W2ru), which stays right when parent
/// and child move together and resolves against the child's folder; then the absolute one (W2ku),
/// the file URL (MacX), the old narrow paths, and last the header's parent name. Windows
/// separators become '/'.
std::pair<std::string, std::string> best_parent_hint(const std::vector<Locator>& locators,
                                                     const std::string& parent_name)
{
    for (const char* platform : {"W2ru", "W2ku", "MacX", "Wi2r", "Wi2k"}) {
        for (const Locator& l : locators) {
            if (l.platform == platform && !l.path.empty()) {
                std::string path = l.path;
                if (l.platform == "MacX" && path.starts_with("file://")) {
                    path = path.substr(7);
                    path = path.starts_with("localhost/") ? path.substr(9) : path;
                    return {path, "MacX locator"};
                }
                return {with_forward_slashes(path), l.platform + " locator"};
            }
        }
    }
    return {with_forward_slashes(parent_name), parent_name.empty() ? "nothing" : "parent name"};
}

void describe_parent(const ByteSource& source, const DynamicHeader& header, std::uint64_t header_offset,
                     ImageInfo& info)
{
    auto& d = info.details;
    d["parent_unique_id"] = format_uuid(header.parent_unique_id);
    d["parent_timestamp"] = header.parent_timestamp == 0 ? "0 (not recorded)" : vhd_time_text(header.parent_timestamp);
    d["parent_name"] = header.parent_name;
    const std::vector<Locator> locators = read_locators(source, header, header_offset, d, info.warnings);
    const auto [hint, from] = best_parent_hint(locators, header.parent_name);
    d["parent_hint_from"] = from;
    info.parent = ParentRef{hint, format_uuid(header.parent_unique_id)};
}

std::unique_ptr<Image> open_sparse(std::shared_ptr<const ByteSource> source, const FoundFooter& found,
                                   std::vector<std::string> warnings)
{
    const std::uint64_t header_offset = found.footer.data_offset;
    const DynamicHeader header = read_dynamic_header(*source, found.footer, warnings);
    const SizeChoice choice = choose_virtual_size(found.footer);
    check_dynamic_size(*source, found, choice);

    BlockMap layout;
    layout.block_size = header.block_size;
    layout.bitmap_size = bitmap_bytes(header.block_size);
    const std::uint64_t entries = units_for(choice.bytes, layout.block_size);
    layout.bat = load_bat(*source, header, entries, header_offset);
    check_blocks(*source, layout, choice.bytes, metadata_regions(*source, found, header, entries), header.table_offset);

    ImageInfo info = footer_info(*source, found, choice);
    info.warnings = std::move(warnings);
    info.cluster_size = layout.block_size;
    auto& d = info.details;
    d["dynamic_header_offset"] = header_offset;
    d["dynamic_header_checksum"] = checksum_text(header.checksum, header.computed_checksum);
    d["block_size"] = layout.block_size;
    d["bat_offset"] = header.table_offset;
    d["bat_entries"] = header.max_table_entries;
    d["allocated_blocks"] = std::count_if(layout.bat.begin(), layout.bat.end(),
                                          [](std::uint32_t e) { return e != unallocated_block; });
    if (static_cast<DiskType>(found.footer.disk_type) == DiskType::differencing) {
        describe_parent(*source, header, header_offset, info);
    }
    return std::make_unique<VhdImage>(std::move(source), std::move(info), std::move(layout));
}

class VhdFormat final : public Format {
public:
    std::string_view name() const noexcept override { return "vhd"; }
    std::string_view description() const noexcept override
    {
        return "Virtual PC / Hyper-V VHD: fixed, dynamic, differencing (qemu: vpc)";
    }
    bool can_write() const noexcept override { return true; }

    /// The footer cookie at the end (every VHD) or at offset 0 (the copy of a dynamic disk).
    int probe(const ProbeInput& input) const noexcept override
    {
        const bool at_end = input.tail.size() >= footer_size && has_footer_cookie(input.tail.last(footer_size));
        return at_end || has_footer_cookie(input.head) ? 100 : 0;
    }

    std::unique_ptr<Image> open(std::shared_ptr<const ByteSource> source, const OpenContext& context) const override
    {
        std::vector<std::string> warnings;
        const FoundFooter found = find_footer(*source, warnings);
        std::unique_ptr<Image> image;
        switch (static_cast<DiskType>(found.footer.disk_type)) {
        case DiskType::fixed:
            image = open_fixed(std::move(source), found, std::move(warnings));
            break;
        case DiskType::dynamic:
        case DiskType::differencing:
            image = open_sparse(std::move(source), found, std::move(warnings));
            break;
        case DiskType::none:
        default:
            fail(Errc::unsupported, "{}: footer disk type {} is not fixed (2), dynamic (3) or differencing (4) "
                 "(offset {})", source->name(), found.footer.disk_type, hex(found.offset + 60));
        }
        refuse_delta_alone(image->info(), context);
        return image;
    }

    std::unique_ptr<Writer> create(ByteSink& sink, CreateRequest request) const override
    {
        return create_writer(sink, std::move(request));
    }

    void check(std::shared_ptr<const ByteSource> source, const OpenContext& context,
               CheckReport& report) const override
    {
        check_vhd(*this, std::move(source), context, report);
    }
};

}  // namespace

const Format& vhd_format() noexcept
{
    static const VhdFormat format;
    return format;
}

}  // namespace diskshift::formats
