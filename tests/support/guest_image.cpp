#include "support/guest_image.hpp"

#include <fcntl.h>

#include <array>
#include <cstdlib>
#include <cstddef>
#include <fstream>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/guest_tree.hpp"

namespace dstest {
namespace {

constexpr std::uint64_t first_partition_mib = 1;  // sector 2048, where fdisk and sfdisk start

/// Copies a host file into the guest tree at the same path, following symlinks.
void copy_host_file(const std::filesystem::path& root, const std::filesystem::path& host_file,
                    const std::string& guest_path)
{
    const auto target = root / std::filesystem::path(guest_path).relative_path();
    std::filesystem::create_directories(target.parent_path());
    std::filesystem::copy_file(std::filesystem::canonical(host_file), target,
                               std::filesystem::copy_options::overwrite_existing);
}

/// The start of GRUB's boot.img as far as a boot loader check looks: a jump and "GRUB " where
/// boot.img keeps its messages.
void write_boot_code(const std::filesystem::path& image)
{
    const Fd fd = open_file(image, O_WRONLY);
    const std::array<std::byte, 3> jump{std::byte{0xeb}, std::byte{0x63}, std::byte{0x90}};
    write_at(fd.get(), jump, 0);
    const std::string signature = "GRUB ";
    write_at(fd.get(), std::as_bytes(std::span(signature)), 0x180);
}

void make_filesystem(const std::filesystem::path& image, const GuestPartition& part, std::uint64_t offset_mib,
                     std::uint64_t size_mib)
{
    if (part.fs_type.starts_with("ext")) {
        std::vector<std::string> args{"-q", "-F", "-t", part.fs_type, "-E", fmt::format("offset={}", offset_mib << 20)};
        if (!part.uuid.empty()) {
            args.insert(args.end(), {"-U", part.uuid});
        }
        if (!part.label.empty()) {
            args.insert(args.end(), {"-L", part.label});
        }
        if (!part.tree.empty()) {
            args.insert(args.end(), {"-d", part.tree.string()});
        }
        args.insert(args.end(), {image.string(), fmt::format("{}M", size_mib)});
        run_program("mke2fs", args);
    } else if (part.fs_type == "btrfs") {
        // mkfs.btrfs writes a whole file: make the partition beside the image, then copy it in.
        const auto file = image.string() + ".btrfs";
        std::ofstream(file).close();
        std::filesystem::resize_file(file, size_mib << 20);
        std::vector<std::string> args{"-q", "-f"};
        if (!part.uuid.empty()) {
            args.insert(args.end(), {"-U", part.uuid});
        }
        if (!part.label.empty()) {
            args.insert(args.end(), {"-L", part.label});
        }
        if (!part.tree.empty()) {
            args.insert(args.end(), {"--rootdir", part.tree.string()});
        }
        args.push_back(file);
        run_program("mkfs.btrfs", args);
        run_program("dd", {"if=" + file, "of=" + image.string(), "bs=1M", fmt::format("seek={}", offset_mib),
                           "conv=notrunc,sparse", "status=none"});
        std::filesystem::remove(file);
    }
}

/// The guestfish command line for `images` as raw drives.
std::vector<std::string> guestfish_argv(const std::vector<std::filesystem::path>& images, bool read_only)
{
    use_libguestfs_tcg();
    std::vector<std::string> argv{required_program("guestfish"), "--format=raw"};
    if (read_only) {
        argv.push_back("--ro");
    }
    for (const auto& image : images) {
        argv.insert(argv.end(), {"-a", image.string()});
    }
    return argv;
}

}  // namespace

void use_libguestfs_tcg()
{
    ::setenv("LIBGUESTFS_BACKEND", "direct", 0);
    ::setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 0);
}

void build_guest_disk(const std::filesystem::path& image, const GuestDisk& disk)
{
    std::filesystem::remove(image);
    std::ofstream(image).close();
    std::filesystem::resize_file(image, disk.size_mib << 20);
    std::string layout = "label: dos\n";
    std::uint64_t start = first_partition_mib;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> placed;  // start, size in MiB
    for (std::size_t i = 0; i < disk.partitions.size(); ++i) {
        const auto& part = disk.partitions[i];
        const std::uint64_t size = part.size_mib != 0 ? part.size_mib : disk.size_mib - start - 1;
        layout += fmt::format("start={}, size={}, type={}{}\n", start << 11, size << 11,
                              part.fs_type.empty() ? "8e" : "83", i == 0 ? ", bootable" : "");
        placed.emplace_back(start, size);
        start += size;
    }
    const std::filesystem::path script = image.string() + ".sfdisk";
    write_text_file(script, layout);
    run_checked({"/bin/sh", "-c", "\"$0\" -q \"$1\" < \"$2\"", required_program("sfdisk"), image.string(),
                 script.string()});
    std::filesystem::remove(script);
    for (std::size_t i = 0; i < disk.partitions.size(); ++i) {
        make_filesystem(image, disk.partitions[i], placed[i].first, placed[i].second);
    }
    if (disk.boot_code) {
        write_boot_code(image);
    }
}

void put_guest_shell(const std::filesystem::path& root)
{
    const auto dash = find_on_path("dash");
    REQUIRE_MESSAGE(dash.has_value(), "dash is not on PATH: the fake guests borrow it as their /bin/sh");
    copy_host_file(root, *dash, "/bin/sh");
    copy_host_file(root, *dash, "/bin/ls");
    copy_host_file(root, "/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2");
    copy_host_file(root, "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6");
    dstest::put_file(root / "etc/hosts", "127.0.0.1 localhost\n");
    std::filesystem::create_directories(root / "var/log");
}

void put_fake_guest_tool(const std::filesystem::path& root, const std::string& guest_path)
{
    const auto file = root / std::filesystem::path(guest_path).relative_path();
    dstest::put_file(file, "#!/bin/sh\necho \"${0##*/} $*\" >> \"$DISKSHIFT_GUEST_ROOT/var/log/diskshift-fake-tools.log\"\n");
    std::filesystem::permissions(file, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                           std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                           std::filesystem::perms::others_exec);
}

void guestfish_copy_out(const std::vector<std::filesystem::path>& images, const std::vector<std::string>& guest_paths,
                        const std::filesystem::path& destination)
{
    std::filesystem::create_directories(destination);
    std::vector<std::string> argv = guestfish_argv(images, true);
    argv.insert(argv.end(), {"-i", "copy-out"});
    argv.insert(argv.end(), guest_paths.begin(), guest_paths.end());
    argv.push_back(destination.string());
    run_checked(argv);
}

void guestfish_run(const std::vector<std::filesystem::path>& images, const std::string& script)
{
    const std::filesystem::path file = images.front().string() + ".guestfish";
    write_text_file(file, script);
    std::vector<std::string> argv = guestfish_argv(images, false);
    argv.insert(argv.end(), {"-f", file.string()});
    run_checked(argv);
    std::filesystem::remove(file);
}

}  // namespace dstest
