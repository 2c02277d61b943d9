// Internal: whether a structure a header points at lies inside the file that holds it, and
// whether a range a writer is given lies inside the disk it writes.
#pragma once

#include <cstdint>
#include <string_view>

#include <diskshift/io.hpp>

namespace diskshift {

/// True when [offset, offset + length) lies inside the file; safe against overflow.
inline bool inside_file(const ByteSource& file, std::uint64_t offset, std::uint64_t length) noexcept
{
    return offset <= file.size() && length <= file.size() - offset;
}

/// Throws Error(Errc::corrupt) "<file>: <structure> lies past the end of the file (offset 0x…)"
/// unless [offset, offset + length) is inside the file.
void require_inside_file(const ByteSource& file, std::uint64_t offset, std::uint64_t length,
                         std::string_view structure);

/// Throws Error(Errc::invalid_argument) naming the sink unless [offset, offset + length) lies
/// inside a disk of `disk_size` bytes: what every Writer checks before it writes or zeroes.
void require_inside_disk(const ByteSink& sink, std::uint64_t disk_size, std::uint64_t offset, std::uint64_t length);

}  // namespace diskshift
