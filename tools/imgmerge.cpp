// imgmerge: materialise a delta chain (a base and the deltas over it) as one standalone image.
#include <iostream>

#include <diskshift/error.hpp>
#include <diskshift/merge.hpp>

#include "common/cli.hpp"
#include "common/commit_cli.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"Write the disk a delta chain presents into a new image. Every link is checked (VMDK "
                 "parentCID, VHD parent unique id, VHDX parent_linkage) before anything is written; DST is "
                 "written under a temporary name and renamed when complete.",
                 "imgmerge"};
    diskshift::ConvertOptions convert;
    std::vector<std::string> dash_o;
    std::vector<std::string> output_options;
    std::string destination;
    std::vector<std::string> files;
    bool explicit_chain = false;
    bool skip_identity = false;
    bool progress = false;
    bool sync = false;
    app.add_option("-O,--output-format", convert.format, "Output format (default raw)");
    app.add_option("-o", dash_o,
                   "DST, the image to write; or, when it holds '=', output options KEY=VAL[,KEY=VAL...] "
                   "(may be repeated)");
    app.add_option("--output", destination, "DST, the image to write (for a name holding '=')");
    app.add_option("--options", output_options, "Output options KEY=VAL[,KEY=VAL...]; may be repeated");
    app.add_flag("--chain", explicit_chain,
                 "FILES are the whole chain, base first; fewer deltas give an earlier point in time");
    app.add_flag("--unsafe-skip-identity", skip_identity,
                 "DANGEROUS: do not compare the parent identities the deltas record (a wrong parent then "
                 "gives a silently corrupt disk); parents must still have the delta's virtual size");
    app.add_flag("-p,--progress", progress, "Show progress on stderr when it is a terminal");
    app.add_option("--threads", convert.threads, "Worker threads (default: one per core)")->check(CLI::Range(1, 1024));
    app.add_flag("--sync", sync, "Flush DST to disk before it appears, so it survives a power cut (slower)");
    diskshift::cli::CommitCli commit;
    diskshift::cli::add_commit_options(app, commit);
    app.add_option("FILES", files, "TOP, the newest delta (its parents are found by their hints); with --chain: "
                                   "BASE DELTA1 ... DELTAn")
        ->required();
    app.callback([&] {
        diskshift::cli::check_commit_usage(commit, !dash_o.empty() || !destination.empty(), explicit_chain);
        if (commit.active()) {
            return;
        }
        for (const std::string& value : dash_o) {
            if (value.find('=') != std::string::npos) {
                output_options.push_back(value);
            } else if (destination.empty()) {
                destination = value;
            } else {
                throw CLI::ValidationError("-o", "DST given twice: " + destination + " and " + value);
            }
        }
        if (destination.empty()) {
            throw CLI::RequiredError("-o DST");
        }
        if (!explicit_chain && files.size() != 1) {
            throw CLI::ValidationError("FILES", "give one TOP image, or the whole chain with --chain");
        }
    });

    return diskshift::cli::run(app, argc, argv, [&] {
        if (commit.active()) {
            diskshift::cli::run_commit(commit, files, skip_identity,
                                       diskshift::cli::progress_callback(progress, false));
            return;
        }
        for (const std::string& text : output_options) {
            convert.options.parse(text);
        }
        convert.durability = sync ? diskshift::Durability::synced : diskshift::Durability::page_cache;
        convert.progress = diskshift::cli::progress_callback(progress, false);
        diskshift::ChainOptions chain_options;
        chain_options.identity = skip_identity ? diskshift::IdentityCheck::skip : diskshift::IdentityCheck::enforce;
        const diskshift::Chain chain =
            explicit_chain ? diskshift::open_chain(std::vector<std::filesystem::path>(files.begin(), files.end()),
                                                   chain_options)
                           : diskshift::open_chain(std::filesystem::path(files.front()), chain_options);
        for (const diskshift::ChainLayer& layer : chain.layers) {
            for (const std::string& warning : layer.warnings) {
                std::cerr << "imgmerge: warning: " << warning << '\n';
            }
        }
        diskshift::materialise(chain, destination, convert);
    });
}
