#include "formats/vmdk/sparse_extent.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "codec/zlib_stream.hpp"
#include "core/endian.hpp"
#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "core/rounding.hpp"
#include "formats/vmdk/descriptor.hpp"
#include "formats/vmdk/sparse_layout.hpp"

namespace diskshift::formats::vmdk {
namespace {

/// The incompatible flags this reader knows.
constexpr std::uint32_t known_incompatible = flag_compressed | flag_markers;

/// A grain of 1 MiB at most (the technote allows grains up to 1 MiB for COWD, hosted files use 64
/// KiB); VMware's disklib and qemu accept at most 512 entries per grain table.
constexpr std::uint64_t max_grain_sectors = 2048;
constexpr std::uint32_t max_gtes_per_gt = 512;

/// The new-line detection characters of a header whose flags ask for the test.
constexpr std::array<std::byte, 4> newline_test_chars = {std::byte{'\n'}, std::byte{' '}, std::byte{'\r'},
                                                         std::byte{'\n'}};

class HeaderReader {
public:
    HeaderReader(std::span<const std::byte, sector_bytes> bytes, const std::string& file, std::uint64_t at,
                 std::string_view what)
        : bytes_(bytes), file_(file), at_(at), what_(what)
    {
    }

    SparseHeader read() const
    {
        if (field<std::uint32_t>(header_field::magic) != sparse_magic) {
            bad(header_field::magic, "has no \"KDMV\" magic");
        }
        SparseHeader h;
        h.version = field<std::uint32_t>(header_field::version);
        h.flags = field<std::uint32_t>(header_field::flags);
        h.capacity = field<std::uint64_t>(header_field::capacity);
        h.grain_sectors = field<std::uint64_t>(header_field::grain_sectors);
        h.descriptor_offset = field<std::uint64_t>(header_field::descriptor_offset);
        h.descriptor_sectors = field<std::uint64_t>(header_field::descriptor_sectors);
        h.gtes_per_gt = field<std::uint32_t>(header_field::gtes_per_gt);
        h.rgd_offset = field<std::uint64_t>(header_field::rgd_offset);
        h.gd_offset = field<std::uint64_t>(header_field::gd_offset);
        h.overhead = field<std::uint64_t>(header_field::overhead);
        h.compress_algorithm = field<std::uint16_t>(header_field::compress_algorithm);
        check(h);
        return h;
    }

private:
    template <typename T>
    T field(std::size_t at) const noexcept
    {
        return load_le<T>(bytes_.data() + at);
    }

    void check(const SparseHeader& h) const
    {
        // Technote: versions 1, 2 (zeroed-grain entries) and 3 (VMware's stream output) share a layout.
        if (h.version < 1 || h.version > 3) {
            fail(Errc::unsupported, "{}: {} version {} is not supported (1 to 3 are) (offset 0x{:x})", file_, what_,
                 h.version, at_ + header_field::version);
        }
        if ((h.flags & incompatible_flags & ~known_incompatible) != 0) {
            fail(Errc::unsupported, "{}: {} has unknown incompatible flags 0x{:08x} (offset 0x{:x})", file_, what_,
                 h.flags, at_ + header_field::flags);
        }
        if (h.markers() && !h.compressed()) {
            bad(header_field::flags, fmt::format("flags 0x{:08x} ask for markers without compression", h.flags));
        }
        if ((h.flags & flag_newline_test) != 0 && !newline_test_intact()) {
            bad(header_field::newline_test, "new-line test characters are damaged (was the file copied in text mode?)");
        }
        if (h.compressed() && h.compress_algorithm != compress_deflate) {
            fail(Errc::unsupported, "{}: {} compression algorithm {} is not supported (1 = deflate is) (offset 0x{:x})",
                 file_, what_, h.compress_algorithm, at_ + header_field::compress_algorithm);
        }
        if (h.capacity > max_disk_sectors) {
            bad(header_field::capacity, fmt::format("capacity of {} sectors is over the {} sectors (64 TiB) "
                                                    "diskshift reads", h.capacity, max_disk_sectors));
        }
        if (!std::has_single_bit(h.grain_sectors) || h.grain_sectors > max_grain_sectors) {
            bad(header_field::grain_sectors, fmt::format("grain size of {} sectors is not a power of two of at "
                                                         "most {} sectors (1 MiB)", h.grain_sectors, max_grain_sectors));
        }
        if (h.gtes_per_gt == 0 || h.gtes_per_gt > max_gtes_per_gt) {
            bad(header_field::gtes_per_gt,
                fmt::format("{} entries per grain table is not between 1 and {}", h.gtes_per_gt, max_gtes_per_gt));
        }
    }

