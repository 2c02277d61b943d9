// The streamOptimized writer, in VMware's layout (technote, "Stream-Optimized Compressed Sparse
// Extents"): the header (grain directory "at the end") and the descriptor, then each non-zero grain
// as a zlib stream behind a grain marker in ascending order, a grain table behind a GT marker after
// the grains of each 32 MiB group that has any, the grain directory behind a GD marker, and the
// footer marker, the footer (the header with the directory's place) and the end-of-stream marker
// as the file's last three sectors. Grains are compressed on convert()'s workers, a 1 MiB chunk at
// a time, and appended in order.
#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "codec/zlib_stream.hpp"
#include "core/bytes.hpp"
#include "core/endian.hpp"
#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "formats/vmdk/hosted_writer.hpp"
#include "formats/vmdk/sparse_layout.hpp"

namespace diskshift::formats::vmdk {
namespace {

/// VMware's stream files are version 3; ESXi refuses older ones ("sparse VMDK version too old").
constexpr std::uint32_t stream_version = 3;
/// Where the first grain goes: 128 sectors, as in VMware's files, which leaves the descriptor room.
constexpr std::uint64_t stream_overhead_sectors = 128;
constexpr std::uint64_t grains_per_chunk = encoder_chunk_bytes / new_grain_bytes;

static_assert(encoder_chunk_bytes % new_grain_bytes == 0 && table_span_bytes % encoder_chunk_bytes == 0,
              "a chunk holds whole grains and lies inside one grain table's span");

/// The most bytes a grain takes in the file: marker, the largest zlib stream, padding.
std::size_t max_stored_grain_bytes() noexcept
{
    return round_up(grain_marker_bytes + codec::zlib_compress_bound(new_grain_bytes), sector_bytes);
}

/// Stores a metadata marker (one sector) at `out`.
void store_marker(std::byte* out, std::uint64_t sectors_after, std::uint32_t type) noexcept
{
    std::fill_n(out, sector_bytes, std::byte{0});
    store_le<std::uint64_t>(out, sectors_after);
    store_le<std::uint32_t>(out + 12, type);
}

/// Compresses the grains of one chunk into a buffer laid out exactly as they go into the file.
class GrainEncoder final : public ChunkEncoder {
public:
    struct StoredGrain {
        std::uint64_t grain = 0;  ///< index on the disk
        std::size_t at = 0;       ///< where its marker starts in bytes()
    };

    explicit GrainEncoder(int level) : level_(level), buffer_(grains_per_chunk * max_stored_grain_bytes())
    {
        grains_.reserve(grains_per_chunk);
    }

    void encode(std::uint64_t offset, std::span<const std::byte> data) override
    {
        offset_ = offset;
        used_ = 0;
        grains_.clear();
        for (std::uint64_t at = 0; at < data.size(); at += new_grain_bytes) {
            const auto grain = data.subspan(at, std::min<std::uint64_t>(new_grain_bytes, data.size() - at));
            if (!is_all_zero(grain)) {
                store_grain((offset + at) / new_grain_bytes, grain);
            }
        }
    }

    std::uint64_t offset() const noexcept { return offset_; }
    std::span<const std::byte> bytes() const noexcept { return std::span(buffer_).first(used_); }
    std::span<const StoredGrain> grains() const noexcept { return grains_; }

private:
    /// The grain marker {LBA, compressed size}, the zlib stream, zeros to the next sector.
    void store_grain(std::uint64_t grain, std::span<const std::byte> data)
    {
        std::byte* marker = buffer_.data() + used_;
        const std::span<std::byte> room(marker + grain_marker_bytes, max_stored_grain_bytes() - grain_marker_bytes);
        const std::optional<std::size_t> compressed = codec::zlib_compress(data, room, level_);
        if (!compressed) {
            fail(Errc::io, "vmdk: the compressor could not be set up for grain {}", grain);
        }
        store_le<std::uint64_t>(marker, grain * new_grain_sectors);
        store_le<std::uint32_t>(marker + 8, static_cast<std::uint32_t>(*compressed));
        const std::size_t stored = round_up(grain_marker_bytes + *compressed, sector_bytes);
        std::fill(marker + grain_marker_bytes + *compressed, marker + stored, std::byte{0});
        grains_.push_back({grain, used_});
        used_ += stored;
    }

