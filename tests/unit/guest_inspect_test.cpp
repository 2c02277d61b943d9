// Inspection and pre-flight checks of guests laid out in local folders.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "guest/checks.hpp"
#include "guest/inspect.hpp"
#include "guest/local_dir_fs.hpp"
#include "support/guest_tree.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace diskshift::guest;

/// The first 20 bytes of an ELF file for `machine` (ELF gABI: e_ident, e_type, e_machine).
std::string elf_header(bool is_64_bit, unsigned machine)
{
    std::string header = "\x7f" "ELF";
    header += static_cast<char>(is_64_bit ? 2 : 1);  // EI_CLASS
    header += '\x01';                                  // EI_DATA: little-endian
    header += '\x01';                                  // EI_VERSION
    header.resize(16, '\0');
    header += "\x02";  // e_type ET_EXEC, low byte
    header += '\0';
    header += static_cast<char>(machine & 0xff);
    header += static_cast<char>(machine >> 8);
    return header;
}

/// A CentOS 7 guest: ifcfg network, GRUB 2, dracut, two kernels, separate /boot.
void make_centos7(const std::filesystem::path& root)
{
    dstest::put_file(root / "etc/os-release", "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nVERSION_ID=\"7\"\n"
                                 "PRETTY_NAME=\"CentOS Linux 7 (Core)\"\n");
    dstest::put_file(root / "etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n");
    dstest::put_file(root / "etc/fstab", "/dev/sda2 / xfs defaults 0 0\n/dev/sda1 /boot xfs defaults 0 0\n");
    dstest::put_file(root / "bin/ls", elf_header(true, 62) + std::string(100, '\0'));
    dstest::put_file(root / "var/lib/rpm/Packages", "");
    dstest::put_file(root / "etc/default/grub", "GRUB_TIMEOUT=5\n");
    dstest::put_file(root / "boot/grub2/grub.cfg", "menuentry 'CentOS' {}\n");
    dstest::put_file(root / "usr/lib/systemd/systemd", "");
    dstest::put_file(root / "usr/sbin/dracut", "");
    dstest::put_file(root / "etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nBOOTPROTO=static\n");
    dstest::put_file(root / "etc/sysconfig/network-scripts/ifcfg-lo", "DEVICE=lo\n");
    dstest::put_file(root / "etc/sysconfig/network-scripts/ifcfg-eth0.bak", "DEVICE=eth0\n");
    for (const std::string version : {"3.10.0-1160.el7.x86_64", "3.10.0-957.el7.x86_64"}) {
        std::filesystem::create_directories(root / "lib/modules" / version);
        dstest::put_file(root / ("boot/vmlinuz-" + version), "");
        dstest::put_file(root / ("boot/initramfs-" + version + ".img"), "");
    }
    std::filesystem::create_directories(root / "lib/modules/3.10.0-999.el7.x86_64");  // modules without a kernel
}

std::vector<Filesystem> centos7_filesystems()
{
    return {{"/dev/sda1", "xfs", "11111111-1111-1111-1111-111111111111", "", "/boot"},
            {"/dev/sda2", "xfs", "22222222-2222-2222-2222-222222222222", "", "/"}};
}

const Check& find_check(const std::vector<Check>& checks, const std::string& name)
{
    const auto it = std::ranges::find(checks, name, &Check::name);
    REQUIRE_MESSAGE(it != checks.end(), "no check named " << name);
    return *it;
}

}  // namespace

