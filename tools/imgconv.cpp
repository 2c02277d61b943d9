// imgconv: convert a disk image to another format (sparse, in parallel, written atomically).
#include <chrono>
#include <iostream>

#include <diskshift/convert.hpp>
#include <diskshift/error.hpp>
#include <diskshift/format.hpp>
#include <diskshift/ova_writer.hpp>
#include <nlohmann/json.hpp>

#include "common/cli.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"Convert a disk image. DST is written under a temporary name and renamed when complete.", "imgconv"};
    std::vector<std::string> sources;
    std::string destination;
    diskshift::OpenOptions open;
    diskshift::ConvertOptions convert;
    std::vector<std::string> output_options;
    bool progress = false;
    bool force_progress = false;
    bool json = false;
    app.add_option("-f,--format", open.format, "Read SRC in this format instead of probing (raw must be named)");
    app.add_option("-O,--output-format", convert.format, "Output format (raw)")->required();
    // A malformed -o is bad usage (exit 2); a key the output format does not know fails later (exit 1).
    const CLI::Validator key_values(
        [](std::string& text) {
            try {
                diskshift::OptionMap().parse(text);
                return std::string();
            } catch (const diskshift::Error& e) {
                return std::string(e.what());
            }
        },
        "KEY=VAL[,...]");
    app.add_option("-o,--options", output_options, "Output options KEY=VAL[,KEY=VAL...]; may be repeated")
        ->check(key_values)
        ->allow_extra_args(false);
    app.add_flag("-p,--progress", progress, "Show progress on stderr when it is a terminal");
    app.add_flag("--force-progress", force_progress, "Show progress on stderr even when it is not a terminal");
    app.add_option("--threads", convert.threads, "Worker threads (default: one per core)")
        ->check(CLI::Range(1, 1024));
    bool sync = false;
    app.add_flag("--sync", sync, "Flush DST to disk before it appears, so it survives a power cut (slower)");
    app.add_flag("--json", json, "Print a JSON summary of the conversion on stdout");
    // CLI11 gives every positional argument to the SRC list, so the callback takes DST from its end.
    app.add_option("SRC", sources, "The image to read (with -O ova, one or more: the VM's disks)")->required();
    app.add_option("DST", destination, "The image to write (required: the last argument)");
    // -O ova packages several disks; its -o values (name, os, cpus, memory) are checked as usage.
    diskshift::OvaWriteOptions ova;
    app.callback([&] {
        if (destination.empty()) {
            if (sources.size() < 2) {
                throw CLI::RequiredError("DST");
            }
            destination = sources.back();
            sources.pop_back();
        }
        if (convert.format != "ova") {
            if (sources.size() > 1) {
                throw CLI::ValidationError("SRC", "only -O ova takes more than one SRC");
            }
            return;
        }
        try {
            for (const std::string& text : output_options) {
                ova.disk_options.parse(text);
            }
            diskshift::take_ova_options(ova.disk_options, ova);
        } catch (const diskshift::Error& e) {
            throw CLI::ValidationError("-o", e.what());
        }
    });

    return diskshift::cli::run(app, argc, argv, [&] {
        for (const std::string& text : output_options) {
            convert.options.parse(text);
        }
        convert.durability = sync ? diskshift::Durability::synced : diskshift::Durability::page_cache;
        convert.progress = diskshift::cli::progress_callback(progress || force_progress, force_progress);
        const auto started = std::chrono::steady_clock::now();
        const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
        if (convert.format == "ova") {
            ova.threads = convert.threads;
            ova.progress = convert.progress;
            ova.durability = convert.durability;
            std::vector<std::unique_ptr<diskshift::Image>> images;
            std::vector<const diskshift::Image*> disks;
            for (const std::string& source : sources) {
                disks.push_back(images.emplace_back(diskshift::open_image(source, open)).get());
            }
            const diskshift::OvaWriteStats stats = diskshift::write_ova(disks, destination, ova);
            if (json) {
                nlohmann::ordered_json members = nlohmann::ordered_json::array();
                for (const diskshift::OvaMember& m : stats.members) {
                    members.push_back({{"name", m.name}, {"size", m.size}, {"sha256", m.sha256}});
                }
                const nlohmann::ordered_json summary = {
                    {"sources", sources}, {"destination", destination}, {"format", "ova"},
                    {"size", stats.size},  {"members", members},          {"seconds", seconds()},
                };
                std::cout << summary.dump(2) << '\n';
            }
            return;
        }
        const std::string& source = sources.front();
        const auto image = diskshift::open_image(source, open);
        const diskshift::ConvertStats stats = diskshift::convert(*image, destination, convert);
        if (json) {
            const nlohmann::ordered_json summary = {
                {"source", source},           {"destination", destination},
                {"source_format", image->info().format}, {"format", convert.format},
                {"virtual_size", stats.virtual_size},    {"data_bytes", stats.data_bytes},
                {"zero_bytes", stats.zero_bytes},        {"seconds", seconds()},
            };
            std::cout << summary.dump(2) << '\n';
        }
    });
}
