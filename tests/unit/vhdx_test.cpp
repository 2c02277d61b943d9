// VHDX reading: qemu-img's fixed and dynamic images (every block size class, data patterns written
// with qemu-io) read byte for byte as `qemu-img convert -O raw` reads them; CRC-32C; differencing
// disks built from a qemu image by editing its metadata and BAT (qemu cannot make them).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <diskshift/format.hpp>

#include "core/crc32c.hpp"
#include "core/endian.hpp"
#include "formats/vhdx/vhdx_layout.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vhdx_differencing.hpp"
#include "support/vhdx_log_writer.hpp"

using namespace dstest;

namespace {

std::string text_of(std::uint64_t n) { return std::to_string(n); }

/// A qemu-made VHDX of `subformat` and `block_size` whose size is no multiple of the block size,
/// written by qemu-io: random data across a block boundary, a partial block, zeros written inside a
/// data block, a block never written (NOT_PRESENT when dynamic, ZERO when fixed), the last sector.
std::filesystem::path make_qemu_vhdx(const TempDir& dir, const std::string& subformat, std::uint64_t block_size)
{
    const std::filesystem::path image = dir / (subformat + "-" + text_of(block_size / MiB) + ".vhdx");
    const std::filesystem::path random = dir / "random.bin";
    write_whole_file(random, random_bytes(2 * MiB, block_size));
    const std::uint64_t size = 3 * block_size + block_size / 2 + 3 * 512;
    run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o",
                          "subformat=" + subformat + ",block_size=" + text_of(block_size), image.string(), text_of(size)});
    run_program("qemu-io", {"-f", "vhdx",
                         "-c", "write -q -s " + random.string() + " " + text_of(block_size - MiB / 2) + " 1M",
                         "-c", "write -q -s " + random.string() + " 0 64k",
                         "-c", "write -q -z " + text_of(block_size - 64 * KiB) + " 32k",
                         "-c", "write -q -P 0x5a " + text_of(block_size + block_size / 2) + " 100k",
                         "-c", "write -q -s " + random.string() + " " + text_of(size - 512) + " 512",
                         image.string()});
    return image;
}

/// `image` converted to raw by qemu-img (first) and by our imgconv (second).
std::pair<std::filesystem::path, std::filesystem::path> convert_both(const TempDir& dir,
                                                                     const std::filesystem::path& image)
{
    const std::filesystem::path theirs = dir / "qemu.raw";
    const std::filesystem::path ours = dir / "ours.raw";
    run_program("qemu-img", {"convert", "-f", "vhdx", "-O", "raw", image.string(), theirs.string()});
    const ProcessResult result = run_tool("imgconv", {"-O", "raw", image.string(), ours.string()});
    INFO(result.describe());
    REQUIRE(result.exit_code() == 0);
    return {theirs, ours};
}

void check_reads_like_qemu(const TempDir& dir, const std::filesystem::path& image)
{
    INFO("image ", image.filename().string());
    const auto [theirs, ours] = convert_both(dir, image);
    CHECK(file_difference(theirs, ours) == "");
}

void check_subformat(const std::string& subformat)
{
    const TempDir dir;
    for (const std::uint64_t block_size : {1 * MiB, 8 * MiB, 32 * MiB, 256 * MiB}) {
        const std::filesystem::path image = make_qemu_vhdx(dir, subformat, block_size);
        check_reads_like_qemu(dir, image);
        const auto opened = diskshift::open_image(image);
        CHECK(opened->info().subformat == subformat);
        CHECK(opened->info().cluster_size == block_size);
        std::filesystem::remove(image);
    }
}

}  // namespace

