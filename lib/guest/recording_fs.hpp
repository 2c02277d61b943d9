// Internal: a GuestFs that reads through to another and keeps every change in memory, for
// imgfix --dry-run: the fixups run as usual, nothing reaches the guest, and what they would have
// written can be shown as diffs.
#pragma once

#include <map>
#include <optional>
#include <set>

#include <diskshift/guest.hpp>

namespace diskshift::guest {

class RecordingGuestFs final : public GuestFs {
public:
    explicit RecordingGuestFs(const GuestFs& base) : base_(base) {}

    std::string name() const override { return base_.name(); }
    bool exists(const std::string& path) const override;
    bool is_directory(const std::string& path) const override;
    std::string read_file(const std::string& path) const override;
    void write_file(const std::string& path, std::string_view content) override;
    std::vector<std::string> list(const std::string& folder) const override;
    void make_directories(const std::string& path) override;
    void copy(const std::string& from, const std::string& to) override;
    void rename(const std::string& from, const std::string& to) override;
    void remove(const std::string& path) override;
    /// Records the command and reports success with no output: nothing runs.
    CommandResult run(const std::vector<std::string>& argv) override;
    std::uint64_t free_bytes(const std::string& path) const override { return base_.free_bytes(path); }
    std::vector<Filesystem> filesystems() const override { return base_.filesystems(); }
    std::vector<Disk> disks() const override { return base_.disks(); }

    /// A file written with new content: what it held before ("" for a new file) and after.
    struct WrittenFile {
        std::string path;
        bool existed = false;  ///< false: the guest had no such file
        std::string before;
        std::string after;
    };
    /// The files whose content was written and now differs from the guest's, by path.
    std::vector<WrittenFile> written_files() const;
    const std::vector<std::vector<std::string>>& commands() const { return commands_; }

private:
    /// What the overlay knows of a path: new content, the content of a guest file (a copy or a
    /// rename: not read until needed, initrds are large), or gone.
    struct Entry {
        enum class Kind { content, guest_file, removed } kind;
        std::string value;  ///< the content, or the guest path for guest_file
    };
    const Entry* entry(const std::string& path) const;

    const GuestFs& base_;
    std::map<std::string, Entry> entries_;
    std::set<std::string> folders_;
    std::vector<std::vector<std::string>> commands_;
};

}  // namespace diskshift::guest
