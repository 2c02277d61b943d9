// VHDX writing: `imgconv -O vhdx` of sparse raw disks (dynamic and fixed, 1, 32 and 256 MiB blocks,
// sizes that are no multiple of the block size, past the first 4 GiB chunk) passes `qemu-img check`,
// compares equal with `qemu-img compare`, is read by vhdiinfo and by our reader, and stays sparse;
// write_zeroes, the on-disk layout, big writes and refused options through the Writer API.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>

#include <algorithm>
#include <string>
#include <vector>

#include <diskshift/convert.hpp>
#include <diskshift/format.hpp>

#include "core/endian.hpp"
#include "formats/vhdx/vhdx_layout.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/tool_json.hpp"
#include "support/text.hpp"
#include "support/vhdx_log_writer.hpp"

using namespace dstest;

namespace {

namespace vhdx = diskshift::formats::vhdx;

std::string text_of(std::uint64_t n) { return std::to_string(n); }

/// A sparse raw disk of `size` bytes: random data at each of `pieces` (offset, length), explicit
/// zeros at `zeros`, holes everywhere else.
std::filesystem::path write_raw(const TempDir& dir, std::uint64_t size, const std::vector<ByteRange>& pieces,
                                const ByteRange& zeros)
{
    const std::filesystem::path path = dir / ("source-" + text_of(size) + ".raw");
    const Fd fd = open_file(path, O_RDWR | O_CREAT | O_TRUNC);
    REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
    RandomBytes random(size);
    for (const ByteRange& piece : pieces) {
        write_at(fd.get(), random.make(piece.length), piece.offset);
    }
    write_at(fd.get(), std::vector<std::byte>(zeros.length), zeros.offset);
    return path;
}

/// A disk of `size` bytes cut in `block_size` blocks with random data in its first sector, across
/// the boundary of blocks 0 and 1 (unaligned), unaligned inside block 1 and in its last sector;
/// explicit zeros after block 1's data; nothing in block 2.
std::filesystem::path write_source(const TempDir& dir, std::uint64_t size, std::uint64_t block_size)
{
    return write_raw(dir, size,
                     {{0, 512}, {block_size - 300, MiB + 100}, {block_size + block_size / 2 + 7, 1000}, {size - 512, 512}},
                     {block_size + block_size / 2 + 64 * KiB, 8 * KiB});
}

void imgconv_vhdx(const std::filesystem::path& source, const std::filesystem::path& output, const std::string& options)
{
    std::vector<std::string> args = {"-f", "raw", "-O", "vhdx"};
    if (!options.empty()) {
        args.insert(args.end(), {"-o", options});
    }
    args.insert(args.end(), {source.string(), output.string()});
    const ProcessResult run = run_tool("imgconv", args);
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
}

/// The outside oracles on a VHDX written from the raw `source`: qemu-img check, compare and info,
/// and vhdiinfo; the output holds little more than the source's data.
void check_with_oracles(const std::filesystem::path& source, const std::filesystem::path& vhdx_file,
                        const std::string& subformat, std::uint64_t block_size)
{
    const std::uint64_t size = std::filesystem::file_size(source);
    INFO("vhdx ", subformat, ", ", block_size / MiB, " MiB blocks, ", size, " bytes");
    const std::string qemu = required_program("qemu-img");
    run_checked({qemu, "check", "-q", "-f", "vhdx", vhdx_file.string()});
    run_checked({qemu, "compare", "-q", "-f", "raw", "-F", "vhdx", source.string(), vhdx_file.string()});
    const nlohmann::json info = qemu_info_json(vhdx_file, "vhdx");
    CHECK(info.at("virtual-size").get<std::uint64_t>() == size);
    CHECK(info.at("cluster-size").get<std::uint64_t>() == block_size);
    const ProcessResult vhdi = run_program("vhdiinfo", {vhdx_file.string()});
    CHECK(contains(vhdi.out, fmt::format("({} bytes)", size)));
    CHECK(contains(vhdi.out, subformat == "fixed" ? "Fixed" : "Dynamic"));
    CHECK(allocated_bytes(vhdx_file) <= allocated_bytes(source) + 2 * MiB);
}

/// The oracles, and our reader reading the whole disk as the source.
void check_written(const std::filesystem::path& source, const std::filesystem::path& vhdx_file,
                   const std::string& subformat, std::uint64_t block_size)
{
    check_with_oracles(source, vhdx_file, subformat, block_size);
    const auto ours = diskshift::open_image(vhdx_file);
    CHECK(ours->info().subformat == subformat);
    CHECK(ours->info().cluster_size == block_size);
    CHECK(image_difference(*open_raw_file(source), *ours) == "");
}

std::vector<std::byte> bytes_of(const diskshift::Image& image, const ByteRange& range)
{
    std::vector<std::byte> bytes(range.length);
    image.read(bytes, range.offset);
    return bytes;
}

/// The blocks (cut at `size`) that hold a byte of `pieces`, merged.
std::vector<ByteRange> blocks_holding(const std::vector<ByteRange>& pieces, std::uint64_t block_size, std::uint64_t size)
{
    std::vector<ByteRange> blocks;
    for (const ByteRange& piece : pieces) {
        for (std::uint64_t b = piece.offset / block_size; b <= (piece.end() - 1) / block_size; ++b) {
            if (blocks.empty() || blocks.back().end() <= b * block_size) {
                append_merged(blocks, {b * block_size, std::min(block_size, size - b * block_size)});
            }
        }
    }
    return blocks;
}

/// The block states our reader counts in the written file's BAT.
nlohmann::ordered_json block_states(const std::filesystem::path& vhdx_file)
{
    return diskshift::open_image(vhdx_file)->info().details.at("bat").at("block_states");
}

/// A sink that counts the writes reaching a MemorySink.
class CountingSink final : public diskshift::ByteSink {
public:
    const std::string& name() const override { return memory.name(); }
    void write_at(std::span<const std::byte> data, std::uint64_t offset) override
    {
        ++writes;
        memory.write_at(data, offset);
    }
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override { memory.write_zeroes(offset, length); }
    void resize(std::uint64_t size) override { memory.resize(size); }
    std::uint64_t size() const override { return memory.size(); }
    void commit() override { memory.commit(); }

