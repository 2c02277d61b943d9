// PV drivers in the initrd: the storage and network drivers of the targets are added to the
// initrd configuration (so that later kernels keep them) and the initrd of the default kernel (of
// every kernel with FixOptions::all_kernels) is rebuilt with the guest's own tool, the old one kept.
#include <algorithm>
#include <set>

#include "core/fail.hpp"
#include "guest/fixups/boot_files.hpp"
#include "guest/fixups/config_text.hpp"
#include "guest/fixups/fixups.hpp"

namespace diskshift::guest::fixups {
namespace {

/// Where a rebuilt kernel's driver list is recorded: an unchanged record means its initrd already
/// has them, and a second run rebuilds nothing.
const std::string record_folder = "/var/lib/diskshift/initrd";

enum class InitrdTool { dracut, initramfs_tools, suse_mkinitrd, mkinitrd };

bool is_suse(const OsInfo& os)
{
    return os.distribution.find("suse") != std::string::npos || os.distribution.starts_with("sle");
}

InitrdTool initrd_tool(const GuestFs& fs, const OsInfo& os)
{
    if (os.initrd_tool == "dracut" || has_program(fs, "dracut")) {
        return InitrdTool::dracut;
    }
    if (os.initrd_tool == "initramfs-tools" || has_program(fs, "update-initramfs")) {
        return InitrdTool::initramfs_tools;
    }
    if (has_program(fs, "mkinitrd")) {
        return is_suse(os) ? InitrdTool::suse_mkinitrd : InitrdTool::mkinitrd;
    }
    fail(Errc::guest, "{}: cannot rebuild the initrd: the guest has no dracut, update-initramfs or mkinitrd",
         fs.name());
}

/// The initrd file of `kernel`, named as its tool names it when the kernel has none yet.
std::string initrd_path(const OsInfo& os, const Kernel& kernel, InitrdTool tool)
{
    if (!kernel.initrd.empty()) {
        return kernel.initrd;
    }
    if (tool == InitrdTool::initramfs_tools) {
        return "/boot/initrd.img-" + kernel.version;
    }
    return is_suse(os) ? "/boot/initrd-" + kernel.version : "/boot/initramfs-" + kernel.version + ".img";
}

/// The loadable drivers every kernel in `kernels` has: what the configuration may ask for without
/// breaking a rebuild (dracut's add_drivers fails on a module it cannot find).
std::vector<std::string> common_modules(const std::vector<KernelDrivers>& drivers)
{
    std::vector<std::string> common = drivers.front().modules;
    for (const auto& kernel : drivers) {
        std::erase_if(common, [&](const std::string& m) { return std::ranges::find(kernel.modules, m) == kernel.modules.end(); });
    }
    return common;
}

/// dracut.conf(5): a drop-in adding the drivers to every initrd dracut builds.
void configure_dracut(GuestFs& fs, const std::vector<std::string>& modules, std::vector<Change>& changes)
{
    const std::string content = "# diskshift: the paravirtual drivers the targets need, in every initrd.\n"
                                "add_drivers+=\" " + joined(modules, " ") + " \"\n";
    add_change(changes, write_file(fs, "/etc/dracut.conf.d/diskshift-pv-drivers.conf", content, BackupPlace::beside,
                                   "initrd: dracut adds " + joined(modules, " ")));
}

/// initramfs-tools(7): /etc/initramfs-tools/modules lists one module a line.
void configure_initramfs_tools(GuestFs& fs, const std::vector<std::string>& modules, std::vector<Change>& changes)
{
    const std::string path = "/etc/initramfs-tools/modules";
    const std::string text = fs.exists(path) ? fs.read_file(path) : std::string();
    std::set<std::string> listed;
    for (const auto& line : split_lines(text)) {
        if (const auto spans = field_spans(line); !is_blank_or_comment(line) && !spans.empty()) {
            listed.emplace(field(line, spans[0]));
        }
    }
    std::string added;
    std::vector<std::string> names;
    for (const auto& module : modules) {
        if (!listed.contains(module)) {
            added += module + "\n";
            names.push_back(module);
        }
    }
    if (names.empty()) {
        return;
    }
    std::string content = text;
    if (!content.empty() && !content.ends_with('\n')) {
        content += '\n';
    }
    content += "# diskshift: the paravirtual drivers the targets need.\n" + added;
    add_change(changes, write_file(fs, path, content, BackupPlace::beside, "initrd: modules " + joined(names, " ")));
}

/// SUSE /etc/sysconfig/kernel: INITRD_MODULES="…", read by mkinitrd.
void configure_suse(GuestFs& fs, const std::vector<std::string>& modules, std::vector<Change>& changes)
{
    const std::string path = "/etc/sysconfig/kernel";
    if (!fs.exists(path)) {
        return;
    }
    TextEdit edit;
    auto lines = split_lines(fs.read_file(path));
    for (auto& line : lines) {
        const auto value = shell_assignment(line, "INITRD_MODULES");
        if (!value) {
            continue;
        }
        std::string list = unquote(*value).first;
        for (const auto& module : modules) {
            if (!has_list_item(list, module, ' ')) {
                list += (list.empty() ? "" : " ") + module;
                edit.details.push_back(module);
            }
        }
        line = "INITRD_MODULES=\"" + list + "\"";
    }
    edit.text = join_lines(lines);
    apply_edit(fs, path, edit, BackupPlace::beside, "initrd: INITRD_MODULES adds", changes);
}

std::vector<std::string> rebuild_command(const Kernel& kernel, const std::string& initrd, InitrdTool tool,
                                         const std::vector<std::string>& modules, bool initrd_exists)
{
    switch (tool) {
    case InitrdTool::dracut: {
        std::vector<std::string> argv{"dracut", "-f"};
        if (!modules.empty()) {
            argv.insert(argv.end(), {"--add-drivers", joined(modules, " ")});
        }
        argv.insert(argv.end(), {initrd, kernel.version});
        return argv;
    }
    case InitrdTool::initramfs_tools:
        return {"update-initramfs", initrd_exists ? "-u" : "-c", "-k", kernel.version};
    case InitrdTool::suse_mkinitrd:
        return {"mkinitrd", "-k", kernel.image, "-i", initrd, "-m", joined(modules, " ")};
    case InitrdTool::mkinitrd: {
        std::vector<std::string> argv{"mkinitrd", "-f"};
        for (const auto& module : modules) {
            argv.push_back("--with=" + module);
        }
        argv.insert(argv.end(), {initrd, kernel.version});
        return argv;
    }
    }
    return {};
}

std::string drivers_report(const KernelDrivers& drivers)
{
    const auto list = [](const std::vector<std::string>& names) { return names.empty() ? "none" : joined(names, " "); };
    return "modules " + list(drivers.modules) + "; built in " + list(drivers.builtin) + "; missing " +
           list(drivers.missing);
}

/// Rebuilds the initrd of `kernel` unless its record says it already has `modules`.
void rebuild(GuestFs& fs, const OsInfo& os, const Kernel& kernel, const KernelDrivers& drivers, InitrdTool tool,
             std::vector<Change>& changes)
{
    const std::string record = record_folder + "/" + kernel.version;
    const std::string record_text = joined(drivers.modules, " ") + "\n";
    if (fs.exists(record) && fs.read_file(record) == record_text) {
        return;
    }
    const std::string initrd = initrd_path(os, kernel, tool);
    const bool initrd_exists = fs.exists(initrd);
    std::string backup;
    if (initrd_exists) {
        backup = keep_original(fs, initrd, BackupPlace::beside);
    }
    const auto argv = rebuild_command(kernel, initrd, tool, drivers.modules, initrd_exists);
    const CommandResult result = fs.run(argv);
    if (result.exit_status != 0) {
        fail(Errc::guest, "{}: {} failed with exit status {}: {}", fs.name(), joined(argv, " "), result.exit_status,
             result.output);
    }
    changes.push_back({joined(argv, " "), "ran", backup, "initrd " + kernel.version + ": " + drivers_report(drivers)});
    add_change(changes, write_file(fs, record, record_text, BackupPlace::beside,
                                   "initrd: drivers built into the initrd of " + kernel.version));
}

}  // namespace

std::vector<Change> fix_initrd(GuestFs& fs, const OsInfo& os, const FixOptions& options)
{
    const std::vector<Kernel> installed = installed_kernels(fs, os);
    if (installed.empty()) {
        fail(Errc::guest, "{}: no installed kernel found (no folder in /lib/modules)", fs.name());
    }
    const std::vector<Kernel> kernels = options.all_kernels ? installed
                                                            : std::vector<Kernel>{default_kernel(fs, installed)};
    std::vector<KernelDrivers> drivers;
    for (const auto& kernel : kernels) {
        drivers.push_back(find_drivers(fs, kernel.version));
    }
    const InitrdTool tool = initrd_tool(fs, os);
    const std::vector<std::string> modules = common_modules(drivers);
    std::vector<Change> changes;
    if (!modules.empty()) {
        if (tool == InitrdTool::dracut) {
            configure_dracut(fs, modules, changes);
        } else if (tool == InitrdTool::initramfs_tools) {
            configure_initramfs_tools(fs, modules, changes);
        }
        configure_suse(fs, modules, changes);
    }
    for (std::size_t i = 0; i < kernels.size(); ++i) {
        rebuild(fs, os, kernels[i], drivers[i], tool, changes);
    }
    return changes;
}

}  // namespace diskshift::guest::fixups
