// VHDX pending logs (MS-VHDX 2.3): a log our test writer appends to a qemu-made image reads as
// replayed, exactly as qemu reads a copy after replaying it (`qemu-img check -r all`), and the
// file itself is never changed. A bad entry checksum ends the sequence; a sequence whose first
// entry is damaged cannot be replayed and is refused.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/endian.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vhdx_log_writer.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t block_size = MiB;

struct LoggedImage {
    std::filesystem::path path;
    std::vector<VhdxLogEntry> entries;
    std::vector<std::byte> new_block_pages;  ///< what the log writes into the new block 5
};

std::vector<std::byte> read_bytes(const std::filesystem::path& path, std::uint64_t offset, std::size_t length)
{
    const std::vector<std::byte> whole = read_whole_file(path);
    return {whole.begin() + static_cast<std::ptrdiff_t>(offset),
            whole.begin() + static_cast<std::ptrdiff_t>(offset + length)};
}

/// An 8 MiB dynamic VHDX with 1 MiB blocks (data in blocks 0 and 2) and a two-entry log:
/// entry 1 rewrites the BAT page (block 2 becomes ZERO, block 5 FULLY_PRESENT in the
/// file's new last MiB); entry 2 writes two pages of block 5, zeroes 8 KiB of block 0, and zeroes
/// 64 KiB of block 0 with a page then written inside the zeroed range.
/// With `bad_entry`, that entry is written with a wrong checksum.
LoggedImage make_logged_image(const TempDir& dir, std::optional<std::size_t> bad_entry = std::nullopt)
{
    LoggedImage out{dir / "logged.vhdx", {}, {}};
    const std::filesystem::path random = dir / "random.bin";
    write_whole_file(random, random_bytes(MiB, 4));
    run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o", "subformat=dynamic,block_size=1048576",
                          out.path.string(), "8M"});
    run_program("qemu-io", {"-f", "vhdx", "-c", "write -q -s " + random.string() + " 0 1M", "-c",
                         "write -q -P 0x11 2M 1M", out.path.string()});
    const VhdxRegions regions = read_vhdx_regions(out.path);
    const std::uint64_t file_size = std::filesystem::file_size(out.path);
    REQUIRE(file_size % MiB == 0);
    // Like qemu, the writer extends the file for the new block before logging the BAT change.
    std::filesystem::resize_file(out.path, file_size + MiB);

    std::vector<std::byte> bat = read_bytes(out.path, regions.bat_offset, 4096);
    const std::uint64_t block0 = diskshift::load_le<std::uint64_t>(bat.data()) & ~(MiB - 1);
    REQUIRE((diskshift::load_le<std::uint64_t>(bat.data()) & 7) == 6);
    diskshift::store_le<std::uint64_t>(bat.data() + 8 * 2, 2);              // block 2: ZERO
    diskshift::store_le<std::uint64_t>(bat.data() + 8 * 5, file_size | 6);  // block 5: FULLY_PRESENT
    out.new_block_pages = random_bytes(8192, 5);
    const std::vector<std::byte> page0(out.new_block_pages.begin(), out.new_block_pages.begin() + 4096);
    const std::vector<std::byte> page1(out.new_block_pages.begin() + 4096, out.new_block_pages.end());
    out.entries = {
        {{{regions.bat_offset, bat, 0}}, 0, false},
        {{{file_size, page0, 0},
          {file_size + 4096, page1, 0},
          {block0 + 64 * KiB, {}, 8192},
          {block0 + 128 * KiB, {}, 64 * KiB},
          {block0 + 136 * KiB, random_bytes(4096, 6), 0}},
         0,
         false},
    };
    if (bad_entry) {
        out.entries[*bad_entry].bad_checksum = true;
    }
    write_vhdx_log(out.path, out.entries);
    return out;
}

