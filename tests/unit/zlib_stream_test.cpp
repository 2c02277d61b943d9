#include <doctest/doctest.h>

#include <vector>

#include "codec/zlib_stream.hpp"
#include "support/random_data.hpp"

using namespace diskshift;

TEST_CASE("zlib_stream: a grain round-trips, trailing padding is ignored, damage and overflow are refused")
{
    std::vector<std::byte> grain = dstest::random_bytes(65536, 0x21);
    std::fill_n(grain.begin(), 30000, std::byte{0x41});
    std::vector<std::byte> packed(codec::zlib_compress_bound(grain.size()) + 512);
    const auto size = codec::zlib_compress(grain, packed, 6);
    REQUIRE(size.has_value());
    CHECK(*size < grain.size());
    CHECK(packed[0] == std::byte{0x78});  // the zlib header VMware and qemu grains start with

    std::vector<std::byte> out(65536);
    CHECK(codec::zlib_decompress(packed, out) == grain.size());  // zero padding follows the stream
    CHECK(out == grain);

    std::vector<std::byte> small(1000);
    CHECK_FALSE(codec::zlib_decompress(std::span(packed).first(*size), small).has_value());
    CHECK_FALSE(codec::zlib_decompress(std::span(packed).first(*size - 4), out).has_value());
    std::vector<std::byte> damaged(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(*size));
    damaged[damaged.size() - 1] ^= std::byte{1};  // the Adler-32 trailer no longer matches
    CHECK_FALSE(codec::zlib_decompress(damaged, out).has_value());
}

TEST_CASE("zlib_stream: stored (level 0) random data is larger than its input and still decompresses")
{
    const std::vector<std::byte> grain = dstest::random_bytes(65536, 0x22);
    std::vector<std::byte> packed(codec::zlib_compress_bound(grain.size()));
    const auto size = codec::zlib_compress(grain, packed, 0);
    REQUIRE(size.has_value());
    CHECK(*size > grain.size());
    std::vector<std::byte> out(grain.size());
    CHECK(codec::zlib_decompress(std::span(packed).first(*size), out) == grain.size());
    CHECK(out == grain);
    std::vector<std::byte> tiny(10);
    CHECK_FALSE(codec::zlib_compress(grain, tiny, 6).has_value());
}
