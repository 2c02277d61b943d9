#include <diskshift/io.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/fail.hpp"
#include "core/file_range.hpp"

namespace diskshift {
namespace {

void check_source_range(const ByteSource& source, std::uint64_t offset, std::uint64_t length, const char* what)
{
    if (!inside_file(source, offset, length)) {
        fail(Errc::corrupt, "{}: {} of {} bytes at offset {:#x} is past the end of the file ({} bytes)",
             source.name(), what, length, offset, source.size());
    }
}

}  // namespace

void ByteSource::read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    check_source_range(*this, offset, buf.size(), "read");
    if (!buf.empty()) {
        do_read_at(buf, offset);
    }
}

ExtentList ByteSource::allocation(std::uint64_t offset, std::uint64_t length) const
{
    check_source_range(*this, offset, length, "allocation query");
    return do_allocation(offset, length);
}

ExtentList ByteSource::do_allocation(std::uint64_t offset, std::uint64_t length) const
{
    ExtentList out(offset);
    out.append(length, ExtentKind::data);
    return out;
}

// ---- FileSource ----

FileSource::FileSource(const std::filesystem::path& path) : name_(path.string())
{
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
        fail_errno(errno, "{}: cannot open", name_);
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || S_ISDIR(st.st_mode)) {
        const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
        ::close(fd_);
        fail_errno(err, "{}: cannot open", name_);
    }
    // lseek also answers for block devices, whose st_size is 0.
    const off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end < 0) {
        const int err = errno;
        ::close(fd_);
        fail_errno(err, "{}: cannot find the size", name_);
    }
    size_ = static_cast<std::uint64_t>(end);
}

FileSource::~FileSource()
{
    ::close(fd_);
}

std::uint64_t FileSource::allocated_bytes() const
{
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
        return size_;
    }
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

void FileSource::do_read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    std::size_t done = 0;
    while (done < buf.size()) {
        const ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail_errno(errno, "{}: read of {} bytes at offset {:#x} failed", name_, buf.size(), offset);
        }
        if (n == 0) {
            fail(Errc::io, "{}: file ended at offset {:#x} while reading {} bytes at offset {:#x} (was it truncated?)",
                 name_, offset + done, buf.size(), offset);
        }
        done += static_cast<std::size_t>(n);
    }
}

ExtentList FileSource::do_allocation(std::uint64_t offset, std::uint64_t length) const
{
    ExtentList out(offset);
    const std::uint64_t end = offset + length;
    while (out.end_offset() < end) {
        const std::uint64_t at = out.end_offset();
        const off_t data = ::lseek(fd_, static_cast<off_t>(at), SEEK_DATA);
        if (data < 0) {
            // ENXIO: only a hole remains. Anything else: the file system cannot tell, so say data.
            out.append(end - at, errno == ENXIO ? ExtentKind::zero : ExtentKind::data);
            break;
        }
        const std::uint64_t data_start = std::min<std::uint64_t>(static_cast<std::uint64_t>(data), end);
        out.append(data_start - at, ExtentKind::zero);
        if (data_start == end) {
            break;
        }
        const off_t hole = ::lseek(fd_, data, SEEK_HOLE);
        const std::uint64_t data_end =
            hole < 0 ? end : std::min<std::uint64_t>(std::max<std::uint64_t>(static_cast<std::uint64_t>(hole), data_start + 1), end);
        out.append(data_end - data_start, ExtentKind::data);
    }
    return out;
}

// ---- MemorySource ----

MemorySource::MemorySource(std::vector<std::byte> bytes, std::string name)
    : bytes_(std::move(bytes)), name_(std::move(name))
{
}

void MemorySource::do_read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    std::memcpy(buf.data(), bytes_.data() + offset, buf.size());
}

// ---- SubrangeSource ----

SubrangeSource::SubrangeSource(std::shared_ptr<const ByteSource> parent, std::uint64_t offset, std::uint64_t length,
                               std::string name)
    : parent_(std::move(parent)), offset_(offset), length_(length), name_(std::move(name))
{
    check_source_range(*parent_, offset_, length_, "window");
}

void SubrangeSource::do_read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    parent_->read_at(buf, offset_ + offset);
}

ExtentList SubrangeSource::do_allocation(std::uint64_t offset, std::uint64_t length) const
{
    ExtentList out(offset);
    for (const Extent& e : parent_->allocation(offset_ + offset, length)) {
        out.append(e.length, e.kind);
    }
    return out;
}

void require_inside_file(const ByteSource& file, std::uint64_t offset, std::uint64_t length,
                         std::string_view structure)
{
    if (!inside_file(file, offset, length)) {
        fail(Errc::corrupt, "{}: {} lies past the end of the file ({} bytes) (offset 0x{:x})", file.name(), structure,
             file.size(), offset);
    }
}

void require_inside_disk(const ByteSink& sink, std::uint64_t disk_size, std::uint64_t offset, std::uint64_t length)
{
    if (offset > disk_size || length > disk_size - offset) {
        fail(Errc::invalid_argument, "{}: {} bytes at offset {:#x} lie past the end of the {}-byte disk", sink.name(),
             length, offset, disk_size);
    }
}

}  // namespace diskshift
