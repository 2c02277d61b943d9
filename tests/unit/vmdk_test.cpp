// The VMDK reader from inside: descriptor parsing, multi-extent disks, zeroed grains in deltas,
// redundant tables, probing, and concurrent reads of a stream-optimized disk.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include <diskshift/format.hpp>
#include <diskshift/io.hpp>

#include "core/endian.hpp"
#include "formats/vmdk/descriptor.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vmware_stream.hpp"

using namespace dstest;
using namespace diskshift::formats::vmdk;
using diskshift::ExtentKind;

namespace {

std::unique_ptr<diskshift::Image> open_vmdk(const std::filesystem::path& path, bool delta_alone = false)
{
    diskshift::OpenOptions options;
    options.allow_delta_alone = delta_alone;
    auto image = diskshift::open_image(path, options);
    REQUIRE(image->info().format == "vmdk");
    return image;
}

std::vector<std::byte> read_all(const diskshift::Image& image)
{
    std::vector<std::byte> bytes(image.size());
    image.read(bytes, 0);
    return bytes;
}

}  // namespace

TEST_SUITE("vmdk") {

TEST_CASE("vmdk descriptor: settings, extent lines of every kind, ddb keys, CRLF and NUL padding")
{
    const std::string text = "# Disk DescriptorFile\r\nversion=1 \r\nencoding=\"UTF-8\"\r\ncid=0badcafe\r\n"
                             "parentCID=1234abcd\r\ncreateType=\"twoGbMaxExtentFlat\"\r\n"
                             "parentFileNameHint=\"../base disk.vmdk\"\r\n\r\n# Extent description\r\n"
                             "RW 4192256 FLAT \"disk f001.vmdk\" 0\r\n  RDONLY 100 SPARSE \"s=1.vmdk\"\r\n"
                             "NOACCESS 8 FLAT \"x.vmdk\" 16\r\nRW 2048 ZERO\r\nRW 64 VMFSSPARSE \"d-delta.vmdk\"\r\n"
                             "RW 64 SESPARSE \"d-sesparse.vmdk\"\r\nRW 64 VMFS \"v-flat.vmdk\"\r\n\r\n#DDB\r\n"
                             "ddb.adapterType = \"lsilogic\"\r\nddb.geometry.heads = \"255\"\r\nstray line\r\n";
    std::string padded = text;
    padded.append(1000, '\0');
    padded += "RW 1 FLAT \"after-padding.vmdk\" 0\n";
    const Descriptor d = parse_descriptor(padded, "disk.vmdk");
    CHECK(d.version == "1");
    CHECK(d.cid == 0x0badcafeU);
    CHECK(d.parent_cid == 0x1234abcdU);
    CHECK(d.create_type == "twoGbMaxExtentFlat");
    CHECK(d.parent_hint == "../base disk.vmdk");
    REQUIRE(d.extents.size() == 7);
    CHECK(d.extents[0].file == "disk f001.vmdk");
    CHECK(d.extents[0].sectors == 4192256);
    CHECK(d.extents[1].access == ExtentAccess::read_only);
    CHECK(d.extents[1].type == ExtentType::sparse);
    CHECK(d.extents[1].file == "s=1.vmdk");
    CHECK(d.extents[2].access == ExtentAccess::no_access);
    CHECK(d.extents[2].offset_sectors == 16);
    CHECK(d.extents[3].type == ExtentType::zero);
    CHECK(d.extents[3].file.empty());
    CHECK(d.extents[4].type == ExtentType::vmfs_sparse);
    CHECK(d.extents[5].type == ExtentType::se_sparse);
    CHECK(d.extents[6].type == ExtentType::vmfs);
    CHECK(d.extents[6].line_number == 16);
    CHECK(d.ddb_value("DDB.ADAPTERTYPE") == "lsilogic");
    CHECK(d.ddb_value("ddb.geometry.heads") == "255");
    CHECK(d.ddb_value("ddb.uuid").empty());
    REQUIRE(d.warnings.size() == 1);
    CHECK(contains(d.warnings[0], "line 21"));
    CHECK(looks_like_descriptor(text));
    CHECK(looks_like_descriptor("\n# made by hand\nversion=1\ncreateType=\"vmfs\"\n"));
    CHECK_FALSE(looks_like_descriptor("hello=1\nversion=1\n"));
    CHECK(format_cid(0xab) == "000000ab");
}

TEST_CASE("vmdk descriptor: malformed lines are errors naming the file and the line")
{
    const auto message = [](const std::string& text) {
        return error_message_of([&] { (void)parse_descriptor(text, "bad.vmdk"); });
    };
    CHECK(contains(message("CID=xyz\n"), "bad.vmdk: descriptor line 1: CID"));
    CHECK(contains(message("version=1\nparentCID=123456789\n"), "line 2: parentCID"));
    CHECK(contains(message("RW 10 FLAT disk.raw 0\n"), "file name is missing or not quoted"));
    CHECK(contains(message("RW 10 FLAT \"disk.raw\" x\n"), "extent offset"));
    CHECK(contains(message("RW 10 VMFSRDM \"disk.raw\"\n"), "extent type \"VMFSRDM\" is not supported"));
    CHECK(contains(message(fmt::format("RW {} ZERO\nRW 1 ZERO\n", max_disk_sectors)), "larger than"));
    std::string many;
    for (std::size_t i = 0; i <= max_extent_lines; ++i) {
        many += "RW 1 ZERO\n";
    }
    CHECK(contains(message(many), "more than 32768 extent lines"));
    CHECK(error_kind_of([] { (void)parse_descriptor("RW 1 ZAP \"x\"", "x"); }) == "unsupported");
}

TEST_CASE("vmdk: a descriptor concatenates FLAT, ZERO, NOACCESS and SPARSE extents in line order")
{
    const TempDir dir;
    const std::vector<std::byte> flat_bytes = random_bytes(3 * 65536, 0x31);
    write_whole_file(dir / "data.bin", flat_bytes);
    const std::filesystem::path sparse = dir / "piece.vmdk";
    run_checked({required_program("qemu-img"), "create", "-q", "-f", "vmdk", sparse.string(), "1M"});
    run_checked({required_program("qemu-io"), "-f", "vmdk", "-c", "write -P 0x3c 65536 65536", sparse.string()});
    write_text_file(dir / "disk.vmdk", "# Disk DescriptorFile\nversion=1\nCID=00c0ffee\nparentCID=ffffffff\n"
                                       "createType=\"custom\"\nRW 128 FLAT \"data.bin\" 128\nRW 64 ZERO\n"
                                       "NOACCESS 8 FLAT \"nowhere.bin\" 0\nRDONLY 2048 SPARSE \"piece.vmdk\"\n"
                                       "ddb.adapterType = \"ide\"\nddb.virtualHWVersion = \"4\"\n");
    const auto image = open_vmdk(dir / "disk.vmdk");
    const diskshift::ImageInfo& info = image->info();
    CHECK(info.subformat == "custom");
    CHECK(info.id == "00c0ffee");
    CHECK_FALSE(info.parent.has_value());
    CHECK(info.virtual_size == (128 + 64 + 8 + 2048) * 512);
    CHECK(info.cluster_size == 65536);
    REQUIRE(info.warnings.size() == 1);
    CHECK(contains(info.warnings[0], "NOACCESS"));
    CHECK(info.details.at("adapter_type") == "ide");
    CHECK(info.details.at("hardware_version") == "4");
    REQUIRE(info.details.at("extents").size() == 4);
    CHECK(info.details.at("extents")[3].at("access") == "RDONLY");
    CHECK(info.details.at("extents")[3].at("header").at("grain_sectors") == 128);

    std::vector<std::byte> expected(info.virtual_size);
    std::copy_n(flat_bytes.begin() + 65536, 65536, expected.begin());
    std::fill_n(expected.begin() + (128 + 64 + 8) * 512 + 65536, 65536, std::byte{0x3c});
    CHECK(read_all(*image) == expected);

    diskshift::ExtentList map(0);
    map.append(65536, ExtentKind::data);
    map.append((64 + 8) * 512, ExtentKind::zero);
    map.append(65536, ExtentKind::unallocated);
    map.append(65536, ExtentKind::data);
    map.append(1048576 - 2 * 65536, ExtentKind::unallocated);
    CHECK(image->extents() == map);
    // A read across every extent boundary at once.
    std::vector<std::byte> middle(70000);
    image->read(middle, 60000);
    CHECK(std::equal(middle.begin(), middle.end(), expected.begin() + 60000));
}

TEST_CASE("vmdk: lines repeating one extent file open it once and show its header once")
{
    const TempDir dir;
    const std::filesystem::path piece = dir / "piece.vmdk";
    run_checked({required_program("qemu-img"), "create", "-q", "-f", "vmdk", piece.string(), "1M"});
    run_checked({required_program("qemu-io"), "-f", "vmdk", "-c", "write -P 0x3c 0 512", piece.string()});
    std::string text = "# Disk DescriptorFile\nversion=1\nCID=00000001\nparentCID=ffffffff\ncreateType=\"custom\"\n";
    for (int i = 0; i < 15000; ++i) {
        text += "RW 2048 SPARSE \"piece.vmdk\"\nRW 2048 SPARSE \"./piece.vmdk\"\n";
    }
    write_text_file(dir / "disk.vmdk", text);
    const auto image = open_vmdk(dir / "disk.vmdk");
    CHECK(image->size() == 30000 * MiB);
    const auto& extents = image->info().details.at("extents");
    REQUIRE(extents.size() == 30000);
    CHECK(extents[0].contains("header"));
    CHECK_FALSE(extents[1].contains("header"));
    CHECK_FALSE(extents[29999].contains("header"));
    std::vector<std::byte> bytes(2);
    image->read(bytes, 29999 * MiB);
    CHECK(bytes[0] == std::byte{0x3c});
}

TEST_CASE("vmdk: a zeroed grain in a delta reads as zero and maps as zero, not as the parent's data")
{
    const TempDir dir;
    const std::filesystem::path base = dir / "base.vmdk";
    const std::filesystem::path delta = dir / "delta.vmdk";
    run_checked({required_program("qemu-img"), "create", "-q", "-f", "vmdk", base.string(), "4M"});
    run_checked({required_program("qemu-io"), "-f", "vmdk", "-c", "write -P 0x11 0 1M", base.string()});
    run_checked({required_program("qemu-img"), "create", "-q", "-f", "vmdk", "-o", "zeroed_grain=on", "-b", base.string(), "-F",
            "vmdk", delta.string()});
    run_checked({required_program("qemu-io"), "-f", "vmdk", "-c", "write -z 128k 128k", "-c", "write -P 0x22 512k 64k",
            delta.string()});

    CHECK(error_kind_of([&] { (void)open_vmdk(delta); }) == "invalid_argument");
    const auto image = open_vmdk(delta, true);
    REQUIRE(image->info().parent.has_value());
    CHECK(image->info().parent->hint == base.string());
    CHECK(image->info().parent->id == open_vmdk(base)->info().id);
    CHECK(image->info().details.at("extents")[0].at("header").at("version") == 2);

    diskshift::ExtentList map(0);
    map.append(128 * KiB, ExtentKind::unallocated);
    map.append(128 * KiB, ExtentKind::zero);
    map.append(256 * KiB, ExtentKind::unallocated);
    map.append(64 * KiB, ExtentKind::data);
    map.append(4 * MiB - 576 * KiB, ExtentKind::unallocated);
    CHECK(image->extents() == map);

    // qemu-img reads the chain: zeros where the delta zeroed grains over the parent's data.
    run_checked({required_program("qemu-img"), "convert", "-O", "raw", delta.string(), (dir / "chain.raw").string()});
    const std::vector<std::byte> chain = read_whole_file(dir / "chain.raw");
    CHECK(std::all_of(chain.begin() + 128 * KiB, chain.begin() + 256 * KiB, [](std::byte b) { return b == std::byte{0}; }));
    CHECK(chain[0] == std::byte{0x11});
    std::vector<std::byte> zeroed(128 * KiB, std::byte{0x55});
    image->read(zeroed, 128 * KiB);
    CHECK(std::all_of(zeroed.begin(), zeroed.end(), [](std::byte b) { return b == std::byte{0}; }));
}

TEST_CASE("vmdk: both grain directories are checked, and a redundant table that differs is a warning")
{
    const TempDir dir;
    const std::filesystem::path image_path = dir / "disk.vmdk";
    run_checked({required_program("qemu-img"), "create", "-q", "-f", "vmdk", image_path.string(), "8M"});
    run_checked({required_program("qemu-io"), "-f", "vmdk", "-c", "write -P 0x44 0 64k", image_path.string()});
    const std::vector<std::byte> original = read_whole_file(image_path);
    const std::uint64_t rgd = diskshift::load_le<std::uint64_t>(original.data() + 48);
    REQUIRE(rgd != 0);
    const std::uint64_t redundant_table = diskshift::load_le<std::uint32_t>(original.data() + rgd * 512);

    std::vector<std::byte> changed = original;
    diskshift::store_le<std::uint32_t>(changed.data() + redundant_table * 512, 0);
    write_whole_file(image_path, changed);
    {
        const auto image = open_vmdk(image_path);
        REQUIRE(image->info().warnings.size() == 1);
        CHECK(contains(image->info().warnings[0], "redundant grain table 0 differs"));
        std::vector<std::byte> first(16);
        image->read(first, 0);
        CHECK(first[0] == std::byte{0x44});
    }

    changed = original;
    diskshift::store_le<std::uint32_t>(changed.data() + rgd * 512, 0x7fffffff);
    write_whole_file(image_path, changed);
    const std::string message = error_message_of([&] { (void)open_vmdk(image_path); });
    CHECK(contains(message, "redundant grain table"));
    CHECK(contains(message, "past the end"));
}

TEST_CASE("vmdk: a line an embedded descriptor cannot use is a warning of the image, as in a descriptor file")
{
    const TempDir dir;
    const std::filesystem::path image_path = dir / "disk.vmdk";
    run_checked({required_program("qemu-img"), "create", "-q", "-f", "vmdk", image_path.string(), "8M"});
    std::vector<std::byte> bytes = read_whole_file(image_path);
    const std::string comment = "# Extent description";
    const auto at = std::search(bytes.begin(), bytes.end(), comment.begin(), comment.end(),
                                [](std::byte b, char c) { return b == static_cast<std::byte>(c); });
    REQUIRE(at != bytes.end());
    *at = std::byte{'X'};  // no longer a comment: neither a setting nor an extent line
    write_whole_file(image_path, bytes);

    const auto image = open_vmdk(image_path);
    REQUIRE(image->info().warnings.size() == 1);
    CHECK(contains(image->info().warnings[0], "embedded descriptor"));
    CHECK(contains(image->info().warnings[0], "neither a setting nor an extent"));
}

TEST_CASE("vmdk: probing finds sparse files and descriptors, and other bytes are not VMDK")
{
    const TempDir dir;
    write_vmware_stream([&] {
        write_whole_file(dir / "small.raw", random_bytes(64 * KiB, 0x41));
        return dir / "small.raw";
    }(), dir / "stream.vmdk");
    CHECK(diskshift::detect_format(diskshift::FileSource(dir / "stream.vmdk")).name() == "vmdk");
    write_text_file(dir / "d.vmdk", "# Disk DescriptorFile\nversion=1\ncreateType=\"vmfs\"\nRW 128 VMFS \"small.raw\"\n");
    CHECK(diskshift::detect_format(diskshift::FileSource(dir / "d.vmdk")).name() == "vmdk");
    // A long comment before the first setting: the probe and the open look past the first sector.
    write_text_file(dir / "long.vmdk", "#" + std::string(3000, '-') + "\nversion=1\nRW 128 VMFS \"small.raw\"\n");
    CHECK(open_vmdk(dir / "long.vmdk")->size() == 64 * KiB);
    CHECK(error_kind_of([&] { (void)diskshift::detect_format(diskshift::FileSource(dir / "small.raw")); }) ==
          "unsupported");
    diskshift::OpenOptions as_vmdk;
    as_vmdk.format = "vmdk";
    const std::string message = error_message_of([&] { (void)diskshift::open_image(dir / "small.raw", as_vmdk); });
    CHECK(contains(message, "small.raw: not a VMDK"));
}

TEST_CASE("vmdk: threads reading a stream-optimized disk at once all get the right bytes")
{
    const TempDir dir;
    const std::uint64_t size = 6 * MiB;
    std::vector<std::byte> disk = random_bytes(size, 0x42);
    std::fill_n(disk.begin() + 2 * MiB, MiB, std::byte{0});
    write_whole_file(dir / "disk.raw", disk);
    write_vmware_stream(dir / "disk.raw", dir / "disk.vmdk");
    const auto image = open_vmdk(dir / "disk.vmdk");
    std::vector<std::string> failures(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < failures.size(); ++t) {
        threads.emplace_back([&, t] {
            std::vector<std::byte> chunk(MiB + 4096);
            for (int round = 0; round < 3; ++round) {
                for (std::uint64_t i = 0; i < 5; ++i) {
                    const std::uint64_t at = ((i + t) % 5) * MiB + t * 512;
                    image->read(chunk, at);
                    if (!std::equal(chunk.begin(), chunk.end(), disk.begin() + static_cast<std::ptrdiff_t>(at))) {
                        failures[t] = fmt::format("thread {} read wrong bytes at {}", t, at);
                    }
                }
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    for (const std::string& failure : failures) {
        CHECK(failure == "");
    }
}

}  // TEST_SUITE
