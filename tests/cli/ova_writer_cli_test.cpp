// imgconv -O ova: the package GNU tar, sha256sum, xmllint, qemu-img and vmdkinfo see (members in
// order, manifest lines equal to the members' digests, the OVF's sizes and capacities, each VMDK
// equal to its source), long member names, and bad -o values refused as usage.
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x0fa1;

/// A source disk: written raw with data and holes, then turned into `format` by qemu-img.
struct SourceDisk {
    std::filesystem::path path;
    std::string qemu_format;
    std::uint64_t capacity = 0;
};

SourceDisk make_disk(const TempDir& dir, const std::string& stem, const std::string& format, const SparseLayout& layout,
                     std::uint64_t disk_seed)
{
    const std::filesystem::path raw = dir / (stem + ".raw");
    write_sparse_file(raw, layout, disk_seed);
    if (format == "raw") {
        return {raw, "raw", layout.size};
    }
    const std::filesystem::path converted = dir / fmt::format("{}.{}", stem, format);
    run_program("qemu-img", {"convert", "-f", "raw", "-O", format, raw.string(), converted.string()});
    std::filesystem::remove(raw);
    return {converted, format, layout.size};
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = text.find('\n', at);
        lines.push_back(text.substr(at, end - at));
        at = end == std::string::npos ? text.size() : end + 1;
    }
    return lines;
}

/// The string value of an XPath expression over the OVF, by xmllint (without its line end).
std::string xpath_string(const std::filesystem::path& ovf, const std::string& xpath)
{
    std::string value = run_program("xmllint", {"--xpath", "string(" + xpath + ")", ovf.string()}).out;
    if (value.ends_with('\n')) {
        value.pop_back();
    }
    return value;
}

/// An attribute of the n-th (1-based) element with this local name in the OVF.
std::string ovf_attribute(const std::filesystem::path& ovf, const std::string& element, int n, const std::string& name)
{
    return xpath_string(ovf, fmt::format("(//*[local-name()='{}'])[{}]/@*[local-name()='{}']", element, n, name));
}

/// Everything acceptance 4 of issue 7 asks of an OVA written from `disks` as VM `vm`: the members
/// in order, extraction, the manifest, the OVF, and every VMDK against its source.
void check_ova(const TempDir& dir, const std::filesystem::path& ova, const std::string& vm,
               const std::vector<SourceDisk>& disks, const std::vector<std::string>& disk_members)
{
    std::vector<std::string> expected = {vm + ".ovf", vm + ".mf"};
    expected.insert(expected.end(), disk_members.begin(), disk_members.end());
    CHECK(lines_of(run_program("tar", {"-tf", ova.string()}).out) == expected);

    const std::filesystem::path out = dir / "extracted";
    std::filesystem::create_directory(out);
    run_program("tar", {"-xf", ova.string(), "-C", out.string()});

    std::string manifest;
    for (const std::string& member : expected) {
        if (member != vm + ".mf") {
            const std::string sum = run_program("sha256sum", {(out / member).string()}).out;
            manifest += fmt::format("SHA256({})= {}\n", member, sum.substr(0, 64));
        }
    }
    CHECK(read_text_file(out / (vm + ".mf")) == manifest);

    const std::filesystem::path ovf = out / (vm + ".ovf");
    run_program("xmllint", {"--noout", ovf.string()});
    CHECK(xpath_string(ovf, "//*[local-name()='VirtualSystemType']").starts_with("vmx-"));
    for (std::size_t i = 0; i < disks.size(); ++i) {
        const int n = static_cast<int>(i) + 1;
        const std::filesystem::path vmdk = out / disk_members[i];
        CAPTURE(vmdk);
        CHECK(ovf_attribute(ovf, "File", n, "href") == disk_members[i]);
        CHECK(ovf_attribute(ovf, "File", n, "size") == std::to_string(std::filesystem::file_size(vmdk)));
        CHECK(ovf_attribute(ovf, "Disk", n, "capacity") == std::to_string(disks[i].capacity));
        const std::string units = ovf_attribute(ovf, "Disk", n, "capacityAllocationUnits");
        CHECK((units.empty() || units == "byte"));
        CHECK(ovf_attribute(ovf, "Disk", n, "format") ==
              "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized");
        run_program("qemu-img", {"check", "-f", "vmdk", vmdk.string()});
        run_program("qemu-img", {"compare", "-f", disks[i].qemu_format, "-F", "vmdk", disks[i].path.string(),
                                 vmdk.string()});
        const std::string info = run_program("vmdkinfo", {vmdk.string()}).out;
        CHECK_MESSAGE(contains(info, fmt::format("({} bytes)", disks[i].capacity)), info);
    }
}

}  // namespace

