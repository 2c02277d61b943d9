// OVAs as each producer makes them (vSphere, ovftool gzip, vCenter chunks, VirtualBox, oVirt,
// OVF 2.0, ova-compose's blank disk, twelve disks in a sub-folder, a delta disk, XenServer VHD),
// built at test time around the descriptors of testdata/ova: imginfo --json describes each one,
// and every disk converts to the bytes it was built from.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/ova_builder.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace dstest;

namespace {

/// How a disk file is stored in the package.
enum class Stored { plain, gzip, chunked };

/// vcenter-chunked.ovf's ovf:chunkSize.
constexpr std::uint64_t chunk_bytes = 262144;

struct PlannedDisk {
    std::string id;
    std::string href;  ///< "" for a blank disk
    std::uint64_t capacity = 0;
    DiskFile kind = DiskFile::stream_vmdk_qemu;
    std::string format;  ///< what imginfo must say the file holds
    Stored stored = Stored::plain;
    std::optional<std::uint64_t> size_stand_in;
    std::uint64_t random_prefix = 0;  ///< random bytes at the disk's start
    std::string delta_of;             ///< the id of the parent disk, for a delta
    std::string controller;           ///< expected controller, "" to skip the check
    int position = -1;                ///< expected AddressOnParent, -1 to skip
};

struct PlannedVm {
    std::string name;
    unsigned cpus = 0;
    std::uint64_t memory_mib = 0;
    std::string firmware;
    std::size_t nics = 0;
};

struct Package {
    std::string descriptor;
    std::string tar_format;
    PlannedVm vm;
    std::vector<PlannedDisk> disks;
    std::string manifest_algorithm;  ///< "" for no manifest
    ManifestSpelling spelling = ManifestSpelling::openssl;
};

/// A built package: its file and, per disk, the raw file holding the bytes it must convert to.
struct Built {
    std::filesystem::path ova;
    std::vector<std::filesystem::path> expected;
};

std::filesystem::path file_path(const TempDir& dir, const std::string& name)
{
    const std::filesystem::path path = dir.path() / "package" / name;
    std::filesystem::create_directories(path.parent_path());
    return path;
}

/// Stores the disk file `file` as `disk` says (plain, gzip or chunks); returns the member names
/// and the size ovf:size must give.
std::pair<std::vector<std::string>, std::uint64_t> store(const TempDir& dir, const PlannedDisk& disk,
                                                         const std::filesystem::path& file)
{
    const std::uint64_t size = std::filesystem::file_size(file);
    switch (disk.stored) {
    case Stored::plain:
        std::filesystem::rename(file, file_path(dir, disk.href));
        return {{disk.href}, size};
    case Stored::gzip: {
        run_checked({"/bin/sh", "-c", "gzip -n -c '" + file.string() + "' > '" + file_path(dir, disk.href).string() + "'"});
        return {{disk.href}, std::filesystem::file_size(file_path(dir, disk.href))};
    }
    case Stored::chunked: {
        run_program("split", {"-b", std::to_string(chunk_bytes), "-d", "-a", "9", file.string(),
                              file_path(dir, disk.href).string() + "."});
        std::vector<std::string> chunks;
        for (std::uint64_t i = 0; i * chunk_bytes < size; ++i) {
            chunks.push_back(disk.href + "." + std::string(9 - std::to_string(i).size(), '0') + std::to_string(i));
        }
        CHECK(chunks.size() >= 3);
        return {chunks, size};
    }
    }
    return {};
}

Built build(const TempDir& dir, const Package& package)
{
    std::string ovf = ova_descriptor(package.descriptor);
    Built built;
    std::vector<std::string> members;
    std::vector<std::vector<std::byte>> contents;
    for (std::size_t i = 0; i < package.disks.size(); ++i) {
        const PlannedDisk& disk = package.disks[i];
        // A blank disk reads as zeros.
        std::vector<std::byte> bytes = disk.href.empty() ? std::vector<std::byte>(disk.capacity)
                                                         : ova_disk_bytes(disk.capacity, 100 + i, disk.random_prefix);
        std::vector<std::byte> file_bytes = bytes;
        if (!disk.delta_of.empty()) {
            // The delta file holds only its own pieces; the disk reads the parent everywhere else.
            const auto parent = std::find_if(package.disks.begin(), package.disks.end(),
                                             [&](const PlannedDisk& d) { return d.id == disk.delta_of; });
            REQUIRE(parent != package.disks.end());
            bytes = contents[static_cast<std::size_t>(parent - package.disks.begin())];
            for (const std::uint64_t at : {disk.capacity / 4, disk.capacity / 2, disk.capacity - 64 * KiB}) {
                std::copy_n(file_bytes.begin() + static_cast<std::ptrdiff_t>(at), 64 * KiB,
                            bytes.begin() + static_cast<std::ptrdiff_t>(at));
            }
        }
        if (disk.format == "iso") {
            const std::string id = "\001CD001";  // ISO 9660 §8.1: the first volume descriptor at 32 KiB
            std::memcpy(file_bytes.data() + 0x8000, id.data(), id.size());
            bytes = file_bytes;
        }
        contents.push_back(bytes);
        const std::filesystem::path expected = dir / ("expected-" + std::to_string(i) + ".raw");
        write_whole_file(expected, bytes);
        built.expected.push_back(expected);
        if (disk.href.empty()) {
            continue;
        }
        const std::filesystem::path raw = dir / ("file-" + std::to_string(i) + ".raw");
        write_whole_file(raw, file_bytes);
        const std::filesystem::path file = dir / ("file-" + std::to_string(i) + ".disk");
        write_disk_file(raw, disk.kind, file);
        const auto [names, size] = store(dir, disk, file);
        members.insert(members.end(), names.begin(), names.end());
        if (disk.size_stand_in) {
            set_ovf_size(ovf, *disk.size_stand_in, size);
        }
    }
    const std::string ovf_name = package.descriptor;
    write_text_file(file_path(dir, ovf_name), ovf);
    std::vector<std::string> order = {ovf_name};
    if (!package.manifest_algorithm.empty()) {
        std::string manifest = manifest_line(dir.path() / "package", ovf_name, package.manifest_algorithm, package.spelling);
        for (const std::string& member : members) {
            manifest += manifest_line(dir.path() / "package", member, package.manifest_algorithm, package.spelling);
        }
        const std::string mf_name = ovf_name.substr(0, ovf_name.size() - 4) + ".mf";
        write_text_file(file_path(dir, mf_name), manifest);
        order.push_back(mf_name);
    }
    order.insert(order.end(), members.begin(), members.end());
    built.ova = dir / (ovf_name.substr(0, ovf_name.size() - 4) + ".ova");
    pack_ova(dir.path() / "package", order, package.tar_format, built.ova);
    return built;
}

void check_description(const nlohmann::json& info, const Package& package)
{
    INFO(info.dump(2));
    CHECK(info.at("format") == "ova");
    const nlohmann::json& details = info.at("details");
    const nlohmann::json& vm = details.at("vm");
    CHECK(vm.at("name") == package.vm.name);
    CHECK(vm.at("cpus") == package.vm.cpus);
    CHECK(vm.at("memory_bytes") == package.vm.memory_mib * MiB);
    CHECK(vm.at("firmware") == package.vm.firmware);
    CHECK(vm.at("nics").size() == package.vm.nics);
    const nlohmann::json& disks = details.at("disks");
    REQUIRE(disks.size() == package.disks.size());
    for (std::size_t i = 0; i < disks.size(); ++i) {
        const PlannedDisk& planned = package.disks[i];
        CAPTURE(planned.id);
        CHECK(disks[i].at("id") == planned.id);
        if (planned.href.empty()) {
            CHECK(disks[i].at("href").is_null());
        } else {
            CHECK(disks[i].at("href") == planned.href);
        }
        CHECK(disks[i].at("capacity") == planned.capacity);
        CHECK(disks[i].at("format") == (planned.href.empty() ? "blank" : planned.format));
        if (!planned.controller.empty()) {
            CHECK(disks[i].at("controller") == planned.controller);
        }
        if (planned.position >= 0) {
            CHECK(disks[i].at("position") == planned.position);
        }
    }
    for (const auto& warning : info.at("warnings")) {
        const bool unverified = contains(warning.get<std::string>(), "not verified");
        CHECK_MESSAGE((!unverified || package.manifest_algorithm.empty()), warning);
    }
}

/// A package with one hard disk (an ISO beside it is a CD) converts without --disk, to that disk.
void check_default_disk(const TempDir& dir, const Package& package, const Built& built)
{
    std::vector<std::size_t> hard;
    for (std::size_t i = 0; i < package.disks.size(); ++i) {
        if (package.disks[i].format != "iso") {
            hard.push_back(i);
        }
    }
    if (hard.size() != 1) {
        return;
    }
    const std::filesystem::path out = dir / "out-default.raw";
    const ProcessResult run = run_tool("imgconv", {"-O", "raw", built.ova.string(), out.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    CHECK(file_difference(built.expected[hard.front()], out) == "");
}

/// Builds the package, checks imginfo's description and that every disk converts to its bytes.
void check_package(const Package& package)
{
    CAPTURE(package.descriptor);
    const TempDir dir;
    const Built built = build(dir, package);
    check_description(ova_info(built.ova), package);
    for (std::size_t i = 0; i < package.disks.size(); ++i) {
        CAPTURE(package.disks[i].id);
        const std::filesystem::path out = dir / ("out-" + std::to_string(i) + ".raw");
        const ProcessResult run =
            run_tool("imgconv", {"--disk", package.disks[i].id, "-O", "raw", built.ova.string(), out.string()});
        INFO(run.describe());
        REQUIRE(run.exit_code() == 0);
        CHECK(file_difference(built.expected[i], out) == "");
    }
    check_default_disk(dir, package, built);
}

PlannedDisk stream_disk(std::string id, std::string href, std::uint64_t capacity, std::optional<std::uint64_t> stand_in)
{
    PlannedDisk disk;
    disk.id = std::move(id);
    disk.href = std::move(href);
    disk.capacity = capacity;
    disk.format = "vmdk";
    disk.size_stand_in = stand_in;
    return disk;
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("OVA producers: vSphere, one stream VMDK (ustar, SHA256 manifest); converts without --disk")
{
    Package p{"vsphere-1disk.ovf", "ustar", {"web01", 1, 512, "bios", 1}, {}, "SHA256"};
    p.disks.push_back(stream_disk("vmdisk1", "web01-disk1.vmdk", 4 * MiB, 1000101));
    p.disks.back().controller = "scsi";
    p.disks.back().position = 0;
    check_package(p);

    const TempDir dir;
    const Built built = build(dir, p);
    const ProcessResult run = run_tool("imgconv", {"-O", "raw", built.ova.string(), (dir / "only.raw").string()});
    INFO(run.describe());
    CHECK(run.exit_code() == 0);
    CHECK(file_difference(built.expected[0], dir / "only.raw") == "");
}

TEST_CASE("OVA producers: vSphere, two disks (ours and qemu-img's stream VMDKs, SHA512); no --disk exits 2 listing them")
{
    Package p{"vsphere-2disks.ovf", "ustar", {"db02", 2, 2048, "efi", 1}, {}, "SHA512"};
    p.disks.push_back(stream_disk("vmdisk1", "db02-disk1.vmdk", 2 * MiB, 1000201));
    p.disks.push_back(stream_disk("vmdisk2", "db02-disk2.vmdk", 3 * MiB, 1000202));
    p.disks.back().kind = DiskFile::stream_vmdk_ours;
    p.disks.back().controller = "scsi";
    p.disks.back().position = 1;
    check_package(p);

    const TempDir dir;
    const Built built = build(dir, p);
    const ProcessResult run = run_tool("imgconv", {"-O", "raw", built.ova.string(), (dir / "x.raw").string()});
    CHECK(run.exit_code() == 2);
    CHECK(contains(run.err, "vmdisk1"));
    CHECK(contains(run.err, "vmdisk2"));
    CHECK_FALSE(std::filesystem::exists(dir / "x.raw"));

    // By number, and every disk at once.
    CHECK(run_tool("imgconv", {"--disk", "2", "-O", "raw", built.ova.string(), (dir / "2.raw").string()}).exit_code() == 0);
    CHECK(file_difference(built.expected[1], dir / "2.raw") == "");
    const ProcessResult all = run_tool("imgconv", {"--all-disks", (dir / "all").string(), "-O", "raw", built.ova.string()});
    INFO(all.describe());
    REQUIRE(all.exit_code() == 0);
    CHECK(file_difference(built.expected[0], dir / "all" / "vmdisk1.raw") == "");
    CHECK(file_difference(built.expected[1], dir / "all" / "vmdisk2.raw") == "");
}

TEST_CASE("OVA producers: ovftool, a gzip-compressed stream VMDK (SHA1 manifest)")
{
    Package p{"ovftool-gzip.ovf", "ustar", {"gz-appliance", 1, 256, "bios", 1}, {}, "SHA1"};
    p.disks.push_back(stream_disk("disk-a", "appliance-disk1.vmdk.gz", 2 * MiB, 1000301));
    p.disks.back().stored = Stored::gzip;
    check_package(p);
}

TEST_CASE("OVA producers: our own writer (imgconv -O ova) of two disks; each converts back to its bytes")
{
    const TempDir dir;
    write_whole_file(dir / "a.raw", ova_disk_bytes(3 * MiB, 81, MiB));
    write_whole_file(dir / "b.raw", ova_disk_bytes(2 * MiB, 82));
    const auto ova = dir / "ours.ova";
    const ProcessResult write = run_tool("imgconv", {"-f", "raw", "-O", "ova", "-o", "name=roundtrip", (dir / "a.raw").string(),
                                                     (dir / "b.raw").string(), ova.string()});
    INFO(write.describe());
    REQUIRE(write.exit_code() == 0);
    const nlohmann::json info = ova_info(ova, "1");  // a disk named: no warning that one was picked
    CHECK(info.at("warnings").empty());             // the manifest lists every file
    CHECK(info.at("details").at("vm").at("name") == "roundtrip");
    const nlohmann::json& disks = info.at("details").at("disks");
    REQUIRE(disks.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(disks[i].at("format") == "vmdk");
        const auto out = dir / ("back-" + std::to_string(i) + ".raw");
        const ProcessResult run = run_tool("imgconv", {"--disk", std::to_string(i + 1), "-O", "raw", ova.string(), out.string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 0);
        CHECK(file_difference(dir / (i == 0 ? "a.raw" : "b.raw"), out) == "");
    }
}

TEST_CASE("OVA producers: vCenter, a stream VMDK in chunks of chunkSize bytes (SHA256 per chunk)")
{
    Package p{"vcenter-chunked.ovf", "ustar", {"archive-vm", 4, 4096, "bios", 1}, {}, "SHA256"};
    p.disks.push_back(stream_disk("vmdisk1", "archive-vm-disk1.vmdk", 4 * MiB, 1000401));
    p.disks.back().stored = Stored::chunked;
    p.disks.back().random_prefix = MiB;  // incompressible: the VMDK spans several chunks
    check_package(p);
}

TEST_CASE("OVA producers: VirtualBox, no sizes, a stream VMDK on SATA and an ISO, EFI (VirtualBox manifest spelling)")
{
    Package p{"virtualbox.ovf", "ustar", {"devbox", 2, 1024, "efi", 1}, {}, "SHA256", ManifestSpelling::spaced};
    p.disks.push_back(stream_disk("vmdisk1", "devbox-disk001.vmdk", 3 * MiB, std::nullopt));
    p.disks.back().kind = DiskFile::stream_vmdk_ours;
    p.disks.back().controller = "sata";
    p.disks.back().position = 0;
    PlannedDisk iso = stream_disk("iso2", "devbox-file002.iso", MiB, std::nullopt);
    iso.kind = DiskFile::raw;
    iso.format = "iso";
    p.disks.push_back(iso);
    check_package(p);
}

TEST_CASE("OVA producers: oVirt (OVF 0.9 sections), a raw disk in a sub-folder, pax tar, no manifest")
{
    Package p{"ovirt.ovf", "pax", {"rhel-app", 2, 768, "bios", 1}, {}, ""};
    PlannedDisk disk = stream_disk("b3a0f7e2-6c41-4e8d-9f25-d17c0a4e8b96",
                                   "5e1d3c6a-0b7f-4d29-a8e4-2c9f61b07d15/b3a0f7e2-6c41-4e8d-9f25-d17c0a4e8b96", 2 * MiB,
                                   std::nullopt);
    disk.kind = DiskFile::raw;
    disk.format = "raw";
    p.disks.push_back(disk);
    check_package(p);
}

TEST_CASE("OVA producers: oVirt with a qcow2 disk, as pack_ova.py writes it: refused with a message naming qcow2")
{
    const TempDir dir;
    const std::string href = "5e1d3c6a-0b7f-4d29-a8e4-2c9f61b07d15/b3a0f7e2-6c41-4e8d-9f25-d17c0a4e8b96";
    std::filesystem::create_directories((dir / "package" / href).parent_path());
    write_whole_file(dir / "disk.raw", ova_disk_bytes(2 * MiB, 71));
    run_checked({qemu_img().string(), "convert", "-f", "raw", "-O", "qcow2", (dir / "disk.raw").string(),
                 (dir / "package" / href).string()});
    write_text_file(dir / "package" / "ovirt.ovf", ova_descriptor("ovirt.ovf"));
    pack_ova(dir / "package", {"ovirt.ovf", href}, "pax", dir / "ovirt.ova");
    for (const std::string tool : {"imginfo", "imgconv"}) {
        CAPTURE(tool);
        const ProcessResult run = tool == "imginfo"
                                      ? run_tool("imginfo", {(dir / "ovirt.ova").string()})
                                      : run_tool("imgconv", {"-O", "raw", (dir / "ovirt.ova").string(), (dir / "out.raw").string()});
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, "qcow2"));
        CHECK(contains(run.err, href));
    }
    CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
}

TEST_CASE("OVA producers: OVF 2.0 StorageItem and EthernetPortItem, pax tar")
{
    Package p{"ovf2.ovf", "pax", {"gateway", 1, 2048, "bios", 2}, {}, "SHA256"};
    p.disks.push_back(stream_disk("vmdisk1", "gateway-disk001.vmdk", 2 * MiB, std::nullopt));
    p.disks.back().controller = "ide";
    check_package(p);
}

TEST_CASE("OVA producers: ova-compose, a disk and a blank disk (empty fileRef), GNU tar, SHA512")
{
    Package p{"blank-disk.ovf", "gnu", {"logserver", 2, 4096, "efi", 1}, {}, "SHA512"};
    p.disks.push_back(stream_disk("system", "logserver-system.vmdk", 2 * MiB, 1000801));
    p.disks.back().kind = DiskFile::stream_vmdk_ours;
    p.disks.push_back(stream_disk("logs", "", 3 * MiB, std::nullopt));
    p.disks.back().position = 1;
    check_package(p);
}

TEST_CASE("OVA producers: twelve monolithicSparse disks in a sub-folder, GNU tar; --all-disks writes all twelve")
{
    Package p{"twelve-disks.ovf", "gnu", {"storage-node", 2, 1024, "bios", 1}, {}, "SHA1"};
    for (int n = 1; n <= 12; ++n) {
        PlannedDisk disk = stream_disk("vmdisk" + std::to_string(n), "disks/disk-" + std::to_string(n) + ".vmdk", MiB,
                                       std::nullopt);
        disk.kind = DiskFile::sparse_vmdk;
        disk.position = n <= 7 ? n - 1 : n;  // unit 7 is the SCSI controller's own
        p.disks.push_back(disk);
    }
    check_package(p);

    const TempDir dir;
    const Built built = build(dir, p);
    const ProcessResult all = run_tool("imgconv", {"--all-disks", (dir / "out").string(), "-O", "vmdk", built.ova.string()});
    INFO(all.describe());
    REQUIRE(all.exit_code() == 0);
    for (int n = 1; n <= 12; ++n) {
        const auto written = dir / "out" / ("vmdisk" + std::to_string(n) + ".vmdk");
        const ProcessResult compare = run_process({qemu_img().string(), "compare", "-f", "raw", "-F", "vmdk",
                                                   built.expected[static_cast<std::size_t>(n - 1)].string(), written.string()});
        CHECK_MESSAGE(compare.exit_code() == 0, compare.describe());
    }
}

TEST_CASE("OVA producers: a delta disk (parentRef) reads through to its base")
{
    Package p{"delta.ovf", "ustar", {"linked-clone", 1, 256, "bios", 0}, {}, "SHA256"};
    p.disks.push_back(stream_disk("basedisk1", "linked-base.vmdk", 4 * MiB, 1001001));
    p.disks.back().random_prefix = MiB;
    p.disks.push_back(stream_disk("vmdisk1", "linked-delta.vmdk", 4 * MiB, 1001002));
    p.disks.back().delta_of = "basedisk1";
    check_package(p);
}

TEST_CASE("OVA producers: XenServer, a dynamic VHD (our writer), SHA1 manifest")
{
    Package p{"xenserver.ovf", "ustar", {"legacy-app", 2, 1024, "bios", 1}, {}, "SHA1"};
    PlannedDisk disk = stream_disk("c2e9b5f0-3d18-47a6-b0c4-8e7f1a2d6b59", "a7d41e22-90b3-4c1f-8d6e-5f0b2c9a3e71.vhd",
                                   4 * MiB, 1001101);
    disk.kind = DiskFile::vhd_dynamic;
    disk.format = "vhd";
    disk.controller = "ide";
    disk.position = 0;
    p.disks.push_back(disk);
    check_package(p);
}

}  // TEST_SUITE
