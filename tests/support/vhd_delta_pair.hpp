// A fixed VHD base and a differencing VHD delta naming it, built byte by byte, with the bytes the
// chain reads: fixtures for in-place commits, whose expected result is known exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dstest::vhd {

struct DeltaPairSpec {
    std::uint64_t disk_size = 1 << 20;     ///< a multiple of block_size
    std::uint32_t block_size = 64 * 1024;
    std::size_t changed_blocks = 4;        ///< blocks with new random bytes (every third one half present)
    std::size_t unchanged_blocks = 0;      ///< blocks the delta stores with the base's own bytes
    std::uint64_t seed = 1;
};

struct DeltaPair {
    std::vector<std::byte> base_file;    ///< the fixed VHD: data, then the footer
    std::vector<std::byte> delta_file;   ///< the differencing VHD (parent name "base.vhd")
    std::vector<std::byte> merged_file;  ///< the base file with the delta's sectors written in
    std::uint64_t delta_bytes = 0;       ///< the sectors the delta stores
};

/// Distinct blocks chosen at random; the base's bytes are random too.
DeltaPair make_delta_pair(const DeltaPairSpec& spec);

}  // namespace dstest::vhd
