// imgconv -O vmdk: the default subformat and its options from the command line, bad values refused
// with exit status 1 and no destination left behind, and a qemu-made stream file converted back.
#include <doctest/doctest.h>

#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/process.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/tool_json.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x7d3c;

struct Disk {
    TempDir dir;
    std::filesystem::path source = dir / "source.raw";
    std::filesystem::path destination = dir / "out.vmdk";

    Disk() { write_sparse_file(source, {48 * MiB + 512, {{0, 64 * KiB}, {40 * MiB, 8 * KiB}, {48 * MiB, 512}}}, seed); }
};

}  // namespace

TEST_SUITE("vmdk writer") {

TEST_CASE("imgconv -O vmdk: stream-optimized by default, monolithicSparse on request, both accepted by qemu-img")
{
    const Disk disk;
    for (const std::string options : {"", "subformat=monolithicSparse,adapter_type=buslogic"}) {
        CAPTURE(options);
        std::vector<std::string> args = {"-f", "raw", "-O", "vmdk"};
        if (!options.empty()) {
            args.insert(args.end(), {"-o", options});
        }
        args.insert(args.end(), {disk.source.string(), disk.destination.string()});
        const ProcessResult run = run_tool("imgconv", args);
        INFO(run.describe());
        REQUIRE(run.exit_code() == 0);
        const nlohmann::json info = qemu_info_json(disk.destination, "vmdk");
        CHECK(info.at("format-specific").at("data").at("create-type") ==
              (options.empty() ? "streamOptimized" : "monolithicSparse"));
        CHECK(info.at("virtual-size") == 50332160);
        run_program("qemu-img", {"compare", "-f", "raw", "-F", "vmdk", disk.source.string(),
                                 disk.destination.string()});
        const ProcessResult ours = run_tool("imginfo", {"--json", disk.destination.string()});
        CHECK(contains(ours.out, options.empty() ? "\"lsilogic\"" : "\"buslogic\""));
        std::filesystem::remove(disk.destination);
    }
}

TEST_CASE("imgconv -O vmdk: a bad option value exits with 1 naming the option and the allowed values")
{
    const Disk disk;
    for (const auto& [option, message] :
         std::vector<std::pair<std::string, std::string>>{{"adapter_type=virtio", "adapter_type=virtio is not one of"},
                                                          {"hwversion=abc", "hwversion=abc is not a whole number"},
                                                          {"subformat=vmfs", "subformat=vmfs is not one of"}}) {
        CAPTURE(option);
        const ProcessResult run = run_tool("imgconv", {"-f", "raw", "-O", "vmdk", "-o", option, disk.source.string(),
                                                       disk.destination.string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, message));
        CHECK_FALSE(std::filesystem::exists(disk.destination));
        CHECK(disk.dir.sink_temporaries().empty());
    }
}

TEST_CASE("imgconv -O vmdk: a size that is not whole sectors is refused, not rounded")
{
    const TempDir dir;
    write_sparse_file(dir / "odd.raw", {MiB + 100, {{0, 4 * KiB}}}, seed);
    const ProcessResult run =
        run_tool("imgconv", {"-f", "raw", "-O", "vmdk", (dir / "odd.raw").string(), (dir / "odd.vmdk").string()});
    INFO(run.describe());
    CHECK(run.exit_code() == 1);
    CHECK(contains(run.err, "1048676 bytes is not"));
    CHECK_FALSE(std::filesystem::exists(dir / "odd.vmdk"));
}

TEST_CASE("imgconv: our stream file converts back to the source's bytes, and a qemu-made one converts to ours")
{
    const Disk disk;
    REQUIRE(run_tool("imgconv", {"-f", "raw", "-O", "vmdk", disk.source.string(), disk.destination.string()})
                .exit_code() == 0);
    const std::filesystem::path back = disk.dir / "back.raw";
    run_program("qemu-img", {"convert", "-f", "vmdk", "-O", "raw", disk.destination.string(), back.string()});
    CHECK(file_difference(disk.source, back) == "");

    const std::filesystem::path qemu = disk.dir / "qemu.vmdk";
    run_program("qemu-img", {"convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized",
                             disk.source.string(), qemu.string()});
    const std::filesystem::path again = disk.dir / "again.vmdk";
    const ProcessResult run = run_tool("imgconv", {"-O", "vmdk", qemu.string(), again.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    run_program("qemu-img", {"check", again.string()});
    run_program("qemu-img", {"compare", "-f", "raw", "-F", "vmdk", disk.source.string(), again.string()});
}

}  // TEST_SUITE
