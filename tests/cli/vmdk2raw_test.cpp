// The VMDK acceptance tests: vmdk2raw against `qemu-img convert -O raw` for every subformat qemu-img
// writes, a hand-written vmfs descriptor, python3-vmdkstream output and our VMware-layout stream
// generator; deltas; and hostile input, which must fail fast, small, and leave the input untouched.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/endian.hpp"
#include <diskshift/io.hpp>

#include "support/commands.hpp"
#include "support/esx_sparse_writer.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vmware_stream.hpp"

using namespace dstest;

namespace {


/// Like file_difference(), but reads only where either file has data: both read zeros elsewhere,
/// and reading gigabytes of holes would make the tests slow.
std::string sparse_file_difference(const std::filesystem::path& a, const std::filesystem::path& b)
{
    const std::uint64_t size = std::filesystem::file_size(a);
    if (std::filesystem::file_size(b) != size) {
        return fmt::format("sizes differ: {} and {}", size, std::filesystem::file_size(b));
    }
    std::vector<ByteRange> ranges = data_ranges(diskshift::FileSource(a).allocation(0, size));
    const std::vector<ByteRange> more = data_ranges(diskshift::FileSource(b).allocation(0, size));
    ranges.insert(ranges.end(), more.begin(), more.end());
    std::sort(ranges.begin(), ranges.end(), [](const ByteRange& x, const ByteRange& y) { return x.offset < y.offset; });
    std::vector<ByteRange> merged;
    for (const ByteRange& r : ranges) {
        if (!merged.empty() && r.offset <= merged.back().end()) {
            merged.back().length = std::max(merged.back().end(), r.end()) - merged.back().offset;
        } else {
            merged.push_back(r);
        }
    }
    return file_difference(a, b, merged);
}

/// vmdk2raw's output equals `qemu-img convert -O raw` byte for byte, and is sparse where qemu's is.
void check_vmdk2raw_matches_qemu(const TempDir& dir, const std::filesystem::path& image)
{
    INFO("image ", image.string());
    const std::filesystem::path ours = dir / "ours.raw";
    const std::filesystem::path theirs = dir / "qemu.raw";
    const ProcessResult run = run_tool("vmdk2raw", {image.string(), ours.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    run_checked({qemu_img().string(), "convert", "-f", "vmdk", "-O", "raw", image.string(), theirs.string()});
    CHECK(sparse_file_difference(theirs, ours) == "");
    CHECK(allocated_bytes(ours) <= allocated_bytes(theirs) + MiB);
    std::filesystem::remove(ours);
    std::filesystem::remove(theirs);
}

/// A disk of 5 GiB + 99.5 KiB: over 4 GiB, and not a multiple of the 64 KiB grain.
constexpr std::uint64_t disk_size = 5 * GiB + 99 * KiB + 512;

/// qemu-io arguments writing random data from `random_file` into a disk of `size` bytes: whole
/// and partial grains, explicit zeros, data past 4 GiB when the disk is that large, the last sector
/// and the partial last grain.
std::vector<std::string> qemu_io_writes(const std::filesystem::path& random_file, std::uint64_t size)
{
    const std::string r = random_file.string();
    std::vector<std::string> args = {"-c", fmt::format("write -s {} 0 1M", r),
                                     "-c", fmt::format("write -s {} {} 12288", r, 1 * MiB + 4096 + 512),
                                     "-c", "write -z 256k 128k",
                                     "-c", fmt::format("write -s {} {} 512", r, size - 512),
                                     "-c", fmt::format("write -s {} {} 70144", r, size - 512 - 70144)};
    if (size > 4 * GiB + MiB) {
        args.insert(args.end(), {"-c", fmt::format("write -s {} {} 200k", r, 4 * GiB + 3 * KiB)});
    }
    return args;
}

std::filesystem::path write_random_file(const TempDir& dir)
{
    const std::filesystem::path path = dir / "random.bin";
    write_whole_file(path, random_bytes(MiB, 0x7d3b));
    return path;
}

/// A raw disk with the same writes, for the formats qemu-io cannot write in place.
std::filesystem::path write_raw_disk(const TempDir& dir, std::uint64_t size)
{
    const std::filesystem::path raw = dir / "source.raw";
    run_checked({qemu_img().string(), "create", "-q", "-f", "raw", raw.string(), std::to_string(size)});
    std::vector<std::string> argv = {required_program("qemu-io"), "-f", "raw"};
    const std::vector<std::string> writes = qemu_io_writes(write_random_file(dir), size);
    argv.insert(argv.end(), writes.begin(), writes.end());
    argv.push_back(raw.string());
    run_checked(argv);
    return raw;
}

/// A small file with one little-endian field changed; `at` is a byte offset in the file.
template <typename T>
void patch_le(const std::filesystem::path& path, std::uint64_t at, T value)
{
    std::vector<std::byte> bytes = read_whole_file(path);
    REQUIRE(at + sizeof(T) <= bytes.size());
    diskshift::store_le<T>(bytes.data() + at, value);
    write_whole_file(path, bytes);
}

template <typename T>
T load_field(const std::filesystem::path& path, std::uint64_t at)
{
    const std::vector<std::byte> bytes = read_whole_file(path);
    REQUIRE(at + sizeof(T) <= bytes.size());
    return diskshift::load_le<T>(bytes.data() + at);
}

/// A 64 MiB monolithicSparse disk with 1 MiB of data at its start (about 1.1 MiB of file).
std::filesystem::path small_sparse(const TempDir& dir, const std::string& name)
{
    const std::filesystem::path image = dir / name;
    run_checked({qemu_img().string(), "create", "-q", "-f", "vmdk", image.string(), "64M"});
    run_checked({required_program("qemu-io"), "-f", "vmdk", "-c", "write -P 0x5a 0 1M", image.string()});
    return image;
}

/// A VMware-layout stream file of a 2 MiB disk full of random data.
std::filesystem::path small_stream(const TempDir& dir, const std::string& name, VmwareStreamStats& stats)
{
    const std::filesystem::path raw = dir / (name + ".raw");
    write_whole_file(raw, random_bytes(2 * MiB, 0x51));
    const std::filesystem::path image = dir / name;
    stats = write_vmware_stream(raw, image);
    std::filesystem::remove(raw);
    return image;
}

struct BadInput {
    std::string what;
    std::filesystem::path file;
    std::string structure;  ///< a word the message must contain
};

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("vmdk acceptance 1: every subformat qemu-img writes converts like qemu-img converts it")
{
    const TempDir dir;
    const std::filesystem::path random_file = write_random_file(dir);
    const std::vector<std::vector<std::string>> variants = {
        {"subformat=monolithicSparse"},
        {"subformat=monolithicSparse,zeroed_grain=on"},
        {"subformat=monolithicFlat"},
        {"subformat=twoGbMaxExtentSparse"},
        {"subformat=twoGbMaxExtentFlat"},
    };
    for (const auto& variant : variants) {
        INFO("qemu-img create -o ", variant.front());
        const std::filesystem::path image = dir / "disk.vmdk";
        run_checked({qemu_img().string(), "create", "-q", "-f", "vmdk", "-o", variant.front(), image.string(),
                std::to_string(disk_size)});
        std::vector<std::string> argv = {required_program("qemu-io"), "-f", "vmdk"};
        const std::vector<std::string> writes = qemu_io_writes(random_file, disk_size);
        argv.insert(argv.end(), writes.begin(), writes.end());
        argv.push_back(image.string());
        run_checked(argv);
        check_vmdk2raw_matches_qemu(dir, image);
        for (const std::string& name : dir.names()) {
            if (name.starts_with("disk")) {
                std::filesystem::remove(dir / name);
            }
        }
    }
}

TEST_CASE("vmdk acceptance 1: qemu-img's streamOptimized output converts like qemu-img converts it")
{
    const TempDir dir;
    const std::filesystem::path raw = write_raw_disk(dir, disk_size);
    const std::filesystem::path image = dir / "stream.vmdk";
    run_checked({qemu_img().string(), "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw.string(),
            image.string()});
    check_vmdk2raw_matches_qemu(dir, image);
}

TEST_CASE("vmdk acceptance 1: a hand-written vmfs descriptor over a flat file")
{
    const TempDir dir;
    const std::uint64_t size = 12 * MiB + 512;
    const Fd flat = open_file(dir / "disk-flat.vmdk", O_RDWR | O_CREAT | O_TRUNC);
    REQUIRE(::ftruncate(flat.get(), static_cast<off_t>(size)) == 0);
    RandomBytes random(0x7f5);
    write_at(flat.get(), random.make(MiB), 0);
    write_at(flat.get(), random.make(3000), 7 * MiB + 5);
    write_at(flat.get(), random.make(512), size - 512);
    write_text_file(dir / "disk.vmdk", fmt::format("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n"
                                                   "CID=fffffffe\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n"
                                                   "# Extent description\nRW {} VMFS \"disk-flat.vmdk\"\n\n"
                                                   "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n",
                                                   size / 512));
    check_vmdk2raw_matches_qemu(dir, dir / "disk.vmdk");
    // The flat file is the disk itself.
    const ProcessResult run = run_tool("vmdk2raw", {(dir / "disk.vmdk").string(), (dir / "ours.raw").string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    CHECK(file_difference(dir / "disk-flat.vmdk", dir / "ours.raw") == "");
}

TEST_CASE("vmdk acceptance 1: python3-vmdkstream's stream files")
{
    const TempDir dir;
    const std::filesystem::path raw = write_raw_disk(dir, 24 * MiB + 99 * KiB + 512);
    const std::filesystem::path image = dir / "stream.vmdk";
    // The Debian package installs the module for the system's python3.
    run_checked({"/usr/bin/python3", "-c", "import sys, VMDKstream; VMDKstream.convert_to_stream(sys.argv[1], sys.argv[2])",
            raw.string(), image.string()});
    check_vmdk2raw_matches_qemu(dir, image);
    const ProcessResult ours = run_tool("vmdk2raw", {image.string(), (dir / "ours.raw").string()});
    REQUIRE(ours.exit_code() == 0);
    CHECK(file_difference(raw, dir / "ours.raw") == "");
}


TEST_CASE("vmdk acceptance 3: bare and descriptor-named seSparse and COWD extents convert like qemu-img reads them")
{
    const TempDir dir;
    EsxSparseSpec spec;
    spec.capacity_sectors = 3 * 4096 * 8 + 5;  // three grain tables of 4 KiB grains, and a partial one
    spec.grains = {{0, EsxGrainFill::data}, {1, EsxGrainFill::data}, {4095, EsxGrainFill::data},
                   {4096, EsxGrainFill::data}, {9000, EsxGrainFill::data}};
    std::string create_type = "seSparse";
    std::string extent_type = "SESPARSE";
    EsxSparseFile extent;
    SUBCASE("seSparse")
    {
        spec.grains[2] = EsxGrainFill::zero;
        spec.grains[3] = EsxGrainFill::unmapped;
        extent = make_sesparse(spec);
    }
    SUBCASE("COWD")
    {
        create_type = "vmfsSparse";
        extent_type = "VMFSSPARSE";
        extent = make_cowd(spec);
    }
    const std::filesystem::path bare = dir / "disk-delta.vmdk";
    write_whole_file(bare, extent.bytes);
    const std::filesystem::path descriptor = dir / "disk.vmdk";
    write_text_file(descriptor, esx_descriptor(create_type, extent_type, spec.capacity_sectors, "disk-delta.vmdk"));

    // A descriptor whose line overstates the extent: the extent's own header gives the size.
    const std::filesystem::path overstated = dir / "overstated.vmdk";
    write_text_file(overstated,
                    esx_descriptor(create_type, extent_type, 2 * spec.capacity_sectors, "disk-delta.vmdk"));

    // qemu reads these extents only through a descriptor; vmdk2raw also reads the bare file.
    const std::filesystem::path theirs = dir / "qemu.raw";
    run_checked({qemu_img().string(), "convert", "-f", "vmdk", "-O", "raw", descriptor.string(), theirs.string()});
    const std::filesystem::path theirs_overstated = dir / "qemu-overstated.raw";
    run_checked({qemu_img().string(), "convert", "-f", "vmdk", "-O", "raw", overstated.string(), theirs_overstated.string()});
    CHECK(file_difference(theirs, theirs_overstated) == "");
    for (const std::filesystem::path& image : {bare, descriptor, overstated}) {
        INFO("image ", image.string());
        const std::filesystem::path ours = dir / "ours.raw";
        const ProcessResult run = run_tool("vmdk2raw", {image.string(), ours.string()});
        INFO(run.describe());
        REQUIRE(run.exit_code() == 0);
        CHECK(file_difference(theirs, ours) == "");
        std::filesystem::remove(ours);
    }
    const ProcessResult info = run_tool("imginfo", {"--json", bare.string()});
    REQUIRE(info.exit_code() == 0);
    CHECK(nlohmann::json::parse(info.out).at("subformat") == create_type);
}

TEST_CASE("vmdk acceptance 2: our VMware-layout stream files read correctly, and qemu-img agrees")
{
    const TempDir dir;
    // Four grain-table ranges of 32 MiB: the second holds nothing, so it gets no grain table.
    const std::uint64_t size = 100 * MiB + 7 * KiB + 512;
    const std::filesystem::path raw = dir / "source.raw";
    {
        const Fd fd = open_file(raw, O_RDWR | O_CREAT | O_TRUNC);
        REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
        RandomBytes random(0x2b);
        write_at(fd.get(), random.make(MiB), 0);
        write_at(fd.get(), std::vector<std::byte>(200 * KiB, std::byte{0x61}), 5 * MiB + 512);
        write_at(fd.get(), random.make(5000), 70 * MiB + 512);
        write_at(fd.get(), random.make(512), size - 512);
    }
    const std::filesystem::path image = dir / "exported.vmdk";
    const VmwareStreamStats stats = write_vmware_stream(raw, image);
    CHECK(stats.largest_grain > 64 * KiB);
    CHECK(stats.grain_tables == 3);

    const ProcessResult run = run_tool("vmdk2raw", {image.string(), (dir / "ours.raw").string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    CHECK(file_difference(raw, dir / "ours.raw") == "");
    run_checked({qemu_img().string(), "convert", "-f", "vmdk", "-O", "raw", image.string(), (dir / "qemu.raw").string()});
    CHECK(file_difference(raw, dir / "qemu.raw") == "");

    const ProcessResult info = run_tool("imginfo", {"--json", image.string()});
    REQUIRE(info.exit_code() == 0);
    const nlohmann::json json = nlohmann::json::parse(info.out);
    CHECK(json.at("subformat") == "streamOptimized");
    CHECK(json.at("id") == "1e2d3c4b");
    CHECK(json.at("details").at("extents").at(0).at("header").at("footer") == true);
}

TEST_CASE("vmdk acceptance 4: a qemu-img delta names its parent and is refused alone")
{
    const TempDir dir;
    const std::filesystem::path base = small_sparse(dir, "base.vmdk");
    const std::filesystem::path delta = dir / "delta.vmdk";
    run_checked({qemu_img().string(), "create", "-q", "-f", "vmdk", "-b", base.string(), "-F", "vmdk", delta.string()});
    run_checked({required_program("qemu-io"), "-f", "vmdk", "-c", "write -P 0x77 64k 64k", delta.string()});

    const ProcessResult base_info = run_tool("imginfo", {"--json", base.string()});
    const ProcessResult delta_info = run_tool("imginfo", {"--json", delta.string()});
    REQUIRE(base_info.exit_code() == 0);
    REQUIRE(delta_info.exit_code() == 0);
    const nlohmann::json parent = nlohmann::json::parse(delta_info.out).at("parent");
    REQUIRE(parent.is_object());
    CHECK(parent.at("hint") == base.string());
    const std::string base_id = nlohmann::json::parse(base_info.out).at("id");
    CHECK(base_id.size() == 8);
    CHECK(parent.at("id") == base_id);

    const ProcessResult alone = run_tool("vmdk2raw", {delta.string(), (dir / "out.raw").string()});
    CHECK(alone.exit_code() == 1);
    CHECK(contains(alone.err, delta.string()));
    CHECK(contains(alone.err, base.string()));
    CHECK(contains(alone.err, base_id));
    CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
    CHECK(dir.sink_temporaries().empty());
}

TEST_CASE("vmdk acceptance 5: bad input fails with exit 1, fast and small, and is never modified")
{
    const TempDir dir;
    std::vector<BadInput> cases;

    const auto truncated = small_sparse(dir, "truncated.vmdk");
    std::filesystem::resize_file(truncated, 300 * KiB);
    cases.push_back({"grains cut off", truncated, "grain table entry"});

    const auto cut_header = small_sparse(dir, "cut-header.vmdk");
    std::filesystem::resize_file(cut_header, 300);
    cases.push_back({"header cut short", cut_header, "header"});

    const auto gd_past = small_sparse(dir, "gd-past-end.vmdk");
    patch_le<std::uint64_t>(gd_past, 56, 0x100000);
    cases.push_back({"grain directory past the end", gd_past, "grain directory"});

    const auto gt_past = small_sparse(dir, "gt-past-end.vmdk");
    patch_le<std::uint32_t>(gt_past, load_field<std::uint64_t>(gt_past, 56) * 512, 0x100000);
    cases.push_back({"grain table past the end", gt_past, "grain table"});

    const auto odd_grain = small_sparse(dir, "odd-grain.vmdk");
    patch_le<std::uint64_t>(odd_grain, 20, 100);
    cases.push_back({"grain size not a power of two", odd_grain, "grain size"});

    const auto huge_grain = small_sparse(dir, "huge-grain.vmdk");
    patch_le<std::uint64_t>(huge_grain, 20, 4096);
    cases.push_back({"grain size over 1 MiB", huge_grain, "grain size"});

    const auto huge_capacity = small_sparse(dir, "huge-capacity.vmdk");
    patch_le<std::uint64_t>(huge_capacity, 12, 1ULL << 60);
    cases.push_back({"capacity of 2^60 sectors", huge_capacity, "capacity"});

    std::string many = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n";
    for (int i = 0; i < 100000; ++i) {
        many += "RW 8 FLAT \"many-flat.vmdk\" 0\n";
    }
    write_text_file(dir / "many.vmdk", many);
    write_whole_file(dir / "many-flat.vmdk", std::vector<std::byte>(4096));
    cases.push_back({"100,000 extents", dir / "many.vmdk", "extent lines"});

    VmwareStreamStats stats;
    const auto big_marker = small_stream(dir, "marker-too-big.vmdk", stats);
    patch_le<std::uint32_t>(big_marker, stats.first_grain_marker + 8, 0x7fffff00);
    cases.push_back({"grain marker size too big", big_marker, "grain marker"});

    const auto small_marker = small_stream(dir, "marker-too-small.vmdk", stats);
    patch_le<std::uint32_t>(small_marker, stats.first_grain_marker + 8, 100);
    cases.push_back({"grain marker size too small", small_marker, "compressed grain"});

    const auto no_footer = small_stream(dir, "no-footer.vmdk", stats);
    std::filesystem::resize_file(no_footer, std::filesystem::file_size(no_footer) - 512);
    cases.push_back({"stream cut before its end", no_footer, "footer"});

    const auto lost_extent = dir / "lost.vmdk";
    run_checked({qemu_img().string(), "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", lost_extent.string(), "1M"});
    std::filesystem::remove(dir / "lost-flat.vmdk");
    cases.push_back({"missing extent file", lost_extent, "lost-flat.vmdk"});

    for (const BadInput& bad : cases) {
        INFO(bad.what, ": ", bad.file.string());
        const std::vector<std::byte> before = read_whole_file(bad.file);
        const ProcessResult run = run_tool("vmdk2raw", {bad.file.string(), (dir / "out.raw").string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, bad.file.string()));
        CHECK(contains(run.err, bad.structure));
        CHECK(run.seconds < 1.0);
        CHECK(run.max_rss_bytes < hostile_input_memory_limit());
        CHECK(read_whole_file(bad.file) == before);
        CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
    }
}

}  // TEST_SUITE
