// imgfix end to end on fake guests built at test time (no root): one appliance launch per imgfix
// run and one per guestfish read-back, so each guest costs three or four launches (~25 s each
// under TCG). These tests carry the CTest label "guest" and a longer timeout
// (tests/guest_tests.cmake).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/guest_image.hpp"
#include "support/process.hpp"
#include "support/guest_tree.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

namespace {

namespace fs = std::filesystem;
using dstest::contains;
using nlohmann::json;

constexpr const char* root_uuid = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1";
constexpr const char* boot_uuid = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f2";

std::string sha256(const fs::path& file)
{
    const auto run = dstest::run_program("sha256sum", {file.string()});
    return run.out.substr(0, 64);
}

/// Runs imgfix with `args`, which must exit `expected_exit`.
dstest::ProcessResult imgfix(const std::vector<std::string>& args, int expected_exit = 0)
{
    dstest::use_libguestfs_tcg();
    auto run = dstest::run_tool("imgfix", args);
    INFO(run.describe());
    REQUIRE(run.exit_code() == expected_exit);
    return run;
}

json imgfix_json(std::vector<std::string> args, int expected_exit = 0)
{
    args.insert(args.begin(), "--json");
    return json::parse(imgfix(args, expected_exit).out);
}

/// A kernel the way the distribution installs it: vmlinuz, initrd and a module of virtio.
void put_kernel(const fs::path& root, const std::string& version, const std::string& initrd_name)
{
    dstest::put_file(root / ("boot/vmlinuz-" + version), "");
    dstest::put_file(root / ("boot/" + initrd_name), "old initrd\n");
    dstest::put_file(root / ("lib/modules/" + version + "/kernel/drivers/block/virtio_blk.ko"), "");
    dstest::put_file(root / ("lib/modules/" + version + "/kernel/drivers/net/virtio_net.ko"), "");
}

/// The files of a Debian 12 guest on one ext4 root: ifupdown with a static address, GRUB 2,
/// initramfs-tools.
void make_debian12(const fs::path& root)
{
    dstest::put_guest_shell(root);
    dstest::put_file(root / "etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
                                 "VERSION_ID=\"12\"\nID=debian\n");
    dstest::put_file(root / "etc/debian_version", "12.4\n");
    dstest::put_file(root / "etc/fstab", "# /etc/fstab\n/dev/sda1 / ext4 errors=remount-ro 0 1\n"
                            "nas:/export /mnt/nas nfs defaults 0 0\n");
    dstest::put_file(root / "etc/network/interfaces", "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n\n"
                                         "auto ens192\niface ens192 inet static\n    address 192.168.10.5/24\n"
                                         "    gateway 192.168.10.1\n");
    dstest::put_file(root / "etc/default/grub", "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=`lsb_release -i -s`\n"
                                   "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n");
    dstest::put_file(root / "boot/grub/grub.cfg", "menuentry 'Debian GNU/Linux' {\n  linux /boot/vmlinuz-6.1.0-17-amd64 "
                                     "root=/dev/sda1 ro quiet\n}\n");
    dstest::put_file(root / "etc/initramfs-tools/modules", "# List of modules\n");
    dstest::put_file(root / "var/lib/dpkg/status", "Package: linux-image-6.1.0-17-amd64\nStatus: install ok installed\n");
    dstest::put_file(root / "lib/systemd/systemd", "");
    put_kernel(root, "6.1.0-17-amd64", "initrd.img-6.1.0-17-amd64");
    dstest::put_fake_guest_tool(root, "/usr/sbin/update-initramfs");
    dstest::put_fake_guest_tool(root, "/usr/sbin/update-grub");
}

/// A fake guest: its disks and the host folders its filesystems were made from.
struct FakeGuest {
    std::vector<fs::path> disks;
    fs::path tree;       ///< the root filesystem's files
    fs::path boot_tree;  ///< a separate /boot's files, or empty
};

/// The host copy of the guest file `path` as the guest had it before imgfix.
fs::path original_of(const FakeGuest& guest, const std::string& path)
{
    if (!guest.boot_tree.empty() && path.starts_with("/boot/")) {
        return guest.boot_tree / path.substr(6);
    }
    return guest.tree / fs::path(path).relative_path();
}

/// Moves the tree's /boot to a folder of its own, for a separate /boot filesystem.
fs::path split_boot(const fs::path& tree)
{
    const fs::path boot = tree.parent_path() / "boot-tree";
    fs::rename(tree / "boot", boot);
    fs::create_directories(tree / "boot");
    return boot;
}

/// What every fixed guest shows: no check failed, something changed, every original kept where
/// the report says and equal to the file the guest had.
void check_report(const json& report, const FakeGuest& guest, const fs::path& read_back)
{
    INFO(report.dump(2));
    for (const auto& check : report.at("checks")) {
        CHECK_MESSAGE(check.at("status") != "fail", check.dump());
    }
    CHECK_FALSE(report.at("changes").empty());
    for (const auto& change : report.at("changes")) {
        const std::string backup = change.at("backup");
        if (backup.empty()) {
            continue;
        }
        const auto kept = read_back / fs::path(backup).relative_path();
        CHECK_MESSAGE(fs::exists(kept), backup);
        const auto original = original_of(guest, change.at("file"));
        if (fs::is_regular_file(original) && fs::is_regular_file(kept)) {
            CHECK_MESSAGE(dstest::read_text_file(kept) == dstest::read_text_file(original), backup);
        }
    }
}

bool any_call(const std::vector<std::string>& calls, const std::string& tool, const std::string& argument)
{
    return std::ranges::any_of(calls, [&](const std::string& call) {
        return call.starts_with(tool + " ") && contains(call, argument);
    });
}

/// fstab names no /dev/sd* device any more, and `spec` (the root's, by UUID) is there.
void check_fstab(const fs::path& read_back, const std::string& spec)
{
    const std::string fstab = dstest::read_text_file(read_back / "etc/fstab");
    INFO(fstab);
    std::istringstream lines(fstab);
    for (std::string line; std::getline(lines, line);) {
        CHECK_FALSE(line.starts_with("/dev/sd"));
    }
    CHECK(contains(fstab, spec));
}

std::vector<std::string> imgfix_args(const FakeGuest& guest, std::vector<std::string> options)
{
    options.insert(options.end(), {"-f", "raw"});
    for (const auto& disk : guest.disks) {
        options.push_back(disk.string());
    }
    return options;
}

std::string checksum(const FakeGuest& guest)
{
    std::string sums;
    for (const auto& disk : guest.disks) {
        sums += sha256(disk);
    }
    return sums;
}

/// Fixes the guest, runs imgfix again as a dry run (no change left, images untouched), and reads
/// the guest's /etc, /var and /boot back with guestfish into <tree>/../back. Three launches.
std::pair<json, fs::path> fix_twice_and_read_back(const FakeGuest& guest)
{
    const std::string before = checksum(guest);
    json report = imgfix_json(imgfix_args(guest, {}));
    const std::string fixed = checksum(guest);
    CHECK(fixed != before);

    const json again = imgfix_json(imgfix_args(guest, {"--dry-run"}));
    CHECK_MESSAGE(again.at("changes").empty(), again.at("changes").dump(2));
    CHECK(again.at("diffs").empty());
    CHECK(checksum(guest) == fixed);

    const fs::path back = guest.tree.parent_path() / "back";
    dstest::guestfish_copy_out(guest.disks, {"/etc", "/var", "/boot"}, back);
    check_report(report, guest, back);
    return {std::move(report), back};
}

std::string calls_text(const fs::path& back) { return fmt::format("{}", fmt::join(dstest::fake_tool_calls(back), "\n")); }

/// Files every RHEL-family fake guest has: rpm database folder, systemd, dracut, grub2-mkconfig.
void put_rhel_family(const fs::path& root, const std::string& os_release, const std::string& redhat_release,
                     const std::string& kernel)
{
    dstest::put_guest_shell(root);
    if (!os_release.empty()) {
        dstest::put_file(root / "etc/os-release", os_release);
    }
    dstest::put_file(root / "etc/redhat-release", redhat_release + "\n");
    fs::create_directories(root / "var/lib/rpm");
    dstest::put_file(root / "usr/lib/systemd/systemd", "");
    put_kernel(root, kernel, "initramfs-" + kernel + ".img");
    dstest::put_fake_guest_tool(root, "/usr/sbin/dracut");
    dstest::put_fake_guest_tool(root, "/usr/sbin/grub2-mkconfig");
}

void put_grub2_defaults(const fs::path& root, const std::string& grub_cfg, const std::string& kernel)
{
    dstest::put_file(root / "etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=saved\nGRUB_DISABLE_SUBMENU=true\n"
                                                "GRUB_CMDLINE_LINUX=\"crashkernel=auto rhgb quiet\"\n");
    dstest::put_file(root / grub_cfg.substr(1), "menuentry 'Linux' {\n  linux16 /vmlinuz-" + kernel +
                                                    " root=/dev/sda2 ro rhgb quiet\n}\n");
}

const std::string static_ifcfg = "TYPE=Ethernet\nBOOTPROTO=none\nNAME=ens192\nDEVICE=ens192\nONBOOT=yes\n"
                                 "IPADDR=192.168.10.7\nPREFIX=24\nGATEWAY=192.168.10.1\nHWADDR=00:50:56:aa:bb:cc\n";

}  // namespace

