// Seed maker for fuzz_vhdx: gives a VHDX file a pending log (MS-VHDX 2.3), so the fuzzer starts
// from an image whose opening replays a log. The one entry rewrites the first BAT page with its
// own bytes and zeroes the file's last 4 KiB (past the data the seed's blocks hold), so the
// replayed image reads as before. Uses the tests' log writer (tests/support/vhdx_log_writer).
#include <fstream>
#include <iostream>
#include <vector>

#include "support/vhdx_log_writer.hpp"

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: fuzz_seed_vhdx_log FILE.vhdx\n";
        return 2;
    }
    const std::filesystem::path path = argv[1];
    const dstest::VhdxRegions regions = dstest::read_vhdx_regions(path);
    std::vector<std::byte> bat_page(4096);
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(regions.bat_offset));
    in.read(reinterpret_cast<char*>(bat_page.data()), static_cast<std::streamsize>(bat_page.size()));
    if (!in) {
        std::cerr << path << ": cannot read the BAT's first page\n";
        return 1;
    }
    const std::uint64_t size = std::filesystem::file_size(path);
    dstest::write_vhdx_log(path, {{{{regions.bat_offset, bat_page, 0}, {size - 4096, {}, 4096}}, 0, false}});
    return 0;
}