    bool newline_test_intact() const noexcept
    {
        return std::memcmp(bytes_.data() + header_field::newline_test, newline_test_chars.data(),
                           newline_test_chars.size()) == 0;
    }

    [[noreturn]] void bad(std::uint64_t offset, const std::string& problem) const
    {
        fail(Errc::corrupt, "{}: {}: {} (offset 0x{:x})", file_, what_, problem, at_ + offset);
    }

    std::span<const std::byte, sector_bytes> bytes_;
    const std::string& file_;
    std::uint64_t at_;
    std::string_view what_;
};

SparseHeader read_header_at(const ByteSource& file, std::uint64_t at, std::string_view what)
{
    if (!inside_file(file, at, sector_bytes)) {
        fail(Errc::corrupt, "{}: {} is cut short: the file has {} bytes (offset 0x{:x})", file.name(), what,
             file.size(), at);
    }
    std::array<std::byte, sector_bytes> bytes{};
    file.read_at(bytes, at);
    return HeaderReader(bytes, file.name(), at, what).read();
}

/// The footer of a stream file whose header says GD_AT_END: the header again with the real grain
/// directory offset, between a footer marker and the end-of-stream marker (technote, "The Footer").
SparseHeader read_stream_footer(const ByteSource& file)
{
    if (file.size() < sector_bytes + stream_tail_bytes) {
        fail(Errc::corrupt, "{}: stream footer missing: the header's grain directory is at the end, but the file "
             "has only {} bytes (offset 0x38)", file.name(), file.size());
    }
    const std::uint64_t at = file.size() - stream_tail_bytes;
    std::array<std::byte, stream_tail_bytes> tail{};
    file.read_at(tail, at);
    const std::byte* marker = tail.data();
    const std::byte* eos = tail.data() + 2 * sector_bytes;
    if (load_le<std::uint32_t>(marker + 8) != 0 || load_le<std::uint32_t>(marker + 12) != marker_footer) {
        fail(Errc::corrupt, "{}: stream footer marker missing: the last three sectors must be a footer marker, the "
             "footer and an end-of-stream marker (offset 0x{:x})", file.name(), at);
    }
    if (load_le<std::uint64_t>(eos) != 0 || load_le<std::uint32_t>(eos + 8) != 0 ||
        load_le<std::uint32_t>(eos + 12) != marker_eos) {
        fail(Errc::corrupt, "{}: end-of-stream marker missing after the footer (offset 0x{:x})", file.name(),
             at + 2 * sector_bytes);
    }
    const SparseHeader footer = HeaderReader(std::span(tail).subspan<sector_bytes, sector_bytes>(), file.name(),
                                             at + sector_bytes, "stream footer")
                                    .read();
    if (footer.gd_offset == gd_at_end) {
        fail(Errc::corrupt, "{}: stream footer does not give the grain directory's place (offset 0x{:x})",
             file.name(), at + sector_bytes + header_field::gd_offset);
    }
    return footer;
}

/// A grain directory with its grain tables. Tables are kept once per distinct place in the file,
/// so memory stays bounded by the file's size even when directory entries share a table.
struct GrainTables {
    std::vector<std::uint32_t> slot_of_gde;  ///< per directory entry: 1 + table number, or 0
    std::vector<std::uint32_t> entries;      ///< the tables, gtes_per_gt entries each
    std::uint64_t allocated_grains = 0;
};

class TableLoader {
public:
    TableLoader(const ByteSource& file, const SparseHeader& header, std::string_view which)
        : file_(file), header_(header), which_(which)
    {
    }

