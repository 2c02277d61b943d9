// Seed maker for fuzz_vhdx: writes the folded form (vhdx_fold.hpp) of a VHDX file, after giving
// it a pending log (MS-VHDX 2.3) with --pending-log, so the fuzzer also starts from an image whose
// opening replays a log. The log's one entry rewrites the first BAT page with its own bytes and
// zeroes the file's last 4 KiB, so the replayed image reads as before. The log is written by the
// tests' log writer (tests/support/vhdx_log_writer).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string_view>
#include <vector>

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

void add_pending_log(const std::filesystem::path& path)
{
    const dstest::VhdxRegions regions = dstest::read_vhdx_regions(path);
    const std::vector<std::byte> file = read_file(path);
    const auto bat = file.begin() + static_cast<std::ptrdiff_t>(regions.bat_offset);
    const std::vector<std::byte> bat_page(bat, bat + 4096);
    dstest::write_vhdx_log(path, {{{{regions.bat_offset, bat_page, 0}, {file.size() - 4096, {}, 4096}}, 0, false}});
}

}  // namespace

int main(int argc, char** argv)
{
    const bool pending_log = argc == 4 && std::string_view(argv[1]) == "--pending-log";
    if (argc != 3 && !pending_log) {
        std::cerr << "usage: fuzz_vhdx_seed [--pending-log] IN.vhdx OUT\n";
        return 2;
    }
    const std::filesystem::path in = argv[argc - 2];
    const std::filesystem::path out = argv[argc - 1];
    std::filesystem::copy_file(in, out, std::filesystem::copy_options::overwrite_existing);
    if (pending_log) {
        add_pending_log(out);
    }
    std::uint64_t dropped = 0;
    const std::vector<std::byte> folded = diskshift::fuzz::fold_vhdx(read_file(out), dropped);
    std::ofstream(out, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(folded.data()), static_cast<std::streamsize>(folded.size()));
    if (dropped != 0) {
        std::cerr << in << ": folding left out " << dropped << " non-zero bytes\n";
    }
    return 0;
}
