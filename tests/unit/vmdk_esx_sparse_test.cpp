// ESXi sparse VMDK extents (seSparse, COWD): generated extents read as intended, the same as
// qemu-img reads them through a descriptor, from several threads at once; hostile headers fail fast.
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <diskshift/error.hpp>
#include <diskshift/io.hpp>

#include "core/endian.hpp"
#include "formats/vmdk/extent_data.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/esx_sparse_writer.hpp"
#include "support/files.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using diskshift::ExtentKind;
using diskshift::formats::vmdk::ExtentData;
using namespace dstest;
namespace vmdk = diskshift::formats::vmdk;

namespace {

constexpr std::uint64_t sesparse_table_grains = 4096;

/// Four grain tables' worth plus 5 sectors (a partial last grain): table 0 with data, zeroed and
/// unmapped grains; table 1 with data where table 0 ends and scattered grains; table 2 not
/// allocated; table 3 only zeroed and unmapped grains; table 4 the partial last grain.
EsxSparseSpec sesparse_spec()
{
    EsxSparseSpec spec;
    spec.capacity_sectors = 4 * sesparse_table_grains * 8 + 5;
    spec.seed = 0x5e5a;
    auto& g = spec.grains;
    g[0] = g[1] = g[2] = EsxGrainFill::data;
    g[3] = EsxGrainFill::zero;
    g[4] = EsxGrainFill::unmapped;
    for (std::uint64_t i = 5; i < 21; ++i) {
        g[i] = EsxGrainFill::data;
    }
    g[4095] = g[4096] = EsxGrainFill::data;
    RandomBytes random(7);
    for (int i = 0; i < 40; ++i) {
        g[4097 + random.below(4095)] = EsxGrainFill::data;
    }
    for (std::uint64_t i = 12288; i < 12296; ++i) {
        g[i] = EsxGrainFill::zero;
    }
    g[13000] = EsxGrainFill::unmapped;
    g[16384] = EsxGrainFill::data;
    return spec;
}

/// Four grain tables' worth plus 3 sectors of `grain_sectors` grains: the same pattern of data
/// grains as sesparse_spec() (COWD has no zeroed grains), table 2 not allocated.
EsxSparseSpec cowd_spec(std::uint32_t grain_sectors)
{
    EsxSparseSpec spec;
    spec.grain_sectors = grain_sectors;
    spec.capacity_sectors = 4 * 4096 * std::uint64_t{grain_sectors} + 3;
    spec.seed = 0xc0d;
    for (const auto& [grain, fill] : sesparse_spec().grains) {
        if (fill == EsxGrainFill::data && grain < 8192) {
            spec.grains[grain] = EsxGrainFill::data;
        }
    }
    spec.grains[12300] = EsxGrainFill::data;
    spec.grains[16384] = EsxGrainFill::data;
    return spec;
}

std::shared_ptr<const diskshift::ByteSource> memory_source(const EsxSparseFile& file, const std::string& name)
{
    return std::make_shared<diskshift::MemorySource>(file.bytes, name);
}

/// "" when `extent` reads [offset, offset + length) as `file` means it to, in reads of `chunk`
/// bytes; otherwise where the first difference is.
std::string read_difference(const ExtentData& extent, const EsxSparseFile& file, std::uint64_t offset,
                            std::uint64_t length, std::uint64_t chunk)
{
    std::vector<std::byte> ours(chunk);
    std::vector<std::byte> wanted(chunk);
    for (std::uint64_t at = offset; at < offset + length; at += chunk) {
        const std::size_t n = std::min(chunk, offset + length - at);
        extent.read(std::span(ours.data(), n), at);
        file.expected(std::span(wanted.data(), n), at);
        if (!std::equal(ours.begin(), ours.begin() + static_cast<std::ptrdiff_t>(n), wanted.begin())) {
            const auto diff = std::mismatch(ours.begin(), ours.end(), wanted.begin());
            return "bytes differ at " + std::to_string(at + static_cast<std::uint64_t>(diff.first - ours.begin()));
        }
    }
    return "";
}

/// Checks everything the extent says against what the generator meant: size, map (whole and
/// from unaligned places), whole reads in 1 MiB chunks, and reads of odd places and lengths.
void check_extent_matches(const ExtentData& extent, const EsxSparseFile& file)
{
    REQUIRE(extent.size() == file.size);
    CHECK(extent.map(0, file.size) == file.expected_map());
    // From inside grain 4095 (the end of the first table) or a third into a smaller disk.
    const std::uint64_t odd = std::min(file.grain_bytes * 4095, file.size / 3) + 1234;
    const std::uint64_t span = std::min(3 * MiB, file.size - odd);
    CHECK(extent.map(odd, span) == file.expected_map().slice(odd, span));
    CHECK(read_difference(extent, file, 0, file.size, MiB) == "");

    RandomBytes random(11);
    for (int i = 0; i < 200; ++i) {
        const std::uint64_t offset = random.below(file.size);
        const std::uint64_t length = 1 + random.below(std::min<std::uint64_t>(file.size - offset, 5 * file.grain_bytes));
        INFO("read of ", length, " bytes at ", offset);
        CHECK(read_difference(extent, file, offset, length, length) == "");
    }
}


/// Writes `file` and a descriptor for it into `dir`, has qemu-img convert the descriptor to raw,
/// and checks that our extent reads the same bytes (and that they are the ones meant).
void check_against_qemu(const TempDir& dir, const EsxSparseFile& file, const std::string& create_type,
                        const std::string& extent_type,
                        const std::function<std::unique_ptr<ExtentData>(std::shared_ptr<const diskshift::ByteSource>)>& open)
{
    write_whole_file(dir / "extent.vmdk", file.bytes);
    write_text_file(dir / "disk.vmdk", esx_descriptor(create_type, extent_type, file.size / 512, "extent.vmdk"));
    const ProcessResult convert = run_process({qemu_img().string(), "convert", "-f", "vmdk", "-O", "raw",
                                               (dir / "disk.vmdk").string(), (dir / "qemu.raw").string()});
    REQUIRE_MESSAGE(convert.exit_code() == 0, convert.describe());

    const auto extent = open(std::make_shared<diskshift::FileSource>(dir / "extent.vmdk"));
    const diskshift::FileSource qemu_raw(dir / "qemu.raw");
    REQUIRE(qemu_raw.size() == extent->size());
    std::vector<std::byte> ours(MiB);
    std::vector<std::byte> theirs(MiB);
    for (std::uint64_t at = 0; at < extent->size(); at += MiB) {
        const std::size_t n = std::min(MiB, extent->size() - at);
        extent->read(std::span(ours.data(), n), at);
        qemu_raw.read_at(std::span(theirs.data(), n), at);
        INFO("1 MiB chunk at ", at);
        REQUIRE(std::equal(ours.begin(), ours.begin() + static_cast<std::ptrdiff_t>(n), theirs.begin()));
    }
    CHECK(read_difference(*extent, file, 0, file.size, MiB) == "");
}

/// One way to spoil a generated extent, and what opening or reading it must then say.
struct Damage {
    const char* what;
    std::function<void(EsxSparseFile&)> apply;
    const char* kind;       ///< the Errc name
    const char* structure;  ///< a word the message must contain
};

void store64(EsxSparseFile& f, std::uint64_t offset, std::uint64_t value)
{
    diskshift::store_le<std::uint64_t>(f.bytes.data() + offset, value);
}

void store32(EsxSparseFile& f, std::uint64_t offset, std::uint32_t value)
{
    diskshift::store_le<std::uint32_t>(f.bytes.data() + offset, value);
}

/// Applies each damage to a fresh copy of `good`, opens it, maps and reads it whole: each must
/// fail with the expected kind and a message naming the file, the structure and an offset, within
/// a second.
void check_damages(const EsxSparseFile& good, const std::vector<Damage>& damages,
                   const std::function<std::unique_ptr<ExtentData>(std::shared_ptr<const diskshift::ByteSource>)>& open)
{
    for (const Damage& damage : damages) {
        INFO("damage: ", damage.what);
        EsxSparseFile bad = good;
        damage.apply(bad);
        const auto started = std::chrono::steady_clock::now();
        const auto use = [&] {
            const auto extent = open(memory_source(bad, "hostile.vmdk"));
            (void)extent->map(0, extent->size());
            std::vector<std::byte> buf(MiB);
            for (std::uint64_t at = 0; at < extent->size(); at += MiB) {
                extent->read(std::span(buf.data(), std::min(MiB, extent->size() - at)), at);
            }
        };
        CHECK(error_kind_of(use) == damage.kind);
        const std::string message = error_message_of(use);
        CHECK_MESSAGE(contains(message, "hostile.vmdk"), message);
        CHECK_MESSAGE(contains(message, damage.structure), message);
        CHECK_MESSAGE(contains(message, "offset 0x"), message);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
    }
}

}  // namespace

