// Internal: byte-buffer helpers shared by the formats and the conversion engine.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>

namespace diskshift {

/// True when every byte is zero; compares 4 KiB at a time with memcmp (vectorised by libc).
inline bool is_all_zero(std::span<const std::byte> bytes) noexcept
{
    static constexpr std::size_t block = 4096;
    static const std::byte zeros[block] = {};
    while (!bytes.empty()) {
        const std::size_t n = std::min(bytes.size(), block);
        if (std::memcmp(bytes.data(), zeros, n) != 0) {
            return false;
        }
        bytes = bytes.subspan(n);
    }
    return true;
}

}  // namespace diskshift
