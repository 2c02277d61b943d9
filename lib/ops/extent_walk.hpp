// Internal: walking every extent of a disk without holding them all.
#pragma once

#include <algorithm>
#include <cstdint>

#include <diskshift/image.hpp>

namespace diskshift {

/// Extents are asked for one window at a time, so memory never grows with the disk's size.
inline constexpr std::uint64_t extent_window = 1ULL << 30;

/// Calls `visit(extent)` for each extent of `image` in ascending order, and `window_done(end)`
/// after each window, `end` being the offset reached. Neighbours of one kind in adjacent windows
/// arrive as separate extents.
template <typename Visit, typename WindowDone>
void for_each_extent(const Image& image, Visit&& visit, WindowDone&& window_done)
{
    for (std::uint64_t window = 0; window < image.size(); window += extent_window) {
        const std::uint64_t length = std::min(extent_window, image.size() - window);
        for (const Extent& e : image.extents(window, length)) {
            visit(e);
        }
        window_done(window + length);
    }
}

}  // namespace diskshift
