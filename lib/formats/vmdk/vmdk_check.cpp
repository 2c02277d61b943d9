// Checking a VMDK (VMware "Virtual Disk Format 5.0"). For each hosted sparse extent ("KDMV"), the
// file itself or each SPARSE file a descriptor lists: the header, the embedded descriptor, the
// grain directory and its grain tables inside the file, every grain inside the file, and nothing
// overlapping anything else; the redundant directory and tables equal to the primary ones; in
// stream-optimized files, the markers from the first grain to the end-of-stream marker, and the
// footer of VMware's layout. FLAT extents must be as long as their line says. seSparse and COWD
// extents are checked by reading them (their reader verifies every table entry it uses).
//
// qemu-img check verifies only that grain table entries point inside the file ("ERROR: cluster …
// beyond end of file"); it compares neither the redundant tables nor the markers. The redundant
// grain directory is VMware's copy of the primary one (technote, "Hosted Sparse Extent Header":
// rgdOffset), so any difference is reported, and so are differing grain tables.
//
// Not problems (producers do this): a grain table shared by several directory entries; grain table
// entries past the capacity (padding of the last table); grain markers out of LBA order
// (open-vmdk --noreorder); a stream file without end-of-stream marker whose header gives the grain
// directory (qemu's output, reference vmdk.md §2.5) — the last two are reported as state facts.
#include <array>
#include <algorithm>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "core/endian.hpp"
#include "core/rounding.hpp"
#include "formats/checks.hpp"
#include "formats/vmdk/descriptor.hpp"
#include "formats/vmdk/flat_extent.hpp"
#include "formats/vmdk/sparse_extent.hpp"
#include "formats/vmdk/sparse_layout.hpp"
#include "ops/check_layout.hpp"

namespace diskshift::formats {
namespace {

using namespace vmdk;

/// A compressed grain may be larger than the grain; like qemu and the reader, at most two grains.
constexpr std::uint64_t max_compressed_grains = 2;

std::string hex(std::uint64_t v) { return fmt::format("0x{:x}", v); }

/// One hosted sparse file being checked; problems are prefixed with `prefix` (the extent file's
/// name when a descriptor lists it).
class SparseChecker {
public:
    SparseChecker(const ByteSource& file, std::string prefix, CheckReport& report)
        : file_(file), prefix_(std::move(prefix)), report_(report), layout_(file.size())
    {
    }

    /// Returns the createType of the embedded descriptor (empty when none).
    std::string run()
    {
        try {
            header_ = read_sparse_header(file_);
        } catch (const Error& e) {
            report_.add_error(prefix_ + "header", e);
            return {};
        }
        layout_.add(layout_.kind("header"), 0, sector_bytes);
        const std::string create_type = check_descriptor();
        if (header_.gd_offset == gd_at_end && !read_footer()) {
            return create_type;
        }
        if (header_.markers()) {
            walk_markers();
        }
        const auto gd = load_directory(header_.gd_offset, "grain directory");
        if (gd) {
            add_tables(*gd, "grain table of GD entry", true);
        }
        if (header_.redundant_tables() && header_.rgd_offset != 0 && header_.gd_offset != gd_at_end) {
            if (const auto rgd = load_directory(header_.rgd_offset, "redundant grain directory")) {
                add_tables(*rgd, "redundant grain table of GD entry", false);
                if (gd) {
                    compare_redundant(*gd, *rgd);
                }
            }
        }
        if (footer_ && walk_complete_) {
            check_table_markers(gd);
        }
        layout_.report(report_, prefix_);
        return create_type;
    }

private:
    void add(const std::string& structure, std::uint64_t offset, std::string message)
    {
        report_.add(prefix_ + structure, offset, std::move(message));
    }

    std::string check_descriptor()
    {
        if (header_.descriptor_offset == 0 || header_.descriptor_sectors == 0) {
            return {};
        }
        try {
            const std::string text = read_embedded_descriptor(file_, header_);
            layout_.add(layout_.kind("embedded descriptor"), header_.descriptor_offset * sector_bytes,
                        header_.descriptor_sectors * sector_bytes);
            return parse_descriptor(text, file_.name() + ": embedded descriptor").create_type;
        } catch (const Error& e) {
            report_.add_error(prefix_ + "embedded descriptor", e);
            return {};
        }
    }

