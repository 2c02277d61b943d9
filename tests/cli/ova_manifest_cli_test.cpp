// OVA manifests through the tools: SHA1, SHA256 and SHA512 lines in both spellings, mixed; a wrong
// digest fails (exit 1) naming the file and leaves no output; a missing line or no manifest is a
// warning imginfo shows; a certificate is reported.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

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

const std::string ovf_name = "vsphere-1disk.ovf";
const std::string disk_name = "web01-disk1.vmdk";

/// A one-disk vSphere package's files in <dir>/package, and the raw bytes of its disk in <dir>/disk.raw.
void write_package_files(const TempDir& dir)
{
    std::filesystem::create_directories(dir / "package");
    write_whole_file(dir / "disk.raw", ova_disk_bytes(4 * MiB, 41, MiB));
    write_disk_file(dir / "disk.raw", DiskFile::stream_vmdk_qemu, dir / "package" / disk_name);
    std::string ovf = ova_descriptor(ovf_name);
    set_ovf_size(ovf, 1000101, std::filesystem::file_size(dir / "package" / disk_name));
    write_text_file(dir / "package" / ovf_name, ovf);
}

/// Packs the package with `manifest` as vsphere-1disk.mf (none when empty) and `cert` likewise.
std::filesystem::path pack(const TempDir& dir, const std::string& name, const std::string& manifest,
                           const std::string& cert = "")
{
    std::vector<std::string> members = {ovf_name};
    if (!manifest.empty()) {
        write_text_file(dir / "package" / "vsphere-1disk.mf", manifest);
        members.push_back("vsphere-1disk.mf");
    }
    if (!cert.empty()) {
        write_text_file(dir / "package" / "vsphere-1disk.cert", cert);
        members.push_back("vsphere-1disk.cert");
    }
    members.push_back(disk_name);
    const std::filesystem::path ova = dir / name;
    pack_ova(dir / "package", members, "ustar", ova);
    std::filesystem::remove(dir / "package" / "vsphere-1disk.mf");
    std::filesystem::remove(dir / "package" / "vsphere-1disk.cert");
    return ova;
}

std::string line(const TempDir& dir, const std::string& file, const std::string& algorithm,
                 ManifestSpelling spelling = ManifestSpelling::openssl)
{
    return manifest_line(dir / "package", file, algorithm, spelling);
}

/// One hex digit of the line's digest changed.
std::string damaged(std::string text)
{
    char& last = text[text.size() - 2];  // before the '\n'
    last = last == '0' ? '1' : '0';
    return text;
}

ProcessResult convert(const std::filesystem::path& ova, const std::filesystem::path& out)
{
    return run_tool("imgconv", {"-O", "raw", ova.string(), out.string()});
}