/// What qemu reads from a copy of `image` once it has replayed the log into it.
std::filesystem::path qemu_replayed_raw(const TempDir& dir, const std::filesystem::path& image)
{
    const std::filesystem::path copy = dir / "qemu-copy.vhdx";
    std::filesystem::copy_file(image, copy, std::filesystem::copy_options::overwrite_existing);
    run_program("qemu-img", {"check", "-q", "-r", "all", "-f", "vhdx", copy.string()});
    const std::filesystem::path raw = dir / "qemu.raw";
    run_program("qemu-img", {"convert", "-f", "vhdx", "-O", "raw", copy.string(), raw.string()});
    return raw;
}

std::filesystem::path our_raw(const TempDir& dir, const std::filesystem::path& image)
{
    const std::filesystem::path raw = dir / "ours.raw";
    const ProcessResult result = run_tool("imgconv", {"-O", "raw", image.string(), raw.string()});
    INFO(result.describe());
    REQUIRE(result.exit_code() == 0);
    return raw;
}

}  // namespace

TEST_CASE("vhdx: a pending log is replayed in memory, as qemu replays it, and the file stays unchanged")
{
    const TempDir dir;
    const LoggedImage image = make_logged_image(dir);
    const std::vector<std::byte> before = read_whole_file(image.path);

    const ProcessResult info = run_tool("imginfo", {image.path.string()});
    INFO(info.describe());
    CHECK(info.exit_code() == 0);
    CHECK(contains(info.out + info.err, "pending log (2 entries)"));
    const std::filesystem::path ours = our_raw(dir, image.path);
    CHECK(read_whole_file(image.path) == before);

    CHECK(file_difference(qemu_replayed_raw(dir, image.path), ours) == "");
    // The replay matters: block 5 holds the logged pages, block 2 (data before the log) reads zero.
    CHECK(read_bytes(ours, 5 * block_size, 8192) == image.new_block_pages);
    CHECK(read_bytes(ours, 2 * block_size, 4096) == std::vector<std::byte>(4096));
}

TEST_CASE("vhdx: a log entry with a bad checksum ends the sequence before it")
{
    const TempDir dir;
    const LoggedImage image = make_logged_image(dir, 1);
    const std::vector<std::byte> before = read_whole_file(image.path);

    const std::filesystem::path ours = our_raw(dir, image.path);
    CHECK(read_whole_file(image.path) == before);
    CHECK(file_difference(qemu_replayed_raw(dir, image.path), ours) == "");
    // Only entry 1 counts: block 5 is allocated but its pages were never written.
    CHECK(read_bytes(ours, 2 * block_size, 4096) == std::vector<std::byte>(4096));
    // Block 5 lies in the zeroed space the test appended.
    CHECK(read_bytes(ours, 5 * block_size, 8192) == std::vector<std::byte>(8192));
}

TEST_CASE("vhdx: a log whose first entry has a bad checksum cannot be replayed and is refused")
{
    const TempDir dir;
    const LoggedImage image = make_logged_image(dir, 0);
    const std::vector<std::byte> before = read_whole_file(image.path);

    const ProcessResult result = run_tool("imgconv", {"-O", "raw", image.path.string(), (dir / "out.raw").string()});
    INFO(result.describe());
    CHECK(result.exit_code() == 1);
    CHECK(contains(result.err, image.path.string()));
    CHECK(contains(result.err, "log cannot be replayed: its entry at log offset 0x0 has a bad CRC-32C checksum"));
    CHECK(read_whole_file(image.path) == before);
}

TEST_CASE("vhdx: a log entry's LastFileOffset grows the replayed file, with zeros, in memory only")
{
    const TempDir dir;
    LoggedImage image = make_logged_image(dir);
    const std::uint64_t grown = std::filesystem::file_size(image.path);
    std::filesystem::resize_file(image.path, grown - block_size);  // the new block was never written
    for (VhdxLogEntry& entry : image.entries) {
        entry.last_file_offset = grown;
    }
    write_vhdx_log(image.path, image.entries);
    const std::vector<std::byte> before = read_whole_file(image.path);

    const std::filesystem::path ours = our_raw(dir, image.path);
    CHECK(read_whole_file(image.path) == before);
    CHECK(read_bytes(ours, 5 * block_size, 8192) == image.new_block_pages);
    CHECK(read_bytes(ours, 5 * block_size + 8192, block_size - 8192) == std::vector<std::byte>(block_size - 8192));
}
