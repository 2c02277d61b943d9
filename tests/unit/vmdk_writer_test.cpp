// The VMDK writers: the stream layout VMware uses (checked by walking the markers), the
// monolithicSparse layout, the descriptor and its options, and the oracles (qemu-img check and
// compare, vmdkinfo, our reader) on disks with data at both ends, unaligned pieces, empty groups,
// sizes over 4 GiB and no data at all.
#include <doctest/doctest.h>

#include <fcntl.h>

#include <algorithm>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include <diskshift/convert.hpp>
#include <diskshift/format.hpp>
#include <diskshift/io.hpp>

#include "core/endian.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace dstest;
using diskshift::load_le;

namespace {

constexpr std::uint64_t sector = 512;
constexpr std::uint64_t grain_bytes = 64 * KiB;
constexpr std::uint64_t group_bytes = 32 * MiB;  // one grain table's span
constexpr std::uint64_t gd_at_end = ~std::uint64_t{0};

/// Converts the raw file `source` to VMDK at `destination` with `-o` text `options`.
void write_vmdk(const std::filesystem::path& source, const std::filesystem::path& destination,
                const std::string& options = "", unsigned threads = 0)
{
    diskshift::ConvertOptions convert;
    convert.format = "vmdk";
    convert.threads = threads;
    if (!options.empty()) {
        convert.options.parse(options);
    }
    diskshift::convert(*open_raw_file(source), destination, convert);
}

/// qemu-img check and compare against the source, and vmdkinfo with the right media size.
void check_with_other_tools(const std::filesystem::path& source, const std::filesystem::path& vmdk)
{
    run_program("qemu-img", {"check", "-f", "vmdk", vmdk.string()});
    run_program("qemu-img", {"compare", "-f", "raw", "-F", "vmdk", source.string(), vmdk.string()});
    const ProcessResult info = run_program("vmdkinfo", {vmdk.string()});
    CHECK_MESSAGE(contains(info.out, fmt::format("({} bytes)", std::filesystem::file_size(source))), info.out);
}

/// The oracles every written file must satisfy: the other tools, and our own reader.
void check_with_oracles(const std::filesystem::path& source, const std::filesystem::path& vmdk)
{
    check_with_other_tools(source, vmdk);
    CHECK(image_difference(*open_raw_file(source), *diskshift::open_image(vmdk)) == "");
}

/// Like check_with_oracles(), but our reader only reads the source's data ranges, and must map
/// everything else as holes: for sparse disks of many GiB.
void check_sparse_with_oracles(const std::filesystem::path& source, const std::filesystem::path& vmdk)
{
    check_with_other_tools(source, vmdk);
    const auto raw = open_raw_file(source);
    const auto image = diskshift::open_image(vmdk);
    REQUIRE(image->size() == raw->size());
    const std::vector<ByteRange> pieces = data_ranges(raw->extents());
    for (const ByteRange& piece : pieces) {
        std::vector<std::byte> expected(piece.length);
        std::vector<std::byte> actual(piece.length);
        raw->read(expected, piece.offset);
        image->read(actual, piece.offset);
        CHECK_MESSAGE(expected == actual, "piece at ", piece.offset);
    }
    // Only the grains holding those pieces are data.
    for (const ByteRange& mapped : data_ranges(image->extents())) {
        CHECK(std::ranges::any_of(pieces, [&](const ByteRange& piece) {
            return mapped.offset <= piece.offset && piece.end() <= mapped.end() && mapped.length <= 2 * grain_bytes;
        }));
    }
}

struct Header {
    std::uint32_t version = 0;
    std::uint32_t flags = 0;
    std::uint64_t capacity = 0;
    std::uint64_t grain_sectors = 0;
    std::uint64_t descriptor_offset = 0;
    std::uint64_t descriptor_sectors = 0;
    std::uint32_t gtes_per_gt = 0;
    std::uint64_t rgd_offset = 0;
    std::uint64_t gd_offset = 0;
    std::uint64_t overhead = 0;
    std::uint16_t compress_algorithm = 0;
};

/// Decodes a header from its bytes independently of the reader (technote's field offsets).
Header header_at(const std::vector<std::byte>& file, std::uint64_t at)
{
    REQUIRE(file.size() >= at + sector);
    const std::byte* p = file.data() + at;
    REQUIRE(load_le<std::uint32_t>(p) == 0x564d444bU);
    CHECK(std::equal(p + 73, p + 77, std::as_bytes(std::span("\n \r\n", 4)).begin()));
    return {load_le<std::uint32_t>(p + 4),  load_le<std::uint32_t>(p + 8),  load_le<std::uint64_t>(p + 12),
            load_le<std::uint64_t>(p + 20), load_le<std::uint64_t>(p + 28), load_le<std::uint64_t>(p + 36),
            load_le<std::uint32_t>(p + 44), load_le<std::uint64_t>(p + 48), load_le<std::uint64_t>(p + 56),
            load_le<std::uint64_t>(p + 64), load_le<std::uint16_t>(p + 77)};
}

/// What a walk over a stream file's markers finds.
struct StreamWalk {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> grains;  ///< (LBA, sector of the marker)
    std::map<std::uint64_t, std::uint64_t> tables;  ///< group -> sector of the GT (after its marker)
    std::uint64_t directory = 0;                    ///< sector of the GD (after its marker)
    std::uint64_t directory_sectors = 0;
    std::uint64_t footer = 0;  ///< sector of the footer (after its marker)
    std::uint64_t eos = 0;     ///< sector of the end-of-stream marker
};

/// Walks the markers from the header's overHead to the end-of-stream marker, checking each grain
/// marker's LBA, that grains ascend, and that a GT follows the grains of its group.
StreamWalk walk_stream(const std::vector<std::byte>& file)
{
    const Header header = header_at(file, 0);
    StreamWalk walk;
    std::uint64_t at = header.overhead * sector;
    std::optional<std::uint64_t> open_group;  // the group whose grains came since the last GT
    while (true) {
        REQUIRE_MESSAGE(at + sector <= file.size(), "walk ran past the end at ", at);
        const std::byte* p = file.data() + at;
        const std::uint64_t value = load_le<std::uint64_t>(p);
        const std::uint32_t size = load_le<std::uint32_t>(p + 8);
        if (size != 0) {
            REQUIRE(value % header.grain_sectors == 0);
            const std::uint64_t group = value * sector / group_bytes;
            if (!walk.grains.empty()) {
                REQUIRE_MESSAGE(value > walk.grains.back().first, "grains must ascend");
            }
            REQUIRE_MESSAGE((!open_group || *open_group == group), "group ", *open_group, " has no GT before ", group);
            open_group = group;
            walk.grains.emplace_back(value, at / sector);
            at += (12 + size + sector - 1) / sector * sector;
            continue;
        }
        const std::uint32_t type = load_le<std::uint32_t>(p + 12);
        if (value == 0 && type == 0) {
            walk.eos = at / sector;
            break;
        }
        if (type == 1) {
            REQUIRE(value == 4);
            REQUIRE_MESSAGE(open_group.has_value(), "a GT marker with no grains before it at ", at);
            walk.tables[*open_group] = at / sector + 1;
            open_group.reset();
        } else if (type == 2) {
            REQUIRE(!open_group.has_value());
            walk.directory = at / sector + 1;
            walk.directory_sectors = value;
        } else {
            REQUIRE(type == 3);
            REQUIRE(value == 1);
            walk.footer = at / sector + 1;
        }
        at += (1 + value) * sector;
    }
    return walk;
}

/// Checks a stream file's header, footer, tail and tables against what its markers show.
StreamWalk check_stream_layout(const std::filesystem::path& vmdk, std::uint64_t disk_size)
{
    const std::vector<std::byte> file = read_whole_file(vmdk);
    REQUIRE(file.size() % sector == 0);
    const Header header = header_at(file, 0);
    CHECK(header.version == 3);
    CHECK(header.flags == 0x30001);
    CHECK(header.gd_offset == gd_at_end);
    CHECK(header.compress_algorithm == 1);
    CHECK(header.grain_sectors == 128);
    CHECK(header.gtes_per_gt == 512);
    CHECK(header.capacity * sector == disk_size);
    CHECK(header.descriptor_offset == 1);
    CHECK(header.overhead % 128 == 0);

    const StreamWalk walk = walk_stream(file);
    const std::uint64_t last = file.size() / sector - 1;
    // The last three sectors: footer marker, footer, end-of-stream marker.
    CHECK(walk.eos == last);
    CHECK(walk.footer == last - 1);
    const Header footer = header_at(file, walk.footer * sector);
    CHECK(footer.gd_offset == walk.directory);
    CHECK(footer.capacity == header.capacity);
    CHECK(footer.flags == header.flags);

    const std::uint64_t groups = (disk_size + group_bytes - 1) / group_bytes;
    CHECK(walk.directory_sectors == (groups * 4 + sector - 1) / sector);
    std::map<std::uint64_t, std::uint64_t> grain_at;  // grain index -> marker sector
    for (const auto& [lba, at] : walk.grains) {
        grain_at[lba * sector / grain_bytes] = at;
    }
    for (std::uint64_t g = 0; g < groups; ++g) {
        const std::uint32_t gde = load_le<std::uint32_t>(file.data() + walk.directory * sector + 4 * g);
        const auto table = walk.tables.find(g);
        CHECK(gde == (table == walk.tables.end() ? 0 : table->second));
        for (std::uint64_t i = 0; gde != 0 && i < 512; ++i) {
            const std::uint32_t gte = load_le<std::uint32_t>(file.data() + std::uint64_t{gde} * sector + 4 * i);
            const auto grain = grain_at.find(g * 512 + i);
            CHECK(gte == (grain == grain_at.end() ? 0 : grain->second));
        }
    }
    return walk;
}

/// The embedded descriptor's text.
std::string descriptor_of(const std::filesystem::path& vmdk)
{
    const std::vector<std::byte> file = read_whole_file(vmdk);
    const Header header = header_at(file, 0);
    std::string text(reinterpret_cast<const char*>(file.data()) + header.descriptor_offset * sector,
                     header.descriptor_sectors * sector);
    return text.substr(0, text.find('\0'));
}

/// The lines of descriptor text.
std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

/// The value of the line `key = "value"` (or `key=value`) in descriptor text, or "" when absent.
std::string setting(const std::string& text, const std::string& key)
{
    for (const std::string& line : lines_of(text)) {
        for (const std::string& form : {key + " = \"", key + "=\"", key + "="}) {
            if (line.starts_with(form)) {
                const std::string value = line.substr(form.size());
                return form.ends_with('"') && value.ends_with('"') ? value.substr(0, value.size() - 1) : value;
            }
        }
    }
    return "";
}

/// The descriptor text without its CID and ddb.longContentID lines, which are fresh every time.
std::string without_ids(const std::string& text)
{
    std::string out;
    for (const std::string& line : lines_of(text)) {
        if (!line.starts_with("CID=") && !line.starts_with("ddb.longContentID")) {
            out += line + "\n";
        }
    }
    return out;
}

/// True when `text` is `digits` lower-case hexadecimal digits.
bool is_hex(const std::string& text, std::size_t digits)
{
    return text.size() == digits &&
           std::ranges::all_of(text, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// A disk of 70 MiB + 1536 bytes (three grain-table groups, the middle one empty) with data in
/// the first and last sectors, unaligned pieces, a grain of zeros written explicitly (allocated in
/// the source, still not stored) and a run crossing a 1 MiB chunk boundary.
std::filesystem::path write_varied_disk(const TempDir& dir)
{
    const std::filesystem::path path = dir / "source.raw";
    const std::uint64_t size = 70 * MiB + 1536;
    write_sparse_file(path, {size, {{0, 8 * KiB}, {MiB - 4 * KiB, 12 * KiB}, {3 * MiB + 4 * KiB, 4 * KiB},
                                    {64 * MiB + 60 * KiB, 8 * KiB}, {size - 1536, 1536}}},
                      7);
    const Fd fd = open_file(path, O_WRONLY);
    write_at(fd.get(), std::vector<std::byte>(grain_bytes), 5 * MiB);
    write_at(fd.get(), random_bytes(1000, 8), 2 * MiB + 100);
    return path;
}

std::string error_of_options(const std::string& options, std::uint64_t size = MiB)
{
    return error_message_of([&] {
        diskshift::MemorySink sink("out.vmdk");
        diskshift::CreateRequest request;
        request.virtual_size = size;
        request.options.parse(options);
        diskshift::find_format("vmdk").create(sink, std::move(request));
    });
}

}  // namespace

TEST_SUITE("vmdk writer") {

TEST_CASE("vmdk writer: a stream file in VMware's layout that qemu-img, vmdkinfo and our reader accept")
{
    const TempDir dir;
    const std::filesystem::path source = write_varied_disk(dir);
    const std::filesystem::path vmdk = dir / "out.vmdk";
    write_vmdk(source, vmdk);

    const StreamWalk walk = check_stream_layout(vmdk, std::filesystem::file_size(source));
    // Grains holding data: 0, 15, 16, 32 (unaligned piece at 2 MiB + 100), 48, 1024 + 0 (64 MiB +
    // 60 KiB spans grains 1024 and 1025), 1025, and the last one. The explicit zeros at 5 MiB are
    // not stored. Group 1 (32 to 64 MiB) is empty and has no table.
    std::vector<std::uint64_t> grains;
    for (const auto& [lba, at] : walk.grains) {
        grains.push_back(lba * sector / grain_bytes);
    }
    CHECK(grains == std::vector<std::uint64_t>{0, 15, 16, 32, 48, 1024, 1025, 1120});
    CHECK(walk.tables.size() == 2);
    CHECK(walk.tables.count(0) == 1);
    CHECK(walk.tables.count(2) == 1);
    check_with_oracles(source, vmdk);
}

TEST_CASE("vmdk writer: an all-zero disk is still a whole stream file: directory, footer, end-of-stream")
{
    const TempDir dir;
    const std::filesystem::path source = dir / "empty.raw";
    write_sparse_file(source, {40 * MiB, {}}, 1);
    const std::filesystem::path vmdk = dir / "empty.vmdk";
    write_vmdk(source, vmdk);

    const StreamWalk walk = check_stream_layout(vmdk, 40 * MiB);
    CHECK(walk.grains.empty());
    CHECK(walk.tables.empty());
    check_with_oracles(source, vmdk);
}

TEST_CASE("vmdk writer: a sparse disk over 4 GiB, stream and monolithicSparse")
{
    const TempDir dir;
    const std::filesystem::path source = dir / "big.raw";
    const std::uint64_t size = 5 * GiB + 64 * KiB + 512;
    write_sparse_file(source, {size, {{0, 4 * KiB}, {4 * GiB + 12 * KiB, 4 * KiB}, {size - 4096, 4096}}}, 3);
    const std::filesystem::path stream = dir / "big-stream.vmdk";
    write_vmdk(source, stream);
    const StreamWalk walk = check_stream_layout(stream, size);
    CHECK(walk.tables.size() == 3);
    check_sparse_with_oracles(source, stream);

    const std::filesystem::path sparse = dir / "big-sparse.vmdk";
    write_vmdk(source, sparse, "subformat=monolithicSparse");
    check_sparse_with_oracles(source, sparse);
    // Three grains of data; the tables of a 5 GiB disk are 2 x 161 x 2 KiB.
    CHECK(allocated_bytes(sparse) < 2 * MiB);
}

TEST_CASE("vmdk writer: 1 and 4 threads give the same file apart from the descriptor's fresh IDs")
{
    const TempDir dir;
    const std::filesystem::path source = dir / "source.raw";
    const std::uint64_t size = 64 * MiB;
    write_sparse_file(source, scattered_layout(size, 8 * MiB, 11), 11);
    // The same file name, as the descriptor's extent line holds it.
    std::filesystem::create_directory(dir / "one");
    std::filesystem::create_directory(dir / "four");
    write_vmdk(source, dir / "one" / "disk.vmdk", "", 1);
    write_vmdk(source, dir / "four" / "disk.vmdk", "", 4);

    const std::vector<std::byte> one = read_whole_file(dir / "one" / "disk.vmdk");
    const std::vector<std::byte> four = read_whole_file(dir / "four" / "disk.vmdk");
    REQUIRE(one.size() == four.size());
    const Header header = header_at(one, 0);
    const auto descriptor_end = static_cast<std::ptrdiff_t>(header.overhead * sector);
    CHECK(std::equal(one.begin(), one.begin() + sector, four.begin()));
    CHECK(std::equal(one.begin() + descriptor_end, one.end(), four.begin() + descriptor_end));

    // The descriptors differ only in the CID and the long content ID, which are fresh each time.
    const std::string a = descriptor_of(dir / "one" / "disk.vmdk");
    const std::string b = descriptor_of(dir / "four" / "disk.vmdk");
    CHECK(setting(a, "CID") != setting(b, "CID"));
    CHECK(without_ids(a) == without_ids(b));
    check_with_oracles(source, dir / "four" / "disk.vmdk");
}

TEST_CASE("vmdk writer: the descriptor's keys and defaults")
{
    const TempDir dir;
    const std::filesystem::path source = dir / "source.raw";
    write_sparse_file(source, {300 * MiB, {{0, 4 * KiB}}}, 5);
    write_vmdk(source, dir / "disk one.vmdk");
    const std::string text = descriptor_of(dir / "disk one.vmdk");
    INFO(text);
    CHECK(text.starts_with("# Disk DescriptorFile\n"));
    CHECK(setting(text, "version") == "1");
    const std::string cid = setting(text, "CID");
    CHECK(is_hex(cid, 8));
    CHECK(cid != "ffffffff");
    CHECK(cid != "fffffffe");
    CHECK(setting(text, "parentCID") == "ffffffff");
    CHECK(setting(text, "createType") == "streamOptimized");
    CHECK(contains(text, "\nRW 614400 SPARSE \"disk one.vmdk\"\n"));
    CHECK(setting(text, "ddb.adapterType") == "lsilogic");
    // 614400 sectors over 255 heads x 63 sectors is 38.2 cylinders: 39.
    CHECK(setting(text, "ddb.geometry.cylinders") == "39");
    CHECK(setting(text, "ddb.geometry.heads") == "255");
    CHECK(setting(text, "ddb.geometry.sectors") == "63");
    const std::string long_id = setting(text, "ddb.longContentID");
    CHECK(is_hex(long_id, 32));
    CHECK(long_id.ends_with(cid));
    CHECK(setting(text, "ddb.virtualHWVersion") == "4");
    CHECK(setting(text, "ddb.toolsVersion") == "2147483647");

    // Each new file gets a fresh CID.
    write_vmdk(source, dir / "disk two.vmdk");
    CHECK(setting(descriptor_of(dir / "disk two.vmdk"), "CID") != cid);
}

TEST_CASE("vmdk writer: adapter_type, hwversion and toolsversion, and the source's adapter type by default")
{
    const TempDir dir;
    const std::filesystem::path source = dir / "source.raw";
    // 16383 cylinders of 16 x 63 sectors hold 8 GiB less a little: a 20 GiB IDE disk is capped.
    write_sparse_file(source, {20 * GiB, {{0, 4 * KiB}}}, 5);
    write_vmdk(source, dir / "ide.vmdk", "adapter_type=IDE,hwversion=14,toolsversion=12325");
    const std::string text = descriptor_of(dir / "ide.vmdk");
    INFO(text);
    CHECK(setting(text, "ddb.adapterType") == "ide");
    CHECK(setting(text, "ddb.geometry.heads") == "16");
    CHECK(setting(text, "ddb.geometry.cylinders") == "16383");
    CHECK(setting(text, "ddb.virtualHWVersion") == "14");
    CHECK(setting(text, "ddb.toolsVersion") == "12325");
    const auto image = diskshift::open_image(dir / "ide.vmdk");
    CHECK(image->info().details.at("adapter_type") == "ide");

    // Converting a VMDK keeps its adapter type unless told otherwise.
    diskshift::ConvertOptions options;
    options.format = "vmdk";
    options.options.parse("subformat=monolithicSparse");
    diskshift::convert(*image, dir / "copy.vmdk", options);
    CHECK(setting(descriptor_of(dir / "copy.vmdk"), "ddb.adapterType") == "ide");
    CHECK(setting(descriptor_of(dir / "copy.vmdk"), "createType") == "monolithicSparse");
    options.options.parse("adapter_type=pvscsi");
    diskshift::convert(*image, dir / "pvscsi.vmdk", options);
    CHECK(setting(descriptor_of(dir / "pvscsi.vmdk"), "ddb.adapterType") == "pvscsi");
}

TEST_CASE("vmdk writer: bad option values, sizes that are not whole sectors and disks over 2 TiB are refused")
{
    CHECK(contains(error_of_options("adapter_type=scsi"), "adapter_type=scsi is not one of ide, buslogic, lsilogic"));
    CHECK(contains(error_of_options("hwversion=0"), "hwversion=0 is not a whole number from 1 to 255"));
    CHECK(contains(error_of_options("hwversion=7x"), "hwversion=7x is not a whole number"));
    CHECK(contains(error_of_options("toolsversion=-1"), "toolsversion=-1 is not a whole number from 0 to 2147483647"));
    CHECK(contains(error_of_options("toolsversion=2147483648"), "toolsversion=2147483648"));
    CHECK(contains(error_of_options("subformat=monolithicFlat"),
                   "subformat=monolithicFlat is not one of streamOptimized, monolithicSparse"));
    CHECK(contains(error_of_options("compression_level=13"),
                   "compression_level=13 is not a whole number from 1 to 12"));
    CHECK(contains(error_of_options("subformat=monolithicSparse,compression_level=3"),
                   "compression_level applies to subformat=streamOptimized only"));
    CHECK(contains(error_of_options("colour=blue"), "colour"));
    CHECK(contains(error_of_options("", MiB + 100), "1048676 bytes is not"));
    CHECK(contains(error_of_options("", 0), "an empty disk cannot be written as a VMDK"));
    CHECK(contains(error_of_options("", 2 * 1024 * GiB), "over the"));
    CHECK(error_of_options("", 2 * 1024 * GiB - sector) == "(no diskshift::Error thrown)");
    CHECK(error_kind_of([] {
              diskshift::MemorySink sink("out.vmdk");
              diskshift::CreateRequest request;
              request.virtual_size = MiB;
              request.options.parse("adapter_type=scsi");
              diskshift::find_format("vmdk").create(sink, std::move(request));
          }) == "invalid_argument");
}

TEST_CASE("vmdk writer: monolithicSparse is version 1, tables up front, holes where nothing was written")
{
    const TempDir dir;
    const std::filesystem::path source = write_varied_disk(dir);
    const std::filesystem::path vmdk = dir / "sparse.vmdk";
    write_vmdk(source, vmdk, "subformat=monolithicSparse");

    const std::vector<std::byte> file = read_whole_file(vmdk);
    const Header header = header_at(file, 0);
    CHECK(header.version == 1);
    CHECK(header.flags == 0x3);
    CHECK(header.compress_algorithm == 0);
    CHECK(header.grain_sectors == 128);
    CHECK(header.gtes_per_gt == 512);
    CHECK(header.rgd_offset == header.descriptor_offset + header.descriptor_sectors);
    // Three directory entries (one sector) and three tables (4 sectors each) per copy.
    CHECK(header.gd_offset == header.rgd_offset + 1 + 12);
    CHECK(header.overhead == 128);
    // The eight grains holding data are stored, in the order written, right after the overhead.
    CHECK(file.size() == (128 + 8 * 128) * sector);
    CHECK(setting(descriptor_of(vmdk), "createType") == "monolithicSparse");
    // Each grain is allocated whole, but the 4 KiB blocks never written stay holes.
    CHECK(allocated_bytes(vmdk) < 300 * KiB);
    check_with_oracles(source, vmdk);
}

TEST_CASE("vmdk writer: write() and write_zeroes() called directly, unaligned, for both subformats")
{
    for (const std::string subformat : {"streamOptimized", "monolithicSparse"}) {
        CAPTURE(subformat);
        const std::uint64_t size = 3 * MiB + 512;
        std::vector<std::byte> expected(size);
        diskshift::MemorySink sink("direct.vmdk");
        {
            diskshift::CreateRequest request;
            request.virtual_size = size;
            request.options.parse("subformat=" + subformat);
            const auto writer = diskshift::find_format("vmdk").create(sink, std::move(request));
            const auto put = [&](std::uint64_t offset, std::size_t length, std::uint64_t seed) {
                const std::vector<std::byte> data = random_bytes(length, seed);
                std::ranges::copy(data, expected.begin() + static_cast<std::ptrdiff_t>(offset));
                writer->write(offset, data);
            };
            put(100, 70 * KiB, 1);  // two grains, unaligned
            put(MiB - 10, 20, 2);   // across a chunk boundary
            writer->write_zeroes(MiB + 2, 3);  // over data not yet flushed to the stream
            std::fill_n(expected.begin() + static_cast<std::ptrdiff_t>(MiB + 2), 3, std::byte{0});
            put(size - 300, 300, 3);  // the last, partial sector range
            writer->finish();
        }
        const auto file = std::make_shared<diskshift::MemorySource>(sink.bytes(), "direct.vmdk");
        const auto written = diskshift::open_image(file, {});
        CHECK(image_difference(*open_raw_bytes(expected), *written) == "");
    }
}

TEST_CASE("vmdk writer: writes outside the disk are refused, for both subformats")
{
    for (const std::string subformat : {"streamOptimized", "monolithicSparse"}) {
        CAPTURE(subformat);
        diskshift::MemorySink sink("outside.vmdk");
        diskshift::CreateRequest request;
        request.virtual_size = 2 * MiB;
        request.options.parse("subformat=" + subformat);
        const auto writer = diskshift::find_format("vmdk").create(sink, std::move(request));
        const std::vector<std::byte> data(4096);
        CHECK(error_kind_of([&] { writer->write(2 * MiB - 2048, data); }) == "invalid_argument");
        CHECK(error_kind_of([&] { writer->write_zeroes(2 * MiB, 1); }) == "invalid_argument");
        CHECK(error_kind_of([&] { writer->write(2 * MiB - 4096, data); }) == "no error");
    }
}

TEST_CASE("vmdk writer: a stream takes data in ascending order only and cannot zero grains already written")
{
    diskshift::MemorySink sink("order.vmdk");
    diskshift::CreateRequest request;
    request.virtual_size = 4 * MiB;
    const auto writer = diskshift::find_format("vmdk").create(sink, std::move(request));
    const std::vector<std::byte> data = random_bytes(4096, 9);
    writer->write(2 * MiB, data);
    writer->write(3 * MiB, data);  // the chunk at 2 MiB is now in the stream
    CHECK(contains(error_message_of([&] { writer->write(MiB, data); }), "ascending order"));
    CHECK(contains(error_message_of([&] { writer->write_zeroes(2 * MiB, 4096); }), "already written"));
    writer->write_zeroes(3 * MiB + 1024, 1024);  // the chunk being gathered: fine
}

}  // TEST_SUITE
