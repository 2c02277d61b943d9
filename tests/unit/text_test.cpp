#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "core/bytes.hpp"
#include "core/endian.hpp"
#include "core/text.hpp"

using namespace diskshift;

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values)
{
    std::vector<std::byte> out;
    for (unsigned v : values) {
        out.push_back(static_cast<std::byte>(v));
    }
    return out;
}

}  // namespace

TEST_CASE("endian: loads and stores round-trip in both byte orders")
{
    std::array<std::byte, 8> buf{};
    store_be<std::uint32_t>(buf.data(), 0x636f6e65);  // "cone", the VHD cookie's first half
    CHECK(buf[0] == std::byte{'c'});
    CHECK(load_be<std::uint32_t>(buf.data()) == 0x636f6e65);
    CHECK(load_le<std::uint32_t>(buf.data()) == 0x656e6f63);
    store_le<std::uint64_t>(buf.data(), 0x0102030405060708);
    CHECK(buf[0] == std::byte{8});
    CHECK(buf[7] == std::byte{1});
    CHECK(load_le<std::uint64_t>(buf.data()) == 0x0102030405060708);
    CHECK(load_be<std::uint16_t>(buf.data()) == 0x0807);
}

TEST_CASE("utf16_to_utf8: both byte orders, NUL-terminated, surrogate pairs, bad surrogates")
{
    CHECK(utf16_to_utf8(bytes_of({'a', 0, 'b', 0, 0, 0, 'c', 0}), Endian::little) == "ab");
    CHECK(utf16_to_utf8(bytes_of({0, 'a', 0, 'b'}), Endian::big) == "ab");
    CHECK(utf16_to_utf8(bytes_of({0xE9, 0x00}), Endian::little) == "\xC3\xA9");                 // é
    CHECK(utf16_to_utf8(bytes_of({0x3D, 0xD8, 0x00, 0xDE}), Endian::little) == "\xF0\x9F\x98\x80");  // U+1F600
    CHECK(utf16_to_utf8(bytes_of({0x3D, 0xD8, 'x', 0}), Endian::little) == "\xEF\xBF\xBDx");
    CHECK(utf16_to_utf8(bytes_of({'a', 0, 'b'}), Endian::little) == "a");
}

TEST_CASE("GUIDs: Windows mixed-endian layout and RFC 4122 byte order")
{
    const auto raw = bytes_of({0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                               0xee, 0xff});
    const std::span<const std::byte, 16> guid(raw.data(), 16);
    CHECK(format_windows_guid(guid) == "00112233-4455-6677-8899-aabbccddeeff");
    CHECK(format_uuid(guid) == "33221100-5544-7766-8899-aabbccddeeff");
}

TEST_CASE("random_uuid: version 4 and the RFC 4122 variant, in either stored layout, fresh each time")
{
    const std::array<std::byte, 16> network = random_uuid(Endian::big);
    const std::array<std::byte, 16> windows = random_uuid(Endian::little);
    // As text, both read xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx.
    for (const std::string& text : {format_uuid(network), format_windows_guid(windows)}) {
        INFO(text);
        CHECK(text[14] == '4');
        CHECK(std::string("89ab").find(text[19]) != std::string::npos);
    }
    CHECK((network[6] & std::byte{0xF0}) == std::byte{0x40});
    CHECK((windows[7] & std::byte{0xF0}) == std::byte{0x40});
    CHECK(random_uuid(Endian::big) != network);
}

TEST_CASE("is_all_zero: finds one non-zero byte anywhere in a long buffer")
{
    std::vector<std::byte> buf(10000);
    CHECK(is_all_zero(buf));
    CHECK(is_all_zero(std::span<const std::byte>()));
    buf[9999] = std::byte{1};
    CHECK_FALSE(is_all_zero(buf));
    CHECK(is_all_zero(std::span(buf).first(9999)));
}
