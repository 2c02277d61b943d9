// Damaged VHDX files: each fails with exit status 1 and a message naming the file and the
// structure, within a second and 64 MiB, and is never modified. Two damaged checksums where the
// structures still make sense are read with a warning instead (qemu refuses them).
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/endian.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vhdx_log_writer.hpp"


using namespace dstest;

namespace {

constexpr const char* file_parameters = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B";
constexpr const char* virtual_disk_size = "2FA54224-CD1B-4876-B211-5DBED83BF4B8";

/// An 8 MiB dynamic qemu VHDX with 1 MiB blocks and data in blocks 0 and 3.
std::filesystem::path make_base(const TempDir& dir)
{
    const std::filesystem::path path = dir / "base.vhdx";
    run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o", "subformat=dynamic,block_size=1048576",
                          path.string(), "8M"});
    run_program("qemu-io", {"-f", "vhdx", "-c", "write -q -P 0x33 0 1M", "-c", "write -q -P 0x44 3M 64k",
                         path.string()});
    return path;
}

struct BadCase {
    const char* name;
    std::function<void(const std::filesystem::path&)> damage;
    const char* expected;  ///< part of the message naming the structure
};

void add_unknown_required_region(const std::filesystem::path& path)
{
    for (const std::uint64_t table : {192 * KiB, 256 * KiB}) {
        std::vector<std::byte> entry(32, std::byte{0x5c});  // an unknown GUID
        for (int i = 16; i < 32; ++i) {
            entry[i] = std::byte{0};
        }
        entry[16 + 2] = std::byte{0x60};  // FileOffset 6 MiB
        entry[24 + 2] = std::byte{0x10};  // Length 1 MiB
        entry[28] = std::byte{1};         // Required
        patch_file(path, table + 16 + 32 * 2, entry);
        patch_le32(path, table + 8, 3);
        reseal_checksum(path, table, 64 * KiB);
    }
}

/// Moves the BAT region onto the log in both region tables.
void move_bat_onto_log(const std::filesystem::path& path)
{
    const VhdxRegions regions = read_vhdx_regions(path);
    const std::vector<std::byte> file = read_whole_file(path);
    for (const std::uint64_t table : {192 * KiB, 256 * KiB}) {
        for (std::uint64_t entry = table + 16; entry < table + 16 + 32 * 2; entry += 32) {
            if (diskshift::load_le<std::uint64_t>(file.data() + entry + 16) == regions.bat_offset) {
                patch_le64(path, entry + 16, regions.log_offset);
            }
        }
        reseal_checksum(path, table, 64 * KiB);
    }
}

void set_bat_entry(const std::filesystem::path& path, std::uint64_t index, std::uint64_t value)
{
    patch_le64(path, read_vhdx_regions(path).bat_offset + 8 * index, value);
}

std::vector<BadCase> bad_cases()
{
    return {
        {"truncated in the header area", [](const auto& p) { std::filesystem::resize_file(p, 300 * KiB); },
         "header area"},
        {"truncated before its last data block",
         [](const auto& p) { std::filesystem::resize_file(p, std::filesystem::file_size(p) - 512 * KiB); },
         "BAT entry 3 points to"},
        {"a BAT entry past the end", [](const auto& p) { set_bat_entry(p, 0, (1ULL << 40) | 6); },
         "BAT entry 0 points to"},
        {"a BAT entry overlapping the metadata",
         [](const auto& p) { set_bat_entry(p, 0, read_vhdx_regions(p).metadata_offset | 6); },
         "overlaps the metadata region"},
        {"the BAT region over the log", move_bat_onto_log, "BAT region [0x100000, 0x200000) overlaps the log"},
        {"a reserved block state", [](const auto& p) { set_bat_entry(p, 1, 4); }, "BAT entry 1 has the state 4"},
        {"a block size that is no power of two",
         [](const auto& p) { patch_le32(p, vhdx_metadata_item_offset(p, file_parameters), 3 * MiB); }, "block size"},
        {"a block size below the range",
         [](const auto& p) { patch_le32(p, vhdx_metadata_item_offset(p, file_parameters), 512 * KiB); }, "block size"},
        {"a block size above the range",
         [](const auto& p) { patch_le32(p, vhdx_metadata_item_offset(p, file_parameters), 512 * MiB); }, "block size"},
        {"an unknown required region", add_unknown_required_region, "unknown region"},
        {"a huge virtual size",
         [](const auto& p) { patch_le64(p, vhdx_metadata_item_offset(p, virtual_disk_size), 1ULL << 60); },
         "virtual disk size"},
        {"a 64 TiB virtual size the BAT cannot hold",
         [](const auto& p) { patch_le64(p, vhdx_metadata_item_offset(p, virtual_disk_size), 1ULL << 46); },
         "BAT region holds"},
        {"a log entry with a bad checksum",
         [](const auto& p) {
             write_vhdx_log(p, {{{{read_vhdx_regions(p).bat_offset + 8 * MiB, {}, 4096}}, 0, true}});
         },
         "bad CRC-32C checksum"},
    };
}

}  // namespace

TEST_CASE("vhdx: damaged files fail fast with a message naming the file and the structure")
{
    const TempDir dir;
    const std::filesystem::path base = make_base(dir);
    for (const BadCase& c : bad_cases()) {
        INFO("case: ", c.name);
        const std::filesystem::path bad = dir / "bad.vhdx";
        std::filesystem::copy_file(base, bad, std::filesystem::copy_options::overwrite_existing);
        c.damage(bad);
        const std::vector<std::byte> before = read_whole_file(bad);
        const ProcessResult run = run_tool("imgconv", {"-O", "raw", bad.string(), (dir / "out.raw").string()});
        INFO(run.err);
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, bad.string()));
        CHECK(contains(run.err, c.expected));
        CHECK(run.seconds < 1.0);
        CHECK(run.max_rss_bytes < hostile_input_memory_limit());
        CHECK(read_whole_file(bad) == before);
    }
}

TEST_CASE("vhdx: both header checksums or both region table checksums damaged read with a warning")
{
    const TempDir dir;
    const std::filesystem::path base = make_base(dir);
    const std::filesystem::path expected = dir / "expected.raw";
    run_program("qemu-img", {"convert", "-f", "vhdx", "-O", "raw", base.string(), expected.string()});
    const std::vector<std::pair<std::vector<std::uint64_t>, const char*>> damages = {
        {{64 * KiB + 4, 128 * KiB + 4}, "both headers fail their CRC-32C checksum"},
        {{192 * KiB + 4, 256 * KiB + 4}, "both region tables fail their CRC-32C checksum"},
    };
    for (const auto& [checksums, warning] : damages) {
        INFO(warning);
        const std::filesystem::path bad = dir / "bad.vhdx";
        std::filesystem::copy_file(base, bad, std::filesystem::copy_options::overwrite_existing);
        for (const std::uint64_t at : checksums) {
            patch_le32(bad, at, 0x12345678);
        }
        const ProcessResult info = run_tool("imginfo", {bad.string()});
        INFO(info.describe());
        CHECK(info.exit_code() == 0);
        CHECK(contains(info.out + info.err, warning));
        const ProcessResult convert = run_tool("imgconv", {"-O", "raw", bad.string(), (dir / "out.raw").string()});
        CHECK(convert.exit_code() == 0);
        CHECK(file_difference(expected, dir / "out.raw") == "");
    }
}
