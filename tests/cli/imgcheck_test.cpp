// imgcheck through the command line: images written by qemu-img and by our writers check clean,
// and each kind of damage the tests inflict is named with its structure and file offset.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <diskshift/io.hpp>

#include "formats/ova/tar_index.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/ova_builder.hpp"
#include "support/imgcheck_run.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/vhdx_log_writer.hpp"
#include "support/vmware_stream.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t MiB_ = 1024 * 1024;

/// qemu-io writes a few pieces of random data (from `random`) into `file` read as `qemu_format`.
void qemu_write_pieces(const std::filesystem::path& file, const std::string& qemu_format,
                       const std::filesystem::path& random)
{
    const std::string r = random.string();
    run_program("qemu-io", {"-f", qemu_format, "-c", "write -s " + r + " 0 65536", "-c",
                            "write -s " + r + " 2097152 1048576", "-c", "write -s " + r + " 5242880 65536",
                            file.string()});
}

void require_clean(const std::filesystem::path& file, const std::vector<std::string>& extra = {})
{
    const CheckRun run = imgcheck(file, extra);
    INFO(file.filename().string(), "\n", run.text);
    CHECK(run.exit_code == 0);
    CHECK(run.report.at("clean") == true);
    CHECK(run.report.at("problems").empty());
}

/// A copy of `original` named `name`, to damage.
std::filesystem::path damaged_copy(const TempDir& dir, const std::filesystem::path& original, const std::string& name)
{
    const std::filesystem::path copy = dir / name;
    std::filesystem::copy_file(original, copy, std::filesystem::copy_options::overwrite_existing);
    return copy;
}

/// imgcheck must exit 1 and list a problem of `structure` at `offset`.
void require_problem(const std::filesystem::path& file, const std::string& structure, std::uint64_t offset,
                     const std::vector<std::string>& extra = {})
{
    const CheckRun run = imgcheck(file, extra);
    INFO(file.filename().string(), ": expected \"", structure, "\" at offset ", offset, "\n", run.report.dump(2));
    CHECK(run.exit_code == 1);
    CHECK(run.report.at("clean") == false);
    CHECK(has_problem(run.report, structure, offset));
}

std::uint32_t le32_at(const std::filesystem::path& file, std::uint64_t offset)
{
    return static_cast<std::uint32_t>(le64_at(file, offset) & 0xFFFFFFFFu);
}

/// qemu-img check, which must exit 0 (clean) or not (`clean` false).
void qemu_check_agrees(const std::filesystem::path& file, const std::string& qemu_format, bool clean)
{
    const ProcessResult run = run_process({qemu_img().string(), "check", "-f", qemu_format, file.string()});
    INFO(run.describe());
    CHECK((run.exit_code() == 0) == clean);
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("imgcheck: usage errors exit 2, an unreadable or unrecognised file exits 1, raw checks clean")
{
    const TempDir dir;
    CHECK(run_tool("imgcheck", {}).exit_code() == 2);
    CHECK(run_tool("imgcheck", {"--no-such-option", "x"}).exit_code() == 2);
    const ProcessResult missing = run_tool("imgcheck", {(dir / "missing.img").string()});
    CHECK(missing.exit_code() == 1);
    CHECK(missing.err.find("missing.img") != std::string::npos);

    write_whole_file(dir / "disk.raw", random_bytes(MiB_, 1));
    CHECK(run_tool("imgcheck", {(dir / "disk.raw").string()}).exit_code() == 1);  // raw is never guessed
    require_clean(dir / "disk.raw", {"-f", "raw"});
    const ProcessResult text = run_tool("imgcheck", {"-f", "raw", (dir / "disk.raw").string()});
    CHECK(text.exit_code() == 0);
    CHECK(text.out.find("no problems found") != std::string::npos);
}

TEST_CASE("imgcheck: VHDs from qemu-img and imgconv check clean")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(MiB_, 2));
    for (const std::string subformat : {"dynamic", "fixed"}) {
        const std::filesystem::path vhd = dir / ("qemu-" + subformat + ".vhd");
        run_program("qemu-img", {"create", "-q", "-f", "vpc", "-o", "subformat=" + subformat, vhd.string(), "64M"});
        qemu_write_pieces(vhd, "vpc", dir / "random");
        require_clean(vhd);

        const std::filesystem::path ours = dir / ("ours-" + subformat + ".vhd");
        run_checked({tool_path("imgconv").string(), "-O", "vhd", "-o",
                     "subformat=" + subformat, vhd.string(), ours.string()});
        require_clean(ours);
    }
}

