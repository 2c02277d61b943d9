// VHDX (MS-VHDX 1.0): the BAT and its block states, differencing disks, the format entry points.
// Opening reads the current header, replays a pending log in memory, then reads the region table,
// the metadata and the whole BAT through the replayed view; reads never change afterwards.
#include <algorithm>
#include <cstring>

#include "core/endian.hpp"
#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "core/text.hpp"
#include "formats/builtin.hpp"
#include "formats/checks.hpp"
#include "formats/delta.hpp"
#include "formats/vhdx/vhdx_layout.hpp"

namespace diskshift::formats {
namespace {

using namespace vhdx;

/// Sectors one partial-block run looks at per bitmap read: 512 bitmap bytes on the stack.
constexpr std::uint64_t bitmap_bytes_per_read = 512;

const char* state_name(std::uint8_t state)
{
    static constexpr const char* names[] = {"not_present", "undefined", "zero", "unmapped",
                                            "reserved_4", "unmapped_v095", "fully_present", "partially_present"};
    return names[state & 7];
}

/// A stretch of the disk inside one block, with one answer.
struct Run {
    std::uint64_t length = 0;
    ExtentKind kind = ExtentKind::unallocated;
    std::uint64_t file_offset = 0;  ///< for `data`
};

class VhdxImage final : public Image {
public:
    VhdxImage(ImageInfo info, std::shared_ptr<const ByteSource> source, const Geometry& geometry,
              std::vector<std::uint64_t> bat)
        : Image(std::move(info)), source_(std::move(source)), geometry_(geometry), bat_(std::move(bat))
    {
    }

private:
    void do_read(std::span<std::byte> buf, std::uint64_t offset) const override
    {
        while (!buf.empty()) {
            const Run run = run_at(offset, buf.size());
            const auto part = buf.first(run.length);
            if (run.kind == ExtentKind::data) {
                source_->read_at(part, run.file_offset);
            } else {
                std::fill(part.begin(), part.end(), std::byte{0});
            }
            buf = buf.subspan(run.length);
            offset += run.length;
        }
    }

    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override
    {
        ExtentList out(offset);
        while (out.length() < length) {
            const Run run = run_at(out.end_offset(), length - out.length());
            out.append(run.length, run.kind);
        }
        return out;
    }

    /// The run at `offset`, at most `max_length` bytes and never past its block.
    Run run_at(std::uint64_t offset, std::uint64_t max_length) const
    {
        const std::uint64_t block = offset / geometry_.block_size;
        const std::uint64_t inner = offset % geometry_.block_size;
        const std::uint64_t length = std::min(max_length, geometry_.block_size - inner);
        const std::uint64_t entry = bat_[geometry_.payload_index(block)];
        const std::uint64_t data_offset = (entry & bat_offset_mask) + inner;
        switch (entry & 7) {
        case block_fully_present:
            return {length, ExtentKind::data, data_offset};
        case block_partially_present:
            return bitmap_run(block, inner, length, data_offset);
        case block_zero:
        case block_unmapped:
        case block_unmapped_draft:
            return {length, ExtentKind::zero, 0};
        default:  // NOT_PRESENT, UNDEFINED: this layer says nothing (zeros at the bottom of a chain)
            return {length, ExtentKind::unallocated, 0};
        }
    }

    /// A run of a PARTIALLY_PRESENT block: sectors whose bit is set in the chunk's sector bitmap
    /// (LSB first, 2.5.1.2) are in this file, the others in the parent.
    Run bitmap_run(std::uint64_t block, std::uint64_t inner, std::uint64_t length, std::uint64_t data_offset) const
    {
        const std::uint64_t sector_size = geometry_.sector_size;
        const std::uint64_t first_sector = inner / sector_size;
        const std::uint64_t block_sectors = geometry_.block_size / sector_size;
        const std::uint64_t bitmap_offset = (bat_[geometry_.bitmap_index(block)] & bat_offset_mask) +
                                            (block % geometry_.chunk_ratio) * (block_sectors / 8);
        std::array<std::byte, bitmap_bytes_per_read> bits;
        const std::uint64_t from_byte = first_sector / 8;
        const std::uint64_t byte_count = std::min<std::uint64_t>(bits.size(), block_sectors / 8 - from_byte);
        source_->read_at(std::span(bits).first(byte_count), bitmap_offset + from_byte);
        auto bit = [&](std::uint64_t sector) {
            const std::uint64_t i = sector - from_byte * 8;
            return (static_cast<unsigned>(bits[i / 8]) >> (i % 8)) & 1U;
        };
        const unsigned present = bit(first_sector);
        const std::uint64_t end_sector = (from_byte + byte_count) * 8;
        std::uint64_t sector = first_sector + 1;
        while (sector < end_sector && bit(sector) == present) {
            ++sector;
        }
        const std::uint64_t run_length = std::min(length, sector * sector_size - inner);
        return present != 0 ? Run{run_length, ExtentKind::data, data_offset} : Run{run_length, ExtentKind::unallocated, 0};
    }