TEST_CASE("vhdx: regions overlap when they share a byte; an empty region (a log of length 0) overlaps nothing")
{
    using diskshift::formats::vhdx::Region;
    const Region block{2 << 20, 1 << 20};
    CHECK(block.overlaps(Region{(2 << 20) + 4096, 4096}));
    CHECK(block.overlaps(Region{1 << 20, (1 << 20) + 1}));
    CHECK_FALSE(block.overlaps(Region{3 << 20, 1 << 20}));
    CHECK_FALSE(block.overlaps(Region{(2 << 20) + 4096, 0}));
    CHECK_FALSE(Region{(2 << 20) + 4096, 0}.overlaps(block));
}

TEST_CASE("vhdx: CRC-32C matches the Castagnoli check value and can be computed in pieces")
{
    const std::string check = "123456789";
    const auto bytes = std::as_bytes(std::span(check));
    CHECK(diskshift::crc32c(bytes) == 0xE3069283U);
    CHECK(diskshift::crc32c(bytes.subspan(4), diskshift::crc32c(bytes.first(4))) == 0xE3069283U);
    const std::vector<std::byte> zeros(32);
    CHECK(diskshift::crc32c(zeros) == 0x8A9136AAU);  // RFC 3720 B.4: 32 bytes of zeros
}

TEST_CASE("vhdx: qemu-img's dynamic images read as qemu-img reads them, at every block size")
{
    check_subformat("dynamic");
}

TEST_CASE("vhdx: qemu-img's fixed images read as qemu-img reads them, at every block size")
{
    check_subformat("fixed");
}

TEST_CASE("vhdx: past the first chunk the BAT skips each chunk's sector bitmap entry, as qemu lays it out")
{
    // 1 MiB blocks of 512-byte sectors: a chunk of 4096 blocks (4 GiB), then a bitmap entry.
    const TempDir dir;
    const std::filesystem::path image = dir / "chunks.vhdx";
    const std::filesystem::path random = dir / "random.bin";
    write_whole_file(random, random_bytes(2 * MiB, 21));
    const std::uint64_t size = 4 * GiB + 3 * MiB + 512;
    run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o", "subformat=dynamic,block_size=1048576",
                          image.string(), text_of(size)});
    run_program("qemu-io", {"-f", "vhdx", "-c", "write -q -s " + random.string() + " " + text_of(4 * GiB - MiB / 2) + " 1M",
                         "-c", "write -q -P 0x77 " + text_of(4 * GiB + MiB + 100 * KiB) + " 4k",
                         "-c", "write -q -s " + random.string() + " " + text_of(size - 512) + " 512", image.string()});
    const auto [theirs, ours] = convert_both(dir, image);
    // Blocks 4094 to the end hold every byte written; the rest reads zeros on both sides.
    CHECK(file_difference(theirs, ours, {{4 * GiB - 2 * MiB, size - (4 * GiB - 2 * MiB)}}) == "");
    CHECK(std::filesystem::file_size(ours) == size);
    // Blocks 4095-4097 (contiguous on the disk, not in the BAT) and the last block are data.
    const std::vector<ByteRange> expected = {{4 * GiB - MiB, 3 * MiB}, {4 * GiB + 3 * MiB, 512}};
    CHECK(data_ranges(diskshift::open_image(image)->extents()) == expected);
}

