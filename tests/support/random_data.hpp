// Reproducible pseudo-random bytes: the same seed always gives the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace dstest {

class RandomBytes {
public:
    explicit RandomBytes(std::uint64_t seed) : engine_(seed) {}

    void fill(std::span<std::byte> out);
    std::vector<std::byte> make(std::size_t length);
    /// A number in [0, bound).
    std::uint64_t below(std::uint64_t bound);

private:
    std::mt19937_64 engine_;
};

/// `length` bytes from a generator seeded with `seed`.
std::vector<std::byte> random_bytes(std::size_t length, std::uint64_t seed);

}  // namespace dstest
