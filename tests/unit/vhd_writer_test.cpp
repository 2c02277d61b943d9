// The VHD writer into memory: the footer and dynamic header fields it writes, the CHS geometry,
// where dynamic blocks go, write_zeroes, its options and the sizes it refuses; what it writes is
// read back through our reader.
#include <doctest/doctest.h>

#include <chrono>

#include <diskshift/format.hpp>

#include "core/endian.hpp"
#include "formats/vhd/vhd_layout.hpp"
#include "support/byte_range.hpp"
#include "support/errors.hpp"
#include "support/images.hpp"
#include "support/random_data.hpp"
#include "support/text.hpp"

using namespace diskshift;
using namespace diskshift::formats;
using dstest::GiB;
using dstest::KiB;
using dstest::MiB;

namespace {

constexpr std::uint64_t bat_offset = 1536;

/// A writer of `format`'s `options` ("subformat=fixed,...") for a disk of `size` bytes.
std::unique_ptr<Writer> make_writer(ByteSink& sink, std::uint64_t size, const std::string& options = "")
{
    CreateRequest request;
    request.virtual_size = size;
    request.options.parse(options);
    return find_format("vhd").create(sink, std::move(request));
}

std::unique_ptr<Image> open_written(const MemorySink& sink)
{
    OpenContext context;  // found by probing, as any VHD
    return open_image(std::make_shared<MemorySource>(sink.bytes(), "written.vhd"), context);
}

std::span<const std::byte, vhd::footer_size> footer_at(const MemorySink& sink, std::uint64_t offset)
{
    return std::span(sink.bytes()).subspan(offset).first<vhd::footer_size>();
}

std::span<const std::byte, vhd::footer_size> last_sector(const MemorySink& sink)
{
    return footer_at(sink, sink.size() - vhd::footer_size);
}

std::uint32_t bat_entry(const MemorySink& sink, std::uint64_t block)
{
    return load_be<std::uint32_t>(sink.bytes().data() + bat_offset + 4 * block);
}

/// Writes `data` at each offset of `offsets` into `writer` and into `expected`, the disk's bytes.
void write_pieces(Writer& writer, std::vector<std::byte>& expected, std::span<const std::uint64_t> offsets,
                  std::uint64_t length, std::uint64_t seed)
{
    for (const std::uint64_t offset : offsets) {
        const std::vector<std::byte> data = dstest::random_bytes(length, seed++);
        writer.write(offset, data);
        std::copy(data.begin(), data.end(), expected.begin() + static_cast<std::ptrdiff_t>(offset));
    }
}

}  // namespace

TEST_CASE("vhd writer: the CHS geometry is the spec's, never more than the disk")
{
    // 10 MiB: 301/4/17 as Windows writes it; 127 GiB: 65278/16/255 as Hyper-V 2012R2 wrote it.
    CHECK(vhd::geometry_for_size(10 * MiB).cylinders == 301);
    CHECK(vhd::geometry_for_size(10 * MiB).heads == 4);
    CHECK(vhd::geometry_for_size(10 * MiB).sectors_per_track == 17);
    const vhd::Geometry hyperv = vhd::geometry_for_size(136365211648);
    CHECK(hyperv.cylinders == 65278);
    CHECK(hyperv.heads == 16);
    CHECK(hyperv.sectors_per_track == 255);
    // Past 65535/16/255 sectors the geometry stays at that maximum.
    CHECK(vhd::geometry_for_size(2040 * GiB).is_maximum());
    // 31 and 63 sectors per track are reached in between.
    CHECK(vhd::geometry_for_size(200 * MiB).sectors_per_track == 31);
    CHECK(vhd::geometry_for_size(2 * GiB).sectors_per_track == 63);

    dstest::RandomBytes random(7);
    for (int i = 0; i < 2000; ++i) {
        const std::uint64_t size = random.below(3000 * GiB);
        const vhd::Geometry g = vhd::geometry_for_size(size);
        INFO("size ", size);
        REQUIRE(g.bytes() <= size);
    }
}

