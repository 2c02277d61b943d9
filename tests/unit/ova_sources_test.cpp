// The sources an OVA disk is read through: gzip streamed in place (against gzip(1)'s own output),
// and chunks read end to end.
#include <fcntl.h>

#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <diskshift/io.hpp>

#include "io/concat_source.hpp"
#include "io/gzip_source.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace diskshift;
using namespace dstest;

namespace {

/// A file of `size` bytes, mostly zeros (it compresses well) with random 64 KiB pieces every 3 MiB.
std::vector<std::byte> compressible_bytes(std::uint64_t size, std::uint64_t seed)
{
    std::vector<std::byte> bytes(size);
    RandomBytes random(seed);
    for (std::uint64_t at = 0; at + 64 * KiB <= size; at += 3 * MiB) {
        random.fill(std::span(bytes).subspan(at, 64 * KiB));
    }
    return bytes;
}

/// gzip(1) of `bytes`, written to <dir>/<name>.gz.
std::filesystem::path gzip_file(const TempDir& dir, const std::string& name, const std::vector<std::byte>& bytes)
{
    write_whole_file(dir / name, bytes);
    run_program("gzip", {"-f", "-1", (dir / name).string()});
    return dir / (name + ".gz");
}

std::vector<std::byte> read_range(const ByteSource& source, std::uint64_t offset, std::size_t length)
{
    std::vector<std::byte> out(length);
    source.read_at(out, offset);
    return out;
}

std::vector<std::byte> slice(const std::vector<std::byte>& bytes, std::uint64_t offset, std::size_t length)
{
    return {bytes.begin() + static_cast<std::ptrdiff_t>(offset),
            bytes.begin() + static_cast<std::ptrdiff_t>(offset + length)};
}

}  // namespace

TEST_CASE("OVA gzip source: size, forward and backward reads across checkpoints, the head without the size")
{
    TempDir dir;
    const std::uint64_t size = 200 * MiB + 12345;  // past three checkpoints (every 64 MiB)
    const std::vector<std::byte> plain = compressible_bytes(size, 7);
    const auto gz = gzip_file(dir, "disk.raw", plain);
    const GzipSource source(std::make_shared<FileSource>(gz), "disk.raw.gz");

    std::vector<std::byte> head(100000);
    CHECK(source.read_head(head) == head.size());
    CHECK(head == slice(plain, 0, head.size()));

    CHECK(source.size() == size);
    // The end (served from the window left by the size pass), then back to the start, forward in
    // steps, back past a checkpoint, and a read spanning blocks.
    const std::vector<std::pair<std::uint64_t, std::size_t>> reads = {
        {size - 5000, 5000}, {0, 4096}, {3 * MiB - 10, 70000}, {130 * MiB + 7, 2 * MiB + 3},
        {65 * MiB, 4096},    {64 * MiB - 1, 2}, {size - 1, 1}, {100 * MiB, 3 * MiB},
    };
    for (const auto& [offset, length] : reads) {
        CAPTURE(offset);
        CHECK(read_range(source, offset, length) == slice(plain, offset, length));
    }
    CHECK(error_kind_of([&] { read_range(source, size - 10, 11); }) == "corrupt");
}

TEST_CASE("OVA gzip source: readers on four threads at once get the right bytes")
{
    TempDir dir;
    const std::uint64_t size = 40 * MiB;
    const std::vector<std::byte> plain = compressible_bytes(size, 8);
    const GzipSource source(std::make_shared<FileSource>(gzip_file(dir, "d", plain)), "d.gz");
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::vector<std::byte> buf(MiB);
            for (std::uint64_t at = t * MiB; at + MiB <= size; at += 4 * MiB) {
                source.read_at(buf, at);
                mismatches[t] += buf == slice(plain, at, MiB) ? 0 : 1;
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("OVA gzip source: several members read as one; damaged and cut streams are corrupt")
{
    TempDir dir;
    const std::vector<std::byte> a = random_bytes(300000, 9);
    const std::vector<std::byte> b = compressible_bytes(5 * MiB, 10);
    std::vector<std::byte> both = read_whole_file(gzip_file(dir, "a", a));
    const std::vector<std::byte> second = read_whole_file(gzip_file(dir, "b", b));
    both.insert(both.end(), second.begin(), second.end());
    const GzipSource joined(std::make_shared<MemorySource>(both, "ab.gz"), "ab");
    REQUIRE(joined.size() == a.size() + b.size());
    std::vector<std::byte> expected = a;
    expected.insert(expected.end(), b.begin(), b.end());
    CHECK(read_range(joined, 0, expected.size()) == expected);

    std::vector<std::byte> damaged = read_whole_file(dir / "a.gz");
    damaged[damaged.size() / 2] ^= std::byte{0x55};
    const GzipSource bad(std::make_shared<MemorySource>(damaged, "a.gz"), "a");
    CHECK(error_kind_of([&] { (void)bad.size(); }) == "corrupt");

    const std::vector<std::byte> whole = read_whole_file(dir / "a.gz");
    const GzipSource cut(std::make_shared<MemorySource>(slice(whole, 0, whole.size() - 100), "a.gz"), "a");
    CHECK(contains(error_message_of([&] { (void)cut.size(); }), "cut short"));
}

TEST_CASE("OVA concatenated source: chunks read end to end, empty chunks and reads across boundaries")
{
    const std::vector<std::byte> bytes = random_bytes(10000, 11);
    const auto part = [&](std::size_t from, std::size_t length) {
        return std::make_shared<MemorySource>(slice(bytes, from, length), "part");
    };
    const ConcatSource source({part(0, 0), part(0, 4096), part(4096, 0), part(4096, 5000), part(9096, 904)}, "all");
    REQUIRE(source.size() == bytes.size());
    CHECK(read_range(source, 0, bytes.size()) == bytes);
    CHECK(read_range(source, 4000, 200) == slice(bytes, 4000, 200));
    CHECK(read_range(source, 9096, 904) == slice(bytes, 9096, 904));
    CHECK(read_range(source, 9095, 2) == slice(bytes, 9095, 2));
    CHECK(source.allocation(100, 9000).bytes_of(ExtentKind::data) == 9000);
    CHECK(error_kind_of([&] { read_range(source, 9999, 2); }) == "corrupt");
}
