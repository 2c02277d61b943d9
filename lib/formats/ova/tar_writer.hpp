// Internal: the header blocks of a tar archive's regular-file members (POSIX ustar, with a pax
// extended header when the name or the size does not fit ustar's fields) and its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/rounding.hpp"
#include "formats/ova/tar_layout.hpp"

namespace diskshift::formats::ova::tar {

/// The end of an archive: two zero blocks (POSIX ustar).
inline constexpr std::size_t end_of_archive_bytes = 2 * block_size;

/// `size` rounded up to whole blocks: what a member's data occupies.
constexpr std::uint64_t padded_size(std::uint64_t size) noexcept
{
    return round_up(size, block_size);
}

/// A regular file in the archive (mode 0644, owner 0:0).
struct Member {
    std::string_view name;
    std::uint64_t size = 0;
    std::int64_t mtime = 0;  ///< seconds since the epoch
    /// The largest size the member may turn out to have. The header blocks depend only on the
    /// name and this bound, so a caller can reserve them before the data's size is known. A bound
    /// over max_octal_size gives the member a pax `size` record whatever its final size.
    std::uint64_t size_bound = 0;
};

/// The header blocks of `member`: a pax 'x' header and its records (`path` for a name over 100
/// bytes, `size` when size_bound is over 8 GiB - 1), then the ustar header. Throws
/// Error(Errc::invalid_argument) for an empty name, or a size over size_bound.
std::vector<std::byte> member_header(const Member& member);

/// How many bytes member_header() returns for a member with this name and size bound.
std::uint64_t member_header_bytes(std::string_view name, std::uint64_t size_bound);

}  // namespace diskshift::formats::ova::tar