TEST_CASE("ESXi sparse extents: recognised by the magic at offset 0")
{
    const EsxSparseFile se = make_sesparse(sesparse_spec());
    const EsxSparseFile cowd = make_cowd(cowd_spec(1));
    CHECK(vmdk::is_esx_sparse_header(std::span(se.bytes).first(512)));
    CHECK(vmdk::is_esx_sparse_header(std::span(cowd.bytes).first(512)));
    CHECK_FALSE(vmdk::is_esx_sparse_header(std::span(se.bytes).first(4)));
    const std::vector<std::byte> kdmv = {std::byte{'K'}, std::byte{'D'}, std::byte{'M'}, std::byte{'V'},
                                         std::byte{1},   std::byte{0},   std::byte{0},   std::byte{0}};
    CHECK_FALSE(vmdk::is_esx_sparse_header(kdmv));
    CHECK_FALSE(vmdk::is_esx_sparse_header({}));
}

TEST_CASE("seSparse extent: data, zeroed, unmapped and unallocated grains read and map as written")
{
    EsxSparseSpec spec = sesparse_spec();
    SUBCASE("grain clusters numbered from 0") {}
    SUBCASE("grain clusters past 4096, using every bit of the shuffled cluster number") { spec.first_cluster = 4090; }
    const EsxSparseFile file = make_sesparse(spec);
    const auto extent = vmdk::open_sesparse_extent(memory_source(file, "se.vmdk"));
    check_extent_matches(*extent, file);
    CHECK(extent->map(0, file.size).bytes_of(ExtentKind::zero) == 11 * 4096);
    const nlohmann::ordered_json details = extent->details();
    CHECK(details.at("extent_format") == "seSparse");
    CHECK(details.at("grain_size") == 4096);
    CHECK(details.at("grain_tables_allocated") == 4);
}