TEST_CASE("vhd writer: footers read back field for field, with a good checksum, a v4 id and the time now")
{
    const vhd::Footer written = vhd::new_footer(vhd::DiskType::dynamic, 5 * MiB + 1536, 512);
    const auto bytes = vhd::footer_bytes(written);
    const vhd::Footer read = vhd::parse_footer(bytes);
    CHECK(vhd::has_footer_cookie(bytes));
    CHECK(read.checksum == read.computed_checksum);
    CHECK(read.features == 2);
    CHECK(read.format_version == 0x00010000);
    CHECK(read.data_offset == 512);
    CHECK(vhd::fourcc_text(read.creator_app) == "win ");
    CHECK(read.creator_version == 0x000A0000);
    CHECK(vhd::fourcc_text(read.creator_host_os) == "Wi2k");
    CHECK(read.current_size == 5 * MiB + 1536);
    CHECK(read.original_size == 5 * MiB + 1536);
    CHECK(read.geometry.bytes() == vhd::geometry_for_size(5 * MiB + 1536).bytes());
    CHECK(read.disk_type == 3);
    CHECK(read.unique_id == written.unique_id);
    CHECK((static_cast<unsigned>(read.unique_id[6]) >> 4) == 4);
    CHECK((static_cast<unsigned>(read.unique_id[8]) >> 6) == 2);
    const auto seconds_since_2000 = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch()).count() - 946684800;
    CHECK(std::abs(static_cast<std::int64_t>(read.timestamp) - seconds_since_2000) < 60);

    CHECK(vhd::new_footer(vhd::DiskType::fixed, MiB, 512).data_offset == ~std::uint64_t{0});
    CHECK(vhd::new_footer(vhd::DiskType::fixed, MiB, 0).unique_id != written.unique_id);
}

TEST_CASE("vhd writer: a fixed disk is the data with holes, then the footer")
{
    const std::uint64_t size = 3 * MiB + 1536;
    MemorySink sink;
    auto writer = make_writer(sink, size, "subformat=fixed");
    std::vector<std::byte> expected(size);
    const std::uint64_t offsets[] = {0, MiB + 100, size - 4096};
    write_pieces(*writer, expected, offsets, 4096, 1);
    writer->write_zeroes(MiB, 1024);
    std::fill_n(expected.begin() + MiB, 1024, std::byte{0});
    writer->finish();

    REQUIRE(sink.size() == size + 512);
    const vhd::Footer footer = vhd::parse_footer(last_sector(sink));
    CHECK(footer.checksum == footer.computed_checksum);
    CHECK(footer.disk_type == 2);
    CHECK(footer.current_size == size);
    CHECK(std::equal(expected.begin(), expected.end(), sink.bytes().begin()));
    const auto image = open_written(sink);
    CHECK(image->info().subformat == "fixed");
    CHECK(dstest::image_difference(*dstest::open_raw_bytes(expected), *image) == "");
}

TEST_CASE("vhd writer: a dynamic disk puts blocks in the order writes reach them, data 4 KiB aligned")
{
    // Five 2 MiB blocks and a partial sixth; blocks 4, 0 and 5 (the last) are written, in that order.
    const std::uint64_t size = 10 * MiB + 1536;
    MemorySink sink;
    auto writer = make_writer(sink, size);
    std::vector<std::byte> expected(size);
    const std::uint64_t offsets[] = {8 * MiB + 512, 0, 10 * MiB};
    write_pieces(*writer, expected, offsets, 1536, 10);
    writer->finish();

    const auto image = open_written(sink);
    CHECK(dstest::image_difference(*dstest::open_raw_bytes(expected), *image) == "");
    CHECK(image->info().subformat == "dynamic");
    CHECK(image->info().cluster_size == 2 * MiB);
    CHECK(image->info().details.at("bat_offset") == bat_offset);
    CHECK(image->info().details.at("bat_entries") == 6);

    const std::uint32_t block4 = bat_entry(sink, 4);
    const std::uint32_t block0 = bat_entry(sink, 0);
    const std::uint32_t block5 = bat_entry(sink, 5);
    for (const std::uint64_t unwritten : {1, 2, 3}) {
        CHECK(bat_entry(sink, unwritten) == vhd::unallocated_block);
    }
    // Each block is a 512-byte bitmap (all ones) and its data, which starts on a 4 KiB boundary.
    CHECK(block4 < block0);
    CHECK(block0 < block5);
    for (const std::uint32_t entry : {block4, block0, block5}) {
        const std::uint64_t bitmap = std::uint64_t{entry} * 512;
        CHECK((bitmap + 512) % (4 * KiB) == 0);
        const auto bits = std::span(sink.bytes()).subspan(bitmap, 512);
        CHECK(std::all_of(bits.begin(), bits.end(), [](std::byte b) { return b == std::byte{0xFF}; }));
    }
    CHECK(std::uint64_t{block0} * 512 - std::uint64_t{block4} * 512 == 2 * MiB + 4 * KiB);
    // The padding of the BAT's sector stays unallocated.
    CHECK(bat_entry(sink, 127) == vhd::unallocated_block);
    // The footer follows the whole last block; its copy at offset 0 is the same footer.
    CHECK(sink.size() == std::uint64_t{block5} * 512 + 512 + 2 * MiB + 512);
    CHECK(std::ranges::equal(footer_at(sink, 0), last_sector(sink)));
    const vhd::Footer footer = vhd::parse_footer(last_sector(sink));
    CHECK(footer.checksum == footer.computed_checksum);
    CHECK(footer.data_offset == 512);
    const vhd::DynamicHeader header =
        vhd::parse_dynamic_header(std::span(sink.bytes()).subspan(512).first<vhd::dynamic_header_size>());
    CHECK(header.has_cookie);
    CHECK(header.checksum == header.computed_checksum);
    CHECK(header.table_offset == bat_offset);
    CHECK(header.max_table_entries == 6);
    CHECK(header.block_size == 2 * MiB);
    CHECK(load_be<std::uint64_t>(sink.bytes().data() + 512 + 8) == ~std::uint64_t{0});
}

