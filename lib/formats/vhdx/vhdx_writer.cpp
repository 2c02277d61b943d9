// VHDX writer (MS-VHDX 1.0): fixed and dynamic disks. Payload blocks are placed at 1 MiB-aligned
// offsets in the order they are first written and filled straight from the caller's buffers; the
// BAT lives in memory and is written once by finish(), together with the file identifier, both
// headers, both region tables and the metadata. The log region is left empty (LogGuid zero), so
// no reader has anything to replay.
//
// File layout (the order Windows uses; every object 1 MiB aligned):
//   0       file type identifier, headers at 64 and 128 KiB, region tables at 192 and 256 KiB
//   1 MiB   log (1 MiB, all zeros: a hole)
//   2 MiB   metadata region (1 MiB)
//   3 MiB   BAT region (a whole number of MiB)
//   then    payload blocks

#include <diskshift/version.hpp>

#include "core/bytes.hpp"
#include "core/crc32c.hpp"
#include "core/endian.hpp"
#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "core/rounding.hpp"
#include "core/text.hpp"
#include "formats/vhdx/vhdx_layout.hpp"

namespace diskshift::formats::vhdx {
namespace {

constexpr std::uint64_t default_block_size = 32 * MiB;  // what Hyper-V and qemu use for large disks
constexpr std::uint32_t sector_size = 512;              // logical sector size written
constexpr std::uint32_t physical_sector_size = 4096;    // what Hyper-V writes for new disks
constexpr Region log_region{1 * MiB, 1 * MiB};
constexpr Region metadata_region{2 * MiB, 1 * MiB};
constexpr std::uint64_t bat_region_offset = 3 * MiB;
/// The largest BAT kept in memory: 160 MiB holds 64 TiB (the format's limit) in blocks of 4 MiB
/// or more, and about 20 TiB in 1 MiB blocks.
constexpr std::uint64_t max_bat_bytes = 160 * MiB;

// Metadata items as this writer places them, packed after the table, relative to the metadata
// region (2.6.1).
constexpr std::uint32_t file_parameters_at = metadata_table_size;
constexpr std::uint32_t virtual_disk_size_at = file_parameters_at + 8;
constexpr std::uint32_t page83_at = virtual_disk_size_at + 8;
constexpr std::uint32_t logical_sector_size_at = page83_at + 16;
constexpr std::uint32_t physical_sector_size_at = logical_sector_size_at + 4;
constexpr std::uint32_t items_end = physical_sector_size_at + 4;
struct ItemPlace {
    const Guid& id;
    std::uint32_t offset;
    std::uint32_t length;
    std::uint32_t flags;
};
const ItemPlace metadata_items[] = {
    {file_parameters_guid, file_parameters_at, 8, metadata_is_required},
    {virtual_disk_size_guid, virtual_disk_size_at, 8, metadata_is_virtual_disk | metadata_is_required},
    {page83_guid, page83_at, 16, metadata_is_virtual_disk | metadata_is_required},
    {logical_sector_size_guid, logical_sector_size_at, 4, metadata_is_virtual_disk | metadata_is_required},
    {physical_sector_size_guid, physical_sector_size_at, 4, metadata_is_virtual_disk | metadata_is_required},
};

void put(std::byte* at, std::string_view text) { std::copy_n(reinterpret_cast<const std::byte*>(text.data()), text.size(), at); }
void put(std::byte* at, const Guid& guid) { std::copy(guid.begin(), guid.end(), at); }

/// Stores the CRC-32C of a structure whose checksum field (offset 4) is still zero.
void seal(std::span<std::byte> structure) { store_le<std::uint32_t>(structure.data() + 4, crc32c(structure)); }

/// The file type identifier (2.2.1): the signature and the creator in UTF-16LE.
std::vector<std::byte> file_identifier()
{
    const std::string creator = std::string("diskshift ") + version();
    std::vector<std::byte> bytes(8 + 2 * creator.size());
    put(bytes.data(), "vhdxfile");
    for (std::size_t i = 0; i < creator.size(); ++i) {
        bytes[8 + 2 * i] = static_cast<std::byte>(creator[i]);
    }
    return bytes;
}

/// A header (2.2.2) with no pending log.
std::vector<std::byte> header(std::uint64_t sequence, const Guid& file_write_guid, const Guid& data_write_guid)
{
    std::vector<std::byte> bytes(header_size);
    std::byte* p = bytes.data();
    put(p, "head");
    store_le<std::uint64_t>(p + 8, sequence);
    put(p + 16, file_write_guid);
    put(p + 32, data_write_guid);
    // LogGuid (48) stays zero: nothing to replay. LogVersion (64) is 0, Version (66) is 1.
    store_le<std::uint16_t>(p + 66, 1);
    store_le<std::uint32_t>(p + 68, static_cast<std::uint32_t>(log_region.length));
    store_le<std::uint64_t>(p + 72, log_region.offset);
    seal(bytes);
    return bytes;
}

/// A region table entry (2.2.3.1) marked required.
void put_required_region(std::byte* entry, const Guid& guid, const Region& region)
{
    put(entry, guid);
    store_le<std::uint64_t>(entry + 16, region.offset);
    store_le<std::uint32_t>(entry + 24, static_cast<std::uint32_t>(region.length));
    store_le<std::uint32_t>(entry + 28, 1);
}

/// The region table (2.2.3): the BAT and the metadata.
std::vector<std::byte> region_table(const Region& bat)
{
    std::vector<std::byte> bytes(region_table_size);
    put(bytes.data(), "regi");
    store_le<std::uint32_t>(bytes.data() + 8, 2);
    put_required_region(bytes.data() + 16, bat_region_guid, bat);
    put_required_region(bytes.data() + 48, metadata_region_guid, metadata_region);
    seal(bytes);
    return bytes;
}

/// The metadata table and its items (2.6), as they lie at the start of the metadata region.
std::vector<std::byte> metadata_bytes(const Metadata& m)
{
    std::vector<std::byte> bytes(items_end);
    std::byte* p = bytes.data();
    put(p, "metadata");
    store_le<std::uint16_t>(p + 10, static_cast<std::uint16_t>(std::size(metadata_items)));
    std::byte* e = p + 32;
    for (const ItemPlace& item : metadata_items) {
        put(e, item.id);
        store_le<std::uint32_t>(e + 16, item.offset);
        store_le<std::uint32_t>(e + 20, item.length);
        store_le<std::uint32_t>(e + 24, item.flags);
        e += 32;
    }
    store_le<std::uint32_t>(p + file_parameters_at, m.block_size);
    store_le<std::uint32_t>(p + file_parameters_at + 4, m.leave_blocks_allocated ? leave_blocks_allocated_flag : 0);
    store_le<std::uint64_t>(p + virtual_disk_size_at, m.virtual_size);
    put(p + page83_at, *m.page83);
    store_le<std::uint32_t>(p + logical_sector_size_at, m.logical_sector_size);
    store_le<std::uint32_t>(p + physical_sector_size_at, m.physical_sector_size);
    return bytes;
}

class VhdxWriter final : public Writer {
public:
    VhdxWriter(ByteSink& sink, const Metadata& metadata)
        : sink_(sink), metadata_(metadata), geometry_(metadata),
          bat_region_{bat_region_offset, std::max(MiB, round_up(8 * geometry_.bat_entries(), MiB))},
          bat_(geometry_.bat_entries()), next_block_offset_(bat_region_.end())
    {
        if (metadata_.leave_blocks_allocated) {
            for (std::uint64_t block = 0; block < geometry_.blocks; ++block) {
                allocate(block);
            }
        }
    }

