// Internal: sizes for people.
#pragma once

#include <cstdint>
#include <string>

namespace diskshift {

/// "1 GiB", "4.02 MiB", "512 B": binary units, three significant digits.
std::string human_size(std::uint64_t bytes);

}  // namespace diskshift
