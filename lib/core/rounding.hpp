// Internal: sizes rounded up to whole units (sectors, blocks, alignments).
#pragma once

#include <cstdint>

namespace diskshift {

/// How many `unit`s it takes to hold `value`: value / unit, rounded up.
constexpr std::uint64_t units_for(std::uint64_t value, std::uint64_t unit) noexcept
{
    return (value + unit - 1) / unit;
}

/// `value` rounded up to a multiple of `unit`.
constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t unit) noexcept
{
    return units_for(value, unit) * unit;
}

}  // namespace diskshift