TEST_CASE("imgcheck: VHD damage is named with its structure and offset")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(MiB_, 3));
    const std::filesystem::path good = dir / "good.vhd";
    run_program("qemu-img", {"create", "-q", "-f", "vpc", good.string(), "64M"});
    qemu_write_pieces(good, "vpc", dir / "random");
    require_clean(good);
    const std::uint64_t size = std::filesystem::file_size(good);
    const std::uint64_t footer = size - 512;
    const std::uint64_t bat = 0x600;  // qemu puts the BAT right after the dynamic header at 512
    const std::uint32_t block0 = be32_at(good, bat);
    REQUIRE(block0 != 0xFFFFFFFFu);

    SUBCASE("footer checksum")
    {
        const auto bad = damaged_copy(dir, good, "footer.vhd");
        patch_file(bad, footer + 200, {std::byte{0x55}});  // a reserved byte: only the checksum notices
        require_problem(bad, "footer", footer + 64);
    }
    SUBCASE("footer copy checksum")
    {
        const auto bad = damaged_copy(dir, good, "copy.vhd");
        patch_file(bad, 200, {std::byte{0x55}});
        require_problem(bad, "footer copy", 64);
    }
    SUBCASE("dynamic header checksum")
    {
        const auto bad = damaged_copy(dir, good, "header.vhd");
        patch_file(bad, 512 + 900, {std::byte{0x55}});
        require_problem(bad, "dynamic header", 512 + 36);
    }
    SUBCASE("BAT entry past the end of the file")
    {
        const auto bad = damaged_copy(dir, good, "past.vhd");
        patch_file(bad, bat + 4 * 5, be32_bytes(0x00F00000));
        require_problem(bad, "block of BAT entry 5", std::uint64_t{0x00F00000} * 512);
    }
    SUBCASE("two BAT entries sharing a block")
    {
        const auto bad = damaged_copy(dir, good, "shared.vhd");
        patch_file(bad, bat + 4 * 7, be32_bytes(block0));
        require_problem(bad, "block of BAT entry", std::uint64_t{block0} * 512);
        CHECK(imgcheck(bad).report.dump().find("overlaps block of BAT entry") != std::string::npos);
    }
    SUBCASE("a block over the BAT")
    {
        const auto bad = damaged_copy(dir, good, "over-bat.vhd");
        patch_file(bad, bat + 4 * 9, be32_bytes(bat / 512));
        require_problem(bad, "block of BAT entry 9", bat);
    }
    SUBCASE("truncated: no footer at the end")
    {
        const auto bad = damaged_copy(dir, good, "cut.vhd");
        std::filesystem::resize_file(bad, size - 512);
        require_problem(bad, "footer", size - 1024);
    }
}

