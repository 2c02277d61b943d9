// SHA-1, SHA-256, SHA-512: the FIPS 180-4 example vectors, incremental updates equal to one-shot,
// and coreutils' sha*sum as an independent oracle on a large random buffer.
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "core/sha.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"

using diskshift::Sha;
using diskshift::ShaAlgorithm;
using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed5a11;

std::span<const std::byte> as_bytes(std::string_view text)
{
    return std::as_bytes(std::span(text.data(), text.size()));
}

struct Vector {
    ShaAlgorithm algorithm;
    std::string_view message;
    std::string_view digest;
};

// FIPS 180-4 example computations (NIST CSRC "Examples with Intermediate Values"): "abc", the
// 448-bit message (two blocks for SHA-1/256) and the 896-bit message (two blocks for SHA-512).
constexpr std::string_view abc = "abc";
constexpr std::string_view bits448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr std::string_view bits896 =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopq"
    "rsmnopqrstnopqrstu";

const Vector vectors[] = {
    {ShaAlgorithm::sha1, abc, "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {ShaAlgorithm::sha1, bits448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    {ShaAlgorithm::sha1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {ShaAlgorithm::sha256, abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {ShaAlgorithm::sha256, bits448,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {ShaAlgorithm::sha256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {ShaAlgorithm::sha512, abc,
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
     "454d4423643ce80e2a9ac94fa54ca49f"},
    {ShaAlgorithm::sha512, bits896,
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433a"
     "c7d329eeb6dd26545e96e55b874be909"},
    {ShaAlgorithm::sha512, "",
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f"
     "63b931bd47417a81a538327af927da3e"},
};

const ShaAlgorithm all_algorithms[] = {ShaAlgorithm::sha1, ShaAlgorithm::sha256, ShaAlgorithm::sha512};

}  // namespace

TEST_SUITE("sha") {

TEST_CASE("SHA: the FIPS 180-4 example messages give the published digests")
{
    for (const Vector& v : vectors) {
        INFO(diskshift::sha_name(v.algorithm) << " of \"" << v.message << "\"");
        CHECK(diskshift::sha_hex(v.algorithm, as_bytes(v.message)) == v.digest);
    }
}

TEST_CASE("SHA: one million 'a' fed in uneven pieces gives the FIPS 180-4 digest")
{
    const std::string million(1'000'000, 'a');
    const std::pair<ShaAlgorithm, std::string_view> expected[] = {
        {ShaAlgorithm::sha1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
        {ShaAlgorithm::sha256, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
        {ShaAlgorithm::sha512,
         "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31b"
         "eb009c5c2c49aa2e4eadb217ad8cc09b"},
    };
    for (const auto& [algorithm, digest] : expected) {
        INFO(diskshift::sha_name(algorithm));
        CHECK(diskshift::sha_hex(algorithm, as_bytes(million)) == digest);
        Sha sha(algorithm);
        std::string_view rest = million;
        for (std::size_t piece = 1; !rest.empty(); piece = piece * 3 + 1) {
            const std::size_t n = std::min(piece, rest.size());
            sha.update(as_bytes(rest.substr(0, n)));
            rest.remove_prefix(n);
        }
        CHECK(sha.message_size() == million.size());
        CHECK(sha.finish() == digest);
    }
}

TEST_CASE("SHA: every split of a message around the block and padding boundaries equals one-shot")
{
    // 0..300 bytes cover one, two and three blocks of either size, and every length where the
    // padding's length field no longer fits the last block (55/56 and 111/112 bytes).
    const std::vector<std::byte> data = random_bytes(300, seed);
    for (const ShaAlgorithm algorithm : all_algorithms) {
        for (std::size_t length = 0; length <= data.size(); length += 1) {
            const std::span<const std::byte> message(data.data(), length);
            const std::string whole = diskshift::sha_hex(algorithm, message);
            for (const std::size_t cut : {std::size_t{0}, length / 3, length / 2, length}) {
                Sha sha(algorithm);
                sha.update(message.first(cut));
                sha.update(message.subspan(cut, (length - cut) / 2));
                sha.update(message.subspan(cut + (length - cut) / 2));
                REQUIRE_MESSAGE(sha.finish() == whole, diskshift::sha_name(algorithm)
                                                           << " length " << length << " cut " << cut);
            }
        }
    }
}

TEST_CASE("SHA: finish() starts a new message")
{
    Sha sha(ShaAlgorithm::sha256);
    sha.update(as_bytes("something else"));
    (void)sha.finish();
    sha.update(as_bytes(abc));
    CHECK(sha.finish() == vectors[3].digest);
}

TEST_CASE("SHA: a random 3 MiB buffer hashes as sha1sum, sha256sum and sha512sum say")
{
    TempDir dir;
    const std::vector<std::byte> data = random_bytes(3 * 1024 * 1024 + 77, seed);
    write_whole_file(dir / "random.bin", data);
    const std::pair<ShaAlgorithm, std::string> tools[] = {
        {ShaAlgorithm::sha1, "sha1sum"},
        {ShaAlgorithm::sha256, "sha256sum"},
        {ShaAlgorithm::sha512, "sha512sum"},
    };
    for (const auto& [algorithm, tool] : tools) {
        const std::string oracle = run_program(tool, {(dir / "random.bin").string()}).out;
        Sha sha(algorithm);
        for (std::size_t offset = 0; offset < data.size(); offset += 65537) {
            sha.update(std::span(data).subspan(offset, std::min<std::size_t>(65537, data.size() - offset)));
        }
        const std::string ours = sha.finish();
        INFO(tool);
        CHECK(oracle.substr(0, oracle.find(' ')) == ours);
    }
}

TEST_CASE("SHA: manifest algorithm names")
{
    CHECK(diskshift::sha_algorithm_named("SHA256") == ShaAlgorithm::sha256);
    CHECK(diskshift::sha_algorithm_named("sha1") == ShaAlgorithm::sha1);
    CHECK(diskshift::sha_algorithm_named("SHA-512") == ShaAlgorithm::sha512);
    CHECK_FALSE(diskshift::sha_algorithm_named("MD5").has_value());
    CHECK_FALSE(diskshift::sha_algorithm_named("SHA384").has_value());
    CHECK_FALSE(diskshift::sha_algorithm_named("SH").has_value());
    CHECK(diskshift::sha_digest_size(ShaAlgorithm::sha512) == 64);
}

}  // TEST_SUITE
