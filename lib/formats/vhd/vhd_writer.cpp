// The VHD writer. A fixed disk is the guest's bytes (holes for zeros) and the footer right after
// them. A dynamic disk is laid out as Windows lays it out: footer copy at 0, dynamic header, BAT,
// then blocks of [sector bitmap | data] in the order writes reach them, each block's data on a
// 4 KiB boundary, and the footer after the last block. Block data goes straight to the sink;
// the BAT is kept in memory (4 bytes per block) and written once by finish(), with the headers.
//
// The size a footer states is exactly the disk's size (current_size and original_size), with
// creator 'win ' so that every reader sizes the disk by current_size rather than by the CHS
// geometry, which is kept as the largest the spec's algorithm gives without exceeding the size.
#include "formats/vhd/vhd_writer.hpp"

#include <algorithm>
#include <bit>
#include <vector>

#include "core/endian.hpp"
#include "core/rounding.hpp"
#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "formats/vhd/vhd_layout.hpp"

namespace diskshift::formats::vhd {
namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t TiB = 1024 * 1024 * MiB;

/// Where the dynamic header and the BAT go: right after the footer copy, as Windows and qemu put them.
constexpr std::uint64_t header_offset = footer_size;
constexpr std::uint64_t bat_offset = header_offset + dynamic_header_size;
/// Each block's data starts on a 4 KiB boundary, its bitmap just before it (as Windows writes
/// dynamic disks): guest pages map to whole file-system blocks, and the unwritten parts of a block
/// stay holes.
constexpr std::uint64_t data_alignment = 4 * KiB;
/// Spec "Block Size": 2 MiB by default; every VHD writer seen uses it.
constexpr std::uint64_t default_block_size = 2 * MiB;
/// Smaller blocks would let a 2040 GiB disk's last block lie past the 32-bit sector offsets of the
/// BAT (see the static_assert below). The largest is the reader's max_block_size.
constexpr std::uint64_t min_block_size = 1 * MiB;
/// Azure's rules for an uploaded VHD (reference vhd.md §6.5): fixed, a whole number of MiB,
/// from 20 MiB to 32 TiB.
constexpr std::uint64_t azure_size_unit = MiB;
constexpr std::uint64_t azure_min_size = 20 * MiB;
constexpr std::uint64_t azure_max_size = 32 * TiB;

/// The bytes the BAT takes in the file: 4 per block, padded to a whole sector (spec "Block
/// Allocation Table").
constexpr std::uint64_t bat_bytes(std::uint64_t blocks) { return round_up(blocks * 4, sector_size); }

/// Where a block's bitmap goes when the file so far ends at `end`: as early as possible with the
/// block's data on a data_alignment boundary.
constexpr std::uint64_t next_bitmap_offset(std::uint64_t end, std::uint64_t bitmap_size)
{
    return round_up(end + bitmap_size, data_alignment) - bitmap_size;
}

/// The sector offset the BAT would store for the last block of a disk whose blocks are all
/// allocated.
constexpr std::uint64_t last_block_sector(std::uint64_t disk_size, std::uint64_t block_size)
{
    const std::uint64_t blocks = units_for(disk_size, block_size);
    const std::uint64_t bitmap = bitmap_bytes(block_size);
    const std::uint64_t stride = round_up(bitmap, data_alignment) + block_size;
    return (next_bitmap_offset(bat_offset + bat_bytes(blocks), bitmap) + (blocks - 1) * stride) / sector_size;
}
// The smallest block size wastes the most alignment per byte: if the largest disk fits with it,
// every allowed disk and block size does.
static_assert(last_block_sector(max_dynamic_disk_size, min_block_size) < unallocated_block);

std::string mib_text(std::uint64_t bytes) { return fmt::format("{} MiB ({} bytes)", bytes / MiB, bytes); }

void check_whole_sectors(const ByteSink& sink, std::uint64_t size)
{
    if (size % sector_size != 0) {
        fail(Errc::unsupported,
             "{}: the disk is {} bytes, not a whole number of 512-byte sectors, and a VHD holds whole sectors only; "
             "extend the source to {} bytes first (qemu-img would round it up silently)",
             sink.name(), size, round_up(size, sector_size));
    }
}

/// Refuses a size Azure would reject, naming the nearest sizes it accepts.
void check_azure_size(const ByteSink& sink, std::uint64_t size)
{
    if (size % azure_size_unit != 0) {
        const std::uint64_t below = size / azure_size_unit * azure_size_unit;
        fail(Errc::invalid_argument,
             "{}: azure=on: Azure needs a virtual size that is a whole number of MiB, and the disk is {} bytes; "
             "the nearest whole-MiB sizes are {} and {} (resize the source first, e.g. qemu-img resize -f raw SRC {})",
             sink.name(), size, mib_text(below), mib_text(below + azure_size_unit), below + azure_size_unit);
    }
    if (size < azure_min_size || size > azure_max_size) {
        fail(Errc::invalid_argument, "{}: azure=on: Azure accepts disks from 20 MiB to 32 TiB, and the disk is {}",
             sink.name(), mib_text(size));
    }
}

std::uint64_t checked_block_size(std::uint64_t block_size)
{
    if (!std::has_single_bit(block_size) || block_size < min_block_size || block_size > max_block_size) {
        fail(Errc::invalid_argument, "option block_size: {} bytes is not a power of two from 1M to 256M",
             block_size);
    }
    return block_size;
}

void check_dynamic_size(const ByteSink& sink, std::uint64_t size)
{
    if (size > max_dynamic_disk_size) {
        fail(Errc::unsupported,
             "{}: the disk is {} bytes, larger than the 2040 GiB ({} bytes) a dynamic VHD can hold (Hyper-V's and "
             "qemu's limit); write a VHDX instead",
             sink.name(), size, max_dynamic_disk_size);
    }
}

class FixedWriter final : public Writer {
public:
    FixedWriter(ByteSink& sink, std::uint64_t size) : sink_(sink), size_(size) {}