    std::shared_ptr<const ByteSource> source_;
    Geometry geometry_;
    std::vector<std::uint64_t> bat_;
};

// --- opening ---

/// The file ranges no data block may overlap: the header area, the log, the metadata and the BAT.
struct ReservedRanges {
    std::vector<std::pair<Region, const char*>> ranges;

    const char* overlapped_by(std::uint64_t offset, std::uint64_t length) const
    {
        for (const auto& [r, name] : ranges) {
            if (r.overlaps({offset, length})) {
                return name;
            }
        }
        return nullptr;
    }
};

void check_block_place(const ByteSource& file, const ReservedRanges& reserved, std::uint64_t index,
                       std::uint64_t entry, std::uint64_t length, std::uint64_t bat_offset)
{
    const std::uint64_t offset = entry & bat_offset_mask;
    if (!inside_file(file, offset, length)) {
        fail(Errc::corrupt, "{}: BAT entry {} points to [0x{:x}, 0x{:x}), past the end of the file at 0x{:x} "
             "(offset 0x{:x})", file.name(), index, offset, offset + length, file.size(), bat_offset + 8 * index);
    }
    if (const char* name = reserved.overlapped_by(offset, length)) {
        fail(Errc::corrupt, "{}: BAT entry {} points to [0x{:x}, 0x{:x}), which overlaps the {} (offset 0x{:x})",
             file.name(), index, offset, offset + length, name, bat_offset + 8 * index);
    }
}

/// The BAT and metadata regions must not overlap the log (MS-VHDX 2.2: objects do not overlap).
void check_clear_of_log(const ByteSource& file, const RegionTable& regions, const Header& header)
{
    const Region log{header.log_offset, header.log_length};
    for (const auto& [region, name] : {std::pair{regions.bat, "BAT"}, {regions.metadata, "metadata"}}) {
        if (region.overlaps(log)) {
            fail(Errc::corrupt, "{}: the {} region [0x{:x}, 0x{:x}) overlaps the log [0x{:x}, 0x{:x}) (header {} at "
                 "offset 0x{:x})", file.name(), name, region.offset, region.end(), log.offset,
                 log.offset + log.length, header.index, header_offsets[header.index - 1]);
        }
    }
}

/// Reads the BAT and checks every entry a read will use; counts the payload block states.
std::vector<std::uint64_t> read_bat(const ByteSource& file, const Geometry& g, const RegionTable& regions,
                                    const Header& header, ImageInfo& info)
{
    const std::uint64_t entries = g.bat_entries();
    if (entries > regions.bat.length / 8) {
        fail(Errc::corrupt, "{}: the BAT region holds {} entries, but a {}-byte disk with {}-byte blocks needs {} "
             "(offset 0x{:x})", file.name(), regions.bat.length / 8, g.virtual_size, g.block_size, entries,
             regions.bat.offset);
    }
    // Read straight into the table and decode in place: one copy of the BAT in memory.
    std::vector<std::uint64_t> bat(entries);
    file.read_at(std::as_writable_bytes(std::span(bat)), regions.bat.offset);
    for (std::uint64_t& entry : bat) {
        entry = load_le<std::uint64_t>(reinterpret_cast<const std::byte*>(&entry));
    }
    ReservedRanges reserved{{{Region{0, header_area_size}, "header area"},
                             {Region{header.log_offset, header.log_length}, "log"},
                             {regions.metadata, "metadata region"},
                             {regions.bat, "BAT region"}}};
    std::array<std::uint64_t, 8> counts{};
    for (std::uint64_t block = 0; block < g.blocks; ++block) {
        const std::uint64_t index = g.payload_index(block);
        const std::uint8_t state = bat[index] & 7;
        ++counts[state];
        if (state == 4 || (state == block_partially_present && !g.differencing)) {
            fail(Errc::corrupt, "{}: BAT entry {} has the state {} ({}), invalid in a {} disk (offset 0x{:x})",
                 file.name(), index, state, state_name(state), g.differencing ? "differencing" : "non-differencing",
                 regions.bat.offset + 8 * index);
        }
        if (state == block_fully_present || state == block_partially_present) {
            check_block_place(file, reserved, index, bat[index], g.block_bytes(block), regions.bat.offset);
        }
        if (state == block_partially_present) {
            const std::uint64_t sb_index = g.bitmap_index(block);
            if ((bat[sb_index] & 7) != sector_bitmap_present) {
                fail(Errc::corrupt, "{}: BAT entry {} is partially present, but its sector bitmap entry {} is not "
                     "present (offset 0x{:x})", file.name(), index, sb_index, regions.bat.offset + 8 * sb_index);
            }
            check_block_place(file, reserved, sb_index, bat[sb_index], MiB, regions.bat.offset);
        }
    }
    nlohmann::ordered_json states = nlohmann::ordered_json::object();
    for (std::uint8_t s = 0; s < counts.size(); ++s) {
        if (counts[s] != 0) {
            states[state_name(s)] = counts[s];
        }
    }
    info.details["bat"] = {{"offset", regions.bat.offset}, {"entries", entries}, {"chunk_ratio", g.chunk_ratio},
                           {"block_states", states}};
    return bat;
}

/// "{A1B2…}" or "a1b2…" as format_windows_guid writes it: no braces, lower case.
std::string normalised_guid(std::string text)
{
    std::erase_if(text, [](char c) { return c == '{' || c == '}'; });
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string locator_value(const Metadata& m, std::string_view key)
{
    const auto it = std::find_if(m.parent_locator.begin(), m.parent_locator.end(),
                                 [&](const LocatorEntry& e) { return e.first == key; });
    return it == m.parent_locator.end() ? std::string{} : it->second;
}

/// The parent: the first locator path in the order Hyper-V resolves them (relative, volume,
/// absolute; MS-VHDX 2.6.2.6.3), and the DataWriteGuid the parent must have.
ParentRef parent_of(const ByteSource& file, const Metadata& m, ImageInfo& info)
{
    nlohmann::ordered_json locator = nlohmann::ordered_json::object();
    for (const auto& [key, value] : m.parent_locator) {
        locator[key] = value;
    }
    info.details["parent_locator"] = locator;
    const std::string linkage = locator_value(m, "parent_linkage");
    if (linkage.empty()) {
        fail(Errc::corrupt, "{}: the parent locator of a differencing disk has no parent_linkage", file.name());
    }
    ParentRef parent;
    parent.id = normalised_guid(linkage);
    for (const char* key : {"relative_path", "volume_path", "absolute_win32_path"}) {
        if (parent.hint = locator_value(m, key); !parent.hint.empty()) {
            break;
        }
    }
    return parent;
}

void describe(ImageInfo& info, const Header& header, const Metadata& m)
{
    auto& d = info.details;
    d["header"] = {{"current", header.index},
                   {"sequence", header.sequence},
                   {"checksum", header.checksum_ok ? "valid" : "INVALID"},
                   {"file_write_guid", format_windows_guid(header.file_write_guid)},
                   {"data_write_guid", format_windows_guid(header.data_write_guid)}};
    d["block_size"] = m.block_size;
    d["logical_sector_size"] = m.logical_sector_size;
    d["physical_sector_size"] = m.physical_sector_size;
    d["leave_blocks_allocated"] = m.leave_blocks_allocated;
    d["has_parent"] = m.has_parent;
    if (m.page83) {
        d["page83_disk_id"] = format_windows_guid(*m.page83);
    }
}

/// The file type identifier starts with "vhdxfile" (MS-VHDX 2.2.1).
bool has_file_identifier(std::span<const std::byte> head)
{
    return head.size() >= 8 && std::memcmp(head.data(), "vhdxfile", 8) == 0;
}

bool has_file_identifier(const ByteSource& file)
{
    std::array<std::byte, 8> head{};
    if (file.size() >= head.size()) {
        file.read_at(head, 0);
    }
    return has_file_identifier(head);
}

class VhdxFormat final : public Format {
public:
    std::string_view name() const noexcept override { return "vhdx"; }
    std::string_view description() const noexcept override { return "Hyper-V VHDX (fixed, dynamic, differencing)"; }
    bool can_write() const noexcept override { return true; }

    int probe(const ProbeInput& input) const noexcept override
    {
        return has_file_identifier(input.head) ? 100 : 0;
    }

    std::unique_ptr<Image> open(std::shared_ptr<const ByteSource> file, const OpenContext& context) const override
    {
        ImageInfo info;
        info.filename = file->name();
        info.format = "vhdx";
        if (!has_file_identifier(*file)) {
            fail(Errc::corrupt, "{}: no VHDX file type identifier \"vhdxfile\" (offset 0x0)", file->name());
        }
        info.details["creator"] = read_creator(*file);
        const Header header = read_current_header(*file, info);
        std::shared_ptr<const ByteSource> source = replay_log(file, header, info);
        const RegionTable regions = read_region_table(*source, info);
        check_clear_of_log(*source, regions, header);
        const Metadata metadata = read_metadata(*source, regions.metadata);
        describe(info, header, metadata);
        const Geometry geometry(metadata);
        std::vector<std::uint64_t> bat = read_bat(*source, geometry, regions, header, info);

        info.subformat = metadata.has_parent ? "differencing" : metadata.leave_blocks_allocated ? "fixed" : "dynamic";
        info.virtual_size = metadata.virtual_size;
        info.cluster_size = metadata.block_size;
        info.allocated_bytes = file->allocated_bytes();
        info.id = format_windows_guid(header.data_write_guid);
        if (metadata.has_parent) {
            info.parent = parent_of(*file, metadata, info);
        }
        refuse_delta_alone(info, context);
        return std::make_unique<VhdxImage>(std::move(info), std::move(source), geometry, std::move(bat));
    }

    std::unique_ptr<Writer> create(ByteSink& sink, CreateRequest request) const override
    {
        return create_writer(sink, std::move(request));
    }

    void check(std::shared_ptr<const ByteSource> source, const OpenContext& context,
               CheckReport& report) const override
    {
        check_vhdx(*this, std::move(source), context, report);
    }
};

}  // namespace

const Format& vhdx_format() noexcept
{
    static const VhdxFormat format;
    return format;
}

}  // namespace diskshift::formats