TEST_CASE("COWD extent: grains of one sector, of 8 KiB and of 1 MiB read and map as written")
{
    std::uint32_t grain_sectors = 1;
    SUBCASE("one sector (the ESXi default)") {}
    SUBCASE("16 sectors") { grain_sectors = 16; }
    SUBCASE("2048 sectors, the technote's largest") { grain_sectors = 2048; }
    EsxSparseSpec spec = cowd_spec(grain_sectors);
    if (grain_sectors == 2048) {  // keep the disk small: eight grains and a partial one
        spec.capacity_sectors = 8 * 2048 + 3;
        spec.grains = {{0, EsxGrainFill::data}, {2, EsxGrainFill::data}, {8, EsxGrainFill::data}};
    }
    const EsxSparseFile file = make_cowd(spec);
    const auto extent = vmdk::open_cowd_extent(memory_source(file, "cowd.vmdk"));
    check_extent_matches(*extent, file);
    const nlohmann::ordered_json details = extent->details();
    CHECK(details.at("extent_format") == "vmfsSparse (COWD)");
    CHECK(details.at("grain_size") == grain_sectors * 512);
}

TEST_CASE("seSparse extent: reads the same as qemu-img reads it through a seSparse descriptor")
{
    const TempDir dir;
    EsxSparseSpec spec = sesparse_spec();
    spec.first_cluster = 4090;
    check_against_qemu(dir, make_sesparse(spec), "seSparse", "SESPARSE", vmdk::open_sesparse_extent);
}

