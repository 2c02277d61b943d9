// The VHD virtual-size rule, proven with footers carrying each creator code: Virtual PC and qemu
// (without force_size) size a disk by CHS geometry, everyone else by current_size.
#include <doctest/doctest.h>

#include <diskshift/format.hpp>

#include "support/errors.hpp"
#include "support/text.hpp"
#include "support/vhd_builder.hpp"

using namespace diskshift;
using namespace std::string_literals;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;
/// 1 MiB by the spec's CHS algorithm: 30 cylinders, 4 heads, 17 sectors = 2040 sectors.
constexpr std::uint64_t chs_of_1_mib = 30 * 4 * 17 * 512;

std::unique_ptr<Image> open_bytes(std::vector<std::byte> bytes)
{
    OpenContext context;  // no format given: found by probing
    return open_image(std::make_shared<MemorySource>(std::move(bytes), "rule.vhd"), context);
}

/// A fixed 1 MiB disk whose geometry (30/4/17) says 1,044,480 bytes.
dstest::vhd::FooterFields footer_of(std::string creator)
{
    dstest::vhd::FooterFields f;
    f.creator = std::move(creator);
    f.current_size = MiB;
    f.cylinders = 30;
    f.heads = 4;
    f.sectors_per_track = 17;
    return f;
}

std::unique_ptr<Image> open_fixed(const dstest::vhd::FooterFields& footer)
{
    const std::vector<std::byte> data(MiB, std::byte{0x5A});
    return open_bytes(dstest::vhd::fixed_vhd(data, footer));
}

struct Case {
    std::string creator;
    std::uint64_t expected;
    const char* from;
};

}  // namespace

TEST_CASE("vhd size rule: each creator code gets its size from the geometry or from current_size")
{
    const Case cases[] = {
        {"vpc ", chs_of_1_mib, "CHS geometry"},   {"qemu", chs_of_1_mib, "CHS geometry"},
        {"win ", MiB, "current_size"},            {"d2v\0"s, MiB, "current_size"},
        {"d2v ", MiB, "current_size"},            {"qem2", MiB, "current_size"},
        {"CTXS", MiB, "current_size"},            {"tap\0"s, MiB, "current_size"},
        {"wa\0\0"s, MiB, "current_size"},         {"vs  ", MiB, "current_size"},
        {"vbox", MiB, "current_size"},            {"zz9!", MiB, "current_size"},
    };
    for (const Case& c : cases) {
        INFO("creator '", c.creator, "'");
        const auto image = open_fixed(footer_of(c.creator));
        CHECK(image->info().format == "vhd");
        CHECK(image->size() == c.expected);
        CHECK(image->info().details.at("virtual_size_from") == c.from);
        CHECK(image->info().details.at("current_size") == MiB);
        CHECK(image->info().details.at("geometry_size") == chs_of_1_mib);
        // The two sizes differ here: imginfo says so.
        CHECK(dstest::contains(image->info().details.value("size_note", ""), "1044480"));
        CHECK(image->info().warnings.empty());
    }
}

TEST_CASE("vhd size rule: a maximum or empty geometry says nothing, so even 'vpc ' and 'qemu' use current_size")
{
    // Disk2vhd and qemu force_size write 65535/16/255 whatever the size.
    for (const std::string& creator : {"vpc "s, "qemu"s, "d2v\0"s, "qem2"s}) {
        INFO("creator '", creator, "'");
        auto f = footer_of(creator);
        f.cylinders = 65535;
        f.heads = 16;
        f.sectors_per_track = 255;
        CHECK(open_fixed(f)->size() == MiB);
    }
    auto empty = footer_of("vpc ");
    empty.cylinders = 0;
    CHECK(open_fixed(empty)->size() == MiB);
}

TEST_CASE("vhd size rule: equal sizes leave no note, and the creator and reason are shown")
{
    auto f = footer_of("qemu");
    f.current_size = chs_of_1_mib;
    const auto image = open_fixed(f);
    CHECK(image->size() == chs_of_1_mib);
    CHECK_FALSE(image->info().details.contains("size_note"));
    CHECK(image->info().details.at("creator_application") == "'qemu' (qemu)");
    CHECK(dstest::contains(image->info().details.at("virtual_size_reason").get<std::string>(), "CHS"));

    const auto d2v = open_fixed(footer_of("d2v\0"s));
    CHECK(d2v->info().details.at("creator_application") == "'d2v\\0' (Disk2vhd)");
}

TEST_CASE("vhd size rule: the rule holds for dynamic disks too")
{
    dstest::vhd::SparseVhd vhd;
    vhd.footer = footer_of("vpc ");
    vhd.footer.disk_type = 3;
    CHECK(open_bytes(vhd.build())->size() == chs_of_1_mib);
    vhd.footer.creator = "win ";
    CHECK(open_bytes(vhd.build())->size() == MiB);
}

TEST_CASE("vhd size rule: a fixed disk's size must fit in the data before its footer")
{
    auto f = footer_of("win ");
    f.current_size = MiB + 512;
    const auto open_it = [&] { open_fixed(f); };
    CHECK(dstest::error_kind_of(open_it) == "corrupt");
    CHECK(dstest::contains(dstest::error_message_of(open_it), "rule.vhd: footer disk size of 1049088 bytes"));
}