    int level_;
    std::vector<std::byte> buffer_;
    std::vector<StoredGrain> grains_;
    std::size_t used_ = 0;
    std::uint64_t offset_ = 0;
};

class StreamWriter final : public Writer {
public:
    StreamWriter(ByteSink& sink, NewFile file)
        : sink_(sink), file_(std::move(file)), header_(stream_header(file_)),
          directory_(directory_entries(file_.capacity_sectors), gte_unallocated), table_(new_gtes_per_gt)
    {
        write_header_and_descriptor(sink_, header_, file_.descriptor);
        end_ = header_.overhead * sector_bytes;
    }

    bool sequential() const noexcept override { return true; }

    std::unique_ptr<ChunkEncoder> make_encoder() override
    {
        return std::make_unique<GrainEncoder>(file_.compression_level);
    }

    void write_encoded(const ChunkEncoder& encoder) override
    {
        const auto& chunk = static_cast<const GrainEncoder&>(encoder);
        if (chunk.grains().empty()) {
            return;
        }
        require_ascending(chunk.offset(), appended_end_);
        const std::uint64_t group = chunk.offset() / table_span_bytes;
        if (group != group_) {
            close_group();
            group_ = group;
        }
        sink_.write_at(chunk.bytes(), end_);
        for (const GrainEncoder::StoredGrain& g : chunk.grains()) {
            table_[g.grain % new_gtes_per_gt] = table_entry(sink_, (end_ + g.at) / sector_bytes);
        }
        group_has_grains_ = true;
        end_ += chunk.bytes().size();
        appended_end_ = chunk.offset() + encoder_chunk_bytes;
    }

    /// Data handed over directly is gathered a chunk at a time and goes through an encoder here,
    /// on the caller's thread.
    void write(std::uint64_t offset, std::span<const std::byte> data) override
    {
        require_inside_disk(sink_, disk_bytes(), offset, data.size());
        require_ascending(offset, staged_offset_);
        while (!data.empty()) {
            stage_chunk(offset / encoder_chunk_bytes * encoder_chunk_bytes);
            const std::uint64_t within = offset - staged_offset_;
            const std::size_t length = std::min<std::uint64_t>(data.size(), encoder_chunk_bytes - within);
            std::copy_n(data.begin(), length, staged_.begin() + static_cast<std::ptrdiff_t>(within));
            staged_has_data_ = true;
            data = data.subspan(length);
            offset += length;
        }
    }

    /// Zeros over the chunk being gathered clear it; ranges after it were never written. Grains
    /// already in the stream cannot be taken back.
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override
    {
        require_inside_disk(sink_, disk_bytes(), offset, length);
        const std::uint64_t end = offset + length;
        if (offset < appended_end_) {
            fail(Errc::unsupported, "{}: a stream VMDK cannot zero offset {}: its grains are already written",
                 sink_.name(), offset);
        }
        if (staged_has_data_ && offset < staged_offset_ + encoder_chunk_bytes && end > staged_offset_) {
            const std::uint64_t from = std::max(offset, staged_offset_) - staged_offset_;
            const std::uint64_t to = std::min(end - staged_offset_, encoder_chunk_bytes);
            std::fill(staged_.begin() + static_cast<std::ptrdiff_t>(from),
                      staged_.begin() + static_cast<std::ptrdiff_t>(to), std::byte{0});
        }
    }

    void finish() override
    {
        flush_staged();
        close_group();
        write_tail();
    }

private:
    static SparseHeader stream_header(const NewFile& file)
    {
        SparseHeader h = new_header(file);
        h.version = stream_version;
        h.flags |= flag_compressed | flag_markers;
        h.compress_algorithm = compress_deflate;
        h.overhead = std::max(stream_overhead_sectors,
                              round_up(new_descriptor_offset + h.descriptor_sectors, new_grain_sectors));
        h.gd_offset = gd_at_end;
        return h;
    }