TEST_CASE("imgfix guest: Debian 12 (interfaces, initramfs-tools), dry run first, then fixed once")
{
    dstest::TempDir dir;
    FakeGuest guest{{dir / "debian12.img"}, dir / "root", {}};
    make_debian12(guest.tree);
    dstest::build_guest_disk(guest.disks[0], {512, {{0, "ext4", root_uuid, "", guest.tree}}});

    // A dry run shows the diffs and leaves the image as it was.
    const std::string pristine = checksum(guest);
    const auto dry = imgfix(imgfix_args(guest, {"--dry-run"}));
    CHECK(contains(dry.out, "--- a/etc/fstab\n+++ b/etc/fstab\n"));
    CHECK(contains(dry.out, "-/dev/sda1 / ext4 errors=remount-ro 0 1\n"));
    CHECK(checksum(guest) == pristine);

    const auto [report, back] = fix_twice_and_read_back(guest);
    CHECK(report.at("os").at("distribution") == "debian");
    CHECK(report.at("os").at("major_version") == 12);
    CHECK(report.at("os").at("network_style") == "interfaces");
    CHECK(report.at("os").at("initrd_tool") == "initramfs-tools");
    CHECK(report.at("os").at("root_device") == "/dev/sda1");
    CHECK(report.at("os").at("filesystems").at(0).at("uuid") == root_uuid);

    check_fstab(back, std::string("UUID=") + root_uuid);
    CHECK(contains(dstest::read_text_file(back / "etc/network/interfaces"), "iface eth0 inet dhcp"));
    CHECK(contains(dstest::read_text_file(back / "etc/default/grub"), "net.ifnames=0 biosdevname=0"));
    INFO(calls_text(back));
    CHECK(any_call(dstest::fake_tool_calls(back), "update-initramfs", "6.1.0-17-amd64"));
    CHECK(any_call(dstest::fake_tool_calls(back), "update-grub", ""));
}

