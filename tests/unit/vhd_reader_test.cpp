// The VHD reader on files built byte by byte: sector bitmaps, block order, differencing disks and
// their locators, bad checksums, and hostile structures.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>

#include <diskshift/format.hpp>

#include "support/errors.hpp"
#include "support/printing.hpp"
#include "support/random_data.hpp"
#include "support/text.hpp"
#include "support/vhd_builder.hpp"

using namespace diskshift;
using namespace std::string_literals;
using dstest::vhd::SparseVhd;

namespace {

constexpr std::uint64_t block = 64 * 1024;

std::unique_ptr<Image> open_bytes(std::vector<std::byte> bytes, bool allow_delta_alone = false)
{
    OpenContext context;
    context.options.allow_delta_alone = allow_delta_alone;
    return open_image(std::make_shared<MemorySource>(std::move(bytes), "disk.vhd"), context);
}

std::vector<std::byte> read_all(const Image& image)
{
    std::vector<std::byte> out(image.size());
    image.read(out, 0);
    return out;
}

/// A dynamic disk of 2.5 blocks: block 0 full, block 1 absent, block 2 (the partial last block)
/// with an MSB-first bitmap marking sectors 0 and 2 present and junk in the clear sectors.
SparseVhd three_block_disk()
{
    SparseVhd vhd;
    vhd.footer.disk_type = 3;
    vhd.footer.current_size = 2 * block + block / 2;
    vhd.block_size = block;
    vhd.blocks[0] = {{}, dstest::random_bytes(block, 1)};
    vhd.blocks[2] = {{std::byte{0b1010'0000}}, dstest::random_bytes(block / 2, 2)};
    return vhd;
}

ExtentList expected_three_block_extents()
{
    ExtentList e;
    e.append(block, ExtentKind::data);
    e.append(block, ExtentKind::unallocated);
    e.append(512, ExtentKind::data);
    e.append(512, ExtentKind::unallocated);
    e.append(512, ExtentKind::data);
    e.append(block / 2 - 1536, ExtentKind::unallocated);
    return e;
}

std::vector<std::byte> expected_three_block_bytes(const SparseVhd& vhd)
{
    std::vector<std::byte> bytes(vhd.footer.current_size);
    const auto& b0 = vhd.blocks.at(0).data;
    const auto& b2 = vhd.blocks.at(2).data;
    std::copy(b0.begin(), b0.end(), bytes.begin());
    std::copy_n(b2.begin(), 512, bytes.begin() + 2 * block);
    std::copy_n(b2.begin() + 1024, 512, bytes.begin() + 2 * block + 1024);
    return bytes;
}

std::array<std::byte, 16> uuid_of(std::uint8_t first)
{
    std::array<std::byte, 16> id{};
    for (std::size_t i = 0; i < id.size(); ++i) {
        id[i] = static_cast<std::byte>(first + i);
    }
    return id;
}

SparseVhd differencing_disk()
{
    SparseVhd vhd = three_block_disk();
    vhd.footer.disk_type = 4;
    vhd.footer.unique_id = uuid_of(0x10);
    vhd.parent_id = uuid_of(0xA0);
    vhd.parent_timestamp = 0x260cf300;
    vhd.parent_name = u"C:\\VMs\\base disk.vhd";
    vhd.locators = {{"W2ku", dstest::vhd::utf16(u"C:\\VMs\\base disk.vhd", false)},
                    {"W2ru", dstest::vhd::utf16(u".\\base disk.vhd", false)},
                    {"MacX", {}}};
    const std::string url = "file:///Users/me/base%20disk.vhd";
    for (const char c : url) {
        vhd.locators[2].data.push_back(static_cast<std::byte>(c));
    }
    return vhd;
}

}  // namespace

TEST_CASE("vhd: a dynamic disk reads its blocks, zeros for absent blocks and for sectors whose bit is clear")
{
    const SparseVhd vhd = three_block_disk();
    const auto image = open_bytes(vhd.build());
    CHECK(image->info().format == "vhd");
    CHECK(image->info().subformat == "dynamic");
    CHECK(image->size() == 2 * block + block / 2);
    CHECK(image->info().cluster_size == block);
    CHECK(image->info().warnings.empty());
    CHECK(read_all(*image) == expected_three_block_bytes(vhd));
    CHECK(image->extents() == expected_three_block_extents());

    // Unaligned reads and extent queries inside a block and across blocks.
    std::vector<std::byte> piece(1000);
    image->read(piece, 2 * block + 300);
    const auto expected = expected_three_block_bytes(vhd);
    CHECK(std::equal(piece.begin(), piece.end(), expected.begin() + 2 * block + 300));
    CHECK(image->extents(2 * block + 700, 1000) == expected_three_block_extents().slice(2 * block + 700, 1000));
    CHECK(image->extents(block - 10, 20) == expected_three_block_extents().slice(block - 10, 20));
}

TEST_CASE("vhd: a differencing disk reports its parent, locators and time stamp, and is refused alone")
{
    const auto bytes = differencing_disk().build();
    const auto refuse = [&] { open_bytes(bytes); };
    CHECK(dstest::error_kind_of(refuse) == "invalid_argument");
    const std::string message = dstest::error_message_of(refuse);
    CHECK(dstest::contains(message, "disk.vhd"));
    CHECK(dstest::contains(message, "\"./base disk.vhd\""));
    CHECK(dstest::contains(message, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf"));

    const auto image = open_bytes(bytes, true);
    const ImageInfo& info = image->info();
    CHECK(info.subformat == "differencing");
    CHECK(info.id == "10111213-1415-1617-1819-1a1b1c1d1e1f");
    REQUIRE(info.parent.has_value());
    CHECK(info.parent->hint == "./base disk.vhd");
    CHECK(info.parent->id == "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
    CHECK(info.details.at("parent_name") == "C:\\VMs\\base disk.vhd");
    CHECK(info.details.at("parent_hint_from") == "W2ru locator");
    CHECK(info.details.at("parent_timestamp") == "2020-03-24T16:34:08Z");
    const auto& locators = info.details.at("parent_locators");
    REQUIRE(locators.size() == 3);
    CHECK(locators.at(0).at("platform") == "W2ku");
    CHECK(locators.at(0).at("path") == "C:\\VMs\\base disk.vhd");
    CHECK(locators.at(1).at("path") == ".\\base disk.vhd");
    CHECK(locators.at(2).at("path") == "file:///Users/me/base%20disk.vhd");
    // Clear bits and absent blocks fall through to the parent.
    CHECK(image->extents() == expected_three_block_extents());
}

TEST_CASE("vhd: the parent hint falls back from W2ru to W2ku, MacX and the header's parent name")
{
    SparseVhd vhd = differencing_disk();
    vhd.locators.erase(vhd.locators.begin() + 1);  // no W2ru
    CHECK(open_bytes(vhd.build(), true)->info().parent->hint == "C:/VMs/base disk.vhd");
    vhd.locators.erase(vhd.locators.begin());  // MacX only
    CHECK(open_bytes(vhd.build(), true)->info().parent->hint == "/Users/me/base%20disk.vhd");
    vhd.locators.clear();
    const auto image = open_bytes(vhd.build(), true);
    CHECK(image->info().parent->hint == "C:/VMs/base disk.vhd");
    CHECK(image->info().details.at("parent_hint_from") == "parent name");
}

TEST_CASE("vhd: bad footer and header checksums are read with warnings")
{
    SparseVhd vhd = three_block_disk();
    vhd.footer.bad_checksum = true;
    vhd.bad_header_checksum = true;
    const auto image = open_bytes(vhd.build());
    CHECK(read_all(*image) == expected_three_block_bytes(vhd));
    REQUIRE(image->info().warnings.size() == 2);
    CHECK(dstest::contains(image->info().warnings[0], "footer checksum is wrong"));
    CHECK(dstest::contains(image->info().warnings[1], "dynamic header checksum is wrong (offset 0x200"));
    CHECK(dstest::contains(image->info().details.at("footer_checksum").get<std::string>(), "bad"));
}

TEST_CASE("vhd: the footer copy at offset 0 stands in for a missing or damaged footer at the end")
{
    const SparseVhd vhd = three_block_disk();
    std::vector<std::byte> bytes = vhd.build();
    bytes[bytes.size() - 512 + 70] ^= std::byte{0xFF};  // end footer's checksum no longer matches
    auto image = open_bytes(bytes);
    CHECK(dstest::contains(image->info().warnings.at(0), "used its copy at offset 0"));
    CHECK(read_all(*image) == expected_three_block_bytes(vhd));

    std::fill(bytes.end() - 512, bytes.end(), std::byte{0});  // no footer at the end at all
    image = open_bytes(bytes);
    CHECK(dstest::contains(image->info().warnings.at(0), "no footer at the end of the file"));
    CHECK(read_all(*image) == expected_three_block_bytes(vhd));
}

TEST_CASE("vhd: a fixed disk is found by its footer, not taken for raw, and reads its data")
{
    const auto data = dstest::random_bytes(96 * 1024, 7);
    dstest::vhd::FooterFields footer;
    footer.current_size = data.size();
    const auto image = open_bytes(dstest::vhd::fixed_vhd(data, footer));
    CHECK(image->info().format == "vhd");
    CHECK(image->info().subformat == "fixed");
    CHECK(read_all(*image) == data);
    CHECK(image->extents().bytes_of(ExtentKind::data) == data.size());
}

namespace {

struct Hostile {
    const char* what;
    std::function<void(std::vector<std::byte>&)> damage;
    const char* message;  ///< the structure the error must name
    const char* kind = "corrupt";
};

}  // namespace

TEST_CASE("vhd: hostile structures fail fast with the file and the structure named")
{
    using dstest::vhd::patch_be32;
    using dstest::vhd::patch_be64;
    constexpr std::uint64_t header = dstest::vhd::header_offset;
    constexpr std::uint64_t bat = dstest::vhd::bat_offset;
    const SparseVhd vhd = three_block_disk();
    const Hostile cases[] = {
        {"truncated in a block", [](auto& f) { f.erase(f.end() - (512 + block / 4), f.end()); }, "BAT entry 0 points past the end"},
        {"BAT entry past the end", [&](auto& f) { patch_be32(f, bat + 8, 0x7FFFFFF0); }, "BAT entry 2 points past the end"},
        {"BAT entry over the header", [&](auto& f) { patch_be32(f, bat, 1); }, "BAT entry 0 puts a block at offset 0x200 over the dynamic header (offset 0x200)"},
        {"BAT entry over the BAT", [&](auto& f) { patch_be32(f, bat + 8, 3); }, "over the BAT"},
        {"BAT entry over the footer copy", [&](auto& f) { patch_be32(f, bat, 0); }, "BAT entry 0 puts a block at offset 0x0 over the"},
        {"block size not a power of two", [&](auto& f) { patch_be32(f, header + 32, 3000); }, "block size 3000 is not a power of two"},
        {"block size zero", [&](auto& f) { patch_be32(f, header + 32, 0); }, "block size 0"},
        {"block size too small", [&](auto& f) { patch_be32(f, header + 32, 256); }, "block size 256"},
        {"block size too large", [&](auto& f) { patch_be32(f, header + 32, 1U << 31); }, "block size 2147483648"},
        {"huge size", [&](auto& f) { patch_be64(f, f.size() - 512 + 48, 1ULL << 62); patch_be64(f, 48, 1ULL << 62); }, "exceeds the 2040 GiB"},
        {"BAT too small", [&](auto& f) { patch_be32(f, header + 28, 2); }, "BAT has 2 entries, too few"},
        {"BAT past the end", [&](auto& f) { patch_be64(f, header + 16, 1ULL << 40); }, "BAT of 3 entries at offset 0x10000000000 runs past the end"},
        {"header past the end", [&](auto& f) { patch_be64(f, f.size() - 512 + 16, ~0ULL - 100); patch_be64(f, 16, ~0ULL - 100); }, "dynamic header (footer data offset"},
        {"header cookie", [&](auto& f) { f[header] = std::byte{'X'}; }, "dynamic header has no \"cxsparse\" cookie (offset 0x200)"},
        {"no footer", [](auto& f) { f[0] = f[f.size() - 512] = std::byte{'X'}; }, "no VHD footer (cookie \"conectix\") at the end of the file"},
        {"too short", [](auto& f) { f.resize(100); }, "too short to hold a VHD footer"},
        {"unknown disk type", [](auto& f) { patch_be32(f, f.size() - 512 + 60, 7); patch_be32(f, 60, 7); }, "footer disk type 7", "unsupported"},
    };
    for (const Hostile& c : cases) {
        INFO(c.what);
        std::vector<std::byte> bytes = vhd.build();
        c.damage(bytes);
        OpenContext context;
        context.options.format = "vhd";
        const auto start = std::chrono::steady_clock::now();
        const auto open_it = [&] { open_image(std::make_shared<MemorySource>(bytes, "disk.vhd"), context); };
        CHECK(dstest::error_kind_of(open_it) == c.kind);
        const std::string message = dstest::error_message_of(open_it);
        CHECK_MESSAGE(dstest::contains(message, "disk.vhd: "), message);
        CHECK_MESSAGE(dstest::contains(message, c.message), message);
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    }
}
