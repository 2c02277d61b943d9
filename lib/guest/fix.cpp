// fix_guest(): the order of work of reference guest-fixups.md §6.1 — one appliance launch for all
// the disks, inspection and checks read-only in the same launch, then the fixups.
#include <diskshift/fix.hpp>

#include <algorithm>
#include <set>

#include <diskshift/convert.hpp>
#include <diskshift/format.hpp>

#include "core/fail.hpp"
#include "guest/checks.hpp"
#include "guest/fixups/fixups.hpp"
#include "guest/inspect.hpp"
#include "guest/libguestfs_fs.hpp"
#include "guest/recording_fs.hpp"
#include "guest/unified_diff.hpp"

namespace diskshift {
namespace {

using guest::CheckStatus;

/// The qemu block driver that reads an image of ours, and whether qemu can also write it in place;
/// none for formats qemu does not read (an OVA's tar).
struct QemuFormat {
    std::string name;
    bool writable = false;
};

std::optional<QemuFormat> qemu_format_of(const ImageInfo& info)
{
    if (info.format == "raw" || info.format == "vhdx") {
        return QemuFormat{info.format, true};
    }
    if (info.format == "vhd") {
        return QemuFormat{"vpc", true};
    }
    if (info.format == "vmdk") {
        // qemu writes a stream-optimized VMDK only sequentially, when it creates one.
        return QemuFormat{"vmdk", info.subformat != "streamOptimized"};
    }
    return std::nullopt;
}

std::unique_ptr<Image> open_input(const std::filesystem::path& path, const FixRequest& request)
{
    OpenOptions options;
    options.format = request.input_format;
    auto image = open_image(path, options);
    if (image->info().parent) {
        fail(Errc::unsupported, "{}: a delta layer (parent {}): merge the chain into one image first (imgmerge)",
             path.string(), image->info().parent->hint);
    }
    return image;
}

/// Where --output puts the copy of `image`: the output itself for one image, else a file in it.
std::filesystem::path output_for(const std::filesystem::path& image, const FixRequest& request, std::size_t count)
{
    if (count == 1) {
        return request.output;
    }
    return request.output / (image.stem().string() + ".raw");
}

/// What --output made: removed again unless the fix completes, so that a failed run leaves no
/// copy that looks fixed (the rule every diskshift output follows).
class OutputCopies {
public:
    OutputCopies() = default;
    OutputCopies(const OutputCopies&) = delete;
    OutputCopies& operator=(const OutputCopies&) = delete;
    ~OutputCopies()
    {
        std::error_code ec;
        for (const auto& path : files_) {
            std::filesystem::remove(path, ec);
        }
        if (!folder_.empty()) {
            std::filesystem::remove(folder_, ec);  // only when empty
        }
    }

