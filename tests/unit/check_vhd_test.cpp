// check_image() on VHDs laid out as other producers lay them out (built byte by byte): Disk2vhd's
// maximum geometry, Virtual PC's CHS-sized disk, a Windows differencing disk with its locators and
// blocks out of BAT order, a partial sector bitmap. All are sound; a locator outside the file is not.
#include <doctest/doctest.h>

#include <diskshift/check.hpp>

#include "support/files.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/vhd_builder.hpp"

using dstest::vhd::SparseVhd;

namespace {

constexpr std::uint32_t block = 64 * 1024;

diskshift::CheckReport check_bytes(const dstest::TempDir& dir, const std::vector<std::byte>& bytes)
{
    const auto path = dir / "disk.vhd";
    dstest::write_whole_file(path, bytes);
    return diskshift::check_image(path);
}

std::string problems_of(const diskshift::CheckReport& report)
{
    return diskshift::check_json(report).dump(2);
}

SparseVhd blocks_out_of_order(std::uint64_t size)
{
    SparseVhd vhd;
    vhd.footer.disk_type = 3;
    vhd.footer.current_size = size;
    vhd.block_size = block;
    vhd.blocks[0] = {{}, dstest::random_bytes(block, 1)};
    vhd.blocks[3] = {{std::byte{0b1010'0000}}, dstest::random_bytes(block, 2)};  // partial bitmap
    vhd.blocks[5] = {{}, dstest::random_bytes(block, 3)};
    return vhd;
}

}  // namespace

TEST_SUITE("unit") {

TEST_CASE("check vhd: Disk2vhd, Virtual PC and Windows differencing layouts check clean")
{
    const dstest::TempDir dir;
    SUBCASE("Disk2vhd: creator d2v\\0, maximum CHS geometry, sized by current_size")
    {
        SparseVhd vhd = blocks_out_of_order(8 * block);
        vhd.footer.creator = std::string("d2v\0", 4);
        vhd.footer.cylinders = 65535;
        vhd.footer.heads = 16;
        vhd.footer.sectors_per_track = 255;
        const auto report = check_bytes(dir, vhd.build());
        CHECK_MESSAGE(report.clean(), problems_of(report));
        CHECK(report.subformat == "dynamic");
    }
    SUBCASE("Virtual PC: creator vpc, sized by its CHS geometry")
    {
        SparseVhd vhd = blocks_out_of_order(4 * 16 * 17 * 512);
        vhd.footer.creator = "vpc ";
        vhd.footer.cylinders = 4;
        vhd.footer.heads = 16;
        vhd.footer.sectors_per_track = 17;
        const auto report = check_bytes(dir, vhd.build());
        CHECK_MESSAGE(report.clean(), problems_of(report));
    }
    SUBCASE("Windows differencing disk: W2ku and W2ru locators, blocks in descending order")
    {
        SparseVhd vhd = blocks_out_of_order(8 * block);
        vhd.footer.disk_type = 4;
        vhd.parent_name = u"C:\\VMs\\base.vhd";
        vhd.locators = {{"W2ku", dstest::vhd::utf16(u"C:\\VMs\\base.vhd", false)},
                        {"W2ru", dstest::vhd::utf16(u".\\base.vhd", false)}};
        const auto report = check_bytes(dir, vhd.build());
        CHECK_MESSAGE(report.clean(), problems_of(report));
        CHECK(report.subformat == "differencing");
    }
}

TEST_CASE("check vhd: a parent locator whose data lies past the end of the file is named at its entry")
{
    const dstest::TempDir dir;
    SparseVhd vhd = blocks_out_of_order(8 * block);
    vhd.footer.disk_type = 4;
    vhd.locators = {{"W2ku", dstest::vhd::utf16(u"C:\\VMs\\base.vhd", false)}};
    std::vector<std::byte> file = vhd.build();
    // Dynamic header (spec "Parent Locator Entries"): entries at 576, data offset 16 bytes in.
    constexpr std::uint64_t entry = dstest::vhd::header_offset + 576;
    dstest::vhd::patch_be64(file, entry + 16, 0x7fffffff00);
    dstest::vhd::patch_be32(file, dstest::vhd::header_offset + 36, 0);  // a wrong checksum, reported too
    const auto report = check_bytes(dir, file);
    REQUIRE(report.problems.size() == 2);
    CHECK(report.problems[0].structure == "dynamic header");
    CHECK(report.problems[1].structure == "parent locator 0");
    CHECK(report.problems[1].offset == entry);
}

}  // TEST_SUITE
