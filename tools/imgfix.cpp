// imgfix: check the disks of one Linux VM and fix what keeps it from booting in a cloud.
#include <iostream>

#include <diskshift/error.hpp>
#include <diskshift/fix.hpp>
#include <fmt/format.h>

#include "common/cli.hpp"

namespace {

using diskshift::guest::CheckStatus;

std::string_view status_word(CheckStatus status)
{
    switch (status) {
    case CheckStatus::pass: return "pass";
    case CheckStatus::warn: return "WARN";
    case CheckStatus::fail: return "FAIL";
    }
    return "FAIL";
}

void print_os(const diskshift::guest::OsInfo& os)
{
    fmt::print("OS:       {} {} {}.{}, {}", os.type, os.distribution, os.major_version, os.minor_version,
               os.architecture);
    if (!os.product_name.empty()) {
        fmt::print(" ({})", os.product_name);
    }
    fmt::print("\nboot:     {}, {}, init {}, initrd by {}, network: {}\n", os.bootloader, os.firmware, os.init_system,
               os.initrd_tool, os.network_style.empty() ? "none" : os.network_style);
    fmt::print("root:     {}{}\n", os.root_device, os.boot_device.empty() ? "" : ", /boot on " + os.boot_device);
    for (const auto& f : os.filesystems) {
        fmt::print("  {:<22} {:<6} {:<38} {}\n", f.device, f.type, f.uuid.empty() ? "-" : f.uuid,
                   f.mountpoint.empty() ? "-" : f.mountpoint);
    }
    for (const auto& k : os.kernels) {
        fmt::print("kernel:   {}{}\n", k.version, k.initrd.empty() ? " (no initrd)" : "");
    }
}

void print_report(const diskshift::FixReport& report)
{
    print_os(report.os);
    fmt::print("checks:\n");
    for (const auto& c : report.checks) {
        fmt::print("  {}  {:<22} {}\n", status_word(c.status), c.name, c.reason);
    }
    if (report.check_only) {
        return;
    }
    fmt::print("{}\n", report.dry_run ? "changes (dry run, nothing written):" : "changes:");
    if (report.changes.empty()) {
        fmt::print("  none: the guest is already fixed\n");
    }
    for (const auto& c : report.changes) {
        fmt::print("  {:<8} {}{}\n", c.action, c.file, c.backup.empty() ? "" : "  (original: " + c.backup + ")");
        if (!c.detail.empty()) {
            fmt::print("           {}\n", c.detail);
        }
    }
    for (const auto& d : report.diffs) {
        fmt::print("\n{}", d.diff);
    }
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"Check the disks of one Linux VM and fix what keeps it from booting in a cloud: fstab, network, "
                 "GRUB and the initrd. Images are changed in place unless --output is given.",
                 "imgfix"};
    std::vector<std::string> images;
    diskshift::FixRequest request;
    bool json = false;
    app.add_flag("--dry-run", request.dry_run, "Change nothing; show a unified diff of every file that would change");
    app.add_flag("--check-only", request.check_only, "Run the pre-flight checks only; exit 1 if one fails");
    app.add_flag("--json", json, "Print the report as JSON on stdout");
    app.add_option("--output", request.output,
                   "Convert the images to raw here first and fix the copies (a file for one image, a folder for several)");
    app.add_option("-f,--format", request.input_format, "Read the images in this format instead of probing (raw must be named)");
    app.add_option("--grub-timeout", request.options.grub_timeout_seconds, "GRUB menu timeout in seconds (default 1)")
        ->check(CLI::Range(0, 3600));
    app.add_flag("--all-kernels", request.options.all_kernels, "Rebuild the initrd of every kernel, not only the default");
    app.add_option("IMAGE", images, "The disks of one VM, boot disk first")->required();

    return diskshift::cli::run(app, argc, argv, [&] {
        std::vector<std::filesystem::path> paths(images.begin(), images.end());
        request.progress = diskshift::cli::progress_callback(false, false);
        const diskshift::FixReport report = diskshift::fix_guest(paths, request);
        if (json) {
            std::cout << diskshift::cli::json_text(diskshift::to_json(report)) << '\n';
        } else {
            print_report(report);
        }
        if (request.check_only && report.any_check_failed()) {
            throw diskshift::Error(diskshift::Errc::guest, "a pre-flight check failed");
        }
    });
}
