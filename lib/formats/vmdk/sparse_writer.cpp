// The monolithicSparse writer (technote, "Hosted Sparse Extents"), laid out like qemu-img's and
// VMware's: the header, the descriptor, the redundant grain directory and its grain tables, the
// grain directory and its grain tables (every table preallocated), then the grains, appended in
// the order they are first written. A grain is allocated whole; its parts never written stay holes
// and read as zeros. The tables are kept in memory (4 bytes per grain) and written once, at the end.
#include <algorithm>
#include <memory>
#include <vector>

#include "core/endian.hpp"
#include "core/file_range.hpp"
#include "formats/vmdk/hosted_writer.hpp"
#include "formats/vmdk/sparse_layout.hpp"

namespace diskshift::formats::vmdk {
namespace {

/// Version 1: plain grains, no zeroed-grain entries.
constexpr std::uint32_t sparse_version = 1;
/// Tables are written in pieces of this many bytes at most.
constexpr std::uint64_t table_write_bytes = std::uint64_t{1} << 20;

/// Where the two copies of the tables go: each directory is followed by its tables, in order.
struct TableLayout {
    std::uint64_t directory_sectors = 0;
    std::uint64_t tables_sectors = 0;
    std::uint64_t redundant_directory = 0;  ///< sector
    std::uint64_t directory = 0;            ///< sector
    std::uint64_t overhead = 0;             ///< sector of the first grain, grain-aligned
};

TableLayout table_layout(const SparseHeader& h)
{
    const std::uint64_t tables = directory_entries(h.capacity);
    TableLayout t;
    t.directory_sectors = units_for(tables * 4, sector_bytes);
    t.tables_sectors = tables * grain_table_bytes / sector_bytes;
    t.redundant_directory = new_descriptor_offset + h.descriptor_sectors;
    t.directory = t.redundant_directory + t.directory_sectors + t.tables_sectors;
    t.overhead = round_up(t.directory + t.directory_sectors + t.tables_sectors, new_grain_sectors);
    return t;
}

class SparseWriter final : public Writer {
public:
    SparseWriter(ByteSink& sink, NewFile file)
        : sink_(sink), file_(std::move(file)), header_(sparse_header(file_)), layout_(table_layout(header_)),
          entries_(directory_entries(file_.capacity_sectors) * new_gtes_per_gt, gte_unallocated),
          next_grain_sector_(layout_.overhead)
    {
        header_.rgd_offset = layout_.redundant_directory;
        header_.gd_offset = layout_.directory;
        header_.overhead = layout_.overhead;
    }

    void write(std::uint64_t offset, std::span<const std::byte> data) override
    {
        require_inside_disk(sink_, file_.capacity_sectors * sector_bytes, offset, data.size());
        for_each_stored_run(offset, data.size(), true, [&](std::uint64_t at, std::uint64_t done, std::uint64_t length) {
            sink_.write_at(data.subspan(done, length), at);
        });
    }

    void write_zeroes(std::uint64_t offset, std::uint64_t length) override
    {
        require_inside_disk(sink_, file_.capacity_sectors * sector_bytes, offset, length);
        for_each_stored_run(offset, length, false, [&](std::uint64_t at, std::uint64_t, std::uint64_t run) {
            sink_.write_zeroes(at, run);
        });
    }

    void finish() override
    {
        write_header_and_descriptor(sink_, header_, file_.descriptor);
        write_tables(layout_.redundant_directory);
        write_tables(layout_.directory);
        sink_.resize(std::max(sink_.size(), next_grain_sector_ * sector_bytes));
    }

private:
    static SparseHeader sparse_header(const NewFile& file)
    {
        SparseHeader h = new_header(file);
        h.version = sparse_version;
        h.flags |= flag_redundant;
        return h;
    }

    /// Calls `use(file offset, bytes done, length)` for each piece of [offset, offset + length)
    /// that lies in consecutive grains of the file, allocating grains when `allocate` is set
    /// (otherwise unallocated grains are skipped: they read as zeros already).
    template <typename Use>
    void for_each_stored_run(std::uint64_t offset, std::uint64_t length, bool allocate, Use use)
    {
        std::uint64_t done = 0;
        while (done < length) {
            std::uint64_t at = 0;
            std::uint64_t run = 0;
            while (done + run < length) {
                const std::uint64_t disk = offset + done + run;
                const std::uint64_t piece = std::min(length - done - run, new_grain_bytes - disk % new_grain_bytes);
                const std::uint64_t file = stored_at(disk, allocate);
                if (run != 0 && file != at + run) {
                    break;
                }
                if (run == 0 && file == 0) {
                    done += piece;  // an unallocated grain, skipped
                    continue;
                }
                at = run == 0 ? file : at;
                run += piece;
            }
            if (run != 0) {
                use(at, done, run);
                done += run;
            }
        }
    }

    /// Where disk offset `disk` is stored in the file, or 0 when its grain is unallocated and
    /// `allocate` is not set.
    std::uint64_t stored_at(std::uint64_t disk, bool allocate)
    {
        std::uint32_t& entry = entries_[disk / new_grain_bytes];
        if (entry == gte_unallocated) {
            if (!allocate) {
                return 0;
            }
            entry = table_entry(sink_, next_grain_sector_);
            next_grain_sector_ += new_grain_sectors;
        }
        return std::uint64_t{entry} * sector_bytes + disk % new_grain_bytes;
    }

    /// The directory at `directory` and the tables after it, which it points to.
    void write_tables(std::uint64_t directory)
    {
        const std::uint64_t tables = directory_entries(file_.capacity_sectors);
        std::vector<std::byte> bytes(layout_.directory_sectors * sector_bytes, std::byte{0});
        const std::uint64_t first_table = directory + layout_.directory_sectors;
        for (std::uint64_t i = 0; i < tables; ++i) {
            store_le<std::uint32_t>(bytes.data() + 4 * i,
                                    table_entry(sink_, first_table + i * grain_table_bytes / sector_bytes));
        }
        sink_.write_at(bytes, directory * sector_bytes);
        const std::uint64_t per_write = table_write_bytes / 4;
        for (std::uint64_t first = 0; first < entries_.size(); first += per_write) {
            const std::uint64_t count = std::min<std::uint64_t>(per_write, entries_.size() - first);
            bytes.resize(count * 4);
            store_table_entries(bytes.data(), std::span(entries_).subspan(first, count));
            sink_.write_at(bytes, first_table * sector_bytes + first * 4);
        }
    }

    ByteSink& sink_;
    NewFile file_;
    SparseHeader header_;
    TableLayout layout_;
    std::vector<std::uint32_t> entries_;  ///< every grain table, one entry per grain of the disk
    std::uint64_t next_grain_sector_;
};

}  // namespace

std::unique_ptr<Writer> make_sparse_writer(ByteSink& sink, NewFile file)
{
    return std::make_unique<SparseWriter>(sink, std::move(file));
}

}  // namespace diskshift::formats::vmdk
