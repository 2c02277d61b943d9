// Internal: a GuestFs over disk images through libguestfs: one appliance launched for all the disks
// of a VM, the guest's operating system found by libguestfs inspection and its filesystems mounted
// where the guest mounts them (reference guest-fixups.md §3.1, §6.1).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <diskshift/guest.hpp>

struct guestfs_h;

namespace diskshift::guest {

/// One disk image handed to the appliance.
struct Drive {
    std::filesystem::path path;
    std::string qemu_format;  ///< "raw", "vpc", "vhdx", "vmdk": never left to qemu's probing
};

class LibguestfsFs final : public GuestFs {
public:
    /// Launches the appliance with `drives` (the boot disk first), inspects them and mounts the
    /// guest's filesystems. `read_only` drives get a throw-away overlay: nothing reaches the images.
    /// libguestfs reads LIBGUESTFS_BACKEND and LIBGUESTFS_BACKEND_SETTINGS from the environment.
    LibguestfsFs(std::vector<Drive> drives, bool read_only);
    ~LibguestfsFs() override;
    LibguestfsFs(const LibguestfsFs&) = delete;
    LibguestfsFs& operator=(const LibguestfsFs&) = delete;

    std::string name() const override;
    bool exists(const std::string& path) const override;
    bool is_directory(const std::string& path) const override;
    std::string read_file(const std::string& path) const override;
    void write_file(const std::string& path, std::string_view content) override;
    std::vector<std::string> list(const std::string& folder) const override;
    void make_directories(const std::string& path) override;
    void copy(const std::string& from, const std::string& to) override;
    void rename(const std::string& from, const std::string& to) override;
    void remove(const std::string& path) override;
    /// Runs argv inside the guest (guestfs_command through the guest's /bin/sh) with
    /// DISKSHIFT_GUEST_ROOT=/ and PATH=/usr/sbin:/usr/bin:/sbin:/bin.
    CommandResult run(const std::vector<std::string>& argv) override;
    std::uint64_t free_bytes(const std::string& path) const override;
    std::vector<Filesystem> filesystems() const override { return filesystems_; }
    std::vector<Disk> disks() const override { return disks_; }

    /// The guest's mountpoints that could not be mounted (fstab may name disks that were not
    /// given), with libguestfs' reason.
    const std::map<std::string, std::string>& mount_failures() const { return mount_failures_; }

    /// Unmounts everything and shuts the appliance down, which flushes every write to the images.
    /// Without it, the destructor discards the appliance without waiting for the flush.
    void finish();

private:
    /// Throws Errc::guest naming `what` and libguestfs' last error.
    [[noreturn]] void fail_call(const std::string& what) const;
    std::string choose_root();
    void mount_guest(const std::string& root, bool read_only);
    void read_block_facts();

    guestfs_h* g_ = nullptr;
    std::vector<Drive> drives_;
    std::map<std::string, std::string> mountpoints_;  ///< canonical device -> mountpoint
    std::map<std::string, std::string> mount_failures_;
    std::vector<Filesystem> filesystems_;
    std::vector<Disk> disks_;
};

}  // namespace diskshift::guest