TEST_CASE("vhdx: a differencing disk names its parent, is refused alone, and reads its block states")
{
    const TempDir dir;
    const std::filesystem::path image = dir / "child.avhdx";
    const std::filesystem::path random = dir / "random.bin";
    write_whole_file(random, random_bytes(3 * MiB, 11));
    run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o", "subformat=dynamic,block_size=1048576",
                          image.string(), "8M"});
    run_program("qemu-io", {"-f", "vhdx", "-c", "write -q -s " + random.string() + " 0 3M", image.string()});
    const std::vector<std::byte> written = random_bytes(3 * MiB, 11);
    make_differencing(image, {
                                 {"parent_linkage", "{AABBCCDD-1122-3344-5566-778899AABBCC}"},
                                 {"relative_path", ".\\parent.vhdx"},
                                 {"absolute_win32_path", "C:\\vms\\parent.vhdx"},
                             });

    // 1 MiB blocks of 512-byte sectors: chunk ratio 4096, the first chunk's bitmap entry is 4096.
    const VhdxRegions regions = read_vhdx_regions(image);
    const std::uint64_t bitmap_block = std::filesystem::file_size(image);
    REQUIRE(bitmap_block % MiB == 0);
    std::vector<std::byte> bitmap(MiB);
    const std::uint64_t block2_bits = 2 * (MiB / 512 / 8);
    bitmap[block2_bits] = std::byte{0b101};           // sectors 0 and 2 (LSB first)
    bitmap[block2_bits + 100] = std::byte{0xFF};      // sectors 800-807
    bitmap[block2_bits + 255] = std::byte{0x80};      // sector 2047
    patch_file(image, bitmap_block, bitmap);
    const std::vector<std::byte> bat = read_whole_file(image);
    const std::uint64_t block2 = diskshift::load_le<std::uint64_t>(bat.data() + regions.bat_offset + 16);
    patch_le64(image, regions.bat_offset + 8 * 0, 0);                        // NOT_PRESENT
    patch_le64(image, regions.bat_offset + 8 * 1, 3);                        // UNMAPPED
    patch_le64(image, regions.bat_offset + 8 * 2, (block2 & ~(MiB - 1)) | 7);  // PARTIALLY_PRESENT
    patch_le64(image, regions.bat_offset + 8 * 4, 5);                        // UNMAPPED (v0.95 value)
    patch_le64(image, regions.bat_offset + 8 * 5, 1);                        // UNDEFINED
    patch_le64(image, regions.bat_offset + 8 * 4096, bitmap_block | 6);      // SB_BLOCK_PRESENT

    CHECK(error_kind_of([&] { diskshift::open_image(image); }) == "invalid_argument");
    CHECK(contains(error_message_of([&] { diskshift::open_image(image); }), "\\parent.vhdx"));

    diskshift::OpenOptions alone;
    alone.allow_delta_alone = true;
    const auto child = diskshift::open_image(image, alone);
    const diskshift::ImageInfo& info = child->info();
    CHECK(info.subformat == "differencing");
    REQUIRE(info.parent.has_value());
    CHECK(info.parent->hint == ".\\parent.vhdx");
    CHECK(info.parent->id == "aabbccdd-1122-3344-5566-778899aabbcc");
    CHECK(info.details.at("parent_locator").at("absolute_win32_path") == "C:\\vms\\parent.vhdx");

    using K = diskshift::ExtentKind;
    diskshift::ExtentList expected;
    for (const auto& [length, kind] : std::vector<std::pair<std::uint64_t, K>>{
             {MiB, K::unallocated}, {MiB, K::zero}, {512, K::data}, {512, K::unallocated}, {512, K::data},
             {797 * 512, K::unallocated}, {8 * 512, K::data}, {1239 * 512, K::unallocated}, {512, K::data},
             {MiB, K::zero}, {MiB, K::zero}, {MiB, K::unallocated}, {2 * MiB, K::zero}}) {
        expected.append(length, kind);
    }
    CHECK(child->extents() == expected);

    std::vector<std::byte> block(MiB);
    child->read(block, 2 * MiB);
    for (const std::uint64_t sector : {0ULL, 1ULL, 2ULL, 799ULL, 800ULL, 807ULL, 808ULL, 2047ULL}) {
        INFO("sector ", sector);
        const bool present = sector == 0 || sector == 2 || (sector >= 800 && sector <= 807) || sector == 2047;
        const auto begin = static_cast<std::ptrdiff_t>(sector * 512);
        const std::vector<std::byte> got(block.begin() + begin, block.begin() + begin + 512);
        const auto source = written.begin() + static_cast<std::ptrdiff_t>(2 * MiB) + begin;
        CHECK(got == (present ? std::vector<std::byte>(source, source + 512) : std::vector<std::byte>(512)));
    }
}
