#include <diskshift/inspect.hpp>

#include <array>

#include <fmt/format.h>

namespace diskshift {

std::string human_size(std::uint64_t bytes)
{
    static constexpr std::array<const char*, 7> units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < units.size()) {
        value /= 1024;
        ++unit;
    }
    // {:.3g} would print 1000 as "1e+03".
    return value >= 1000 ? fmt::format("{:.0f} {}", value, units[unit]) : fmt::format("{:.3g} {}", value, units[unit]);
}

}  // namespace diskshift
