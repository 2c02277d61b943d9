// The fstab fixup on the local-directory backend: device names to UUID=, nofail, network mounts off.
#include <doctest/doctest.h>

#include "guest/fixups/fixups.hpp"
#include "guest/local_dir_fs.hpp"
#include "support/guest_tree.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace diskshift::guest;

constexpr const char* boot_uuid = "0aa3f6d0-0000-4000-8000-000000000001";
constexpr const char* root_uuid = "0aa3f6d0-0000-4000-8000-000000000002";
constexpr const char* swap_uuid = "0aa3f6d0-0000-4000-8000-000000000003";

OsInfo centos7_single_disk()
{
    OsInfo os;
    os.distribution = "centos";
    os.major_version = 7;
    os.filesystems = {{"/dev/sda1", "ext4", boot_uuid, "BOOT", "/boot"},
                      {"/dev/sda2", "xfs", root_uuid, "", "/"},
                      {"/dev/sda3", "swap", swap_uuid, "", ""}};
    return os;
}

}  // namespace

TEST_CASE("fixup fstab: CentOS 7 device names become UUIDs, missing devices nofail, network mounts disabled")
{
    dstest::TempDir dir;
    const std::string original = "# /etc/fstab\n"
                                 "/dev/sda2\t/\txfs\tdefaults\t0 0\n"
                                 "/dev/vda1 /boot ext4 defaults 1 2\n"
                                 "/dev/xvda3 swap swap defaults 0 0\n"
                                 "UUID=" + std::string(root_uuid) + " /again xfs ro 0 0\n"
                                 "UUID=11111111-2222-3333-4444-555555555555 /data ext4 defaults 0 0\n"
                                 "/dev/sdb1 /srv xfs defaults,nofail 0 0\n"
                                 "/dev/sdc1 /scratch ext4\n"
                                 "nas:/export /mnt/nfs nfs defaults 0 0\n"
                                 "//srv/share /mnt/cifs cifs credentials=/root/c 0 0\n"
                                 "/dev/disk/by-id/ata-VBOX_HARDDISK_VB1234-part1 /boot2 ext4 defaults 0 0\n"
                                 "/dev/disk/by-id/dm-name-vg-home /home ext4 defaults 0 0\n"
                                 "/dev/mapper/vg-swap swap swap defaults 0 0\n"
                                 "LABEL=BOOT /boot3 ext4 defaults 0 0\n"
                                 "proc /proc proc defaults 0 0\n";
    dstest::put_file(dir / "etc/fstab", original);
    LocalDirGuestFs guest(dir.path());

    const auto changes = fixups::fix_fstab(guest, centos7_single_disk(), FixOptions{});
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].file == "/etc/fstab");
    CHECK(changes[0].action == "edited");
    CHECK(changes[0].backup == "/etc/fstab.diskshift.orig");
    CHECK(guest.read_file("/etc/fstab.diskshift.orig") == original);
    CHECK(guest.read_file("/etc/fstab") ==
          "# /etc/fstab\n"
          "UUID=" + std::string(root_uuid) + "\t/\txfs\tdefaults\t0 0\n"
          "UUID=" + std::string(boot_uuid) + " /boot ext4 defaults 1 2\n"
          "UUID=" + std::string(swap_uuid) + " swap swap defaults 0 0\n"
          "UUID=" + std::string(root_uuid) + " /again xfs ro 0 0\n"
          "UUID=11111111-2222-3333-4444-555555555555 /data ext4 defaults,nofail 0 0\n"
          "/dev/sdb1 /srv xfs defaults,nofail 0 0\n"
          "/dev/sdc1 /scratch ext4 nofail\n"
          "#diskshift-disabled# nas:/export /mnt/nfs nfs defaults 0 0\n"
          "#diskshift-disabled# //srv/share /mnt/cifs cifs credentials=/root/c 0 0\n"
          "UUID=" + std::string(boot_uuid) + " /boot2 ext4 defaults 0 0\n"
          "/dev/disk/by-id/dm-name-vg-home /home ext4 defaults 0 0\n"
          "/dev/mapper/vg-swap swap swap defaults 0 0\n"
          "LABEL=BOOT /boot3 ext4 defaults 0 0\n"
          "proc /proc proc defaults 0 0\n");

    CHECK(fixups::fix_fstab(guest, centos7_single_disk(), FixOptions{}).empty());
    CHECK(guest.read_file("/etc/fstab.diskshift.orig") == original);
}

