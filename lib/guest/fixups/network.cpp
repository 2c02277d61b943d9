// Network configuration: every Ethernet configuration of the guest becomes one DHCP configuration
// that comes up whatever the first NIC is called on the target, MAC pinning removed.
//
// The interface name changes with the hypervisor (ens192 on VMware, ens5 or eth0 on EC2, enp1s0 on
// KVM). Per network stack:
// - NetworkManager keyfile: a profile without interface-name or mac-address applies to any
//   Ethernet device (nm-settings-keyfile(5));
// - netplan: `match: name: "e*"` takes eth0, ens3, ens5, enp0s3… (netplan(5), "match");
// - systemd-networkd: `[Match] Name=e*` (systemd.network(5), glob patterns);
// - RHEL/SUSE ifcfg and Debian ifupdown have no match-all rule: the configuration names eth0, and
//   the GRUB fixup adds net.ifnames=0 biosdevname=0 to the kernel command line so that the first
//   NIC is eth0 (systemd.net-naming-scheme(7)).
// Configurations of folders whose every file is loaded are backed up under
// /var/lib/diskshift/backup, never beside the original (a copy there would come up as a second
// interface).
#include <algorithm>
#include <regex>

#include "guest/fixups/config_text.hpp"
#include "guest/fixups/fixups.hpp"

