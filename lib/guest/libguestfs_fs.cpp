#include "guest/libguestfs_fs.hpp"

#include <guestfs.h>

#include <algorithm>
#include <cstdlib>

#include "core/fail.hpp"

namespace diskshift::guest {
namespace {

/// The strings of a NULL-terminated list libguestfs returned, which is freed.
std::vector<std::string> take_strings(char** list)
{
    std::vector<std::string> out;
    if (list == nullptr) {
        return out;
    }
    for (char** item = list; *item != nullptr; ++item) {
        out.emplace_back(*item);
        std::free(*item);
    }
    std::free(list);
    return out;
}

/// A string libguestfs returned, which is freed; "" for NULL.
std::string take_string(char* text)
{
    std::string out = text != nullptr ? text : "";
    std::free(text);
    return out;
}

/// The last line of `run`'s output carries the command's exit status after this marker.
constexpr std::string_view exit_marker = "\ndiskshift-exit-status=";

/// The script run() hands to the guest's /bin/sh: $0 and $@ are the program and its arguments.
constexpr const char* run_script =
    "export DISKSHIFT_GUEST_ROOT=/ PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
    "\"$0\" \"$@\" 2>&1\n"
    "printf '\\ndiskshift-exit-status=%s' \"$?\"\n";

/// The first sector's boot code area (MBR bytes 0-439, before the disk signature) holds
/// something: a BIOS boot loader such as GRUB's boot.img.
constexpr std::size_t boot_code_bytes = 440;

}  // namespace

LibguestfsFs::LibguestfsFs(std::vector<Drive> drives, bool read_only) : drives_(std::move(drives))
{
    if (drives_.empty()) {
        fail(Errc::invalid_argument, "no disk image given");
    }
    g_ = guestfs_create();
    if (g_ == nullptr) {
        fail(Errc::guest, "cannot create a libguestfs handle");
    }
    guestfs_set_error_handler(g_, nullptr, nullptr);
    for (const auto& drive : drives_) {
        if (guestfs_add_drive_opts(g_, drive.path.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT, drive.qemu_format.c_str(),
                                   GUESTFS_ADD_DRIVE_OPTS_READONLY, read_only ? 1 : 0, -1) != 0) {
            fail_call("adding the disk " + drive.path.string());
        }
    }
    if (guestfs_launch(g_) != 0) {
        fail_call("launching the libguestfs appliance");
    }
    const std::string root = choose_root();
    mount_guest(root, read_only);
    read_block_facts();
}

LibguestfsFs::~LibguestfsFs()
{
    if (g_ != nullptr) {
        guestfs_close(g_);
    }
}

void LibguestfsFs::fail_call(const std::string& what) const
{
    const char* reason = guestfs_last_error(g_);
    fail(Errc::guest, "{}: {}: {}", name(), what, reason != nullptr ? reason : "unknown libguestfs error");
}

std::string LibguestfsFs::name() const
{
    std::string out;
    for (const auto& drive : drives_) {
        out += (out.empty() ? "" : ", ") + drive.path.string();
    }
    return out;
}

/// The guest's root: the only one inspection finds. SUSE snapper snapshots of a btrfs root are
/// inspected as roots too (reference guest-fixups.md §5 #8); the one outside .snapshots wins.
std::string LibguestfsFs::choose_root()
{
    char** found = guestfs_inspect_os(g_);
    if (found == nullptr) {
        fail_call("inspecting the disks");
    }
    std::vector<std::string> roots = take_strings(found);
    std::erase_if(roots, [&](const std::string& root) {
        return roots.size() > 1 && root.find("/.snapshots/") != std::string::npos;
    });
    if (roots.empty()) {
        fail(Errc::guest, "{}: no operating system found on the disks", name());
    }
    if (roots.size() > 1) {
        fail(Errc::guest, "{}: several operating systems found ({}, {}, …): a dual-boot guest is not supported",
             name(), roots[0], roots[1]);
    }
    return roots.front();
}

/// Mounts the guest's filesystems where its fstab says, shortest mountpoint first, remembering the
/// ones that fail (reference guest-fixups.md §3.4).
void LibguestfsFs::mount_guest(const std::string& root, bool read_only)
{
    const std::vector<std::string> pairs = take_strings(guestfs_inspect_get_mountpoints(g_, root.c_str()));
    std::vector<std::pair<std::string, std::string>> plan;  // mountpoint, device
    for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
        plan.emplace_back(pairs[i], pairs[i + 1]);
    }
    std::ranges::sort(plan, [](const auto& a, const auto& b) {
        return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
    });
    for (const auto& [mountpoint, device] : plan) {
        const int status = read_only ? guestfs_mount_ro(g_, device.c_str(), mountpoint.c_str())
                                     : guestfs_mount(g_, device.c_str(), mountpoint.c_str());
        if (status != 0) {
            if (mountpoint == "/") {
                fail_call("mounting the root filesystem " + device);
            }
            const char* reason = guestfs_last_error(g_);
            mount_failures_[mountpoint] = device + ": " + (reason != nullptr ? reason : "cannot mount");
            continue;
        }
    }
    // The devices as the kernel names them once mounted: fstab's /dev/disk/by-uuid/… and
    // /dev/mapper/… names are resolved, and canonical (/dev/VG/LV) like list_filesystems' names.
    const std::vector<std::string> mounted = take_strings(guestfs_mountpoints(g_));
    for (std::size_t i = 0; i + 1 < mounted.size(); i += 2) {
        char* canonical = guestfs_canonical_device_name(g_, mounted[i].c_str());
        mountpoints_[canonical != nullptr ? take_string(canonical) : mounted[i]] = mounted[i + 1];
    }
}

