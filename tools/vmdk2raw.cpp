// vmdk2raw: a VMDK (descriptor or monolithic file) to a sparse raw disk; `imgconv -f vmdk -O raw`.
#include <diskshift/convert.hpp>
#include <diskshift/format.hpp>

#include "common/cli.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"Convert a VMDK image to a sparse raw disk. DST is written under a temporary name and renamed "
                 "when complete. A delta layer is refused: it needs its parent.",
                 "vmdk2raw"};
    std::string source;
    std::string destination;
    bool progress = false;
    app.add_flag("-p,--progress", progress, "Show progress on stderr when it is a terminal");
    app.add_option("SRC", source, "The VMDK to read (a descriptor or a monolithic file)")->required();
    app.add_option("DST", destination, "The raw disk to write")->required();

    return diskshift::cli::run(app, argc, argv, [&] {
        diskshift::OpenOptions open;
        open.format = "vmdk";
        diskshift::ConvertOptions convert;
        convert.progress = diskshift::cli::progress_callback(progress, false);
        diskshift::convert(*diskshift::open_image(source, open), destination, convert);
    });
}