TEST_CASE("guest inspection: CentOS 7 with ifcfg, GRUB 2, dracut and two kernels")
{
    dstest::TempDir dir;
    make_centos7(dir.path());
    LocalDirGuestFs guest(dir.path(), centos7_filesystems(), {{"/dev/sda", "mbr", true}});

    const OsInfo os = inspect_guest(guest);
    CHECK(os.type == "linux");
    CHECK(os.distribution == "centos");
    CHECK(os.major_version == 7);
    CHECK(os.minor_version == 9);
    CHECK(os.product_name == "CentOS Linux release 7.9.2009 (Core)");
    CHECK(os.architecture == "x86_64");
    CHECK(os.package_format == "rpm");
    CHECK(os.bootloader == "grub2");
    CHECK(os.firmware == "bios");
    CHECK(os.init_system == "systemd");
    CHECK(os.initrd_tool == "dracut");
    CHECK(os.network_style == "ifcfg");
    CHECK(os.root_device == "/dev/sda2");
    CHECK(os.boot_device == "/dev/sda1");
    REQUIRE(os.kernels.size() == 2);
    CHECK(os.kernels[0].version == "3.10.0-1160.el7.x86_64");
    CHECK(os.kernels[0].image == "/boot/vmlinuz-3.10.0-1160.el7.x86_64");
    CHECK(os.kernels[0].initrd == "/boot/initramfs-3.10.0-1160.el7.x86_64.img");
    CHECK(os.kernels[1].version == "3.10.0-957.el7.x86_64");
    CHECK(configured_interfaces(guest, os) == std::vector<std::string>{"eth0"});

    const auto checks = run_checks(guest, os);
    for (const auto& check : checks) {
        INFO(check.name << ": " << check.reason);
        CHECK(check.status == CheckStatus::pass);
    }
    CHECK(find_check(checks, "root filesystem").reason == "/dev/sda2 is xfs");
}

TEST_CASE("guest inspection: Debian 12 with interfaces and initramfs-tools, Ubuntu 22.04 with netplan")
{
    dstest::TempDir dir;
    const auto debian = dir / "debian";
    dstest::put_file(debian / "etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n");
    dstest::put_file(debian / "etc/debian_version", "12.4\n");
    dstest::put_file(debian / "var/lib/dpkg/status", "");
    dstest::put_file(debian / "boot/grub/grub.cfg", "");
    dstest::put_file(debian / "lib/systemd/systemd", "");
    dstest::put_file(debian / "usr/sbin/update-initramfs", "");
    dstest::put_file(debian / "etc/network/interfaces", "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n");
    dstest::put_file(debian / "etc/network/interfaces.d/ens3", "auto ens3\niface ens3 inet static\n  address 10.0.0.2/24\n"
                                                  "iface ens3 inet6 auto\n");
    dstest::put_file(debian / "boot/vmlinuz-6.1.0-17-amd64", "");
    dstest::put_file(debian / "boot/initrd.img-6.1.0-17-amd64", "");
    std::filesystem::create_directories(debian / "lib/modules/6.1.0-17-amd64");

    const OsInfo os = inspect_guest(LocalDirGuestFs(debian));
    CHECK(os.distribution == "debian");
    CHECK(os.major_version == 12);
    CHECK(os.minor_version == 4);
    CHECK(os.package_format == "deb");
    CHECK(os.initrd_tool == "initramfs-tools");
    CHECK(os.network_style == "interfaces");
    CHECK(os.architecture == "x86_64");  // from the kernel's name: no binary in this tree
    REQUIRE(os.kernels.size() == 1);
    CHECK(os.kernels[0].initrd == "/boot/initrd.img-6.1.0-17-amd64");
    CHECK(configured_interfaces(LocalDirGuestFs(debian), os) == std::vector<std::string>{"ens3"});

    const auto ubuntu = dir / "ubuntu";
    dstest::put_file(ubuntu / "etc/os-release", "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n");
    dstest::put_file(ubuntu / "etc/netplan/00-installer-config.yaml",
        "# written by the installer\nnetwork:\n  ethernets:\n    ens160:\n      dhcp4: false\n      addresses:\n"
        "      - 10.1.1.5/24\n    ens192:\n      dhcp4: true\n  version: 2\n  bonds: {}\n");
    dstest::put_file(ubuntu / "etc/network/interfaces", "auto lo\niface lo inet loopback\n");
    const OsInfo ubuntu_os = inspect_guest(LocalDirGuestFs(ubuntu));
    CHECK(ubuntu_os.distribution == "ubuntu");
    CHECK(ubuntu_os.major_version == 22);
    CHECK(ubuntu_os.minor_version == 4);
    CHECK(ubuntu_os.network_style == "netplan");
    CHECK(configured_interfaces(LocalDirGuestFs(ubuntu), ubuntu_os) == std::vector<std::string>{"ens160", "ens192"});
}

