#include "support/sparse_layout.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "support/files.hpp"
#include "support/random_data.hpp"

namespace dstest {
namespace {

constexpr std::uint64_t block = 4 * KiB;

/// Which 4 KiB blocks of a disk are taken by pieces.
class BlockMap {
public:
    explicit BlockMap(std::uint64_t disk_size) : taken_(disk_size / block, false) {}

    std::uint64_t blocks() const noexcept { return taken_.size(); }

    bool is_free(std::uint64_t first, std::uint64_t count) const
    {
        return first + count <= taken_.size() &&
               std::none_of(taken_.begin() + static_cast<std::ptrdiff_t>(first),
                            taken_.begin() + static_cast<std::ptrdiff_t>(first + count), [](bool b) { return b; });
    }

    void take(std::uint64_t first, std::uint64_t count)
    {
        std::fill_n(taken_.begin() + static_cast<std::ptrdiff_t>(first), count, true);
    }

private:
    std::vector<bool> taken_;
};

class LayoutBuilder {
public:
    LayoutBuilder(std::uint64_t disk_size, std::uint64_t seed) : map_(disk_size), random_(seed)
    {
        layout_.size = disk_size;
    }

    /// Places a piece of `length` bytes at `offset`, which must be free.
    void place(std::uint64_t offset, std::uint64_t length)
    {
        if (offset % block != 0 || length % block != 0 || !map_.is_free(offset / block, length / block)) {
            throw std::logic_error("scattered_layout: a fixed piece overlaps another one");
        }
        map_.take(offset / block, length / block);
        layout_.pieces.push_back({offset, length});
    }

    /// Places a piece of `length` bytes at a random free 4 KiB-aligned place.
    void place_anywhere(std::uint64_t length)
    {
        const std::uint64_t count = length / block;
        for (;;) {
            const std::uint64_t first = random_.below(map_.blocks() - count + 1);
            if (map_.is_free(first, count)) {
                place(first * block, length);
                return;
            }
        }
    }

    SparseLayout finish()
    {
        std::sort(layout_.pieces.begin(), layout_.pieces.end(),
                  [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
        return std::move(layout_);
    }

private:
    BlockMap map_;
    RandomBytes random_;
    SparseLayout layout_;
};

}  // namespace

std::uint64_t SparseLayout::data_bytes() const noexcept
{
    std::uint64_t total = 0;
    for (const ByteRange& piece : pieces) {
        total += piece.length;
    }
    return total;
}

diskshift::ExtentList SparseLayout::extents() const
{
    diskshift::ExtentList out;
    for (const ByteRange& piece : pieces) {
        out.append(piece.offset - out.end_offset(), diskshift::ExtentKind::zero);
        out.append(piece.length, diskshift::ExtentKind::data);
    }
    out.append(size - out.end_offset(), diskshift::ExtentKind::zero);
    return out;
}

std::vector<ByteRange> SparseLayout::data_ranges() const
{
    return dstest::data_ranges(extents());
}

std::vector<ByteRange> data_ranges(const diskshift::ExtentList& extents)
{
    std::vector<ByteRange> out;
    for (const diskshift::Extent& e : extents) {
        if (e.kind == diskshift::ExtentKind::data) {
            append_merged(out, {e.offset, e.length});
        }
    }
    return out;
}

void write_sparse_file(const std::filesystem::path& path, const SparseLayout& layout, std::uint64_t seed)
{
    const Fd fd = open_file(path, O_RDWR | O_CREAT | O_TRUNC);
    if (::ftruncate(fd.get(), static_cast<off_t>(layout.size)) != 0) {
        throw std::system_error(errno, std::generic_category(), "ftruncate " + path.string());
    }
    RandomBytes random(seed);
    std::vector<std::byte> buffer;
    for (const ByteRange& piece : layout.pieces) {
        buffer.resize(piece.length);
        random.fill(buffer);
        write_at(fd.get(), buffer, piece.offset);
    }
}

SparseLayout scattered_layout(std::uint64_t disk_size, std::uint64_t data_bytes, std::uint64_t seed)
{
    if (disk_size % block != 0 || data_bytes % block != 0 || data_bytes > disk_size / 4 || data_bytes < 8 * MiB ||
        disk_size < 64 * MiB) {
        throw std::logic_error("scattered_layout: unsuitable sizes");
    }
    LayoutBuilder builder(disk_size, seed);
    // Fixed pieces: the very start and the very end, and adjacent neighbours of both sizes.
    builder.place(0, MiB);
    builder.place(MiB, block);
    builder.place(disk_size - block, block);
    builder.place(disk_size - block - MiB, MiB);
    builder.place(disk_size / 2, block);
    builder.place(disk_size / 2 + block, block);
    builder.place(disk_size / 4, MiB);
    builder.place(disk_size / 4 + MiB, MiB);
    std::uint64_t left = data_bytes - 4 * MiB - 4 * block;
    // About 60 % of the data in 1 MiB pieces, the rest in 4 KiB pieces.
    std::uint64_t large_left = left * 6 / 10 / MiB;
    while (left > 0) {
        const std::uint64_t length = large_left > 0 ? MiB : block;
        builder.place_anywhere(length);
        large_left -= large_left > 0 ? 1 : 0;
        left -= length;
    }
    return builder.finish();
}

}  // namespace dstest
