// imgconv: convert a disk image to another format (sparse, in parallel, written atomically).
#include <chrono>
#include <iostream>

#include <diskshift/convert.hpp>
#include <diskshift/error.hpp>
#include <diskshift/format.hpp>
#include <diskshift/inspect.hpp>
#include <diskshift/ova.hpp>
#include <diskshift/ova_writer.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/cli.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point started)
{
    return std::chrono::duration<double>(Clock::now() - started).count();
}

/// The disks of an OVA, one a line, for the message that asks for --disk.
std::string disk_list(const std::vector<diskshift::OvaDiskEntry>& disks)
{
    std::string text;
    for (std::size_t i = 0; i < disks.size(); ++i) {
        const auto& d = disks[i];
        text += fmt::format("\n  {}  {}  {}  {}  {}", i + 1, d.id, d.href.empty() ? "(blank)" : d.href,
                            diskshift::human_size(d.capacity), d.format);
    }
    return text;
}

/// -O ova: packages every SRC as one VM's disks.
nlohmann::ordered_json package_ova(const std::vector<std::string>& sources, const std::string& destination,
                                   const diskshift::OpenOptions& open, diskshift::OvaWriteOptions ova)
{
    const auto started = Clock::now();
    std::vector<std::unique_ptr<diskshift::Image>> images;
    std::vector<const diskshift::Image*> disks;
    for (const std::string& source : sources) {
        disks.push_back(images.emplace_back(diskshift::open_image(source, open)).get());
    }
    const diskshift::OvaWriteStats stats = diskshift::write_ova(disks, destination, ova);
    nlohmann::ordered_json members = nlohmann::ordered_json::array();
    for (const diskshift::OvaMember& m : stats.members) {
        members.push_back({{"name", m.name}, {"size", m.size}, {"sha256", m.sha256}});
    }
    return {{"sources", sources}, {"destination", destination}, {"format", "ova"},
            {"size", stats.size},  {"members", members},          {"seconds", seconds_since(started)}};
}

/// Converts one image; an OVA disk is checked against the package's manifest before DST appears.
nlohmann::ordered_json convert_one(const std::string& source, const diskshift::Image& image,
                                   const std::filesystem::path& target, diskshift::ConvertOptions convert)
{
    const auto started = Clock::now();
    convert.before_commit = [&] { diskshift::verify_ova_reads(image); };
    const diskshift::ConvertStats stats = diskshift::convert(image, target, convert);
    return {{"source", source},           {"destination", target.string()},
            {"source_format", image.info().format}, {"format", convert.format},
            {"virtual_size", stats.virtual_size},    {"data_bytes", stats.data_bytes},
            {"zero_bytes", stats.zero_bytes},        {"seconds", seconds_since(started)}};
}

/// Every other -O: one SRC to DST, or every disk of an OVA into `all_disks`.
nlohmann::ordered_json convert_source(const std::string& source, const std::string& destination,
                                      const std::string& all_disks, diskshift::OpenOptions open,
                                      const diskshift::ConvertOptions& convert)
{
    const auto image = diskshift::open_image(source, open);
    const std::vector<diskshift::OvaDiskEntry> disks = diskshift::ova_disks(*image);
    if (all_disks.empty()) {
        if (diskshift::ova_disk_chosen_by_default(*image)) {
            throw diskshift::cli::UsageError(fmt::format(
                "{} holds {} disks; choose one with --disk ID|N, or --all-disks DIR:{}", source, disks.size(),
                disk_list(disks)));
        }
        return convert_one(source, *image, destination, convert);
    }
    if (disks.empty()) {
        throw diskshift::cli::UsageError(source + " is not an OVA: --all-disks reads packages");
    }
    const bool made_folder = std::filesystem::create_directories(all_disks);
    nlohmann::ordered_json summaries = nlohmann::ordered_json::array();
    std::vector<std::filesystem::path> written;
    try {
        for (const diskshift::OvaDiskEntry& entry : disks) {
            open.disk = entry.id;
            const auto target = std::filesystem::path(all_disks) / diskshift::ova_disk_file_name(entry.id, convert.format);
            summaries.push_back(convert_one(source, *diskshift::open_image(source, open), target, convert));
            written.push_back(target);
        }
    } catch (...) {
        // A failed run leaves no part of the package behind: the disks already written go too.
        std::error_code ignored;
        for (const auto& path : written) {
            std::filesystem::remove(path, ignored);
        }
        if (made_folder) {
            std::filesystem::remove(all_disks, ignored);
        }
        throw;
    }
    return summaries;
}

}  // namespace

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
    auto* disk = app.add_option("--disk", open.disk, "From an OVA: the disk to convert, by id or number from 1");
    std::string all_disks;
    app.add_option("--all-disks", all_disks, "From an OVA: write every disk into folder DIR as DIR/<disk id>.<format>")
        ->excludes(disk);
    // CLI11 gives every positional argument to the SRC list, so the callback takes DST from its end.
    app.add_option("SRC", sources, "The image to read (with -O ova, one or more: the VM's disks)")->required();
    app.add_option("DST", destination, "The image to write: the last argument (none with --all-disks)");
    // -O ova packages several disks; its -o values (name, os, cpus, memory) are checked as usage.
    diskshift::OvaWriteOptions ova;
    app.callback([&] {
        if (destination.empty() && all_disks.empty()) {
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
        if (!all_disks.empty() && !destination.empty()) {
            throw diskshift::cli::UsageError("give DST, or --all-disks DIR for an OVA's disks (not both)");
        }
        convert.durability = sync ? diskshift::Durability::synced : diskshift::Durability::page_cache;
        convert.progress = diskshift::cli::progress_callback(progress || force_progress, force_progress);
        nlohmann::ordered_json summary;
        if (convert.format == "ova") {
            ova.threads = convert.threads;
            ova.progress = convert.progress;
            ova.durability = convert.durability;
            summary = package_ova(sources, destination, open, ova);
        } else {
            for (const std::string& text : output_options) {
                convert.options.parse(text);
            }
            summary = convert_source(sources.front(), destination, all_disks, open, convert);
        }
        if (json) {
            std::cout << diskshift::cli::json_text(summary) << '\n';
        }
    });
}