void LibguestfsFs::read_block_facts()
{
    const std::vector<std::string> pairs = take_strings(guestfs_list_filesystems(g_));
    for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
        const std::string& device = pairs[i];
        const std::string& type = pairs[i + 1];
        // btrfs subvolumes are listed as btrfsvol:<device>/<subvolume> besides the filesystem.
        if (type == "unknown" || device.starts_with("btrfsvol:")) {
            continue;
        }
        Filesystem fs{device, type, take_string(guestfs_vfs_uuid(g_, device.c_str())),
                      take_string(guestfs_vfs_label(g_, device.c_str())), ""};
        char* canonical = guestfs_canonical_device_name(g_, device.c_str());
        if (auto it = mountpoints_.find(canonical != nullptr ? take_string(canonical) : device);
            it != mountpoints_.end()) {
            fs.mountpoint = it->second;
        }
        filesystems_.push_back(std::move(fs));
    }
    for (const std::string& device : take_strings(guestfs_list_devices(g_))) {
        Disk disk{device, take_string(guestfs_part_get_parttype(g_, device.c_str())), false};
        if (disk.partition_table == "msdos") {
            disk.partition_table = "mbr";
        }
        std::size_t size = 0;
        char* sector = guestfs_pread_device(g_, device.c_str(), boot_code_bytes, 0, &size);
        if (sector != nullptr) {
            disk.has_boot_code = std::any_of(sector, sector + size, [](char c) { return c != 0; });
            std::free(sector);
        }
        disks_.push_back(std::move(disk));
    }
}

bool LibguestfsFs::exists(const std::string& path) const
{
    const int status = guestfs_exists(g_, path.c_str());
    if (status < 0) {
        fail_call("checking " + path);
    }
    return status == 1;
}

bool LibguestfsFs::is_directory(const std::string& path) const
{
    const int status = guestfs_is_dir(g_, path.c_str());
    if (status < 0) {
        fail_call("checking " + path);
    }
    return status == 1;
}

std::string LibguestfsFs::read_file(const std::string& path) const
{
    std::size_t size = 0;
    char* content = guestfs_read_file(g_, path.c_str(), &size);
    if (content == nullptr) {
        fail_call("reading " + path);
    }
    std::string out(content, size);
    std::free(content);
    return out;
}

/// guestfs_write truncates an existing file in place, so its inode keeps owner, mode and SELinux
/// label.
void LibguestfsFs::write_file(const std::string& path, std::string_view content)
{
    if (guestfs_write(g_, path.c_str(), content.data(), content.size()) != 0) {
        fail_call("writing " + path);
    }
}

std::vector<std::string> LibguestfsFs::list(const std::string& folder) const
{
    if (!is_directory(folder)) {
        return {};
    }
    char** names = guestfs_ls(g_, folder.c_str());
    if (names == nullptr) {
        fail_call("listing " + folder);
    }
    std::vector<std::string> out = take_strings(names);
    std::ranges::sort(out);
    return out;
}

void LibguestfsFs::make_directories(const std::string& path)
{
    if (guestfs_mkdir_p(g_, path.c_str()) != 0) {
        fail_call("creating the folder " + path);
    }
}

void LibguestfsFs::copy(const std::string& from, const std::string& to)
{
    if (guestfs_cp_a(g_, from.c_str(), to.c_str()) != 0) {
        fail_call("copying " + from + " to " + to);
    }
}

void LibguestfsFs::rename(const std::string& from, const std::string& to)
{
    if (guestfs_mv(g_, from.c_str(), to.c_str()) != 0) {
        fail_call("renaming " + from + " to " + to);
    }
}

void LibguestfsFs::remove(const std::string& path)
{
    const int status = is_directory(path) ? guestfs_rmdir(g_, path.c_str()) : guestfs_rm(g_, path.c_str());
    if (status != 0) {
        fail_call("removing " + path);
    }
}

CommandResult LibguestfsFs::run(const std::vector<std::string>& argv)
{
    if (argv.empty()) {
        fail(Errc::invalid_argument, "{}: run() needs a program", name());
    }
    std::vector<std::string> words = {"/bin/sh", "-c", run_script};
    words.insert(words.end(), argv.begin(), argv.end());
    std::vector<char*> c_words;
    for (auto& word : words) {
        c_words.push_back(word.data());
    }
    c_words.push_back(nullptr);
    char* output = guestfs_command(g_, c_words.data());
    if (output == nullptr) {
        fail_call("running " + argv[0] + " in the guest");
    }
    std::string text = take_string(output);
    const auto marker = text.rfind(exit_marker);
    if (marker == std::string::npos) {
        fail(Errc::guest, "{}: running {} in the guest: the guest's /bin/sh gave no exit status", name(), argv[0]);
    }
    CommandResult result;
    result.exit_status = std::atoi(text.c_str() + marker + exit_marker.size());
    result.output = text.substr(0, marker);
    return result;
}

std::uint64_t LibguestfsFs::free_bytes(const std::string& path) const
{
    auto* stats = guestfs_statvfs(g_, path.c_str());
    if (stats == nullptr) {
        fail_call("reading the free space of " + path);
    }
    const auto unit = stats->frsize > 0 ? stats->frsize : stats->bsize;
    const auto free = static_cast<std::uint64_t>(std::max<std::int64_t>(stats->bavail, 0)) *
                      static_cast<std::uint64_t>(unit);
    guestfs_free_statvfs(stats);
    return free;
}

void LibguestfsFs::finish()
{
    if (guestfs_umount_all(g_) != 0) {
        fail_call("unmounting the guest's filesystems");
    }
    if (guestfs_shutdown(g_) != 0) {
        fail_call("shutting the appliance down (writes may not have reached the images)");
    }
}

}  // namespace diskshift::guest
