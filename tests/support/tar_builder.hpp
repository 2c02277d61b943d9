// Writing tar headers by hand, for archives `tar` cannot make cheaply: members larger than 8 GiB
// kept as holes, so a test needs no 8 GiB of disk. `tar -tv` checks what these headers say.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dstest {

/// How a member's size is stored when it does not fit the 11 octal digits of ustar.
enum class TarSize { octal, gnu_base256, pax };

/// The header block(s) of a regular file member: a pax 'x' header first when `encoding` is pax
/// (its record gives the size; the ustar field then holds 0), else one ustar/GNU block.
std::vector<std::byte> tar_file_headers(const std::string& name, std::uint64_t size, TarSize encoding);

/// `size` rounded up to whole 512-byte blocks.
std::uint64_t tar_padded(std::uint64_t size);

}  // namespace dstest
