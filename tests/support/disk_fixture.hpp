// The CLI tests' disk: a 1 GiB sparse raw file with 100 MiB of random data scattered in 4 KiB and
// 1 MiB pieces (fixed seed), in a temporary folder that goes away with the fixture.
#pragma once

#include <cstdint>
#include <filesystem>

#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"

namespace dstest {

struct DiskFixture {
    /// Writes `layout` with random data from `seed` to <dir>/src.img.
    DiskFixture(SparseLayout layout, std::uint64_t seed);
    /// The 1 GiB disk with 100 MiB of data.
    static DiskFixture standard();

    TempDir dir;
    SparseLayout layout;
    std::filesystem::path source;       ///< <dir>/src.img
    std::filesystem::path destination;  ///< <dir>/dst.img, not created
};

}  // namespace dstest