    GrainTables load(std::uint64_t gd_sector)
    {
        const std::uint64_t grains_per_table = header_.grain_sectors * header_.gtes_per_gt;
        const std::uint64_t gd_entries = units_for(header_.capacity, grains_per_table);
        const std::vector<std::uint32_t> directory = read_entries(gd_sector, gd_entries, "directory");
        GrainTables out;
        out.slot_of_gde.resize(directory.size());
        std::unordered_map<std::uint32_t, std::uint32_t> slot_of_sector;
        std::vector<std::uint64_t> allocated_in_slot;  // counted once per table, however often it is used
        for (std::size_t i = 0; i < directory.size(); ++i) {
            if (directory[i] == 0) {
                continue;
            }
            auto [it, added] = slot_of_sector.try_emplace(directory[i], static_cast<std::uint32_t>(slot_of_sector.size() + 1));
            if (added) {
                allocated_in_slot.push_back(append_table(out, directory[i]));
            }
            out.slot_of_gde[i] = it->second;
            out.allocated_grains += allocated_in_slot[it->second - 1];
        }
        return out;
    }

private:
    std::vector<std::uint32_t> read_entries(std::uint64_t sector, std::uint64_t count, std::string_view what) const
    {
        const std::uint64_t bytes = count * 4;
        if (sector > file_.size() / sector_bytes || bytes > file_.size() - sector * sector_bytes) {
            fail(Errc::corrupt, "{}: {}grain {} ({} entries at sector {}) lies past the end of the file (offset "
                 "0x{:x})", file_.name(), which_, what, count, sector, sector * sector_bytes);
        }
        std::vector<std::byte> raw(bytes);
        file_.read_at(raw, sector * sector_bytes);
        std::vector<std::uint32_t> entries(count);
        for (std::size_t i = 0; i < entries.size(); ++i) {
            entries[i] = load_le<std::uint32_t>(raw.data() + 4 * i);
        }
        return entries;
    }

    /// Reads, checks and keeps the table at `sector`; returns how many grains it holds.
    std::uint64_t append_table(GrainTables& out, std::uint32_t sector) const
    {
        const std::vector<std::uint32_t> table = read_entries(sector, header_.gtes_per_gt, "table");
        for (std::size_t i = 0; i < table.size(); ++i) {
            check_entry(table[i], sector, i);
        }
        out.entries.insert(out.entries.end(), table.begin(), table.end());
        return static_cast<std::uint64_t>(
            std::count_if(table.begin(), table.end(), [](std::uint32_t e) { return e > gte_zeroed; }));
    }

    void check_entry(std::uint32_t entry, std::uint32_t table_sector, std::size_t index) const
    {
        if (entry == gte_unallocated || (entry == gte_zeroed && header_.zeroed_grains())) {
            return;
        }
        const std::uint64_t entry_offset = std::uint64_t{table_sector} * sector_bytes + 4 * index;
        if (entry == gte_zeroed) {
            fail(Errc::corrupt, "{}: {}grain table entry {} is 1 (a zeroed grain) but the header has no zeroed-grain "
                 "flag (offset 0x{:x})", file_.name(), which_, index, entry_offset);
        }
        if (std::uint64_t{entry} * sector_bytes >= file_.size()) {
            fail(Errc::corrupt, "{}: {}grain table entry {} points past the end of the file to sector {} (offset "
                 "0x{:x})", file_.name(), which_, index, entry, entry_offset);
        }
    }

    const ByteSource& file_;
    const SparseHeader& header_;
    std::string_view which_;  ///< "" or "redundant "
};

/// The first directory entry where two loads of the tables disagree, or -1.
std::int64_t first_difference(const GrainTables& a, const GrainTables& b, std::uint32_t gtes_per_gt)
{
    for (std::size_t i = 0; i < a.slot_of_gde.size(); ++i) {
        const std::uint32_t sa = a.slot_of_gde[i];
        const std::uint32_t sb = b.slot_of_gde[i];
        if ((sa == 0) != (sb == 0)) {
            return static_cast<std::int64_t>(i);
        }
        if (sa != 0 && !std::equal(a.entries.begin() + std::ptrdiff_t{sa - 1} * gtes_per_gt,
                                   a.entries.begin() + std::ptrdiff_t{sa} * gtes_per_gt,
                                   b.entries.begin() + std::ptrdiff_t{sb - 1} * gtes_per_gt)) {
            return static_cast<std::int64_t>(i);
        }
    }
    return -1;
}

/// A per-thread buffer of at least `bytes`, reused from call to call (nothing is allocated per grain).
std::span<std::byte> scratch(std::vector<std::byte>& buffer, std::size_t bytes)
{
    if (buffer.size() < bytes) {
        buffer.resize(bytes);
    }
    return std::span(buffer).first(bytes);
}

class HostedSparseExtent final : public ExtentData {
public:
    HostedSparseExtent(std::shared_ptr<const ByteSource> file, const SparseHeader& header, bool footer,
                       GrainTables tables)
        : file_(std::move(file)), header_(header), footer_(footer), tables_(std::move(tables)),
          size_(header.capacity * sector_bytes), grain_bytes_(header.grain_sectors * sector_bytes)
    {
    }