TEST_CASE("guest inspection: SLES 15 with NetworkManager keyfiles and a UEFI boot")
{
    dstest::TempDir dir;
    dstest::put_file(dir / "etc/os-release", "NAME=\"SLES\"\nVERSION_ID=\"15.4\"\nID=\"sles\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP4\"\n");
    dstest::put_file(dir / "etc/NetworkManager/system-connections/Wired connection 1.nmconnection", "[connection]\n");
    dstest::put_file(dir / "boot/efi/EFI/sles/grubx64.efi", "");
    dstest::put_file(dir / "boot/efi/EFI/sles/grub.cfg", "");
    LocalDirGuestFs guest(dir.path(), {{"/dev/sda2", "btrfs", "u", "", "/"}, {"/dev/sda1", "vfat", "E", "", "/boot/efi"}},
                          {{"/dev/sda", "gpt", false}});
    OsInfo os = inspect_guest(guest);
    CHECK(os.distribution == "sles");
    CHECK(os.major_version == 15);
    CHECK(os.minor_version == 4);
    CHECK(os.bootloader == "grub2");
    CHECK(os.firmware == "uefi");
    CHECK(os.network_style == "networkmanager");
    CHECK(find_check(run_checks(guest, os), "firmware").status == CheckStatus::fail);

    dstest::put_file(dir / "boot/efi/EFI/BOOT/bootx64.efi", "");  // FAT ignores case; the check does too
    CHECK(find_check(run_checks(guest, os), "firmware").status == CheckStatus::pass);
    CHECK(find_check(run_checks(guest, os), "root filesystem").status == CheckStatus::pass);
}

TEST_CASE("guest checks: 32-bit, unsupported distribution and root filesystem, root off the boot disk")
{
    dstest::TempDir dir;
    make_centos7(dir.path());
    dstest::put_file(dir / "bin/ls", elf_header(false, 3));
    auto filesystems = centos7_filesystems();
    filesystems[1] = {"/dev/sdb1", "reiserfs", "", "", "/"};
    LocalDirGuestFs guest(dir.path(), filesystems, {{"/dev/sda", "mbr", true}, {"/dev/sdb", "mbr", false}});

    OsInfo os = inspect_guest(guest);
    CHECK(os.architecture == "i386");
    auto checks = run_checks(guest, os);
    CHECK(find_check(checks, "64-bit").status == CheckStatus::fail);
    CHECK(find_check(checks, "root filesystem").status == CheckStatus::fail);
    const Check& root_disk = find_check(checks, "root on the boot disk");
    CHECK(root_disk.status == CheckStatus::fail);
    CHECK(root_disk.reason.find("/dev/sdb") != std::string::npos);
    CHECK(find_check(checks, "distribution").status == CheckStatus::pass);

    os.major_version = 4;
    CHECK(find_check(run_checks(guest, os), "distribution").status == CheckStatus::fail);
    os.distribution = "gentoo";
    CHECK(find_check(run_checks(guest, os), "distribution").status == CheckStatus::fail);
    os.disks.assign(23, Disk{"/dev/sdx", "mbr", false});
    CHECK(find_check(run_checks(guest, os), "volumes").status == CheckStatus::fail);

    // Without boot code anywhere, the disk holding /boot is the boot disk.
    os.disks = {{"/dev/sda", "mbr", false}, {"/dev/sdb", "mbr", false}};
    CHECK(find_check(run_checks(guest, os), "root on the boot disk").status == CheckStatus::fail);
    os.root_device = "/dev/sda2";
    CHECK(find_check(run_checks(guest, os), "root on the boot disk").status == CheckStatus::pass);
}

TEST_CASE("guest inspection: kernel versions order like rpm's, partitions name their disk")
{
    CHECK(compare_versions("5.14.0-70.el9.x86_64", "5.14.0-362.el9.x86_64") < 0);
    CHECK(compare_versions("3.10.0-1160.el7", "3.10.0-957.el7") > 0);
    CHECK(compare_versions("6.1.0-17-amd64", "6.1.0-17-amd64") == 0);
    CHECK(compare_versions("5.10", "5.10.1") < 0);
    CHECK(compare_versions("4.19.010", "4.19.9") > 0);

    CHECK(disk_of("/dev/sda2") == "/dev/sda");
    CHECK(disk_of("/dev/xvdb12") == "/dev/xvdb");
    CHECK(disk_of("/dev/nvme0n1p3") == "/dev/nvme0n1");
    CHECK(disk_of("/dev/sda").empty());
    CHECK(disk_of("/dev/vg/root").empty());
    CHECK(disk_of("/dev/mapper/vg-root").empty());
}
