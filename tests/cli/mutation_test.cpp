// Hostile images (issue 9, acceptance 4): every tool runs over deterministic mutations of small
// images (truncations, bit flips in headers and tables, lying sizes) and must exit 1 (never by a
// signal, never 0 when it reads the damaged structure) with a message naming the input, within the
// time and memory bounds, leaving the inputs' bytes unchanged and no destination or temporary file.
//
// Time bound: 1 s per run; 5 s under sanitizers (ASan/UBSan slow the tools 3-10x and the machine
// may be shared). The memory bound is hostile_input_memory_limit().
#include <algorithm>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/crc32c.hpp"
#include "core/endian.hpp"
#include "core/sha.hpp"
#include "formats/vhdx/vhdx_layout.hpp"
#include "support/commands.hpp"
#include "support/environment.hpp"
#include "support/files.hpp"
#include "support/ova_builder.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vhd_delta_pair.hpp"

using namespace dstest;
namespace fs = std::filesystem;
namespace vhdx = diskshift::formats::vhdx;

namespace {

#ifdef DISKSHIFT_SANITIZED
constexpr double max_seconds = 5.0;
#else
constexpr double max_seconds = 1.0;
#endif

/// How deep a mutation damages the image: the least a tool must read to notice it.
enum class Reach {
    header = 0,  ///< opening fails: every tool must exit 1
    tables = 1,  ///< the allocation tables: tools that walk the map must exit 1
    data = 2,    ///< the stored data: tools that read every byte must exit 1
    maybe = 3,   ///< the image may stay readable: exit 0 or 1, the other checks hold
};

/// Which inputs a tool applies to.
enum class Applies { all, vmdk, chain, ova };

/// One tool run of the table below. In `args`, "{SRC}" is the input and "{DST}" the destination.
struct ToolCase {
    std::string label;
    std::string tool;
    std::vector<std::string> args;
    Reach reads;  ///< the deepest it reads: it must fail on every mutation of that reach or less
    Applies applies = Applies::all;
    bool only_when_failing = false;  ///< skipped on mutations it may survive (it would launch libguestfs)
    /// Checks the one file it is given, as `qemu-img check` does: a mutation of another layer (a
    /// parent, a package's nested disk) need not make it fail.
    bool one_layer = false;
};

/// Every tool over every mutated image.
const std::vector<ToolCase>& tool_cases()
{
    static const std::vector<ToolCase> cases = {
        {"imginfo", "imginfo", {"{SRC}"}, Reach::header},
        {"imginfo --json", "imginfo", {"--json", "{SRC}"}, Reach::header},
        {"imginfo --map", "imginfo", {"--map", "{SRC}"}, Reach::tables},
        {"imgconv -O raw", "imgconv", {"-O", "raw", "{SRC}", "{DST}.raw"}, Reach::data},
        {"imgconv -O vmdk", "imgconv", {"-O", "vmdk", "{SRC}", "{DST}.vmdk"}, Reach::data},
        {"imgconv -O vhd", "imgconv", {"-O", "vhd", "{SRC}", "{DST}.vhd"}, Reach::data},
        {"imgconv -O vhdx", "imgconv", {"-O", "vhdx", "{SRC}", "{DST}.vhdx"}, Reach::data},
        {"imgconv --all-disks", "imgconv", {"-O", "raw", "--all-disks", "{DST}.d", "{SRC}"}, Reach::data, Applies::ova},
        {"vmdk2raw", "vmdk2raw", {"{SRC}", "{DST}.raw"}, Reach::data, Applies::vmdk},
        {"imgmerge", "imgmerge", {"{SRC}", "-o", "{DST}.raw"}, Reach::data, Applies::chain},
        {"imgcheck", "imgcheck", {"{SRC}"}, Reach::data, Applies::all, false, true},
        {"imgcheck --json", "imgcheck", {"--json", "{SRC}"}, Reach::data, Applies::all, false, true},
        {"imgfix --output", "imgfix", {"--output", "{DST}.raw", "{SRC}"}, Reach::data, Applies::all, true},
    };
    return cases;
}

/// The files of one pristine test image: `source` is what the tools open, `files` every file the
/// image consists of (all named by their leaf in `dir`).
struct Base {
    std::string name;
    fs::path dir;
    std::string source;
    std::vector<std::string> files;
    bool vmdk = false;
    bool chain = false;
    bool ova = false;
};

using Bytes = std::vector<std::byte>;

/// A deterministic change to a copy of a base image's folder.
struct Mutation {
    std::string description;
    Reach reach;
    std::function<void(const fs::path& dir)> apply;
    bool other_layer = false;  ///< it damages the chain or a nested disk, not the file's own structure
};

/// `mutation`, marked as one that reaches the image only through another layer.
Mutation through_other_layer(Mutation mutation)
{
    mutation.other_layer = true;
    return mutation;
}

// ---- byte-level helpers ----------------------------------------------------------------------

void edit_file(const fs::path& path, const std::function<void(Bytes&)>& edit)
{
    Bytes bytes = read_whole_file(path);
    edit(bytes);
    write_whole_file(path, bytes);
}

template <typename T>
void put_le(Bytes& bytes, std::uint64_t offset, T value)
{
    REQUIRE(offset + sizeof(T) <= bytes.size());
    diskshift::store_le<T>(bytes.data() + offset, value);
}

template <typename T>
void put_be(Bytes& bytes, std::uint64_t offset, T value)
{
    REQUIRE(offset + sizeof(T) <= bytes.size());
    diskshift::store_be<T>(bytes.data() + offset, value);
}

template <typename T>
T get_le(const Bytes& bytes, std::uint64_t offset)
{
    REQUIRE(offset + sizeof(T) <= bytes.size());
    return diskshift::load_le<T>(bytes.data() + offset);
}

template <typename T>
T get_be(const Bytes& bytes, std::uint64_t offset)
{
    REQUIRE(offset + sizeof(T) <= bytes.size());
    return diskshift::load_be<T>(bytes.data() + offset);
}

void flip_bit(Bytes& bytes, std::uint64_t offset, unsigned bit)
{
    REQUIRE(offset < bytes.size());
    bytes[offset] ^= std::byte{static_cast<unsigned char>(1U << bit)};
}

std::string as_text(const Bytes& bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// The offset of the first `needle` at or after `from`; fails the test if there is none.
std::uint64_t find_text(const Bytes& bytes, const std::string& needle, std::uint64_t from = 0)
{
    const auto at = as_text(bytes).find(needle, from);
    REQUIRE_MESSAGE(at != std::string::npos, "the base image holds no \"", needle, "\"");
    return at;
}

/// Replaces the first `from` by `to`; the difference in length is taken from (or given to) the run
/// of spaces (or NUL padding) that follows, so that every later byte keeps its offset.
void replace_text_in_place(Bytes& bytes, const std::string& from, const std::string& to)
{
    const std::uint64_t at = find_text(bytes, from);
    std::string text = as_text(bytes);
    text.replace(at, from.size(), to);
    if (to.size() > from.size()) {
        std::size_t excess = to.size() - from.size();
        for (std::size_t i = at + to.size(); excess > 0 && i + 1 < text.size();) {
            if ((text[i] == ' ' || text[i] == '\0') && text[i + 1] == text[i]) {
                text.erase(i, 1);
                --excess;
            } else {
                ++i;
            }
        }
        REQUIRE_MESSAGE(excess == 0, "no room for \"", to, "\"");
    } else if (to.size() < from.size()) {
        text.insert(at + to.size(), from.size() - to.size(), ' ');
    }
    std::memcpy(bytes.data(), text.data(), bytes.size());
}

Mutation truncate_to(std::uint64_t size, Reach reach, const std::string& file, const std::string& where)
{
    return {fmt::format("{} truncated to {} bytes ({})", file, size, where), reach,
            [=](const fs::path& dir) { fs::resize_file(dir / file, size); }};
}

Mutation edit(const std::string& description, Reach reach, const std::string& file, std::function<void(Bytes&)> change)
{
    return {file + ": " + description, reach, [=](const fs::path& dir) { edit_file(dir / file, change); }};
}

/// `count` random bit flips in [first, last) of `file`, seeded: the description names each one.
Mutation random_flips(const std::string& file, std::uint64_t first, std::uint64_t last, unsigned count,
                      std::uint64_t seed, Reach reach)
{
    RandomBytes random(seed);
    std::vector<std::pair<std::uint64_t, unsigned>> flips;
    std::string where;
    for (unsigned i = 0; i < count; ++i) {
        flips.emplace_back(first + random.below(last - first), static_cast<unsigned>(random.below(8)));
        where += fmt::format(" {:#x}.{}", flips.back().first, flips.back().second);
    }
    return edit(fmt::format("bit flips (seed {}) at{}", seed, where), reach, file, [=](Bytes& bytes) {
        for (const auto& [offset, bit] : flips) {
            flip_bit(bytes, offset, bit);
        }
    });
}

// ---- running the tools -----------------------------------------------------------------------

std::map<std::string, std::string> input_digests(const fs::path& dir)
{
    std::map<std::string, std::string> digests;
    for (const auto& entry : fs::directory_iterator(dir)) {
        digests[entry.path().filename().string()] =
            diskshift::sha_hex(diskshift::ShaAlgorithm::sha256, read_whole_file(entry.path()));
    }
    return digests;
}

/// Each input file's size and modification time: checked after every run (the digests, slower,
/// after all of them).
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> input_stamps(const fs::path& dir)
{
    std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> stamps;
    for (const auto& entry : fs::directory_iterator(dir)) {
        stamps[entry.path().filename().string()] = {entry.file_size(), entry.last_write_time()};
    }
    return stamps;
}

std::vector<std::string> expand(const ToolCase& tool, const fs::path& source, const fs::path& destination)
{
    std::vector<std::string> args;
    for (std::string arg : tool.args) {
        if (const auto at = arg.find("{SRC}"); at != std::string::npos) {
            arg.replace(at, 5, source.string());
        }
        if (const auto at = arg.find("{DST}"); at != std::string::npos) {
            arg.replace(at, 5, destination.string());
        }
        args.push_back(arg);
    }
    return args;
}

bool applies(const ToolCase& tool, const Base& base)
{
    return tool.applies == Applies::all || (tool.applies == Applies::vmdk && base.vmdk) ||
           (tool.applies == Applies::chain && base.chain) || (tool.applies == Applies::ova && base.ova);
}

/// True when the message names the input or one of its files.
bool names_an_input(const std::string& message, const Base& base)
{
    return std::any_of(base.files.begin(), base.files.end(),
                       [&](const std::string& file) { return contains(message, file); });
}

/// Copies the base, applies `mutation`, runs every tool over it and checks each run.
void check_mutation(const Base& base, const Mutation& mutation, const std::string& only_tool = "")
{
    // imgfix must fail before it launches libguestfs; if it ever gets that far, it fails at once.
    const ScopedEnvironment backend("LIBGUESTFS_BACKEND", no_libguestfs_backend);
    const TempDir work;
    const fs::path input = work / "in";
    const fs::path output = work / "out";
    fs::copy(base.dir, input);
    fs::create_directory(output);
    mutation.apply(input);
    const auto digests = input_digests(input);
    const auto stamps = input_stamps(input);
    for (const ToolCase& tool : tool_cases()) {
        const bool must_fail = mutation.reach <= tool.reads && !(tool.one_layer && mutation.other_layer);
        if (!applies(tool, base) || (tool.only_when_failing && !must_fail) ||
            (!only_tool.empty() && tool.label != only_tool)) {
            continue;
        }
        std::vector<std::string> argv{tool_path(tool.tool).string()};
        const auto args = expand(tool, input / base.source, output / "dst");
        argv.insert(argv.end(), args.begin(), args.end());
        const ProcessResult run = run_process(argv);
        INFO(base.name, ": ", mutation.description, "\n", tool.tool, " ", fmt::format("{}", fmt::join(args, " ")),
             " -> ", run.describe(), "\n", run.seconds, " s, ", run.max_rss_bytes >> 20, " MiB");
        CHECK(run.status.exited);
        if (must_fail) {
            CHECK(run.exit_code() == 1);
        } else {
            CHECK((run.exit_code() == 0 || run.exit_code() == 1));
        }
        if (run.exit_code() != 0) {
            CHECK(names_an_input(run.err + run.out, base));  // imgcheck lists problems on stdout
        }
        CHECK(run.seconds < max_seconds);
        CHECK(run.max_rss_bytes < hostile_input_memory_limit());
        CHECK(input_stamps(input) == stamps);  // nothing changed, added or removed beside the inputs
        if (run.exit_code() != 0) {
            CHECK(fs::is_empty(output));
        }
        for (const auto& entry : fs::directory_iterator(output)) {
            fs::remove_all(entry.path());
        }
    }
    INFO(base.name, ": ", mutation.description);
    CHECK(input_digests(input) == digests);
}

void check_mutations(const Base& base, const std::vector<Mutation>& mutations)
{
    for (const Mutation& mutation : mutations) {
        check_mutation(base, mutation);
    }
}

// ---- the base images -------------------------------------------------------------------------

constexpr std::uint64_t disk_size = 4 << 20;

/// A 4 MiB raw disk with data qemu-io wrote at the start, the middle and the end.
fs::path make_raw(const fs::path& dir)
{
    const fs::path raw = dir / "data.raw";
    run_program("qemu-img", {"create", "-q", "-f", "raw", raw.string(), std::to_string(disk_size)});
    run_program("qemu-io", {"-f", "raw", "-c", "write -P 0x5a 0 96k", "-c", "write -P 0xa5 1536k 64k", "-c",
                            "write -P 0x3c 4032k 64k", raw.string()});
    return raw;
}

/// A base made by `qemu-img convert -O <format> [-o <options>]` from the raw disk.
Base qemu_base(const TempDir& dir, const std::string& name, const std::string& format, const std::string& options,
               const std::string& file)
{
    const TempDir scratch;
    const fs::path raw = make_raw(scratch.path());
    fs::create_directory(dir / "base");
    std::vector<std::string> args{"convert", "-f", "raw", "-O", format};
    if (!options.empty()) {
        args.insert(args.end(), {"-o", options});
    }
    args.insert(args.end(), {raw.string(), (dir / "base" / file).string()});
    run_program("qemu-img", args);
    Base base{name, dir / "base", file, {}, format == "vmdk", false};
    for (const auto& entry : fs::directory_iterator(base.dir)) {
        base.files.push_back(entry.path().filename().string());
    }
    return base;
}

/// A base written by our own imgconv.
Base our_base(const TempDir& dir, const std::string& name, const std::string& format,
              const std::string& file)
{
    const TempDir scratch;
    const fs::path raw = make_raw(scratch.path());
    fs::create_directory(dir / "base");
    run_checked({tool_path("imgconv").string(), "-f", "raw", "-O", format, raw.string(), (dir / "base" / file).string()});
    Base base{name, dir / "base", file, {}, format == "vmdk", false, format == "ova"};
    for (const auto& entry : fs::directory_iterator(base.dir)) {
        base.files.push_back(entry.path().filename().string());
    }
    return base;
}

// ---- VMDK ------------------------------------------------------------------------------------
// SparseExtentHeader (VMDK 1.1 §"Hosted Sparse Extent Header"), little-endian.
constexpr std::uint64_t vmdk_capacity = 12;
constexpr std::uint64_t vmdk_grain_size = 20;
constexpr std::uint64_t vmdk_descriptor_offset = 28;
constexpr std::uint64_t vmdk_descriptor_size = 36;
constexpr std::uint64_t vmdk_gtes_per_gt = 44;
constexpr std::uint64_t vmdk_rgd_offset = 48;
constexpr std::uint64_t vmdk_gd_offset = 56;
constexpr std::uint64_t gd_at_end = ~std::uint64_t{0};

/// The offsets of the headers that count: the one at 0 and, in a stream file whose header says
/// the directory is at the end, the footer's copy 1 KiB before the end (§"The Stream-Optimized...").
std::vector<std::uint64_t> vmdk_headers(const Bytes& bytes)
{
    std::vector<std::uint64_t> headers{0};
    if (get_le<std::uint64_t>(bytes, vmdk_gd_offset) == gd_at_end) {
        headers.push_back(bytes.size() - 1024);
    }
    return headers;
}

/// Sets the header field at `field` in every header that counts.
template <typename T>
Mutation vmdk_header_field(const std::string& file, const std::string& what, std::uint64_t field, T value, Reach reach)
{
    return edit(fmt::format("header {} = {:#x}", what, static_cast<std::uint64_t>(value)), reach, file,
                [=](Bytes& bytes) {
                    for (const std::uint64_t header : vmdk_headers(bytes)) {
                        put_le<T>(bytes, header + field, value);
                    }
                });
}

/// The byte offsets of the grain directories (primary and redundant) that count.
std::vector<std::uint64_t> vmdk_directories(const Bytes& bytes)
{
    const std::uint64_t header = vmdk_headers(bytes).back();
    std::vector<std::uint64_t> directories{get_le<std::uint64_t>(bytes, header + vmdk_gd_offset) * 512};
    const auto rgd = get_le<std::uint64_t>(bytes, header + vmdk_rgd_offset);
    if (rgd != 0 && rgd * 512 < bytes.size()) {
        directories.push_back(rgd * 512);
    }
    return directories;
}

Mutation vmdk_gd_entry_past_eof(const std::string& file)
{
    return edit("grain directory entry 0 = 0x7ffffff0 (past EOF) in every directory", Reach::tables, file,
                [](Bytes& bytes) {
                    for (const std::uint64_t gd : vmdk_directories(bytes)) {
                        put_le<std::uint32_t>(bytes, gd, 0x7ffffff0);
                    }
                });
}

Mutation vmdk_gt_entry_past_eof(const std::string& file)
{
    return edit("first allocated grain table entry = 0x7ffffff0 (past EOF)", Reach::tables, file, [](Bytes& bytes) {
        for (const std::uint64_t gd : vmdk_directories(bytes)) {
            const std::uint64_t gt = get_le<std::uint32_t>(bytes, gd) * 512ULL;
            for (std::uint64_t entry = gt; entry < gt + 2048; entry += 4) {
                if (get_le<std::uint32_t>(bytes, entry) != 0) {
                    put_le<std::uint32_t>(bytes, entry, 0x7ffffff0);
                    break;
                }
            }
        }
    });
}

/// Mutations of a hosted sparse extent (monolithicSparse, an extent of a descriptor, streams).
/// A descriptor (disk.vmdk) that names itself as its parent: a loop that whatever reads the disk
/// through its parents must refuse; imginfo describes the one file.
Mutation descriptor_names_itself_as_parent(const std::string& descriptor)
{
    return through_other_layer(edit("the descriptor is its own parent", Reach::data, descriptor, [](Bytes& b) {
        replace_text_in_place(b, "parentCID=ffffffff", "parentCID=00000000");
        replace_text_in_place(b, "# Extent description", "parentFileNameHint=\"disk.vmdk\"\n#");
    }));
}

std::vector<Mutation> sparse_extent_mutations(const std::string& file, std::uint64_t size, std::uint64_t seed)
{
    return {
        truncate_to(0, Reach::header, file, "empty"),
        truncate_to(300, Reach::header, file, "inside the header"),
        truncate_to(size / 2, Reach::maybe, file, "half"),
        edit("magic bit flip", Reach::header, file, [](Bytes& b) { flip_bit(b, 1, 3); }),
        vmdk_header_field<std::uint64_t>(file, "capacity", vmdk_capacity, 1ULL << 63, Reach::header),
        vmdk_header_field<std::uint64_t>(file, "capacity", vmdk_capacity, 1ULL << 50, Reach::header),
        vmdk_header_field<std::uint64_t>(file, "grainSize", vmdk_grain_size, 0, Reach::header),
        vmdk_header_field<std::uint64_t>(file, "grainSize", vmdk_grain_size, 1ULL << 40, Reach::header),
        vmdk_header_field<std::uint64_t>(file, "grainSize", vmdk_grain_size, 3, Reach::header),
        vmdk_header_field<std::uint32_t>(file, "numGTEsPerGT", vmdk_gtes_per_gt, 0xffffffff, Reach::header),
        vmdk_header_field<std::uint32_t>(file, "numGTEsPerGT", vmdk_gtes_per_gt, 0, Reach::header),
        vmdk_header_field<std::uint64_t>(file, "descriptorSize", vmdk_descriptor_size, 1ULL << 40, Reach::maybe),
        vmdk_header_field<std::uint64_t>(file, "descriptorOffset", vmdk_descriptor_offset, 1ULL << 40, Reach::maybe),
        edit("gdOffset and rgdOffset past EOF", Reach::tables, file,
             [](Bytes& bytes) {
                 for (const std::uint64_t header : vmdk_headers(bytes)) {
                     if (get_le<std::uint64_t>(bytes, header + vmdk_gd_offset) != gd_at_end) {
                         put_le<std::uint64_t>(bytes, header + vmdk_gd_offset, 1ULL << 40);
                         put_le<std::uint64_t>(bytes, header + vmdk_rgd_offset, 1ULL << 40);
                     }
                 }
             }),
        vmdk_gd_entry_past_eof(file),
        vmdk_gt_entry_past_eof(file),
        random_flips(file, 0, 512, 3, seed, Reach::maybe),
        random_flips(file, 0, size, 16, seed + 1, Reach::maybe),
    };
}

TEST_CASE("Mutated images: VMDK monolithicSparse (qemu-img)")
{
    const TempDir dir;
    const Base base = qemu_base(dir, "monolithicSparse", "vmdk", "", "disk.vmdk");
    const auto size = fs::file_size(base.dir / base.source);
    auto mutations = sparse_extent_mutations(base.source, size, 0x9001);
    mutations.push_back(edit("embedded descriptor extent of 2^62 sectors", Reach::header, base.source,
                             [](Bytes& b) { replace_text_in_place(b, "RW 8192 ", "RW 4611686018427387904 "); }));
    // A monolithic file is its own extent: the name its embedded descriptor gives is not used.
    mutations.push_back(edit("embedded descriptor extent names a file that does not exist", Reach::maybe,
                             base.source, [](Bytes& b) { replace_text_in_place(b, "\"disk.vmdk\"", "\"nope.vmdk\""); }));
    mutations.push_back(truncate_to(size - 512, Reach::data, base.source, "the last grain cut"));
    // Text from a damaged file reaches --json output: it must still print (or fail naming the file).
    mutations.push_back(edit("embedded descriptor: a value of bytes that are not UTF-8", Reach::maybe, base.source,
                             [](Bytes& b) { replace_text_in_place(b, "\"ide\"", "\"\xff\xfe\x80\""); }));
    check_mutations(base, mutations);
}

TEST_CASE("Mutated images: VMDK streamOptimized (qemu-img and ours)")
{
    for (const bool ours : {false, true}) {
        const TempDir dir;
        const Base base = ours ? our_base(dir, "stream (imgconv)", "vmdk", "disk.vmdk")
                               : qemu_base(dir, "stream (qemu-img)", "vmdk", "subformat=streamOptimized", "disk.vmdk");
        const auto size = fs::file_size(base.dir / base.source);
        auto mutations = sparse_extent_mutations(base.source, size, ours ? 0x9101 : 0x9201);
        // qemu-img's streams give the directory's place in the header too: the footer is a copy.
        mutations.push_back(truncate_to(size - 1536, Reach::maybe, base.source, "footer and end marker cut"));
        mutations.push_back(truncate_to(size - 512, Reach::maybe, base.source, "end-of-stream marker cut"));
        mutations.push_back(edit("first compressed grain's size field = 0xfffffff0", Reach::data, base.source,
                                 [](Bytes& bytes) {
                                     // The first grain marker follows the header and descriptor: the
                                     // overhead in sectors is the header's field at offset 64.
                                     const std::uint64_t first = get_le<std::uint64_t>(bytes, 64) * 512;
                                     put_le<std::uint32_t>(bytes, first + 8, 0xfffffff0);
                                 }));
        check_mutations(base, mutations);
    }
}

TEST_CASE("Mutated images: VMDK descriptor with a sparse extent (twoGbMaxExtentSparse)")
{
    const TempDir dir;
    const Base base = qemu_base(dir, "twoGbMaxExtentSparse", "vmdk", "subformat=twoGbMaxExtentSparse", "disk.vmdk");
    const std::string extent = "disk-s001.vmdk";
    const auto size = fs::file_size(base.dir / extent);
    std::vector<Mutation> mutations = {
        truncate_to(0, Reach::header, base.source, "empty descriptor"),
        truncate_to(0, Reach::header, extent, "empty extent"),
        truncate_to(300, Reach::header, extent, "inside the extent's header"),
        truncate_to(size - 512, Reach::data, extent, "the last grain cut"),
        {"the extent file removed", Reach::header, [=](const fs::path& d) { fs::remove(d / extent); }},
        edit("extent of 2^62 sectors", Reach::header, base.source,
             [](Bytes& b) { replace_text_in_place(b, "RW 8192 ", "RW 4611686018427387904 "); }),
        // The reader warns and uses the extent's own capacity, reading nothing past it.
        edit("extent of 8193 sectors (past the sparse extent's capacity)", Reach::maybe, base.source,
             [](Bytes& b) { replace_text_in_place(b, "RW 8192 ", "RW 8193 "); }),
        edit("the extent names the descriptor itself", Reach::header, base.source,
             [=](Bytes& b) { replace_text_in_place(b, "\"" + extent + "\"", "\"disk.vmdk\""); }),
        edit("a FLAT extent names the descriptor itself", Reach::header, base.source,
             [=](Bytes& b) { replace_text_in_place(b, "SPARSE \"" + extent + "\"", "FLAT \"disk.vmdk\" 0"); }),
        descriptor_names_itself_as_parent(base.source),
        random_flips(base.source, 0, 200, 4, 0x9301, Reach::maybe),
    };
    auto extent_mutations = sparse_extent_mutations(extent, size, 0x9302);
    mutations.insert(mutations.end(), extent_mutations.begin() + 3, extent_mutations.end());
    check_mutations(base, mutations);
}

TEST_CASE("Mutated images: VMDK descriptor with a flat extent (monolithicFlat)")
{
    const TempDir dir;
    const Base base = qemu_base(dir, "monolithicFlat", "vmdk", "subformat=monolithicFlat", "disk.vmdk");
    const std::string extent = "disk-flat.vmdk";
    const std::vector<Mutation> mutations = {
        truncate_to(disk_size - 512, Reach::header, extent, "the flat extent one sector short"),
        edit("extent of 16384 sectors (past the flat file's end)", Reach::header, base.source,
             [](Bytes& b) { replace_text_in_place(b, "RW 8192 ", "RW 16384 "); }),
        edit("extent at offset 2^62 sectors", Reach::header, base.source,
             [=](Bytes& b) { replace_text_in_place(b, extent + "\" 0", extent + "\" 4611686018427387904"); }),
        edit("the flat extent is the descriptor itself", Reach::header, base.source,
             [=](Bytes& b) { replace_text_in_place(b, "\"" + extent + "\"", "\"disk.vmdk\""); }),
        descriptor_names_itself_as_parent(base.source),
        random_flips(base.source, 0, 300, 6, 0x9311, Reach::maybe),
    };
    check_mutations(base, mutations);
}

// ---- VHD -------------------------------------------------------------------------------------
// The hard disk footer and dynamic disk header (VHD specification), big-endian.
constexpr std::uint64_t vhd_data_offset = 16;
constexpr std::uint64_t vhd_creator = 28;
constexpr std::uint64_t vhd_current_size = 48;
constexpr std::uint64_t vhd_disk_type = 60;
constexpr std::uint64_t vhd_footer_checksum = 64;
constexpr std::uint64_t dyn_table_offset = 16;
constexpr std::uint64_t dyn_max_entries = 28;
constexpr std::uint64_t dyn_block_size = 32;
constexpr std::uint64_t dyn_checksum = 36;
constexpr std::uint64_t dyn_locators = 576;

/// Stores the VHD checksum (the ones' complement of the byte sum) of the structure at `at`.
void fix_vhd_checksum(Bytes& bytes, std::uint64_t at, std::uint64_t length, std::uint64_t checksum_field)
{
    put_be<std::uint32_t>(bytes, at + checksum_field, 0);
    std::uint32_t sum = 0;
    for (std::uint64_t i = at; i < at + length; ++i) {
        sum += std::to_integer<std::uint32_t>(bytes[i]);
    }
    put_be<std::uint32_t>(bytes, at + checksum_field, ~sum);
}

bool is_dynamic_vhd(const Bytes& bytes)
{
    return as_text(bytes).compare(0, 8, "conectix") == 0;
}

/// Sets a footer field in the footer at the end and in its copy at 0 (dynamic disks), with checksums.
template <typename T>
Mutation vhd_footer_field(const std::string& file, const std::string& what, std::uint64_t field, T value, Reach reach)
{
    return edit(fmt::format("footer {} = {:#x} (checksum fixed)", what, static_cast<std::uint64_t>(value)), reach, file,
                [=](Bytes& bytes) {
                    std::vector<std::uint64_t> footers{bytes.size() - 512};
                    if (is_dynamic_vhd(bytes)) {
                        footers.push_back(0);
                    }
                    for (const std::uint64_t footer : footers) {
                        put_be<T>(bytes, footer + field, value);
                        fix_vhd_checksum(bytes, footer, 512, vhd_footer_checksum);
                    }
                });
}

/// Sets the current size in every footer, with Hyper-V as the creator: a reader takes the size of a
/// qemu or Virtual PC disk from its geometry instead (reference vhd.md, the size rule).
Mutation vhd_lying_size(const std::string& file, std::uint64_t value, Reach reach = Reach::header)
{
    return edit(fmt::format("footer current size = {:#x}, creator \"win \" (checksum fixed)", value), reach, file,
                [=](Bytes& bytes) {
                    std::vector<std::uint64_t> footers{bytes.size() - 512};
                    if (is_dynamic_vhd(bytes)) {
                        footers.push_back(0);
                    }
                    for (const std::uint64_t footer : footers) {
                        std::memcpy(bytes.data() + footer + vhd_creator, "win ", 4);
                        put_be<std::uint64_t>(bytes, footer + vhd_current_size, value);
                        fix_vhd_checksum(bytes, footer, 512, vhd_footer_checksum);
                    }
                });
}

std::uint64_t dynamic_header(const Bytes& bytes)
{
    return get_be<std::uint64_t>(bytes, vhd_data_offset);
}

/// Sets a field of the dynamic disk header, with its checksum.
template <typename T>
Mutation vhd_dynamic_field(const std::string& file, const std::string& what, std::uint64_t field, T value, Reach reach)
{
    return edit(fmt::format("dynamic header {} = {:#x} (checksum fixed)", what, static_cast<std::uint64_t>(value)),
                reach, file, [=](Bytes& bytes) {
                    const std::uint64_t header = dynamic_header(bytes);
                    put_be<T>(bytes, header + field, value);
                    fix_vhd_checksum(bytes, header, 1024, dyn_checksum);
                });
}

Mutation vhd_bat_entry(const std::string& file, std::uint32_t value, Reach reach)
{
    return edit(fmt::format("first allocated BAT entry = {:#x}", value), reach, file, [=](Bytes& bytes) {
        const std::uint64_t bat = get_be<std::uint64_t>(bytes, dynamic_header(bytes) + dyn_table_offset);
        for (std::uint64_t entry = bat;; entry += 4) {
            if (get_be<std::uint32_t>(bytes, entry) != 0xffffffff) {
                put_be<std::uint32_t>(bytes, entry, value);
                return;
            }
        }
    });
}

std::vector<Mutation> vhd_footer_mutations(const std::string& file, std::uint64_t size, std::uint64_t seed)
{
    return {
        truncate_to(0, Reach::header, file, "empty"),
        truncate_to(511, Reach::header, file, "one byte short of a footer"),
        truncate_to(size - 1, Reach::maybe, file, "the last byte of the footer cut"),
        edit("cookie bit flip in every footer", Reach::header, file,
             [](Bytes& bytes) {
                 flip_bit(bytes, bytes.size() - 512, 0);
                 flip_bit(bytes, 0, 0);
             }),
        vhd_lying_size(file, 1ULL << 63),
        vhd_lying_size(file, ~std::uint64_t{0} - 511),
        vhd_footer_field<std::uint32_t>(file, "disk type", vhd_disk_type, 99, Reach::header),
        edit("checksum bit flip in every footer", Reach::maybe, file,
             [](Bytes& bytes) {
                 flip_bit(bytes, bytes.size() - 512 + vhd_footer_checksum, 0);
                 flip_bit(bytes, vhd_footer_checksum, 0);
             }),
        random_flips(file, size - 512, size, 3, seed, Reach::maybe),
    };
}

std::vector<Mutation> vhd_dynamic_mutations(const std::string& file, std::uint64_t size, std::uint64_t seed)
{
    auto mutations = vhd_footer_mutations(file, size, seed);
    const std::vector<Mutation> more = {
        truncate_to(1000, Reach::header, file, "inside the dynamic header"),
        truncate_to(size / 2, Reach::maybe, file, "half"),
        vhd_footer_field<std::uint64_t>(file, "data offset", vhd_data_offset, 1ULL << 50, Reach::header),
        vhd_lying_size(file, 1ULL << 40),
        vhd_dynamic_field<std::uint64_t>(file, "table offset", dyn_table_offset, 1ULL << 50, Reach::header),
        // Only the entries the disk's size needs are read.
        vhd_dynamic_field<std::uint32_t>(file, "max table entries", dyn_max_entries, 0xffffffff, Reach::maybe),
        vhd_dynamic_field<std::uint32_t>(file, "max table entries", dyn_max_entries, 0, Reach::header),
        vhd_dynamic_field<std::uint32_t>(file, "block size", dyn_block_size, 0, Reach::header),
        vhd_dynamic_field<std::uint32_t>(file, "block size", dyn_block_size, 0x80000000, Reach::header),
        vhd_dynamic_field<std::uint32_t>(file, "block size", dyn_block_size, 1000, Reach::header),
        // A wrong dynamic header checksum is a warning (as in qemu): the fields are checked one by one.
        edit("dynamic header checksum bit flip", Reach::maybe, file,
             [](Bytes& bytes) { flip_bit(bytes, dynamic_header(bytes) + dyn_checksum, 2); }),
        vhd_bat_entry(file, 0xfffffff0, Reach::tables),
        vhd_bat_entry(file, 0, Reach::maybe),
        random_flips(file, 512, 1536, 4, seed + 1, Reach::maybe),
    };
    mutations.insert(mutations.end(), more.begin(), more.end());
    return mutations;
}

TEST_CASE("Mutated images: VHD dynamic and fixed (qemu-img)")
{
    {
        const TempDir dir;
        const Base base = qemu_base(dir, "vpc dynamic", "vpc", "subformat=dynamic", "disk.vhd");
        check_mutations(base, vhd_dynamic_mutations(base.source, fs::file_size(base.dir / base.source), 0x9401));
    }
    {
        const TempDir dir;
        const Base base = qemu_base(dir, "vpc fixed", "vpc", "subformat=fixed", "disk.vhd");
        const auto size = fs::file_size(base.dir / base.source);
        auto mutations = vhd_footer_mutations(base.source, size, 0x9402);
        mutations.push_back(vhd_lying_size(base.source, size));
        mutations.push_back(
            vhd_footer_field<std::uint32_t>(base.source, "disk type", vhd_disk_type, 3, Reach::header));
        check_mutations(base, mutations);
    }
}

TEST_CASE("Mutated images: VHD differencing pair")
{
    const TempDir dir;
    const vhd::DeltaPair pair = vhd::make_delta_pair({});
    fs::create_directory(dir / "base");
    write_whole_file(dir / "base" / "base.vhd", pair.base_file);
    write_whole_file(dir / "base" / "child.vhd", pair.delta_file);
    const Base base{"VHD differencing pair", dir / "base", "child.vhd", {"child.vhd", "base.vhd"}, false, true};
    const std::string child = "child.vhd";
    const auto first_locator = [](const Bytes& bytes) { return dynamic_header(bytes) + dyn_locators; };
    // imginfo describes the one file: whatever reads the disk through the parent must fail.
    std::vector<Mutation> mutations = {
        through_other_layer({"base.vhd removed", Reach::data, [](const fs::path& d) { fs::remove(d / "base.vhd"); }}),
        through_other_layer({"base.vhd replaced by a copy of child.vhd (a loop)", Reach::data,
         [](const fs::path& d) { fs::copy_file(d / "child.vhd", d / "base.vhd", fs::copy_options::overwrite_existing); }}),
        through_other_layer(truncate_to(pair.base_file.size() - 512, Reach::data, "base.vhd", "the parent's footer cut")),
        through_other_layer(vhd_lying_size("base.vhd", 1ULL << 62, Reach::data)),
        through_other_layer(edit("parent unique id bit flip (checksum fixed)", Reach::data, child,
             [](Bytes& bytes) {
                 flip_bit(bytes, dynamic_header(bytes) + 40, 0);
                 fix_vhd_checksum(bytes, dynamic_header(bytes), 1024, dyn_checksum);
             })),
        // The parent is then found by the header's parent name.
        edit("every parent locator's data offset = 2^50 (checksum fixed)", Reach::maybe, child,
             [=](Bytes& bytes) {
                 for (int i = 0; i < 8; ++i) {
                     put_be<std::uint64_t>(bytes, first_locator(bytes) + 24 * i + 16, 1ULL << 50);
                 }
                 fix_vhd_checksum(bytes, dynamic_header(bytes), 1024, dyn_checksum);
             }),
        edit("every parent locator's data length = 0xfffffff0 (checksum fixed)", Reach::maybe, child,
             [=](Bytes& bytes) {
                 for (int i = 0; i < 8; ++i) {
                     put_be<std::uint32_t>(bytes, first_locator(bytes) + 24 * i + 4, 0xfffffff0);
                     put_be<std::uint32_t>(bytes, first_locator(bytes) + 24 * i + 8, 0xfffffff0);
                 }
                 fix_vhd_checksum(bytes, dynamic_header(bytes), 1024, dyn_checksum);
             }),
    };
    auto child_mutations = vhd_dynamic_mutations(child, pair.delta_file.size(), 0x9501);
    mutations.insert(mutations.end(), child_mutations.begin(), child_mutations.end());
    check_mutations(base, mutations);
}

// ---- VHDX ------------------------------------------------------------------------------------
// VHDX specification 2.2 (headers, region table) and 2.6 (metadata), little-endian, CRC-32C.

void fix_crc32c(Bytes& bytes, std::uint64_t at, std::uint64_t length)
{
    put_le<std::uint32_t>(bytes, at + 4, 0);
    put_le<std::uint32_t>(bytes, at + 4, diskshift::crc32c(std::span(bytes).subspan(at, length)));
}

bool guid_at(const Bytes& bytes, std::uint64_t at, const vhdx::Guid& guid)
{
    return std::equal(guid.begin(), guid.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
}

/// The region table entry (in the first table) for `guid`.
std::uint64_t region_entry(const Bytes& bytes, const vhdx::Guid& guid)
{
    const std::uint64_t table = vhdx::region_table_offsets[0];
    for (std::uint32_t i = 0; i < get_le<std::uint32_t>(bytes, table + 8); ++i) {
        if (guid_at(bytes, table + 16 + 32 * i, guid)) {
            return table + 16 + 32 * i;
        }
    }
    FAIL("no region entry");
    return 0;
}

/// Edits both region tables the same way (`edit` gets the table's offset), CRCs fixed.
Mutation vhdx_region_tables(const std::string& file, const std::string& what, Reach reach,
                            std::function<void(Bytes&, std::uint64_t table, std::uint64_t bat_entry)> change)
{
    return edit(what + " in both region tables (CRC fixed)", reach, file, [=](Bytes& bytes) {
        const std::uint64_t bat_entry = region_entry(bytes, vhdx::bat_region_guid) - vhdx::region_table_offsets[0];
        for (const std::uint64_t table : vhdx::region_table_offsets) {
            change(bytes, table, table + bat_entry);
            fix_crc32c(bytes, table, vhdx::region_table_size);
        }
    });
}

std::uint64_t metadata_region(const Bytes& bytes)
{
    return get_le<std::uint64_t>(bytes, region_entry(bytes, vhdx::metadata_region_guid) + 16);
}

/// The offset of the metadata item `guid`.
std::uint64_t metadata_item(const Bytes& bytes, const vhdx::Guid& guid)
{
    const std::uint64_t region = metadata_region(bytes);
    for (std::uint32_t i = 0; i < get_le<std::uint16_t>(bytes, region + 10); ++i) {
        const std::uint64_t entry = region + 32 + 32 * i;
        if (guid_at(bytes, entry, guid)) {
            return region + get_le<std::uint32_t>(bytes, entry + 16);
        }
    }
    FAIL("no metadata item");
    return 0;
}

template <typename T>
Mutation vhdx_metadata(const std::string& file, const std::string& what, const vhdx::Guid& guid, T value, Reach reach)
{
    return edit(fmt::format("metadata {} = {:#x}", what, static_cast<std::uint64_t>(value)), reach, file,
                [=](Bytes& bytes) { put_le<T>(bytes, metadata_item(bytes, guid), value); });
}

/// Edits both headers (`change` gets the header's offset), CRCs fixed.
Mutation vhdx_headers(const std::string& file, const std::string& what, Reach reach,
                      std::function<void(Bytes&, std::uint64_t header)> change)
{
    return edit(what + " in both headers (CRC fixed)", reach, file, [=](Bytes& bytes) {
        for (const std::uint64_t header : vhdx::header_offsets) {
            change(bytes, header);
            fix_crc32c(bytes, header, vhdx::header_size);
        }
    });
}

Mutation vhdx_bat_entry(const std::string& file, std::uint64_t value, Reach reach)
{
    return edit(fmt::format("first present BAT entry = {:#x}", value), reach, file, [=](Bytes& bytes) {
        const std::uint64_t bat = get_le<std::uint64_t>(bytes, region_entry(bytes, vhdx::bat_region_guid) + 16);
        for (std::uint64_t entry = bat;; entry += 8) {
            if ((get_le<std::uint64_t>(bytes, entry) & 7) == 6) {
                put_le<std::uint64_t>(bytes, entry, value);
                return;
            }
        }
    });
}

TEST_CASE("Mutated images: VHDX dynamic (qemu-img)")
{
    const TempDir dir;
    const Base base = qemu_base(dir, "vhdx dynamic", "vhdx", "", "disk.vhdx");
    const std::string file = base.source;
    const auto size = fs::file_size(base.dir / file);
    const std::vector<Mutation> mutations = {
        truncate_to(0, Reach::header, file, "empty"),
        truncate_to(1000, Reach::header, file, "inside the file identifier"),
        truncate_to(100 * 1024, Reach::header, file, "inside the headers"),
        truncate_to(200 * 1024, Reach::header, file, "inside the region tables"),
        truncate_to(size / 2, Reach::maybe, file, "half"),
        truncate_to(size - 4096, Reach::maybe, file, "the last 4 KiB cut"),
        edit("file identifier bit flip", Reach::header, file, [](Bytes& b) { flip_bit(b, 2, 1); }),
        // With both checksums wrong, a copy whose fields are consistent is read, with a warning.
        edit("a byte of both headers (CRC wrong)", Reach::maybe, file,
             [](Bytes& b) {
                 flip_bit(b, vhdx::header_offsets[0] + 9, 0);
                 flip_bit(b, vhdx::header_offsets[1] + 9, 0);
             }),
        edit("a byte of the first header (CRC wrong)", Reach::maybe, file,
             [](Bytes& b) { flip_bit(b, vhdx::header_offsets[0] + 9, 0); }),
        vhdx_headers(file, "log GUID set, log length 2^31 at offset 2^50", Reach::header,
                     [](Bytes& b, std::uint64_t h) {
                         put_le<std::uint8_t>(b, h + 48, 1);
                         put_le<std::uint32_t>(b, h + 68, 0x80000000);
                         put_le<std::uint64_t>(b, h + 72, 1ULL << 50);
                     }),
        vhdx_headers(file, "log GUID set, log of 1 MiB at offset 0", Reach::header,
                     [](Bytes& b, std::uint64_t h) {
                         put_le<std::uint8_t>(b, h + 48, 1);
                         put_le<std::uint32_t>(b, h + 68, 1 << 20);
                         put_le<std::uint64_t>(b, h + 72, 0);
                     }),
        vhdx_region_tables(file, "entry count 0xffffffff", Reach::header,
                           [](Bytes& b, std::uint64_t t, std::uint64_t) { put_le<std::uint32_t>(b, t + 8, 0xffffffff); }),
        vhdx_region_tables(file, "BAT region length 0xfff00000", Reach::header,
                           [](Bytes& b, std::uint64_t, std::uint64_t e) { put_le<std::uint32_t>(b, e + 24, 0xfff00000); }),
        vhdx_region_tables(file, "BAT region at 2^50", Reach::header,
                           [](Bytes& b, std::uint64_t, std::uint64_t e) { put_le<std::uint64_t>(b, e + 16, 1ULL << 50); }),
        vhdx_region_tables(file, "BAT region at offset 0", Reach::header,
                           [](Bytes& b, std::uint64_t, std::uint64_t e) { put_le<std::uint64_t>(b, e + 16, 0); }),
        edit("both region tables' CRC bit flip", Reach::maybe, file,
             [](Bytes& b) {
                 flip_bit(b, vhdx::region_table_offsets[0] + 4, 0);
                 flip_bit(b, vhdx::region_table_offsets[1] + 4, 0);
             }),
        edit("metadata table entry count 0xffff", Reach::header, file,
             [](Bytes& b) { put_le<std::uint16_t>(b, metadata_region(b) + 10, 0xffff); }),
        edit("metadata table signature bit flip", Reach::header, file,
             [](Bytes& b) { flip_bit(b, metadata_region(b), 0); }),
        vhdx_metadata<std::uint32_t>(file, "block size", vhdx::file_parameters_guid, 0, Reach::header),
        vhdx_metadata<std::uint32_t>(file, "block size", vhdx::file_parameters_guid, 0x80000000, Reach::header),
        vhdx_metadata<std::uint32_t>(file, "block size", vhdx::file_parameters_guid, 3 << 20, Reach::header),
        vhdx_metadata<std::uint64_t>(file, "virtual disk size", vhdx::virtual_disk_size_guid, 1ULL << 63, Reach::header),
        vhdx_metadata<std::uint64_t>(file, "virtual disk size", vhdx::virtual_disk_size_guid, 1ULL << 45, Reach::header),
        vhdx_metadata<std::uint32_t>(file, "logical sector size", vhdx::logical_sector_size_guid, 0, Reach::header),
        vhdx_bat_entry(file, (1ULL << 60) | 6, Reach::tables),
        vhdx_bat_entry(file, 7, Reach::tables),
        random_flips(file, 0, 320 * 1024, 8, 0x9601, Reach::maybe),
    };
    check_mutations(base, mutations);
}

// ---- OVA -------------------------------------------------------------------------------------
// POSIX ustar headers (size at 124, 12 octal digits; checksum at 148).

constexpr std::uint64_t tar_size_field = 124;
constexpr std::uint64_t tar_checksum_field = 148;

void fix_tar_checksum(Bytes& bytes, std::uint64_t header)
{
    std::memset(bytes.data() + header + tar_checksum_field, ' ', 8);
    unsigned sum = 0;
    for (std::uint64_t i = header; i < header + 512; ++i) {
        sum += std::to_integer<unsigned>(bytes[i]);
    }
    const std::string field = fmt::format("{:06o}", sum);
    std::memcpy(bytes.data() + header + tar_checksum_field, field.data(), 6);
    bytes[header + tar_checksum_field + 6] = std::byte{0};
}

/// The offset of the header of the member whose name ends with `suffix`.
std::uint64_t tar_member(const Bytes& bytes, const std::string& suffix)
{
    for (std::uint64_t header = 0; header + 512 <= bytes.size();) {
        const std::string name(reinterpret_cast<const char*>(bytes.data() + header));
        if (name.empty()) {
            break;
        }
        if (name.ends_with(suffix)) {
            return header;
        }
        const std::string size(reinterpret_cast<const char*>(bytes.data() + header + tar_size_field), 11);
        header += 512 + (std::stoull(size, nullptr, 8) + 511) / 512 * 512;
    }
    FAIL("no tar member " << suffix);
    return 0;
}

Mutation tar_size(const std::string& file, const std::string& member, const std::string& octal, Reach reach)
{
    return edit(fmt::format("tar size of {} = {} (checksum fixed)", member, octal), reach, file, [=](Bytes& bytes) {
        const std::uint64_t header = tar_member(bytes, member);
        std::memcpy(bytes.data() + header + tar_size_field, octal.data(), 11);
        fix_tar_checksum(bytes, header);
    });
}

using Replacements = std::vector<std::pair<std::string, std::string>>;

/// The size a member's tar header gives.
std::uint64_t tar_member_size(const Bytes& bytes, std::uint64_t header)
{
    const std::string size(reinterpret_cast<const char*>(bytes.data() + header + tar_size_field), 11);
    return std::stoull(size, nullptr, 8);
}

/// Stores the SHA-256 of member `name` in the manifest's line for it.
void fix_member_digest(Bytes& bytes, const std::string& name)
{
    const std::uint64_t header = tar_member(bytes, name);
    const auto first = bytes.begin() + static_cast<std::ptrdiff_t>(header + 512);
    const std::string digest = diskshift::sha_hex(
        diskshift::ShaAlgorithm::sha256, Bytes(first, first + static_cast<std::ptrdiff_t>(tar_member_size(bytes, header))));
    const std::uint64_t at = find_text(bytes, name + ")= ", tar_member(bytes, ".mf")) + name.size() + 3;
    std::memcpy(bytes.data() + at, digest.data(), digest.size());
}

/// Rewrites the OVF (same length) and, when `fix_manifest`, its digest in the manifest.
Mutation ovf_edit(const std::string& file, const std::string& what, const Replacements& replacements,
                  bool fix_manifest, Reach reach = Reach::maybe);

Mutation ovf_edit(const std::string& file, const std::string& what, const std::string& from, const std::string& to,
                  bool fix_manifest, Reach reach = Reach::maybe)
{
    return ovf_edit(file, what, Replacements{{from, to}}, fix_manifest, reach);
}

Mutation ovf_edit(const std::string& file, const std::string& what, const Replacements& replacements,
                  bool fix_manifest, Reach reach)
{
    return edit(fmt::format("OVF: {}{}", what, fix_manifest ? " (manifest fixed)" : " (manifest not fixed)"),
                reach, file, [=](Bytes& bytes) {
                    const std::uint64_t header = tar_member(bytes, ".ovf");
                    const std::string size_text(reinterpret_cast<const char*>(bytes.data() + header + tar_size_field), 11);
                    const std::uint64_t size = std::stoull(size_text, nullptr, 8);
                    Bytes ovf(bytes.begin() + static_cast<std::ptrdiff_t>(header + 512),
                              bytes.begin() + static_cast<std::ptrdiff_t>(header + 512 + size));
                    const std::string old_digest = diskshift::sha_hex(diskshift::ShaAlgorithm::sha256, ovf);
                    for (const auto& [from, to] : replacements) {
                        replace_text_in_place(ovf, from, to);
                    }
                    std::copy(ovf.begin(), ovf.end(), bytes.begin() + static_cast<std::ptrdiff_t>(header + 512));
                    if (fix_manifest) {
                        const std::string digest = diskshift::sha_hex(diskshift::ShaAlgorithm::sha256, ovf);
                        const std::uint64_t at = find_text(bytes, old_digest, header + 512 + size);
                        std::memcpy(bytes.data() + at, digest.data(), digest.size());
                    }
                });
}

TEST_CASE("Mutated images: OVA (imgconv -O ova)")
{
    const TempDir dir;
    const Base base = our_base(dir, "OVA", "ova", "vm.ova");
    const std::string file = base.source;
    const auto size = fs::file_size(base.dir / file);
    const std::vector<Mutation> mutations = {
        truncate_to(0, Reach::header, file, "empty"),
        truncate_to(100, Reach::header, file, "inside the first tar header"),
        truncate_to(1024, Reach::header, file, "inside the OVF"),
        truncate_to(size - 2048, Reach::header, file, "the end of the disk member cut"),
        truncate_to(size - 1024, Reach::maybe, file, "the end-of-archive blocks cut"),
        edit("first tar header checksum bit flip", Reach::header, file, [](Bytes& b) { flip_bit(b, 150, 0); }),
        tar_size(file, ".ovf", "77777777777", Reach::header),
        tar_size(file, ".vmdk", "77777777777", Reach::header),
        tar_size(file, ".mf", "77777777777", Reach::header),
        tar_size(file, ".vmdk", "00000000001", Reach::header),
        // ovf:capacity and ovf:size are advisory: the disk file's own size counts, with a warning.
        ovf_edit(file, "capacity 2^64-1", "ovf:capacity=\"4194304\"", "ovf:capacity=\"18446744073709551615\"", true),
        ovf_edit(file, "capacity 2^40", "ovf:capacity=\"4194304\"", "ovf:capacity=\"1099511627776\"", true),
        ovf_edit(file, "capacity 1 byte", "ovf:capacity=\"4194304\"", "ovf:capacity=\"1\"", true),
        through_other_layer(ovf_edit(file, "the disk is its own parent", "ovf:diskId=\"vmdisk1\"",
                 "ovf:diskId=\"vmdisk1\" ovf:parentRef=\"vmdisk1\"", true, Reach::header)),
        ovf_edit(file, "the disk file size lies (2^60 more)", "ovf:size=\"", "ovf:size=\"1152921504606846976", true),
        ovf_edit(file, "not well-formed", "</DiskSection>", "</DiskSectiom>", true, Reach::header),
        ovf_edit(file, "the disk refers to a file that is not there", "ovf:fileRef=\"file1\"", "ovf:fileRef=\"file9\"",
                 true, Reach::header),
        ovf_edit(file, "capacity 1 byte", "ovf:capacity=\"4194304\"", "ovf:capacity=\"1\"", false, Reach::header),
        // Another hex digit: a non-hex one makes the line unreadable, which is only a warning.
        edit("manifest: the disk's digest changed in its first digit", Reach::data, file,
             [](Bytes& b) {
                 auto& digit = b[find_text(b, ".vmdk)= ", tar_member(b, ".mf") + 512) + 8];
                 digit = digit == std::byte{'0'} ? std::byte{'1'} : std::byte{'0'};
             }),
        // A digest that is no longer hex (or one digit short) damages the line that verifies the disk.
        edit("manifest: the disk's digest gets a non-hex digit", Reach::header, file,
             [](Bytes& b) { b[find_text(b, ".vmdk)= ", tar_member(b, ".mf") + 512) + 8] = std::byte{'g'}; }),
        edit("manifest: the disk's digest loses its last digit", Reach::header, file,
             [](Bytes& b) { b[find_text(b, "\n", find_text(b, ".vmdk)= ", tar_member(b, ".mf") + 512)) - 1] = std::byte{' '}; }),
        edit("disk member: VMDK capacity 2^63", Reach::header, file,
             [](Bytes& b) { put_le<std::uint64_t>(b, tar_member(b, ".vmdk") + 512 + vmdk_capacity, 1ULL << 63); }),
        random_flips(file, 0, 512, 4, 0x9701, Reach::maybe),
        random_flips(file, 0, size, 16, 0x9702, Reach::maybe),
    };
    check_mutations(base, mutations);
}

}  // namespace

namespace {

/// The text after `key` up to the end of its line (qemu writes CIDs without leading zeros).
std::string descriptor_value(const Bytes& bytes, const std::string& key)
{
    const std::uint64_t at = find_text(bytes, key) + key.size();
    const std::string text = as_text(bytes);
    return text.substr(at, text.find('\n', at) - at);
}

/// The CID an embedded VMDK descriptor gives.
std::string vmdk_cid(const fs::path& file)
{
    const Bytes bytes = read_whole_file(file);
    return descriptor_value(bytes, "\nCID=");
}

/// qemu-img deltas over one base, relinked so that each names the next as its parent (with the
/// next one's CID): `names` = {a, b, c} gives a→b→c→a, {a} gives a→a.
void make_vmdk_parent_loop(const fs::path& dir, const std::vector<std::string>& names)
{
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", (dir / "base.vmdk").string(), "1M"});
    for (const std::string& name : names) {
        run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", (dir / name).string()});
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string& next = names[(i + 1) % names.size()];
        const std::string cid = vmdk_cid(dir / next);
        edit_file(dir / names[i], [&](Bytes& bytes) {
            replace_text_in_place(bytes, "parentCID=" + descriptor_value(bytes, "parentCID="), "parentCID=" + cid);
            replace_text_in_place(bytes, "parentFileNameHint=\"base.vmdk\"", "parentFileNameHint=\"" + next + "\"");
        });
    }
}

}  // namespace

TEST_CASE("Mutated images: OVA with two disks (a parentRef loop; --all-disks failing on the second disk)")
{
    const TempDir dir;
    const TempDir scratch;
    const fs::path raw = make_raw(scratch.path());
    fs::copy_file(raw, scratch / "second.raw");
    fs::create_directory(dir / "base");
    run_checked({tool_path("imgconv").string(), "-f", "raw", "-O", "ova", raw.string(), (scratch / "second.raw").string(),
                 (dir / "base" / "vm.ova").string()});
    const Base base{"OVA with two disks", dir / "base", "vm.ova", {"vm.ova"}, false, false, true};
    const Replacements loop = {{"ovf:diskId=\"vmdisk1\"", "ovf:diskId=\"vmdisk1\" ovf:parentRef=\"vmdisk2\""},
                               {"ovf:diskId=\"vmdisk2\"", "ovf:diskId=\"vmdisk2\" ovf:parentRef=\"vmdisk1\""}};
    check_mutations(base, {through_other_layer(
        ovf_edit("vm.ova", "vmdisk1 and vmdisk2 name each other as parent", loop, true, Reach::header))});
    // --all-disks writes the first disk, then fails on the second: neither stays.
    const Mutation damaged_second = edit("second disk: its first grain's deflate data damaged (manifest fixed)",
                                         Reach::data, "vm.ova", [](Bytes& b) {
                                             const std::uint64_t member = tar_member(b, "second.vmdk") + 512;
                                             const std::uint64_t grain =
                                                 member + get_le<std::uint64_t>(b, member + 64) * 512;
                                             std::fill_n(b.begin() + static_cast<std::ptrdiff_t>(grain + 14), 50,
                                                         std::byte{0xff});
                                             fix_member_digest(b, "second.vmdk");
                                         });
    check_mutation(base, damaged_second, "imgconv --all-disks");
}

TEST_CASE("Parent loops: VMDK a→b→c→a and a→a are refused at once, naming the loop")
{
    for (const std::vector<std::string>& names : {std::vector<std::string>{"a.vmdk", "b.vmdk", "c.vmdk"},
                                                  std::vector<std::string>{"a.vmdk"}}) {
        const TempDir dir;
        make_vmdk_parent_loop(dir.path(), names);
        for (const auto& args : {std::vector<std::string>{"imgmerge", (dir / "a.vmdk").string(), "-o", (dir / "out.raw").string()},
                                 std::vector<std::string>{"imginfo", "--chain", (dir / "a.vmdk").string()}}) {
            const ProcessResult run = run_tool(args[0], {args.begin() + 1, args.end()});
            INFO(names.size(), " deltas: ", fmt::format("{}", fmt::join(args, " ")), " -> ", run.describe());
            CHECK(run.exit_code() == 1);
            CHECK(contains(run.err, "loop"));
            CHECK(contains(run.err, "a.vmdk"));
            CHECK(run.seconds < max_seconds);
            CHECK_FALSE(fs::exists(dir / "out.raw"));
        }
    }
}

TEST_CASE("Mutated images: an OVA whose disk is itself an OVA is refused by every tool")
{
    const TempDir dir;
    const Base inner = our_base(dir, "inner OVA", "ova", "vm.ova");
    // The package's own descriptor, naming the inner package in place of its disk.
    const TempDir work;
    run_program("tar", {"-xf", (inner.dir / "vm.ova").string(), "-C", work.path().string(), "vm.ovf"});
    std::string ovf = read_text_file(work / "vm.ovf");
    const auto href = ovf.find("ovf:href=\"");
    REQUIRE(href != std::string::npos);
    const auto end = ovf.find('"', href + 10);
    ovf.replace(href, end - href + 1, "ovf:href=\"inner.ova\"");
    const auto size = ovf.find("ovf:size=\"", href);
    ovf.replace(size, ovf.find('"', size + 10) - size + 1,
                fmt::format("ovf:size=\"{}\"", fs::file_size(inner.dir / "vm.ova")));
    write_text_file(work / "vm.ovf", ovf);
    fs::copy_file(inner.dir / "vm.ova", work / "inner.ova");
    fs::create_directory(dir / "nested");
    pack_ova(work.path(), {"vm.ovf", "inner.ova"}, "ustar", dir / "nested" / "outer.ova");
    const Base base{"nested OVA", dir / "nested", "outer.ova", {"outer.ova"}, false, false, true};
    check_mutations(base, {through_other_layer({"none: the package as built", Reach::header, [](const fs::path&) {}})});
}