    std::uint64_t size() const noexcept override { return size_; }

    void read(std::span<std::byte> buf, std::uint64_t offset) const override
    {
        while (!buf.empty()) {
            const std::uint64_t grain = offset / grain_bytes_;
            const std::uint64_t within = offset % grain_bytes_;
            const std::uint32_t entry = entry_of(grain);
            std::uint64_t done = std::min<std::uint64_t>(buf.size(), grain_bytes_ - within);
            if (kind_of(entry) != ExtentKind::data) {
                std::fill_n(buf.begin(), done, std::byte{0});
            } else if (header_.compressed()) {
                read_compressed(grain, entry, within, buf.first(done));
            } else {
                done = read_plain_run(grain, entry, within, buf);
            }
            buf = buf.subspan(done);
            offset += done;
        }
    }

    ExtentList map(std::uint64_t offset, std::uint64_t length) const override
    {
        ExtentList out(offset);
        const std::uint64_t end = std::min(size_, offset + length);
        const std::uint64_t table_bytes = grain_bytes_ * header_.gtes_per_gt;
        for (std::uint64_t at = offset; at < end;) {
            const std::uint64_t grain = at / grain_bytes_;
            const bool no_table = tables_.slot_of_gde[grain / header_.gtes_per_gt] == 0;
            const std::uint64_t unit = no_table ? table_bytes : grain_bytes_;
            const std::uint64_t unit_end = std::min(end, (at / unit + 1) * unit);
            out.append(unit_end - at, no_table ? ExtentKind::unallocated : kind_of(entry_of(grain)));
            at = unit_end;
        }
        return out;
    }

    nlohmann::ordered_json details() const override
    {
        nlohmann::ordered_json d;
        d["version"] = header_.version;
        d["flags"] = fmt::format("0x{:08x}", header_.flags);
        d["capacity_sectors"] = header_.capacity;
        d["grain_sectors"] = header_.grain_sectors;
        d["gtes_per_gt"] = header_.gtes_per_gt;
        d["gd_offset_sectors"] = header_.gd_offset;
        if (header_.redundant_tables()) {
            d["rgd_offset_sectors"] = header_.rgd_offset;
        }
        d["overhead_sectors"] = header_.overhead;
        d["compression"] = header_.compressed() ? "deflate" : "none";
        d["markers"] = header_.markers();
        d["zeroed_grains"] = header_.zeroed_grains();
        d["footer"] = footer_;
        d["allocated_grains"] = tables_.allocated_grains;
        return d;
    }

private:
    std::uint32_t entry_of(std::uint64_t grain) const noexcept
    {
        const std::uint32_t slot = tables_.slot_of_gde[grain / header_.gtes_per_gt];
        if (slot == 0) {
            return gte_unallocated;
        }
        return tables_.entries[std::uint64_t{slot - 1} * header_.gtes_per_gt + grain % header_.gtes_per_gt];
    }

    ExtentKind kind_of(std::uint32_t entry) const noexcept
    {
        if (entry == gte_unallocated) {
            return ExtentKind::unallocated;
        }
        return entry == gte_zeroed && header_.zeroed_grains() ? ExtentKind::zero : ExtentKind::data;
    }

