// Converting one disk out of a large OVA reads it in place: while imgconv runs, no file larger
// than 1 MiB appears anywhere it could write (the OVA's and DST's folder, TMPDIR, the working
// folder) besides DST itself, for a raw disk in a 2 GiB package and for a gzip-compressed one.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/ova_builder.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/tar_builder.hpp"
#include "support/temp_dir.hpp"

using namespace dstest;

namespace {

struct Watch {
    std::vector<std::string> intruders;  ///< files over 1 MiB that are not DST
    bool saw_destination = false;        ///< DST (its temporary) was seen over 1 MiB while running
    unsigned scans = 0;
};

/// Scans `folder` (recursively when asked) for regular files over 1 MiB other than `allowed` and
/// DST's temporary (".<dst>.diskshift-…").
template <typename Iterator>
void scan_folder(const std::filesystem::path& folder, const std::set<std::string>& allowed,
                 const std::string& destination, Watch& watch)
{
    std::error_code ec;
    for (auto it = Iterator(folder, ec); !ec && it != Iterator(); it.increment(ec)) {
        std::error_code size_ec;
        const std::uint64_t size = it->is_regular_file(size_ec) ? it->file_size(size_ec) : 0;
        if (size_ec || size <= MiB) {
            continue;
        }
        const std::string name = it->path().filename().string();
        if (!destination.empty() && (name == destination || name.starts_with("." + destination + ".diskshift-"))) {
            watch.saw_destination = true;
        } else if (!allowed.contains(it->path().string())) {
            watch.intruders.push_back(it->path().string() + " (" + std::to_string(size) + " bytes)");
        }
    }
}

/// The test's folder (OVA, DST, TMPDIR) and the working folder's top level.
void scan(const std::filesystem::path& test_folder, const std::set<std::string>& allowed,
          const std::string& destination, Watch& watch)
{
    ++watch.scans;
    scan_folder<std::filesystem::recursive_directory_iterator>(test_folder, allowed, destination, watch);
    scan_folder<std::filesystem::directory_iterator>(std::filesystem::current_path(), allowed, destination, watch);
}

/// Runs `imgconv -O raw OVA DST` with TMPDIR pointing into `dir`, scanning as it runs.
Watch convert_watching(const TempDir& dir, const std::filesystem::path& ova, const std::set<std::string>& existing)
{
    const std::filesystem::path tmp = dir / "tmp";
    const std::filesystem::path logs = dir / "logs";
    std::filesystem::create_directories(tmp);
    std::filesystem::create_directories(logs);
    const std::string destination = "dst.raw";
    const char* old_tmpdir = std::getenv("TMPDIR");
    const std::string saved = old_tmpdir != nullptr ? old_tmpdir : "";
    ::setenv("TMPDIR", tmp.c_str(), 1);
    BackgroundProcess process({tool_path("imgconv").string(), "-O", "raw", ova.string(), (dir / destination).string()},
                              logs / "out", logs / "err");
    if (old_tmpdir != nullptr) {
        ::setenv("TMPDIR", saved.c_str(), 1);
    } else {
        ::unsetenv("TMPDIR");
    }

    std::set<std::string> allowed = existing;
    allowed.insert(ova.string());
    Watch watch;
    while (!process.has_exited()) {
        scan(dir.path(), allowed, destination, watch);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const ExitStatus status = process.wait();
    INFO(read_text_file(logs / "err"));
    CHECK(status.exited);
    CHECK(status.code == 0);
    return watch;
}

/// Every regular file over 1 MiB at the top of the working folder now: they were there before.
std::set<std::string> big_files_now()
{
    Watch before;
    scan_folder<std::filesystem::directory_iterator>(std::filesystem::current_path(), {}, "", before);
    std::set<std::string> names;
    for (const std::string& entry : before.intruders) {
        names.insert(entry.substr(0, entry.rfind(" (")));
    }
    return names;
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("OVA in place: converting the raw disk of a 2 GiB package writes no copy of it anywhere")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const std::uint64_t size = 2 * GiB;
    std::string ovf = ova_descriptor("ovirt.ovf");
    for (const std::string attribute : {"ovf:capacity=\"", "ovf:size=\""}) {
        const std::string from = attribute + "2097152\"";
        for (std::size_t at = ovf.find(from); at != std::string::npos; at = ovf.find(from, at)) {
            ovf.replace(at, from.size(), attribute + std::to_string(size) + "\"");
        }
    }
    const std::string href = "5e1d3c6a-0b7f-4d29-a8e4-2c9f61b07d15/b3a0f7e2-6c41-4e8d-9f25-d17c0a4e8b96";
    const auto ova = dir / "big.ova";
    const std::vector<std::byte> data = random_bytes(96 * MiB, 61);
    {
        const Fd fd = open_file(ova, O_WRONLY | O_CREAT | O_TRUNC);
        std::vector<std::byte> first = tar_file_headers("ovirt.ovf", ovf.size(), TarSize::octal);
        const std::size_t ovf_at = first.size();
        first.resize(ovf_at + tar_padded(ovf.size()));
        std::memcpy(first.data() + ovf_at, ovf.data(), ovf.size());
        const std::vector<std::byte> second = tar_file_headers(href, size, TarSize::octal);
        first.insert(first.end(), second.begin(), second.end());
        write_at(fd.get(), first, 0);
        write_at(fd.get(), data, first.size() + 512 * MiB);  // data in the middle, holes around it
        write_at(fd.get(), std::vector<std::byte>(1024), first.size() + size);
    }
    REQUIRE(std::filesystem::file_size(ova) > 2 * GiB);
    const Watch watch = convert_watching(dir, ova, big_files_now());
    CHECK(watch.intruders == std::vector<std::string>{});
    CHECK(watch.scans > 1);
    CHECK(watch.saw_destination);  // the scan does see large files while imgconv runs
}

TEST_CASE("OVA in place: a gzip-compressed disk is inflated as it is converted, never into a file")
{
    const TempDir dir;
    std::filesystem::create_directories(dir / "package");
    {
        const Fd fd = open_file(dir / "disk.raw", O_WRONLY | O_CREAT | O_TRUNC);
        REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(512 * MiB)) == 0);
        write_at(fd.get(), random_bytes(48 * MiB, 62), 100 * MiB);
    }
    const std::string href = "appliance-disk1.vmdk.gz";
    write_disk_file(dir / "disk.raw", DiskFile::stream_vmdk_ours, dir / "package" / "disk.vmdk");
    std::filesystem::remove(dir / "disk.raw");
    run_checked({"/bin/sh", "-c", "gzip -1 -n -c '" + (dir / "package" / "disk.vmdk").string() + "' > '" +
                                      (dir / "package" / href).string() + "'"});
    std::filesystem::remove(dir / "package" / "disk.vmdk");
    std::string ovf = ova_descriptor("ovftool-gzip.ovf");
    set_ovf_size(ovf, 1000301, std::filesystem::file_size(dir / "package" / href));
    write_text_file(dir / "package" / "vm.ovf", ovf);
    const auto ova = dir / "gzip.ova";
    pack_ova(dir / "package", {"vm.ovf", href}, "ustar", ova);
    std::filesystem::remove_all(dir / "package");

    const Watch watch = convert_watching(dir, ova, big_files_now());
    CHECK(watch.intruders == std::vector<std::string>{});
    CHECK(watch.saw_destination);
    CHECK(std::filesystem::file_size(dir / "dst.raw") == 512 * MiB);
}

}  // TEST_SUITE