TEST_CASE("vhd writer: a write across blocks allocates both; unwritten parts of a block read as zeros")
{
    const std::uint64_t size = 4 * MiB;
    MemorySink sink;
    auto writer = make_writer(sink, size, "block_size=1M");
    std::vector<std::byte> expected(size);
    const std::uint64_t offsets[] = {MiB - 4096};
    write_pieces(*writer, expected, offsets, 8192, 20);
    writer->finish();

    const auto image = open_written(sink);
    CHECK(image->info().cluster_size == MiB);
    CHECK(dstest::image_difference(*dstest::open_raw_bytes(expected), *image) == "");
    CHECK(bat_entry(sink, 0) != vhd::unallocated_block);
    CHECK(bat_entry(sink, 1) != vhd::unallocated_block);
    CHECK(bat_entry(sink, 2) == vhd::unallocated_block);
    CHECK(image->info().details.at("allocated_blocks") == 2);
}

TEST_CASE("vhd writer: write_zeroes clears allocated blocks and leaves unallocated ones alone")
{
    const std::uint64_t size = 6 * MiB;
    MemorySink sink;
    auto writer = make_writer(sink, size);
    std::vector<std::byte> expected(size);
    const std::uint64_t offsets[] = {0};
    write_pieces(*writer, expected, offsets, 64 * KiB, 30);
    const std::uint64_t before = sink.size();
    writer->write_zeroes(4096, 2 * MiB);  // the rest of block 0's data and a piece of block 1
    writer->write_zeroes(4 * MiB, 2 * MiB);  // block 2, unallocated
    std::fill_n(expected.begin() + 4096, 60 * KiB, std::byte{0});
    CHECK(sink.size() <= before + 2 * MiB);
    writer->finish();

    const auto image = open_written(sink);
    CHECK(dstest::image_difference(*dstest::open_raw_bytes(expected), *image) == "");
    CHECK(bat_entry(sink, 1) == vhd::unallocated_block);
    CHECK(bat_entry(sink, 2) == vhd::unallocated_block);
}

TEST_CASE("vhd writer: an empty dynamic disk is footer copy, header, BAT and footer")
{
    MemorySink sink;
    auto writer = make_writer(sink, 127 * GiB);
    writer->finish();
    const std::uint64_t bat_bytes = 127 * GiB / (2 * MiB) * 4;
    CHECK(sink.size() == bat_offset + bat_bytes + 512);
    const auto image = open_written(sink);
    CHECK(image->size() == 127 * GiB);
    CHECK(image->info().details.at("allocated_blocks") == 0);
}

