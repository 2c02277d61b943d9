// Delta chains through the tools: imgmerge materialises VMDK chains made by qemu-img/qemu-io (a
// stream-optimized or sparse base, sparse deltas, zero writes over base data, a grown and a shrunk
// delta) to exactly what `qemu-img convert` of the same layer gives, at every point; VHD and VHDX
// differencing chains (which qemu cannot make) are built here and checked against the base's qemu
// conversion with the deltas' sectors laid over it. A wrong or missing parent exits 1 and writes
// nothing; imginfo --chain shows every layer and its link.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include <diskshift/format.hpp>

#include "core/endian.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vhd_builder.hpp"
#include "support/vhdx_differencing.hpp"
#include "support/vhdx_log_writer.hpp"

using namespace dstest;

namespace {

std::string text_of(std::uint64_t n) { return std::to_string(n); }

/// Runs imgmerge; the caller checks the result.
ProcessResult imgmerge(const std::vector<std::string>& args)
{
    return run_tool("imgmerge", args);
}

/// Runs imgmerge and requires success.
void merge_ok(const std::vector<std::string>& args)
{
    const ProcessResult run = imgmerge(args);
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
}

std::filesystem::path qemu_raw(const TempDir& dir, const std::filesystem::path& image, const std::string& format)
{
    const std::filesystem::path out = dir / (image.filename().string() + ".qemu.raw");
    run_program("qemu-img", {"convert", "-f", format, "-O", "raw", image.string(), out.string()});
    return out;
}

/// The value of `key=` in a VMDK descriptor embedded in (or forming) `file`.
std::string descriptor_value(const std::filesystem::path& file, const std::string& key)
{
    const std::string text = read_text_file(file);
    const std::size_t at = text.find("\n" + key + "=");
    REQUIRE(at != std::string::npos);
    const std::size_t from = at + key.size() + 2;
    return text.substr(from, text.find('\n', from) - from);
}

/// A CID or parentCID of a descriptor as eight hex digits: qemu pads a CID it creates, but not one
/// it rewrites after a write (vmdk_write_cid), and readers report all eight digits.
std::string descriptor_cid(const std::filesystem::path& file, const std::string& key)
{
    return fmt::format("{:08x}", std::stoul(descriptor_value(file, key), nullptr, 16));
}

/// The writes delta `i` of the VMDK chain gets: its own data, zeros over base data (a zeroed grain
/// when the delta has zeroed_grain=on, zero bytes otherwise), and data in the range delta 3 grew.
std::vector<std::string> delta_writes(int i, const std::filesystem::path& random)
{
    std::vector<std::string> args = {
        "-c", "write -q -P " + text_of(0x10 + i) + " " + text_of(i * 2 * MiB + 300 * KiB) + " 300k",
        "-c", "write -q -z " + text_of(i * 2 * MiB - 128 * KiB) + " 192k",
        "-c", "write -q -s " + random.string() + " " + text_of(i * MiB + 4 * KiB) + " 64k",
    };
    if (i >= 3) {
        args.insert(args.end(), {"-c", "write -q -P " + text_of(0x40 + i) + " " + text_of(17 * MiB + i * 8 * KiB) + " 8k"});
    }
    return args;
}

/// A 5-delta VMDK chain in `dir`: base.vmdk (sparse, or stream-optimized when `stream_base`) with
/// data in [0, 12 MiB) of 16 MiB, then d1…d5 made by `qemu-img create -b` with relative backing
/// names. d3 grows the disk to 20 MiB, d5 shrinks it to 18 MiB; d1, d3, d5 use zeroed grains.
std::vector<std::filesystem::path> make_vmdk_chain(const TempDir& dir, bool stream_base)
{
    const std::filesystem::path random = dir / "random.bin";
    write_whole_file(random, random_bytes(4 * MiB, 77));
    const std::filesystem::path sparse = dir / (stream_base ? "base-sparse.vmdk" : "base.vmdk");
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", sparse.string(), "16M"});
    run_program("qemu-io", {"-f", "vmdk", "-c", "write -q -s " + random.string() + " 0 4M", "-c",
                            "write -q -s " + random.string() + " 4M 4M", "-c",
                            "write -q -s " + random.string() + " 8M 4M", sparse.string()});
    std::vector<std::filesystem::path> chain = {dir / "base.vmdk"};
    if (stream_base) {
        run_program("qemu-img", {"convert", "-f", "vmdk", "-O", "vmdk", "-o", "subformat=streamOptimized",
                                 sparse.string(), chain[0].string()});
    }
    for (int i = 1; i <= 5; ++i) {
        const std::filesystem::path delta = dir / ("d" + text_of(i) + ".vmdk");
        std::vector<std::string> create = {"create", "-q", "-f", "vmdk", "-b", chain.back().filename().string(),
                                           "-F", "vmdk"};
        if (i % 2 == 1) {
            create.insert(create.end(), {"-o", "zeroed_grain=on"});
        }
        create.push_back(delta.string());
        if (i == 3 || i == 5) {
            create.push_back(i == 3 ? "20M" : "18M");
        }
        run_program("qemu-img", create);
        std::vector<std::string> io = {"-f", "vmdk"};
        const auto writes = delta_writes(i, random);
        io.insert(io.end(), writes.begin(), writes.end());
        io.push_back(delta.string());
        run_program("qemu-io", io);
        chain.push_back(delta);
    }
    return chain;
}

/// Every point of `chain` (base first), by its top (hints) and given explicitly, equals qemu-img's
/// conversion of that layer.
void check_every_point(const TempDir& dir, const std::vector<std::filesystem::path>& chain)
{
    for (std::size_t k = 0; k < chain.size(); ++k) {
        INFO("point ", k, " (", chain[k].filename().string(), ")");
        const std::filesystem::path expected = qemu_raw(dir, chain[k], "vmdk");
        const std::filesystem::path by_top = dir / "by-top.raw";
        merge_ok({"-O", "raw", "-o", by_top.string(), chain[k].string()});
        CHECK(file_difference(expected, by_top) == "");
        std::vector<std::string> args = {"-o", by_top.string(), "--chain"};
        for (std::size_t i = 0; i <= k; ++i) {
            args.push_back(chain[i].string());
        }
        std::filesystem::remove(by_top);
        merge_ok(args);
        CHECK(file_difference(expected, by_top) == "");
        std::filesystem::remove(by_top);
        std::filesystem::remove(expected);
    }
}


/// A differencing VHD's block: the sectors in [first, first + count) present, holding `data`.
vhd::Block vhd_block(std::uint64_t first, std::uint64_t count, std::vector<std::byte> data)
{
    vhd::Block block;
    block.bitmap.resize(512);
    for (std::uint64_t s = first; s < first + count; ++s) {
        block.bitmap[s / 8] |= static_cast<std::byte>(0x80 >> (s % 8));  // MSB first (VHD spec)
    }
    block.data = std::move(data);
    return block;
}

/// Lays a differencing VHD's present sectors over `disk`, as the VHD spec reads a child.
void apply_vhd_delta(std::vector<std::byte>& disk, const vhd::SparseVhd& delta)
{
    for (const auto& [index, block] : delta.blocks) {
        for (std::uint64_t s = 0; s < delta.block_size / 512; ++s) {
            const bool present = block.bitmap.empty() || (block.bitmap[s / 8] & static_cast<std::byte>(0x80 >> (s % 8))) != std::byte{0};
            if (!present) {
                continue;
            }
            const std::uint64_t at = std::uint64_t{index} * delta.block_size + s * 512;
            for (std::uint64_t i = 0; i < 512; ++i) {
                disk[at + i] = s * 512 + i < block.data.size() ? block.data[s * 512 + i] : std::byte{0};
            }
        }
    }
}

/// A differencing VHD over the parent whose footer unique id is `parent_id`, found as ".\\<parent_name>".
vhd::SparseVhd vhd_delta(std::uint8_t id_byte, const std::array<std::byte, 16>& parent_id, const std::string& parent_name,
                         std::uint64_t size)
{
    vhd::SparseVhd delta;
    delta.footer.disk_type = 4;
    delta.footer.current_size = size;
    delta.footer.unique_id.fill(std::byte{id_byte});
    delta.block_size = 2 * MiB;
    delta.parent_id = parent_id;
    const std::u16string relative = u".\\" + std::u16string(parent_name.begin(), parent_name.end());
    delta.parent_name = std::u16string(parent_name.begin(), parent_name.end());
    delta.locators = {{"W2ru", vhd::utf16(relative, false)}};
    return delta;
}

/// A UUID as 8-4-4-4-12 lowercase hex digits, bytes in file order.
std::string uuid_text(const std::array<std::byte, 16>& id)
{
    std::string out;
    for (std::size_t i = 0; i < id.size(); ++i) {
        out += (i == 4 || i == 6 || i == 8 || i == 10) ? "-" : "";
        static constexpr char digits[] = "0123456789abcdef";
        out += digits[static_cast<unsigned>(id[i]) >> 4];
        out += digits[static_cast<unsigned>(id[i]) & 15];
    }
    return out;
}

std::vector<std::byte> bytes_of(std::uint64_t length, std::uint8_t value)
{
    return std::vector<std::byte>(length, std::byte{value});
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("imgmerge: VMDK chains of 1 to 5 deltas over a stream-optimized or sparse base equal qemu-img's reading")
{
    for (const bool stream_base : {true, false}) {
        INFO("stream-optimized base: ", stream_base);
        const TempDir dir;
        const auto chain = make_vmdk_chain(dir, stream_base);
        check_every_point(dir, chain);
        // Any output format: the top as a sparse VMDK, compared by qemu-img itself.
        const std::filesystem::path out = dir / "merged.vmdk";
        merge_ok({"-O", "vmdk", "-o", "subformat=monolithicSparse", "-o", out.string(), chain.back().string()});
        run_program("qemu-img", {"compare", "-q", "-f", "vmdk", "-F", "vmdk", chain.back().string(), out.string()});
        CHECK(read_text_file(out).find("parentCID=ffffffff") != std::string::npos);
    }
}

TEST_CASE("imginfo --chain: every layer with its identity, verified link and allocation, top first")
{
    const TempDir dir;
    const auto chain = make_vmdk_chain(dir, false);
    const ProcessResult run = run_tool("imginfo", {"--chain", "--json", chain.back().string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    const nlohmann::json described = nlohmann::json::parse(run.out);
    CHECK(described["complete"] == true);
    const auto& layers = described["layers"];
    REQUIRE(layers.size() == chain.size());
    for (std::size_t i = 0; i < chain.size(); ++i) {
        const std::filesystem::path& file = chain[chain.size() - 1 - i];
        INFO("layer ", i, ": ", file.string());
        const auto& layer = layers[i];
        CHECK(layer["filename"] == file.string());
        CHECK(layer["id"] == descriptor_cid(file, "CID"));
        const bool is_base = i + 1 == chain.size();
        CHECK(layer["link"]["status"] == (is_base ? "base" : "verified"));
        if (!is_base) {
            CHECK(layer["parent"]["id"] == descriptor_cid(file, "parentCID"));
            CHECK(layer["parent"]["hint"] == chain[chain.size() - 2 - i].filename().string());
        }
        const auto& a = layer["allocation"];
        CHECK(a["data"].get<std::uint64_t>() + a["zero"].get<std::uint64_t>() + a["unallocated"].get<std::uint64_t>() ==
              layer["virtual_size"].get<std::uint64_t>());
    }
    CHECK(layers.back()["allocation"]["data"] == 12 * MiB);
    CHECK(layers[0]["virtual_size"] == 18 * MiB);
    // d5 has zeroed grains: 192 KiB (three 64 KiB grains) of zero.
    CHECK(layers[0]["allocation"]["zero"] == 192 * KiB);

    const ProcessResult text = run_tool("imginfo", {"--chain", chain.back().string()});
    REQUIRE(text.exit_code() == 0);
    CHECK(contains(text.out, "layer 0 (top): " + chain.back().string()));
    CHECK(contains(text.out, "link: verified (parentCID " + descriptor_cid(chain[1], "parentCID")));
    CHECK(contains(text.out, "chain: complete, 6 layers"));
}

TEST_CASE("imgmerge: refuses a destination that is a layer, and a first --chain file that is a delta")
{
    const TempDir dir;
    const std::filesystem::path base = dir / "base.vmdk";
    const std::filesystem::path delta = dir / "delta.vmdk";
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", base.string(), "1M"});
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", delta.string()});
    const std::vector<std::byte> before = read_whole_file(base);
    const ProcessResult onto_base = imgmerge({"-O", "vmdk", "-o", base.string(), delta.string()});
    CHECK(onto_base.exit_code() == 1);
    CHECK(contains(onto_base.err, "never modifies its input"));
    CHECK(read_whole_file(base) == before);
    const ProcessResult delta_first = imgmerge({"-o", (dir / "out.raw").string(), "--chain", delta.string()});
    CHECK(delta_first.exit_code() == 1);
    CHECK(contains(delta_first.err, "not a base"));
}

TEST_CASE("imgmerge: a VMDK delta over a parent with another CID, or with no parent file, exits 1 and writes nothing")
{
    const TempDir dir;
    const std::filesystem::path random = dir / "random.bin";
    write_whole_file(random, random_bytes(MiB, 5));
    const std::filesystem::path base = dir / "base.vmdk";
    const std::filesystem::path other = dir / "other.vmdk";
    const std::filesystem::path small = dir / "small.vmdk";
    const std::filesystem::path delta = dir / "delta.vmdk";
    const std::filesystem::path out = dir / "out.raw";
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", base.string(), "4M"});
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", other.string(), "4M"});
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", small.string(), "2M"});
    run_program("qemu-io", {"-f", "vmdk", "-c", "write -q -s " + random.string() + " 0 1M", base.string()});
    run_program("qemu-io", {"-f", "vmdk", "-c", "write -q -P 7 0 1M", other.string()});
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", delta.string()});
    run_program("qemu-io", {"-f", "vmdk", "-c", "write -q -P 9 512k 4k", delta.string()});
    const std::string parent_cid = descriptor_cid(delta, "parentCID");
    REQUIRE(parent_cid == descriptor_cid(base, "CID"));
    merge_ok({"-o", out.string(), delta.string()});
    std::filesystem::remove(out);

    // The base replaced by another disk: its CID differs.
    std::filesystem::copy_file(base, dir / "base.orig");
    std::filesystem::copy_file(other, base, std::filesystem::copy_options::overwrite_existing);
    const std::string other_cid = descriptor_cid(other, "CID");
    REQUIRE(other_cid != parent_cid);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"-o", out.string(), delta.string()},
          std::vector<std::string>{"-o", out.string(), "--chain", other.string(), delta.string()}}) {
        const ProcessResult run = imgmerge(args);
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, "chain_mismatch"));
        CHECK(contains(run.err, delta.string()));
        CHECK(contains(run.err, "parentCID " + parent_cid));
        CHECK(contains(run.err, "CID " + other_cid));
        CHECK(contains(run.err, args.size() == 3 ? base.string() : other.string()));
        CHECK_FALSE(std::filesystem::exists(out));
    }
    CHECK(dir.sink_temporaries().empty());

    // Dangerous on purpose: without the identity check a parent of the same size is taken...
    merge_ok({"--unsafe-skip-identity", "-o", out.string(), "--chain", other.string(), delta.string()});
    std::filesystem::remove(out);
    // ...but sizes are still checked.
    const ProcessResult wrong_size =
        imgmerge({"--unsafe-skip-identity", "-o", out.string(), "--chain", small.string(), delta.string()});
    CHECK(wrong_size.exit_code() == 1);
    CHECK(contains(wrong_size.err, "chain_mismatch"));
    CHECK_FALSE(std::filesystem::exists(out));

    // No parent file at all: the message names the hint it looked for.
    std::filesystem::remove(base);
    const ProcessResult missing = imgmerge({"-o", out.string(), delta.string()});
    INFO(missing.describe());
    CHECK(missing.exit_code() == 1);
    CHECK(contains(missing.err, "\"base.vmdk\""));
    CHECK(contains(missing.err, "not found"));
    CHECK_FALSE(std::filesystem::exists(out));

    // imginfo --chain reports the broken link, and exits 1.
    std::filesystem::copy_file(other, base);
    const ProcessResult info = run_tool("imginfo", {"--chain", "--json", delta.string()});
    CHECK(info.exit_code() == 1);
    const nlohmann::json described = nlohmann::json::parse(info.out);
    CHECK(described["complete"] == false);
    CHECK(described["layers"][0]["link"]["status"] == "mismatch");
}

