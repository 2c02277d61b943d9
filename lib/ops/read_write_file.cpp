#include "ops/read_write_file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fail.hpp"

namespace diskshift::ops {

ReadWriteFile::ReadWriteFile(const std::filesystem::path& path, Mode mode) : name_(path.string())
{
    const int flags = O_RDWR | O_CLOEXEC | (mode == Mode::create_new ? O_CREAT | O_EXCL : 0);
    fd_ = ::open(path.c_str(), flags, 0644);
    if (fd_ < 0) {
        fail_errno(errno, "{}: cannot open for writing", name_);
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK) {
            fail(Errc::io, "{}: another process is writing this file (it holds its lock)", name_);
        }
        fail_errno(err, "{}: cannot lock", name_);
    }
}

ReadWriteFile::ReadWriteFile(ReadWriteFile&& other) noexcept : name_(std::move(other.name_)), fd_(other.fd_)
{
    other.fd_ = -1;
}

ReadWriteFile::~ReadWriteFile()
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::uint64_t ReadWriteFile::size() const
{
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        fail_errno(errno, "{}: cannot read the file size", name_);
    }
    return static_cast<std::uint64_t>(st.st_size);
}

void ReadWriteFile::read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    std::size_t done = 0;
    while (done < buf.size()) {
        const ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail_errno(errno, "{}: read of {} bytes at offset {:#x} failed", name_, buf.size(), offset);
        }
        if (n == 0) {
            fail(Errc::corrupt, "{}: read of {} bytes at offset {:#x} goes past the end of the file", name_,
                 buf.size(), offset);
        }
        done += static_cast<std::size_t>(n);
    }
}

void ReadWriteFile::write_at(std::span<const std::byte> data, std::uint64_t offset)
{
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail_errno(errno, "{}: write of {} bytes at offset {:#x} failed", name_, data.size(), offset);
        }
        done += static_cast<std::size_t>(n);
    }
}

void ReadWriteFile::truncate(std::uint64_t size)
{
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
        fail_errno(errno, "{}: cannot cut the file to {} bytes", name_, size);
    }
}

void ReadWriteFile::sync_data()
{
    if (::fdatasync(fd_) != 0) {
        fail_errno(errno, "{}: cannot flush the data to disk", name_);
    }
}

void ReadWriteFile::rename(const std::filesystem::path& from, const std::filesystem::path& to)
{
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
        fail_errno(errno, "{}: cannot rename {} into place", to.string(), from.string());
    }
    name_ = to.string();
}

void sync_folder_of(const std::filesystem::path& path)
{
    const std::filesystem::path folder = path.parent_path().empty() ? "." : path.parent_path();
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fail_errno(errno, "{}: cannot open the folder to flush it", folder.string());
    }
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) {
        fail_errno(err, "{}: cannot flush the folder to disk", folder.string());
    }
}

}  // namespace diskshift::ops