    void write(std::uint64_t offset, std::span<const std::byte> data) override
    {
        require_inside_disk(sink_, geometry_.virtual_size, offset, data.size());
        while (!data.empty()) {
            const std::uint64_t block = offset / geometry_.block_size;
            const std::uint64_t inner = offset % geometry_.block_size;
            const std::size_t length = std::min<std::uint64_t>(data.size(), geometry_.block_size - inner);
            sink_.write_at(data.first(length), data_offset(block) + inner);
            data = data.subspan(length);
            offset += length;
        }
    }

    /// Zeros inside an allocated block are written (punched) in place; a whole block never
    /// allocated becomes ZERO, and part of one already reads as zeros.
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override
    {
        require_inside_disk(sink_, geometry_.virtual_size, offset, length);
        while (length != 0) {
            const std::uint64_t block = offset / geometry_.block_size;
            const std::uint64_t inner = offset % geometry_.block_size;
            const std::uint64_t part = std::min(length, geometry_.block_size - inner);
            std::uint64_t& entry = bat_[geometry_.payload_index(block)];
            if ((entry & 7) == block_fully_present) {
                sink_.write_zeroes((entry & bat_offset_mask) + inner, part);
            } else if (part == geometry_.block_bytes(block)) {
                entry = block_zero;  // FileOffsetMB must be 0 for this state (2.5.1.1)
            }
            offset += part;
            length -= part;
        }
    }