TEST_CASE("imgmerge: VHD differencing chains (built here; qemu cannot) read as the base with each delta's sectors laid over it")
{
    const TempDir dir;
    const std::filesystem::path random = dir / "random.bin";
    write_whole_file(random, random_bytes(2 * MiB, 12));
    const std::filesystem::path base = dir / "base.vhd";
    const std::uint64_t size = 8 * MiB;
    run_program("qemu-img", {"create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", base.string(), "8M"});
    run_program("qemu-io", {"-f", "vpc", "-c", "write -q -s " + random.string() + " 0 2M", "-c",
                            "write -q -s " + random.string() + " 2M 2M", "-c", "write -q -P 3 4M 2M", base.string()});
    const std::vector<std::byte> base_file = read_whole_file(base);
    std::array<std::byte, 16> base_id{};
    std::copy_n(base_file.end() - 512 + 68, 16, base_id.begin());  // footer "Unique Id" (VHD spec)

    vhd::SparseVhd d1 = vhd_delta(0xd1, base_id, "base.vhd", size);
    d1.blocks[0] = vhd_block(0, 8, random_bytes(2 * MiB, 31));
    d1.blocks[0].bitmap[100 / 8] = std::byte{0xFF};              // and sectors 96-103
    d1.blocks[1] = {{}, {}};                                     // every sector present, all zeros
    d1.blocks[3] = vhd_block(0, 16, bytes_of(8 * KiB, 0x5d));
    vhd::SparseVhd d2 = vhd_delta(0xd2, d1.footer.unique_id, "d1.vhd", size);
    d2.blocks[0] = vhd_block(50, 100, bytes_of(2 * MiB, 0));     // zeros over the base and d1
    d2.blocks[2] = vhd_block(0, 4096, random_bytes(2 * MiB, 32));
    d2.parent_timestamp = 12345;                                 // not d1's time: a warning only
    write_whole_file(dir / "d1.vhd", d1.build());
    write_whole_file(dir / "d2.vhd", d2.build());

    std::vector<std::byte> expected = read_whole_file(qemu_raw(dir, base, "vpc"));
    REQUIRE(expected.size() == size);
    const std::filesystem::path out = dir / "out.raw";
    const std::vector<const vhd::SparseVhd*> deltas = {&d1, &d2};
    for (std::size_t k = 0; k < deltas.size(); ++k) {
        INFO("delta ", k + 1);
        apply_vhd_delta(expected, *deltas[k]);
        const std::filesystem::path top = dir / ("d" + text_of(k + 1) + ".vhd");
        const ProcessResult run = imgmerge({"-o", out.string(), top.string()});
        INFO(run.describe());
        REQUIRE(run.exit_code() == 0);
        CHECK(read_whole_file(out) == expected);
        CHECK(contains(run.err, "warning") == (k == 1));
        CHECK(contains(run.err, "parent time stamp") == (k == 1));
        std::filesystem::remove(out);
    }

    // d2 over the base directly: its parent unique id is d1's, not the base's.
    const ProcessResult wrong = imgmerge({"-o", out.string(), "--chain", base.string(), (dir / "d2.vhd").string()});
    CHECK(wrong.exit_code() == 1);
    CHECK(contains(wrong.err, "chain_mismatch"));
    CHECK(contains(wrong.err, "parent unique id d1d1d1d1-d1d1-d1d1-d1d1-d1d1d1d1d1d1"));  // what d2 records
    CHECK(contains(wrong.err, "footer unique id " + uuid_text(base_id)));                    // what the base has
    CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("imgmerge: VHDX differencing chains (made from qemu images) honour present, zero and not-present blocks")
{
    const TempDir dir;
    const std::filesystem::path random = dir / "random.bin";
    write_whole_file(random, random_bytes(2 * MiB, 13));
    const std::filesystem::path base = dir / "base.vhdx";
    const std::filesystem::path child = dir / "child.vhdx";
    const std::string create_options = "subformat=dynamic,block_size=1048576";
    run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o", create_options, base.string(), "8M"});
    // qemu marks never-written blocks ZERO unless told not to; a delta needs them NOT_PRESENT.
    run_program("qemu-img", {"create", "-q", "-f", "vhdx", "-o", create_options + ",block_state_zero=off",
                             child.string(), "8M"});
    run_program("qemu-io", {"-f", "vhdx", "-c", "write -q -s " + random.string() + " 0 2M", "-c",
                            "write -q -s " + random.string() + " 2M 2M", "-c", "write -q -P 4 4M 3M", base.string()});
    // Blocks 1 and 2 get data (each only partly written: the rest of a present block is the
    // child's zeros), block 4 zero bytes; blocks 5 and 6 are made ZERO and UNMAPPED below; 0, 3 and
    // 7 stay NOT_PRESENT.
    run_program("qemu-io", {"-f", "vhdx", "-c", "write -q -P 9 1536k 700k", "-c", "write -q -P 0 4M 1M", child.string()});
    const std::vector<std::byte> child_raw = read_whole_file(qemu_raw(dir, child, "vhdx"));
    std::vector<std::byte> expected = read_whole_file(qemu_raw(dir, base, "vhdx"));
    for (const std::uint64_t block : {1, 2, 4, 5, 6}) {
        const auto at = static_cast<std::ptrdiff_t>(block * MiB);
        std::copy(child_raw.begin() + at, child_raw.begin() + at + static_cast<std::ptrdiff_t>(MiB), expected.begin() + at);
    }

    const std::string base_id = diskshift::open_image(base)->info().id;
    make_differencing(child, {{"parent_linkage", "{" + base_id + "}"}, {"relative_path", ".\\base.vhdx"}});
    const std::uint64_t bat = read_vhdx_regions(child).bat_offset;
    patch_le64(child, bat + 8 * 5, 2);  // PAYLOAD_BLOCK_ZERO over base data (MS-VHDX 2.5.1.1)
    patch_le64(child, bat + 8 * 6, 3);  // PAYLOAD_BLOCK_UNMAPPED over base data

    const std::filesystem::path out = dir / "out.raw";
    merge_ok({"-o", out.string(), child.string()});
    write_whole_file(dir / "expected.raw", expected);
    CHECK(file_difference(dir / "expected.raw", out) == "");

    std::filesystem::remove(out);

    // Another parent (a fresh DataWriteGuid) with the same contents is refused.
    std::filesystem::rename(base, dir / "base.orig");
    run_program("qemu-img", {"convert", "-f", "vhdx", "-O", "vhdx", "-o", create_options,
                             (dir / "base.orig").string(), base.string()});
    const ProcessResult wrong = imgmerge({"-o", out.string(), child.string()});
    CHECK(wrong.exit_code() == 1);
    CHECK(contains(wrong.err, "chain_mismatch"));
    CHECK(contains(wrong.err, "parent_linkage " + base_id));
    CHECK(contains(wrong.err, "DataWriteGuid " + diskshift::open_image(base)->info().id));
    CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("imgmerge: parent hints that loop back fail at once")
{
    const TempDir dir;
    const std::filesystem::path a = dir / "a.vmdk";
    const std::filesystem::path b = dir / "b.vmdk";
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", b.string(), "1M"});
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-b", "b.vmdk", "-F", "vmdk", a.string()});
    // b's embedded descriptor now names a as its parent, with a's CID: a loop a -> b -> a.
    std::vector<std::byte> file = read_whole_file(b);
    std::string text(reinterpret_cast<const char*>(file.data()), file.size());
    const std::string old_line = "parentCID=ffffffff\n";
    const std::string new_lines = "parentCID=" + descriptor_cid(a, "CID") + "\nparentFileNameHint=\"a.vmdk\"\n";
    const std::size_t at = text.find(old_line);
    REQUIRE(at != std::string::npos);
    const std::size_t end = text.find('\0', at);  // the descriptor's padding starts here
    text.erase(end, new_lines.size() - old_line.size());
    text.replace(at, old_line.size(), new_lines);
    REQUIRE(text.size() == file.size());
    write_text_file(b, text);
    REQUIRE(descriptor_value(b, "parentFileNameHint") == "\"a.vmdk\"");

    const ProcessResult run = imgmerge({"-o", (dir / "out.raw").string(), a.string()});
    INFO(run.describe());
    CHECK(run.exit_code() == 1);
    CHECK(contains(run.err, "parent hints loop back to"));
    CHECK(run.seconds < 10);
}

TEST_CASE("imgmerge: bad usage exits 2")
{
    CHECK(imgmerge({"top.vmdk"}).exit_code() == 2);                               // no DST
    CHECK(imgmerge({"-o", "a.raw", "-o", "b.raw", "top.vmdk"}).exit_code() == 2);  // two DSTs
    CHECK(imgmerge({"-o", "a.raw", "base.vmdk", "top.vmdk"}).exit_code() == 2);    // two tops without --chain
}

}  // TEST_SUITE
