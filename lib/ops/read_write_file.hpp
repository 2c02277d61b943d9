// Internal: a file changed in place (the base of an in-place commit, its undo journal), with
// whole-range reads and writes, data syncs and an exclusive lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace diskshift::ops {

class ReadWriteFile {
public:
    enum class Mode { open_existing, create_new };

    /// Opens `path` for reading and writing (create_new: it must not exist yet) and takes an
    /// exclusive advisory lock on it, so that two commits never write one file at once.
    ReadWriteFile(const std::filesystem::path& path, Mode mode);
    ReadWriteFile(ReadWriteFile&& other) noexcept;
    ReadWriteFile& operator=(ReadWriteFile&&) = delete;
    ReadWriteFile(const ReadWriteFile&) = delete;
    ReadWriteFile& operator=(const ReadWriteFile&) = delete;
    ~ReadWriteFile();

    const std::string& name() const noexcept { return name_; }
    std::uint64_t size() const;
    /// Reads exactly buf.size() bytes; a short file is Errc::corrupt.
    void read_at(std::span<std::byte> buf, std::uint64_t offset) const;
    void write_at(std::span<const std::byte> data, std::uint64_t offset);
    void truncate(std::uint64_t size);
    /// fdatasync: the data written so far survives a crash or a power cut.
    void sync_data();
    /// Renames the file from `from` to `to`, which must not exist; the file keeps being written.
    void rename(const std::filesystem::path& from, const std::filesystem::path& to);

private:
    std::string name_;
    int fd_ = -1;
};

/// fsync of the folder holding `path`, so that a file's creation or removal is durable.
void sync_folder_of(const std::filesystem::path& path);

}  // namespace diskshift::ops