TEST_CASE("imgcheck: VHDXs from qemu-img and imgconv check clean, and qemu-img check agrees")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(MiB_, 4));
    for (const std::string subformat : {"dynamic", "fixed"}) {
        const std::filesystem::path vhdx = dir / ("qemu-" + subformat + ".vhdx");
        run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o", "subformat=" + subformat, vhdx.string(), "64M"});
        qemu_write_pieces(vhdx, "vhdx", dir / "random");
        require_clean(vhdx);
        run_program("qemu-img", {"check", "-q", "-f", "vhdx", vhdx.string()});

        const std::filesystem::path ours = dir / ("ours-" + subformat + ".vhdx");
        run_checked({tool_path("imgconv").string(), "-O", "vhdx", "-o", "subformat=" + subformat, vhdx.string(),
                     ours.string()});
        require_clean(ours);
        run_program("qemu-img", {"check", "-q", "-f", "vhdx", ours.string()});
        CHECK(imgcheck(ours).report.at("state").at("log") == "clean (nothing to replay)");
    }
}

TEST_CASE("imgcheck: VHDX damage is named with its structure and offset; a pending log is a state")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(MiB_, 5));
    const std::filesystem::path good = dir / "good.vhdx";
    run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o", "block_size=1048576", good.string(), "64M"});
    qemu_write_pieces(good, "vhdx", dir / "random");
    require_clean(good);
    const VhdxRegions regions = read_vhdx_regions(good);
    const std::uint64_t block0 = le64_at(good, regions.bat_offset);
    REQUIRE((block0 & 7) == 6);  // FULLY_PRESENT

    SUBCASE("header checksum")
    {
        const auto bad = damaged_copy(dir, good, "header.vhdx");
        patch_file(bad, 64 * 1024 + 2000, {std::byte{0x55}});
        require_problem(bad, "header 1", 64 * 1024 + 4);
    }
    SUBCASE("header version, checksum valid")
    {
        const auto bad = damaged_copy(dir, good, "version.vhdx");
        patch_file(bad, 128 * 1024 + 66, {std::byte{2}, std::byte{0}});
        reseal_checksum(bad, 128 * 1024, 4096);
        require_problem(bad, "header 2", 128 * 1024 + 64);
    }
    SUBCASE("region table checksum")
    {
        const auto bad = damaged_copy(dir, good, "region.vhdx");
        patch_file(bad, 256 * 1024 + 3000, {std::byte{0x55}});
        require_problem(bad, "region table 2", 256 * 1024 + 4);
    }
    SUBCASE("BAT entry past the end of the file")
    {
        const auto bad = damaged_copy(dir, good, "past.vhdx");
        const std::uint64_t far = std::uint64_t{1} << 40;  // 1 TiB
        patch_le64(bad, regions.bat_offset + 8 * 3, far | 6);
        require_problem(bad, "payload block of BAT entry 3", far);
        qemu_check_agrees(bad, "vhdx", false);  // "BAT entry 3 start offset … points after end of file"
    }
    SUBCASE("two BAT entries sharing a block")
    {
        const auto bad = damaged_copy(dir, good, "shared.vhdx");
        patch_le64(bad, regions.bat_offset + 8 * 4, block0);
        require_problem(bad, "payload block of BAT entry", block0 & ~((std::uint64_t{1} << 20) - 1));
        CHECK(imgcheck(bad).report.dump().find("overlaps payload block of BAT entry 0") != std::string::npos);
        // qemu-img check 7.2 does not look for shared blocks: it finds no error here.
    }
    SUBCASE("a block over the metadata region")
    {
        const auto bad = damaged_copy(dir, good, "over-metadata.vhdx");
        patch_le64(bad, regions.bat_offset + 8 * 5, regions.metadata_offset | 6);
        require_problem(bad, "payload block of BAT entry 5", regions.metadata_offset);
    }
    SUBCASE("a pending log is reported as a state, not a problem")
    {
        const auto logged = damaged_copy(dir, good, "logged.vhdx");
        std::vector<std::byte> page(4096, std::byte{0x5a});
        write_vhdx_log(logged, {VhdxLogEntry{{VhdxLogDescriptor{regions.metadata_offset + 512 * 1024, page, 0}}}});
        const CheckRun run = imgcheck(logged);
        INFO(run.report.dump(2));
        CHECK(run.exit_code == 0);
        CHECK(run.report.at("state").at("log").get<std::string>().starts_with("pending replay: 1 entries"));
    }
    SUBCASE("a log that cannot be replayed")
    {
        const auto logged = damaged_copy(dir, good, "badlog.vhdx");
        std::vector<std::byte> page(4096, std::byte{0x5a});
        VhdxLogEntry entry{{VhdxLogDescriptor{regions.metadata_offset + 512 * 1024, page, 0}}};
        entry.bad_checksum = true;
        write_vhdx_log(logged, {entry});
        require_problem(logged, "log", regions.log_offset);
    }
}

