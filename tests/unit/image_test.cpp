// Image: bounds checks on read() and extents(), and the extents of a raw sparse file.
#include <doctest/doctest.h>

#include <diskshift/image.hpp>

#include "support/errors.hpp"
#include "support/extent_json.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/printing.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using diskshift::Extent;
using diskshift::ExtentKind;
using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed0004;

}  // namespace

TEST_SUITE("image") {

TEST_CASE("Image: read inside the disk returns its bytes")
{
    const std::vector<std::byte> content = random_bytes(10000, seed);
    const auto image = open_raw_bytes(content);
    std::vector<std::byte> buf(100);
    image->read(buf, 9900);
    CHECK(buf == std::vector<std::byte>(content.end() - 100, content.end()));
    std::vector<std::byte> none;
    image->read(none, 10000);
}

TEST_CASE("Image: read and extents past the end throw invalid_argument")
{
    const auto image = open_raw_bytes(random_bytes(10000, seed), "bounds.img");
    std::vector<std::byte> buf(100);
    CHECK(error_kind_of([&] { image->read(buf, 9901); }) == "invalid_argument");
    CHECK(error_kind_of([&] { image->read(buf, 10001); }) == "invalid_argument");
    CHECK(error_kind_of([&] { image->read(buf, UINT64_MAX - 10); }) == "invalid_argument");
    CHECK(contains(error_message_of([&] { image->read(buf, 9901); }), "bounds.img"));

    CHECK(error_kind_of([&] { (void)image->extents(0, 10001); }) == "invalid_argument");
    CHECK(error_kind_of([&] { (void)image->extents(10001, 0); }) == "invalid_argument");
    CHECK(error_kind_of([&] { (void)image->extents(5000, UINT64_MAX); }) == "invalid_argument");
    CHECK(image->extents(10000, 0).empty());
}

TEST_CASE("Image: extents of a memory image are one data extent clipped to the range")
{
    const auto image = open_raw_bytes(random_bytes(10000, seed));
    const diskshift::ExtentList all = image->extents();
    REQUIRE(all.size() == 1);
    CHECK(all[0] == Extent{0, 10000, ExtentKind::data});
    const diskshift::ExtentList part = image->extents(123, 456);
    REQUIRE(part.size() == 1);
    CHECK(part[0] == Extent{123, 456, ExtentKind::data});
}

TEST_CASE("Image: extents of a raw sparse file equal its layout")
{
    const TempDir dir;
    require_hole_support(dir.path());
    // 8 MiB + 1000 bytes: data at the start, two adjacent pieces, one across a 1 MiB boundary, and
    // an unaligned tail of data.
    const SparseLayout layout{8 * MiB + 1000,
                              {{0, 4 * KiB},
                               {100 * KiB, 4 * KiB},
                               {104 * KiB, 60 * KiB},
                               {MiB - 8 * KiB, 16 * KiB},
                               {5 * MiB, 2 * MiB},
                               {8 * MiB, 1000}}};
    write_sparse_file(dir / "disk.img", layout, seed);

    const auto image = open_raw_file(dir / "disk.img");
    CHECK(image->size() == layout.size);
    CHECK(extent_difference(layout.extents(), image->extents()) == "");
    CHECK(extent_difference(layout.extents().slice(50 * KiB, 3 * MiB), image->extents(50 * KiB, 3 * MiB)) == "");
}

}  // TEST_SUITE
