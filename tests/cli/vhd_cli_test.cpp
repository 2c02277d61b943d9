// VHD through the tools: qemu-img's fixed and dynamic VHDs (force_size on and off) written to with
// qemu-io convert to the same raw bytes as `qemu-img convert`; a differencing disk is described and
// refused alone; damaged files fail fast, in little memory, and are never modified.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/tool_json.hpp"
#include "support/vhd_builder.hpp"

using namespace dstest;

namespace {

/// qemu-io writes to a vpc file: random data from `random_file`, explicit zeros, pieces that cross
/// a 2 MiB block boundary or do not fill a sector, and the disk's last sector.
void write_patterns(const std::filesystem::path& file, const std::filesystem::path& random_file, std::uint64_t size)
{
    const std::string r = random_file.string();
    const std::vector<std::string> commands = {
        "write -s " + r + " 0 512",                                    // first sector
        "write -s " + r + " 65536 1048576",                            // 1 MiB inside block 0
        "write -s " + r + " " + std::to_string(2 * MiB - 4 * KiB) + " 8192",  // across blocks 0 and 1
        "write -z " + std::to_string(2 * MiB) + " 2048",               // zeros over random data
        "write -z " + std::to_string(4 * MiB + 64 * KiB) + " 65536",   // zeros into a fresh block
        "write -s " + r + " " + std::to_string(5 * MiB + 100) + " 1000",  // part of two sectors
        "write -s " + r + " " + std::to_string(size - 512) + " 512",   // last sector
    };
    std::vector<std::string> argv = {required_program("qemu-io"), "-f", "vpc"};
    for (const std::string& command : commands) {
        argv.insert(argv.end(), {"-c", command});
    }
    argv.push_back(file.string());
    run_checked(argv);
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("vhd acceptance: qemu-img's fixed and dynamic VHDs convert to the bytes qemu-img converts them to")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(2 * MiB, 4));
    // Not a multiple of the 2 MiB block size, nor of a CHS cylinder.
    const std::uint64_t requested = 7 * MiB + 1536;
    for (const std::string subformat : {"dynamic", "fixed"}) {
        for (const std::string force_size : {"off", "on"}) {
            INFO("subformat=", subformat, ", force_size=", force_size);
            const std::filesystem::path vhd = dir / (subformat + "-" + force_size + ".vhd");
            run_checked({required_program("qemu-img"), "create", "-q", "-f", "vpc", "-o",
                     "subformat=" + subformat + ",force_size=" + force_size, vhd.string(), std::to_string(requested)});
            const std::uint64_t size = qemu_virtual_size(vhd, "vpc");
            write_patterns(vhd, dir / "random", size);
            const std::vector<std::byte> before = read_whole_file(vhd);

            // qemu must be told the format: it probes a fixed VHD as raw. diskshift probes.
            run_checked({required_program("qemu-img"), "convert", "-f", "vpc", "-O", "raw", vhd.string(), (dir / "qemu.raw").string()});
            const ProcessResult ours = run_tool("imgconv", {"-O", "raw", vhd.string(), (dir / "ours.raw").string()});
            INFO(ours.describe());
            REQUIRE(ours.exit_code() == 0);
            CHECK(file_difference(dir / "qemu.raw", dir / "ours.raw") == "");

            const nlohmann::json info = imginfo_json(vhd);
            CHECK(info.at("format") == "vhd");
            CHECK(info.at("subformat") == subformat);
            CHECK(info.at("virtual_size") == size);
            CHECK(info.at("details").at("creator_application") ==
                  (force_size == "on" ? "'qem2' (qemu (force_size))" : "'qemu' (qemu)"));
            CHECK(info.at("warnings").empty());
            CHECK(read_whole_file(vhd) == before);
        }
    }
}