    diskshift::MemorySink memory;
    unsigned writes = 0;
};

std::unique_ptr<diskshift::Writer> create_vhdx(diskshift::ByteSink& sink, std::uint64_t size, const std::string& options)
{
    diskshift::CreateRequest request;
    request.virtual_size = size;
    request.options.parse(options);
    return diskshift::find_format("vhdx").create(sink, std::move(request));
}

std::unique_ptr<diskshift::Image> open_vhdx_bytes(const std::vector<std::byte>& bytes)
{
    diskshift::OpenContext context;
    return diskshift::open_image(std::make_shared<diskshift::MemorySource>(bytes, "written.vhdx"), context);
}

}  // namespace

TEST_CASE("vhdx writer: dynamic and fixed disks in 1, 32 and 256 MiB blocks pass qemu-img check and compare, "
          "and stay sparse")
{
    const TempDir dir;
    require_hole_support(dir.path());
    for (const std::uint64_t block_size : {1 * MiB, 32 * MiB, 256 * MiB}) {
        // Three and a half blocks and three sectors: a last block cut short, block 2 never written.
        const std::filesystem::path source = write_source(dir, 3 * block_size + block_size / 2 + 1536, block_size);
        for (const std::string subformat : {"dynamic", "fixed"}) {
            const std::filesystem::path output = dir / (subformat + ".vhdx");
            imgconv_vhdx(source, output, "subformat=" + subformat + ",block_size=" + text_of(block_size / MiB) + "M");
            check_written(source, output, subformat, block_size);
            const auto states = block_states(output);
            if (subformat == "fixed") {
                CHECK(states == nlohmann::ordered_json{{"fully_present", 4}});
            } else {
                CHECK(states == nlohmann::ordered_json{{"not_present", 1}, {"fully_present", 3}});
            }
            std::filesystem::remove(output);
        }
        std::filesystem::remove(source);
    }
}

TEST_CASE("vhdx writer: past the first 4 GiB chunk, blocks skip the chunk's sector bitmap entry")
{
    const TempDir dir;
    require_hole_support(dir.path());
    // One chunk is 2^23 sectors (4 GiB) at every block size; data on both sides of its end.
    const std::uint64_t size = 5 * GiB + 1536;
    const std::vector<ByteRange> pieces = {{4 * GiB - MiB / 2, MiB}, {4 * GiB + 33 * MiB + 5, 3000}, {size - 512, 512}};
    const std::filesystem::path source = write_raw(dir, size, pieces, {4 * GiB + 40 * MiB, 64 * KiB});
    for (const std::uint64_t block_size : {1 * MiB, 32 * MiB}) {
        const std::filesystem::path output = dir / "big.vhdx";
        imgconv_vhdx(source, output, "block_size=" + text_of(block_size));
        check_with_oracles(source, output, "dynamic", block_size);
        // Our reader: exactly the blocks written are data, and they read as the source (the rest
        // reads zeros, as qemu-img compare has checked; reading 5 GiB of zeros here would be slow).
        const auto ours = diskshift::open_image(output);
        const std::vector<ByteRange> blocks = blocks_holding(pieces, block_size, size);
        CHECK(data_ranges(ours->extents()) == blocks);
        const auto raw = open_raw_file(source);
        for (const ByteRange& range : blocks) {
            CHECK_MESSAGE(bytes_of(*raw, range) == bytes_of(*ours, range), "differ in the block(s) at " << range.offset);
        }
        const std::uint64_t blocks_count = (size + block_size - 1) / block_size;
        const std::uint64_t chunk_ratio = 4 * GiB / block_size;
        CHECK(ours->info().details.at("bat").at("entries").get<std::uint64_t>() ==
              blocks_count + (blocks_count - 1) / chunk_ratio);
        std::filesystem::remove(output);
    }
}