TEST_CASE("vhd writer: options and sizes it refuses")
{
    MemorySink sink{"out.vhd"};
    const auto kind = [&](std::uint64_t size, const std::string& options) {
        return dstest::error_kind_of([&] { make_writer(sink, size, options); });
    };
    const auto message = [&](std::uint64_t size, const std::string& options) {
        return dstest::error_message_of([&] { make_writer(sink, size, options); });
    };
    CHECK(kind(MiB, "subformat=streamOptimized") == "invalid_argument");
    CHECK(dstest::contains(message(MiB, "subformat=sparse"), "'sparse' is not dynamic or fixed"));
    CHECK(kind(MiB, "colour=blue") == "invalid_argument");
    CHECK(kind(MiB, "block_size=3M") == "invalid_argument");
    CHECK(kind(MiB, "block_size=512K") == "invalid_argument");
    CHECK(kind(MiB, "block_size=512M") == "invalid_argument");
    CHECK(kind(MiB, "subformat=fixed,block_size=2M") == "invalid_argument");
    CHECK(kind(MiB, "azure=maybe") == "invalid_argument");
    CHECK(kind(MiB, "block_size=256M") == "no error");
    CHECK(kind(0, "") == "no error");

    // A VHD holds whole sectors.
    CHECK(kind(MiB + 100, "subformat=fixed") == "unsupported");
    CHECK(dstest::contains(message(MiB + 100, ""), "1048676 bytes, not a whole number of 512-byte sectors"));
    CHECK(dstest::contains(message(MiB + 100, ""), "extend the source to 1049088 bytes"));

    // 2040 GiB for a dynamic disk; a fixed one has no such limit in the format.
    CHECK(kind(vhd::max_dynamic_disk_size, "") == "no error");
    CHECK(kind(vhd::max_dynamic_disk_size + 512, "") == "unsupported");
    CHECK(dstest::contains(message(vhd::max_dynamic_disk_size + 512, ""), "2040 GiB"));
    CHECK(kind(vhd::max_dynamic_disk_size + 512, "subformat=fixed") == "no error");
}

TEST_CASE("vhd writer: azure=on takes fixed whole-MiB disks from 20 MiB to 32 TiB")
{
    MemorySink sink{"azure.vhd"};
    const auto kind = [&](std::uint64_t size, const std::string& options) {
        return dstest::error_kind_of([&] { make_writer(sink, size, options); });
    };
    CHECK(kind(30 * MiB, "subformat=fixed,azure=on") == "no error");
    CHECK(kind(30 * MiB + 512, "subformat=fixed,azure=off") == "no error");
    CHECK(kind(30 * MiB + 512, "subformat=fixed,azure=on") == "invalid_argument");
    const std::string unaligned =
        dstest::error_message_of([&] { make_writer(sink, 30 * MiB + 512, "subformat=fixed,azure=on"); });
    CHECK(dstest::contains(unaligned, "azure.vhd: azure=on"));
    CHECK(dstest::contains(unaligned, "31457792 bytes"));
    CHECK(dstest::contains(unaligned, "30 MiB (31457280 bytes) and 31 MiB (32505856 bytes)"));

    CHECK(kind(19 * MiB, "subformat=fixed,azure=on") == "invalid_argument");
    CHECK(kind(32 * 1024 * GiB, "subformat=fixed,azure=on") == "no error");
    CHECK(kind(32 * 1024 * GiB + MiB, "subformat=fixed,azure=on") == "invalid_argument");
    // Azure takes fixed disks only: dynamic, given or by default, is refused.
    CHECK(kind(30 * MiB, "azure=on") == "invalid_argument");
    CHECK(dstest::contains(dstest::error_message_of([&] { make_writer(sink, 30 * MiB, "subformat=dynamic,azure=on"); }),
                           "add subformat=fixed"));
}

TEST_CASE("vhd writer: writes outside the disk are refused")
{
    for (const std::string subformat : {"fixed", "dynamic"}) {
        MemorySink sink;
        auto writer = make_writer(sink, 2 * MiB, "subformat=" + subformat);
        const std::vector<std::byte> data(4096);
        CHECK(dstest::error_kind_of([&] { writer->write(2 * MiB - 2048, data); }) == "invalid_argument");
        CHECK(dstest::error_kind_of([&] { writer->write_zeroes(2 * MiB, 1); }) == "invalid_argument");
        CHECK(dstest::error_kind_of([&] { writer->write(2 * MiB - 4096, data); }) == "no error");
    }
}