bool any_warning_contains(const nlohmann::json& info, const std::string& part)
{
    for (const auto& warning : info.at("warnings")) {
        if (contains(warning.get<std::string>(), part)) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("OVA manifest: SHA1, SHA256, SHA512, mixed, both spellings: verified, converted, no warning")
{
    const TempDir dir;
    write_package_files(dir);
    struct Case {
        std::string what;
        std::string manifest;
        std::vector<std::string> algorithms;
    };
    const std::vector<Case> cases = {
        {"SHA1", line(dir, ovf_name, "SHA1") + line(dir, disk_name, "SHA1"), {"SHA1"}},
        {"SHA256", line(dir, ovf_name, "SHA256") + line(dir, disk_name, "SHA256"), {"SHA256"}},
        {"SHA512", line(dir, ovf_name, "SHA512") + line(dir, disk_name, "SHA512"), {"SHA512"}},
        {"mixed algorithms and spellings",
         line(dir, ovf_name, "SHA1") + line(dir, disk_name, "SHA512", ManifestSpelling::spaced), {"SHA1", "SHA512"}},
        {"VirtualBox spelling", line(dir, ovf_name, "SHA256", ManifestSpelling::spaced) +
                                    line(dir, disk_name, "SHA256", ManifestSpelling::spaced), {"SHA256"}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        const auto ova = pack(dir, "good.ova", c.manifest);
        const nlohmann::json info = ova_info(ova);
        CHECK(info.at("warnings").empty());
        CHECK(info.at("details").at("package").at("manifest") == "vsphere-1disk.mf");
        CHECK(info.at("details").at("package").at("manifest_algorithms") == c.algorithms);
        const ProcessResult run = convert(ova, dir / "out.raw");
        INFO(run.describe());
        CHECK(run.exit_code() == 0);
        CHECK(file_difference(dir / "disk.raw", dir / "out.raw") == "");
        std::filesystem::remove(dir / "out.raw");
    }
}

TEST_CASE("OVA manifest: a wrong digest fails the command naming the file, and no output appears")
{
    const TempDir dir;
    write_package_files(dir);
    for (const std::string algorithm : {"SHA1", "SHA256", "SHA512"}) {
        CAPTURE(algorithm);
        const auto bad_disk = pack(dir, "bad-disk.ova", line(dir, ovf_name, algorithm) + damaged(line(dir, disk_name, algorithm)));
        const ProcessResult run = convert(bad_disk, dir / "out.raw");
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, disk_name));
        CHECK(contains(run.err, "does not match"));
        CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
        CHECK(dir.sink_temporaries().empty());
    }
    const auto bad_ovf = pack(dir, "bad-ovf.ova", damaged(line(dir, ovf_name, "SHA256")) + line(dir, disk_name, "SHA256"));
    for (const std::string tool : {"imginfo", "imgconv"}) {
        CAPTURE(tool);
        const ProcessResult run = tool == "imginfo" ? run_tool("imginfo", {bad_ovf.string()}) : convert(bad_ovf, dir / "out.raw");
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, ovf_name));
        CHECK(contains(run.err, "does not match"));
    }
    CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
}

TEST_CASE("OVA manifest: a file missing from the manifest, or no manifest, is a warning in imginfo's text and JSON")
{
    const TempDir dir;
    write_package_files(dir);
    const auto unlisted = pack(dir, "unlisted.ova", line(dir, ovf_name, "SHA256"));
    const auto none = pack(dir, "none.ova", "");
    for (const auto& [ova, expected] : {std::pair{unlisted, "does not list " + disk_name}, std::pair{none, std::string("no manifest")}}) {
        CAPTURE(expected);
        CHECK(any_warning_contains(ova_info(ova), expected));
        const ProcessResult text = run_tool("imginfo", {ova.string()});
        CHECK(text.exit_code() == 0);
        CHECK(contains(text.out, "warning: "));
        CHECK(contains(text.out, expected));
        const ProcessResult run = convert(ova, dir / "out.raw");
        INFO(run.describe());
        CHECK(run.exit_code() == 0);
        CHECK(file_difference(dir / "disk.raw", dir / "out.raw") == "");
        std::filesystem::remove(dir / "out.raw");
    }
}

TEST_CASE("OVA manifest: a certificate is reported (algorithm, X.509 present), not required nor checked")
{
    const TempDir dir;
    write_package_files(dir);
    const std::string manifest = line(dir, ovf_name, "SHA256") + line(dir, disk_name, "SHA256");
    const std::string cert = "SHA256(vsphere-1disk.mf)= " + std::string(512, 'a') +
                             "\n-----BEGIN CERTIFICATE-----\nMIIBszCCARygAwIBAgIJAK\n-----END CERTIFICATE-----\n";
    const nlohmann::json info = ova_info(pack(dir, "signed.ova", manifest, cert));
    const nlohmann::json& certificate = info.at("details").at("package").at("certificate");
    CHECK(certificate.at("file") == "vsphere-1disk.cert");
    CHECK(certificate.at("algorithm") == "SHA256");
    CHECK(certificate.at("x509") == true);
    CHECK(ova_info(pack(dir, "unsigned.ova", manifest)).at("details").at("package").at("certificate").is_null());
}

}  // TEST_SUITE
