// Byte sources: FileSource (reads, errors, SEEK_HOLE allocation), MemorySource, SubrangeSource.
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <diskshift/io.hpp>

#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/printing.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using diskshift::Extent;
using diskshift::ExtentKind;
using diskshift::ExtentList;
using diskshift::FileSource;
using diskshift::MemorySource;
using diskshift::SubrangeSource;
using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed0001;

/// 1 MiB + 4 KiB with data at [8 KiB, 16 KiB), [64 KiB, 68 KiB), [68 KiB, 132 KiB) (adjacent), and
/// the last 4 KiB; holes elsewhere, including the start.
SparseLayout small_sparse_layout()
{
    return {MiB + 4 * KiB, {{8 * KiB, 8 * KiB}, {64 * KiB, 4 * KiB}, {68 * KiB, 64 * KiB}, {MiB, 4 * KiB}}};
}

/// Writes small_sparse_layout() to <dir>/sparse.img, on a file system that must report holes.
SparseLayout write_small_sparse_file(const TempDir& dir)
{
    require_hole_support(dir.path());
    const SparseLayout layout = small_sparse_layout();
    write_sparse_file(dir / "sparse.img", layout, seed);
    return layout;
}

std::vector<std::byte> bytes_at(const diskshift::ByteSource& source, std::uint64_t offset, std::size_t length)
{
    std::vector<std::byte> out(length);
    source.read_at(out, offset);
    return out;
}

std::vector<std::byte> slice_of(const std::vector<std::byte>& bytes, std::size_t offset, std::size_t length)
{
    return {bytes.begin() + static_cast<std::ptrdiff_t>(offset),
            bytes.begin() + static_cast<std::ptrdiff_t>(offset + length)};
}

}  // namespace

