// `imgconv -O vhd` checked by the oracles: qemu-img compare against the source, qemu-img info and
// imginfo give the source's exact size, vhdiinfo accepts the file, the last sector is our footer,
// the file stays sparse, and our reader gives the source back. azure=on refuses sizes Azure
// rejects; a full disk leaves no file; an empty 127 GiB dynamic disk converts back to raw in well
// under 0.1 s.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fcntl.h>

#include <array>
#include <string>
#include <vector>

#include <diskshift/io.hpp>

#include "formats/vhd/vhd_layout.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/tool_json.hpp"

using namespace dstest;
namespace vhd = diskshift::formats::vhd;

namespace {

/// A sparse raw disk of `size` bytes with random data written at each of `pieces` (offset, length).
std::filesystem::path make_source(const TempDir& dir, const std::string& name, std::uint64_t size,
                                  const std::vector<ByteRange>& pieces)
{
    const std::filesystem::path path = dir / name;
    const Fd fd = open_file(path, O_RDWR | O_CREAT | O_TRUNC);
    REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
    RandomBytes random(size);
    for (const ByteRange& piece : pieces) {
        write_at(fd.get(), random.make(piece.length), piece.offset);
    }
    return path;
}

ProcessResult imgconv(const std::filesystem::path& source, const std::filesystem::path& destination,
                      const std::string& options)
{
    return run_tool("imgconv", {"-f", "raw", "-O", "vhd", "-o", options, source.string(), destination.string()});
}

/// "(N bytes)" in vhdiinfo's "Media size" line.
std::string vhdiinfo_media_size(const std::filesystem::path& file)
{
    const ProcessResult run = run_program("vhdiinfo", {file.string()});
    const std::size_t line = run.out.find("Media size");
    REQUIRE_MESSAGE(line != std::string::npos, run.out);
    const std::size_t open = run.out.find('(', line);
    const std::size_t close = run.out.find(')', open);
    return run.out.substr(open, close - open + 1);
}

/// Every oracle on a VHD written from `source` with `subformat`.
void check_written(const TempDir& dir, const std::filesystem::path& source, const std::string& subformat)
{
    const std::uint64_t size = std::filesystem::file_size(source);
    const std::filesystem::path written = dir / (source.stem().string() + "-" + subformat + ".vhd");
    INFO("subformat=", subformat, ", ", size, " bytes");
    const ProcessResult convert = imgconv(source, written, "subformat=" + subformat);
    INFO(convert.describe());
    REQUIRE(convert.exit_code() == 0);

    run_checked({qemu_img().string(), "compare", "-f", "raw", "-F", "vpc", source.string(), written.string()});
    CHECK(qemu_virtual_size(written, "vpc") == size);
    const nlohmann::json info = imginfo_json(written);
    CHECK(info.at("virtual_size") == size);
    CHECK(info.at("subformat") == subformat);
    CHECK(info.at("warnings").empty());
    CHECK(vhdiinfo_media_size(written) == fmt::format("({} bytes)", size));
    // Our reader gives the source back (compared by qemu-img, which skips the holes quickly).
    const std::filesystem::path back = dir / "back.raw";
    run_checked({tool_path("imgconv").string(), "-O", "raw", written.string(), back.string()});
    run_checked({qemu_img().string(), "compare", "-f", "raw", "-F", "raw", source.string(), back.string()});

    std::array<std::byte, vhd::footer_size> last_sector{};
    const diskshift::FileSource file(written);
    file.read_at(last_sector, file.size() - vhd::footer_size);
    const vhd::Footer footer = vhd::parse_footer(last_sector);
    CHECK(vhd::has_footer_cookie(last_sector));
    CHECK(footer.checksum == footer.computed_checksum);
    CHECK(footer.current_size == size);
    CHECK(vhd::fourcc_text(footer.creator_app) == "win ");
    // Sparse: the file holds the source's data and a little metadata, never its zeros.
    CHECK(allocated_bytes(written) <= allocated_bytes(source) + 64 * KiB);
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("vhd writer: fixed and dynamic VHDs of unaligned and over-4-GiB sparse disks pass every oracle")
{
    const TempDir dir;
    require_hole_support(dir.path());
    // Not a multiple of the 2 MiB block: data in the first and last sectors, a 3 MiB run, and a
    // piece that does not fill its sectors.
    const std::uint64_t unaligned = 5 * MiB + 1536;
    const auto small = make_source(dir, "unaligned.raw", unaligned,
                                   {{0, 512}, {64 * KiB, 3 * MiB}, {4 * MiB + 100, 1000}, {unaligned - 512, 512}});
    // Over 4 GiB (offsets past 32 bits), mostly holes: data at the start, across 4 GiB, at the end.
    const std::uint64_t large = 4 * GiB + 3 * MiB + 512;
    const auto big = make_source(dir, "large.raw", large, {{0, 4 * KiB}, {4 * GiB - 4 * KiB, 8 * KiB}, {large - 512, 512}});
    for (const std::string subformat : {"fixed", "dynamic"}) {
        check_written(dir, small, subformat);
        check_written(dir, big, subformat);
    }
}

TEST_CASE("vhd writer: qemu-img check does not support the vpc format, so it cannot check our output")
{
    const TempDir dir;
    const auto source = make_source(dir, "disk.raw", 4 * MiB, {{0, 4 * KiB}});
    REQUIRE(imgconv(source, dir / "disk.vhd", "subformat=dynamic").exit_code() == 0);
    const ProcessResult check = run_process({qemu_img().string(), "check", "-f", "vpc", (dir / "disk.vhd").string()});
    INFO(check.describe());
    CHECK(check.exit_code() == 63);
    CHECK(contains(check.err, "This image format does not support checks"));
}

TEST_CASE("vhd writer: azure=on refuses a size that is not whole MiB and writes a fixed whole-MiB disk")
{
    const TempDir dir;
    const auto odd = make_source(dir, "odd.raw", 25 * MiB + 1536, {{0, 4 * KiB}});
    const ProcessResult refused = imgconv(odd, dir / "odd.vhd", "subformat=fixed,azure=on");
    INFO(refused.describe());
    CHECK(refused.exit_code() == 1);
    CHECK(contains(refused.err, "Azure needs a virtual size that is a whole number of MiB, and the disk is 26215936 bytes"));
    CHECK(contains(refused.err, "25 MiB (26214400 bytes) and 26 MiB (27262976 bytes)"));
    CHECK(dir.names() == std::vector<std::string>{"odd.raw"});

    const ProcessResult dynamic = imgconv(odd, dir / "odd.vhd", "azure=on");
    CHECK(dynamic.exit_code() == 1);
    CHECK(contains(dynamic.err, "Azure takes fixed VHDs only"));

    const auto whole = make_source(dir, "whole.raw", 20 * MiB, {{0, 4 * KiB}, {20 * MiB - 4 * KiB, 4 * KiB}});
    const ProcessResult accepted = imgconv(whole, dir / "whole.vhd", "subformat=fixed,azure=on");
    INFO(accepted.describe());
    REQUIRE(accepted.exit_code() == 0);
    CHECK(std::filesystem::file_size(dir / "whole.vhd") == 20 * MiB + 512);
    run_checked({qemu_img().string(), "compare", "-f", "raw", "-F", "vpc", whole.string(), (dir / "whole.vhd").string()});
    CHECK(vhdiinfo_media_size(dir / "whole.vhd") == "(20971520 bytes)");
}

TEST_CASE("vhd writer: a size that is not whole sectors is refused, and nothing is written")
{
    const TempDir dir;
    const auto odd = make_source(dir, "odd.raw", MiB + 100, {{0, 100}});
    const ProcessResult run = imgconv(odd, dir / "odd.vhd", "subformat=dynamic");
    INFO(run.describe());
    CHECK(run.exit_code() == 1);
    CHECK(contains(run.err, "not a whole number of 512-byte sectors"));
    CHECK(dir.names() == std::vector<std::string>{"odd.raw"});
}

TEST_CASE("vhd writer: a full disk (ulimit -f) fails with a clear message and leaves no file")
{
    const TempDir dir;
    const auto source = make_source(dir, "data.raw", 16 * MiB, {{0, 8 * MiB}});
    for (const std::string subformat : {"fixed", "dynamic"}) {
        INFO("subformat=", subformat);
        // bash counts ulimit -f in KiB: 4 MiB, half the data.
        const ProcessResult run = run_process({required_program("bash"), "-c",
                                               "ulimit -f 4096; exec \"$0\" -f raw -O vhd -o subformat=" + subformat +
                                                   " \"$1\" \"$2\"",
                                               tool_path("imgconv").string(), source.string(), (dir / "out.vhd").string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, "out.vhd: write of"));
        CHECK(contains(run.err, "File too large"));
        CHECK(dir.names() == std::vector<std::string>{"data.raw"});
    }
}

TEST_CASE("vhd writer: an empty 127 GiB dynamic VHD is small and converts back to raw in well under 0.1 s")
{
    const TempDir dir;
    const std::uint64_t size = 127 * GiB;
    const auto empty = make_source(dir, "empty.raw", size, {});
    REQUIRE(imgconv(empty, dir / "empty.vhd", "subformat=dynamic").exit_code() == 0);
    CHECK(std::filesystem::file_size(dir / "empty.vhd") < 512 * KiB);
    CHECK(qemu_virtual_size(dir / "empty.vhd", "vpc") == size);

    const ProcessResult back =
        run_tool("imgconv", {"--json", "-O", "raw", (dir / "empty.vhd").string(), (dir / "back.raw").string()});
    INFO(back.describe());
    REQUIRE(back.exit_code() == 0);
    CHECK(nlohmann::json::parse(back.out).at("seconds").get<double>() < 0.1);
    CHECK(std::filesystem::file_size(dir / "back.raw") == size);
    CHECK(allocated_bytes(dir / "back.raw") == 0);
}

}  // TEST_SUITE
