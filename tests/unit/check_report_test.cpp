// The check report and the file layout every structural checker uses: the listing cap, offsets
// taken from readers' errors, merged reports of disks inside packages, pieces past the end of the
// file and overlapping pieces, and the bound on the pieces kept.
#include <doctest/doctest.h>

#include <diskshift/check.hpp>

#include "ops/check_layout.hpp"

using diskshift::CheckReport;
using diskshift::FileLayout;

TEST_SUITE("unit") {

TEST_CASE("check report: listing stops at the cap and counts the rest")
{
    CheckReport report;
    report.max_problems = 3;
    for (int i = 0; i < 5; ++i) {
        report.add("BAT entry", i, "bad");
    }
    CHECK(report.problems.size() == 3);
    CHECK(report.unlisted_problems == 2);
    CHECK_FALSE(report.clean());
    CHECK(diskshift::check_json(report).at("unlisted_problems") == 2);
}

TEST_CASE("check report: a reader's error gives its last offset, without the file name in front")
{
    CheckReport report;
    report.filename = "disk.vhd";
    report.add_error("image", diskshift::Error(diskshift::Errc::corrupt,
                                               "disk.vhd: BAT entry 3 at offset 0x10 points to offset 0x2a00"));
    report.add_error("image", diskshift::Error(diskshift::Errc::corrupt, "disk.vhd: no offset here"));
    REQUIRE(report.problems.size() == 2);
    CHECK(report.problems[0].offset == 0x2a00);
    CHECK(report.problems[0].message == "BAT entry 3 at offset 0x10 points to offset 0x2a00");
    CHECK_FALSE(report.problems[1].offset.has_value());
}

TEST_CASE("check report: merging a disk's report shifts its offsets and prefixes its structures")
{
    CheckReport disk;
    disk.add("grain 3", 0x200, "past the end");
    disk.state["log"] = "clean";
    CheckReport package;
    package.merge(disk, "disk 1: ", 0x1000);
    REQUIRE(package.problems.size() == 1);
    CHECK(package.problems[0].structure == "disk 1: grain 3");
    CHECK(package.problems[0].offset == 0x1200);
    CHECK(package.state.at("disk 1: log") == "clean");
}

TEST_CASE("file layout: pieces past the end and overlapping pieces are reported, the pointed-at piece named")
{
    FileLayout layout(0x10000);
    const auto table = layout.kind("BAT");
    const auto block = layout.kind("block");
    layout.add(table, 0x200, 0x200);
    layout.add(block, 0x1000, 0x1000, 0);
    layout.add(block, 0x1800, 0x1000, 1);   // overlaps block 0
    layout.add(block, 0x200, 0x400, 2);     // over the BAT
    layout.add(block, 0xF000, 0x2000, 3);   // past the end
    layout.add(block, 0x4000, 0x1000, 4);   // fine
    CheckReport report;
    layout.report(report);
    REQUIRE(report.problems.size() == 3);
    CHECK(report.problems[0].structure == "block 2");
    CHECK(report.problems[0].message.find("overlaps BAT") != std::string::npos);
    CHECK(report.problems[1].structure == "block 1");
    CHECK(report.problems[1].offset == 0x1800);
    CHECK(report.problems[1].message.find("overlaps block 0") != std::string::npos);
    CHECK(report.problems[2].structure == "block 3");
    CHECK(report.problems[2].message.find("past the end") != std::string::npos);
}

TEST_CASE("file layout: tables placing more pieces than the file can hold are reported once")
{
    FileLayout layout(4096);
    const auto grain = layout.kind("grain");
    for (int i = 0; i < 10000; ++i) {
        layout.add(grain, 0, 512, static_cast<std::uint64_t>(i));
    }
    CheckReport report;
    report.max_problems = 10000;
    layout.report(report);
    CHECK(report.problems.front().structure == "tables");
    CHECK(report.problems.size() == 1 + 4096 + 8 - 1);  // every kept piece after the first overlaps it
}

}  // TEST_SUITE
