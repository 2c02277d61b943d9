// convert(): exact copies, zero-block skipping, unaligned ends, progress and cancellation, threads,
// refusals that leave nothing behind.
#include <fcntl.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <diskshift/convert.hpp>
#include <diskshift/format.hpp>
#include <diskshift/io.hpp>

#include "support/errors.hpp"
#include "support/extent_json.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/printing.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using diskshift::ConvertOptions;
using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed0005;
constexpr std::uint64_t block = diskshift::zero_detect_block;
/// convert() reads data in chunks and may split a run of non-zero data where one chunk ends; it
/// must not split finer than this.
constexpr std::uint64_t coarsest_allowed_split = 64 * KiB;

/// A writer that records every call and keeps the bytes written.
class RecordingWriter final : public diskshift::Writer {
public:
    explicit RecordingWriter(std::uint64_t size) : bytes_(size) {}

    void write(std::uint64_t offset, std::span<const std::byte> data) override
    {
        REQUIRE_MESSAGE(!finished_, "write() after finish()");
        REQUIRE(offset + data.size() <= bytes_.size());
        writes_.push_back({offset, data.size()});
        std::copy(data.begin(), data.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override { zero_writes_.push_back({offset, length}); }
    void finish() override { ++finish_calls_; finished_ = true; }

    const std::vector<ByteRange>& writes() const noexcept { return writes_; }
    const std::vector<ByteRange>& zero_writes() const noexcept { return zero_writes_; }
    const std::vector<std::byte>& bytes() const noexcept { return bytes_; }
    int finish_calls() const noexcept { return finish_calls_; }

private:
    std::vector<std::byte> bytes_;
    std::vector<ByteRange> writes_;
    std::vector<ByteRange> zero_writes_;
    int finish_calls_ = 0;
    bool finished_ = false;
};

/// A disk whose 4 KiB blocks follow `plan`: 'D' random data, '0' zeros, 'p' zeros but one byte in
/// the middle, 'e' zeros but the last byte. The last block is cut to make the size `size`.
std::vector<std::byte> planned_disk(const std::string& plan, std::uint64_t size)
{
    RandomBytes random(seed);
    std::vector<std::byte> disk(plan.size() * block);
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const std::span<std::byte> b = std::span(disk).subspan(i * block, block);
        switch (plan[i]) {
        case 'D': random.fill(b); break;
        case 'p': b[block / 2] = std::byte{0x42}; break;
        case 'e': b[block - 1] = std::byte{0x42}; break;
        default: break;
        }
    }
    disk.resize(size);
    return disk;
}

/// The 4 KiB-aligned blocks (the last one possibly short) holding a non-zero byte, merged.
std::vector<ByteRange> non_zero_blocks(const std::vector<std::byte>& disk)
{
    std::vector<ByteRange> out;
    for (std::uint64_t at = 0; at < disk.size(); at += block) {
        const std::uint64_t length = std::min<std::uint64_t>(block, disk.size() - at);
        const auto first = disk.begin() + static_cast<std::ptrdiff_t>(at);
        const bool all_zero =
            std::all_of(first, first + static_cast<std::ptrdiff_t>(length), [](std::byte b) { return b == std::byte{0}; });
        if (!all_zero) {
            append_merged(out, {at, length});
        }
    }
    return out;
}

std::vector<ByteRange> merged(const std::vector<ByteRange>& ranges)
{
    std::vector<ByteRange> out;
    for (const ByteRange& r : ranges) {
        append_merged(out, r);
    }
    return out;
}

/// "" when the writes are ascending, do not overlap, and only split a run of data at a chunk
/// boundary (a multiple of coarsest_allowed_split); the first broken rule otherwise.
std::string write_order_problem(const std::vector<ByteRange>& writes)
{
    for (std::size_t i = 1; i < writes.size(); ++i) {
        const ByteRange& before = writes[i - 1];
        const ByteRange& after = writes[i];
        if (after.offset < before.end()) {
            return fmt::format("write {} at {} overlaps or precedes the write ending at {}", i, after.offset, before.end());
        }
        if (after.offset == before.end() && after.offset % coarsest_allowed_split != 0) {
            return fmt::format("data split at {} between writes {} and {}, not at a chunk boundary", after.offset, i - 1, i);
        }
    }
    return "";
}

/// A writer that encodes: each encoder copies its chunk and notes the thread it ran on; the
/// writer records the chunks in the order write_encoded() receives them.
class EncodingWriter final : public diskshift::Writer {
public:
    struct Chunk {
        std::uint64_t offset = 0;
        std::vector<std::byte> bytes;
        std::thread::id thread;
    };

