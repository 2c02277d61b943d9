#include "core/text.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "core/endian.hpp"

namespace diskshift {
namespace {

constexpr char32_t replacement_character = 0xFFFD;

void append_utf8(std::string& out, char32_t c)
{
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

bool is_high_surrogate(char16_t u) { return u >= 0xD800 && u <= 0xDBFF; }
bool is_low_surrogate(char16_t u) { return u >= 0xDC00 && u <= 0xDFFF; }

/// Formats 16 bytes given in display order.
std::string format_guid_bytes(const std::array<std::byte, 16>& b)
{
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out += '-';
        }
        out += fmt::format("{:02x}", static_cast<unsigned>(b[i]));
    }
    return out;
}

}  // namespace

std::string utf16_to_utf8(std::span<const std::byte> bytes, Endian order)
{
    std::string out;
    const std::size_t units = bytes.size() / 2;
    auto unit_at = [&](std::size_t i) {
        const std::byte* p = bytes.data() + 2 * i;
        return static_cast<char16_t>(order == Endian::little ? load_le<std::uint16_t>(p) : load_be<std::uint16_t>(p));
    };
    for (std::size_t i = 0; i < units; ++i) {
        const char16_t u = unit_at(i);
        if (u == 0) {
            break;
        }
        if (is_high_surrogate(u) && i + 1 < units && is_low_surrogate(unit_at(i + 1))) {
            const char16_t low = unit_at(++i);
            append_utf8(out, 0x10000 + ((static_cast<char32_t>(u) - 0xD800) << 10) + (low - 0xDC00));
        } else if (is_high_surrogate(u) || is_low_surrogate(u)) {
            append_utf8(out, replacement_character);
        } else {
            append_utf8(out, u);
        }
    }
    return out;
}

std::string format_windows_guid(std::span<const std::byte, 16> bytes)
{
    // Data1 (4 bytes), Data2 and Data3 (2 bytes each) are little-endian; Data4 is a byte array.
    std::array<std::byte, 16> display{};
    std::reverse_copy(bytes.begin(), bytes.begin() + 4, display.begin());
    std::reverse_copy(bytes.begin() + 4, bytes.begin() + 6, display.begin() + 4);
    std::reverse_copy(bytes.begin() + 6, bytes.begin() + 8, display.begin() + 6);
    std::copy(bytes.begin() + 8, bytes.end(), display.begin() + 8);
    return format_guid_bytes(display);
}

std::string format_uuid(std::span<const std::byte, 16> bytes)
{
    std::array<std::byte, 16> display{};
    std::copy(bytes.begin(), bytes.end(), display.begin());
    return format_guid_bytes(display);
}

}  // namespace diskshift