TEST_CASE("imgcheck: VMDKs from qemu-img, imgconv and VMware's stream layout check clean")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(MiB_, 6));
    for (const std::string subformat :
         {"monolithicSparse", "streamOptimized", "twoGbMaxExtentSparse", "monolithicFlat", "twoGbMaxExtentFlat"}) {
        const std::filesystem::path vmdk = dir / ("qemu-" + subformat + ".vmdk");
        run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-o", "subformat=" + subformat, vmdk.string(), "64M"});
        qemu_write_pieces(vmdk, "vmdk", dir / "random");
        require_clean(vmdk);
        CHECK(imgcheck(vmdk).report.at("subformat") == subformat);
        if (subformat != "streamOptimized") {  // qemu opens stream files read-only: no check
            qemu_check_agrees(vmdk, "vmdk", true);
        }
    }
    const std::filesystem::path source = dir / "qemu-monolithicSparse.vmdk";
    for (const std::string subformat : {"streamOptimized", "monolithicSparse"}) {
        const std::filesystem::path ours = dir / ("ours-" + subformat + ".vmdk");
        run_checked({tool_path("imgconv").string(), "-O", "vmdk", "-o", "subformat=" + subformat, source.string(),
                     ours.string()});
        require_clean(ours);
    }
    run_checked({tool_path("imgconv").string(), "-O", "raw", source.string(), (dir / "disk.raw").string()});
    write_vmware_stream(dir / "disk.raw", dir / "vmware.vmdk");
    require_clean(dir / "vmware.vmdk");

    // An empty qemu stream file has no end-of-stream marker: a state, not a problem.
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized",
                             (dir / "empty.vmdk").string(), "64M"});
    const CheckRun empty = imgcheck(dir / "empty.vmdk");
    CHECK(empty.exit_code == 0);
    CHECK(empty.report.at("state").contains("end of stream"));
}

TEST_CASE("imgcheck: VMDK damage is named with its structure and offset")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(MiB_, 7));
    const std::filesystem::path good = dir / "good.vmdk";
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", good.string(), "64M"});
    qemu_write_pieces(good, "vmdk", dir / "random");
    require_clean(good);
    // Hosted sparse header (technote): rgdOffset at 48, gdOffset at 56, in sectors.
    const std::uint64_t rgd = le64_at(good, 48) * 512;
    const std::uint64_t gd = le64_at(good, 56) * 512;
    const std::uint64_t gt0 = std::uint64_t{le32_at(good, gd)} * 512;
    const std::uint64_t rgt0 = std::uint64_t{le32_at(good, rgd)} * 512;
    const std::uint32_t grain0 = le32_at(good, gt0);
    REQUIRE(grain0 > 1);

    SUBCASE("grain table entry past the end of the file")
    {
        const auto bad = damaged_copy(dir, good, "past.vmdk");
        patch_le32(bad, gt0 + 4 * 3, 0x00F00000);
        patch_le32(bad, rgt0 + 4 * 3, 0x00F00000);
        require_problem(bad, "grain 3", std::uint64_t{0x00F00000} * 512);
        qemu_check_agrees(bad, "vmdk", false);
    }
    SUBCASE("redundant grain directory differs from the primary")
    {
        const auto bad = damaged_copy(dir, good, "rgd.vmdk");
        patch_le32(bad, rgd + 4, 0);
        require_problem(bad, "redundant grain directory entry 1", rgd + 4);
    }
    SUBCASE("redundant grain table differs from the primary")
    {
        const auto bad = damaged_copy(dir, good, "rgt.vmdk");
        patch_le32(bad, rgt0 + 4 * 200, 0x1234);
        require_problem(bad, "redundant grain table of GD entry 0", rgt0 + 4 * 200);
    }
    SUBCASE("grain table over the grain directory")
    {
        const auto bad = damaged_copy(dir, good, "gt-over-gd.vmdk");
        patch_le32(bad, gd + 4, static_cast<std::uint32_t>(gd / 512));
        require_problem(bad, "grain table of GD entry 1", gd);
    }
    SUBCASE("two grains in one place")
    {
        const auto bad = damaged_copy(dir, good, "shared.vmdk");
        patch_le32(bad, gt0 + 4, grain0);
        patch_le32(bad, rgt0 + 4, grain0);
        require_problem(bad, "grain 1", std::uint64_t{grain0} * 512);
        CHECK(imgcheck(bad).report.dump().find("overlaps grain 0") != std::string::npos);
    }
}