    void add_file(const std::filesystem::path& path) { files_.push_back(path); }
    void add_folder(const std::filesystem::path& path) { folder_ = path; }
    void keep()
    {
        files_.clear();
        folder_.clear();
    }

private:
    std::vector<std::filesystem::path> files_;
    std::filesystem::path folder_;
};

/// The images converted to raw copies for `request.output`. Every image is opened (and so
/// checked) before the first copy is written.
std::vector<guest::Drive> converted_drives(const std::vector<std::filesystem::path>& images, const FixRequest& request,
                                           OutputCopies& copies)
{
    std::vector<std::unique_ptr<Image>> inputs;
    std::set<std::filesystem::path> outputs;
    for (const auto& path : images) {
        if (!outputs.insert(output_for(path, request, images.size())).second) {
            fail(Errc::invalid_argument, "{}: two images would be copied to {}", path.string(),
                 output_for(path, request, images.size()).string());
        }
        inputs.push_back(open_input(path, request));
    }
    if (images.size() > 1) {
        std::error_code ec;
        if (std::filesystem::create_directories(request.output, ec)) {
            copies.add_folder(request.output);
        }
        if (ec) {
            fail(Errc::io, "{}: cannot create the output folder: {}", request.output.string(), ec.message());
        }
    }
    std::vector<guest::Drive> drives;
    for (std::size_t i = 0; i < images.size(); ++i) {
        const auto destination = output_for(images[i], request, images.size());
        ConvertOptions options;
        options.progress = request.progress;
        convert(*inputs[i], destination, options);
        copies.add_file(destination);
        drives.push_back({destination, "raw"});
    }
    return drives;
}

/// The images as they are; in place, every one must be a format qemu writes.
std::vector<guest::Drive> direct_drives(const std::vector<std::filesystem::path>& images, const FixRequest& request,
                                        bool read_only)
{
    std::vector<guest::Drive> drives;
    for (const auto& path : images) {
        const auto image = open_input(path, request);
        const ImageInfo& info = image->info();
        const std::string what = info.format + (info.subformat ? " (" + *info.subformat + ")" : "");
        const auto qemu = qemu_format_of(info);
        if (!qemu) {
            fail(Errc::unsupported, "{}: libguestfs cannot read a {} image: give --output DST to fix a raw copy",
                 path.string(), what);
        }
        if (!qemu->writable && !read_only) {
            fail(Errc::unsupported,
                 "{}: a {} image cannot be changed in place: give --output DST to convert it and fix the copy",
                 path.string(), what);
        }
        drives.push_back({path, qemu->name});
    }
    return drives;
}

using Fixup = std::vector<guest::Change> (*)(guest::GuestFs&, const guest::OsInfo&, const guest::FixOptions&);

/// The fixups in the order they build on each other: fstab before GRUB (both resolve devices the
/// same way), the initrd last (its tool reads the fixed fstab).
constexpr std::array<Fixup, 4> fixups = {guest::fixups::fix_fstab, guest::fixups::fix_network,
                                         guest::fixups::fix_grub, guest::fixups::fix_initrd};

std::vector<guest::Change> run_fixups(guest::GuestFs& fs, const guest::OsInfo& os, const guest::FixOptions& options)
{
    std::vector<guest::Change> changes;
    for (const Fixup fixup : fixups) {
        auto more = fixup(fs, os, options);
        changes.insert(changes.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    return changes;
}

std::vector<FileDiff> diffs_of(const guest::RecordingGuestFs& recording)
{
    std::vector<FileDiff> diffs;
    for (const auto& file : recording.written_files()) {
        diffs.push_back({file.path, guest::unified_diff(file.before, file.after,
                                                        file.existed ? "a" + file.path : "/dev/null", "b" + file.path)});
    }
    return diffs;
}

/// Mountpoints the guest's fstab names that could not be mounted: the fixups cannot see them.
void add_mount_checks(const guest::LibguestfsFs& fs, std::vector<guest::Check>& checks)
{
    for (const auto& [mountpoint, reason] : fs.mount_failures()) {
        checks.push_back({"mount " + mountpoint, CheckStatus::warn, reason});
    }
}

std::string_view status_name(CheckStatus status)
{
    switch (status) {
    case CheckStatus::pass: return "pass";
    case CheckStatus::warn: return "warn";
    case CheckStatus::fail: return "fail";
    }
    return "fail";
}

}  // namespace

bool FixReport::any_check_failed() const { return guest::any_failed(checks); }

FixReport fix_guest(const std::vector<std::filesystem::path>& images, const FixRequest& request)
{
    if (images.empty()) {
        fail(Errc::invalid_argument, "no disk image given");
    }
    FixReport report;
    report.dry_run = request.dry_run;
    report.check_only = request.check_only;
    const bool read_only = request.dry_run || request.check_only;
    OutputCopies copies;
    const auto drives = request.output.empty() || read_only ? direct_drives(images, request, read_only)
                                                            : converted_drives(images, request, copies);
    std::ranges::transform(drives, std::back_inserter(report.images), &guest::Drive::path);

    guest::LibguestfsFs fs(drives, read_only);
    report.os = guest::inspect_guest(fs);
    report.checks = guest::run_checks(fs, report.os);
    add_mount_checks(fs, report.checks);
    if (request.check_only) {
        return report;
    }
    if (report.os.type != "linux") {
        fail(Errc::unsupported, "{}: only Linux guests can be fixed (found: {})", fs.name(),
             report.os.type.empty() ? "no operating system" : report.os.type);
    }
    if (request.dry_run) {
        guest::RecordingGuestFs recording(fs);
        report.changes = run_fixups(recording, report.os, request.options);
        report.diffs = diffs_of(recording);
        return report;
    }
    report.changes = run_fixups(fs, report.os, request.options);
    fs.finish();
    copies.keep();
    return report;
}

nlohmann::ordered_json to_json(const FixReport& report)
{
    const guest::OsInfo& os = report.os;
    nlohmann::ordered_json filesystems = nlohmann::ordered_json::array();
    for (const auto& f : os.filesystems) {
        filesystems.push_back(
            {{"device", f.device}, {"type", f.type}, {"uuid", f.uuid}, {"label", f.label}, {"mountpoint", f.mountpoint}});
    }
    nlohmann::ordered_json disks = nlohmann::ordered_json::array();
    for (const auto& d : os.disks) {
        disks.push_back({{"device", d.device}, {"partition_table", d.partition_table}, {"boot_code", d.has_boot_code}});
    }
    nlohmann::ordered_json kernels = nlohmann::ordered_json::array();
    for (const auto& k : os.kernels) {
        kernels.push_back({{"version", k.version}, {"image", k.image}, {"initrd", k.initrd}});
    }
    nlohmann::ordered_json out;
    out["os"] = {
        {"type", os.type},
        {"distribution", os.distribution},
        {"major_version", os.major_version},
        {"minor_version", os.minor_version},
        {"product_name", os.product_name},
        {"architecture", os.architecture},
        {"package_format", os.package_format},
        {"bootloader", os.bootloader},
        {"firmware", os.firmware},
        {"init_system", os.init_system},
        {"initrd_tool", os.initrd_tool},
        {"network_style", os.network_style},
        {"root_device", os.root_device},
        {"boot_device", os.boot_device},
        {"filesystems", filesystems},
        {"disks", disks},
        {"kernels", kernels},
    };
    out["checks"] = nlohmann::ordered_json::array();
    for (const auto& c : report.checks) {
        out["checks"].push_back({{"name", c.name}, {"status", status_name(c.status)}, {"reason", c.reason}});
    }
    out["changes"] = nlohmann::ordered_json::array();
    for (const auto& c : report.changes) {
        out["changes"].push_back({{"file", c.file}, {"action", c.action}, {"backup", c.backup}, {"detail", c.detail}});
    }
    if (report.dry_run) {
        out["diffs"] = nlohmann::ordered_json::array();
        for (const auto& d : report.diffs) {
            out["diffs"].push_back({{"file", d.file}, {"diff", d.diff}});
        }
    }
    out["dry_run"] = report.dry_run;
    return out;
}

}  // namespace diskshift
