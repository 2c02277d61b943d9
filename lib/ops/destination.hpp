// Internal: checks on a destination before anything is written to it.
#pragma once

#include <filesystem>

#include <diskshift/image.hpp>

namespace diskshift {

/// Throws Error(Errc::invalid_argument) when `destination` is the file `source` was opened from:
/// diskshift never modifies its input.
void require_not_an_input(const Image& source, const std::filesystem::path& destination);

}  // namespace diskshift
