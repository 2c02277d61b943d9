// imginfo: describe a disk image (text, --json), print its allocation map (--map), or describe
// a delta chain layer by layer (--chain).
#include <filesystem>
#include <iostream>

#include <diskshift/error.hpp>
#include <diskshift/format.hpp>
#include <diskshift/inspect.hpp>
#include <diskshift/merge.hpp>

#include "common/cli.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"Describe a disk image: format, sizes, identity, parent, format details.", "imginfo"};
    std::string file;
    diskshift::OpenOptions open;
    bool json = false;
    bool map = false;
    bool chain = false;
    app.add_option("-f,--format", open.format, "Read FILE in this format instead of probing (raw must be named)");
    app.add_option("--disk", open.disk, "In an OVA: the disk to describe, by id or number from 1 (default: the first)");
    auto* json_flag = app.add_flag("--json", json, "Print one JSON object");
    app.add_flag("--map", map, "Print the allocation map as a JSON array of {offset,length,kind}")->excludes(json_flag);
    app.add_flag("--chain", chain,
                 "Describe FILE and every parent below it: identity, link to the parent, allocation "
                 "(exit 1 when a link is broken)")
        ->excludes("--map");
    app.add_option("FILE", file, "The image")->required();

    return diskshift::cli::run(app, argc, argv, [&] {
        if (chain) {
            diskshift::ChainOptions options;
            options.identity = diskshift::IdentityCheck::report;
            const diskshift::Chain layers = diskshift::open_chain(std::filesystem::path(file), options);
            if (json) {
                std::cout << diskshift::cli::json_text(diskshift::describe_chain_json(layers)) << '\n';
            } else {
                diskshift::describe_chain_text(std::cout, layers);
            }
            if (!layers.merged) {
                throw diskshift::Error(diskshift::Errc::chain_mismatch, file + ": the chain is broken (see above)");
            }
            return;
        }
        open.allow_delta_alone = true;  // describing a delta never reads through to its parent
        const auto image = diskshift::open_image(file, open);
        if (map) {
            diskshift::write_map_json(std::cout, *image, diskshift::cli::progress_callback(false, false));
        } else if (json) {
            std::cout << diskshift::cli::json_text(diskshift::describe_json(*image)) << '\n';
        } else {
            diskshift::describe_text(std::cout, *image);
        }
    });
}