namespace diskshift::guest::fixups {
namespace {

constexpr std::string_view first_nic = "eth0";

/// The name of an Ethernet NIC, an alias (eth0:1) or a VLAN (ens192.100) on one: eth<N>, the
/// predictable en* names (systemd.net-naming-scheme(7)), biosdevname's em<N> and p<slot>p<port>.
bool is_ethernet_name(const std::string& name)
{
    static const std::regex ethernet(R"((?:eth[0-9]+|en[a-z0-9]+|em[0-9]+|p[0-9]+p[0-9]+)(?:[.:][0-9]+)?)");
    return matches(name, ethernet);
}

/// Names loaders skip: editor and package-manager leftovers.
bool is_leftover_name(const std::string& name)
{
    for (const std::string_view suffix : {"~", ".bak", ".orig", ".rpmnew", ".rpmsave", ".dpkg-old", ".dpkg-new",
                                          ".swp", ".tmp"}) {
        if (name.ends_with(suffix)) {
            return true;
        }
    }
    return false;
}

/// The Ethernet configurations in `folder` that `is_ethernet` accepts, as guest paths.
template <typename IsEthernet>
std::vector<std::string> configs_in(const GuestFs& fs, const std::string& folder, IsEthernet is_ethernet)
{
    std::vector<std::string> paths;
    if (!fs.is_directory(folder)) {
        return paths;
    }
    for (const auto& name : fs.list(folder)) {
        const std::string path = folder + "/" + name;
        if (!is_leftover_name(name) && !fs.is_directory(path) && is_ethernet(name, fs.read_file(path))) {
            paths.push_back(path);
        }
    }
    return paths;
}

/// Replaces the configurations `originals` by one file `target` holding `content`: a new target
/// takes the owner and mode of the first original (NetworkManager and netplan want 0600), the
/// others move to the backup folder.
void replace_configs(GuestFs& fs, const std::vector<std::string>& originals, const std::string& target,
                     const std::string& content, const std::string& detail, std::vector<Change>& changes)
{
    if (originals.empty()) {
        return;
    }
    if (fs.exists(target)) {
        add_change(changes, replace_file(fs, target, content, BackupPlace::backup_folder, detail));
    } else {
        fs.copy(originals.front(), target);
        fs.write_file(target, content);
        changes.push_back({target, "created", "", detail});
    }
    for (const auto& original : originals) {
        if (original != target) {
            add_change(changes, remove_file(fs, original, BackupPlace::backup_folder,
                                            "network: replaced by " + target));
        }
    }
}

// ---- RHEL and SUSE ifcfg ----------------------------------------------------------------------

std::string ifcfg_value(const std::string& text, std::string_view key)
{
    for (const auto& line : split_lines(text)) {
        if (auto value = shell_assignment(line, key)) {
            return unquote(*value).first;
        }
    }
    return {};
}

/// An ifcfg file of a plain Ethernet NIC: not loopback, not a bond, bridge, VLAN or bond slave
/// (ifcfg-rh: TYPE, MASTER, BRIDGE, VLAN; SUSE ifcfg(5): BONDING_MASTER, BRIDGE, ETHERDEVICE).
bool is_ethernet_ifcfg(const std::string& name, const std::string& text)
{
    if (!name.starts_with("ifcfg-") || name == "ifcfg-lo") {
        return false;
    }
    const std::string type = ifcfg_value(text, "TYPE");
    if (!type.empty() && type != "Ethernet") {
        return false;
    }
    for (const std::string_view key : {"MASTER", "BRIDGE", "BONDING_MASTER", "ETHERDEVICE", "VLAN"}) {
        if (!ifcfg_value(text, key).empty() && ifcfg_value(text, key) != "no") {
            return false;
        }
    }
    return true;
}

void fix_redhat_ifcfg(GuestFs& fs, std::vector<Change>& changes)
{
    const std::string folder = "/etc/sysconfig/network-scripts";
    const std::string content =
        "# diskshift: DHCP on the first network interface, eth0 (net.ifnames=0 biosdevname=0 on the kernel\n"
        "# command line makes the first NIC eth0 whatever the hypervisor).\n"
        "DEVICE=eth0\nNAME=eth0\nTYPE=Ethernet\nBOOTPROTO=dhcp\nONBOOT=yes\n";
    const auto originals = configs_in(fs, folder, is_ethernet_ifcfg);
    replace_configs(fs, originals, folder + "/ifcfg-eth0", content, "network: DHCP on eth0 (ifcfg)", changes);
    // The static routes of those interfaces (ifcfg-rh: route-<name>, route6-<name>).
    for (const auto& original : originals) {
        const std::string name = original.substr(folder.size() + std::string_view("/ifcfg-").size());
        for (const std::string routes : {"route-", "route6-"}) {
            add_change(changes, remove_file(fs, folder + "/" + routes + name, BackupPlace::backup_folder,
                                            "network: static routes removed"));
        }
    }
    // A static default route in /etc/sysconfig/network would override the DHCP one.
    const std::string network = "/etc/sysconfig/network";
    if (fs.exists(network) && !fs.is_directory(network)) {
        TextEdit edit;
        auto lines = split_lines(fs.read_file(network));
        std::erase_if(lines, [](const std::string& line) { return shell_assignment(line, "GATEWAY").has_value(); });
        edit.text = join_lines(lines);
        if (edit.text != fs.read_file(network)) {
            edit.details.push_back("static GATEWAY removed");
        }
        apply_edit(fs, network, edit, BackupPlace::beside, "network", changes);
    }
}

void fix_suse_ifcfg(GuestFs& fs, std::vector<Change>& changes)
{
    const std::string folder = "/etc/sysconfig/network";
    const auto originals = configs_in(fs, folder, is_ethernet_ifcfg);
    const std::string content =
        "# diskshift: DHCP on the first network interface, eth0 (net.ifnames=0 biosdevname=0 on the kernel\n"
        "# command line makes the first NIC eth0 whatever the hypervisor).\n"
        "BOOTPROTO='dhcp'\nSTARTMODE='auto'\n";
    replace_configs(fs, originals, folder + "/ifcfg-eth0", content, "network: DHCP on eth0 (SUSE ifcfg)", changes);
    if (!originals.empty()) {
        // Static routes (the default gateway) of the old addressing (SUSE routes(5)).
        add_change(changes, remove_file(fs, folder + "/routes", BackupPlace::backup_folder,
                                        "network: static routes removed"));
    }
}

// ---- NetworkManager keyfiles ------------------------------------------------------------------

bool is_ethernet_keyfile(const std::string& /*name*/, const std::string& text)
{
    const auto types = ini_values(text, "connection", "type");
    return !types.empty() && (types.front() == "ethernet" || types.front() == "802-3-ethernet");
}

void fix_networkmanager(GuestFs& fs, std::vector<Change>& changes)
{
    const std::string folder = "/etc/NetworkManager/system-connections";
    // A fixed UUID: a second run writes the same file.
    const std::string content =
        "# diskshift: DHCP on any Ethernet device: no interface-name or mac-address, so this profile\n"
        "# comes up on the first NIC whatever its name on the target.\n"
        "[connection]\nid=diskshift-dhcp\nuuid=7c3e1f52-9a4b-4d0e-8f61-2b5d9c0a7e13\ntype=ethernet\n"
        "autoconnect=true\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n";
    replace_configs(fs, configs_in(fs, folder, is_ethernet_keyfile), folder + "/diskshift-dhcp.nmconnection",
                    content, "network: DHCP on any Ethernet device (NetworkManager)", changes);
}

// ---- Debian ifupdown --------------------------------------------------------------------------

/// ifupdown keywords that start a stanza (interfaces(5)).
bool starts_stanza(std::string_view keyword)
{
    return keyword == "iface" || keyword == "mapping" || keyword == "auto" || keyword.starts_with("allow-") ||
           keyword == "source" || keyword == "source-directory" || keyword == "rename" ||
           keyword == "no-auto-down" || keyword == "no-scripts";
}

bool is_diskshift_stanza(const std::vector<std::string_view>& words)
{
    return words.size() >= 4 && words[1] == first_nic && words[2] == "inet" && words[3] == "dhcp";
}

/// The interfaces(5) text without the stanzas of Ethernet NICs (except an `iface eth0 inet dhcp`
/// one), and without Ethernet names on auto/allow-* lines (except eth0).
TextEdit without_ethernet_stanzas(const std::string& text)
{
    TextEdit edit;
    std::vector<std::string> kept;
    bool dropping = false;
    for (const auto& line : split_lines(text)) {
        const auto words = fields_of(line);
        if (words.empty() || words[0].starts_with('#')) {
            kept.push_back(line);
            continue;
        }
        if (!starts_stanza(words[0])) {
            if (!dropping) {
                kept.push_back(line);
            }
            continue;
        }
        dropping = false;
        if (words[0] == "iface" && words.size() >= 2 && is_ethernet_name(std::string(words[1])) &&
            !is_diskshift_stanza(words)) {
            dropping = true;
            edit.details.push_back("iface " + std::string(words[1]) + " removed");
            continue;
        }
        if (words[0] == "auto" || words[0].starts_with("allow-")) {
            std::string rebuilt(words[0]);
            std::size_t removed = 0;
            for (std::size_t i = 1; i < words.size(); ++i) {
                if (is_ethernet_name(std::string(words[i])) && words[i] != first_nic) {
                    ++removed;
                } else {
                    rebuilt += " " + std::string(words[i]);
                }
            }
            if (removed > 0) {
                edit.details.push_back(std::string(words[0]) + " line without Ethernet names");
                if (removed + 1 < words.size()) {
                    kept.push_back(rebuilt);
                }
                continue;
            }
        }
        kept.push_back(line);
    }
    edit.text = join_lines(kept);
    return edit;
}

bool has_diskshift_stanza(const std::string& text)
{
    for (const auto& line : split_lines(text)) {
        const auto words = fields_of(line);
        if (!words.empty() && words[0] == "iface" && is_diskshift_stanza(words)) {
            return true;
        }
    }
    return false;
}

bool has_settings(const std::string& text)
{
    return std::ranges::any_of(split_lines(text), [](const std::string& line) { return !is_blank_or_comment(line); });
}

void fix_interfaces(GuestFs& fs, std::vector<Change>& changes)
{
    const std::string main = "/etc/network/interfaces";
    if (!fs.exists(main)) {
        return;
    }
    bool has_dhcp = false;
    // interfaces.d: ifupdown reads every file there, the originals go to the backup folder.
    const std::string folder = "/etc/network/interfaces.d";
    for (const auto& name : fs.is_directory(folder) ? fs.list(folder) : std::vector<std::string>{}) {
        const std::string path = folder + "/" + name;
        if (fs.is_directory(path)) {
            continue;
        }
        const TextEdit edit = without_ethernet_stanzas(fs.read_file(path));
        has_dhcp = has_dhcp || has_diskshift_stanza(edit.text);
        if (edit.changed() && !has_settings(edit.text)) {
            add_change(changes, remove_file(fs, path, BackupPlace::backup_folder, "network: " + joined(edit.details, "; ")));
        } else {
            apply_edit(fs, path, edit, BackupPlace::backup_folder, "network", changes);
        }
    }
    TextEdit edit = without_ethernet_stanzas(fs.read_file(main));
    if (!has_dhcp && !has_diskshift_stanza(edit.text)) {
        if (!edit.text.empty() && !edit.text.ends_with('\n')) {
            edit.text += '\n';
        }
        edit.text += "\n# diskshift: DHCP on the first network interface, eth0 (net.ifnames=0 biosdevname=0 on the\n"
                     "# kernel command line makes the first NIC eth0 whatever the hypervisor).\n"
                     "auto eth0\niface eth0 inet dhcp\n";
        edit.details.push_back("DHCP on eth0");
    }
    apply_edit(fs, main, edit, BackupPlace::beside, "network", changes);
}

// ---- netplan ----------------------------------------------------------------------------------

bool is_ethernet_netplan(const std::string& name, const std::string& text)
{
    static const std::regex ethernets(R"([ \t]*ethernets[ \t]*:.*)");
    return (name.ends_with(".yaml") || name.ends_with(".yml")) &&
           std::ranges::any_of(split_lines(text), [](const std::string& line) { return matches(line, ethernets); });
}

/// The `renderer:` value of the first file that sets one ("networkd" when none does).
std::string netplan_renderer(const GuestFs& fs, const std::vector<std::string>& files)
{
    static const std::regex renderer(R"([ \t]*renderer[ \t]*:[ \t]*([A-Za-z]+).*)");
    for (const auto& file : files) {
        for (const auto& line : split_lines(fs.read_file(file))) {
            if (std::smatch m; matches(line, m, renderer)) {
                return m[1].str();
            }
        }
    }
    return "networkd";
}

void fix_netplan(GuestFs& fs, std::vector<Change>& changes)
{
    const std::string folder = "/etc/netplan";
    const auto originals = configs_in(fs, folder, is_ethernet_netplan);
    if (originals.empty()) {
        return;
    }
    const std::string content =
        "# diskshift: DHCP on the first Ethernet interface whatever its name on the target (eth0, ens3,\n"
        "# ens5, enp0s3…): the match takes every name starting with \"e\".\n"
        "network:\n  version: 2\n  renderer: " + netplan_renderer(fs, originals) + "\n"
        "  ethernets:\n    diskshift0:\n      match:\n        name: \"e*\"\n      dhcp4: true\n";
    replace_configs(fs, originals, folder + "/50-diskshift-dhcp.yaml", content,
                    "network: DHCP on any interface named e* (netplan)", changes);
}

// ---- systemd-networkd -------------------------------------------------------------------------

/// A .network file for an Ethernet NIC: matched by an Ethernet name, by MAC address or by type.
bool is_ethernet_networkd(const std::string& name, const std::string& text)
{
    if (!name.ends_with(".network")) {
        return false;
    }
    if (!ini_values(text, "Match", "MACAddress").empty() || !ini_values(text, "Match", "PermanentMACAddress").empty()) {
        return true;
    }
    for (const auto& types : ini_values(text, "Match", "Type")) {
        if (has_list_item(types, "ether", ' ')) {
            return true;
        }
    }
    for (const auto& names : ini_values(text, "Match", "Name")) {
        for (const auto span : field_spans(names)) {
            const std::string one(field(names, span));
            if (is_ethernet_name(one) || one.starts_with("e")) {
                return true;
            }
        }
    }
    return false;
}

/// A .link file that names an interface after its MAC address (MAC pinning).
bool is_mac_pinned_link(const std::string& name, const std::string& text)
{
    return name.ends_with(".link") && !ini_values(text, "Match", "MACAddress").empty();
}

void fix_networkd(GuestFs& fs, std::vector<Change>& changes)
{
    const std::string folder = "/etc/systemd/network";
    const std::string content =
        "# diskshift: DHCP on the first Ethernet interface whatever its name on the target.\n"
        "[Match]\nName=e*\n\n[Network]\nDHCP=yes\n";
    replace_configs(fs, configs_in(fs, folder, is_ethernet_networkd), folder + "/50-diskshift-dhcp.network",
                    content, "network: DHCP on any interface named e* (systemd-networkd)", changes);
    for (const auto& link : configs_in(fs, folder, is_mac_pinned_link)) {
        add_change(changes, remove_file(fs, link, BackupPlace::backup_folder, "network: MAC-pinned link removed"));
    }
}

}  // namespace

std::vector<Change> fix_network(GuestFs& fs, const OsInfo& /*os*/, const FixOptions& /*options*/)
{
    std::vector<Change> changes;
    fix_redhat_ifcfg(fs, changes);
    fix_suse_ifcfg(fs, changes);
    fix_networkmanager(fs, changes);
    fix_interfaces(fs, changes);
    fix_netplan(fs, changes);
    fix_networkd(fs, changes);
    // udev rules reading only *.rules: the original may stay beside.
    add_change(changes, remove_file(fs, "/etc/udev/rules.d/70-persistent-net.rules", BackupPlace::beside,
                                    "network: persistent NIC names by MAC address removed"));
    return changes;
}

}  // namespace diskshift::guest::fixups
