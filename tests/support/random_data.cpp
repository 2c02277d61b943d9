#include "support/random_data.hpp"

#include <cstring>

namespace dstest {

void RandomBytes::fill(std::span<std::byte> out)
{
    std::size_t at = 0;
    while (at < out.size()) {
        const std::uint64_t word = engine_();
        const std::size_t n = std::min(sizeof word, out.size() - at);
        std::memcpy(out.data() + at, &word, n);
        at += n;
    }
}

std::vector<std::byte> RandomBytes::make(std::size_t length)
{
    std::vector<std::byte> out(length);
    fill(out);
    return out;
}

std::uint64_t RandomBytes::below(std::uint64_t bound)
{
    return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(engine_);
}

std::vector<std::byte> random_bytes(std::size_t length, std::uint64_t seed)
{
    return RandomBytes(seed).make(length);
}

}  // namespace dstest
