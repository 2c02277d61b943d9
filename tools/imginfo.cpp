// imginfo: describe a disk image (text, --json) or print its allocation map (--map).
#include <iostream>

#include <diskshift/format.hpp>
#include <diskshift/inspect.hpp>

#include "common/cli.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"Describe a disk image: format, sizes, identity, parent, format details.", "imginfo"};
    std::string file;
    diskshift::OpenOptions open;
    bool json = false;
    bool map = false;
    app.add_option("-f,--format", open.format, "Read FILE in this format instead of probing (raw must be named)");
    app.add_option("--disk", open.disk, "In an OVA: the disk to describe, by id or number from 1 (default: the first)");
    auto* json_flag = app.add_flag("--json", json, "Print one JSON object");
    app.add_flag("--map", map, "Print the allocation map as a JSON array of {offset,length,kind}")->excludes(json_flag);
    app.add_option("FILE", file, "The image")->required();

    return diskshift::cli::run(app, argc, argv, [&] {
        open.allow_delta_alone = true;  // describing a delta never reads through to its parent
        const auto image = diskshift::open_image(file, open);
        if (map) {
            diskshift::write_map_json(std::cout, *image, diskshift::cli::progress_callback(false, false));
        } else if (json) {
            std::cout << diskshift::describe_json(*image).dump(2) << '\n';
        } else {
            diskshift::describe_text(std::cout, *image);
        }
    });
}