    void finish() override
    {
        write_bat();
        const std::vector<std::byte> metadata = metadata_bytes(metadata_);
        sink_.write_at(metadata, metadata_region.offset);
        for (const std::uint64_t at : region_table_offsets) {
            sink_.write_at(region_table(bat_region_), at);
        }
        const Guid file_write_guid = random_uuid(Endian::little);
        const Guid data_write_guid = random_uuid(Endian::little);
        for (std::uint64_t i = 0; i < 2; ++i) {
            sink_.write_at(header(i + 1, file_write_guid, data_write_guid), header_offsets[i]);
        }
        sink_.write_at(file_identifier(), 0);
        sink_.resize(next_block_offset_);
    }

private:
    /// Where block `block` lies in the file, allocating it at the end on its first write.
    std::uint64_t data_offset(std::uint64_t block)
    {
        const std::uint64_t entry = bat_[geometry_.payload_index(block)];
        return (entry & 7) == block_fully_present ? entry & bat_offset_mask : allocate(block);
    }

    std::uint64_t allocate(std::uint64_t block)
    {
        const std::uint64_t offset = next_block_offset_;
        bat_[geometry_.payload_index(block)] = offset | block_fully_present;
        next_block_offset_ += geometry_.block_size;
        return offset;
    }

    /// The BAT in 1 MiB pieces; all-zero pieces (no block allocated) stay holes.
    void write_bat()
    {
        for (std::uint64_t& entry : bat_) {
            store_le<std::uint64_t>(reinterpret_cast<std::byte*>(&entry), entry);
        }
        const std::span<const std::byte> bytes = std::as_bytes(std::span(bat_));
        for (std::uint64_t at = 0; at < bytes.size(); at += MiB) {
            const auto piece = bytes.subspan(at, std::min<std::uint64_t>(MiB, bytes.size() - at));
            if (!is_all_zero(piece)) {
                sink_.write_at(piece, bat_region_.offset + at);
            }
        }
    }

    ByteSink& sink_;
    Metadata metadata_;
    Geometry geometry_;
    Region bat_region_;
    std::vector<std::uint64_t> bat_;  ///< host order until finish() stores it little-endian
    std::uint64_t next_block_offset_;
};

/// The metadata of the disk `request` asks for: its options (subformat, block_size) checked, the
/// size rounded up to whole sectors.
Metadata requested_metadata(const ByteSink& sink, CreateRequest& request)
{
    const std::string subformat = request.options.take("subformat").value_or("dynamic");
    const std::uint64_t block_size = request.options.take_size("block_size").value_or(default_block_size);
    request.options.require_all_taken("vhdx");
    if (subformat != "dynamic" && subformat != "fixed") {
        fail(Errc::invalid_argument, "vhdx: option subformat={} is not one of dynamic, fixed", subformat);
    }
    if (!is_valid_block_size(block_size)) {
        fail(Errc::invalid_argument, "vhdx: option block_size={} is not allowed: use a power of two from 1M to 256M "
             "(MS-VHDX 2.6.2.1; default 32M)", block_size);
    }
    if (request.virtual_size == 0) {
        // qemu-img and libvhdi both fail on a BAT without entries.
        fail(Errc::unsupported, "{}: cannot write an empty disk as VHDX: a VHDX disk needs at least one sector",
             sink.name());
    }
    if (request.virtual_size > max_virtual_size) {
        fail(Errc::unsupported, "{}: a VHDX disk holds at most 64 TiB (MS-VHDX 2.6.2.2); this disk has {} bytes",
             sink.name(), request.virtual_size);
    }
    // A VHDX size is a whole number of logical sectors (2.6.2.2); like qemu-img, a source whose
    // size is not gets zeros up to the next sector.
    const std::uint64_t size = round_up(request.virtual_size, sector_size);
    Metadata m;
    m.block_size = static_cast<std::uint32_t>(block_size);
    m.leave_blocks_allocated = subformat == "fixed";
    m.virtual_size = size;
    m.logical_sector_size = sector_size;
    m.physical_sector_size = physical_sector_size;
    m.page83 = random_uuid(Endian::little);
    if (const std::uint64_t bat_bytes = 8 * Geometry(m).bat_entries(); bat_bytes > max_bat_bytes) {
        fail(Errc::unsupported, "vhdx: a {}-byte disk in {}-byte blocks needs a {} MiB block allocation table, more "
             "than the {} MiB this writer keeps in memory; choose a larger block_size", size, block_size,
             bat_bytes / MiB, max_bat_bytes / MiB);
    }
    return m;
}

}  // namespace

std::unique_ptr<Writer> create_writer(ByteSink& sink, CreateRequest request)
{
    return std::make_unique<VhdxWriter>(sink, requested_metadata(sink, request));
}

}  // namespace diskshift::formats::vhdx