TEST_CASE("imgfix guest: CentOS 7 (ifcfg, GRUB 2, dracut) with a separate /boot")
{
    dstest::TempDir dir;
    FakeGuest guest{{dir / "centos7.img"}, dir / "root", {}};
    const std::string kernel = "3.10.0-1160.el7.x86_64";
    put_rhel_family(guest.tree, "NAME=\"CentOS Linux\"\nID=\"centos\"\nVERSION_ID=\"7\"\n",
                    "CentOS Linux release 7.9.2009 (Core)", kernel);
    dstest::put_file(guest.tree / "etc/fstab", "/dev/sda2 / ext4 defaults 0 0\n/dev/sda1 /boot ext4 defaults 0 0\n");
    dstest::put_file(guest.tree / "etc/sysconfig/network-scripts/ifcfg-ens192", static_ifcfg);
    dstest::put_file(guest.tree / "etc/udev/rules.d/70-persistent-net.rules",
                     "SUBSYSTEM==\"net\", ATTR{address}==\"00:50:56:aa:bb:cc\", NAME=\"ens192\"\n");
    put_grub2_defaults(guest.tree, "/boot/grub2/grub.cfg", kernel);
    guest.boot_tree = split_boot(guest.tree);
    dstest::build_guest_disk(guest.disks[0], {512, {{100, "ext4", boot_uuid, "", guest.boot_tree},
                                                    {0, "ext4", root_uuid, "", guest.tree}}});

    const auto [report, back] = fix_twice_and_read_back(guest);
    CHECK(report.at("os").at("distribution") == "centos");
    CHECK(report.at("os").at("minor_version") == 9);
    CHECK(report.at("os").at("boot_device") == "/dev/sda1");
    check_fstab(back, std::string("UUID=") + boot_uuid);
    const std::string ifcfg = dstest::read_text_file(back / "etc/sysconfig/network-scripts/ifcfg-eth0");
    CHECK(contains(ifcfg, "BOOTPROTO=dhcp"));
    CHECK_FALSE(fs::exists(back / "etc/sysconfig/network-scripts/ifcfg-ens192"));
    CHECK_FALSE(fs::exists(back / "etc/udev/rules.d/70-persistent-net.rules"));
    CHECK(contains(dstest::read_text_file(back / "etc/default/grub"), "net.ifnames=0 biosdevname=0"));
    INFO(calls_text(back));
    CHECK(any_call(dstest::fake_tool_calls(back), "dracut", kernel));
    CHECK(any_call(dstest::fake_tool_calls(back), "grub2-mkconfig", "/boot/grub2/grub.cfg"));
}

