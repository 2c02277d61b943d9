// The way every fixup changes a guest file, on the local-directory backend.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <diskshift/error.hpp>

#include "guest/file_edit.hpp"
#include "guest/local_dir_fs.hpp"
#include "support/temp_dir.hpp"

namespace {

using diskshift::guest::BackupPlace;
using diskshift::guest::LocalDirGuestFs;

void put(const std::filesystem::path& file, const std::string& text)
{
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
}

}  // namespace

TEST_CASE("guest file edits: the first original is kept, a second run changes nothing")
{
    dstest::TempDir dir;
    put(dir / "etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n");
    LocalDirGuestFs guest(dir.path());

    auto first = replace_file(guest, "/etc/fstab", "UUID=1 / ext4 defaults 0 1\n", BackupPlace::beside, "root");
    REQUIRE(first);
    CHECK(first->action == "edited");
    CHECK(first->backup == "/etc/fstab.diskshift.orig");
    CHECK(guest.read_file("/etc/fstab.diskshift.orig") == "/dev/sda1 / ext4 defaults 0 1\n");
    CHECK_FALSE(replace_file(guest, "/etc/fstab", "UUID=1 / ext4 defaults 0 1\n", BackupPlace::beside, "root"));

    // A later, different edit keeps the very first original.
    REQUIRE(replace_file(guest, "/etc/fstab", "UUID=2 / ext4 defaults 0 1\n", BackupPlace::beside, "root"));
    CHECK(guest.read_file("/etc/fstab.diskshift.orig") == "/dev/sda1 / ext4 defaults 0 1\n");
}

TEST_CASE("guest file edits: backups of loaded folders go under /var/lib/diskshift/backup")
{
    dstest::TempDir dir;
    put(dir / "etc/sysconfig/network-scripts/ifcfg-ens192", "BOOTPROTO=static\n");
    LocalDirGuestFs guest(dir.path());

    const std::string file = "/etc/sysconfig/network-scripts/ifcfg-ens192";
    auto change = write_file(guest, file, "BOOTPROTO=dhcp\n", BackupPlace::backup_folder, "dhcp");
    REQUIRE(change);
    CHECK(change->backup == "/var/lib/diskshift/backup" + file);
    CHECK(guest.list("/etc/sysconfig/network-scripts") == std::vector<std::string>{"ifcfg-ens192"});

    auto removed = remove_file(guest, "/etc/udev/rules.d/70-persistent-net.rules", BackupPlace::beside, "udev");
    CHECK_FALSE(removed);
    auto created = write_file(guest, "/etc/dracut.conf.d/diskshift.conf", "x\n", BackupPlace::beside, "drivers");
    REQUIRE(created);
    CHECK(created->action == "created");
    CHECK(created->backup.empty());
}

TEST_CASE("guest local directory: paths cannot leave the root, programs run with the root as folder")
{
    dstest::TempDir dir;
    put(dir / "sbin/fake-tool", "#!/bin/sh\necho \"$@\" > \"$DISKSHIFT_GUEST_ROOT/tmp.args\"\necho done\n");
    std::filesystem::permissions(dir / "sbin/fake-tool", std::filesystem::perms::owner_all);
    LocalDirGuestFs guest(dir.path());

    CHECK_THROWS_AS((void)guest.read_file("/../outside"), diskshift::Error);
    const auto result = guest.run({"fake-tool", "-f", "5.10.0"});
    CHECK(result.exit_status == 0);
    CHECK(result.output == "done\n");
    CHECK(guest.read_file("/tmp.args") == "-f 5.10.0\n");
    CHECK_THROWS_AS(guest.run({"missing-tool"}), diskshift::Error);
}
