// OVA: a tar whose first member is an OVF descriptor (DSP0243). Opening one opens one of its disks
// in place, through the disk format's own reader; the image's details describe the whole package.
#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include <diskshift/inspect.hpp>
#include <diskshift/merge.hpp>
#include <diskshift/ova.hpp>

#include "core/fail.hpp"
#include "formats/builtin.hpp"
#include "formats/checks.hpp"
#include "formats/ova/ova_package.hpp"

namespace diskshift::formats {
namespace {

using ova::OvaPackage;
using ova::OvfDisk;

/// The qcow2 magic "QFI\xfb" (qcow2 specification, header offset 0): oVirt packages carry qcow2.
constexpr std::string_view qcow2_magic = "QFI\xfb";

/// A Disk without a file (ovf:fileRef absent or empty): "a blank virtual disk is created of size
/// given by capacity" (DSP8023). It reads as zeros.
class BlankImage final : public Image {
public:
    explicit BlankImage(ImageInfo info) : Image(std::move(info)) {}

private:
    void do_read(std::span<std::byte> buf, std::uint64_t) const override { std::memset(buf.data(), 0, buf.size()); }
    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override
    {
        ExtentList out(offset);
        out.append(length, ExtentKind::zero);
        return out;
    }
};

/// One disk of a package; reads and extents are the disk image's own.
class OvaImage final : public Image {
public:
    OvaImage(ImageInfo info, std::shared_ptr<OvaPackage> package, const OvfDisk& disk, std::unique_ptr<Image> inner,
             bool chosen_by_default)
        : Image(std::move(info)), package_(std::move(package)), disk_(disk), inner_(std::move(inner)),
          chosen_by_default_(chosen_by_default)
    {
    }

    bool chosen_by_default() const noexcept { return chosen_by_default_; }
    void verify() const { package_->finish_verification(disk_); }

private:
    void do_read(std::span<std::byte> buf, std::uint64_t offset) const override { inner_->read(buf, offset); }
    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override
    {
        return inner_->extents(offset, length);
    }

    std::shared_ptr<OvaPackage> package_;
    const OvfDisk& disk_;  ///< inside package_'s descriptor
    std::unique_ptr<Image> inner_;
    bool chosen_by_default_;
};

bool starts_with_bytes(const ByteSource& source, std::string_view magic)
{
    if (source.size() < magic.size()) {
        return false;
    }
    std::string head(magic.size(), '\0');
    source.read_at(std::as_writable_bytes(std::span(head)), 0);
    return head == magic;
}

/// The disk's format, by content (ova::probed_format_or_raw), with qcow2 refused rather than read
/// as raw: no probe of ours recognises it (detect_format never answers raw).
const Format& disk_format(const ByteSource& source)
{
    const Format& format = ova::probed_format_or_raw(source);
    if (format.name() == "raw" && starts_with_bytes(source, qcow2_magic)) {
        fail(Errc::unsupported, "{}: a qcow2 disk (as oVirt packages carry): diskshift does not read qcow2; convert "
             "the disk with qemu-img", source.name());
    }
    return format;
}

std::string folder_of(const std::string& href)
{
    const auto path = ova::normalise_member_name(href);
    const std::size_t slash = path ? path->rfind('/') : std::string::npos;
    return slash == std::string::npos ? std::string() : path->substr(0, slash);
}

std::unique_ptr<Image> open_disk_file(const std::shared_ptr<OvaPackage>& package, const OvfDisk& disk,
                                      const OpenContext& context)
{
    const ova::OvfFile* file = package->file_of(disk);
    if (file == nullptr) {
        ImageInfo info;
        info.filename = fmt::format("{}:{}", package->name(), disk.id);
        info.format = "blank";
        info.virtual_size = disk.capacity;
        return std::make_unique<BlankImage>(std::move(info));
    }
    const std::shared_ptr<const ByteSource> source = package->disk_source(disk);
    OpenContext inner = context;
    inner.options.format.clear();
    inner.options.disk.clear();
    inner.depth = context.depth + 1;
    // Files a VMDK descriptor names are members of the package, never files on the host.
    inner.resolver = [package, folder = folder_of(file->href)](const std::string& name) {
        return package->related_member(folder, name);
    };
    const Format& format = disk_format(*source);
    if (&format == &ova_format()) {
        // Only ever made by hand: refused, so that packages cannot nest hundreds deep in a small file.
        fail(Errc::unsupported, "{}: disk {} ({}) is itself an OVA package; diskshift does not read packages inside "
             "packages", package->name(), disk.id, file->href);
    }
    return format.open(source, inner);
}

/// The disk as the guest sees it: a delta (ovf:parentRef) is read over its parent disk, whose
/// own parent is followed in turn.
std::unique_ptr<Image> open_disk(const std::shared_ptr<OvaPackage>& package, const OvfDisk& disk,
                                 const OpenContext& context)
{
    if (disk.parent_ref.empty()) {
        return open_disk_file(package, disk, context);
    }
    const OvfDisk* parent = package->parent_of(disk);
    if (context.depth >= package->descriptor().disks.size()) {
        fail(Errc::corrupt, "{}: the disks' ovf:parentRef attributes form a loop (at disk {})", package->name(), disk.id);
    }
    OpenContext as_delta = context;
    as_delta.options.allow_delta_alone = true;  // its parent comes from the descriptor, not the file
    OpenContext for_parent = context;
    for_parent.depth = context.depth + 1;
    std::vector<std::shared_ptr<const Image>> base_first;
    base_first.push_back(open_disk(package, *parent, for_parent));
    base_first.push_back(open_disk_file(package, disk, as_delta));
    return overlay_layers(std::move(base_first));
}

/// The disks a default choice picks from: every disk but the CD images VirtualBox lists as disks.
std::size_t hard_disk_count(const ova::OvfDescriptor& descriptor)
{
    return static_cast<std::size_t>(
        std::count_if(descriptor.disks.begin(), descriptor.disks.end(), [](const ova::OvfDisk& d) { return !d.optical; }));
}

ImageInfo package_info(const ByteSource& ova, OvaPackage& package, const OvfDisk& disk, const Image& inner,
                       bool chosen_by_default)
{
    const ImageInfo& disk_info = inner.info();
    ImageInfo info;
    info.filename = ova.name();
    info.format = "ova";
    info.subformat = disk_info.format + (disk_info.subformat ? "/" + *disk_info.subformat : "");
    info.virtual_size = disk_info.virtual_size;
    info.cluster_size = disk_info.cluster_size;
    info.allocated_bytes = disk_info.allocated_bytes;
    info.id = disk_info.id;
    info.parent = disk_info.parent;
    info.details = package.describe();
    info.details["disk"] = disk.id;
    info.details["image"] = describe_json(inner);
    info.warnings = package.warnings();
    if (chosen_by_default) {
        info.warnings.push_back(fmt::format("{}: the package holds {} disks; this is the first, {} (choose with --disk)",
                                            ova.name(), hard_disk_count(package.descriptor()), disk.id));
    }
    if (disk.capacity != disk_info.virtual_size) {
        info.warnings.push_back(fmt::format("{}: disk {}: the descriptor gives a capacity of {} bytes, the disk file "
                                            "holds {}", ova.name(), disk.id, disk.capacity, disk_info.virtual_size));
    }
    info.warnings.insert(info.warnings.end(), disk_info.warnings.begin(), disk_info.warnings.end());
    return info;
}

class OvaFormat final : public Format {
public:
    std::string_view name() const noexcept override { return "ova"; }
    std::string_view description() const noexcept override
    {
        return "OVF package (OVA): a tar of an OVF descriptor and its disks, each read in place";
    }

