#include "support/disk_fixture.hpp"

#include "support/files.hpp"

namespace dstest {

DiskFixture::DiskFixture(SparseLayout disk_layout, std::uint64_t seed)
    : layout(std::move(disk_layout)), source(dir / "src.img"), destination(dir / "dst.img")
{
    require_hole_support(dir.path());
    write_sparse_file(source, layout, seed);
}

DiskFixture DiskFixture::standard()
{
    constexpr std::uint64_t seed = 0xd15c5417;
    return DiskFixture(scattered_layout(GiB, 100 * MiB, seed), seed);
}

}  // namespace dstest