    /// The bytes of this grain and of the following ones stored right after it in the file, read at
    /// once. Returns how many bytes of `buf` were filled.
    std::uint64_t read_plain_run(std::uint64_t grain, std::uint32_t entry, std::uint64_t within,
                                 std::span<std::byte> buf) const
    {
        std::uint64_t length = std::min<std::uint64_t>(buf.size(), grain_bytes_ - within);
        for (std::uint64_t next = grain + 1; length < buf.size(); ++next) {
            if (entry_of(next) != std::uint64_t{entry} + (next - grain) * header_.grain_sectors) {
                break;
            }
            length += std::min<std::uint64_t>(buf.size() - length, grain_bytes_);
        }
        const std::uint64_t at = std::uint64_t{entry} * sector_bytes + within;
        if (at + length > file_->size()) {
            fail(Errc::corrupt, "{}: grain {} (sector {}) lies past the end of the file (offset 0x{:x})",
                 file_->name(), grain, entry, at);
        }
        file_->read_at(buf.first(length), at);
        return length;
    }

    void read_compressed(std::uint64_t grain, std::uint32_t entry, std::uint64_t within, std::span<std::byte> out) const
    {
        thread_local std::vector<std::byte> stream_buffer;
        thread_local std::vector<std::byte> grain_buffer;
        const std::uint64_t at = std::uint64_t{entry} * sector_bytes;
        const std::span<const std::byte> stream = compressed_stream(grain, at, stream_buffer);
        const bool whole_grain = within == 0 && out.size() == grain_bytes_;
        const std::span<std::byte> target = whole_grain ? out : scratch(grain_buffer, grain_bytes_);
        const std::uint64_t expected = std::min(grain_bytes_, size_ - grain * grain_bytes_);
        const auto produced = codec::zlib_decompress(stream, target);
        if (!produced || *produced < expected) {
            fail(Errc::corrupt, "{}: compressed grain {} does not inflate to its {} bytes (offset 0x{:x})",
                 file_->name(), grain, expected, at);
        }
        if (!whole_grain) {
            std::copy_n(target.begin() + static_cast<std::ptrdiff_t>(within), out.size(), out.begin());
        }
    }

    /// The compressed bytes of a grain at `at`. With markers they follow a grain marker whose size
    /// and LBA are checked; without (qemu's older stream files), up to two grains' worth is read
    /// and the zlib stream's own end tells where it stops.
    std::span<const std::byte> compressed_stream(std::uint64_t grain, std::uint64_t at,
                                                 std::vector<std::byte>& buffer) const
    {
        // A compressed grain can be larger than the grain (incompressible data plus zlib's framing);
        // qemu reads at most two grains of it, and so do we.
        const std::uint64_t max_stream = 2 * grain_bytes_;
        const std::uint64_t available = file_->size() - at;
        if (!header_.markers()) {
            const std::span<std::byte> bytes = scratch(buffer, std::min(available, max_stream));
            file_->read_at(bytes, at);
            return bytes;
        }
        const std::span<std::byte> head = scratch(buffer, std::min(available, max_stream + grain_marker_bytes));
        const std::uint64_t first_read = std::min<std::uint64_t>(head.size(), sector_bytes);
        if (first_read < grain_marker_bytes) {
            fail(Errc::corrupt, "{}: grain marker of grain {} is cut short by the end of the file (offset 0x{:x})",
                 file_->name(), grain, at);
        }
        file_->read_at(head.first(first_read), at);
        const std::uint64_t lba = load_le<std::uint64_t>(head.data());
        const std::uint32_t size = load_le<std::uint32_t>(head.data() + 8);
        if (lba != grain * header_.grain_sectors) {
            fail(Errc::corrupt, "{}: grain marker says LBA {} but the grain table puts grain {} (LBA {}) there "
                 "(offset 0x{:x})", file_->name(), lba, grain, grain * header_.grain_sectors, at);
        }
        if (size == 0 || size > max_stream || grain_marker_bytes + size > available) {
            fail(Errc::corrupt, "{}: grain marker of grain {} gives an impossible compressed size of {} bytes "
                 "(at most {}, and {} bytes are left in the file) (offset 0x{:x})", file_->name(), grain, size,
                 max_stream, available - grain_marker_bytes, at + 8);
        }
        if (grain_marker_bytes + size > first_read) {
            file_->read_at(head.subspan(first_read, grain_marker_bytes + size - first_read), at + first_read);
        }
        return head.subspan(grain_marker_bytes, size);
    }

