// GRUB 2 and GRUB legacy: menu timeout, the default kernel, root=/resume= device names to UUIDs,
// a serial console and net.ifnames=0 biosdevname=0 (so that the first NIC is eth0, which the ifcfg
// and ifupdown network configurations name), device.map pointed at the new disk. GRUB 2's grub.cfg
// is regenerated with the guest's own grub2-mkconfig or update-grub when it has one, else edited.
#include <algorithm>
#include <regex>

#include "core/fail.hpp"
#include "guest/fixups/boot_files.hpp"
#include "guest/fixups/config_text.hpp"
#include "guest/fixups/device_names.hpp"
#include "guest/fixups/fixups.hpp"

namespace diskshift::guest::fixups {
namespace {

// ---- the kernel command line ------------------------------------------------------------------

/// root=/resume= device names made stable (kernel-parameters.txt: root=, resume=).
void stabilise_devices(std::vector<std::string>& words, const OsInfo& os, std::vector<std::string>& details)
{
    for (auto& word : words) {
        for (const std::string_view key : {"root=", "resume="}) {
            if (word.starts_with(key)) {
                const DeviceLookup found = lookup_device(std::string_view(word).substr(key.size()), os);
                if (found.kind == DeviceLookup::Kind::resolved) {
                    details.push_back(word + " -> " + std::string(key) + found.spec);
                    word = std::string(key) + found.spec;
                }
            }
        }
    }
}

/// The arguments the target needs: the first NIC named eth0 (systemd.net-naming-scheme(7)), and
/// the console on the screen and on the serial port, the last console= being /dev/console.
void add_target_arguments(std::vector<std::string>& words, const FixOptions& options, std::vector<std::string>& details)
{
    for (const std::string_view argument : {"net.ifnames=0", "biosdevname=0"}) {
        const auto key = argument.substr(0, argument.find('=') + 1);
        const auto same_key = std::ranges::find_if(words, [&](const std::string& w) { return w.starts_with(key); });
        if (same_key == words.end()) {
            words.emplace_back(argument);
            details.push_back(std::string(argument) + " added");
        } else if (*same_key != argument) {
            details.push_back(*same_key + " -> " + std::string(argument));
            *same_key = argument;
        }
    }
    const bool has_serial = std::ranges::any_of(words, [](const std::string& w) { return w.starts_with("console=ttyS"); });
    if (!options.serial_console.empty() && !has_serial) {
        for (const std::string& argument : {std::string("console=tty0"), "console=" + options.serial_console}) {
            words.push_back(argument);
            details.push_back(argument + " added");
        }
    }
}

/// `args` fixed; unchanged (spacing included) when there is nothing to fix.
std::string fixed_cmdline(const std::string& args, const OsInfo& os, const FixOptions& options, bool add_arguments,
                          std::vector<std::string>& details)
{
    const std::size_t before = details.size();
    const auto fields = fields_of(args);
    std::vector<std::string> words(fields.begin(), fields.end());
    stabilise_devices(words, os, details);
    if (add_arguments) {
        add_target_arguments(words, options, details);
    }
    return details.size() == before ? args : joined(words, " ");
}

/// Edits the arguments after the kernel path on lines whose first word is one of `commands`.
void fix_kernel_lines(std::vector<std::string>& lines, std::initializer_list<std::string_view> commands,
                      const OsInfo& os, const FixOptions& options, std::vector<std::string>& details)
{
    for (auto& line : lines) {
        const auto spans = field_spans(line);
        if (spans.size() < 2 || std::ranges::find(commands, field(line, spans[0])) == commands.end()) {
            continue;
        }
        const std::size_t args_start = spans[1].offset + spans[1].length;
        const std::string args = line.substr(args_start);
        const std::string fixed = fixed_cmdline(args, os, options, true, details);
        if (fixed != args) {
            line = line.substr(0, args_start) + " " + fixed;
        }
    }
}

// ---- shell-style settings (/etc/default/grub, grubenv) ----------------------------------------

/// Sets NAME=value on the last line assigning NAME (appending one when none does).
void set_variable(std::vector<std::string>& lines, const std::string& name, const std::string& value,
                  std::vector<std::string>& details)
{
    const auto last = std::find_if(lines.rbegin(), lines.rend(),
                                   [&](const std::string& line) { return shell_assignment(line, name).has_value(); });
    const std::string wanted = name + "=" + value;
    if (last == lines.rend()) {
        const bool final_newline = !lines.empty() && lines.back().empty();
        lines.insert(final_newline ? lines.end() - 1 : lines.end(), wanted);
        if (!final_newline) {
            lines.emplace_back();
        }
    } else if (*shell_assignment(*last, name) != value) {
        *last = wanted;
    } else {
        return;
    }
    details.push_back(wanted);
}

std::string variable(const std::vector<std::string>& lines, const std::string& name)
{
    std::string value;
    for (const auto& line : lines) {
        if (auto found = shell_assignment(line, name)) {
            value = *found;
        }
    }
    return value;
}

std::string quoted(const std::string& value) { return "\"" + value + "\""; }

// ---- the GRUB 2 menu --------------------------------------------------------------------------

/// How GRUB_DEFAULT names the menu entry that boots `version`, from an existing grub.cfg: "0" for
/// the first entry, else the ids (or titles) of its submenu and entry joined by '>' (GRUB manual,
/// "Simple configuration", GRUB_DEFAULT).
std::string menu_default(const std::string& grub_cfg, const std::string& version)
{
    static const std::regex entry(R"re(\s*(?:menuentry|submenu)\s+(?:'([^']*)'|"([^"]*)")[^{]*\{\s*)re");
    static const std::regex entry_id(R"(\$menuentry_id_option\s+'([^']*)')");
    static const std::regex kernel(R"(^\s*(?:linux|linux16|linuxefi|kernel)\s+(\S+))");
    std::vector<std::string> open;  // the names of the submenus and entry we are in
    int depth = 0;
    int top_level_entries = 0;
    std::vector<int> open_depths;
    for (const auto& line : split_lines(grub_cfg)) {
        std::smatch m;
        if (matches(line, m, entry)) {
            std::string name = m[1].matched ? m[1].str() : m[2].str();
            if (std::smatch id; contains_match(line, id, entry_id)) {
                name = id[1].str();
            }
            if (depth == 0) {
                ++top_level_entries;
            }
            open.push_back(name);
            open_depths.push_back(depth);
            ++depth;
            continue;
        }
        if (contains_match(line, m, kernel) && m[1].str().ends_with("vmlinuz-" + version) && !open.empty()) {
            return open.size() == 1 && top_level_entries == 1 ? "0" : joined(open, ">");
        }
        const auto trimmed = fields_of(line);
        if (trimmed.size() == 1 && trimmed[0] == "}" && depth > 0) {
            --depth;
            if (!open_depths.empty() && open_depths.back() == depth) {
                open.pop_back();
                open_depths.pop_back();
            }
        } else if (line.ends_with("{")) {
            ++depth;
        }
    }
    return {};
}

/// The BLS entry (/boot/loader/entries/<name>.conf, Boot Loader Specification) booting `version`.
std::string bls_entry(const GuestFs& fs, const std::string& version)
{
    for (const auto& name : fs.list("/boot/loader/entries")) {
        if (name.ends_with(".conf")) {
            for (const auto& line : split_lines(fs.read_file("/boot/loader/entries/" + name))) {
                const auto words = fields_of(line);
                if (words.size() >= 2 && words[0] == "linux" && words[1].ends_with("vmlinuz-" + version)) {
                    return name.substr(0, name.size() - 5);
                }
            }
        }
    }
    return {};
}

/// Sets saved_entry in a grubenv block: key=value lines padded with '#' to 1024 bytes
/// (grub-editenv(1)); returns false when the block is not that shape.
bool set_grubenv(GuestFs& fs, const std::string& path, const std::string& entry, std::vector<Change>& changes)
{
    constexpr std::size_t block_size = 1024;
    const std::string text = fs.exists(path) ? fs.read_file(path) : std::string();
    if (text.size() != block_size) {
        return false;
    }
    std::vector<std::string> lines;
    for (const auto& line : split_lines(text)) {
        if (!line.empty() && !line.starts_with("#") && !line.starts_with("saved_entry=")) {
            lines.push_back(line);
        }
    }
    lines.push_back("saved_entry=" + entry);
    std::string content = "# GRUB Environment Block\n" + joined(lines, "\n") + "\n";
    if (content.size() > block_size) {
        return false;
    }
    content.resize(block_size, '#');
    add_change(changes, replace_file(fs, path, content, BackupPlace::beside, "grub: saved_entry=" + entry));
    return true;
}

/// GRUB_DEFAULT for `kernel`, and the grubenv change it needs on BLS systems.
std::string grub2_default(GuestFs& fs, const std::string& grub_cfg_path, const Kernel& kernel, bool newest,
                          std::vector<Change>& changes)
{
    if (const std::string entry = bls_entry(fs, kernel.version); !entry.empty()) {
        for (const std::string grubenv : {"/boot/grub2/grubenv", "/boot/grub/grubenv"}) {
            if (set_grubenv(fs, grubenv, entry, changes)) {
                return "saved";
            }
        }
    }
    if (fs.exists(grub_cfg_path)) {
        if (std::string found = menu_default(fs.read_file(grub_cfg_path), kernel.version); !found.empty()) {
            return found == "0" ? found : quoted(found);
        }
    }
    return newest ? "0" : std::string();
}

/// The grub.cfg GRUB 2 reads: on a UEFI guest the one on the EFI system partition, unless that one
/// only chains to /boot/grub2/grub.cfg (the Fedora 34+/RHEL 9 wrapper); else the one under /boot.
std::string grub2_cfg(const GuestFs& fs, const OsInfo& os)
{
    if (os.firmware != "bios") {
        for (const auto& efi_folder : fs.list("/boot/efi/EFI")) {
            const std::string path = "/boot/efi/EFI/" + efi_folder + "/grub.cfg";
            if (fs.exists(path) && fs.read_file(path).find("configfile") == std::string::npos) {
                return path;
            }
        }
    }
    return fs.exists("/boot/grub2/grub.cfg") || fs.is_directory("/boot/grub2") ? "/boot/grub2/grub.cfg"
                                                                                : "/boot/grub/grub.cfg";
}

/// "ttyS1,115200" -> "serial --unit=1 --speed=115200" (GRUB manual, "serial").
std::string serial_command(const std::string& console)
{
    static const std::regex serial(R"(ttyS([0-9]+)(?:,([0-9]+))?.*)");
    std::smatch m;
    if (!matches(console, m, serial)) {
        return {};
    }
    return "serial --unit=" + m[1].str() + (m[2].matched ? " --speed=" + m[2].str() : std::string());
}

TextEdit edit_default_grub(GuestFs& fs, const std::string& text, const std::string& grub_cfg_path, const OsInfo& os,
                           const FixOptions& options, const Kernel* kernel, bool newest, std::vector<Change>& changes)
{
    TextEdit edit;
    auto lines = split_lines(text);
    set_variable(lines, "GRUB_TIMEOUT", std::to_string(options.grub_timeout_seconds), edit.details);
    if (kernel != nullptr) {
        if (const std::string wanted = grub2_default(fs, grub_cfg_path, *kernel, newest, changes); !wanted.empty()) {
            set_variable(lines, "GRUB_DEFAULT", wanted, edit.details);
        }
    }
    for (const std::string name : {"GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"}) {
        const std::string value = variable(lines, name);
        if (value.empty() && name != "GRUB_CMDLINE_LINUX") {
            continue;
        }
        const std::string args = unquote(value).first;
        std::vector<std::string> details;
        const std::string fixed = fixed_cmdline(args, os, options, name == "GRUB_CMDLINE_LINUX", details);
        if (!details.empty()) {
            set_variable(lines, name, quoted(fixed), edit.details);
        }
    }
    if (const std::string serial = serial_command(options.serial_console); !serial.empty()) {
        set_variable(lines, "GRUB_TERMINAL", quoted("console serial"), edit.details);
        set_variable(lines, "GRUB_SERIAL_COMMAND", quoted(serial), edit.details);
    }
    // The appliance's other disks must not end up in the guest's menu (os-prober).
    set_variable(lines, "GRUB_DISABLE_OS_PROBER", "true", edit.details);
    edit.text = join_lines(lines);
    return edit;
}

/// The guest's own command regenerating grub.cfg; empty when it has none.
std::vector<std::string> regenerate_command(const GuestFs& fs, const std::string& grub_cfg_path)
{
    if (has_program(fs, "grub2-mkconfig")) {
        return {"grub2-mkconfig", "-o", grub_cfg_path};
    }
    if (has_program(fs, "update-grub")) {
        return {"update-grub"};
    }
    if (has_program(fs, "grub-mkconfig")) {
        return {"grub-mkconfig", "-o", grub_cfg_path};
    }
    return {};
}

void regenerate(GuestFs& fs, const std::vector<std::string>& argv, const std::string& grub_cfg_path,
                std::vector<Change>& changes)
{
    const std::string backup = fs.exists(grub_cfg_path) ? keep_original(fs, grub_cfg_path, BackupPlace::beside) : "";
    const CommandResult result = fs.run(argv);
    if (result.exit_status != 0) {
        fail(Errc::guest, "{}: {} failed with exit status {}: {}", fs.name(), joined(argv, " "), result.exit_status,
             result.output);
    }
    changes.push_back({joined(argv, " "), "ran", backup, "grub: " + grub_cfg_path + " regenerated"});
}

/// grub.cfg edited in place: timeout, kernel arguments (GRUB 2 script syntax: `set timeout=N`).
TextEdit edit_grub_cfg(const std::string& text, const OsInfo& os, const FixOptions& options)
{
    TextEdit edit;
    auto lines = split_lines(text);
    static const std::regex timeout(R"((\s*set timeout=)(\S+))");
    for (auto& line : lines) {
        std::smatch m;
        const std::string wanted = std::to_string(options.grub_timeout_seconds);
        if (matches(line, m, timeout) && m[2].str() != wanted) {
            line = m[1].str() + wanted;
            edit.details.push_back("timeout " + wanted);
        }
    }
    fix_kernel_lines(lines, {"linux", "linux16", "linuxefi"}, os, options, edit.details);
    edit.text = join_lines(lines);
    return edit;
}

/// BLS entries carry their own kernel arguments on the `options` line.
void fix_bls_entries(GuestFs& fs, const OsInfo& os, const FixOptions& options, std::vector<Change>& changes)
{
    for (const auto& name : fs.list("/boot/loader/entries")) {
        if (!name.ends_with(".conf")) {
            continue;
        }
        const std::string path = "/boot/loader/entries/" + name;
        TextEdit edit;
        auto lines = split_lines(fs.read_file(path));
        fix_kernel_lines(lines, {"options"}, os, options, edit.details);
        edit.text = join_lines(lines);
        apply_edit(fs, path, edit, BackupPlace::backup_folder, "grub", changes);
    }
}

void fix_grub2(GuestFs& fs, const OsInfo& os, const FixOptions& options, const Kernel* kernel, bool newest,
               std::vector<Change>& changes)
{
    const std::string cfg = grub2_cfg(fs, os);
    const std::string defaults = "/etc/default/grub";
    // grub-mkconfig writes linux16 or linuxefi after the firmware it runs on: in the (BIOS)
    // appliance it would make a UEFI guest's menu unbootable, so a UEFI menu is edited instead.
    const auto tool = os.firmware == "uefi" ? std::vector<std::string>{} : regenerate_command(fs, cfg);
    fix_bls_entries(fs, os, options, changes);
    if (tool.empty() || !fs.exists(defaults)) {
        // No way to regenerate it: the menu itself is edited.
        if (fs.exists(cfg)) {
            apply_edit(fs, cfg, edit_grub_cfg(fs.read_file(cfg), os, options), BackupPlace::beside, "grub", changes);
        }
        if (!fs.exists(defaults)) {
            return;
        }
    }
    const TextEdit edit = edit_default_grub(fs, fs.read_file(defaults), cfg, os, options, kernel, newest, changes);
    apply_edit(fs, defaults, edit, BackupPlace::beside, "grub", changes);
    if (edit.changed() && !tool.empty()) {
        regenerate(fs, tool, cfg, changes);
    }
}

// ---- GRUB legacy ------------------------------------------------------------------------------

/// menu.lst/grub.conf: `default N` is the 0-based index of a `title` (GRUB legacy manual).
void fix_grub_legacy(GuestFs& fs, const std::string& path, const OsInfo& os, const FixOptions& options,
                     const Kernel* kernel, std::vector<Change>& changes)
{
    TextEdit edit;
    auto lines = split_lines(fs.read_file(path));
    int title = -1;
    int wanted_default = -1;
    for (const auto& line : lines) {
        const auto words = fields_of(line);
        if (!words.empty() && words[0] == "title") {
            ++title;
        } else if (kernel != nullptr && words.size() >= 2 && words[0] == "kernel" && wanted_default < 0 &&
                   words[1].ends_with("vmlinuz-" + kernel->version)) {
            wanted_default = title;
        }
    }
    static const std::regex setting(R"((\s*(default|timeout)(\s*=\s*|\s+))(\S+)\s*)");
    for (auto& line : lines) {
        std::smatch m;
        if (!matches(line, m, setting)) {
            continue;
        }
        const bool is_default = m[2].str() == "default";
        if (is_default && wanted_default < 0) {
            continue;
        }
        const std::string wanted = std::to_string(is_default ? wanted_default : static_cast<int>(options.grub_timeout_seconds));
        if (m[4].str() != wanted) {
            edit.details.push_back(m[2].str() + " " + wanted);
            line = m[1].str() + wanted;  // last: `m` points into `line`
        }
    }
    fix_kernel_lines(lines, {"kernel"}, os, options, edit.details);
    edit.text = join_lines(lines);
    apply_edit(fs, path, edit, BackupPlace::beside, "grub", changes);
}

// ---- device.map -------------------------------------------------------------------------------

/// device.map: `(hdN) /dev/…` lines name the disks as the old hypervisor did; point them at the
/// disks as the guest will see them.
void fix_device_map(GuestFs& fs, const OsInfo& os, std::vector<Change>& changes)
{
    static const std::regex mapping(R"((\s*\(hd([0-9]+)\)\s+)(\S+)\s*)");
    for (const std::string path : {"/boot/grub2/device.map", "/boot/grub/device.map"}) {
        if (!fs.exists(path) || os.disks.empty()) {
            continue;
        }
        TextEdit edit;
        auto lines = split_lines(fs.read_file(path));
        for (auto& line : lines) {
            std::smatch m;
            if (!matches(line, m, mapping)) {
                continue;
            }
            const auto disk = std::stoul(m[2].str());
            if (disk < os.disks.size() && m[3].str() != os.disks[disk].device) {
                edit.details.push_back("(hd" + m[2].str() + ") -> " + os.disks[disk].device);
                line = m[1].str() + os.disks[disk].device;  // last: `m` points into `line`
            }
        }
        edit.text = join_lines(lines);
        apply_edit(fs, path, edit, BackupPlace::beside, "grub", changes);
    }
}

std::string legacy_config(const GuestFs& fs)
{
    for (const std::string path : {"/boot/grub/grub.conf", "/boot/grub/menu.lst"}) {
        if (fs.exists(path)) {
            return path;
        }
    }
    return {};
}

}  // namespace

std::vector<Change> fix_grub(GuestFs& fs, const OsInfo& os, const FixOptions& options)
{
    std::vector<Change> changes;
    const std::vector<Kernel> kernels = installed_kernels(fs, os);
    const Kernel* kernel = kernels.empty() ? nullptr : &default_kernel(fs, kernels);
    const bool newest = kernel != nullptr && kernel->version == kernels.front().version;
    const std::string legacy = legacy_config(fs);
    const bool grub2 = os.bootloader == "grub2" ||
                       (os.bootloader.empty() && (fs.exists("/etc/default/grub") || legacy.empty()));
    if (grub2) {
        fix_grub2(fs, os, options, kernel, newest, changes);
    } else if (!legacy.empty()) {
        fix_grub_legacy(fs, legacy, os, options, kernel, changes);
    }
    fix_device_map(fs, os, changes);
    return changes;
}

}  // namespace diskshift::guest::fixups
