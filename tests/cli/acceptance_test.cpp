// The acceptance test: a sparse copy of a 1 GiB disk with imgconv, described and mapped by
// imginfo, and checked against qemu-img.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/commands.hpp"
#include "support/disk_fixture.hpp"
#include "support/extent_json.hpp"
#include "support/files.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"

using namespace dstest;

namespace {

/// Runs imgconv -f raw -O raw SRC DST and requires it to succeed.
void convert_with_imgconv(const DiskFixture& disk)
{
    const ProcessResult run =
        run_tool("imgconv", {"-f", "raw", "-O", "raw", disk.source.string(), disk.destination.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
}

/// The parsed stdout of a successful command.
nlohmann::json json_output_of(const ProcessResult& run)
{
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    nlohmann::json json;
    REQUIRE_NOTHROW(json = nlohmann::json::parse(run.out));
    return json;
}

/// imginfo -f raw --map FILE, checked against the map rules and returned as a list.
diskshift::ExtentList imginfo_map(const std::filesystem::path& file, std::uint64_t size)
{
    const nlohmann::json map = json_output_of(run_tool("imginfo", {"-f", "raw", "--map", file.string()}));
    REQUIRE(map.is_array());
    const std::vector<diskshift::Extent> extents = extents_from_map_json(map);
    INFO("map of ", file.string());
    CHECK(map_rule_violation(extents, size) == "");
    return to_extent_list(extents);
}


}  // namespace

TEST_SUITE("cli") {

TEST_CASE("acceptance: imgconv copies a 1 GiB sparse raw disk exactly and sparsely")
{
    const DiskFixture disk = DiskFixture::standard();
    REQUIRE(disk.layout.data_bytes() == 100 * MiB);
    convert_with_imgconv(disk);

    CHECK(file_difference(disk.source, disk.destination) == "");
    CHECK(allocated_bytes(disk.destination) <= 101 * MiB);
    CHECK(disk.dir.sink_temporaries().empty());

    // One fixture for all the checks: each SUBCASE would rebuild it.
    const nlohmann::json info = json_output_of(run_tool("imginfo", {"-f", "raw", "--json", disk.source.string()}));
    REQUIRE(info.is_object());
    CHECK(info.at("filename") == disk.source.string());
    CHECK(info.at("format") == "raw");
    CHECK(info.at("subformat").is_null());
    CHECK(info.at("virtual_size") == 1073741824);
    CHECK(info.at("cluster_size").is_null());
    CHECK(info.at("parent").is_null());

    const diskshift::ExtentList expected = disk.layout.extents();
    CHECK(extent_difference(expected, imginfo_map(disk.source, disk.layout.size)) == "");
    CHECK(extent_difference(expected, imginfo_map(disk.destination, disk.layout.size)) == "");
}

TEST_CASE("oracle: qemu-img agrees that the imgconv copy is identical and has the same data ranges")
{
    const std::filesystem::path qemu = qemu_img();
    const DiskFixture disk = DiskFixture::standard();
    convert_with_imgconv(disk);

    const ProcessResult compare =
        run_process({qemu.string(), "compare", "-f", "raw", "-F", "raw", disk.source.string(), disk.destination.string()});
    INFO(compare.describe());
    CHECK(compare.exit_code() == 0);

    const nlohmann::json qemu_map =
        json_output_of(run_process({qemu.string(), "map", "--output=json", "-f", "raw", disk.destination.string()}));
    REQUIRE(qemu_map.is_array());
    const std::vector<ByteRange> ours = data_ranges(imginfo_map(disk.destination, disk.layout.size));
    CHECK(range_difference(data_ranges_from_qemu_map(qemu_map), ours) == "");
    CHECK(range_difference(disk.layout.data_ranges(), ours) == "");
}

}  // TEST_SUITE