TEST_SUITE("byte source") {

TEST_CASE("FileSource: reads exact ranges, including the last byte")
{
    const TempDir dir;
    const std::vector<std::byte> content = random_bytes(10000, seed);
    write_whole_file(dir / "file.bin", content);

    const FileSource source(dir / "file.bin");
    CHECK(source.size() == 10000);
    CHECK(source.name() == (dir / "file.bin").string());
    CHECK(bytes_at(source, 0, 10000) == content);
    CHECK(bytes_at(source, 1234, 4321) == slice_of(content, 1234, 4321));
    CHECK(bytes_at(source, 9999, 1) == slice_of(content, 9999, 1));
    CHECK(bytes_at(source, 10000, 0).empty());
}

TEST_CASE("FileSource: a read past the end throws corrupt naming the source")
{
    const TempDir dir;
    write_whole_file(dir / "short.bin", random_bytes(100, seed));
    const FileSource source(dir / "short.bin");
    std::vector<std::byte> buf(10);

    CHECK(error_kind_of([&] { source.read_at(buf, 95); }) == "corrupt");
    CHECK(error_kind_of([&] { source.read_at(buf, 101); }) == "corrupt");
    CHECK(error_kind_of([&] { source.read_at(buf, UINT64_MAX - 5); }) == "corrupt");
    CHECK(contains(error_message_of([&] { source.read_at(buf, 95); }), "short.bin"));
}

TEST_CASE("FileSource: a missing file throws io naming the path")
{
    const TempDir dir;
    const auto path = dir / "does-not-exist.img";
    CHECK(error_kind_of([&] { FileSource source(path); }) == "io");
    CHECK(error_errno_of([&] { FileSource source(path); }) == ENOENT);
    CHECK(contains(error_message_of([&] { FileSource source(path); }), path.string()));
}

TEST_CASE("FileSource: a directory is refused")
{
    const TempDir dir;
    CHECK(error_kind_of([&] { FileSource source(dir.path()); }) == "io");
    CHECK(error_errno_of([&] { FileSource source(dir.path()); }) == EISDIR);
    CHECK(contains(error_message_of([&] { FileSource source(dir.path()); }), dir.path().string()));
}

TEST_CASE("FileSource: allocation of a sparse file is exactly its data and holes")
{
    const TempDir dir;
    const SparseLayout layout = write_small_sparse_file(dir);

    const FileSource source(dir / "sparse.img");
    CHECK(source.allocation(0, layout.size) == layout.extents());
    CHECK(source.allocated_bytes() >= layout.data_bytes());
    CHECK(source.allocated_bytes() < layout.size);
}

TEST_CASE("FileSource: allocation of a part of a sparse file starts at the offset asked")
{
    const TempDir dir;
    const SparseLayout layout = write_small_sparse_file(dir);
    const FileSource source(dir / "sparse.img");

    CHECK(source.allocation(10 * KiB, 60 * KiB) == layout.extents().slice(10 * KiB, 60 * KiB));
    CHECK(source.allocation(20 * KiB, 4 * KiB) == layout.extents().slice(20 * KiB, 4 * KiB));
    CHECK(source.allocation(MiB + 100, 3 * KiB) == layout.extents().slice(MiB + 100, 3 * KiB));
    CHECK(source.allocation(layout.size, 0).empty());
    CHECK(error_kind_of([&] { (void)source.allocation(MiB, 8 * KiB); }) == "corrupt");
}

TEST_CASE("FileSource: a file without holes is one data extent, an empty file has none")
{
    const TempDir dir;
    write_whole_file(dir / "full.bin", random_bytes(3 * 4096 + 17, seed));
    write_whole_file(dir / "empty.bin", {});
    const FileSource full(dir / "full.bin");
    const FileSource empty(dir / "empty.bin");

    const ExtentList allocation = full.allocation(0, full.size());
    REQUIRE(allocation.size() == 1);
    CHECK(allocation[0] == Extent{0, 3 * 4096 + 17, ExtentKind::data});
    CHECK(empty.size() == 0);
    CHECK(empty.allocation(0, 0).empty());
}

TEST_CASE("MemorySource: reads, bounds and an all-data allocation")
{
    const std::vector<std::byte> content = random_bytes(5000, seed);
    const MemorySource source(content, "mem");
    CHECK(source.name() == "mem");
    CHECK(source.size() == 5000);
    CHECK(source.allocated_bytes() == 5000);
    CHECK(bytes_at(source, 4990, 10) == slice_of(content, 4990, 10));

    std::vector<std::byte> buf(11);
    CHECK(error_kind_of([&] { source.read_at(buf, 4990); }) == "corrupt");

    const ExtentList allocation = source.allocation(100, 200);
    REQUIRE(allocation.size() == 1);
    CHECK(allocation[0] == Extent{100, 200, ExtentKind::data});
}

TEST_CASE("SubrangeSource: reads inside the window and refuses reads outside it")
{
    const std::vector<std::byte> content = random_bytes(10000, seed);
    const auto parent = std::make_shared<MemorySource>(content, "archive.ova");
    const SubrangeSource window(parent, 1000, 3000, "archive.ova:disk1.vmdk");

    CHECK(window.name() == "archive.ova:disk1.vmdk");
    CHECK(window.size() == 3000);
    CHECK(bytes_at(window, 0, 3000) == slice_of(content, 1000, 3000));
    CHECK(bytes_at(window, 2990, 10) == slice_of(content, 3990, 10));

    std::vector<std::byte> buf(10);
    CHECK(error_kind_of([&] { window.read_at(buf, 2991); }) == "corrupt");
    CHECK(contains(error_message_of([&] { window.read_at(buf, 2991); }), "archive.ova:disk1.vmdk"));
}

TEST_CASE("SubrangeSource: a window past its parent's end is refused")
{
    const auto parent = std::make_shared<MemorySource>(random_bytes(100, seed), "parent");
    CHECK(error_kind_of([&] { SubrangeSource window(parent, 50, 51, "w"); }) == "corrupt");
    CHECK(error_kind_of([&] { SubrangeSource window(parent, 101, 0, "w"); }) == "corrupt");
    CHECK(error_kind_of([&] { SubrangeSource window(parent, 100, 0, "w"); }) == "no error");
}

TEST_CASE("SubrangeSource: allocation is re-based on the window")
{
    const TempDir dir;
    const SparseLayout layout = write_small_sparse_file(dir);
    const auto parent = std::make_shared<FileSource>(dir / "sparse.img");
    const SubrangeSource window(parent, 4 * KiB, 128 * KiB, "window");

    // Parent [4K, 132K): zero 4K, data 8K, zero 48K, data 68K (two adjacent pieces).
    ExtentList expected;
    expected.append(4 * KiB, ExtentKind::zero);
    expected.append(8 * KiB, ExtentKind::data);
    expected.append(48 * KiB, ExtentKind::zero);
    expected.append(68 * KiB, ExtentKind::data);
    CHECK(window.allocation(0, 128 * KiB) == expected);
    CHECK(window.allocation(8 * KiB, 16 * KiB) == expected.slice(8 * KiB, 16 * KiB));
    CHECK(error_kind_of([&] { (void)window.allocation(0, 128 * KiB + 1); }) == "corrupt");
}

}  // TEST_SUITE
