// FileSink: atomic writes through a temporary file, cleanup, hole punching, stale temporaries.
#include <unistd.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <diskshift/io.hpp>

#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using diskshift::FileSink;
using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed0002;

/// The name a FileSink run by `pid` gives its first temporary file for `destination`.
std::string temporary_leaf(const std::string& destination, pid_t pid)
{
    return fmt::format(".{}.diskshift-{}-0.tmp", destination, pid);
}

}  // namespace

TEST_SUITE("file sink") {

TEST_CASE("FileSink: writes go to a temporary file in the same folder until commit, synced or not")
{
    diskshift::Durability durability = diskshift::Durability::page_cache;
    SUBCASE("left to the page cache") {}
    SUBCASE("synced") { durability = diskshift::Durability::synced; }
    const TempDir dir;
    const auto destination = dir / "out.img";
    const std::vector<std::byte> content = random_bytes(3 * 4096 + 100, seed);

    FileSink sink(destination, durability);
    CHECK(sink.name() == destination.string());
    sink.write_at(std::span(content).subspan(4096), 4096);
    sink.write_at(std::span(content).first(4096), 0);
    CHECK(sink.size() == content.size());

    const std::filesystem::path temporary = sink.temporary_path();
    CHECK(temporary.parent_path() == dir.path());
    CHECK(temporary.filename().string().starts_with(".out.img.diskshift-" + std::to_string(::getpid()) + "-"));
    CHECK(temporary.filename().string().ends_with(".tmp"));
    CHECK(std::filesystem::exists(temporary));
    CHECK_FALSE(std::filesystem::exists(destination));

    sink.commit();
    CHECK(sink.temporary_path().empty());
    CHECK(read_whole_file(destination) == content);
    CHECK(dir.names() == std::vector<std::string>{"out.img"});
}

TEST_CASE("FileSink: a relative destination gets its temporary file in its own folder")
{
    const TempDir dir;
    const std::filesystem::path relative = std::filesystem::relative(dir / "out.img");
    REQUIRE(relative.is_relative());
    const std::vector<std::byte> content = random_bytes(4096, seed);

    FileSink sink(relative);
    sink.write_at(content, 0);
    CHECK(std::filesystem::equivalent(sink.temporary_path().parent_path(), dir.path()));
    sink.commit();
    CHECK(read_whole_file(dir / "out.img") == content);
    CHECK(dir.names() == std::vector<std::string>{"out.img"});
}

TEST_CASE("FileSink: destroyed without commit it leaves no file at all")
{
    const TempDir dir;
    {
        FileSink sink(dir / "out.img");
        sink.write_at(random_bytes(8192, seed), 0);
        REQUIRE(std::filesystem::exists(sink.temporary_path()));
    }
    CHECK(dir.names().empty());
}

TEST_CASE("FileSink: commit replaces an existing destination only then")
{
    const TempDir dir;
    const auto destination = dir / "out.img";
    write_text_file(destination, "old contents");
    const std::vector<std::byte> content = random_bytes(5000, seed);
    {
        FileSink abandoned(destination);
        abandoned.write_at(content, 0);
    }
    CHECK(read_text_file(destination) == "old contents");

    FileSink sink(destination);
    sink.write_at(content, 0);
    CHECK(read_text_file(destination) == "old contents");
    sink.commit();
    CHECK(read_whole_file(destination) == content);
    CHECK(dir.names() == std::vector<std::string>{"out.img"});
}

TEST_CASE("FileSink: write_zeroes punches holes that read as zeros")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const auto destination = dir / "out.img";
    std::vector<std::byte> content = random_bytes(MiB, seed);

    FileSink sink(destination);
    sink.write_at(content, 0);
    const std::uint64_t before = allocated_bytes(sink.temporary_path());
    sink.write_zeroes(256 * KiB, 512 * KiB);
    const std::uint64_t after = allocated_bytes(sink.temporary_path());
    CHECK(sink.size() == MiB);
    CHECK(after <= before - 512 * KiB);

    sink.commit();
    std::fill_n(content.begin() + 256 * KiB, 512 * KiB, std::byte{0});
    CHECK(read_whole_file(destination) == content);
}

