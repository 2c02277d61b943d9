#include "guest/inspect.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

namespace diskshift::guest {
namespace {

std::vector<std::string_view> lines_of(std::string_view text)
{
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        lines.push_back(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    }
    return lines;
}

std::string_view trimmed(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

std::string lower(std::string_view text)
{
    std::string out(text);
    std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string read_if_present(const GuestFs& fs, const std::string& path)
{
    return fs.exists(path) && !fs.is_directory(path) ? fs.read_file(path) : std::string();
}

bool any_exists(const GuestFs& fs, std::initializer_list<const char*> paths)
{
    return std::ranges::any_of(paths, [&](const char* path) { return fs.exists(path); });
}

/// KEY=value lines of os-release and lsb-release (os-release(5)); one pair of quotes is removed.
std::map<std::string, std::string> key_values(std::string_view text)
{
    std::map<std::string, std::string> out;
    for (auto line : lines_of(text)) {
        line = trimmed(line);
        const auto equals = line.find('=');
        if (line.empty() || line.front() == '#' || equals == std::string_view::npos) {
            continue;
        }
        auto value = trimmed(line.substr(equals + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        out[std::string(trimmed(line.substr(0, equals)))] = std::string(value);
    }
    return out;
}

/// "7.9.2009" -> 7, 9; "22.04" -> 22, 4; "15-SP4" -> 15, 4.
void parse_version(std::string_view text, int& major, int& minor)
{
    std::array<int, 2> parts{0, 0};
    std::size_t found = 0;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    while (p != end && found < parts.size()) {
        if (std::isdigit(static_cast<unsigned char>(*p)) != 0) {
            p = std::from_chars(p, end, parts[found++]).ptr;
        } else {
            ++p;
        }
    }
    if (found > 0) {
        major = parts[0];
        minor = parts[1];
    }
}

/// os-release ID values to the names OsInfo uses (libguestfs' distro names where they differ).
std::string distribution_name(std::string_view id)
{
    static const std::map<std::string, std::string, std::less<>> names = {
        {"ol", "oraclelinux"},  {"sled", "sles"},           {"opensuse-leap", "opensuse"},
        {"amzn", "amazonlinux"}, {"opensuse-tumbleweed", "opensuse"},
    };
    const auto it = names.find(id);
    return it != names.end() ? it->second : std::string(id);
}

/// The distribution a /etc/*-release first line names, for guests without os-release (RHEL 6,
/// CentOS 6, SLES 11).
std::string distribution_of_release_line(std::string_view line)
{
    static const std::array<std::pair<std::string_view, std::string_view>, 6> prefixes = {{
        {"Red Hat Enterprise Linux", "rhel"},
        {"CentOS", "centos"},
        {"Fedora", "fedora"},
        {"Oracle Linux", "oraclelinux"},
        {"SUSE Linux Enterprise", "sles"},
        {"openSUSE", "opensuse"},
    }};
    for (const auto& [prefix, name] : prefixes) {
        if (line.starts_with(prefix)) {
            return std::string(name);
        }
    }
    return {};
}

void inspect_distribution(const GuestFs& fs, OsInfo& os)
{
    auto release = key_values(read_if_present(fs, "/etc/os-release"));
    if (release.empty()) {
        release = key_values(read_if_present(fs, "/usr/lib/os-release"));
    }
    os.distribution = distribution_name(lower(release["ID"]));
    os.product_name = release["PRETTY_NAME"];
    parse_version(release["VERSION_ID"], os.major_version, os.minor_version);

    // The RHEL family's release file carries the minor version os-release leaves out (CentOS 7:
    // VERSION_ID="7", "CentOS Linux release 7.9.2009 (Core)").
    const std::string redhat_release = read_if_present(fs, "/etc/redhat-release");
    if (const auto lines = lines_of(redhat_release); !lines.empty()) {
        const std::string_view first = trimmed(lines.front());
        if (os.distribution.empty()) {
            os.distribution = distribution_of_release_line(first);
        }
        os.product_name = std::string(first);
        const auto release_word = first.find("release ");
        parse_version(release_word != std::string_view::npos ? first.substr(release_word) : first,
                      os.major_version, os.minor_version);
    }
    if (const auto suse = read_if_present(fs, "/etc/SuSE-release"); os.distribution.empty() && !suse.empty()) {
        auto values = key_values(suse);
        os.distribution = distribution_of_release_line(trimmed(lines_of(suse).front()));
        os.product_name = std::string(trimmed(lines_of(suse).front()));
        parse_version(values["VERSION"] + "." + values["PATCHLEVEL"], os.major_version, os.minor_version);
    }
    if (os.distribution.empty()) {
        auto lsb = key_values(read_if_present(fs, "/etc/lsb-release"));
        os.distribution = lower(lsb["DISTRIB_ID"]);
        parse_version(lsb["DISTRIB_RELEASE"], os.major_version, os.minor_version);
        os.product_name = lsb["DISTRIB_DESCRIPTION"];
    }
    const std::string debian_version = std::string(trimmed(read_if_present(fs, "/etc/debian_version")));
    if ((os.distribution.empty() || os.distribution == "debian") && !debian_version.empty() &&
        std::isdigit(static_cast<unsigned char>(debian_version.front())) != 0) {
        os.distribution = "debian";
        parse_version(debian_version, os.major_version, os.minor_version);
    }
}

/// The ELF e_machine values of the architectures OsInfo names (ELF gABI, "e_machine").
std::string elf_architecture(std::string_view header)
{
    constexpr std::size_t e_machine_offset = 18;
    if (header.size() < e_machine_offset + 2 || !header.starts_with("\x7f" "ELF")) {
        return {};
    }
    const bool little_endian = header[5] == 1;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(header[i])); };
    const unsigned machine = little_endian ? byte(e_machine_offset) | byte(e_machine_offset + 1) << 8
                                           : byte(e_machine_offset) << 8 | byte(e_machine_offset + 1);
    switch (machine) {
    case 3: return "i386";
    case 62: return "x86_64";
    case 40: return "arm";
    case 183: return "aarch64";
    case 21: return "ppc64";
    case 22: return "s390x";
    default: return "unknown";
    }
}

/// The kernel's architecture suffix: 5.14.0-70.el9.x86_64, 2.6.32-754.el6.i686, 4.19.0-6-686-pae.
std::string kernel_architecture(std::string_view version)
{
    for (std::string_view suffix : {".x86_64", "-amd64", "-generic", "-default"}) {
        if (version.ends_with(suffix)) {
            return "x86_64";
        }
    }
    for (std::string_view suffix : {".i686", ".i586", ".i386", "-686", "-686-pae", "-pae"}) {
        if (version.ends_with(suffix)) {
            return "i386";
        }
    }
    return {};
}

/// Like libguestfs (daemon/inspect_fs_unix.ml), the architecture of the first system binary found;
/// when none is there, the suffix of the newest kernel.
std::string inspect_architecture(const GuestFs& fs, const OsInfo& os)
{
    for (const char* binary : {"/bin/bash", "/bin/ls", "/bin/echo", "/bin/rm", "/bin/sh", "/usr/bin/ls"}) {
        if (fs.exists(binary) && !fs.is_directory(binary)) {
            if (auto arch = elf_architecture(fs.read_file(binary)); !arch.empty()) {
                return arch;
            }
        }
    }
    return os.kernels.empty() ? std::string() : kernel_architecture(os.kernels.front().version);
}

std::string inspect_package_format(const GuestFs& fs)
{
    if (any_exists(fs, {"/var/lib/rpm", "/usr/lib/sysimage/rpm"})) {
        return "rpm";
    }
    return fs.exists("/var/lib/dpkg") ? "deb" : "";
}

/// GRUB 2 writes grub.cfg; GRUB legacy reads grub.conf (Red Hat) or menu.lst (reference
/// guest-fixups.md §2.6, detect_bootloader).
std::string inspect_bootloader(const GuestFs& fs)
{
    if (any_exists(fs, {"/boot/grub2/grub.cfg", "/boot/grub/grub.cfg", "/etc/default/grub"})) {
        return "grub2";
    }
    if (any_exists(fs, {"/boot/grub/grub.conf", "/boot/grub/menu.lst", "/etc/grub.conf"})) {
        return "grub-legacy";
    }
    for (const auto& vendor : fs.list("/boot/efi/EFI")) {
        if (fs.exists("/boot/efi/EFI/" + vendor + "/grub.cfg")) {
            return "grub2";
        }
    }
    return {};
}

/// UEFI when an EFI system partition holds boot loaders and no disk has BIOS boot code.
std::string inspect_firmware(const GuestFs& fs, const OsInfo& os)
{
    const bool bios_code = std::ranges::any_of(os.disks, [](const Disk& d) { return d.has_boot_code; });
    return !bios_code && !fs.list("/boot/efi/EFI").empty() ? "uefi" : "bios";
}

std::string inspect_init_system(const GuestFs& fs)
{
    if (any_exists(fs, {"/usr/lib/systemd/systemd", "/lib/systemd/systemd"})) {
        return "systemd";
    }
    if (fs.exists("/sbin/initctl") && fs.is_directory("/etc/init")) {
        return "upstart";
    }
    return any_exists(fs, {"/etc/inittab", "/sbin/init"}) ? "sysvinit" : "";
}

std::string inspect_initrd_tool(const GuestFs& fs)
{
    if (any_exists(fs, {"/usr/sbin/update-initramfs", "/sbin/update-initramfs"})) {
        return "initramfs-tools";
    }
    if (any_exists(fs, {"/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut"})) {
        return "dracut";
    }
    return any_exists(fs, {"/sbin/mkinitrd", "/usr/sbin/mkinitrd"}) ? "mkinitrd" : "";
}

bool has_name_ending(const std::vector<std::string>& names, std::initializer_list<std::string_view> endings)
{
    return std::ranges::any_of(names, [&](const std::string& name) {
        return std::ranges::any_of(endings, [&](std::string_view e) { return name.ends_with(e); });
    });
}

/// ifcfg files that configure an interface: not loopback, not a backup (initscripts skip names
/// with a '.', such as *.bak and *.orig), not an alias (ifcfg-eth0:1).
std::vector<std::string> ifcfg_interfaces(const GuestFs& fs)
{
    std::vector<std::string> names;
    for (const char* folder : {"/etc/sysconfig/network-scripts", "/etc/sysconfig/network"}) {
        for (const auto& file : fs.list(folder)) {
            if (file.starts_with("ifcfg-") && file != "ifcfg-lo" && file.find_first_of(".:~") == std::string::npos) {
                names.push_back(file.substr(6));
            }
        }
    }
    return names;
}

std::vector<std::string> keyfile_connections(const GuestFs& fs)
{
    std::vector<std::string> names;
    for (const auto& file : fs.list("/etc/NetworkManager/system-connections")) {
        if (file.ends_with(".nmconnection")) {
            names.push_back(file.substr(0, file.size() - 13));
        }
    }
    return names;
}

std::size_t indent_of(std::string_view line) { return line.find_first_not_of(' '); }

/// The keys under `ethernets:` in a netplan file (netplan(5)): the interfaces it sets up.
void netplan_ethernets(std::string_view yaml, std::vector<std::string>& names)
{
    std::size_t section_indent = std::string_view::npos;
    std::size_t child_indent = std::string_view::npos;
    for (auto line : lines_of(yaml)) {
        const auto content = trimmed(line);
        if (content.empty() || content.front() == '#') {
            continue;
        }
        const std::size_t indent = indent_of(line);
        if (section_indent != std::string_view::npos && indent <= section_indent) {
            section_indent = std::string_view::npos;
        }
        if (content == "ethernets:") {
            section_indent = indent;
            child_indent = std::string_view::npos;
            continue;
        }
        if (section_indent == std::string_view::npos) {
            continue;
        }
        if (child_indent == std::string_view::npos) {
            child_indent = indent;
        }
        if (indent == child_indent && content.ends_with(':')) {
            names.emplace_back(trimmed(content.substr(0, content.size() - 1)));
        }
    }
}

/// `iface NAME inet…` stanzas of /etc/network/interfaces and interfaces.d (interfaces(5)).
void interfaces_stanzas(std::string_view text, std::set<std::string>& names)
{
    for (auto line : lines_of(text)) {
        const auto content = trimmed(line);
        if (!content.starts_with("iface ")) {
            continue;
        }
        const auto name = trimmed(content.substr(6));
        const auto name_end = name.find_first_of(" \t");
        const std::string interface(name.substr(0, name_end));
        if (interface != "lo") {
            names.insert(interface);
        }
    }
}

std::vector<std::string> debian_interfaces(const GuestFs& fs)
{
    std::set<std::string> names;
    interfaces_stanzas(read_if_present(fs, "/etc/network/interfaces"), names);
    for (const auto& file : fs.list("/etc/network/interfaces.d")) {
        interfaces_stanzas(read_if_present(fs, "/etc/network/interfaces.d/" + file), names);
    }
    return {names.begin(), names.end()};
}

std::vector<std::string> netplan_interfaces(const GuestFs& fs)
{
    std::vector<std::string> names;
    for (const auto& file : fs.list("/etc/netplan")) {
        if (file.ends_with(".yaml") || file.ends_with(".yml")) {
            netplan_ethernets(fs.read_file("/etc/netplan/" + file), names);
        }
    }
    return names;
}

std::vector<std::string> networkd_interfaces(const GuestFs& fs)
{
    std::vector<std::string> names;
    for (const auto& file : fs.list("/etc/systemd/network")) {
        if (file.ends_with(".network")) {
            names.push_back(file.substr(0, file.size() - 8));
        }
    }
    return names;
}

/// The configuration style that sets the interfaces up; the first that configures one wins, in
/// the order newer distributions layer them (netplan renders to NetworkManager or networkd).
std::string inspect_network_style(const GuestFs& fs)
{
    if (has_name_ending(fs.list("/etc/netplan"), {".yaml", ".yml"})) {
        return "netplan";
    }
    if (!keyfile_connections(fs).empty()) {
        return "networkmanager";
    }
    if (!ifcfg_interfaces(fs).empty()) {
        return "ifcfg";
    }
    if (!debian_interfaces(fs).empty()) {
        return "interfaces";
    }
    return networkd_interfaces(fs).empty() ? "" : "networkd";
}

/// Every /lib/modules/<version> with its /boot/vmlinuz-<version>, newest first. Initrd names:
/// dracut initramfs-<v>.img, initramfs-tools initrd.img-<v>, SUSE initrd-<v>.
std::vector<Kernel> inspect_kernels(const GuestFs& fs)
{
    std::vector<Kernel> kernels;
    for (const auto& version : fs.list("/lib/modules")) {
        Kernel kernel{version, "/boot/vmlinuz-" + version, ""};
        if (!fs.exists(kernel.image)) {
            continue;
        }
        for (const std::string& initrd :
             {"/boot/initramfs-" + version + ".img", "/boot/initrd.img-" + version, "/boot/initrd-" + version,
              "/boot/initrd-" + version + ".img"}) {
            if (fs.exists(initrd)) {
                kernel.initrd = initrd;
                break;
            }
        }
        kernels.push_back(std::move(kernel));
    }
    std::ranges::sort(kernels, [](const Kernel& a, const Kernel& b) { return compare_versions(a.version, b.version) > 0; });
    return kernels;
}

std::string device_mounted_at(const std::vector<Filesystem>& filesystems, std::string_view mountpoint)
{
    const auto it = std::ranges::find(filesystems, mountpoint, &Filesystem::mountpoint);
    return it != filesystems.end() ? it->device : std::string();
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b)
{
    const auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() && j < b.size()) {
        const bool digits = is_digit(a[i]);
        if (digits != is_digit(b[j])) {
            return digits ? 1 : -1;
        }
        std::size_t i_end = i;
        std::size_t j_end = j;
        while (i_end < a.size() && is_digit(a[i_end]) == digits) {
            ++i_end;
        }
        while (j_end < b.size() && is_digit(b[j_end]) == digits) {
            ++j_end;
        }
        auto run_a = a.substr(i, i_end - i);
        auto run_b = b.substr(j, j_end - j);
        if (digits) {
            run_a.remove_prefix(std::min(run_a.find_first_not_of('0'), run_a.size()));
            run_b.remove_prefix(std::min(run_b.find_first_not_of('0'), run_b.size()));
            if (run_a.size() != run_b.size()) {
                return run_a.size() < run_b.size() ? -1 : 1;
            }
        }
        if (const int order = run_a.compare(run_b); order != 0) {
            return order < 0 ? -1 : 1;
        }
        i = i_end;
        j = j_end;
    }
    return (i < a.size()) - (j < b.size());
}

std::vector<std::string> configured_interfaces(const GuestFs& fs, const OsInfo& os)
{
    if (os.network_style == "netplan") {
        return netplan_interfaces(fs);
    }
    if (os.network_style == "networkmanager") {
        return keyfile_connections(fs);
    }
    if (os.network_style == "ifcfg") {
        return ifcfg_interfaces(fs);
    }
    if (os.network_style == "interfaces") {
        return debian_interfaces(fs);
    }
    return os.network_style == "networkd" ? networkd_interfaces(fs) : std::vector<std::string>{};
}

OsInfo inspect_guest(const GuestFs& fs)
{
    OsInfo os;
    os.filesystems = fs.filesystems();
    os.disks = fs.disks();
    os.root_device = device_mounted_at(os.filesystems, "/");
    os.boot_device = device_mounted_at(os.filesystems, "/boot");
    if (any_exists(fs, {"/Windows/System32", "/WINDOWS/system32"})) {
        os.type = "windows";
        return os;
    }
    if (!fs.is_directory("/etc")) {
        return os;
    }
    os.type = "linux";
    inspect_distribution(fs, os);
    os.kernels = inspect_kernels(fs);
    os.architecture = inspect_architecture(fs, os);
    os.package_format = inspect_package_format(fs);
    os.bootloader = inspect_bootloader(fs);
    os.firmware = inspect_firmware(fs, os);
    os.init_system = inspect_init_system(fs);
    os.initrd_tool = inspect_initrd_tool(fs);
    os.network_style = inspect_network_style(fs);
    return os;
}

}  // namespace diskshift::guest
