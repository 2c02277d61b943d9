// /etc/fstab, /etc/crypttab and the initramfs-tools resume device: names that change with the
// hypervisor become UUID=, entries that name nothing get nofail, network filesystems are disabled.
// What AWS VM Import does to fstab (docs: import-modify-vm.md, "Modifying /etc/fstab").
#include <algorithm>
#include <array>

#include "guest/fixups/config_text.hpp"
#include "guest/fixups/device_names.hpp"
#include "guest/fixups/fixups.hpp"

namespace diskshift::guest::fixups {
namespace {

using Kind = DeviceLookup::Kind;

/// The prefix of an fstab line this fixup disabled; the rest of the line is the original entry.
constexpr std::string_view disabled_marker = "#diskshift-disabled# ";

/// Filesystems reached over the network, which the target cannot be assumed to reach at boot
/// (AWS lists "nfs, cifs, smbfs, vboxsf, sshfs").
constexpr std::array<std::string_view, 7> network_types{"nfs", "nfs4", "cifs", "smbfs", "vboxsf", "sshfs",
                                                          "fuse.sshfs"};

bool is_network_type(std::string_view type)
{
    return std::ranges::find(network_types, type) != network_types.end();
}

/// `line` with `span` replaced by `text`.
std::string with_field(const std::string& line, FieldSpan span, std::string_view text)
{
    return line.substr(0, span.offset) + std::string(text) + line.substr(span.offset + span.length);
}

/// Adds `option` to the options field at `index` of a fields-separated line, creating the missing
/// fields before it with their defaults.
std::string with_option(const std::string& line, std::size_t index, std::string_view option,
                        std::string_view missing_fields_default)
{
    const auto spans = field_spans(line);
    if (spans.size() > index) {
        const auto options = field(line, spans[index]);
        return with_field(line, spans[index], std::string(options) + "," + std::string(option));
    }
    std::string out = line;
    // Appended piece by piece: GCC 12 at -O3 misreads `" " + std::string(...)` (a false -Wrestrict).
    for (std::size_t i = spans.size(); i < index; ++i) {
        out += ' ';
        out += missing_fields_default;
    }
    out += ' ';
    out += option;
    return out;
}

bool has_option(const std::string& line, std::size_t index, std::string_view option)
{
    const auto spans = field_spans(line);
    return spans.size() > index && has_list_item(field(line, spans[index]), option);
}

/// One fstab line fixed: the new line and what changed (nothing when it stays).
void fix_fstab_line(std::string& line, const OsInfo& os, std::vector<std::string>& details)
{
    if (is_blank_or_comment(line)) {
        return;
    }
    const auto spans = field_spans(line);
    if (spans.size() < 3) {
        return;
    }
    const std::string spec(field(line, spans[0]));
    const std::string mountpoint(field(line, spans[1]));
    const std::string type(field(line, spans[2]));
    if (is_network_type(type)) {
        line = std::string(disabled_marker) + line;
        details.push_back(mountpoint + " (" + type + ") disabled");
        return;
    }
    const DeviceLookup found = lookup_device(spec, os);
    if (found.kind == Kind::resolved) {
        line = with_field(line, spans[0], found.spec);
        details.push_back(spec + " -> " + found.spec);
    } else if (found.kind == Kind::unresolved && mountpoint != "/" && !has_option(line, 3, "nofail")) {
        line = with_option(line, 3, "nofail", "defaults");
        details.push_back(mountpoint + " (" + spec + " not found) nofail");
    }
}

/// /etc/crypttab: <name> <device> [<key file> [<options>]].
void fix_crypttab_line(std::string& line, const OsInfo& os, std::vector<std::string>& details)
{
    if (is_blank_or_comment(line)) {
        return;
    }
    const auto spans = field_spans(line);
    if (spans.size() < 2) {
        return;
    }
    const std::string name(field(line, spans[0]));
    const std::string device(field(line, spans[1]));
    const DeviceLookup found = lookup_device(device, os);
    if (found.kind == Kind::resolved) {
        line = with_field(line, spans[1], found.spec);
        details.push_back(device + " -> " + found.spec);
    } else if (found.kind == Kind::unresolved && !has_option(line, 3, "nofail")) {
        line = with_option(line, 3, "nofail", "none");
        details.push_back(name + " (" + device + " not found) nofail");
    }
}

/// initramfs-tools' RESUME=<device> (initramfs-tools(7), conf.d/resume).
void fix_resume_line(std::string& line, const OsInfo& os, std::vector<std::string>& details)
{
    const auto value = shell_assignment(line, "RESUME");
    if (!value) {
        return;
    }
    const std::string device = unquote(*value).first;
    const DeviceLookup found = lookup_device(device, os);
    if (found.kind == Kind::resolved) {
        line = "RESUME=" + found.spec;
        details.push_back(device + " -> " + found.spec);
    }
}

template <typename FixLine>
TextEdit edit_lines(const std::string& text, const OsInfo& os, FixLine fix_line)
{
    TextEdit edit;
    auto lines = split_lines(text);
    for (auto& line : lines) {
        fix_line(line, os, edit.details);
    }
    edit.text = join_lines(lines);
    return edit;
}

template <typename FixLine>
void fix_file(GuestFs& fs, const std::string& path, BackupPlace place, const OsInfo& os, FixLine fix_line,
              std::vector<Change>& changes)
{
    if (fs.exists(path)) {
        apply_edit(fs, path, edit_lines(fs.read_file(path), os, fix_line), place, path, changes);
    }
}

}  // namespace

std::vector<Change> fix_fstab(GuestFs& fs, const OsInfo& os, const FixOptions& /*options*/)
{
    std::vector<Change> changes;
    fix_file(fs, "/etc/fstab", BackupPlace::beside, os, fix_fstab_line, changes);
    fix_file(fs, "/etc/crypttab", BackupPlace::beside, os, fix_crypttab_line, changes);
    // initramfs-tools sources every file of conf.d: the original must not stay beside.
    fix_file(fs, "/etc/initramfs-tools/conf.d/resume", BackupPlace::backup_folder, os, fix_resume_line, changes);
    return changes;
}

}  // namespace diskshift::guest::fixups