TEST_CASE("imgcheck: stream-optimized VMDK damage: a broken grain marker, a missing end-of-stream marker")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(4 * MiB_, 8));
    const std::filesystem::path good = dir / "good.vmdk";
    run_checked({tool_path("imgconv").string(), "-f", "raw", "-O", "vmdk", (dir / "random").string(), good.string()});
    require_clean(good);
    REQUIRE(le64_at(good, 56) == ~std::uint64_t{0});  // GD_AT_END: VMware's layout with a footer
    const std::uint64_t first_marker = le64_at(good, 64) * 512;  // overHead
    const std::uint64_t size = std::filesystem::file_size(good);

    SUBCASE("grain marker with an impossible size")
    {
        const auto bad = damaged_copy(dir, good, "marker.vmdk");
        patch_le32(bad, first_marker + 8, 0x7FFFFFFF);
        require_problem(bad, "grain marker", first_marker + 8);
    }
    SUBCASE("grain marker with the wrong LBA")
    {
        const auto bad = damaged_copy(dir, good, "lba.vmdk");
        patch_le64(bad, first_marker, 128 * 5);
        require_problem(bad, "grain 0", first_marker);
    }
    SUBCASE("a damaged compressed grain: found by the read pass, which --no-read skips")
    {
        const auto bad = damaged_copy(dir, good, "inflate.vmdk");
        patch_file(bad, first_marker + 12 + 100, {std::byte{0x55}, std::byte{0xAA}, std::byte{0x55}, std::byte{0xAA}});
        require_problem(bad, "disk data", first_marker);
        require_clean(bad, {"--no-read"});
    }
    SUBCASE("no end-of-stream marker")
    {
        const auto bad = damaged_copy(dir, good, "eos.vmdk");
        std::filesystem::resize_file(bad, size - 512);
        require_problem(bad, "stream footer", size - 512 - 1536);
    }
}

