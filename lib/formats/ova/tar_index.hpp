// Internal: the members of a tar archive (an OVA), found by reading its headers in place: ustar,
// GNU long names ('L') and base-256 sizes, pax records ('x', 'g': path, size). Only regular files
// are listed; anything that could reach outside the package when extracted (names with "..",
// absolute names, hard and symbolic links, devices, FIFOs) makes the whole archive refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <diskshift/io.hpp>

namespace diskshift::formats::ova {

/// One regular file of the archive, read in place: its bytes are [data_offset, data_offset + size).
struct TarMember {
    std::string name;              ///< normalised: no "./", no empty or "." components
    std::uint64_t data_offset = 0;
    std::uint64_t size = 0;
    std::uint64_t header_offset = 0;  ///< where its first header block (extensions included) starts
};

/// `name` as a relative path inside the package: "." and empty components dropped, "./" removed.
/// Nullopt for a name that is empty, absolute, has a ".." component or a NUL.
std::optional<std::string> normalise_member_name(std::string_view name);

/// Walks an archive's headers one member at a time; reads only header and extension blocks.
class TarWalker {
public:
    /// `archive_size` bounds every member (it may exceed tar.size() when `tar` holds only the
    /// archive's first bytes, as when probing).
    TarWalker(const ByteSource& tar, std::uint64_t archive_size);

    /// The next regular file, or nullopt at the end of the archive (a zero block or the end of the
    /// file). Directories are skipped. Throws Error(Errc::corrupt) for a damaged header and for a
    /// member that is refused, naming it and its header's offset; Error(Errc::unsupported) for
    /// GNU sparse and multi-volume members.
    std::optional<TarMember> next();

private:
    struct Overrides {
        std::optional<std::string> path;
        std::optional<std::uint64_t> size;
    };

    std::string read_extension(std::uint64_t data_offset, std::uint64_t size, std::uint64_t header_offset) const;
    void apply_pax_records(std::string_view records, Overrides& target, std::uint64_t header_offset) const;

    const ByteSource& tar_;
    std::uint64_t archive_size_;
    std::uint64_t offset_ = 0;
    Overrides global_;
};

/// Every regular file of the archive, in archive order. Besides TarWalker's refusals, a name that
/// appears twice and an archive of more than 100000 members are refused (Error(Errc::corrupt)).
std::vector<TarMember> index_tar(const ByteSource& tar);

/// The name of the archive's first regular file, when `head` (the first bytes of a file of
/// `file_size` bytes) starts with valid tar headers; nullopt otherwise. Never throws.
std::optional<std::string> first_tar_member(std::span<const std::byte> head, std::uint64_t file_size) noexcept;

}  // namespace diskshift::formats::ova
