// Internal: the SHA-1, SHA-256 and SHA-512 message digests (FIPS 180-4), computed incrementally.
// OVA manifests list one of them per package member (DSP0243 "manifest file").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace diskshift {

enum class ShaAlgorithm { sha1, sha256, sha512 };

/// "SHA1", "SHA256" or "SHA512": the names OVA manifests (openssl-style lines) use.
std::string_view sha_name(ShaAlgorithm algorithm) noexcept;

/// The algorithm an OVA manifest names: "SHA1", "SHA256", "SHA512", case-insensitive, with or
/// without a hyphen after "SHA" ("SHA-256", as some producers write); nullopt otherwise.
std::optional<ShaAlgorithm> sha_algorithm_named(std::string_view name) noexcept;

/// The digest length in bytes: 20, 32 or 64 (FIPS 180-4 section 1, figure 1).
std::size_t sha_digest_size(ShaAlgorithm algorithm) noexcept;

/// An incremental digest: feed the message with update() in pieces of any size, then finish().
/// Whole blocks are compressed straight from the caller's buffer; only a partial block is copied.
class Sha {
public:
    explicit Sha(ShaAlgorithm algorithm) noexcept;

    ShaAlgorithm algorithm() const noexcept { return algorithm_; }
    /// Bytes fed since construction or the last finish().
    std::uint64_t message_size() const noexcept { return message_size_; }

    void update(std::span<const std::byte> bytes) noexcept;
    /// The digest of everything fed, as lowercase hex; the object then starts a new message.
    std::string finish();

private:
    static constexpr std::size_t max_block_size = 128;  ///< SHA-512's block (FIPS 180-4 5.1.2)

    std::size_t block_size() const noexcept;
    void reset() noexcept;
    void compress(const std::byte* blocks, std::size_t count) noexcept;

    ShaAlgorithm algorithm_;
    /// The hash value H (FIPS 180-4 section 5.3); SHA-1 and SHA-256 use the low 32 bits of each.
    std::array<std::uint64_t, 8> state_{};
    std::array<std::byte, max_block_size> pending_{};
    std::size_t pending_size_ = 0;
    std::uint64_t message_size_ = 0;
};

/// The digest of `bytes` in one call, as lowercase hex.
std::string sha_hex(ShaAlgorithm algorithm, std::span<const std::byte> bytes);

}  // namespace diskshift