TEST_CASE("FileSink: write_zeroes past the end grows the file with a hole")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const auto destination = dir / "out.img";
    const std::vector<std::byte> head = random_bytes(4096, seed);

    FileSink sink(destination);
    sink.write_at(head, 0);
    sink.write_zeroes(2048, 16 * MiB);
    CHECK(sink.size() == 2048 + 16 * MiB);
    CHECK(allocated_bytes(sink.temporary_path()) <= 64 * KiB);
    sink.commit();

    std::vector<std::byte> expected(2048 + 16 * MiB);
    std::copy_n(head.begin(), 2048, expected.begin());
    CHECK(read_whole_file(destination) == expected);
}

TEST_CASE("FileSink: resize cuts and extends with zeros")
{
    const TempDir dir;
    const auto destination = dir / "out.img";
    const std::vector<std::byte> content = random_bytes(10000, seed);

    FileSink sink(destination);
    sink.write_at(content, 0);
    sink.resize(6000);
    CHECK(sink.size() == 6000);
    sink.resize(20000);
    CHECK(sink.size() == 20000);
    sink.commit();

    std::vector<std::byte> expected(20000);
    std::copy_n(content.begin(), 6000, expected.begin());
    CHECK(read_whole_file(destination) == expected);
}

TEST_CASE("FileSink: a new sink removes stale temporaries of dead runs and keeps live ones")
{
    const TempDir dir;
    const auto destination = dir / "disk.img";
    const std::string stale = temporary_leaf("disk.img", dead_pid());
    const std::string live = temporary_leaf("disk.img", ::getpid());
    const std::string other_destination = temporary_leaf("other.img", dead_pid());
    for (const std::string& name : {stale, live, other_destination}) {
        write_text_file(dir / name, "left behind");
    }

    FileSink sink(destination);
    const std::vector<std::string> names = dir.names();
    CAPTURE(names);
    CHECK_FALSE(std::filesystem::exists(dir / stale));
    CHECK(std::filesystem::exists(dir / live));
    CHECK(std::filesystem::exists(dir / other_destination));
    CHECK(sink.temporary_path().filename().string() != live);
    CHECK(read_text_file(dir / live) == "left behind");
}

TEST_CASE("FileSink: a destination that is a directory is refused")
{
    const TempDir dir;
    std::filesystem::create_directory(dir / "folder.img");
    CHECK(error_kind_of([&] { FileSink sink(dir / "folder.img"); }) == "invalid_argument");
    CHECK(contains(error_message_of([&] { FileSink sink(dir / "folder.img"); }), "folder.img"));
    CHECK(dir.names() == std::vector<std::string>{"folder.img"});
}

TEST_CASE("FileSink: a destination in a missing folder is an io error and leaves nothing")
{
    const TempDir dir;
    CHECK(error_kind_of([&] { FileSink sink(dir / "missing" / "out.img"); }) == "io");
    CHECK(dir.names().empty());
}

TEST_CASE("MemorySink: writes, zeroes, resize and commit")
{
    diskshift::MemorySink sink("mem");
    const std::vector<std::byte> content = random_bytes(100, seed);
    sink.write_at(content, 50);
    CHECK(sink.size() == 150);
    sink.write_zeroes(60, 10);
    sink.write_zeroes(200, 10);
    CHECK(sink.size() == 210);
    CHECK_FALSE(sink.committed());
    sink.commit();
    CHECK(sink.committed());

    std::vector<std::byte> expected(210);
    std::copy(content.begin(), content.end(), expected.begin() + 50);
    std::fill_n(expected.begin() + 60, 10, std::byte{0});
    CHECK(sink.bytes() == expected);
    sink.resize(20);
    CHECK(sink.bytes() == std::vector<std::byte>(20));
}

}  // TEST_SUITE
