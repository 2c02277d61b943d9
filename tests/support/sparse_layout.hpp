// Sparse files with a known layout: which ranges hold (random) data, the rest being holes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <diskshift/extent.hpp>

#include "support/byte_range.hpp"

namespace dstest {

/// A disk of `size` bytes whose `pieces` (ascending, non-overlapping, 4 KiB-aligned unless at the
/// end of the disk) hold data; everything else is a hole.
struct SparseLayout {
    std::uint64_t size = 0;
    std::vector<ByteRange> pieces;

    std::uint64_t data_bytes() const noexcept;
    /// The extents a reader must report: adjacent pieces merged into `data`, the rest `zero`.
    diskshift::ExtentList extents() const;
    /// The data ranges with adjacent pieces merged.
    std::vector<ByteRange> data_ranges() const;
};

/// Creates `path` as a sparse file of `layout.size` bytes (ftruncate) and fills each piece with
/// random bytes drawn in order from a generator seeded with `seed` (pwrite).
void write_sparse_file(const std::filesystem::path& path, const SparseLayout& layout, std::uint64_t seed);

/// A `disk_size` disk with `data_bytes` of data scattered in 4 KiB and 1 MiB pieces at 4 KiB-aligned
/// places chosen with `seed`: pieces at the very start and the very end of the disk, and several
/// pieces directly adjacent to each other. `data_bytes` must be a multiple of 4 KiB, and at most a
/// quarter of `disk_size`, and at least 8 MiB.
SparseLayout scattered_layout(std::uint64_t disk_size, std::uint64_t data_bytes, std::uint64_t seed);

/// The data ranges of an extent list (merged, in order).
std::vector<ByteRange> data_ranges(const diskshift::ExtentList& extents);

}  // namespace dstest