    int probe(const ProbeInput& input) const noexcept override
    {
        const auto first = ova::first_tar_member(input.head, input.file_size);
        return first && ova::is_descriptor_name(*first) ? 100 : 0;
    }

    std::unique_ptr<Image> open(std::shared_ptr<const ByteSource> source, const OpenContext& context) const override
    {
        auto package = std::make_shared<OvaPackage>(source);
        const OvfDisk& disk = package->choose_disk(context.options.disk);
        const bool chosen_by_default = context.options.disk.empty() && hard_disk_count(package->descriptor()) > 1;
        std::unique_ptr<Image> inner = open_disk(package, disk, context);
        ImageInfo info = package_info(*source, *package, disk, *inner, chosen_by_default);
        return std::make_unique<OvaImage>(std::move(info), std::move(package), disk, std::move(inner),
                                          chosen_by_default);
    }

    void check(std::shared_ptr<const ByteSource> source, const OpenContext& context,
               CheckReport& report) const override
    {
        check_ova(*this, std::move(source), context, report);
    }
};

}  // namespace

const Format& ova_format() noexcept
{
    static const OvaFormat format;
    return format;
}

}  // namespace diskshift::formats

namespace diskshift {

std::vector<OvaDiskEntry> ova_disks(const Image& image)
{
    std::vector<OvaDiskEntry> out;
    if (dynamic_cast<const formats::OvaImage*>(&image) == nullptr) {
        return out;
    }
    for (const auto& disk : image.info().details.at("disks")) {
        out.push_back({disk.at("id").get<std::string>(),
                       disk.at("href").is_string() ? disk.at("href").get<std::string>() : std::string(),
                       disk.at("capacity").get<std::uint64_t>(), disk.at("format").get<std::string>()});
    }
    return out;
}

bool ova_disk_chosen_by_default(const Image& image)
{
    const auto* ova = dynamic_cast<const formats::OvaImage*>(&image);
    return ova != nullptr && ova->chosen_by_default();
}

void verify_ova_reads(const Image& image)
{
    if (const auto* ova = dynamic_cast<const formats::OvaImage*>(&image)) {
        ova->verify();
    }
}

std::string ova_disk_file_name(std::string_view disk_id, std::string_view output_format)
{
    std::string name;
    for (char c : disk_id) {
        const bool safe = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || (c == '.' && !name.empty());
        name += safe ? c : '_';
    }
    if (name.empty()) {
        name = "disk";
    }
    return fmt::format("{}.{}", name, output_format);
}

}  // namespace diskshift