TEST_CASE("imgfix guest: RHEL 9 (NetworkManager keyfile) and Ubuntu 22.04 (netplan)")
{
    dstest::TempDir dir;
    SUBCASE("RHEL 9")
    {
        FakeGuest guest{{dir / "rhel9.img"}, dir / "root", {}};
        const std::string kernel = "5.14.0-284.11.1.el9_2.x86_64";
        put_rhel_family(guest.tree, "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.2\"\n",
                        "Red Hat Enterprise Linux release 9.2 (Plow)", kernel);
        dstest::put_file(guest.tree / "etc/fstab", "/dev/sda1 / ext4 defaults 0 0\n");
        dstest::put_file(guest.tree / "etc/NetworkManager/system-connections/ens192.nmconnection",
                         "[connection]\nid=ens192\ntype=ethernet\ninterface-name=ens192\n\n[ethernet]\n"
                         "mac-address=00:50:56:AA:BB:CC\n\n[ipv4]\naddress1=192.168.10.9/24,192.168.10.1\n"
                         "method=manual\n");
        put_grub2_defaults(guest.tree, "/boot/grub2/grub.cfg", kernel);
        dstest::build_guest_disk(guest.disks[0], {512, {{0, "ext4", root_uuid, "", guest.tree}}});

        const auto [report, back] = fix_twice_and_read_back(guest);
        CHECK(report.at("os").at("distribution") == "rhel");
        CHECK(report.at("os").at("network_style") == "networkmanager");
        check_fstab(back, std::string("UUID=") + root_uuid);
        const auto keyfile = back / "etc/NetworkManager/system-connections/diskshift-dhcp.nmconnection";
        REQUIRE(fs::exists(keyfile));
        CHECK(contains(dstest::read_text_file(keyfile), "method=auto"));
        CHECK_FALSE(fs::exists(back / "etc/NetworkManager/system-connections/ens192.nmconnection"));
        INFO(calls_text(back));
        CHECK(any_call(dstest::fake_tool_calls(back), "dracut", kernel));
    }
    SUBCASE("Ubuntu 22.04")
    {
        FakeGuest guest{{dir / "ubuntu2204.img"}, dir / "root", {}};
        const std::string kernel = "5.15.0-91-generic";
        dstest::put_guest_shell(guest.tree);
        dstest::put_file(guest.tree / "etc/os-release", "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\n"
                                                        "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n");
        dstest::put_file(guest.tree / "etc/debian_version", "bookworm/sid\n");
        dstest::put_file(guest.tree / "etc/fstab", "/dev/disk/by-uuid/" + std::string(root_uuid) + " / ext4 defaults 0 1\n"
                                                   "/dev/sdb1 /data ext4 defaults 0 2\n");
        dstest::put_file(guest.tree / "etc/netplan/00-installer-config.yaml",
                         "network:\n  ethernets:\n    ens160:\n      addresses:\n      - 10.1.1.5/24\n"
                         "      routes:\n      - to: default\n        via: 10.1.1.1\n  version: 2\n");
        dstest::put_file(guest.tree / "etc/default/grub", "GRUB_DEFAULT=0\nGRUB_TIMEOUT=0\n"
                                                          "GRUB_CMDLINE_LINUX_DEFAULT=\"\"\nGRUB_CMDLINE_LINUX=\"\"\n");
        dstest::put_file(guest.tree / "boot/grub/grub.cfg", "menuentry 'Ubuntu' {}\n");
        fs::create_directories(guest.tree / "var/lib/dpkg");
        dstest::put_file(guest.tree / "lib/systemd/systemd", "");
        put_kernel(guest.tree, kernel, "initrd.img-" + kernel);
        dstest::put_fake_guest_tool(guest.tree, "/usr/sbin/update-initramfs");
        dstest::put_fake_guest_tool(guest.tree, "/usr/sbin/update-grub");
        dstest::build_guest_disk(guest.disks[0], {512, {{0, "ext4", root_uuid, "", guest.tree}}});

        const auto [report, back] = fix_twice_and_read_back(guest);
        CHECK(report.at("os").at("distribution") == "ubuntu");
        CHECK(report.at("os").at("network_style") == "netplan");
        const std::string fstab = dstest::read_text_file(back / "etc/fstab");
        CHECK(contains(fstab, "nofail"));  // /dev/sdb1: a disk that was not given
        const auto netplan = back / "etc/netplan/50-diskshift-dhcp.yaml";
        REQUIRE(fs::exists(netplan));
        CHECK(contains(dstest::read_text_file(netplan), "dhcp4: true"));
        CHECK_FALSE(fs::exists(back / "etc/netplan/00-installer-config.yaml"));
        INFO(calls_text(back));
        CHECK(any_call(dstest::fake_tool_calls(back), "update-initramfs", kernel));
    }
}

