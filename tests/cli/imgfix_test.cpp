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
