// imgcheck: verify an image's structure (tables inside the file and clear of each other, checksums,
// redundant copies, stream markers, logs, manifest digests) and list every problem with its offset.
// Exit 0: clean; 1: problems found or the file could not be read; 2: bad usage.
#include <iostream>

#include <diskshift/check.hpp>

#include "common/cli.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"Check a disk image's structure and list every problem with its file offset.", "imgcheck"};
    std::string file;
    diskshift::CheckOptions options;
    bool json = false;
    app.add_option("-f,--format", options.open.format, "Check FILE as this format instead of probing (raw must be named)");
    app.add_option("--disk", options.open.disk, "In an OVA: check only this disk, by id or number from 1 (default: all)");
    bool no_read = false;
    app.add_flag("--json", json, "Print one JSON object");
    app.add_flag("--no-read", no_read, "Check the tables only; do not read the disk's data");
    app.add_option("FILE", file, "The image")->required();

    bool clean = true;
    const int status = diskshift::cli::run(app, argc, argv, [&] {
        options.read_data = !no_read;
        const diskshift::CheckReport report = diskshift::check_image(file, options);
        if (json) {
            std::cout << diskshift::check_json(report).dump(2) << '\n';
        } else {
            diskshift::check_text(std::cout, report);
        }
        clean = report.clean();
    });
    return status == diskshift::cli::exit_ok && !clean ? diskshift::cli::exit_failed : status;
}
