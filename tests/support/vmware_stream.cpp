#include "support/vmware_stream.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "codec/zlib_stream.hpp"
#include "core/bytes.hpp"
#include "core/endian.hpp"
#include "support/files.hpp"

namespace dstest {
namespace {

/// zlib level of the grains: random data still grows past the grain's size at it, as the tests want.
constexpr int grain_level = 6;
/// The file name the embedded extent line gives: VMware exports keep the original name, so a
/// renamed stream file names another file.
constexpr const char* stale_extent_name = "generated-stream.vmdk";

constexpr std::uint64_t sector = 512;
constexpr std::uint64_t grain_sectors = 128;
constexpr std::uint64_t grain_bytes = grain_sectors * sector;
constexpr std::uint32_t gtes_per_gt = 512;
constexpr std::uint64_t overhead_sectors = 128;
// Markers: {u64 value, u32 size, u32 type}; types from the technote.
constexpr std::uint32_t marker_gt = 1;
constexpr std::uint32_t marker_gd = 2;
constexpr std::uint32_t marker_footer = 3;

/// The output file, written sector by sector from a running offset.
class StreamFile {
public:
    explicit StreamFile(const std::filesystem::path& path) : fd_(open_file(path, O_RDWR | O_CREAT | O_TRUNC)) {}

    std::uint64_t sector_now() const noexcept { return at_ / sector; }

    /// Writes `bytes` padded with zeros to a whole sector.
    void append(std::span<const std::byte> bytes)
    {
        std::vector<std::byte> padded(bytes.begin(), bytes.end());
        padded.resize((padded.size() + sector - 1) / sector * sector);
        write_at(fd_.get(), padded, at_);
        at_ += padded.size();
    }

    void skip_to(std::uint64_t sector_number) { at_ = std::max(at_, sector_number * sector); }

    void metadata_marker(std::uint64_t sectors_following, std::uint32_t type)
    {
        std::vector<std::byte> marker(sector);
        diskshift::store_le<std::uint64_t>(marker.data(), sectors_following);
        diskshift::store_le<std::uint32_t>(marker.data() + 12, type);
        append(marker);
    }

    void entries(const std::vector<std::uint32_t>& values)
    {
        std::vector<std::byte> bytes(values.size() * 4);
        for (std::size_t i = 0; i < values.size(); ++i) {
            diskshift::store_le<std::uint32_t>(bytes.data() + 4 * i, values[i]);
        }
        append(bytes);
    }

private:
    Fd fd_;
    std::uint64_t at_ = 0;
};

std::vector<std::byte> header(std::uint64_t capacity_sectors, std::uint64_t gd_offset, std::uint64_t descriptor_sectors)
{
    std::vector<std::byte> h(sector);
    std::byte* p = h.data();
    diskshift::store_le<std::uint32_t>(p, 0x564d444b);  // "KDMV"
    diskshift::store_le<std::uint32_t>(p + 4, 3);
    diskshift::store_le<std::uint32_t>(p + 8, 0x30001);  // new-line test, compressed, markers
    diskshift::store_le<std::uint64_t>(p + 12, capacity_sectors);
    diskshift::store_le<std::uint64_t>(p + 20, grain_sectors);
    diskshift::store_le<std::uint64_t>(p + 28, 1);
    diskshift::store_le<std::uint64_t>(p + 36, descriptor_sectors);
    diskshift::store_le<std::uint32_t>(p + 44, gtes_per_gt);
    diskshift::store_le<std::uint64_t>(p + 56, gd_offset);
    diskshift::store_le<std::uint64_t>(p + 64, overhead_sectors);
    p[73] = std::byte{'\n'};
    p[74] = std::byte{' '};
    p[75] = std::byte{'\r'};
    p[76] = std::byte{'\n'};
    diskshift::store_le<std::uint16_t>(p + 77, 1);
    return h;
}

std::string descriptor(std::uint64_t capacity_sectors, const std::string& extent_name)
{
    // Trailing spaces and an RDONLY extent line, as in VMware's own exports.
    return fmt::format("# Disk DescriptorFile\nversion=1 \nCID=1e2d3c4b\nparentCID=ffffffff\n"
                       "createType=\"streamOptimized\"\n\n# Extent description\nRDONLY {} SPARSE \"{}\"\n\n"
                       "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n"
                       "ddb.longContentID = \"0123456789abcdef012345671e2d3c4b\"\nddb.virtualHWVersion = \"8\"\n",
                       capacity_sectors, extent_name);
}

class Generator {
public:
    Generator(const std::filesystem::path& raw, const std::filesystem::path& destination)
        : in_(open_file(raw, O_RDONLY)), out_(destination)
    {
        const off_t size = ::lseek(in_.get(), 0, SEEK_END);
        if (size < 0 || size % static_cast<off_t>(sector) != 0) {
            throw std::invalid_argument("write_vmware_stream: the raw disk's size must be a multiple of 512");
        }
        disk_bytes_ = static_cast<std::uint64_t>(size);
    }

