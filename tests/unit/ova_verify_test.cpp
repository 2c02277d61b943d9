// Checking a package member against its manifest digest as it is read: contiguous reads, gaps
// filled, reads far ahead left for finish(), and a mismatch that names the file.
#include <doctest/doctest.h>

#include <memory>
#include <thread>
#include <vector>

#include <diskshift/io.hpp>

#include "core/sha.hpp"
#include "formats/ova/verifying_source.hpp"
#include "support/byte_range.hpp"
#include "support/errors.hpp"
#include "support/random_data.hpp"
#include "support/text.hpp"

using namespace diskshift;
using namespace diskshift::formats::ova;
using namespace dstest;

namespace {

ManifestEntry entry_for(const std::vector<std::byte>& bytes, ShaAlgorithm algorithm)
{
    return {std::string(sha_name(algorithm)), "disk.raw", sha_hex(algorithm, bytes), 1};
}

void read(const ByteSource& source, std::uint64_t offset, std::size_t length)
{
    std::vector<std::byte> buf(length);
    source.read_at(buf, offset);
}

}  // namespace

TEST_CASE("OVA verifying source: reads advance the hashed prefix; small gaps are filled, far reads wait for finish()")
{
    const std::vector<std::byte> bytes = random_bytes(40 * MiB, 31);
    const auto member = std::make_shared<MemorySource>(bytes, "pkg.ova:disk.raw");
    const VerifyingSource source(member, entry_for(bytes, ShaAlgorithm::sha256), "pkg.mf");

    read(source, 0, 4096);
    CHECK(source.hashed_bytes() == 4096);
    read(source, 39 * MiB, MiB);  // far ahead (a footer): read, not hashed
    CHECK(source.hashed_bytes() == 4096);
    read(source, 1000, 100);      // behind: nothing changes
    CHECK(source.hashed_bytes() == 4096);
    read(source, 2 * MiB, MiB);   // a gap under 16 MiB: hashed from the member, then the read
    CHECK(source.hashed_bytes() == 3 * MiB);
    read(source, 3 * MiB - 10, 20);
    CHECK(source.hashed_bytes() == 3 * MiB + 10);
    source.finish();              // hashes the rest and finds the digest right
    CHECK(source.hashed_bytes() == 40 * MiB);
    source.finish();
}

TEST_CASE("OVA verifying source: a digest that differs fails when the end is reached and in finish(), naming the file")
{
    std::vector<std::byte> bytes = random_bytes(3 * MiB, 32);
    const ManifestEntry good = entry_for(bytes, ShaAlgorithm::sha1);
    bytes[2 * MiB] ^= std::byte{1};
    const auto member = std::make_shared<MemorySource>(bytes, "pkg.ova:disk.raw");

    const VerifyingSource read_whole(member, good, "pkg.mf");
    const std::string message = error_message_of([&] { read(read_whole, 0, 3 * MiB); });
    CHECK(contains(message, "pkg.ova:disk.raw"));
    CHECK(contains(message, "pkg.mf"));
    CHECK(contains(message, good.digest));
    CHECK(error_kind_of([&] { read_whole.finish(); }) == "corrupt");

    const VerifyingSource read_part(member, good, "pkg.mf");
    read(read_part, 0, MiB);  // the damage lies in the part never read
    CHECK(error_kind_of([&] { read_part.finish(); }) == "corrupt");
}

TEST_CASE("OVA verifying source: four threads reading neighbouring chunks hash every byte once, in order")
{
    const std::vector<std::byte> bytes = random_bytes(64 * MiB, 33);
    const auto member = std::make_shared<MemorySource>(bytes, "pkg.ova:disk.raw");
    for (const ShaAlgorithm algorithm : {ShaAlgorithm::sha1, ShaAlgorithm::sha256, ShaAlgorithm::sha512}) {
        const VerifyingSource source(member, entry_for(bytes, algorithm), "pkg.mf");
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (std::uint64_t at = t * MiB; at < 64 * MiB; at += 4 * MiB) {
                    read(source, at, MiB);
                }
            });
        }
        for (std::thread& thread : threads) {
            thread.join();
        }
        CHECK(source.hashed_bytes() == 64 * MiB);  // every gap was small: nothing left for finish()
        CHECK(error_kind_of([&] { source.finish(); }) == "no error");
    }
}
