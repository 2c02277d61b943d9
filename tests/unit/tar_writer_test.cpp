// The tar writer's member headers, read back by GNU tar: ustar for short names and sizes, pax
// `path` and `size` records beyond them, and headers whose length is fixed by a size bound.
#include <fcntl.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "formats/ova/tar_writer.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

namespace tar = diskshift::formats::ova::tar;
using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x7a77;
constexpr std::int64_t mtime = 1'700'000'000;

/// Writes an archive of one member with `data` (or, when `data` is empty, `size` bytes of hole)
/// and returns its path.
std::filesystem::path write_archive(const TempDir& dir, const tar::Member& member, std::span<const std::byte> data)
{
    const std::filesystem::path path = dir / "test.tar";
    const Fd fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
    const std::vector<std::byte> header = tar::member_header(member);
    write_at(fd.get(), header, 0);
    write_at(fd.get(), data, header.size());
    const std::vector<std::byte> end(tar::padded_size(member.size) - member.size + tar::end_of_archive_bytes);
    write_at(fd.get(), end, header.size() + member.size);
    return path;
}

std::string list(const std::filesystem::path& archive)
{
    return run_program("tar", {"--numeric-owner", "-tvf", archive.string()}).out;
}

}  // namespace

TEST_SUITE("tar writer") {

TEST_CASE("tar writer: a short member is one ustar header that tar lists and extracts")
{
    const TempDir dir;
    const std::vector<std::byte> data = random_bytes(1000, seed);
    const tar::Member member{"disk-1.vmdk", data.size(), mtime, data.size()};
    CHECK(tar::member_header(member).size() == tar::block_size);
    CHECK(tar::member_header_bytes(member.name, member.size_bound) == tar::block_size);
    const auto archive = write_archive(dir, member, data);
    const std::string listing = list(archive);
    CHECK(contains(listing, "-rw-r--r-- 0/0"));
    CHECK(contains(listing, " 1000 2023-11-14 "));
    CHECK(contains(listing, " disk-1.vmdk\n"));
    std::filesystem::create_directory(dir / "out");
    run_program("tar", {"-xf", archive.string(), "-C", (dir / "out").string()});
    CHECK(read_whole_file(dir / "out" / "disk-1.vmdk") == data);
}

TEST_CASE("tar writer: a name over 100 bytes goes into a pax path record")
{
    const TempDir dir;
    const std::string name = std::string(180, 'n') + ".vmdk";
    const std::vector<std::byte> data = random_bytes(600, seed);
    const tar::Member member{name, data.size(), mtime, data.size()};
    CHECK(tar::member_header(member).size() == 3 * tar::block_size);
    CHECK(tar::member_header_bytes(name, data.size()) == 3 * tar::block_size);
    const auto archive = write_archive(dir, member, data);
    CHECK(contains(list(archive), " 600 2023-11-14 "));
    CHECK(contains(list(archive), " " + name + "\n"));
    std::filesystem::create_directory(dir / "out");
    run_program("tar", {"-xf", archive.string(), "-C", (dir / "out").string()});
    CHECK(read_whole_file(dir / "out" / name) == data);
}

TEST_CASE("tar writer: a member over 8 GiB - 1 gets a pax size record that tar reads")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const std::uint64_t size = 9 * GiB + 1;
    const tar::Member member{"big.vmdk", size, mtime, size};
    CHECK(tar::member_header(member).size() == 3 * tar::block_size);
    const auto archive = write_archive(dir, member, {});  // the data is a hole
    const std::string listing = list(archive);
    CHECK(contains(listing, " 9663676417 2023-11-14 "));
    CHECK(contains(listing, " big.vmdk\n"));
    CHECK_FALSE(contains(listing, "PaxHeaders"));
}

TEST_CASE("tar writer: the header length depends on the size bound only, whatever the size")
{
    const TempDir dir;
    // With this name, the path record and a 20-digit size record just overflow one block, while
    // a one-digit size fits it: the header must keep the bound's two blocks of records.
    const std::string name = std::string(60, 'd') + "/" + std::string(420, 'f');
    const std::uint64_t bound = 10'000'000'000'000'000'000ULL;
    const std::vector<std::byte> data = random_bytes(7, seed);
    for (const std::uint64_t size : {std::uint64_t{7}, std::uint64_t{9'999'999}}) {
        CAPTURE(size);
        const tar::Member member{name, size, mtime, bound};
        CHECK(tar::member_header(member).size() == tar::member_header_bytes(name, bound));
        CHECK(tar::member_header_bytes(name, bound) == 4 * tar::block_size);
    }
    const auto archive = write_archive(dir, {name, data.size(), mtime, bound}, data);
    CHECK(contains(list(archive), " 7 2023-11-14 "));
    CHECK(contains(list(archive), " " + name + "\n"));
    const std::string extracted = run_program("tar", {"-xOf", archive.string()}).out;
    CHECK(extracted == std::string(reinterpret_cast<const char*>(data.data()), data.size()));
}

TEST_CASE("tar writer: no empty names, no size over the bound")
{
    CHECK(error_kind_of([] { tar::member_header({"", 1, mtime, 1}); }) == "invalid_argument");
    CHECK(error_kind_of([] { tar::member_header({"a", 2, mtime, 1}); }) == "invalid_argument");
}

}  // TEST_SUITE