    /// VMware's stream layout: the real header is the footer in the last sectors.
    bool read_footer()
    {
        try {
            const SparseHeader footer = read_stream_footer_of(file_);
            const std::uint64_t at = file_.size() - stream_tail_bytes + sector_bytes;
            // The footer repeats the header with the directory's real place (technote, "The Footer").
            if (footer.capacity != header_.capacity || footer.grain_sectors != header_.grain_sectors ||
                footer.gtes_per_gt != header_.gtes_per_gt) {
                add("stream footer", at, "differs from the header in capacity, grain size or grain table size");
            }
            header_ = footer;
            footer_ = true;
            layout_.add(layout_.kind("stream footer and end-of-stream marker"), at - sector_bytes, stream_tail_bytes);
            return true;
        } catch (const Error& e) {
            report_.add_error(prefix_ + "stream footer", e);
            return false;
        }
    }

    std::uint64_t grain_bytes() const { return header_.grain_sectors * sector_bytes; }
    std::uint64_t grains() const { return units_for(header_.capacity, header_.grain_sectors); }

    /// Walks the markers from the first grain (overhead) to the end-of-stream marker (technote,
    /// "Stream-Optimized Compressed Sparse Extents", markers).
    void walk_markers()
    {
        std::uint64_t at = header_.overhead * sector_bytes;
        std::optional<std::uint64_t> last_lba;
        bool ordered = true;
        std::array<std::byte, 16> m{};
        while (at < file_.size()) {
            if (file_.size() - at < m.size()) {
                add("stream marker", at, "cut short by the end of the file");
                return;
            }
            file_.read_at(m, at);
            const std::uint64_t value = load_le<std::uint64_t>(m.data());
            const std::uint32_t size = load_le<std::uint32_t>(m.data() + 8);
            const std::uint32_t type = load_le<std::uint32_t>(m.data() + 12);
            if (size != 0) {
                if (value % header_.grain_sectors != 0 || value >= header_.capacity) {
                    add("grain marker", at, fmt::format("LBA {} is not the start of a grain inside the capacity of {} "
                                                        "sectors", value, header_.capacity));
                }
                if (size > max_compressed_grains * grain_bytes() || size > file_.size() - at - grain_marker_bytes) {
                    add("grain marker", at + 8, fmt::format("compressed size {} runs past the end of the file or is "
                                                            "over two grains", size));
                    return;
                }
                ordered = ordered && (!last_lba || value > *last_lba);
                last_lba = value;
                at = round_up(at + grain_marker_bytes + size, sector_bytes);
                continue;
            }
            if (value == 0 && type == marker_eos) {
                end_of_stream_ = at;
                break;
            }
            if (type > marker_footer + 1) {  // 4 = progress marker (open-vmdk)
                add("stream marker", at + 12, fmt::format("unknown metadata marker type {}", type));
                return;
            }
            if (value > (file_.size() - at) / sector_bytes) {
                add("stream marker", at, fmt::format("{} sectors of metadata run past the end of the file", value));
                return;
            }
            if (type == marker_grain_table || type == marker_grain_directory) {
                (type == marker_grain_table ? table_markers_ : directory_markers_).insert(at / sector_bytes + 1);
            }
            at += sector_bytes + value * sector_bytes;
        }
        walk_complete_ = true;
        if (!ordered) {
            report_.state[prefix_ + "grain order"] = "grain markers are not in ascending LBA order (readable, but "
                                                     "not streamable)";
        }
        if (!end_of_stream_) {
            report_.state[prefix_ + "end of stream"] = "no end-of-stream marker (as qemu-img writes; VMware ESXi may "
                                                       "refuse to import the file)";
        }
    }

    /// In VMware's layout each grain table and the directory follow a marker of their type.
    void check_table_markers(const std::optional<std::vector<std::uint32_t>>& gd)
    {
        if (!directory_markers_.contains(header_.gd_offset)) {
            add("grain directory", header_.gd_offset * sector_bytes, "is not preceded by a grain directory marker");
        }
        if (!gd) {
            return;
        }
        for (std::size_t i = 0; i < gd->size(); ++i) {
            if ((*gd)[i] != 0 && !table_markers_.contains((*gd)[i])) {
                add(fmt::format("grain table of GD entry {}", i), std::uint64_t{(*gd)[i]} * sector_bytes,
                    "is not preceded by a grain table marker");
            }
        }
    }

