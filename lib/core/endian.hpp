// Internal: fixed-width integers stored little- or big-endian in on-disk structures.
// VMDK and VHDX store little-endian, VHD big-endian. Callers check bounds before loading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace diskshift {

template <typename T>
    requires std::is_unsigned_v<T>
T load_le(const std::byte* p) noexcept
{
    T value = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) {
        value = static_cast<T>((value << 8) | static_cast<T>(p[i]));
    }
    return value;
}

template <typename T>
    requires std::is_unsigned_v<T>
T load_be(const std::byte* p) noexcept
{
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        value = static_cast<T>((value << 8) | static_cast<T>(p[i]));
    }
    return value;
}

template <typename T>
    requires std::is_unsigned_v<T>
void store_le(std::byte* p, T value) noexcept
{
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        p[i] = static_cast<std::byte>(value >> (8 * i));
    }
}

template <typename T>
    requires std::is_unsigned_v<T>
void store_be(std::byte* p, T value) noexcept
{
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        p[sizeof(T) - 1 - i] = static_cast<std::byte>(value >> (8 * i));
    }
}

}  // namespace diskshift
