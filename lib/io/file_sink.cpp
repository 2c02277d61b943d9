#include <diskshift/io.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <vector>

#include "core/fail.hpp"

namespace diskshift {
namespace {

constexpr std::string_view temporary_marker = ".diskshift-";
constexpr std::string_view temporary_suffix = ".tmp";

/// ".<name>.diskshift-<pid>-<n>.tmp": hidden, next to the destination, so rename() stays on one
/// file system, and recognisable by the next run when a killed run leaves it behind.
std::filesystem::path temporary_name(const std::filesystem::path& destination, unsigned serial)
{
    const std::string leaf = fmt::format(".{}{}{}-{}{}", destination.filename().string(), temporary_marker,
                                         ::getpid(), serial, temporary_suffix);
    return destination.parent_path() / leaf;
}

/// The pid a temporary file of ours for `destination` was made by, or 0 if `leaf` is not one.
pid_t temporary_owner(const std::filesystem::path& destination, const std::string& leaf)
{
    const std::string prefix = fmt::format(".{}{}", destination.filename().string(), temporary_marker);
    if (!leaf.starts_with(prefix) || !leaf.ends_with(temporary_suffix)) {
        return 0;
    }
    const char* first = leaf.data() + prefix.size();
    const char* last = leaf.data() + leaf.size() - temporary_suffix.size();
    pid_t pid = 0;
    const auto [rest, ec] = std::from_chars(first, last, pid);
    if (ec != std::errc{} || pid <= 0 || rest == last || *rest != '-') {
        return 0;
    }
    return pid;
}

bool process_is_alive(pid_t pid)
{
    return ::kill(pid, 0) == 0 || errno != ESRCH;
}

/// Removes temporary files that runs killed before they could clean up left for `destination`.
void remove_stale_temporaries(const std::filesystem::path& destination)
{
    std::error_code ec;
    const std::filesystem::path folder = destination.parent_path().empty() ? "." : destination.parent_path();
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
        const pid_t owner = temporary_owner(destination, entry.path().filename().string());
        if (owner != 0 && !process_is_alive(owner)) {
            std::filesystem::remove(entry.path(), ec);
        }
    }
}

void check_destination(const std::filesystem::path& destination)
{
    struct stat st {};
    if (::stat(destination.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        fail(Errc::invalid_argument, "{}: exists and is not a regular file; diskshift writes regular files only",
             destination.string());
    }
}

void fsync_folder(const std::filesystem::path& folder)
{
    const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

FileSink::FileSink(const std::filesystem::path& destination, Durability durability)
    : destination_(destination), durability_(durability), name_(destination.string())
{
    check_destination(destination_);
    remove_stale_temporaries(destination_);
    static std::atomic<unsigned> serial{0};
    for (int attempt = 0; fd_ < 0; ++attempt) {
        temporary_ = temporary_name(destination_, serial++);
        fd_ = ::open(temporary_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ < 0 && (errno != EEXIST || attempt > 100)) {
            fail_errno(errno, "{}: cannot create the temporary file {}", name_, temporary_.string());
        }
    }
}

FileSink::~FileSink()
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
    if (!temporary_.empty()) {
        ::unlink(temporary_.c_str());
    }
}

void FileSink::write_at(std::span<const std::byte> data, std::uint64_t offset)
{
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail_errno(errno, "{}: write of {} bytes at offset {:#x} failed", name_, data.size(), offset);
        }
        done += static_cast<std::size_t>(n);
    }
    const std::uint64_t end = offset + data.size();
    std::uint64_t known = size_.load();
    while (known < end && !size_.compare_exchange_weak(known, end)) {
    }
}

void FileSink::write_zeroes(std::uint64_t offset, std::uint64_t length)
{
    const std::uint64_t end = offset + length;
    // Past the old end, growing the file is enough: the new range is a hole.
    const std::uint64_t written_end = std::min(end, size_.load());
    if (end > written_end) {
        resize(end);
    }
    if (offset >= written_end) {
        return;
    }
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(written_end - offset)) != 0) {
        if (errno != EOPNOTSUPP && errno != ENOSYS) {
            fail_errno(errno, "{}: cannot punch a hole of {} bytes at offset {:#x}", name_, written_end - offset, offset);
        }
        write_zero_bytes(offset, written_end - offset);
    }
}

void FileSink::write_zero_bytes(std::uint64_t offset, std::uint64_t length)
{
    const std::vector<std::byte> zeros(std::min<std::uint64_t>(length, 1 << 20));
    while (length > 0) {
        const std::size_t n = std::min<std::uint64_t>(length, zeros.size());
        write_at(std::span(zeros).first(n), offset);
        offset += n;
        length -= n;
    }
}

void FileSink::resize(std::uint64_t size)
{
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
        fail_errno(errno, "{}: cannot set the size to {} bytes", name_, size);
    }
    size_ = size;
}

void FileSink::commit()
{
    const bool synced = durability_ == Durability::synced;
    if (synced && ::fsync(fd_) != 0) {
        fail_errno(errno, "{}: cannot flush the data to disk", name_);
    }
    if (::close(fd_) != 0) {
        fd_ = -1;
        fail_errno(errno, "{}: cannot close", name_);
    }
    fd_ = -1;
    if (::rename(temporary_.c_str(), destination_.c_str()) != 0) {
        fail_errno(errno, "{}: cannot rename {} into place", name_, temporary_.string());
    }
    temporary_.clear();
    if (synced) {
        fsync_folder(destination_.parent_path());
    }
}

}  // namespace diskshift
