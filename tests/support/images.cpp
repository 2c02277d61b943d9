#include "support/images.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include <diskshift/format.hpp>
#include <diskshift/io.hpp>

namespace dstest {

std::unique_ptr<diskshift::Image> open_raw_bytes(std::vector<std::byte> bytes, const std::string& name)
{
    diskshift::OpenContext context;
    context.options.format = "raw";
    return diskshift::open_image(std::make_shared<diskshift::MemorySource>(std::move(bytes), name), context);
}

std::unique_ptr<diskshift::Image> open_raw_file(const std::filesystem::path& path)
{
    diskshift::OpenOptions options;
    options.format = "raw";
    return diskshift::open_image(path, options);
}

namespace {

/// The offset of the first byte where `a` and `b` differ, or nullopt.
std::optional<std::size_t> first_difference(std::span<const std::byte> a, std::span<const std::byte> b)
{
    const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin());
    if (ia == a.end()) {
        return std::nullopt;
    }
    return static_cast<std::size_t>(ia - a.begin());
}

}  // namespace

std::string image_difference(const diskshift::Image& expected, const diskshift::Image& actual, bool allow_zero_tail)
{
    if (expected.size() != actual.size() && !(allow_zero_tail && actual.size() > expected.size())) {
        return fmt::format("sizes differ: expected {} bytes, got {}", expected.size(), actual.size());
    }
    constexpr std::uint64_t chunk = 1 << 20;
    std::vector<std::byte> want(chunk);
    std::vector<std::byte> got(chunk);
    for (std::uint64_t offset = 0; offset < actual.size(); offset += chunk) {
        const std::size_t length = std::min(chunk, actual.size() - offset);
        const std::size_t known = offset < expected.size() ? std::min<std::uint64_t>(length, expected.size() - offset) : 0;
        std::fill(want.begin(), want.end(), std::byte{0});
        expected.read(std::span(want).first(known), offset);
        actual.read(std::span(got).first(length), offset);
        if (const auto at = first_difference(std::span(want).first(length), std::span(got).first(length))) {
            return fmt::format("first difference at offset {}", offset + *at);
        }
    }
    return "";
}

}  // namespace dstest
