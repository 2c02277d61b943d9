// OVA tar variants through the tools: a disk member over 8 GiB (GNU base-256 and pax sizes, kept
// as holes), long member names in each tar format, and hostile members, which are refused with
// nothing written anywhere.
#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/ova_builder.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/tar_builder.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace dstest;

namespace {

/// ovirt.ovf's raw disk: its href and its size, which the tests change.
const std::string ovirt_href = "5e1d3c6a-0b7f-4d29-a8e4-2c9f61b07d15/b3a0f7e2-6c41-4e8d-9f25-d17c0a4e8b96";
constexpr std::uint64_t ovirt_size = 2097152;

/// ovirt.ovf with the raw disk's capacity and size set to `size`.
std::string ovirt_descriptor(std::uint64_t size)
{
    std::string ovf = ova_descriptor("ovirt.ovf");
    for (const std::string attribute : {"ovf:capacity=\"", "ovf:size=\""}) {
        const std::string from = attribute + std::to_string(ovirt_size) + "\"";
        for (std::size_t at = ovf.find(from); at != std::string::npos; at = ovf.find(from, at)) {
            ovf.replace(at, from.size(), attribute + std::to_string(size) + "\"");
        }
    }
    return ovf;
}

/// Writes `bytes` as a tar member with `encoding` at `offset` of `fd`; returns the offset after it.
std::uint64_t write_member(int fd, std::uint64_t offset, const std::string& name, std::uint64_t size,
                           const std::vector<std::pair<std::uint64_t, std::vector<std::byte>>>& pieces,
                           TarSize encoding)
{
    const std::vector<std::byte> headers = tar_file_headers(name, size, encoding);
    write_at(fd, headers, offset);
    for (const auto& [at, bytes] : pieces) {
        write_at(fd, bytes, offset + headers.size() + at);
    }
    return offset + headers.size() + tar_padded(size);
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("OVA tar: a raw disk member over 8 GiB (base-256 and pax size) is described and converted in place")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const std::uint64_t size = 8 * GiB + 2 * MiB;
    const std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> pieces = {
        {0, random_bytes(64 * KiB, 51)}, {8 * GiB - 4 * KiB, random_bytes(8 * KiB, 52)}, {size - 512, random_bytes(512, 53)}};
    const std::string ovf = ovirt_descriptor(size);
    std::vector<std::byte> ovf_bytes(ovf.size());
    std::memcpy(ovf_bytes.data(), ovf.data(), ovf.size());
    for (const TarSize encoding : {TarSize::gnu_base256, TarSize::pax}) {
        CAPTURE(static_cast<int>(encoding));
        const auto ova = dir / "big.ova";
        std::filesystem::remove(ova);
        {
            const Fd fd = open_file(ova, O_WRONLY | O_CREAT | O_TRUNC);
            std::uint64_t at = write_member(fd.get(), 0, "ovirt.ovf", ovf_bytes.size(), {{0, ovf_bytes}}, TarSize::octal);
            at = write_member(fd.get(), at, ovirt_href, size, pieces, encoding);
            write_at(fd.get(), std::vector<std::byte>(1024), at);
        }
        CHECK(contains(run_program("tar", {"-tvf", ova.string()}).out, std::to_string(size)));  // tar agrees

        const nlohmann::json info = ova_info(ova);
        CHECK(info.at("virtual_size") == size);
        CHECK(info.at("details").at("disks").at(0).at("capacity") == size);
        CHECK(info.at("details").at("disks").at(0).at("format") == "raw");

        const auto out = dir / "out.raw";
        const ProcessResult run = run_tool("imgconv", {"-O", "raw", ova.string(), out.string()});
        INFO(run.describe());
        REQUIRE(run.exit_code() == 0);
        CHECK(std::filesystem::file_size(out) == size);
        CHECK(allocated_bytes(out) < 16 * MiB);  // the holes stayed holes
        const Fd fd = open_file(out, O_RDONLY);
        for (const auto& [offset, bytes] : pieces) {
            std::vector<std::byte> back(bytes.size());
            REQUIRE(::pread(fd.get(), back.data(), back.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(back.size()));
            CHECK(back == bytes);
        }
        std::filesystem::remove(out);
    }
}

TEST_CASE("OVA tar: a disk under a name longer than 100 bytes, in ustar (prefix), GNU ('L') and pax (path) archives")
{
    const TempDir dir;
    const std::string long_href = std::string(70, 'f') + "/" + std::string(70, 'g') + "-disk1.vmdk";
    std::filesystem::create_directories(dir / "package" / std::string(70, 'f'));
    write_whole_file(dir / "disk.raw", ova_disk_bytes(4 * MiB, 54));
    write_disk_file(dir / "disk.raw", DiskFile::stream_vmdk_ours, dir / "package" / long_href);
    std::string ovf = ova_descriptor("vsphere-1disk.ovf");
    const std::string short_href = "web01-disk1.vmdk";
    ovf.replace(ovf.find(short_href), short_href.size(), long_href);
    set_ovf_size(ovf, 1000101, std::filesystem::file_size(dir / "package" / long_href));
    write_text_file(dir / "package" / "vm.ovf", ovf);
    for (const std::string format : {"ustar", "gnu", "pax"}) {
        CAPTURE(format);
        const auto ova = dir / (format + ".ova");
        pack_ova(dir / "package", {"vm.ovf", long_href}, format, ova);
        CHECK(ova_info(ova).at("details").at("disks").at(0).at("href") == long_href);
        const ProcessResult run = run_tool("imgconv", {"-O", "raw", ova.string(), (dir / "out.raw").string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 0);
        CHECK(file_difference(dir / "disk.raw", dir / "out.raw") == "");
    }
}

TEST_CASE("OVA tar: '../x', '/etc/x', symbolic and hard links are refused by imginfo and imgconv; nothing is written")
{
    const TempDir dir;
    const std::filesystem::path work = dir / "work";  // the packages and DST live here
    std::filesystem::create_directories(work / "package");
    write_text_file(work / "package" / "vm.ovf", ova_descriptor("vsphere-1disk.ovf"));
    write_text_file(work / "package" / "web01-disk1.vmdk", "not really a disk\n");
    REQUIRE(::symlink("/etc/passwd", (work / "package" / "passwd-link").c_str()) == 0);
    REQUIRE(::link((work / "package" / "vm.ovf").c_str(), (work / "package" / "hard").c_str()) == 0);
    const std::string escaped = "ovaread-escape-" + std::to_string(::getpid());
    struct Case {
        std::string what;
        std::vector<std::string> members;  // after vm.ovf
        std::vector<std::string> tar_options;
    };
    const std::vector<Case> cases = {
        {"../ name", {"web01-disk1.vmdk"}, {"-P", "--transform=s|^web01-disk1.vmdk$|../" + escaped + "|"}},
        {"absolute name", {"web01-disk1.vmdk"}, {"-P", "--transform=s|^web01-disk1.vmdk$|/tmp/" + escaped + "|"}},
        {"symbolic link", {"passwd-link"}, {}},
        {"hard link", {"hard"}, {}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        const auto ova = work / "hostile.ova";
        std::vector<std::string> args = {"--format=gnu", "-cf", ova.string(), "-C", (work / "package").string()};
        args.insert(args.end(), c.tar_options.begin(), c.tar_options.end());
        args.push_back("vm.ovf");
        args.insert(args.end(), c.members.begin(), c.members.end());
        run_program("tar", args);
        const std::vector<std::string> before = dir.names();

        const ProcessResult info = run_tool("imginfo", {ova.string()});
        CHECK(info.exit_code() == 1);
        CHECK(contains(info.err, "refused"));
        const ProcessResult conv = run_tool("imgconv", {"-O", "raw", ova.string(), (work / "dst.raw").string()});
        CHECK(conv.exit_code() == 1);
        CHECK(contains(conv.err, "refused"));
        const ProcessResult all = run_tool("imgconv", {"--all-disks", (work / "all").string(), "-O", "raw", ova.string()});
        CHECK(all.exit_code() == 1);

        CHECK_FALSE(std::filesystem::exists(work / "dst.raw"));
        CHECK_FALSE(std::filesystem::exists(work / "all"));
        CHECK_FALSE(std::filesystem::exists(dir / escaped));
        CHECK_FALSE(std::filesystem::exists(std::filesystem::path("/tmp") / escaped));
        CHECK(dir.names() == before);
    }
}

}  // TEST_SUITE
