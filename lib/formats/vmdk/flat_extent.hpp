// Internal: the extents that need no tables: FLAT and VMFS (the bytes as they are, at an offset in
// their file) and ZERO (no file; reads zeros).
#pragma once

#include <cstdint>
#include <memory>

#include "formats/vmdk/extent_data.hpp"

namespace diskshift::formats::vmdk {

/// `size` bytes of `file` from `offset`. Holes in the file are `zero` extents. Throws
/// Error(Errc::corrupt) when the file is shorter than offset + size.
std::unique_ptr<ExtentData> open_flat_extent(std::shared_ptr<const ByteSource> file, std::uint64_t offset,
                                             std::uint64_t size);

/// `size` bytes that read as zeros and map as `zero`.
std::unique_ptr<ExtentData> make_zero_extent(std::uint64_t size);

}  // namespace diskshift::formats::vmdk
