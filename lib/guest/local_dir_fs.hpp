// Internal: a GuestFs over a folder of the host holding a guest's files, for unit tests and for
// trees a user extracted. Block-level facts are given by the caller.
#pragma once

#include <filesystem>

#include <diskshift/guest.hpp>

namespace diskshift::guest {

class LocalDirGuestFs final : public GuestFs {
public:
    LocalDirGuestFs(std::filesystem::path root, std::vector<Filesystem> filesystems = {}, std::vector<Disk> disks = {});

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
    /// Runs argv[0] found under the root (as given if absolute, else in its /usr/sbin, /usr/bin,
    /// /sbin, /bin) on the host, with the root as working folder and DISKSHIFT_GUEST_ROOT set to
    /// it: there is no chroot, so test tools write to "$DISKSHIFT_GUEST_ROOT/…".
    CommandResult run(const std::vector<std::string>& argv) override;
    std::uint64_t free_bytes(const std::string& path) const override;
    std::vector<Filesystem> filesystems() const override { return filesystems_; }
    std::vector<Disk> disks() const override { return disks_; }

private:
    /// The host path of a guest path; a path with ".." is refused.
    std::filesystem::path host_path(const std::string& guest_path) const;

    std::filesystem::path root_;
    std::vector<Filesystem> filesystems_;
    std::vector<Disk> disks_;
};

}  // namespace diskshift::guest