TEST_CASE("imgfix guest: SUSE 15 on btrfs, GRUB legacy CentOS 6, RHEL 8 with an LVM root and a separate /boot")
{
    dstest::TempDir dir;
    SUBCASE("SUSE 15 on btrfs")
    {
        FakeGuest guest{{dir / "sles15.img"}, dir / "root", {}};
        const std::string kernel = "5.14.21-150400.22-default";
        dstest::put_guest_shell(guest.tree);
        dstest::put_file(guest.tree / "etc/os-release", "NAME=\"SLES\"\nVERSION_ID=\"15.4\"\nID=\"sles\"\n"
                                                        "PRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP4\"\n");
        dstest::put_file(guest.tree / "etc/fstab", "UUID=" + std::string(root_uuid) + " / btrfs defaults 0 0\n");
        dstest::put_file(guest.tree / "etc/sysconfig/kernel", "INITRD_MODULES=\"\"\n");
        dstest::put_file(guest.tree / "etc/sysconfig/network/ifcfg-eth0",
                         "BOOTPROTO='static'\nSTARTMODE='auto'\nIPADDR='192.168.10.11/24'\n");
        dstest::put_file(guest.tree / "etc/default/grub", "GRUB_TIMEOUT=8\nGRUB_CMDLINE_LINUX_DEFAULT=\"splash=silent\"\n");
        dstest::put_file(guest.tree / "boot/grub2/grub.cfg", "menuentry 'SLES 15-SP4' {}\n");
        fs::create_directories(guest.tree / "var/lib/rpm");
        dstest::put_file(guest.tree / "usr/lib/systemd/systemd", "");
        put_kernel(guest.tree, kernel, "initrd-" + kernel);
        dstest::put_fake_guest_tool(guest.tree, "/usr/bin/dracut");
        dstest::put_fake_guest_tool(guest.tree, "/usr/sbin/grub2-mkconfig");
        dstest::build_guest_disk(guest.disks[0], {512, {{0, "btrfs", root_uuid, "", guest.tree}}});

        const auto [report, back] = fix_twice_and_read_back(guest);
        CHECK(report.at("os").at("distribution") == "sles");
        CHECK(report.at("os").at("filesystems").at(0).at("type") == "btrfs");
        const std::string ifcfg = dstest::read_text_file(back / "etc/sysconfig/network/ifcfg-eth0");
        CHECK(contains(ifcfg, "BOOTPROTO='dhcp'"));
        CHECK_FALSE(contains(ifcfg, "IPADDR"));
        INFO(calls_text(back));
        CHECK(any_call(dstest::fake_tool_calls(back), "dracut", kernel));
        CHECK(any_call(dstest::fake_tool_calls(back), "grub2-mkconfig", "/boot/grub2/grub.cfg"));
    }
    SUBCASE("GRUB legacy CentOS 6")
    {
        FakeGuest guest{{dir / "centos6.img"}, dir / "root", {}};
        const std::string kernel = "2.6.32-754.el6.x86_64";
        put_rhel_family(guest.tree, "", "CentOS release 6.10 (Final)", kernel);
        fs::remove(guest.tree / "usr/lib/systemd/systemd");
        dstest::put_file(guest.tree / "etc/inittab", "id:3:initdefault:\n");
        dstest::put_file(guest.tree / "etc/fstab", "/dev/sda1 / ext4 defaults 1 1\n");
        dstest::put_file(guest.tree / "etc/sysconfig/network-scripts/ifcfg-eth0",
                         "DEVICE=eth0\nBOOTPROTO=static\nIPADDR=192.168.10.12\nNETMASK=255.255.255.0\nONBOOT=yes\n");
        dstest::put_file(guest.tree / "boot/grub/grub.conf",
                         "default=0\ntimeout=5\ntitle CentOS 6 (" + kernel + ")\n\troot (hd0,0)\n\tkernel /boot/vmlinuz-" +
                             kernel + " ro root=/dev/sda1 rhgb quiet\n\tinitrd /boot/initramfs-" + kernel + ".img\n");
        dstest::build_guest_disk(guest.disks[0], {512, {{0, "ext4", root_uuid, "", guest.tree}}});

        const auto [report, back] = fix_twice_and_read_back(guest);
        CHECK(report.at("os").at("bootloader") == "grub-legacy");
        CHECK(report.at("os").at("init_system") == "sysvinit");
        CHECK(report.at("os").at("major_version") == 6);
        const std::string grub_conf = dstest::read_text_file(back / "boot/grub/grub.conf");
        INFO(grub_conf);
        CHECK(contains(grub_conf, "root=UUID=" + std::string(root_uuid)));
        CHECK(contains(grub_conf, "net.ifnames=0 biosdevname=0"));
        CHECK(contains(grub_conf, "timeout=1"));
        INFO(calls_text(back));
        CHECK(any_call(dstest::fake_tool_calls(back), "dracut", kernel));
    }
    SUBCASE("RHEL 8 with an LVM root and a separate /boot")
    {
        FakeGuest guest{{dir / "rhel8-lvm.img"}, dir / "root", {}};
        const std::string kernel = "4.18.0-477.10.1.el8_8.x86_64";
        put_rhel_family(guest.tree, "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"8.8\"\n",
                        "Red Hat Enterprise Linux release 8.8 (Ootpa)", kernel);
        dstest::put_file(guest.tree / "etc/fstab",
                         "/dev/mapper/vgguest-root / ext4 defaults 0 0\n/dev/sda1 /boot ext4 defaults 0 0\n");
        dstest::put_file(guest.tree / "etc/sysconfig/network-scripts/ifcfg-ens192", static_ifcfg);
        put_grub2_defaults(guest.tree, "/boot/grub2/grub.cfg", kernel);
        guest.boot_tree = split_boot(guest.tree);
        dstest::build_guest_disk(guest.disks[0], {600, {{100, "ext4", boot_uuid, "", guest.boot_tree}, {0, "", "", "", {}}}});
        // The root LV is made and filled in the appliance: LVM needs device-mapper, which needs root.
        const auto tar = dir / "root.tar";
        dstest::run_program("tar", {"-C", guest.tree.string(), "-cf", tar.string(), "."});
        dstest::guestfish_run(guest.disks, "run\npvcreate /dev/sda2\nvgcreate vgguest /dev/sda2\n"
                                           "lvcreate root vgguest 400\nmkfs ext4 /dev/vgguest/root\n"
                                           "set-e2uuid /dev/vgguest/root " + std::string(root_uuid) +
                                           "\nmount /dev/vgguest/root /\ntar-in " + tar.string() + " /\n");

        const auto [report, back] = fix_twice_and_read_back(guest);
        CHECK(report.at("os").at("root_device") == "/dev/vgguest/root");
        CHECK(report.at("os").at("boot_device") == "/dev/sda1");
        check_fstab(back, std::string("UUID=") + boot_uuid);
        CHECK(contains(dstest::read_text_file(back / "etc/fstab"), "/dev/mapper/vgguest-root / ext4"));
        INFO(calls_text(back));
        CHECK(any_call(dstest::fake_tool_calls(back), "dracut", kernel));
    }
}

