// The network fixup on the local-directory backend, one case per network stack.
#include <doctest/doctest.h>

#include <filesystem>

#include "guest/fixups/fixups.hpp"
#include "guest/local_dir_fs.hpp"
#include "support/guest_tree.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace diskshift::guest;
namespace stdfs = std::filesystem;

using Names = std::vector<std::string>;

std::vector<Change> fix(LocalDirGuestFs& guest) { return fixups::fix_network(guest, OsInfo{}, FixOptions{}); }

void put_private(const stdfs::path& file, const std::string& text)
{
    dstest::put_file(file, text);
    stdfs::permissions(file, stdfs::perms::owner_read | stdfs::perms::owner_write);
}

stdfs::perms mode_of(const stdfs::path& file) { return stdfs::status(file).permissions() & stdfs::perms::mask; }

const Change* change_of(const std::vector<Change>& changes, const std::string& file)
{
    for (const auto& change : changes) {
        if (change.file == file) {
            return &change;
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE("fixup network: CentOS 7 ifcfg static on ens192 becomes DHCP on eth0, MAC pinning removed")
{
    dstest::TempDir dir;
    const std::string scripts = "etc/sysconfig/network-scripts/";
    const std::string ens192 = "TYPE=Ethernet\nBOOTPROTO=static\nDEVICE=ens192\nONBOOT=yes\n"
                               "HWADDR=00:50:56:aa:bb:cc\nIPADDR=10.0.0.5\nPREFIX=24\nGATEWAY=10.0.0.1\n";
    dstest::put_file(dir / (scripts + "ifcfg-ens192"), ens192);
    dstest::put_file(dir / (scripts + "ifcfg-lo"), "DEVICE=lo\nIPADDR=127.0.0.1\n");
    dstest::put_file(dir / (scripts + "route-ens192"), "10.9.0.0/16 via 10.0.0.254\n");
    dstest::put_file(dir / (scripts + "ifcfg-bond0"), "DEVICE=bond0\nTYPE=Bond\n");
    dstest::put_file(dir / "etc/sysconfig/network", "NETWORKING=yes\nGATEWAY=10.0.0.1\nHOSTNAME=db1\n");
    dstest::put_file(dir / "etc/udev/rules.d/70-persistent-net.rules",
                     "SUBSYSTEM==\"net\", ATTR{address}==\"00:50:56:aa:bb:cc\", NAME=\"ens192\"\n");
    LocalDirGuestFs guest(dir.path());

    const auto changes = fix(guest);
    CHECK(changes.size() == 5);
    CHECK(guest.list("/" + scripts) == Names{"ifcfg-bond0", "ifcfg-eth0", "ifcfg-lo"});
    CHECK(guest.exists("/var/lib/diskshift/backup/" + scripts + "route-ens192"));
    const std::string eth0 = guest.read_file("/" + scripts + "ifcfg-eth0");
    CHECK(eth0.find("DEVICE=eth0\n") != std::string::npos);
    CHECK(eth0.find("BOOTPROTO=dhcp\n") != std::string::npos);
    CHECK(eth0.find("ONBOOT=yes\n") != std::string::npos);
    CHECK(eth0.find("HWADDR") == std::string::npos);
    CHECK(eth0.find("IPADDR") == std::string::npos);
    CHECK(guest.read_file("/var/lib/diskshift/backup/" + scripts + "ifcfg-ens192") == ens192);
    CHECK(guest.read_file("/etc/sysconfig/network") == "NETWORKING=yes\nHOSTNAME=db1\n");
    CHECK(guest.read_file("/etc/sysconfig/network.diskshift.orig") == "NETWORKING=yes\nGATEWAY=10.0.0.1\nHOSTNAME=db1\n");
    CHECK_FALSE(guest.exists("/etc/udev/rules.d/70-persistent-net.rules"));
    CHECK(guest.exists("/etc/udev/rules.d/70-persistent-net.rules.diskshift.orig"));

    CHECK(fix(guest).empty());
}

TEST_CASE("fixup network: RHEL 9 NetworkManager keyfile pinned to ens192 becomes a DHCP profile for any NIC")
{
    dstest::TempDir dir;
    const std::string folder = "etc/NetworkManager/system-connections/";
    const std::string keyfile = "[connection]\nid=ens192\nuuid=3b7d5f0e-1111-4222-8333-444455556666\ntype=ethernet\n"
                                "interface-name=ens192\n\n[ethernet]\nmac-address=00:50:56:AA:BB:CC\n\n"
                                "[ipv4]\naddress1=10.0.0.5/24,10.0.0.1\nmethod=manual\n";
    put_private(dir / (folder + "ens192.nmconnection"), keyfile);
    put_private(dir / (folder + "home.nmconnection"), "[connection]\nid=home\ntype=wifi\n");
    LocalDirGuestFs guest(dir.path());

    const auto changes = fix(guest);
    REQUIRE(changes.size() == 2);
    CHECK(changes[0].action == "created");
    CHECK(guest.list("/" + folder) == Names{"diskshift-dhcp.nmconnection", "home.nmconnection"});
    const std::string profile = guest.read_file("/" + folder + "diskshift-dhcp.nmconnection");
    CHECK(profile.find("type=ethernet\n") != std::string::npos);
    CHECK(profile.find("[ipv4]\nmethod=auto\n") != std::string::npos);
    CHECK(profile.find("interface-name=") == std::string::npos);
    CHECK(profile.find("mac-address=") == std::string::npos);
    // NetworkManager ignores a keyfile others can read.
    CHECK(mode_of(dir / (folder + "diskshift-dhcp.nmconnection")) ==
          (stdfs::perms::owner_read | stdfs::perms::owner_write));
    CHECK(guest.read_file("/var/lib/diskshift/backup/" + folder + "ens192.nmconnection") == keyfile);

    CHECK(fix(guest).empty());
}

TEST_CASE("fixup network: Debian 12 interfaces and interfaces.d static stanzas become DHCP on eth0")
{
    dstest::TempDir dir;
    const std::string interfaces = "source /etc/network/interfaces.d/*\n\n"
                                   "auto lo\niface lo inet loopback\n\n"
                                   "allow-hotplug ens192\niface ens192 inet static\n"
                                   "    address 10.0.0.5/24\n    gateway 10.0.0.1\n"
                                   "iface ens192 inet6 static\n    address fd00::5/64\n";
    dstest::put_file(dir / "etc/network/interfaces", interfaces);
    dstest::put_file(dir / "etc/network/interfaces.d/ens224", "auto ens224\niface ens224 inet static\n  address 10.1.0.5/24\n");
    dstest::put_file(dir / "etc/network/interfaces.d/br0", "auto br0\niface br0 inet dhcp\n  bridge_ports none\n");
    LocalDirGuestFs guest(dir.path());

    const auto changes = fix(guest);
    CHECK(changes.size() == 2);
    CHECK(guest.read_file("/etc/network/interfaces") ==
          "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\n\n"
          "# diskshift: DHCP on the first network interface, eth0 (net.ifnames=0 biosdevname=0 on the\n"
          "# kernel command line makes the first NIC eth0 whatever the hypervisor).\n"
          "auto eth0\niface eth0 inet dhcp\n");
    CHECK(guest.read_file("/etc/network/interfaces.diskshift.orig") == interfaces);
    CHECK(guest.list("/etc/network/interfaces.d") == Names{"br0"});
    REQUIRE(change_of(changes, "/etc/network/interfaces.d/ens224"));
    CHECK(change_of(changes, "/etc/network/interfaces.d/ens224")->backup ==
          "/var/lib/diskshift/backup/etc/network/interfaces.d/ens224");

    CHECK(fix(guest).empty());
}

TEST_CASE("fixup network: Ubuntu 22.04 netplan with a MAC match becomes DHCP on any e* interface")
{
    dstest::TempDir dir;
    const std::string installer = "network:\n  version: 2\n  ethernets:\n    ens192:\n      match:\n"
                                  "        macaddress: 00:50:56:aa:bb:cc\n      set-name: ens192\n"
                                  "      addresses: [10.0.0.5/24]\n      routes:\n        - to: default\n"
                                  "          via: 10.0.0.1\n";
    put_private(dir / "etc/netplan/00-installer-config.yaml", installer);
    dstest::put_file(dir / "etc/netplan/01-wifi.yaml", "network:\n  wifis: {}\n");
    LocalDirGuestFs guest(dir.path());

    const auto changes = fix(guest);
    CHECK(changes.size() == 2);
    CHECK(guest.list("/etc/netplan") == Names{"01-wifi.yaml", "50-diskshift-dhcp.yaml"});
    CHECK(guest.read_file("/etc/netplan/50-diskshift-dhcp.yaml") ==
          "# diskshift: DHCP on the first Ethernet interface whatever its name on the target (eth0, ens3,\n"
          "# ens5, enp0s3…): the match takes every name starting with \"e\".\n"
          "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    diskshift0:\n      match:\n"
          "        name: \"e*\"\n      dhcp4: true\n");
    CHECK(mode_of(dir / "etc/netplan/50-diskshift-dhcp.yaml") == (stdfs::perms::owner_read | stdfs::perms::owner_write));
    CHECK(guest.read_file("/var/lib/diskshift/backup/etc/netplan/00-installer-config.yaml") == installer);

    CHECK(fix(guest).empty());
}

TEST_CASE("fixup network: SUSE 15 ifcfg in /etc/sysconfig/network becomes DHCP, static routes removed")
{
    dstest::TempDir dir;
    const std::string eth0 = "BOOTPROTO='static'\nSTARTMODE='auto'\nIPADDR='10.0.0.5/24'\nLLADDR='00:50:56:aa:bb:cc'\n";
    dstest::put_file(dir / "etc/sysconfig/network/ifcfg-eth0", eth0);
    dstest::put_file(dir / "etc/sysconfig/network/ifcfg-lo", "IPADDR=127.0.0.1/8\nSTARTMODE=nfsroot\n");
    dstest::put_file(dir / "etc/sysconfig/network/routes", "default 10.0.0.1 - -\n");
    dstest::put_file(dir / "etc/sysconfig/network/config", "NETCONFIG_DNS_POLICY=\"auto\"\n");
    LocalDirGuestFs guest(dir.path());

    const auto changes = fix(guest);
    CHECK(changes.size() == 2);
    CHECK(guest.read_file("/etc/sysconfig/network/ifcfg-eth0").ends_with("BOOTPROTO='dhcp'\nSTARTMODE='auto'\n"));
    CHECK(guest.list("/etc/sysconfig/network") == Names{"config", "ifcfg-eth0", "ifcfg-lo"});
    CHECK(guest.read_file("/var/lib/diskshift/backup/etc/sysconfig/network/ifcfg-eth0") == eth0);
    CHECK(guest.exists("/var/lib/diskshift/backup/etc/sysconfig/network/routes"));

    CHECK(fix(guest).empty());
}

TEST_CASE("fixup network: systemd-networkd configurations and MAC-pinned .link files")
{
    dstest::TempDir dir;
    dstest::put_file(dir / "etc/systemd/network/10-ens192.network",
                     "[Match]\nName=ens192\n\n[Network]\nAddress=10.0.0.5/24\nGateway=10.0.0.1\n");
    dstest::put_file(dir / "etc/systemd/network/10-ens192.link", "[Match]\nMACAddress=00:50:56:aa:bb:cc\n\n[Link]\nName=ens192\n");
    dstest::put_file(dir / "etc/systemd/network/20-wg0.netdev", "[NetDev]\nName=wg0\nKind=wireguard\n");
    LocalDirGuestFs guest(dir.path());

    const auto changes = fix(guest);
    CHECK(changes.size() == 3);
    CHECK(guest.list("/etc/systemd/network") == Names{"20-wg0.netdev", "50-diskshift-dhcp.network"});
    CHECK(guest.read_file("/etc/systemd/network/50-diskshift-dhcp.network").ends_with("[Match]\nName=e*\n\n[Network]\nDHCP=yes\n"));
    CHECK(guest.exists("/var/lib/diskshift/backup/etc/systemd/network/10-ens192.link"));

    CHECK(fix(guest).empty());
}