    std::unique_ptr<diskshift::ChunkEncoder> make_encoder() override { return std::make_unique<CopyingEncoder>(); }
    void write_encoded(const diskshift::ChunkEncoder& encoder) override
    {
        chunks_.push_back(static_cast<const CopyingEncoder&>(encoder).chunk);
    }
    void write(std::uint64_t, std::span<const std::byte>) override { FAIL("write() called on an encoding writer"); }
    void write_zeroes(std::uint64_t, std::uint64_t) override { FAIL("write_zeroes() called"); }
    void finish() override {}

    const std::vector<Chunk>& chunks() const noexcept { return chunks_; }

private:
    struct CopyingEncoder final : diskshift::ChunkEncoder {
        void encode(std::uint64_t offset, std::span<const std::byte> data) override
        {
            chunk.offset = offset;
            chunk.bytes.assign(data.begin(), data.end());
            chunk.thread = std::this_thread::get_id();
        }
        Chunk chunk;
    };

    std::vector<Chunk> chunks_;
};

/// A writer that takes write() calls from any thread, records which threads made them, and keeps
/// the bytes.
class ConcurrentWriter final : public diskshift::Writer {
public:
    explicit ConcurrentWriter(std::uint64_t size) : bytes_(size) {}

    bool concurrent_writes() const noexcept override { return true; }
    void write(std::uint64_t offset, std::span<const std::byte> data) override
    {
        const std::scoped_lock lock(mutex_);
        threads_.insert(std::this_thread::get_id());
        std::copy(data.begin(), data.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    void write_zeroes(std::uint64_t, std::uint64_t) override {}
    void finish() override {}

    const std::vector<std::byte>& bytes() const noexcept { return bytes_; }
    const std::set<std::thread::id>& threads() const noexcept { return threads_; }

private:
    std::mutex mutex_;
    std::vector<std::byte> bytes_;
    std::set<std::thread::id> threads_;
};

struct RawToMemory {
    diskshift::MemorySink sink{"out.raw"};
    diskshift::ConvertStats stats;
};

/// Converts `image` through the raw format's own writer into a MemorySink.
RawToMemory convert_to_memory(const diskshift::Image& image, const ConvertOptions& options = {})
{
    RawToMemory out;
    diskshift::CreateRequest request;
    request.virtual_size = image.size();
    request.source = &image.info();
    const auto writer = diskshift::find_format("raw").create(out.sink, std::move(request));
    out.stats = diskshift::convert(image, *writer, options);
    return out;
}

ConvertOptions with_threads(unsigned threads)
{
    ConvertOptions options;
    options.threads = threads;
    return options;
}

/// 24 MiB + 1234: data with allocated zero blocks inside, holes, and an unaligned tail of data.
SparseLayout file_layout()
{
    return {24 * MiB + 1234,
            {{0, 3 * MiB}, {3 * MiB + 4 * KiB, 8 * KiB}, {7 * MiB - 12 * KiB, 2 * MiB + 20 * KiB}, {20 * MiB, 4 * MiB + 1234}}};
}

/// Blocks inside the data of file_layout() that are overwritten with zeros (still allocated).
const std::vector<ByteRange>& zeroed_blocks()
{
    static const std::vector<ByteRange> blocks = {{64 * KiB, 4 * KiB}, {MiB, 2 * MiB}, {20 * MiB + 8 * KiB, 4 * KiB}};
    return blocks;
}

/// file_layout() on disk, with zeroed_blocks() written as zeros.
void write_file_with_zero_blocks(const std::filesystem::path& path)
{
    write_sparse_file(path, file_layout(), seed);
    const Fd fd = open_file(path, O_WRONLY);
    for (const ByteRange& r : zeroed_blocks()) {
        write_at(fd.get(), std::vector<std::byte>(r.length), r.offset);
    }
}

/// What a sparse copy of that file must allocate: its data without the zeroed blocks.
diskshift::ExtentList expected_copy_extents()
{
    SparseLayout copy{file_layout().size, {{0, 64 * KiB}, {68 * KiB, MiB - 68 * KiB}, {3 * MiB + 4 * KiB, 8 * KiB},
                                           {7 * MiB - 12 * KiB, 2 * MiB + 20 * KiB}, {20 * MiB, 8 * KiB},
                                           {20 * MiB + 12 * KiB, 4 * MiB + 1234 - 12 * KiB}}};
    return copy.extents();
}

}  // namespace

TEST_SUITE("convert") {

TEST_CASE("convert: into the raw writer on a MemorySink gives the same bytes")
{
    const std::vector<std::byte> disk = planned_disk("DD0pD00eDDDD0000D", 17 * block);
    const auto image = open_raw_bytes(disk);
    const RawToMemory out = convert_to_memory(*image);
    CHECK(out.sink.bytes() == disk);
    CHECK(out.stats.virtual_size == disk.size());
}

TEST_CASE("convert: all-zero 4 KiB blocks inside data extents are not written")
{
    // 3 MiB + 12 KiB: a whole zero MiB, runs crossing 1 MiB boundaries, single-byte blocks.
    std::string plan = "DDD0D00pe0";
    plan += std::string(246, 'D');                         // up to 1 MiB
    plan += std::string(256, '0');                         // a whole zero MiB
    plan += "DD" + std::string(250, '0') + "p000";         // up to 3 MiB, 'p' ends just before it
    plan += "DDD";
    REQUIRE(plan.size() == 3 * 256 + 3);
    const std::vector<std::byte> disk = planned_disk(plan, plan.size() * block);
    const auto image = open_raw_bytes(disk);
    RecordingWriter writer(disk.size());

    const diskshift::ConvertStats stats = diskshift::convert(*image, writer, with_threads(2));

    const std::vector<ByteRange> expected = non_zero_blocks(disk);
    CHECK(range_difference(expected, merged(writer.writes())) == "");
    CHECK(write_order_problem(writer.writes()) == "");
    CHECK(writer.writes().size() <= expected.size() + disk.size() / MiB);
    CHECK(writer.zero_writes().empty());
    CHECK(writer.finish_calls() == 1);
    CHECK(writer.bytes() == disk);

    std::uint64_t non_zero = 0;
    for (const ByteRange& r : expected) {
        non_zero += r.length;
    }
    CHECK(stats.data_bytes == non_zero);
    CHECK(stats.zero_bytes == disk.size() - non_zero);
    CHECK(stats.virtual_size == disk.size());
}

TEST_CASE("convert: a writer's encoder gets every chunk holding data, whole and zero-filled, on a worker, in order")
{
    // A file with holes: chunk 0 all data, chunk 1 a hole, chunk 2 allocated but all zeros, data
    // crossing from chunk 3 into 4 and again after a hole in chunk 4, and unaligned data at the
    // end. With one thread there are three buffers, so chunk 4 reuses chunk 0's: its hole must not
    // show chunk 0's bytes.
    const TempDir dir;
    const std::uint64_t size = 5 * MiB + 64 * KiB + 3000;
    const SparseLayout layout{size, {{0, MiB}, {2 * MiB, MiB}, {4 * MiB - 4 * KiB, 8 * KiB},
                                     {4 * MiB + 512 * KiB, 4 * KiB}, {5 * MiB + 64 * KiB, 3000}}};
    write_sparse_file(dir / "in.img", layout, seed);
    {
        const Fd fd = open_file(dir / "in.img", O_WRONLY);
        write_at(fd.get(), std::vector<std::byte>(MiB), 2 * MiB);
    }
    const auto image = open_raw_file(dir / "in.img");
    const std::vector<std::byte> disk = read_whole_file(dir / "in.img");

    EncodingWriter writer;
    const diskshift::ConvertStats stats = diskshift::convert(*image, writer, with_threads(1));

    std::vector<std::uint64_t> offsets;
    for (const EncodingWriter::Chunk& chunk : writer.chunks()) {
        offsets.push_back(chunk.offset);
        const std::uint64_t length = std::min<std::uint64_t>(MiB, size - chunk.offset);
        REQUIRE(chunk.bytes.size() == length);
        CHECK(std::equal(chunk.bytes.begin(), chunk.bytes.end(), disk.begin() + static_cast<std::ptrdiff_t>(chunk.offset)));
        CHECK(chunk.thread != std::this_thread::get_id());
    }
    CHECK(offsets == std::vector<std::uint64_t>{0, 3 * MiB, 4 * MiB, 5 * MiB});
    CHECK(stats.data_bytes == MiB + 8 * KiB + 4 * KiB + 3000);
    CHECK(stats.data_bytes + stats.zero_bytes == size);
}

TEST_CASE("convert: a writer that takes concurrent writes gets them from the workers, not the caller")
{
    const std::vector<std::byte> disk = planned_disk(std::string(3 * 256, 'D') + "00p0e", 3 * MiB + 5 * block - 7);
    const auto image = open_raw_bytes(disk);
    ConcurrentWriter writer(disk.size());
    diskshift::convert(*image, writer, with_threads(2));
    CHECK(writer.bytes() == disk);
    CHECK_FALSE(writer.threads().empty());
    CHECK(writer.threads().count(std::this_thread::get_id()) == 0);
}

TEST_CASE("convert: a long run of data is written in whole chunks")
{
    const std::vector<std::byte> disk = planned_disk(std::string(4 * 256, 'D'), 4 * MiB);
    const auto image = open_raw_bytes(disk);
    RecordingWriter writer(disk.size());
    diskshift::convert(*image, writer, with_threads(4));

    CHECK(write_order_problem(writer.writes()) == "");
    CHECK(writer.writes().size() <= 4 * MiB / coarsest_allowed_split);
    CHECK(merged(writer.writes()) == std::vector<ByteRange>{{0, 4 * MiB}});
}

TEST_CASE("convert: unaligned data at the end of a disk whose size is not a multiple of 4096")
{
    const std::uint64_t size = 5 * block + 1000;
    SUBCASE("non-zero tail")
    {
        const std::vector<std::byte> disk = planned_disk("D00D0D", size);
        const auto image = open_raw_bytes(disk);
        RecordingWriter writer(size);
        diskshift::convert(*image, writer, {});
        REQUIRE_FALSE(writer.writes().empty());
        CHECK(writer.writes().back().end() == size);
        CHECK(writer.bytes() == disk);
        CHECK(convert_to_memory(*image).sink.bytes() == disk);
    }
    SUBCASE("tail with a single non-zero last byte")
    {
        std::vector<std::byte> disk = planned_disk("D00000", size);
        disk.back() = std::byte{1};
        const auto image = open_raw_bytes(disk);
        RecordingWriter writer(size);
        diskshift::convert(*image, writer, {});
        CHECK(merged(writer.writes()) == std::vector<ByteRange>{{0, block}, {5 * block, 1000}});
        CHECK(convert_to_memory(*image).sink.bytes() == disk);
    }
    SUBCASE("zero tail is not written but the size is kept")
    {
        const std::vector<std::byte> disk = planned_disk("D00000", size);
        const auto image = open_raw_bytes(disk);
        RecordingWriter writer(size);
        diskshift::convert(*image, writer, {});
        CHECK(merged(writer.writes()) == std::vector<ByteRange>{{0, block}});
        const RawToMemory out = convert_to_memory(*image);
        CHECK(out.sink.size() == size);
        CHECK(out.sink.bytes() == disk);
    }
}

TEST_CASE("convert: an empty disk gives an empty image")
{
    const auto image = open_raw_bytes({});
    RecordingWriter writer(0);
    const diskshift::ConvertStats stats = diskshift::convert(*image, writer, {});
    CHECK(writer.writes().empty());
    CHECK(writer.finish_calls() == 1);
    CHECK(stats.virtual_size == 0);
    CHECK(convert_to_memory(*image).sink.bytes().empty());
}

TEST_CASE("convert: progress is monotonic and ends at the total")
{
    const TempDir dir;
    write_file_with_zero_blocks(dir / "in.img");
    const auto image = open_raw_file(dir / "in.img");

    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    ConvertOptions options = with_threads(2);
    options.progress = [&](std::uint64_t done, std::uint64_t total) {
        calls.emplace_back(done, total);
        return true;
    };
    convert_to_memory(*image, options);

    REQUIRE(calls.size() >= 2);
    bool monotonic = true;
    bool constant_total = true;
    for (std::size_t i = 0; i < calls.size(); ++i) {
        constant_total = constant_total && calls[i].second == image->size();
        monotonic = monotonic && (i == 0 || calls[i].first >= calls[i - 1].first);
    }
    CHECK(monotonic);
    CHECK(constant_total);
    CHECK(calls.back().first == image->size());
    CHECK(calls.front().first <= calls.back().first);
}

TEST_CASE("convert: progress returning false cancels a conversion into a writer")
{
    const auto image = open_raw_bytes(random_bytes(8 * MiB, seed));
    RecordingWriter writer(image->size());
    int calls = 0;
    ConvertOptions options = with_threads(2);
    options.progress = [&](std::uint64_t, std::uint64_t) { return ++calls < 3; };

    CHECK(error_kind_of([&] { diskshift::convert(*image, writer, options); }) == "cancelled");
    CHECK(calls == 3);
    CHECK(writer.finish_calls() == 0);
}

TEST_CASE("convert: a cancelled conversion to a path leaves no destination and no temporary file")
{
    const TempDir dir;
    write_file_with_zero_blocks(dir / "in.img");
    const auto image = open_raw_file(dir / "in.img");
    ConvertOptions options = with_threads(2);
    int calls = 0;
    options.progress = [&](std::uint64_t, std::uint64_t) { return ++calls < 4; };

    CHECK(error_kind_of([&] { diskshift::convert(*image, dir / "out.img", options); }) == "cancelled");
    CHECK(dir.names() == std::vector<std::string>{"in.img"});
}

TEST_CASE("convert: to a file gives the same bytes and skips zero blocks")
{
    const TempDir dir;
    require_hole_support(dir.path());
    write_file_with_zero_blocks(dir / "in.img");
    const auto image = open_raw_file(dir / "in.img");

    const diskshift::ConvertStats stats = diskshift::convert(*image, dir / "out.img", with_threads(2));

    CHECK(file_difference(dir / "in.img", dir / "out.img") == "");
    const auto copy = open_raw_file(dir / "out.img");
    CHECK(extent_difference(expected_copy_extents(), copy->extents()) == "");
    CHECK(stats.data_bytes == expected_copy_extents().bytes_of(diskshift::ExtentKind::data));
    CHECK(stats.data_bytes + stats.zero_bytes == image->size());
    CHECK(dir.names() == std::vector<std::string>{"in.img", "out.img"});
}

TEST_CASE("convert: one thread and four threads give identical output")
{
    const TempDir dir;
    write_file_with_zero_blocks(dir / "in.img");
    const auto image = open_raw_file(dir / "in.img");

    diskshift::convert(*image, dir / "one.img", with_threads(1));
    diskshift::convert(*image, dir / "four.img", with_threads(4));
    CHECK(file_difference(dir / "one.img", dir / "four.img") == "");
    CHECK(file_difference(dir / "in.img", dir / "four.img") == "");
    CHECK(extent_difference(open_raw_file(dir / "one.img")->extents(), open_raw_file(dir / "four.img")->extents()) == "");

    const std::vector<std::byte> disk = random_bytes(3 * MiB + 5, seed);
    const auto memory_image = open_raw_bytes(disk);
    CHECK(convert_to_memory(*memory_image, with_threads(1)).sink.bytes() ==
          convert_to_memory(*memory_image, with_threads(4)).sink.bytes());
}

TEST_CASE("convert: a disk larger than the 1 GiB extent window, with data across the boundary")
{
    const TempDir dir;
    require_hole_support(dir.path());
    const SparseLayout layout{2 * GiB + 5000,
                              {{0, 4 * KiB}, {GiB - 8 * KiB, 16 * KiB}, {2 * GiB - 4 * KiB, 4 * KiB + 5000}}};
    write_sparse_file(dir / "in.img", layout, seed);
    const auto image = open_raw_file(dir / "in.img");

    const diskshift::ConvertStats stats = diskshift::convert(*image, dir / "out.img", {});
    CHECK(stats.data_bytes == layout.data_bytes());
    CHECK(extent_difference(layout.extents(), open_raw_file(dir / "out.img")->extents()) == "");
    // Both files have holes exactly outside the data ranges (checked above), so comparing the data
    // ranges compares everything, without reading 4 GiB of holes.
    CHECK(file_difference(dir / "in.img", dir / "out.img", layout.data_ranges()) == "");
}

TEST_CASE("convert: converting onto the source path is refused and the source is untouched")
{
    const TempDir dir;
    write_file_with_zero_blocks(dir / "in.img");
    const std::vector<std::byte> before = read_whole_file(dir / "in.img");
    const auto image = open_raw_file(dir / "in.img");

    CHECK(error_kind_of([&] { diskshift::convert(*image, dir / "in.img", {}); }) == "invalid_argument");
    CHECK(error_kind_of([&] { diskshift::convert(*image, dir.path() / "." / "in.img", {}); }) == "invalid_argument");
    std::filesystem::create_hard_link(dir / "in.img", dir / "link.img");
    CHECK(error_kind_of([&] { diskshift::convert(*image, dir / "link.img", {}); }) == "invalid_argument");

    CHECK(read_whole_file(dir / "in.img") == before);
    CHECK(dir.names() == std::vector<std::string>{"in.img", "link.img"});
}

TEST_CASE("convert: an unknown output option is refused and leaves nothing")
{
    const TempDir dir;
    write_file_with_zero_blocks(dir / "in.img");
    const auto image = open_raw_file(dir / "in.img");
    ConvertOptions options;
    options.options.parse("foo=1");

    CHECK(error_kind_of([&] { diskshift::convert(*image, dir / "out.img", options); }) == "invalid_argument");
    CHECK(contains(error_message_of([&] { diskshift::convert(*image, dir / "out.img", options); }), "foo"));
    CHECK(dir.names() == std::vector<std::string>{"in.img"});
}

TEST_CASE("convert: an unknown output format is refused and leaves nothing")
{
    const TempDir dir;
    write_file_with_zero_blocks(dir / "in.img");
    const auto image = open_raw_file(dir / "in.img");
    ConvertOptions options;
    options.format = "nope";

    CHECK(error_kind_of([&] { diskshift::convert(*image, dir / "out.img", options); }) == "unsupported");
    CHECK(dir.names() == std::vector<std::string>{"in.img"});
}

}  // TEST_SUITE
