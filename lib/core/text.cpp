#include "core/text.hpp"

#include <algorithm>
#include <array>
#include <random>

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

/// The same 16 bytes with the first three fields byte-swapped: network byte order to the way
/// Windows stores a GUID (Data1 of 4 bytes, Data2 and Data3 of 2 bytes little-endian; Data4 a
/// byte array), and back.
std::array<std::byte, 16> swap_first_fields(std::span<const std::byte, 16> bytes)
{
    std::array<std::byte, 16> out{};
    std::reverse_copy(bytes.begin(), bytes.begin() + 4, out.begin());
    std::reverse_copy(bytes.begin() + 4, bytes.begin() + 6, out.begin() + 4);
    std::reverse_copy(bytes.begin() + 6, bytes.begin() + 8, out.begin() + 6);
    std::copy(bytes.begin() + 8, bytes.end(), out.begin() + 8);
    return out;
}

std::string format_windows_guid(std::span<const std::byte, 16> bytes)
{
    return format_guid_bytes(swap_first_fields(bytes));
}

std::string format_uuid(std::span<const std::byte, 16> bytes)
{
    std::array<std::byte, 16> display{};
    std::copy(bytes.begin(), bytes.end(), display.begin());
    return format_guid_bytes(display);
}

std::array<std::byte, 16> random_uuid(Endian first_fields)
{
    std::random_device random;
    std::array<std::byte, 16> id{};
    for (std::size_t i = 0; i < id.size(); i += 4) {
        store_be(id.data() + i, static_cast<std::uint32_t>(random()));
    }
    // RFC 4122 §4.4: version 4 (random) in the high nibble of byte 6, variant 10 in byte 8.
    id[6] = (id[6] & std::byte{0x0F}) | std::byte{0x40};
    id[8] = (id[8] & std::byte{0x3F}) | std::byte{0x80};
    return first_fields == Endian::big ? id : swap_first_fields(id);
}

}  // namespace diskshift
