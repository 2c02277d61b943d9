#include "support/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace dstest {
namespace {

constexpr std::size_t compare_block = 1 << 20;

[[noreturn]] void throw_errno(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

/// Reads up to `buf.size()` bytes at `offset`; fewer only at the end of the file.
std::size_t read_some(int fd, std::span<std::byte> buf, std::uint64_t offset)
{
    std::size_t done = 0;
    while (done < buf.size()) {
        const ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw_errno("pread");
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

}  // namespace

Fd::~Fd()
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Fd open_file(const std::filesystem::path& path, int flags)
{
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw_errno("open " + path.string());
    }
    return Fd(fd);
}

std::vector<std::byte> read_whole_file(const std::filesystem::path& path)
{
    const Fd fd = open_file(path, O_RDONLY);
    std::vector<std::byte> bytes(std::filesystem::file_size(path));
    bytes.resize(read_some(fd.get(), bytes, 0));
    return bytes;
}

std::string read_text_file(const std::filesystem::path& path)
{
    const std::vector<std::byte> bytes = read_whole_file(path);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void write_at(int fd, std::span<const std::byte> bytes, std::uint64_t offset)
{
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw_errno("pwrite");
        }
        done += static_cast<std::size_t>(n);
    }
}

void write_whole_file(const std::filesystem::path& path, std::span<const std::byte> bytes)
{
    const Fd fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
    write_at(fd.get(), bytes, 0);
}

void write_text_file(const std::filesystem::path& path, const std::string& text)
{
    write_whole_file(path, std::as_bytes(std::span(text)));
}

std::uint64_t allocated_bytes(const std::filesystem::path& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw_errno("stat " + path.string());
    }
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

std::string file_difference(const std::filesystem::path& a, const std::filesystem::path& b)
{
    return file_difference(a, b, {{0, std::filesystem::file_size(a)}});
}

std::string file_difference(const std::filesystem::path& a, const std::filesystem::path& b,
                            const std::vector<ByteRange>& ranges)
{
    const std::uint64_t size_a = std::filesystem::file_size(a);
    const std::uint64_t size_b = std::filesystem::file_size(b);
    if (size_a != size_b) {
        return fmt::format("{} has {} bytes, {} has {}", a.string(), size_a, b.string(), size_b);
    }
    const Fd fd_a = open_file(a, O_RDONLY);
    const Fd fd_b = open_file(b, O_RDONLY);
    std::vector<std::byte> block_a(compare_block);
    std::vector<std::byte> block_b(compare_block);
    for (const ByteRange& range : ranges) {
        for (std::uint64_t offset = range.offset; offset < range.end(); offset += compare_block) {
            const std::size_t length = std::min<std::uint64_t>(compare_block, range.end() - offset);
            const std::span<std::byte> part_a = std::span(block_a).first(length);
            const std::span<std::byte> part_b = std::span(block_b).first(length);
            if (read_some(fd_a.get(), part_a, offset) != length || read_some(fd_b.get(), part_b, offset) != length) {
                return fmt::format("a file is shorter than expected at offset {}", offset);
            }
            const auto [diff_a, diff_b] = std::mismatch(part_a.begin(), part_a.end(), part_b.begin());
            if (diff_a != part_a.end()) {
                return fmt::format("{} and {} differ first at offset {}", a.string(), b.string(),
                                   offset + static_cast<std::uint64_t>(diff_a - part_a.begin()));
            }
        }
    }
    return "";
}

void require_hole_support(const std::filesystem::path& folder)
{
    constexpr off_t size = 64 * 1024;
    constexpr off_t data_at = 32 * 1024;
    const std::filesystem::path probe = folder / "hole-probe";
    {
        const Fd fd = open_file(probe, O_RDWR | O_CREAT | O_TRUNC);
        REQUIRE(::ftruncate(fd.get(), size) == 0);
        const std::vector<std::byte> block(4096, std::byte{0x5a});
        write_at(fd.get(), block, data_at);
        const off_t first_data = ::lseek(fd.get(), 0, SEEK_DATA);
        const off_t first_hole = ::lseek(fd.get(), 0, SEEK_HOLE);
        const off_t hole_after_data = ::lseek(fd.get(), data_at, SEEK_HOLE);
        INFO("file system of ", folder.string(), ": SEEK_DATA(0) = ", first_data, ", SEEK_HOLE(0) = ", first_hole,
             ", SEEK_HOLE(", data_at, ") = ", hole_after_data);
        REQUIRE_MESSAGE(first_data == data_at,
                        "this file system does not report holes at 4 KiB granularity through SEEK_DATA/SEEK_HOLE; "
                        "the allocation tests cannot run here (use ext4, xfs, btrfs or tmpfs)");
        REQUIRE_MESSAGE(first_hole == 0, "SEEK_HOLE does not find the hole at the start of a sparse file");
        REQUIRE_MESSAGE(hole_after_data == data_at + 4096, "SEEK_HOLE does not find the hole after 4 KiB of data");
    }
    std::filesystem::remove(probe);
}

}  // namespace dstest