TEST_CASE("imgfix guest: --check-only fails a 32-bit guest whose small root is on the second disk")
{
    dstest::TempDir dir;
    const fs::path tree = dir / "root";
    dstest::put_file(tree / "bin/ls", std::string("\x7f" "ELF\x01\x01\x01", 7) + std::string(9, '\0') +
                                          std::string("\x02\x00\x03\x00", 4) + std::string(64, '\0'));  // ELF i386
    dstest::put_file(tree / "etc/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n");
    dstest::put_file(tree / "etc/hosts", "127.0.0.1 localhost\n");
    dstest::put_file(tree / "etc/fstab", "/dev/sdb1 / ext4 defaults 0 1\n/dev/sda1 /boot ext4 defaults 0 2\n");
    dstest::put_file(tree / "boot/grub/grub.cfg", "");
    put_kernel(tree, "6.1.0-17-686-pae", "initrd.img-6.1.0-17-686-pae");
    const fs::path boot_tree = split_boot(tree);
    const std::vector<fs::path> disks{dir / "boot.img", dir / "root.img"};
    dstest::build_guest_disk(disks[0], {128, {{0, "ext4", boot_uuid, "", boot_tree}}});
    dstest::build_guest_disk(disks[1], {160, {{0, "ext4", root_uuid, "", tree}}, false});
    const std::string before = sha256(disks[0]) + sha256(disks[1]);

    const json report = imgfix_json({"--check-only", "-f", "raw", disks[0].string(), disks[1].string()}, 1);
    INFO(report.dump(2));
    const auto status_of = [&](const std::string& name) {
        const auto& checks = report.at("checks");
        const auto it = std::ranges::find_if(checks, [&](const json& c) { return c.at("name") == name; });
        REQUIRE(it != checks.end());
        return it->at("status").get<std::string>();
    };
    CHECK(report.at("os").at("architecture") == "i386");
    CHECK(status_of("64-bit") == "fail");
    CHECK(status_of("root on the boot disk") == "fail");
    CHECK(status_of("free space") == "fail");
    CHECK(status_of("distribution") == "pass");
    CHECK(report.at("changes").empty());
    CHECK(sha256(disks[0]) + sha256(disks[1]) == before);
}

TEST_CASE("imgfix: a stream-optimized VMDK is refused in place with a message naming --output (no launch)")
{
    dstest::TempDir dir;
    const fs::path raw = dir / "disk.raw";
    dstest::write_text_file(raw, std::string(1 << 20, '\0'));
    const fs::path stream = dir / "disk.vmdk";
    const auto convert = dstest::run_tool("imgconv", {"-f", "raw", "-O", "vmdk", raw.string(), stream.string()});
    REQUIRE_MESSAGE(convert.exit_code() == 0, convert.describe());
    const std::string before = sha256(stream);

    const auto refused = imgfix({stream.string()}, 1);
    CHECK(contains(refused.err, "disk.vmdk"));
    CHECK(contains(refused.err, "streamOptimized"));
    CHECK(contains(refused.err, "--output"));
    CHECK(sha256(stream) == before);

    const auto no_image = dstest::run_tool("imgfix", {"--dry-run"});
    CHECK(no_image.exit_code() == 2);
}
