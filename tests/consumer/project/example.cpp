// Describe an image and convert it to a sparse raw file: the README's API example.
#include <diskshift/diskshift.hpp>
#include <iostream>

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::cerr << "usage: example SRC DST\n";
        return 2;
    }
    try {
        diskshift::OpenOptions open;
        open.format = "raw";  // leave empty to probe the format; raw is never guessed
        const auto image = diskshift::open_image(argv[1], open);
        std::cout << diskshift::describe_json(*image).dump(2) << '\n';
        for (const diskshift::Extent& e : image->extents())
            std::cout << e.offset << " +" << e.length << ' ' << diskshift::to_string(e.kind) << '\n';

        diskshift::ConvertOptions options;  // raw output, one worker per core
        options.progress = [](std::uint64_t done, std::uint64_t total) {
            std::cerr << (total ? done * 100 / total : 100) << "%\r";
            return true;  // false cancels; DST is then never created
        };
        const diskshift::ConvertStats stats = diskshift::convert(*image, argv[2], options);
        std::cout << "wrote " << stats.data_bytes << " data bytes, skipped " << stats.zero_bytes << '\n';
    } catch (const diskshift::Error& e) {  // e.code(): io, corrupt, unsupported, chain_mismatch, …
        std::cerr << e.what() << " [" << diskshift::to_string(e.code()) << "]\n";
        return 1;
    }
}