    void write(std::uint64_t offset, std::span<const std::byte> data) override
    {
        require_inside_disk(sink_, size_, offset, data.size());
        sink_.write_at(data, offset);
    }

    void write_zeroes(std::uint64_t offset, std::uint64_t length) override
    {
        require_inside_disk(sink_, size_, offset, length);
        sink_.write_zeroes(offset, length);
    }

    /// The footer right after the data; the data never written stays a hole.
    void finish() override { sink_.write_at(footer_bytes(new_footer(DiskType::fixed, size_, 0)), size_); }

private:
    ByteSink& sink_;
    std::uint64_t size_;
};

class DynamicWriter final : public Writer {
public:
    DynamicWriter(ByteSink& sink, std::uint64_t size, std::uint64_t block_size)
        : sink_(sink),
          size_(size),
          block_size_(block_size),
          blocks_(units_for(size, block_size)),
          // Sized to the whole sectors the BAT takes: the padding entries stay unallocated.
          bat_(bat_bytes(blocks_) / 4, unallocated_block),
          bitmap_(bitmap_bytes(block_size), std::byte{0xFF}),
          end_(bat_offset + bat_bytes(blocks_))
    {
    }

    void write(std::uint64_t offset, std::span<const std::byte> data) override
    {
        require_inside_disk(sink_, size_, offset, data.size());
        for_each_block_piece(offset, data.size(), [&](std::uint64_t block, std::uint64_t in_block, std::uint64_t done,
                                                      std::uint64_t length) {
            sink_.write_at(data.subspan(done, length), data_offset(allocate(block)) + in_block);
        });
    }

    /// Zeros inside an allocated block become a hole in it; an unallocated block reads as zeros
    /// already and stays unallocated.
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override
    {
        require_inside_disk(sink_, size_, offset, length);
        for_each_block_piece(offset, length, [&](std::uint64_t block, std::uint64_t in_block, std::uint64_t,
                                                 std::uint64_t piece) {
            if (bat_[block] != unallocated_block) {
                sink_.write_zeroes(data_offset(bat_[block]) + in_block, piece);
            }
        });
    }

