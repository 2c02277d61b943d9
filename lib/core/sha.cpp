// SHA-1, SHA-256 and SHA-512 after FIPS 180-4. Each compression function keeps the working
// variables in locals and runs over every whole block of one update() call.
#include "core/sha.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>

#include "core/endian.hpp"

namespace diskshift {
namespace {

// FIPS 180-4 4.1.1: SHA-1 uses Ch, Parity, Maj and Parity with four constants, 20 rounds each
// (4.2.1); one loop per function lets the compiler keep everything in registers.
void compress_sha1(std::array<std::uint64_t, 8>& state, const std::byte* block,
                   std::size_t count) noexcept
{
    std::array<std::uint32_t, 80> w{};
    for (; count > 0; --count, block += 64) {
        for (std::size_t t = 0; t < 16; ++t) {
            w[t] = load_be<std::uint32_t>(block + 4 * t);
        }
        for (std::size_t t = 16; t < 80; ++t) {  // 6.1.2 step 1
            w[t] = std::rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        }
        auto a = static_cast<std::uint32_t>(state[0]);
        auto b = static_cast<std::uint32_t>(state[1]);
        auto c = static_cast<std::uint32_t>(state[2]);
        auto d = static_cast<std::uint32_t>(state[3]);
        auto e = static_cast<std::uint32_t>(state[4]);
        const auto rounds = [&](std::size_t first, std::uint32_t k, auto f) {
            for (std::size_t t = first; t < first + 20; ++t) {
                const std::uint32_t temp = std::rotl(a, 5) + f(b, c, d) + e + k + w[t];
                e = d;
                d = c;
                c = std::rotl(b, 30);
                b = a;
                a = temp;
            }
        };
        rounds(0, 0x5a827999, [](std::uint32_t x, std::uint32_t y, std::uint32_t z) { return (x & y) ^ (~x & z); });
        rounds(20, 0x6ed9eba1, [](std::uint32_t x, std::uint32_t y, std::uint32_t z) { return x ^ y ^ z; });
        rounds(40, 0x8f1bbcdc,
               [](std::uint32_t x, std::uint32_t y, std::uint32_t z) { return (x & y) ^ (x & z) ^ (y & z); });
        rounds(60, 0xca62c1d6, [](std::uint32_t x, std::uint32_t y, std::uint32_t z) { return x ^ y ^ z; });
        state[0] = static_cast<std::uint32_t>(state[0] + a);
        state[1] = static_cast<std::uint32_t>(state[1] + b);
        state[2] = static_cast<std::uint32_t>(state[2] + c);
        state[3] = static_cast<std::uint32_t>(state[3] + d);
        state[4] = static_cast<std::uint32_t>(state[4] + e);
    }
}

// FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64
// primes.
constexpr std::array<std::uint32_t, 64> sha256_k = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// FIPS 180-4 4.2.3: the first 64 bits of the fractional parts of the cube roots of the first 80
// primes.
constexpr std::array<std::uint64_t, 80> sha512_k = {
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
    0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
    0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
    0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
    0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
    0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
    0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
    0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
    0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
    0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
    0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
};

// The rotation and shift amounts of Σ0, Σ1 (three rotations), σ0 and σ1 (two rotations, then a
// shift), FIPS 180-4 4.1.2 and 4.1.3, as compile-time constants so that they fold into the code.
struct Sha256 {
    using Word = std::uint32_t;
    static constexpr std::size_t rounds = 64;
    static constexpr int big0[3] = {2, 13, 22}, big1[3] = {6, 11, 25};
    static constexpr int small0[3] = {7, 18, 3}, small1[3] = {17, 19, 10};
    static constexpr const auto& k = sha256_k;
};

struct Sha512 {
    using Word = std::uint64_t;
    static constexpr std::size_t rounds = 80;
    static constexpr int big0[3] = {28, 34, 39}, big1[3] = {14, 18, 41};
    static constexpr int small0[3] = {1, 8, 7}, small1[3] = {19, 61, 6};
    static constexpr const auto& k = sha512_k;
};

template <const int (&r)[3], typename Word>
constexpr Word big_sigma(Word x) noexcept
{
    return std::rotr(x, r[0]) ^ std::rotr(x, r[1]) ^ std::rotr(x, r[2]);
}

template <const int (&r)[3], typename Word>
constexpr Word small_sigma(Word x) noexcept
{
    return std::rotr(x, r[0]) ^ std::rotr(x, r[1]) ^ (x >> r[2]);
}

// FIPS 180-4 6.2.2 (SHA-256) and 6.4.2 (SHA-512): the same computation on 32- or 64-bit words.
template <typename Sha2>
void compress_sha2(std::array<std::uint64_t, 8>& state, const std::byte* block, std::size_t count) noexcept
{
    using Word = typename Sha2::Word;
    constexpr std::size_t block_bytes = 16 * sizeof(Word);
    std::array<Word, Sha2::rounds> w{};
    for (; count > 0; --count, block += block_bytes) {
        for (std::size_t t = 0; t < 16; ++t) {
            w[t] = load_be<Word>(block + sizeof(Word) * t);
        }
        for (std::size_t t = 16; t < Sha2::rounds; ++t) {
            w[t] = small_sigma<Sha2::small1>(w[t - 2]) + w[t - 7] + small_sigma<Sha2::small0>(w[t - 15]) + w[t - 16];
        }
        std::array<Word, 8> v{};
        for (std::size_t i = 0; i < 8; ++i) {
            v[i] = static_cast<Word>(state[i]);
        }
        auto [a, b, c, d, e, f, g, h] = v;
        for (std::size_t t = 0; t < Sha2::rounds; ++t) {
            const Word t1 = h + big_sigma<Sha2::big1>(e) + ((e & f) ^ (~e & g)) + Sha2::k[t] + w[t];
            const Word t2 = big_sigma<Sha2::big0>(a) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        const std::array<Word, 8> result = {a, b, c, d, e, f, g, h};
        for (std::size_t i = 0; i < 8; ++i) {
            state[i] = static_cast<Word>(static_cast<Word>(state[i]) + result[i]);
        }
    }
}

// FIPS 180-4 5.3.1, 5.3.3 and 5.3.5: the initial hash values.
constexpr std::array<std::uint64_t, 8> sha1_initial = {0x67452301, 0xefcdab89, 0x98badcfe,
                                                       0x10325476, 0xc3d2e1f0};
constexpr std::array<std::uint64_t, 8> sha256_initial = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};
constexpr std::array<std::uint64_t, 8> sha512_initial = {
    0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
    0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
};

}  // namespace

std::string_view sha_name(ShaAlgorithm algorithm) noexcept
{
    switch (algorithm) {
    case ShaAlgorithm::sha1: return "SHA1";
    case ShaAlgorithm::sha256: return "SHA256";
    case ShaAlgorithm::sha512: return "SHA512";
    }
    return "SHA";
}

std::optional<ShaAlgorithm> sha_algorithm_named(std::string_view name) noexcept
{
    const auto upper = [](char ch) { return std::toupper(static_cast<unsigned char>(ch)); };
    if (name.size() < 3 || upper(name[0]) != 'S' || upper(name[1]) != 'H' || upper(name[2]) != 'A') {
        return std::nullopt;
    }
    name.remove_prefix(3);
    if (name.starts_with('-')) {
        name.remove_prefix(1);
    }
    for (const ShaAlgorithm algorithm :
         {ShaAlgorithm::sha1, ShaAlgorithm::sha256, ShaAlgorithm::sha512}) {
        if (name == sha_name(algorithm).substr(3)) {
            return algorithm;
        }
    }
    return std::nullopt;
}

std::size_t sha_digest_size(ShaAlgorithm algorithm) noexcept
{
    switch (algorithm) {
    case ShaAlgorithm::sha1: return 20;
    case ShaAlgorithm::sha256: return 32;
    case ShaAlgorithm::sha512: return 64;
    }
    return 0;
}

Sha::Sha(ShaAlgorithm algorithm) noexcept : algorithm_(algorithm)
{
    reset();
}

std::size_t Sha::block_size() const noexcept
{
    return algorithm_ == ShaAlgorithm::sha512 ? 128 : 64;  // FIPS 180-4 section 1, figure 1
}

void Sha::reset() noexcept
{
    switch (algorithm_) {
    case ShaAlgorithm::sha1: state_ = sha1_initial; break;
    case ShaAlgorithm::sha256: state_ = sha256_initial; break;
    case ShaAlgorithm::sha512: state_ = sha512_initial; break;
    }
    pending_size_ = 0;
    message_size_ = 0;
}

void Sha::compress(const std::byte* blocks, std::size_t count) noexcept
{
    switch (algorithm_) {
    case ShaAlgorithm::sha1: compress_sha1(state_, blocks, count); break;
    case ShaAlgorithm::sha256: compress_sha2<Sha256>(state_, blocks, count); break;
    case ShaAlgorithm::sha512: compress_sha2<Sha512>(state_, blocks, count); break;
    }
}

void Sha::update(std::span<const std::byte> bytes) noexcept
{
    const std::size_t block = block_size();
    message_size_ += bytes.size();
    if (pending_size_ > 0) {
        const std::size_t take = std::min(block - pending_size_, bytes.size());
        std::memcpy(pending_.data() + pending_size_, bytes.data(), take);
        pending_size_ += take;
        bytes = bytes.subspan(take);
        if (pending_size_ < block) {
            return;
        }
        compress(pending_.data(), 1);
        pending_size_ = 0;
    }
    const std::size_t whole = bytes.size() / block;
    if (whole > 0) {
        compress(bytes.data(), whole);
        bytes = bytes.subspan(whole * block);
    }
    if (!bytes.empty()) {
        std::memcpy(pending_.data(), bytes.data(), bytes.size());
        pending_size_ = bytes.size();
    }
}

std::string Sha::finish()
{
    // FIPS 180-4 5.1: a 1 bit, zeros, then the message length in bits as a big-endian 64-bit
    // (SHA-1, SHA-256) or 128-bit (SHA-512) number ending the last block.
    const std::size_t block = block_size();
    const std::size_t length_field = block / 8;
    const std::uint64_t bytes = message_size_;
    pending_[pending_size_++] = std::byte{0x80};
    if (pending_size_ > block - length_field) {
        std::fill(pending_.begin() + static_cast<std::ptrdiff_t>(pending_size_),
                  pending_.begin() + static_cast<std::ptrdiff_t>(block), std::byte{0});
        compress(pending_.data(), 1);
        pending_size_ = 0;
    }
    std::fill(pending_.begin() + static_cast<std::ptrdiff_t>(pending_size_),
              pending_.begin() + static_cast<std::ptrdiff_t>(block), std::byte{0});
    store_be<std::uint64_t>(pending_.data() + block - 8, bytes << 3);
    if (length_field == 16) {
        store_be<std::uint64_t>(pending_.data() + block - 16, bytes >> 61);
    }
    compress(pending_.data(), 1);

    static constexpr char hex_digits[] = "0123456789abcdef";
    const std::size_t word_bytes = algorithm_ == ShaAlgorithm::sha512 ? 8 : 4;
    const std::size_t digest_bytes = sha_digest_size(algorithm_);
    std::string hex;
    hex.reserve(2 * digest_bytes);
    for (std::size_t i = 0; i < digest_bytes; ++i) {
        const std::size_t shift = 8 * (word_bytes - 1 - i % word_bytes);
        const auto byte = static_cast<unsigned>(state_[i / word_bytes] >> shift) & 0xFFu;
        hex += hex_digits[byte >> 4];
        hex += hex_digits[byte & 0xF];
    }
    reset();
    return hex;
}

std::string sha_hex(ShaAlgorithm algorithm, std::span<const std::byte> bytes)
{
    Sha sha(algorithm);
    sha.update(bytes);
    return sha.finish();
}

}  // namespace diskshift