    VmwareStreamStats run()
    {
        const std::uint64_t capacity = disk_bytes_ / sector;
        const std::string text = descriptor(capacity, stale_extent_name);
        const std::uint64_t descriptor_sectors = (text.size() + sector - 1) / sector;
        out_.append(header(capacity, ~0ULL, descriptor_sectors));
        out_.append(std::as_bytes(std::span(text)));
        out_.skip_to(overhead_sectors);

        const std::uint64_t grains = (disk_bytes_ + grain_bytes - 1) / grain_bytes;
        std::vector<std::uint32_t> directory((grains + gtes_per_gt - 1) / gtes_per_gt, 0);
        for (std::uint64_t table = 0; table < directory.size(); ++table) {
            directory[table] = write_group(table, grains);
        }
        const std::uint64_t gd_sectors = (directory.size() * 4 + sector - 1) / sector;
        out_.metadata_marker(gd_sectors, marker_gd);
        const std::uint64_t gd_offset = out_.sector_now();
        out_.entries(directory);
        out_.metadata_marker(1, marker_footer);
        out_.append(header(capacity, gd_offset, descriptor_sectors));
        out_.append(std::vector<std::byte>(sector));  // end-of-stream marker: an all-zero sector
        return stats_;
    }

private:
    /// Writes the grains of one grain table's range and then the table; returns the table's sector,
    /// or 0 when every grain in the range is zero (no table is written).
    std::uint32_t write_group(std::uint64_t table, std::uint64_t grains)
    {
        std::vector<std::uint32_t> entries(gtes_per_gt, 0);
        bool any = false;
        for (std::uint64_t i = 0; i < gtes_per_gt && table * gtes_per_gt + i < grains; ++i) {
            entries[i] = write_grain(table * gtes_per_gt + i);
            any = any || entries[i] != 0;
        }
        if (!any) {
            return 0;
        }
        out_.metadata_marker(gtes_per_gt * 4 / sector, marker_gt);
        const auto at = static_cast<std::uint32_t>(out_.sector_now());
        out_.entries(entries);
        ++stats_.grain_tables;
        return at;
    }

    std::uint32_t write_grain(std::uint64_t grain)
    {
        const std::uint64_t length = std::min(grain_bytes, disk_bytes_ - grain * grain_bytes);
        std::vector<std::byte> data(length);
        if (::pread(in_.get(), data.data(), length, static_cast<off_t>(grain * grain_bytes)) != static_cast<ssize_t>(length)) {
            throw std::runtime_error("write_vmware_stream: short read from the raw disk");
        }
        if (diskshift::is_all_zero(data)) {
            return 0;
        }
        std::vector<std::byte> record(12 + diskshift::codec::zlib_compress_bound(length));
        const auto size = diskshift::codec::zlib_compress(data, std::span(record).subspan(12), grain_level);
        if (!size) {
            throw std::runtime_error("write_vmware_stream: compression failed");
        }
        diskshift::store_le<std::uint64_t>(record.data(), grain * grain_sectors);
        diskshift::store_le<std::uint32_t>(record.data() + 8, static_cast<std::uint32_t>(*size));
        record.resize(12 + *size);
        const auto at = static_cast<std::uint32_t>(out_.sector_now());
        if (stats_.grains++ == 0) {
            stats_.first_grain_marker = std::uint64_t{at} * sector;
        }
        stats_.largest_grain = std::max<std::uint64_t>(stats_.largest_grain, *size);
        out_.append(record);
        return at;
    }

    Fd in_;
    StreamFile out_;
    std::uint64_t disk_bytes_ = 0;
    VmwareStreamStats stats_;
};

}  // namespace

VmwareStreamStats write_vmware_stream(const std::filesystem::path& raw, const std::filesystem::path& destination)
{
    return Generator(raw, destination).run();
}

}  // namespace dstest