    std::optional<std::vector<std::uint32_t>> read_entries(std::uint64_t sector, std::uint64_t count,
                                                           const std::string& what)
    {
        const std::uint64_t bytes = count * 4;
        if (sector > file_.size() / sector_bytes || bytes > file_.size() - sector * sector_bytes) {
            add(what, sector * sector_bytes,
                fmt::format("{} entries lie past the end of the file (0x{:x} bytes)", count, file_.size()));
            return std::nullopt;
        }
        std::vector<std::byte> raw(static_cast<std::size_t>(bytes));
        file_.read_at(raw, sector * sector_bytes);
        std::vector<std::uint32_t> entries(static_cast<std::size_t>(count));
        for (std::size_t i = 0; i < entries.size(); ++i) {
            entries[i] = load_le<std::uint32_t>(raw.data() + 4 * i);
        }
        return entries;
    }

    std::optional<std::vector<std::uint32_t>> load_directory(std::uint64_t sector, const std::string& what)
    {
        const std::uint64_t entries = units_for(header_.capacity, header_.grain_sectors * header_.gtes_per_gt);
        auto gd = read_entries(sector, entries, what);
        if (gd) {
            layout_.add(layout_.kind(what), sector * sector_bytes, entries * 4);
        }
        return gd;
    }

    /// Places each distinct table once; the primary tables' grains too.
    void add_tables(const std::vector<std::uint32_t>& gd, const std::string& what, bool primary)
    {
        const std::uint16_t table_kind = layout_.kind(what);
        const std::uint16_t grain_kind = layout_.kind("grain");
        std::set<std::uint32_t> seen;
        for (std::size_t i = 0; i < gd.size(); ++i) {
            if (gd[i] == 0 || !seen.insert(gd[i]).second) {
                continue;
            }
            const auto table = read_entries(gd[i], header_.gtes_per_gt, fmt::format("{} {}", what, i));
            if (!table) {
                continue;
            }
            layout_.add(table_kind, std::uint64_t{gd[i]} * sector_bytes, header_.gtes_per_gt * 4ULL, i);
            if (primary) {
                add_grains(*table, i, gd[i], grain_kind);
            }
        }
    }

    void add_grains(const std::vector<std::uint32_t>& table, std::size_t gde, std::uint32_t table_sector,
                    std::uint16_t grain_kind)
    {
        for (std::size_t j = 0; j < table.size(); ++j) {
            const std::uint64_t grain = gde * header_.gtes_per_gt + j;
            const std::uint32_t e = table[j];
            if (grain >= grains() || e == gte_unallocated) {
                continue;
            }
            const std::uint64_t entry_at = std::uint64_t{table_sector} * sector_bytes + 4 * j;
            if (e == gte_zeroed) {
                if (!header_.zeroed_grains()) {
                    add(fmt::format("grain table entry {} of GD entry {}", j, gde), entry_at,
                        "is 1 (a zeroed grain), but the header has no zeroed-grain flag");
                }
                continue;
            }
            const std::uint64_t at = std::uint64_t{e} * sector_bytes;
            layout_.add(grain_kind, at, grain_length(at, grain, entry_at), grain);
        }
    }

    /// The bytes grain `grain` takes at `at`: a whole grain (the last one may be cut at the
    /// capacity), or its marker and compressed bytes.
    std::uint64_t grain_length(std::uint64_t at, std::uint64_t grain, std::uint64_t entry_at)
    {
        const std::uint64_t plain = std::min(grain_bytes(), header_.capacity * sector_bytes - grain * grain_bytes());
        if (!header_.compressed()) {
            return plain;
        }
        if (!header_.markers() || at >= file_.size() || file_.size() - at < grain_marker_bytes) {
            return sector_bytes;  // without a marker the compressed length is the zlib stream's own
        }
        std::array<std::byte, grain_marker_bytes> m{};
        file_.read_at(m, at);
        const std::uint64_t lba = load_le<std::uint64_t>(m.data());
        if (lba != grain * header_.grain_sectors) {
            add(fmt::format("grain {}", grain), at,
                fmt::format("its marker says LBA {}, but the grain table entry at {} puts grain {} (LBA {}) here",
                            lba, hex(entry_at), grain, grain * header_.grain_sectors));
        }
        // The padding to the next sector is not counted: qemu leaves it out after the last grain.
        // An impossible size (the marker walk reports it) counts as the most a grain may take.
        const std::uint64_t size = load_le<std::uint32_t>(m.data() + 8);
        return grain_marker_bytes + std::min(size, max_compressed_grains * grain_bytes());
    }