TEST_CASE("imgcheck: OVA: clean from imgconv; a manifest digest mismatch and a damaged disk are named at their offset "
          "in the package")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(4 * MiB_, 9));
    const std::filesystem::path good = dir / "good.ova";
    run_checked({tool_path("imgconv").string(), "-f", "raw", "-O", "ova", (dir / "random").string(), good.string()});
    require_clean(good);
    const CheckRun clean = imgcheck(good);
    CHECK(clean.report.at("subformat") == "vmdk/streamOptimized");

    const auto members = diskshift::formats::ova::index_tar(diskshift::FileSource(good));
    const auto disk = std::find_if(members.begin(), members.end(),
                                   [](const auto& m) { return m.name.ends_with(".vmdk"); });
    REQUIRE(disk != members.end());
    // In the stream VMDK: the embedded descriptor's last byte is NUL padding, and overHead
    // (sectors) is where the first grain marker is.
    const std::uint64_t descriptor_end = (le64_at(good, disk->data_offset + 28) + le64_at(good, disk->data_offset + 36)) * 512;
    const std::uint64_t first_marker = le64_at(good, disk->data_offset + 64) * 512;

    SUBCASE("a byte changed where only the manifest digest notices")
    {
        const auto bad = damaged_copy(dir, good, "digest.ova");
        patch_file(bad, disk->data_offset + descriptor_end - 1, {std::byte{0x55}});
        require_problem(bad, "manifest digest", disk->data_offset);
        CHECK(imgcheck(bad).report.at("problems").size() == 1);
    }
    SUBCASE("a damaged grain marker inside the package")
    {
        const auto bad = damaged_copy(dir, good, "marker.ova");
        patch_le32(bad, disk->data_offset + first_marker + 8, 0x7FFFFFFF);
        require_problem(bad, "grain marker", disk->data_offset + first_marker + 8);
        require_problem(bad, "manifest digest", disk->data_offset);
    }
}

TEST_CASE("imgcheck: OVA: a member besides the disks whose bytes differ from its manifest digest is named")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(MiB_, 10));
    run_checked({tool_path("imgconv").string(), "-f", "raw", "-O", "ova", (dir / "random").string(),
                 (dir / "vm.ova").string()});
    const std::filesystem::path unpacked = dir / "unpacked";
    std::filesystem::create_directory(unpacked);
    run_program("tar", {"-xf", (dir / "vm.ova").string(), "-C", unpacked.string()});
    std::vector<std::string> members;
    for (const auto& m : diskshift::formats::ova::index_tar(diskshift::FileSource(dir / "vm.ova"))) {
        members.push_back(m.name);
    }
    REQUIRE(members.size() == 3);  // descriptor, manifest, disk
    write_text_file(unpacked / "vm.nvram", "NVRAM contents as exported");
    const std::string line = manifest_line(unpacked, "vm.nvram", "SHA256");
    write_text_file(unpacked / members[1], read_text_file(unpacked / members[1]) + line + "\n");
    members.push_back("vm.nvram");
    pack_ova(unpacked, members, "ustar", dir / "good.ova");
    require_clean(dir / "good.ova");

    write_text_file(unpacked / "vm.nvram", "NVRAM contents changed after");
    pack_ova(unpacked, members, "ustar", dir / "bad.ova");
    const auto index = diskshift::formats::ova::index_tar(diskshift::FileSource(dir / "bad.ova"));
    require_problem(dir / "bad.ova", "manifest digest of \"vm.nvram\"", index.back().data_offset);
}

TEST_CASE("imgcheck: a twoGbMaxExtentSparse VMDK: damage in an extent file is named with that file and its offset")
{
    const TempDir dir;
    write_whole_file(dir / "random", random_bytes(MiB_, 11));
    const std::filesystem::path vmdk = dir / "split.vmdk";
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", vmdk.string(), "64M"});
    qemu_write_pieces(vmdk, "vmdk", dir / "random");
    require_clean(vmdk);
    const std::filesystem::path extent = dir / "split-s001.vmdk";
    REQUIRE(std::filesystem::exists(extent));
    const std::uint64_t gd = le64_at(extent, 56) * 512;
    const std::uint64_t gt0 = std::uint64_t{le32_at(extent, gd)} * 512;
    patch_le32(extent, gt0 + 4 * 2, 0x00F00000);
    const CheckRun run = imgcheck(vmdk);
    INFO(run.report.dump(2));
    CHECK(run.exit_code == 1);
    CHECK(has_problem(run.report, "extent file \"split-s001.vmdk\"", std::uint64_t{0x00F00000} * 512));
    CHECK(has_problem(run.report, "(descriptor line 8): grain 2", std::uint64_t{0x00F00000} * 512));
}

}  // TEST_SUITE
