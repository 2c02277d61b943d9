// Byte ranges and size units for tests.
#pragma once

#include <cstdint>
#include <vector>

namespace dstest {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;

/// A range of bytes [offset, offset + length).
struct ByteRange {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;

    std::uint64_t end() const noexcept { return offset + length; }
    friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

/// Appends `range` to ascending `ranges`, merging it into the last range when they touch.
inline void append_merged(std::vector<ByteRange>& ranges, const ByteRange& range)
{
    if (!ranges.empty() && ranges.back().end() == range.offset) {
        ranges.back().length += range.length;
    } else {
        ranges.push_back(range);
    }
}

}  // namespace dstest
