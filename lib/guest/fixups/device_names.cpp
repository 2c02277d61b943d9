#include "guest/fixups/device_names.hpp"

#include <algorithm>
#include <optional>
#include <regex>
#include <set>

#include "guest/fixups/config_text.hpp"

namespace diskshift::guest::fixups {
namespace {

/// Where a kernel device name points: the disk's index (sda, vda, xvda, hda, nvme0n1 = 0) and the
/// partition number (0 = the whole disk).
struct DiskPosition {
    unsigned disk = 0;
    unsigned partition = 0;
    bool operator==(const DiskPosition&) const = default;
};

unsigned number_or_zero(const std::ssub_match& digits)
{
    return digits.matched && digits.length() > 0 ? static_cast<unsigned>(std::stoul(digits.str())) : 0;
}

/// The disk letters of sd/hd/vd/xvd names count like spreadsheet columns: a..z, aa..zz, aaa…
/// (Linux sd.c, sd_format_disk_name).
unsigned letters_to_index(const std::string& letters)
{
    unsigned index = 0;
    for (const char c : letters) {
        index = index * 26 + static_cast<unsigned>(c - 'a' + 1);
    }
    return index - 1;
}

std::optional<DiskPosition> kernel_name_position(const std::string& name)
{
    static const std::regex lettered(R"(/dev/(?:sd|hd|vd|xvd)([a-z]{1,3})([0-9]{0,4}))");
    static const std::regex nvme(R"(/dev/nvme([0-9]{1,4})n[0-9]{1,4}(?:p([0-9]{1,4}))?)");
    static const std::regex cciss(R"(/dev/cciss/c[0-9]{1,4}d([0-9]{1,4})(?:p([0-9]{1,4}))?)");
    std::smatch m;
    if (matches(name, m, lettered)) {
        return DiskPosition{letters_to_index(m[1].str()), number_or_zero(m[2])};
    }
    if (matches(name, m, nvme) || matches(name, m, cciss)) {
        return DiskPosition{number_or_zero(m[1]), number_or_zero(m[2])};
    }
    return std::nullopt;
}

std::size_t disk_count(const OsInfo& os)
{
    if (!os.disks.empty()) {
        return os.disks.size();
    }
    std::set<unsigned> disks;
    for (const auto& fs : os.filesystems) {
        if (auto position = kernel_name_position(fs.device)) {
            disks.insert(position->disk);
        }
    }
    return disks.size();
}

DeviceLookup at_position(const DiskPosition& position, const OsInfo& os)
{
    for (const auto& fs : os.filesystems) {
        if (kernel_name_position(fs.device) == position && !fs.uuid.empty()) {
            return {DeviceLookup::Kind::resolved, "UUID=" + fs.uuid};
        }
    }
    return {DeviceLookup::Kind::unresolved, {}};
}

/// /dev/disk/by-id and by-path names carry the disk's serial number or bus address, both of which
/// change with the hypervisor; with a single disk they can only mean that disk. LVM, MD and
/// device-mapper ids (dm-uuid-LVM-…, lvm-pv-uuid-…, md-uuid-…) are stable.
DeviceLookup by_id_or_path(const std::string& id, const OsInfo& os)
{
    if (id.starts_with("dm-") || id.starts_with("lvm-") || id.starts_with("md-")) {
        return {DeviceLookup::Kind::stable, {}};
    }
    if (disk_count(os) != 1) {
        return {DeviceLookup::Kind::unresolved, {}};
    }
    static const std::regex partition_suffix(R"(.*-part([0-9]{1,4}))");
    std::smatch m;
    const unsigned partition = matches(id, m, partition_suffix) ? number_or_zero(m[1]) : 0;
    return at_position({0, partition}, os);
}

bool same_text_ignoring_case(std::string_view a, std::string_view b)
{
    return std::ranges::equal(a, b, [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

/// UUID= and LABEL= names survive the move; they name nothing when inspection found filesystems
/// and none of them carries that UUID or label.
DeviceLookup by_tag(const std::string& value, std::string Filesystem::*tag, const OsInfo& os)
{
    const bool found = std::ranges::any_of(
        os.filesystems, [&](const Filesystem& fs) { return same_text_ignoring_case(fs.*tag, value); });
    const bool known = found || os.filesystems.empty();
    return {known ? DeviceLookup::Kind::stable : DeviceLookup::Kind::unresolved, {}};
}

}  // namespace

DeviceLookup lookup_device(std::string_view name_view, const OsInfo& os)
{
    const std::string name(name_view);
    if (name.starts_with("UUID=")) {
        return by_tag(unquote(name_view.substr(5)).first, &Filesystem::uuid, os);
    }
    if (name.starts_with("LABEL=")) {
        return by_tag(unquote(name_view.substr(6)).first, &Filesystem::label, os);
    }
    if (name.starts_with("/dev/disk/by-uuid/")) {
        return by_tag(name.substr(18), &Filesystem::uuid, os);
    }
    if (name.starts_with("PARTUUID=") || name.starts_with("PARTLABEL=") || name.starts_with("/dev/disk/by-")) {
        for (const std::string_view prefix : {"/dev/disk/by-id/", "/dev/disk/by-path/"}) {
            if (name.starts_with(prefix)) {
                return by_id_or_path(name.substr(prefix.size()), os);
            }
        }
        return {DeviceLookup::Kind::stable, {}};
    }
    if (auto position = kernel_name_position(name)) {
        return at_position(*position, os);
    }
    // /dev/mapper/<name>, /dev/<vg>/<lv>, /dev/md<n>: named by LVM, device-mapper or MD metadata.
    static const std::regex stable_names(R"(/dev/(?:mapper/.+|md[0-9].*|md/.+|[^/]+/[^/]+))");
    if (matches(name, stable_names)) {
        return {DeviceLookup::Kind::stable, {}};
    }
    return {DeviceLookup::Kind::not_a_device, {}};
}

}  // namespace diskshift::guest::fixups