TEST_CASE("vhdx writer: the file is laid out as MS-VHDX says, with fresh identities and no log to replay")
{
    const TempDir dir;
    const std::filesystem::path source = write_source(dir, 8 * MiB, 2 * MiB);
    const std::filesystem::path first = dir / "first.vhdx";
    const std::filesystem::path second = dir / "second.vhdx";
    imgconv_vhdx(source, first, "block_size=2M");
    imgconv_vhdx(source, second, "block_size=2M");

    const std::vector<std::byte> bytes = read_whole_file(first);
    CHECK(std::string(reinterpret_cast<const char*>(bytes.data()), 8) == "vhdxfile");
    const auto info = diskshift::open_image(first)->info();
    CHECK(info.details.at("creator").get<std::string>().starts_with("diskshift "));
    CHECK(info.details.at("header").at("checksum") == "valid");
    CHECK(info.details.at("region_table") == "copy 1 (checksum valid)");
    CHECK(info.details.at("logical_sector_size") == 512);
    CHECK(info.details.at("physical_sector_size") == 4096);
    CHECK(info.details.at("leave_blocks_allocated") == false);
    CHECK(info.warnings.empty());
    // Both headers valid, version 1, no pending log (LogGuid zero) in a 1 MiB log at 1 MiB.
    for (const std::uint64_t at : vhdx::header_offsets) {
        CHECK(std::string(reinterpret_cast<const char*>(bytes.data() + at), 4) == "head");
        CHECK(diskshift::load_le<std::uint16_t>(bytes.data() + at + 66) == 1);
        CHECK(std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(at + 48),
                          bytes.begin() + static_cast<std::ptrdiff_t>(at + 64), [](std::byte b) { return b == std::byte{0}; }));
    }
    const VhdxRegions regions = read_vhdx_regions(first);
    CHECK(regions.log_offset == MiB);
    CHECK(regions.log_length == MiB);
    CHECK(regions.metadata_offset == 2 * MiB);
    CHECK(regions.bat_offset == 3 * MiB);
    // Both region tables are identical and mark both regions required.
    CHECK(std::equal(bytes.begin() + 192 * KiB, bytes.begin() + 256 * KiB, bytes.begin() + 256 * KiB));
    for (const std::uint64_t entry : {192 * KiB + 16, 192 * KiB + 48}) {
        CHECK(diskshift::load_le<std::uint32_t>(bytes.data() + entry + 28) == 1);
    }
    // Each conversion makes its own disk identity and DataWriteGuid.
    const auto other = diskshift::open_image(second)->info();
    CHECK(info.details.at("page83_disk_id") != other.details.at("page83_disk_id"));
    CHECK(info.id != other.id);
}