    /// A stream file holds its grains in disk order: data at `offset` cannot follow data at `after`.
    void require_ascending(std::uint64_t offset, std::uint64_t after) const
    {
        if (offset < after) {
            fail(Errc::invalid_argument, "{}: stream VMDK data must arrive in ascending order (offset {} after {})",
                 sink_.name(), offset, after);
        }
    }

    std::uint64_t disk_bytes() const noexcept { return file_.capacity_sectors * sector_bytes; }

    /// Makes the chunk at `offset` the one being gathered, encoding the previous one.
    void stage_chunk(std::uint64_t offset)
    {
        if (staged_.empty()) {
            staged_.resize(encoder_chunk_bytes);
            staging_encoder_ = std::make_unique<GrainEncoder>(file_.compression_level);
        }
        if (offset != staged_offset_) {
            flush_staged();
            staged_offset_ = offset;
        }
    }

    void flush_staged()
    {
        if (!staged_has_data_) {
            return;
        }
        const std::uint64_t length = std::min(encoder_chunk_bytes, disk_bytes() - staged_offset_);
        staging_encoder_->encode(staged_offset_, std::span(staged_).first(length));
        write_encoded(*staging_encoder_);
        std::ranges::fill(staged_, std::byte{0});
        staged_has_data_ = false;
    }

    /// Writes the grain table of the group whose grains were just appended, behind its marker.
    void close_group()
    {
        if (!group_has_grains_) {
            return;
        }
        std::vector<std::byte>& bytes = scratch_;
        bytes.assign(sector_bytes + grain_table_bytes, std::byte{0});
        store_marker(bytes.data(), grain_table_bytes / sector_bytes, marker_grain_table);
        store_table_entries(bytes.data() + sector_bytes, table_);
        sink_.write_at(bytes, end_);
        directory_[group_] = table_entry(sink_, end_ / sector_bytes + 1);
        end_ += bytes.size();
        std::ranges::fill(table_, gte_unallocated);
        group_has_grains_ = false;
    }

    /// The grain directory behind its marker, the footer marker, the footer, the end-of-stream
    /// marker: one write that ends the file.
    void write_tail()
    {
        const std::uint64_t directory_bytes = round_up(directory_.size() * 4, sector_bytes);
        std::vector<std::byte> bytes(sector_bytes + directory_bytes + stream_tail_bytes, std::byte{0});
        store_marker(bytes.data(), directory_bytes / sector_bytes, marker_grain_directory);
        store_table_entries(bytes.data() + sector_bytes, directory_);
        std::byte* tail = bytes.data() + sector_bytes + directory_bytes;
        store_marker(tail, 1, marker_footer);
        SparseHeader footer = header_;
        footer.gd_offset = end_ / sector_bytes + 1;
        store_sparse_header(footer, std::span<std::byte, sector_bytes>(tail + sector_bytes, sector_bytes));
        // The end-of-stream marker is the all-zero last sector.
        sink_.write_at(bytes, end_);
        end_ += bytes.size();
    }

    ByteSink& sink_;
    NewFile file_;
    SparseHeader header_;
    std::vector<std::uint32_t> directory_;
    std::vector<std::uint32_t> table_;  ///< the grain table of group_
    std::uint64_t group_ = 0;
    bool group_has_grains_ = false;
    std::uint64_t end_ = 0;           ///< where the next structure goes in the file
    std::uint64_t appended_end_ = 0;  ///< the disk offset up to which grains are in the file
    std::vector<std::byte> scratch_;
    // The chunk being gathered from write() calls.
    std::vector<std::byte> staged_;
    std::uint64_t staged_offset_ = 0;
    bool staged_has_data_ = false;
    std::unique_ptr<GrainEncoder> staging_encoder_;
};

}  // namespace

std::unique_ptr<Writer> make_stream_writer(ByteSink& sink, NewFile file)
{
    return std::make_unique<StreamWriter>(sink, std::move(file));
}

}  // namespace diskshift::formats::vmdk
