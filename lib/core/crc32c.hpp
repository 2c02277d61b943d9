// Internal: CRC-32C (Castagnoli), the checksum of VHDX headers, region tables and log entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace diskshift {

/// The CRC-32C of `bytes` (reflected polynomial 0x82F63B78, initial value and final xor ~0), as
/// MS-VHDX 2.2.2.1 specifies. To checksum a structure in pieces, pass the previous result as
/// `previous`: crc32c(b, crc32c(a)) == crc32c(a ‖ b).
std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t previous = 0) noexcept;

}  // namespace diskshift
