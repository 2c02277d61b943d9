// imgfix --dry-run's pieces: the recording GuestFs keeps writes in memory, and unified_diff()
// writes what GNU diff -u writes.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "guest/local_dir_fs.hpp"
#include "guest/recording_fs.hpp"
#include "guest/unified_diff.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace {

using diskshift::guest::unified_diff;

/// What `diff -u` prints for the two texts, labelled like unified_diff's output.
std::string gnu_diff(const dstest::TempDir& dir, const std::string& before, const std::string& after)
{
    dstest::write_text_file(dir / "before", before);
    dstest::write_text_file(dir / "after", after);
    const auto run = dstest::run_process({dstest::required_program("diff"), "-u", "--label", "a/f", "--label", "b/f",
                                          (dir / "before").string(), (dir / "after").string()});
    REQUIRE(run.exit_code() <= 1);
    return run.out;
}

std::string numbered_lines(int first, int last, const std::string& tag = "")
{
    std::string out;
    for (int i = first; i <= last; ++i) {
        out += "line " + std::to_string(i) + tag + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("guest dry run: unified_diff matches GNU diff -u")
{
    dstest::TempDir dir;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"a\nb\nc\n", "a\nb\nc\n"},
        {"", "new file\nwith two lines\n"},
        {"gone\n", ""},
        {"/dev/sda1 / ext4 defaults 0 1\n/dev/sda2 /boot ext4 defaults 0 2\n",
         "UUID=1 / ext4 defaults 0 1\n/dev/sda2 /boot ext4 defaults 0 2\n"},
        // Changes 6 lines apart share a hunk, 8 apart do not.
        {numbered_lines(1, 30), numbered_lines(1, 4) + "changed 5\n" + numbered_lines(6, 11) + "changed 12\n" +
                                    numbered_lines(13, 20) + "changed 21\n" + numbered_lines(22, 30)},
        {numbered_lines(1, 10), numbered_lines(1, 3) + numbered_lines(6, 10) + "added\n"},
        {"no final newline", "no final newline\nnow there is\n"},
        {"x\ny", "x\nz"},
    };
    for (const auto& [before, after] : cases) {
        INFO("before:\n" << before << "\nafter:\n" << after);
        CHECK(unified_diff(before, after, "a/f", "b/f") == gnu_diff(dir, before, after));
    }
}

TEST_CASE("guest dry run: the recording GuestFs keeps every change in memory")
{
    dstest::TempDir dir;
    std::filesystem::create_directories(dir / "etc/netplan");
    dstest::write_text_file(dir / "etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n");
    dstest::write_text_file(dir / "etc/netplan/50-cloud.yaml", "network: {}\n");
    diskshift::guest::LocalDirGuestFs guest(dir.path());
    diskshift::guest::RecordingGuestFs recording(guest);

    recording.copy("/etc/fstab", "/etc/fstab.orig");
    recording.write_file("/etc/fstab", "UUID=1 / ext4 defaults 0 1\n");
    recording.make_directories("/var/lib/diskshift/backup/etc/netplan");
    recording.rename("/etc/netplan/50-cloud.yaml", "/var/lib/diskshift/backup/etc/netplan/50-cloud.yaml");
    recording.write_file("/etc/netplan/90-diskshift.yaml", "network: {version: 2}\n");
    const auto result = recording.run({"update-initramfs", "-u", "-k", "6.1.0-17-amd64"});

    CHECK(result.exit_status == 0);
    CHECK(recording.commands() == std::vector<std::vector<std::string>>{{"update-initramfs", "-u", "-k", "6.1.0-17-amd64"}});
    CHECK(recording.read_file("/etc/fstab") == "UUID=1 / ext4 defaults 0 1\n");
    CHECK(recording.read_file("/etc/fstab.orig") == "/dev/sda1 / ext4 defaults 0 1\n");
    CHECK(recording.list("/etc/netplan") == std::vector<std::string>{"90-diskshift.yaml"});
    CHECK(recording.list("/etc") == std::vector<std::string>{"fstab", "fstab.orig", "netplan"});
    CHECK(recording.is_directory("/var/lib/diskshift/backup/etc"));
    CHECK(recording.read_file("/var/lib/diskshift/backup/etc/netplan/50-cloud.yaml") == "network: {}\n");
    CHECK_FALSE(recording.exists("/etc/netplan/50-cloud.yaml"));

    // Nothing reached the guest.
    CHECK(dstest::read_text_file(dir / "etc/fstab") == "/dev/sda1 / ext4 defaults 0 1\n");
    CHECK(guest.list("/etc") == std::vector<std::string>{"fstab", "netplan"});
    CHECK(guest.list("/etc/netplan") == std::vector<std::string>{"50-cloud.yaml"});
    CHECK_FALSE(guest.exists("/var/lib"));

    const auto written = recording.written_files();
    REQUIRE(written.size() == 2);
    CHECK(written[0].path == "/etc/fstab");
    CHECK(written[0].existed);
    CHECK(written[0].before == "/dev/sda1 / ext4 defaults 0 1\n");
    CHECK(written[1].path == "/etc/netplan/90-diskshift.yaml");
    CHECK_FALSE(written[1].existed);
}
