// Small file helpers for tests: whole-file reads and writes, allocation, comparison, hole support.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "support/byte_range.hpp"

namespace dstest {

/// A file descriptor closed on destruction.
class Fd {
public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    ~Fd();
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const noexcept { return fd_; }

private:
    int fd_;
};

/// Opens `path` with `flags` (and mode 0644 when creating); throws std::system_error on failure.
Fd open_file(const std::filesystem::path& path, int flags);

std::vector<std::byte> read_whole_file(const std::filesystem::path& path);
std::string read_text_file(const std::filesystem::path& path);
void write_whole_file(const std::filesystem::path& path, std::span<const std::byte> bytes);
void write_text_file(const std::filesystem::path& path, const std::string& text);

/// pwrite()s all of `bytes` at `offset`; throws std::system_error on failure.
void write_at(int fd, std::span<const std::byte> bytes, std::uint64_t offset);

/// The bytes the file occupies on its file system (st_blocks * 512).
std::uint64_t allocated_bytes(const std::filesystem::path& path);

/// Compares two files in 1 MiB reads: "" when they are identical, otherwise what differs first
/// (the sizes, or the offset of the first different byte).
std::string file_difference(const std::filesystem::path& a, const std::filesystem::path& b);

/// Compares only the bytes inside `ranges` of two files of equal size, like file_difference().
std::string file_difference(const std::filesystem::path& a, const std::filesystem::path& b,
                            const std::vector<ByteRange>& ranges);

/// Fails the running test loudly unless the file system of `folder` reports holes through
/// SEEK_HOLE at 4 KiB granularity: the allocation tests mean nothing without them.
void require_hole_support(const std::filesystem::path& folder);

}  // namespace dstest