    void finish() override
    {
        for (std::uint32_t& entry : bat_) {
            store_be(reinterpret_cast<std::byte*>(&entry), entry);
        }
        sink_.write_at(std::as_bytes(std::span(bat_)), bat_offset);
        sink_.write_at(dynamic_header_bytes(bat_offset, static_cast<std::uint32_t>(blocks_),
                                            static_cast<std::uint32_t>(block_size_)),
                       header_offset);
        const auto footer = footer_bytes(new_footer(DiskType::dynamic, size_, header_offset));
        sink_.write_at(footer, 0);
        sink_.write_at(footer, end_);
    }

private:
    /// Calls `visit(block, offset_in_block, offset_in_range, length)` for each block's piece of
    /// [offset, offset + length), in order.
    template <typename Visit>
    void for_each_block_piece(std::uint64_t offset, std::uint64_t length, Visit&& visit) const
    {
        for (std::uint64_t done = 0; done < length;) {
            const std::uint64_t at = offset + done;
            const std::uint64_t in_block = at % block_size_;
            const std::uint64_t piece = std::min(length - done, block_size_ - in_block);
            visit(at / block_size_, in_block, done, piece);
            done += piece;
        }
    }

    /// The block's BAT entry, giving it room after the last block (its bitmap all ones, as
    /// Windows and qemu write it: every sector of a dynamic disk's block is present) when it has
    /// none yet.
    std::uint32_t allocate(std::uint64_t block)
    {
        std::uint32_t& entry = bat_[block];
        if (entry == unallocated_block) {
            const std::uint64_t bitmap_offset = next_bitmap_offset(end_, bitmap_.size());
            sink_.write_at(bitmap_, bitmap_offset);
            entry = static_cast<std::uint32_t>(bitmap_offset / sector_size);
            end_ = bitmap_offset + bitmap_.size() + block_size_;
        }
        return entry;
    }

    std::uint64_t data_offset(std::uint32_t entry) const { return std::uint64_t{entry} * sector_size + bitmap_.size(); }

    ByteSink& sink_;
    std::uint64_t size_;
    std::uint64_t block_size_;
    std::uint64_t blocks_;
    std::vector<std::uint32_t> bat_;  ///< sector offsets of the blocks' bitmaps, in host order until finish()
    std::vector<std::byte> bitmap_;   ///< the sector bitmap every block gets
    std::uint64_t end_;               ///< where the file's last structure ends
};

}  // namespace

std::unique_ptr<Writer> create_writer(ByteSink& sink, CreateRequest request)
{
    OptionMap& options = request.options;
    const std::string subformat = options.take("subformat").value_or("dynamic");
    const bool azure = options.take_bool("azure").value_or(false);
    const std::optional<std::uint64_t> block_size = options.take_size("block_size");
    options.require_all_taken("vhd");

    const std::uint64_t size = request.virtual_size;
    if (subformat != "dynamic" && subformat != "fixed") {
        fail(Errc::invalid_argument, "option subformat: '{}' is not dynamic or fixed", subformat);
    }
    check_whole_sectors(sink, size);
    if (azure) {
        if (subformat != "fixed") {
            fail(Errc::invalid_argument,
                 "{}: azure=on: Azure takes fixed VHDs only, and subformat is {}; add subformat=fixed", sink.name(),
                 subformat);
        }
        check_azure_size(sink, size);
    }
    if (subformat == "fixed") {
        if (block_size) {
            fail(Errc::invalid_argument, "option block_size: a fixed VHD has no blocks (subformat=dynamic has)");
        }
        return std::make_unique<FixedWriter>(sink, size);
    }
    check_dynamic_size(sink, size);
    return std::make_unique<DynamicWriter>(sink, size, checked_block_size(block_size.value_or(default_block_size)));
}

}  // namespace diskshift::formats::vhd