TEST_CASE("vhdx writer: write_zeroes zeros inside written blocks and marks whole unwritten blocks ZERO")
{
    const std::uint64_t size = 6 * MiB;
    const std::vector<std::byte> data = random_bytes(3 * MiB, 5);
    for (const std::string subformat : {"dynamic", "fixed"}) {
        INFO("subformat ", subformat);
        diskshift::MemorySink sink;
        const auto writer = create_vhdx(sink, size, "block_size=1M,subformat=" + subformat);
        writer->write(0, data);                 // blocks 0-2
        writer->write_zeroes(MiB + 4096, 8192);  // inside block 1
        writer->write_zeroes(2 * MiB, MiB);     // all of block 2, already written
        writer->write_zeroes(4 * MiB, MiB);     // all of block 4, never written
        writer->write_zeroes(5 * MiB + 512, 512);  // part of block 5, never written
        writer->finish();

        std::vector<std::byte> expected(size);
        std::copy(data.begin(), data.begin() + 2 * MiB, expected.begin());
        std::fill(expected.begin() + MiB + 4096, expected.begin() + MiB + 3 * 4096, std::byte{0});
        const auto image = open_vhdx_bytes(sink.bytes());
        CHECK(image_difference(*open_raw_bytes(expected), *image) == "");
        const nlohmann::ordered_json expected_states =
            subformat == "fixed" ? nlohmann::ordered_json{{"fully_present", 6}}
                                 : nlohmann::ordered_json{{"not_present", 2}, {"zero", 1}, {"fully_present", 3}};
        CHECK(image->info().details.at("bat").at("block_states") == expected_states);

        const TempDir dir;
        write_whole_file(dir / "expected.raw", expected);
        write_whole_file(dir / "written.vhdx", sink.bytes());
        run_checked({required_program("qemu-img"), "check", "-q", "-f", "vhdx", (dir / "written.vhdx").string()});
        run_checked({required_program("qemu-img"), "compare", "-q", "-f", "raw", "-F", "vhdx",
                     (dir / "expected.raw").string(), (dir / "written.vhdx").string()});
    }
}

TEST_CASE("vhdx writer: data goes to the sink in the big pieces convert() hands over, not sector by sector")
{
    // 8 MiB of data in 1 MiB windows: 8 data writes, plus the metadata written once by finish().
    std::vector<std::byte> disk(16 * MiB);
    const std::vector<std::byte> data = random_bytes(8 * MiB, 9);
    std::copy(data.begin(), data.end(), disk.begin() + 4 * MiB);
    CountingSink sink;
    const auto writer = create_vhdx(sink, disk.size(), "block_size=4M");
    const auto source = open_raw_bytes(disk);
    diskshift::convert(*source, *writer, {});
    CHECK(sink.writes <= 8 + 8);
    CHECK(image_difference(*source, *open_vhdx_bytes(sink.memory.bytes())) == "");
}

TEST_CASE("vhdx writer: a size that is not whole sectors gets zeros up to the next sector, as with qemu-img")
{
    const TempDir dir;
    const std::filesystem::path source = dir / "odd.raw";
    write_whole_file(source, random_bytes(5000, 3));
    const std::filesystem::path output = dir / "odd.vhdx";
    imgconv_vhdx(source, output, "");
    const auto image = diskshift::open_image(output);
    CHECK(image->info().virtual_size == 5120);
    CHECK(image_difference(*open_raw_file(source), *image, true) == "");
    run_checked({required_program("qemu-img"), "check", "-q", "-f", "vhdx", output.string()});
    run_checked({required_program("qemu-img"), "compare", "-q", "-f", "raw", "-F", "vhdx", source.string(), output.string()});
}

TEST_CASE("vhdx writer: bad options are refused through imgconv (exit 1) and leave no output")
{
    const TempDir dir;
    const std::filesystem::path source = dir / "small.raw";
    write_whole_file(source, random_bytes(64 * KiB, 4));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"block_size=512K", "block_size=524288 is not allowed: use a power of two from 1M to 256M"},
        {"block_size=3M", "block_size=3145728 is not allowed: use a power of two from 1M to 256M"},
        {"block_size=512M", "block_size=536870912 is not allowed: use a power of two from 1M to 256M"},
        {"block_size=0", "block_size=0 is not allowed"},
        {"subformat=streamOptimized", "subformat=streamOptimized is not one of dynamic, fixed"},
        {"cluster_size=1M", "cluster_size"},
    };
    for (const auto& [options, message] : cases) {
        INFO("-o ", options);
        const ProcessResult run =
            run_tool("imgconv", {"-f", "raw", "-O", "vhdx", "-o", options, source.string(), (dir / "out.vhdx").string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, message));
        CHECK(dir.names() == std::vector<std::string>{"small.raw"});
    }
}

TEST_CASE("vhdx writer: empty disks, disks over 64 TiB and BATs over 160 MiB in memory are refused before writing")
{
    diskshift::MemorySink sink;
    CHECK(error_kind_of([&] { create_vhdx(sink, 0, ""); }) == "unsupported");
    CHECK(error_kind_of([&] { create_vhdx(sink, 64 * 1024 * GiB + 512, ""); }) == "unsupported");
    CHECK(contains(error_message_of([&] { create_vhdx(sink, 64 * 1024 * GiB, "block_size=1M"); }),
                   "needs a 512 MiB block allocation table"));
    CHECK(error_kind_of([&] { create_vhdx(sink, 64 * 1024 * GiB, "block_size=4M"); }) == "no error");
    CHECK(sink.size() == 0);
}