TEST_CASE("fixup fstab: LVM root with a separate /boot stays as it is")
{
    dstest::TempDir dir;
    const std::string fstab = "/dev/mapper/centos-root / xfs defaults 0 0\n"
                              "UUID=" + std::string(boot_uuid) + " /boot xfs defaults 0 0\n"
                              "/dev/centos/swap swap swap defaults 0 0\n";
    dstest::put_file(dir / "etc/fstab", fstab);
    LocalDirGuestFs guest(dir.path());
    OsInfo os;
    os.filesystems = {{"/dev/sda1", "xfs", boot_uuid, "", "/boot"},
                      {"/dev/mapper/centos-root", "xfs", root_uuid, "", "/"},
                      {"/dev/mapper/centos-swap", "swap", swap_uuid, "", ""}};

    CHECK(fixups::fix_fstab(guest, os, FixOptions{}).empty());
    CHECK(guest.read_file("/etc/fstab") == fstab);
    CHECK_FALSE(guest.exists("/etc/fstab.diskshift.orig"));
}

TEST_CASE("fixup fstab: by-id names need a single disk; crypttab and the Debian resume device too")
{
    dstest::TempDir dir;
    dstest::put_file(dir / "etc/fstab", "/dev/disk/by-id/scsi-36000c29a-part1 /boot ext4 defaults 0 2\n");
    dstest::put_file(dir / "etc/crypttab", "cr_home /dev/sdb2 none luks\nswap /dev/sdc1 /dev/urandom\n");
    dstest::put_file(dir / "etc/initramfs-tools/conf.d/resume", "RESUME=/dev/sda3\n");
    LocalDirGuestFs guest(dir.path());
    OsInfo os = centos7_single_disk();
    os.filesystems.push_back({"/dev/sdb2", "crypto_LUKS", "c0c0c0c0-0000-4000-8000-000000000004", "", ""});
    os.disks = {{"/dev/sda", "mbr", true}, {"/dev/sdb", "gpt", false}};

    const auto changes = fixups::fix_fstab(guest, os, FixOptions{});
    REQUIRE(changes.size() == 3);
    CHECK(guest.read_file("/etc/fstab") == "/dev/disk/by-id/scsi-36000c29a-part1 /boot ext4 defaults,nofail 0 2\n");
    CHECK(guest.read_file("/etc/crypttab") ==
          "cr_home UUID=c0c0c0c0-0000-4000-8000-000000000004 none luks\nswap /dev/sdc1 /dev/urandom nofail\n");
    CHECK(guest.read_file("/etc/initramfs-tools/conf.d/resume") == "RESUME=UUID=" + std::string(swap_uuid) + "\n");
    CHECK(changes[2].backup == "/var/lib/diskshift/backup/etc/initramfs-tools/conf.d/resume");
    CHECK(guest.list("/etc/initramfs-tools/conf.d") == std::vector<std::string>{"resume"});
    CHECK(fixups::fix_fstab(guest, os, FixOptions{}).empty());
}

TEST_CASE("fixup fstab: a hostile fstab with a huge device name and a huge line changes nothing and does not crash")
{
    dstest::TempDir dir;
    const std::string fstab = "/dev/sd" + std::string(200000, 'a') + "1 /x ext4 defaults 0 0\n" +
                              "/dev/mapper/" + std::string(200000, 'v') + " / xfs defaults 0 0\n";
    dstest::put_file(dir / "etc/fstab", fstab);
    LocalDirGuestFs guest(dir.path());

    CHECK(fixups::fix_fstab(guest, centos7_single_disk(), FixOptions{}).empty());
    CHECK(guest.read_file("/etc/fstab") == fstab);
}