TEST_CASE("vhd acceptance: a differencing disk shows its parent and locators, and is refused alone")
{
    const TempDir dir;
    // qemu-img cannot make VHD differencing disks; the child is built from the spec's tables.
    const ProcessResult qemu_child =
        run_process({required_program("qemu-img"), "create", "-f", "vpc", "-b", "base.vhd", "-F", "vpc", (dir / "q.vhd").string()});
    CHECK_MESSAGE(qemu_child.exit_code() != 0, "qemu-img now writes VHD differencing disks: test with its output too");
    CHECK(contains(qemu_child.err, "not supported"));

    vhd::SparseVhd child;
    child.footer.disk_type = 4;
    child.footer.current_size = 4 * MiB;
    child.block_size = 2 * MiB;
    child.parent_id[0] = std::byte{0xAB};
    child.parent_name = u"D:\\disks\\base.vhd";
    child.locators = {{"W2ku", vhd::utf16(u"D:\\disks\\base.vhd", false)}, {"W2ru", vhd::utf16(u".\\base.vhd", false)}};
    child.blocks[1] = {{std::byte{0xF0}}, random_bytes(4096, 9)};
    write_whole_file(dir / "child.vhd", child.build());

    const nlohmann::json info = imginfo_json(dir / "child.vhd");
    CHECK(info.at("subformat") == "differencing");
    CHECK(info.at("parent").at("hint") == "./base.vhd");
    CHECK(info.at("parent").at("id") == "ab000000-0000-0000-0000-000000000000");
    const nlohmann::json& locators = info.at("details").at("parent_locators");
    REQUIRE(locators.size() == 2);
    CHECK(locators[0].at("path") == "D:\\disks\\base.vhd");
    CHECK(locators[1].at("path") == ".\\base.vhd");

    const ProcessResult convert = run_tool("imgconv", {"-O", "raw", (dir / "child.vhd").string(), (dir / "out.raw").string()});
    CHECK(convert.exit_code() == 1);
    CHECK(contains(convert.err, "child.vhd"));
    CHECK(contains(convert.err, "\"./base.vhd\""));
    CHECK(contains(convert.err, "ab000000-0000-0000-0000-000000000000"));
    CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
}

TEST_CASE("vhd acceptance: damaged files fail in under a second and 64 MiB, naming file and structure")
{
    const TempDir dir;
    vhd::SparseVhd good;
    good.footer.disk_type = 3;
    good.footer.current_size = 3 * MiB;
    good.block_size = 1 * MiB;
    good.blocks[0] = {{}, random_bytes(4096, 3)};
    good.blocks[2] = {{}, random_bytes(4096, 5)};

    struct Damage {
        const char* name;
        std::function<void(std::vector<std::byte>&)> apply;
        const char* message;
    };
    const Damage damages[] = {
        {"bat-past-end.vhd", [](auto& f) { vhd::patch_be32(f, vhd::bat_offset + 8, 0x00FFFFFF); },
         "BAT entry 2 points past the end of the file"},
        {"bat-over-header.vhd", [](auto& f) { vhd::patch_be32(f, vhd::bat_offset, 2); },
         "BAT entry 0 puts a block at offset 0x400 over the dynamic header"},
        {"block-size.vhd", [](auto& f) { vhd::patch_be32(f, vhd::header_offset + 32, 3 * 1024 * 1024); },
         "block size 3145728 is not a power of two"},
        {"huge.vhd",  // current_size in both footers
         [](auto& f) {
             vhd::patch_be64(f, 48, 1ULL << 60);
             vhd::patch_be64(f, f.size() - 512 + 48, 1ULL << 60);
         },
         "exceeds the 2040 GiB"},
        {"truncated.vhd", [](auto& f) { f.erase(f.end() - 1536, f.end()); }, "BAT entry 0 points past the end of the file"},
    };
    for (const Damage& d : damages) {
        INFO(d.name);
        std::vector<std::byte> bytes = good.build();
        d.apply(bytes);
        const std::filesystem::path file = dir / d.name;
        write_whole_file(file, bytes);
        const ProcessResult run = run_tool("imginfo", {file.string()});
        INFO(run.describe());
        CHECK(run.seconds < 1.0);
        CHECK(run.max_rss_bytes < hostile_input_memory_limit());
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, file.string() + ": "));
        CHECK(contains(run.err, d.message));
        CHECK(run_tool("imgconv", {"-O", "raw", file.string(), (dir / "out.raw").string()}).exit_code() == 1);
        CHECK(read_whole_file(file) == bytes);
    }
}

TEST_CASE("vhd acceptance: a bad checksum is a warning imginfo shows, and the disk still converts")
{
    const TempDir dir;
    vhd::SparseVhd disk;
    disk.footer.disk_type = 3;
    disk.footer.current_size = 2 * MiB;
    disk.footer.bad_checksum = true;
    disk.blocks[0] = {{}, random_bytes(8192, 8)};
    const std::vector<std::byte> bytes = disk.build();
    write_whole_file(dir / "bad.vhd", bytes);

    const ProcessResult info = run_tool("imginfo", {(dir / "bad.vhd").string()});
    INFO(info.describe());
    CHECK(info.exit_code() == 0);
    CHECK(contains(info.out, "warning: footer checksum is wrong"));
    CHECK(imginfo_json(dir / "bad.vhd").at("warnings").size() == 1);

    const ProcessResult convert = run_tool("imgconv", {"-O", "raw", (dir / "bad.vhd").string(), (dir / "out.raw").string()});
    INFO(convert.describe());
    REQUIRE(convert.exit_code() == 0);
    std::vector<std::byte> expected = random_bytes(8192, 8);
    expected.resize(2 * MiB);
    CHECK(read_whole_file(dir / "out.raw") == expected);
    CHECK(read_whole_file(dir / "bad.vhd") == bytes);
}

}  // TEST_SUITE