TEST_SUITE("ova writer") {

TEST_CASE("imgconv -O ova: two disks become OVF, manifest and two stream VMDKs that the usual tools accept")
{
    const TempDir dir;
    const std::vector<SourceDisk> disks = {
        make_disk(dir, "system", "vhdx", {40 * MiB, {{0, 64 * KiB}, {17 * MiB, 1 * MiB}, {40 * MiB - 4 * KiB, 4 * KiB}}},
                  seed),
        make_disk(dir, "data", "vmdk", {100 * MiB + 512, {{33 * MiB, 5 * MiB + 4 * KiB}, {100 * MiB, 512}}}, seed + 1),
    };
    const std::filesystem::path ova = dir / "appliance.ova";
    const ProcessResult run =
        run_tool("imgconv", {"-O", "ova", "-o", "name=web01,os=ubuntu64Guest,cpus=2,memory=2G,firmware=efi", "--json",
                             disks[0].path.string(), disks[1].path.string(), ova.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    check_ova(dir, ova, "web01", disks, {"system.vmdk", "data.vmdk"});

    const std::filesystem::path ovf = dir / "extracted" / "web01.ovf";
    CHECK(ovf_attribute(ovf, "OperatingSystemSection", 1, "osType") == "ubuntu64Guest");
    const auto quantity = [&](int resource_type) {
        return xpath_string(ovf, fmt::format("//*[local-name()='Item'][*[local-name()='ResourceType']='{}']"
                                             "/*[local-name()='VirtualQuantity']", resource_type));
    };
    CHECK(quantity(3) == "2");     // CPUs
    CHECK(quantity(4) == "2048");  // memory, MiB
    CHECK(xpath_string(ovf, "//*[local-name()='Config'][@*[local-name()='key']='firmware']/@*[local-name()='value']") ==
          "efi");
    CHECK(contains(read_text_file(ovf), "web01"));
    const nlohmann::json summary = nlohmann::json::parse(run.out);
    CHECK(summary.at("size") == std::filesystem::file_size(ova));
    CHECK(summary.at("members").size() == 4);
    CHECK(summary.at("members").at(2).at("name") == "system.vmdk");
    CHECK(dir.sink_temporaries().empty());
}

TEST_CASE("imgconv -O ova: a source whose name is long makes a pax member name that tar restores")
{
    const TempDir dir;
    const std::string stem = "disk-" + std::string(140, 'x');
    const std::vector<SourceDisk> disks = {make_disk(dir, stem, "raw", {8 * MiB, {{MiB, 64 * KiB}}}, seed)};
    const std::filesystem::path ova = dir / "long.ova";
    const ProcessResult run = run_tool("imgconv", {"-f", "raw", "-O", "ova", disks[0].path.string(), ova.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    check_ova(dir, ova, "long", disks, {stem + ".vmdk"});
}

TEST_CASE("imgconv -O ova: an 8 GiB disk, whose VMDK could pass 8 GiB - 1, gets a pax size record that tar reads")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const std::vector<SourceDisk> disks = {
        make_disk(dir, "big", "raw", {8 * GiB, {{0, MiB}, {8 * GiB - 64 * KiB, 64 * KiB}}}, seed)};
    const std::filesystem::path ova = dir / "big.ova";
    const ProcessResult run = run_tool("imgconv", {"-f", "raw", "-O", "ova", disks[0].path.string(), ova.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    check_ova(dir, ova, "big", disks, {"big.vmdk"});
    const auto vmdk_size = std::filesystem::file_size(dir / "extracted" / "big.vmdk");
    CHECK(contains(read_text_file(ova), fmt::format(" size={}\n", vmdk_size)));
}

TEST_CASE("imgconv -O ova: bad -o values and several sources for another format are usage errors (exit 2)")
{
    const TempDir dir;
    const SourceDisk disk = make_disk(dir, "disk", "raw", {MiB, {{0, 4 * KiB}}}, seed);
    const std::filesystem::path ova = dir / "bad.ova";
    for (const std::string& option : std::vector<std::string>{"cpus=0", "cpus=2x", "cpus=769", "memory=1", "memory=4Q", "memory=-5",
                                     "os=not-a-guest", "os=linux", "firmware=uefi", "name=", "name=" + std::string(81, 'n')}) {
        CAPTURE(option);
        const ProcessResult run =
            run_tool("imgconv", {"-f", "raw", "-O", "ova", "-o", option, disk.path.string(), ova.string()});
        CHECK(run.exit_code() == 2);
        CHECK(contains(run.err, option.substr(0, option.find('=') + 1)));
    }
    const ProcessResult two = run_tool("imgconv", {"-f", "raw", "-O", "vmdk", disk.path.string(), disk.path.string(),
                                                   (dir / "x.vmdk").string()});
    CHECK(two.exit_code() == 2);
    CHECK(contains(two.err, "only -O ova"));
    CHECK_FALSE(std::filesystem::exists(ova));
}

TEST_CASE("imgconv -O ova: a disk the VMDK writer refuses fails the run and leaves no file")
{
    const TempDir dir;
    const SourceDisk good = make_disk(dir, "good", "raw", {MiB, {{0, 4 * KiB}}}, seed);
    const SourceDisk odd = make_disk(dir, "odd", "raw", {MiB + 100, {{0, 4 * KiB}}}, seed);
    const std::filesystem::path ova = dir / "fail.ova";
    const ProcessResult run =
        run_tool("imgconv", {"-f", "raw", "-O", "ova", good.path.string(), odd.path.string(), ova.string()});
    CHECK(run.exit_code() == 1);
    CHECK(contains(run.err, "512-byte sectors"));
    CHECK_FALSE(std::filesystem::exists(ova));
    CHECK(dir.sink_temporaries().empty());
}

}  // TEST_SUITE
