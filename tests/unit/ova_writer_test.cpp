// write_ova() through the API: the OVA's own -o keys, progress over all disks, cancellation and
// failures that leave nothing, member names for sources that share a name.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <diskshift/format.hpp>
#include <diskshift/ova_writer.hpp>

#include "support/errors.hpp"
#include "support/images.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x0fa2;

diskshift::OvaWriteOptions options_from(const std::string& text)
{
    diskshift::OvaWriteOptions options;
    diskshift::OptionMap map;
    map.parse(text);
    diskshift::take_ova_options(map, options);
    options.disk_options = map;
    return options;
}

}  // namespace

TEST_SUITE("ova writer") {

TEST_CASE("write_ova: the OVA's -o keys are parsed and checked, the others are left for the VMDK writer")
{
    const diskshift::OvaWriteOptions options = options_from("name=db 1,os=windows9_64Guest,cpus=4,memory=2G,hwversion=14");
    CHECK(options.name == "db 1");
    CHECK(options.os_type == "windows9_64Guest");
    CHECK(options.cpus == 4);
    CHECK(options.memory_mib == 2048);
    CHECK(options.firmware == "bios");
    CHECK(options_from("firmware=efi").firmware == "efi");
    diskshift::OptionMap rest = options.disk_options;
    CHECK(rest.take("hwversion") == "14");
    CHECK(rest.empty());
    CHECK(options_from("memory=512").memory_mib == 512);
    CHECK(options_from("memory=1TiB").memory_mib == 1024 * 1024);
    CHECK(options_from("memory=24t").memory_mib == 24 * 1024 * 1024);
    for (const std::string bad : {"memory=25T", "memory=3", "memory=2X", "memory=G", "cpus=", "cpus=-1", "os=", "os=a b"}) {
        CAPTURE(bad);
        CHECK(error_kind_of([&] { options_from(bad); }) == "invalid_argument");
    }
}

TEST_CASE("write_ova: progress covers every disk in order; a cancellation leaves no file")
{
    const TempDir dir;
    write_sparse_file(dir / "a.raw", {4 * MiB, {{0, MiB}}}, seed);
    write_sparse_file(dir / "b.raw", {6 * MiB, {{2 * MiB, MiB}}}, seed + 1);
    const auto a = open_raw_file(dir / "a.raw");
    const auto b = open_raw_file(dir / "b.raw");
    diskshift::OvaWriteOptions options;
    std::uint64_t last_done = 0;
    std::uint64_t last_total = 0;
    options.progress = [&](std::uint64_t done, std::uint64_t total) {
        CHECK(done >= last_done);
        last_done = done;
        last_total = total;
        return true;
    };
    const diskshift::OvaWriteStats stats = diskshift::write_ova({a.get(), b.get()}, dir / "vm.ova", options);
    CHECK(last_done == 10 * MiB);
    CHECK(last_total == 10 * MiB);
    REQUIRE(stats.members.size() == 4);
    CHECK(stats.members[0].name == "vm.ovf");
    CHECK(stats.members[1].name == "vm.mf");
    CHECK(stats.size == std::filesystem::file_size(dir / "vm.ova"));

    options.progress = [](std::uint64_t done, std::uint64_t) { return done < 5 * MiB; };
    CHECK(error_kind_of([&] { diskshift::write_ova({a.get(), b.get()}, dir / "stopped.ova", options); }) ==
          "cancelled");
    CHECK_FALSE(std::filesystem::exists(dir / "stopped.ova"));
    CHECK(dir.sink_temporaries().empty());
}

TEST_CASE("write_ova: sources with the same name get distinct members; no disks, or a source as DST, is refused")
{
    const TempDir dir;
    std::filesystem::create_directories(dir / "x");
    std::filesystem::create_directories(dir / "y");
    write_sparse_file(dir / "x" / "disk.raw", {MiB, {{0, 4 * KiB}}}, seed);
    write_sparse_file(dir / "y" / "disk.raw", {MiB, {{0, 4 * KiB}}}, seed);
    const auto x = open_raw_file(dir / "x" / "disk.raw");
    const auto y = open_raw_file(dir / "y" / "disk.raw");
    const diskshift::OvaWriteStats stats = diskshift::write_ova({x.get(), y.get(), x.get()}, dir / "vm.ova", {});
    REQUIRE(stats.members.size() == 5);
    CHECK(stats.members[2].name == "disk.vmdk");
    CHECK(stats.members[3].name == "disk-2.vmdk");
    CHECK(stats.members[4].name == "disk-3.vmdk");
    CHECK(error_kind_of([&] { diskshift::write_ova({}, dir / "none.ova", {}); }) == "invalid_argument");
    CHECK(error_kind_of([&] { diskshift::write_ova({x.get()}, dir / "x" / "disk.raw", {}); }) == "invalid_argument");
    CHECK(dir.sink_temporaries().empty());
}

}  // TEST_SUITE
