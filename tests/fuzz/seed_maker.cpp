// Seed maker for the fuzz targets, for what qemu-img cannot write:
//   fuzz_seed vhdx [--pending-log] IN.vhdx OUT   the folded form (vhdx_fold.hpp) of a VHDX file,
//       after giving it a pending log (MS-VHDX 2.3) with --pending-log. The log's one entry
//       rewrites the first BAT page with its own bytes and zeroes the file's last 4 KiB, so the
//       replayed image reads as before.
//   fuzz_seed esx OUTDIR   ESXi sparse VMDKs: seSparse and vmfsSparse (COWD) descriptors each
//       followed by their extent (the fuzz harness serves the bytes after the descriptor's NUL
//       padding as the extent), and a bare COWD extent.
// Both use the tests' generators (tests/support: vhdx_log_writer, esx_sparse_writer).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "support/esx_sparse_writer.hpp"
#include "support/vhdx_log_writer.hpp"
#include "vhdx_fold.hpp"

namespace {

std::vector<std::byte> read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
    return {bytes, bytes + text.size()};
}

void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes)
{
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void add_pending_log(const std::filesystem::path& path)
{
    const dstest::VhdxRegions regions = dstest::read_vhdx_regions(path);
    const std::vector<std::byte> file = read_file(path);
    const auto bat = file.begin() + static_cast<std::ptrdiff_t>(regions.bat_offset);
    const std::vector<std::byte> bat_page(bat, bat + 4096);
    dstest::write_vhdx_log(path, {{{{regions.bat_offset, bat_page, 0}, {file.size() - 4096, {}, 4096}}, 0, false}});
}

int fold_vhdx(const std::filesystem::path& in, const std::filesystem::path& out, bool pending_log)
{
    std::filesystem::copy_file(in, out, std::filesystem::copy_options::overwrite_existing);
    if (pending_log) {
        add_pending_log(out);
    }
    std::uint64_t dropped = 0;
    write_file(out, diskshift::fuzz::fold_vhdx(read_file(out), dropped));
    if (dropped != 0) {
        std::cerr << in << ": folding left out " << dropped << " non-zero bytes\n";
    }
    return 0;
}

/// The descriptor, NULs to the next 512-byte boundary, then the extent.
std::vector<std::byte> descriptor_with_extent(const std::string& descriptor, const std::vector<std::byte>& extent)
{
    std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(descriptor.data()),
                                 reinterpret_cast<const std::byte*>(descriptor.data()) + descriptor.size());
    bytes.resize((bytes.size() + 512) / 512 * 512);
    bytes.insert(bytes.end(), extent.begin(), extent.end());
    return bytes;
}

int make_esx(const std::filesystem::path& folder)
{
    dstest::EsxSparseSpec spec;
    spec.capacity_sectors = 2048;  // 1 MiB
    spec.grains = {{0, dstest::EsxGrainFill::data}, {3, dstest::EsxGrainFill::zero},
                   {5, dstest::EsxGrainFill::unmapped}, {255, dstest::EsxGrainFill::data}};
    const dstest::EsxSparseFile sesparse = dstest::make_sesparse(spec);
    write_file(folder / "esx-sesparse.vmdk",
               descriptor_with_extent(dstest::esx_descriptor("seSparse", "SESPARSE", spec.capacity_sectors, "d-sesparse.vmdk"),
                                      sesparse.bytes));
    spec.grains = {{0, dstest::EsxGrainFill::data}, {255, dstest::EsxGrainFill::data}};
    const dstest::EsxSparseFile cowd = dstest::make_cowd(spec);
    write_file(folder / "esx-vmfssparse.vmdk",
               descriptor_with_extent(dstest::esx_descriptor("vmfsSparse", "VMFSSPARSE", spec.capacity_sectors, "d-delta.vmdk"),
                                      cowd.bytes));
    write_file(folder / "esx-cowd-bare.vmdk", cowd.bytes);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "esx") {
        return make_esx(argv[2]);
    }
    if (args.size() == 3 && args[0] == "vhdx") {
        return fold_vhdx(argv[2], argv[3], false);
    }
    if (args.size() == 4 && args[0] == "vhdx" && args[1] == "--pending-log") {
        return fold_vhdx(argv[3], argv[4], true);
    }
    std::cerr << "usage: fuzz_seed vhdx [--pending-log] IN.vhdx OUT | fuzz_seed esx OUTDIR\n";
    return 2;
}