    std::shared_ptr<const ByteSource> file_;
    SparseHeader header_;
    bool footer_;
    GrainTables tables_;
    std::uint64_t size_;
    std::uint64_t grain_bytes_;
};

}  // namespace

bool SparseHeader::redundant_tables() const noexcept
{
    return (flags & flag_redundant) != 0;
}
bool SparseHeader::zeroed_grains() const noexcept
{
    return (flags & flag_zeroed_grains) != 0;
}
bool SparseHeader::compressed() const noexcept
{
    return (flags & flag_compressed) != 0;
}
bool SparseHeader::markers() const noexcept
{
    return (flags & flag_markers) != 0;
}

bool is_hosted_sparse_header(std::span<const std::byte> head) noexcept
{
    return head.size() >= 4 && load_le<std::uint32_t>(head.data()) == sparse_magic;
}

SparseHeader read_sparse_header(const ByteSource& file)
{
    return read_header_at(file, 0, "sparse extent header");
}

SparseHeader read_stream_footer_of(const ByteSource& file)
{
    return read_stream_footer(file);
}

void store_sparse_header(const SparseHeader& h, std::span<std::byte, sector_bytes> out) noexcept
{
    std::fill(out.begin(), out.end(), std::byte{0});
    store_le<std::uint32_t>(out.data() + header_field::magic, sparse_magic);
    store_le<std::uint32_t>(out.data() + header_field::version, h.version);
    store_le<std::uint32_t>(out.data() + header_field::flags, h.flags);
    store_le<std::uint64_t>(out.data() + header_field::capacity, h.capacity);
    store_le<std::uint64_t>(out.data() + header_field::grain_sectors, h.grain_sectors);
    store_le<std::uint64_t>(out.data() + header_field::descriptor_offset, h.descriptor_offset);
    store_le<std::uint64_t>(out.data() + header_field::descriptor_sectors, h.descriptor_sectors);
    store_le<std::uint32_t>(out.data() + header_field::gtes_per_gt, h.gtes_per_gt);
    store_le<std::uint64_t>(out.data() + header_field::rgd_offset, h.rgd_offset);
    store_le<std::uint64_t>(out.data() + header_field::gd_offset, h.gd_offset);
    store_le<std::uint64_t>(out.data() + header_field::overhead, h.overhead);
    std::copy(newline_test_chars.begin(), newline_test_chars.end(), out.begin() + header_field::newline_test);
    store_le<std::uint16_t>(out.data() + header_field::compress_algorithm, h.compress_algorithm);
}

std::string read_embedded_descriptor(const ByteSource& file, const SparseHeader& header)
{
    if (header.descriptor_offset == 0 || header.descriptor_sectors == 0) {
        return {};
    }
    const std::uint64_t sectors_in_file = file.size() / sector_bytes;
    if (header.descriptor_sectors > max_descriptor_bytes / sector_bytes || header.descriptor_offset > sectors_in_file ||
        header.descriptor_sectors > sectors_in_file - header.descriptor_offset) {
        fail(Errc::corrupt, "{}: embedded descriptor ({} sectors at sector {}) lies past the end of the file or "
             "is over {} bytes (offset 0x1c)", file.name(), header.descriptor_sectors, header.descriptor_offset,
             max_descriptor_bytes);
    }
    std::string text(header.descriptor_sectors * sector_bytes, '\0');
    file.read_at(std::as_writable_bytes(std::span(text)), header.descriptor_offset * sector_bytes);
    text.resize(std::min(text.find('\0'), text.size()));
    return text;
}

std::unique_ptr<ExtentData> open_hosted_sparse_extent(std::shared_ptr<const ByteSource> file,
                                                      std::vector<std::string>& warnings)
{
    SparseHeader header = read_sparse_header(*file);
    const bool footer = header.gd_offset == gd_at_end;
    if (footer) {
        header = read_stream_footer(*file);
    }
    GrainTables tables = TableLoader(*file, header, "").load(header.gd_offset);
    if (header.redundant_tables() && header.rgd_offset != 0) {
        const GrainTables redundant = TableLoader(*file, header, "redundant ").load(header.rgd_offset);
        if (const auto at = first_difference(tables, redundant, header.gtes_per_gt); at >= 0) {
            warnings.push_back(fmt::format("{}: the redundant grain table {} differs from the primary one; the "
                                           "primary is used", file->name(), at));
        }
    }
    return std::make_unique<HostedSparseExtent>(std::move(file), header, footer, std::move(tables));
}

}  // namespace diskshift::formats::vmdk
