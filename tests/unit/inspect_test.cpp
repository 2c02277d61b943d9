// inspect: describe_json's keys and write_map_json's allocation map.
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <diskshift/inspect.hpp>

#include "support/errors.hpp"
#include "support/extent_json.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/printing.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed0006;

std::string map_json_of(const diskshift::Image& image, const diskshift::ProgressFn& progress = {})
{
    std::ostringstream out;
    diskshift::write_map_json(out, image, progress);
    return out.str();
}

}  // namespace

TEST_SUITE("inspect") {

TEST_CASE("describe_json: a raw image has the documented keys")
{
    const TempDir dir;
    write_sparse_file(dir / "disk.img", {MiB + 512, {{0, 4 * KiB}}}, seed);
    const auto image = open_raw_file(dir / "disk.img");
    const nlohmann::ordered_json json = diskshift::describe_json(*image);

    REQUIRE(json.is_object());
    CHECK(json.at("filename") == (dir / "disk.img").string());
    CHECK(json.at("format") == "raw");
    CHECK(json.at("subformat").is_null());
    CHECK(json.at("virtual_size") == MiB + 512);
    CHECK(json.at("cluster_size").is_null());
    CHECK(json.at("parent").is_null());
    CHECK(json.at("allocated_bytes") == allocated_bytes(dir / "disk.img"));
    CHECK(json.contains("id"));
    CHECK(json.at("details").is_object());
    CHECK(json.at("warnings").is_array());
}

TEST_CASE("describe_text: names the file, the format and the virtual size")
{
    const auto image = open_raw_bytes(std::vector<std::byte>(3 * MiB), "text.img");
    std::ostringstream out;
    diskshift::describe_text(out, *image);
    const std::string text = out.str();
    CHECK(contains(text, "text.img"));
    CHECK(contains(text, "raw"));
    CHECK(contains(text, std::to_string(3 * MiB)));
}

TEST_CASE("write_map_json: a JSON array covering the disk contiguously with merged kinds")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const SparseLayout layout{16 * MiB + 100,
                              {{0, 8 * KiB}, {8 * KiB, 4 * KiB}, {MiB, MiB}, {2 * MiB, 4 * KiB},
                               {10 * MiB, 64 * KiB}, {16 * MiB, 100}}};
    write_sparse_file(dir / "disk.img", layout, seed);
    const auto image = open_raw_file(dir / "disk.img");

    const nlohmann::json map = nlohmann::json::parse(map_json_of(*image));
    REQUIRE(map.is_array());
    const std::vector<diskshift::Extent> extents = extents_from_map_json(map);
    CHECK(map_rule_violation(extents, layout.size) == "");
    CHECK(extent_difference(layout.extents(), to_extent_list(extents)) == "");
}

TEST_CASE("write_map_json: an extent across the 1 GiB window is written once")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const SparseLayout layout{3 * GiB, {{GiB - 4 * KiB, 8 * KiB}, {2 * GiB - 4 * KiB, 4 * KiB}}};
    write_sparse_file(dir / "disk.img", layout, seed);
    const auto image = open_raw_file(dir / "disk.img");

    std::vector<std::uint64_t> progress;
    const nlohmann::json map = nlohmann::json::parse(map_json_of(*image, [&](std::uint64_t done, std::uint64_t) {
        progress.push_back(done);
        return true;
    }));
    const std::vector<diskshift::Extent> extents = extents_from_map_json(map);
    CHECK(map_rule_violation(extents, layout.size) == "");
    CHECK(extent_difference(layout.extents(), to_extent_list(extents)) == "");
    REQUIRE_FALSE(progress.empty());
    CHECK(progress.back() == layout.size);
}

TEST_CASE("write_map_json: a disk without holes is one data extent, an empty disk an empty array")
{
    const auto full = open_raw_bytes(std::vector<std::byte>(12345, std::byte{7}));
    const nlohmann::json map = nlohmann::json::parse(map_json_of(*full));
    CHECK(map == nlohmann::json::parse(R"([{"offset":0,"length":12345,"kind":"data"}])"));

    const auto empty = open_raw_bytes({});
    CHECK(nlohmann::json::parse(map_json_of(*empty)) == nlohmann::json::array());
}

TEST_CASE("write_map_json: progress returning false cancels")
{
    const auto image = open_raw_bytes(std::vector<std::byte>(4096));
    std::ostringstream out;
    CHECK(error_kind_of([&] {
              diskshift::write_map_json(out, *image, [](std::uint64_t, std::uint64_t) { return false; });
          }) == "cancelled");
}

}  // TEST_SUITE