    void compare_redundant(const std::vector<std::uint32_t>& gd, const std::vector<std::uint32_t>& rgd)
    {
        std::set<std::pair<std::uint32_t, std::uint32_t>> compared;  // each pair of tables once
        for (std::size_t i = 0; i < gd.size(); ++i) {
            if ((gd[i] == 0) != (rgd[i] == 0)) {
                add(fmt::format("redundant grain directory entry {}", i), header_.rgd_offset * sector_bytes + 4 * i,
                    fmt::format("is {} but the primary entry is {}", rgd[i], gd[i]));
                continue;
            }
            if (gd[i] == 0 || !compared.emplace(gd[i], rgd[i]).second) {
                continue;
            }
            const auto table = read_entries(gd[i], header_.gtes_per_gt, fmt::format("grain table of GD entry {}", i));
            const auto copy = read_entries(rgd[i], header_.gtes_per_gt, fmt::format("redundant grain table {}", i));
            if (table && copy && *table != *copy) {
                const auto diff = std::mismatch(table->begin(), table->end(), copy->begin()).first - table->begin();
                add(fmt::format("redundant grain table of GD entry {}", i),
                    std::uint64_t{rgd[i]} * sector_bytes + 4 * static_cast<std::uint64_t>(diff),
                    fmt::format("entry {} is {} but the primary table (at {}) says {}", diff,
                                (*copy)[static_cast<std::size_t>(diff)], hex(std::uint64_t{gd[i]} * sector_bytes),
                                (*table)[static_cast<std::size_t>(diff)]));
            }
        }
    }

    const ByteSource& file_;
    std::string prefix_;
    CheckReport& report_;
    FileLayout layout_;
    SparseHeader header_;
    bool footer_ = false;
    bool walk_complete_ = false;  ///< the marker walk reached the end without a problem
    std::optional<std::uint64_t> end_of_stream_;
    std::set<std::uint64_t> table_markers_;      ///< sectors right after a grain table marker
    std::set<std::uint64_t> directory_markers_;  ///< sectors right after a grain directory marker
};

/// A descriptor file: each extent's file must open; SPARSE ones are checked, FLAT ones measured.
void check_descriptor_file(const ByteSource& source, const OpenContext& context, CheckReport& report)
{
    std::string text(std::min(source.size(), max_descriptor_bytes), '\0');
    source.read_at(std::as_writable_bytes(std::span(text)), 0);
    Descriptor descriptor;
    try {
        if (!looks_like_descriptor(text) || source.size() > max_descriptor_bytes) {
            report.add("descriptor", 0, "not a VMDK: no sparse extent header and no descriptor text");
            return;
        }
        descriptor = parse_descriptor(text, source.name());
    } catch (const Error& e) {
        report.add_error("descriptor", e);
        return;
    }
    report.subformat = descriptor.create_type;
    std::set<std::string> checked;
    for (const ExtentLine& line : descriptor.extents) {
        if (line.type == ExtentType::zero || line.access == ExtentAccess::no_access) {
            continue;
        }
        const std::string prefix = fmt::format("extent file \"{}\" (descriptor line {}): ", line.file, line.line_number);
        try {
            const auto file = context.open_related(line.file);
            if (line.type == ExtentType::sparse) {
                if (checked.insert(line.file).second) {
                    SparseChecker(*file, prefix, report).run();
                }
            } else if (line.type == ExtentType::flat || line.type == ExtentType::vmfs) {
                open_flat_extent(file, line.offset_sectors * sector_bytes, line.sectors * sector_bytes);
            }
        } catch (const Error& e) {
            report.add(prefix + "file", std::nullopt, e.what());
        }
    }
}

}  // namespace

void check_vmdk(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
                CheckReport& report)
{
    std::array<std::byte, 4096> head_bytes{};
    const std::span<std::byte> head = std::span(head_bytes).first(std::min<std::size_t>(source->size(), 4096));
    source->read_at(head, 0);
    if (is_hosted_sparse_header(head)) {
        const std::string create_type = SparseChecker(*source, "", report).run();
        report.subformat = create_type.empty() ? std::nullopt : std::optional(create_type);
    } else if (!is_esx_sparse_header(head)) {
        check_descriptor_file(*source, context, report);
    }
    if (report.clean()) {
        check_by_reading(format, std::move(source), context, report);
    }
}

}  // namespace diskshift::formats