TEST_CASE("COWD extent: reads the same as qemu-img reads it through a vmfsSparse descriptor")
{
    const TempDir dir;
    std::uint32_t grain_sectors = 1;
    SUBCASE("one-sector grains") {}
    SUBCASE("16-sector grains and a partial last grain") { grain_sectors = 16; }
    check_against_qemu(dir, make_cowd(cowd_spec(grain_sectors)), "vmfsSparse", "VMFSSPARSE", vmdk::open_cowd_extent);
}

TEST_CASE("ESXi sparse extents: threads read at once across more grain tables than the cache keeps")
{
    // 300 grain tables of 2 MiB each (one-sector grains), one data grain in each.
    EsxSparseSpec spec;
    spec.grain_sectors = 1;
    spec.capacity_sectors = 300 * 4096;
    for (std::uint64_t t = 0; t < 300; ++t) {
        spec.grains[t * 4096 + t % 7] = EsxGrainFill::data;
    }
    const EsxSparseFile file = make_cowd(spec);
    const auto extent = vmdk::open_cowd_extent(memory_source(file, "many.vmdk"));
    std::vector<std::string> results(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < results.size(); ++i) {
        // Each thread visits the tables in its own order (forward, backward, two strides), twice, so
        // that tables are loaded, evicted and reloaded while other threads use them.
        threads.emplace_back([&, i] {
            for (int pass = 0; pass < 2; ++pass) {
                for (std::uint64_t k = 0; k < 300; ++k) {
                    const std::uint64_t t = i == 0 ? k : i == 1 ? 299 - k : (k * (i == 2 ? 7 : 13)) % 300;
                    results[i] += read_difference(*extent, file, t * 2 * MiB, 64 * KiB, 64 * KiB);
                }
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    for (const std::string& result : results) {
        CHECK(result == "");
    }
    CHECK(extent->map(0, file.size) == file.expected_map());
}

TEST_CASE("seSparse extent: hostile headers and tables fail fast, naming the file, the structure and the offset")
{
    const EsxSparseFile good = make_sesparse(sesparse_spec());
    const std::uint64_t table = good.first_table_offset;
    const std::vector<Damage> damages = {
        {"bad magic", [](auto& f) { store64(f, 0, 0xCAFEBABF); }, "corrupt", "const header"},
        {"unknown version", [](auto& f) { store64(f, 8, 0x0000000300000001); }, "corrupt", "version"},
        {"16-sector grains", [](auto& f) { store64(f, 24, 16); }, "corrupt", "grain size"},
        {"128-sector grain tables", [](auto& f) { store64(f, 32, 128); }, "corrupt", "grain table size"},
        {"unknown flags", [](auto& f) { store64(f, 40, 1); }, "unsupported", "flags"},
        {"reserved field set", [](auto& f) { store64(f, 56, 1); }, "corrupt", "reserved"},
        {"truncated const header", [](auto& f) { f.bytes.resize(300); }, "corrupt", "const header"},
        {"volatile header past the end", [](auto& f) { store64(f, 80, 1ULL << 40); }, "corrupt", "volatile header"},
        {"volatile header offset overflows", [](auto& f) { store64(f, 80, 1ULL << 60); }, "corrupt",
         "volatile_header_offset"},
        {"bad volatile magic", [](auto& f) { store64(f, 512, 0xCAFECAFF); }, "corrupt", "volatile header"},
        {"dirty journal", [](auto& f) { store64(f, 512 + 24, 1); }, "unsupported", "journal"},
        {"capacity of 2^60 sectors", [](auto& f) { store64(f, 16, 1ULL << 60); }, "corrupt", "capacity"},
        {"capacity of 2^40 sectors, over 64 TiB", [](auto& f) { store64(f, 16, 1ULL << 40); }, "corrupt", "capacity"},
        {"capacity of 32 TiB", [](auto& f) { store64(f, 16, 1ULL << 36); }, "corrupt", "grain directory"},
        {"huge grain directory past the end",
         [](auto& f) {
             store64(f, 16, 1ULL << 36);
             store64(f, 136, 1ULL << 40);
         },
         "corrupt", "grain directory"},
        {"grain directory past the end", [](auto& f) { store64(f, 128, f.bytes.size() / 512); }, "corrupt",
         "grain directory"},
        {"grain directory entry without its tag",
         [](auto& f) { store64(f, f.directory_offset, 0x2000000000000000); }, "corrupt", "grain directory entry 0"},
        {"grain directory entry naming table 99",
         [](auto& f) { store64(f, f.directory_offset, 0x1000000000000063); }, "corrupt", "grain directory entry 0"},
        {"grain tables past the end", [](auto& f) { store64(f, 144, f.bytes.size() / 512); }, "corrupt",
         "grain directory entry"},
        {"grain table entry past the end",
         [table](auto& f) { store64(f, table, 0x3000000000000000 | (1ULL << 40)); }, "corrupt", "grain table entry 0"},
        {"grain table entry with an undefined kind", [table](auto& f) { store64(f, table + 8, 0x4000000000000000); },
         "corrupt", "grain table entry 1"},
        {"unallocated grain table entry with bits set", [table](auto& f) { store64(f, table + 16, 0x1234); },
         "corrupt", "grain table entry 2"},
        {"grains offset overflows", [](auto& f) { store64(f, 192, 1ULL << 60); }, "corrupt", "grains_offset"},
        {"grains past the end", [](auto& f) { store64(f, 192, 1ULL << 50); }, "corrupt", "grain table entry"},
    };
    check_damages(good, damages, vmdk::open_sesparse_extent);
}

TEST_CASE("COWD extent: hostile headers and tables fail fast, naming the file, the structure and the offset")
{
    const EsxSparseFile good = make_cowd(cowd_spec(1));
    const std::uint64_t table = good.first_table_offset;
    const std::vector<Damage> damages = {
        {"bad magic", [](auto& f) { store32(f, 0, 0x44574F44); }, "corrupt", "COWD header"},
        {"unknown version", [](auto& f) { store32(f, 4, 2); }, "corrupt", "version"},
        {"grain size 0", [](auto& f) { store32(f, 16, 0); }, "corrupt", "grain size"},
        {"grain size over 1 MiB", [](auto& f) { store32(f, 16, 4096); }, "corrupt", "grain size"},
        {"truncated header", [](auto& f) { f.bytes.resize(1000); }, "corrupt", "COWD header"},
        {"capacity of 2^32 - 1 sectors", [](auto& f) { store32(f, 12, 0xFFFFFFFF); }, "corrupt", "grain directory"},
        {"huge grain directory past the end",
         [](auto& f) {
             store32(f, 12, 0xFFFFFFFF);
             store32(f, 24, 0xFFFFFFFF);
         },
         "corrupt", "grain directory"},
        {"grain directory past the end", [](auto& f) { store32(f, 20, 0xFFFFFFF0); }, "corrupt", "grain directory"},
        {"grain directory entry past the end",
         [](auto& f) { store32(f, f.directory_offset, static_cast<std::uint32_t>(f.bytes.size() / 512)); },
         "corrupt", "grain directory entry 0"},
        {"grain table entry past the end", [table](auto& f) { store32(f, table, 0xFFFFFFFF); }, "corrupt",
         "grain table entry 0"},
        {"grain table entry whose grain runs past the end",
         [table](auto& f) { store32(f, table + 4, static_cast<std::uint32_t>(f.bytes.size() / 512)); }, "corrupt",
         "grain table entry 1"},
    };
    check_damages(good, damages, vmdk::open_cowd_extent);
}
