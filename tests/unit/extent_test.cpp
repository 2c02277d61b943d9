// ExtentList: appending, merging, strict add(), slicing, byte counts.
#include <doctest/doctest.h>

#include <diskshift/extent.hpp>

#include "support/errors.hpp"
#include "support/printing.hpp"

using diskshift::Extent;
using diskshift::ExtentKind;
using diskshift::ExtentList;
using dstest::error_kind_of;

namespace {

/// data [0,100) zero [100,300) data [300,350) unallocated [350,400)
ExtentList four_extents()
{
    ExtentList list;
    list.append(100, ExtentKind::data);
    list.append(200, ExtentKind::zero);
    list.append(50, ExtentKind::data);
    list.append(50, ExtentKind::unallocated);
    return list;
}

}  // namespace

TEST_SUITE("extent") {

TEST_CASE("ExtentList: append merges neighbours of one kind and ignores zero lengths")
{
    ExtentList list;
    list.append(10, ExtentKind::data);
    list.append(0, ExtentKind::zero);
    list.append(5, ExtentKind::data);
    list.append(7, ExtentKind::zero);
    list.append(3, ExtentKind::zero);
    list.append(0, ExtentKind::unallocated);

    REQUIRE(list.size() == 2);
    CHECK(list[0] == Extent{0, 15, ExtentKind::data});
    CHECK(list[1] == Extent{15, 10, ExtentKind::zero});
    CHECK(list.length() == 25);
    CHECK(list.end_offset() == 25);
}

TEST_CASE("ExtentList: an empty list starts and ends at its start offset")
{
    const ExtentList list(4096);
    CHECK(list.empty());
    CHECK(list.start_offset() == 4096);
    CHECK(list.end_offset() == 4096);
    CHECK(list.length() == 0);
}

TEST_CASE("ExtentList: add accepts the next extent and merges it like append")
{
    ExtentList list(1000);
    list.add({1000, 24, ExtentKind::zero});
    list.add({1024, 1000, ExtentKind::zero});
    list.add({2024, 1, ExtentKind::unallocated});

    REQUIRE(list.size() == 2);
    CHECK(list[0] == Extent{1000, 1024, ExtentKind::zero});
    CHECK(list[1] == Extent{2024, 1, ExtentKind::unallocated});
    CHECK(list.start_offset() == 1000);
    CHECK(list.end_offset() == 2025);
}

TEST_CASE("ExtentList: add rejects gaps, overlaps and empty extents")
{
    ExtentList list(512);
    list.add({512, 512, ExtentKind::data});
    const ExtentList before = list;

    CHECK(error_kind_of([&] { list.add({1025, 10, ExtentKind::zero}); }) == "invalid_argument");  // gap
    CHECK(error_kind_of([&] { list.add({1000, 10, ExtentKind::zero}); }) == "invalid_argument");  // overlap
    CHECK(error_kind_of([&] { list.add({1024, 0, ExtentKind::zero}); }) == "invalid_argument");   // empty
    CHECK(error_kind_of([&] { ExtentList(512).add({0, 10, ExtentKind::data}); }) == "invalid_argument");
    CHECK(list == before);
}

TEST_CASE("ExtentList: appending a list requires it to start at the end")
{
    ExtentList list = four_extents();
    ExtentList tail(400);
    tail.append(10, ExtentKind::unallocated);
    tail.append(10, ExtentKind::data);
    list.append(tail);
    REQUIRE(list.size() == 5);
    CHECK(list[3] == Extent{350, 60, ExtentKind::unallocated});
    CHECK(list[4] == Extent{410, 10, ExtentKind::data});

    CHECK(error_kind_of([&] { list.append(ExtentList(0)); }) == "invalid_argument");
    CHECK(error_kind_of([&] { list.append(four_extents()); }) == "invalid_argument");
}

TEST_CASE("ExtentList: slice in the middle cuts the extents at both ends")
{
    const ExtentList list = four_extents();
    const ExtentList middle = list.slice(50, 275);  // [50, 325)

    CHECK(middle.start_offset() == 50);
    REQUIRE(middle.size() == 3);
    CHECK(middle[0] == Extent{50, 50, ExtentKind::data});
    CHECK(middle[1] == Extent{100, 200, ExtentKind::zero});
    CHECK(middle[2] == Extent{300, 25, ExtentKind::data});
}

TEST_CASE("ExtentList: slice at the edges and inside one extent")
{
    const ExtentList list = four_extents();

    CHECK(list.slice(0, 400) == list);
    const ExtentList head = list.slice(0, 100);
    REQUIRE(head.size() == 1);
    CHECK(head[0] == Extent{0, 100, ExtentKind::data});

    const ExtentList tail = list.slice(350, 50);
    REQUIRE(tail.size() == 1);
    CHECK(tail[0] == Extent{350, 50, ExtentKind::unallocated});

    const ExtentList inside = list.slice(120, 30);
    REQUIRE(inside.size() == 1);
    CHECK(inside[0] == Extent{120, 30, ExtentKind::zero});

    const ExtentList empty_at_end = list.slice(400, 0);
    CHECK(empty_at_end.empty());
    CHECK(empty_at_end.start_offset() == 400);
}

TEST_CASE("ExtentList: slice outside the list throws invalid_argument")
{
    const ExtentList list = four_extents();
    CHECK(error_kind_of([&] { (void)list.slice(350, 51); }) == "invalid_argument");
    CHECK(error_kind_of([&] { (void)list.slice(401, 0); }) == "invalid_argument");
    CHECK(error_kind_of([&] { (void)list.slice(0, UINT64_MAX); }) == "invalid_argument");

    ExtentList shifted(1000);
    shifted.append(100, ExtentKind::data);
    CHECK(error_kind_of([&] { (void)shifted.slice(999, 10); }) == "invalid_argument");
    CHECK(error_kind_of([&] { (void)shifted.slice(0, 1); }) == "invalid_argument");
}

TEST_CASE("ExtentList: slices of a list that starts past 0")
{
    ExtentList list(1 << 20);
    list.append(4096, ExtentKind::zero);
    list.append(8192, ExtentKind::data);

    const ExtentList part = list.slice((1 << 20) + 4000, 200);
    CHECK(part.start_offset() == (1 << 20) + 4000);
    REQUIRE(part.size() == 2);
    CHECK(part[0] == Extent{(1 << 20) + 4000, 96, ExtentKind::zero});
    CHECK(part[1] == Extent{(1 << 20) + 4096, 104, ExtentKind::data});
    CHECK(part.end_offset() == (1 << 20) + 4200);
}

TEST_CASE("ExtentList: bytes_of sums each kind")
{
    const ExtentList list = four_extents();
    CHECK(list.bytes_of(ExtentKind::data) == 150);
    CHECK(list.bytes_of(ExtentKind::zero) == 200);
    CHECK(list.bytes_of(ExtentKind::unallocated) == 50);
    CHECK(ExtentList(7).bytes_of(ExtentKind::data) == 0);
}

TEST_CASE("ExtentList: an extent past the end of the 64-bit range is refused")
{
    ExtentList list(UINT64_MAX - 10);
    list.append(10, ExtentKind::data);
    CHECK(error_kind_of([&] { list.append(1, ExtentKind::zero); }) == "invalid_argument");
    CHECK(list.end_offset() == UINT64_MAX);
}

TEST_CASE("ExtentKind: names")
{
    CHECK(std::string(diskshift::to_string(ExtentKind::data)) == "data");
    CHECK(std::string(diskshift::to_string(ExtentKind::zero)) == "zero");
    CHECK(std::string(diskshift::to_string(ExtentKind::unallocated)) == "unallocated");
}

}  // TEST_SUITE
