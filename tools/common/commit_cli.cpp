#include "common/commit_cli.hpp"

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <diskshift/inspect.hpp>

#include "common/cli.hpp"

namespace diskshift::cli {
namespace {

nlohmann::ordered_json stats_json(const CommitCli& commit, const CommitStats& s)
{
    return {
        {"base", commit.base},
        {"action", s.rolled_back ? "rollback" : s.resumed ? "resume" : "commit"},
        {"virtual_size", s.virtual_size},
        {"delta_bytes", s.delta_bytes},
        {"changed_bytes", s.changed_bytes},
        {"restored_bytes", s.restored_bytes},
        {"base_bytes_written", s.base_bytes_written},
        {"journal_bytes_written", s.journal_bytes_written},
        {"batches", s.batches},
    };
}

void print_text(const CommitCli& commit, const CommitStats& s)
{
    if (s.rolled_back) {
        fmt::print("{}: rolled back: {} of original bytes restored; the base is as it was before the commit\n",
                   commit.base, human_size(s.restored_bytes));
        return;
    }
    fmt::print("{}: {}: the deltas define {}; this run replaced {} that differed from the base\n", commit.base,
               s.resumed ? "resumed and committed" : "committed", human_size(s.delta_bytes),
               human_size(s.changed_bytes));
    fmt::print("{}: wrote {} to the base and {} to the undo journal, in {} batches; journal removed\n",
               commit.base, human_size(s.base_bytes_written), human_size(s.journal_bytes_written), s.batches);
}

}  // namespace

void add_commit_options(CLI::App& app, CommitCli& commit)
{
    const std::string group = "In-place commit";
    app.add_option("--into", commit.base,
                   "Write the deltas FILES (oldest first) into BASE in place, a raw or fixed VHD file, instead "
                   "of a new image; crash-safe through an undo journal BASE.diskshift-undo")
        ->group(group);
    app.add_option("-f,--base-format", commit.base_format, "BASE's format when it cannot be probed: raw")->group(group);
    app.add_flag("--resume", commit.resume, "Finish a commit into BASE that was interrupted (same deltas)")
        ->group(group);
    app.add_flag("--rollback", commit.rollback, "Undo a commit into BASE that was interrupted: the old BASE back")
        ->group(group);
    app.add_option("--batch-size", commit.batch_bytes,
                   fmt::format("Changed bytes saved and synced per journal batch ({}..{}, default {})",
                               human_size(min_commit_batch), human_size(max_commit_batch),
                               human_size(default_commit_batch)))
        ->transform(CLI::AsSizeValue(false))
        ->check(CLI::Range(min_commit_batch, max_commit_batch))
        ->group(group);
    app.add_flag("--json", commit.json, "Print a JSON summary of the commit on stdout")->group(group);
}

void check_commit_usage(const CommitCli& commit, bool has_destination, bool explicit_chain)
{
    if (!commit.active()) {
        if (commit.resume || commit.rollback || !commit.base_format.empty() || commit.json) {
            throw CLI::ValidationError("--into", "--resume, --rollback, --base-format and --json need --into BASE");
        }
        return;
    }
    if (commit.resume && commit.rollback) {
        throw CLI::ValidationError("--resume", "give --resume or --rollback, not both");
    }
    if (has_destination || explicit_chain) {
        throw CLI::ValidationError("--into", "--into BASE writes into BASE: it takes no -o DST and no --chain");
    }
}

void run_commit(const CommitCli& commit, const std::vector<std::string>& deltas, bool skip_identity,
                ProgressFn progress)
{
    CommitOptions options;
    options.base_format = commit.base_format;
    options.recovery = commit.rollback ? CommitRecovery::rollback
                       : commit.resume ? CommitRecovery::resume
                                       : CommitRecovery::none;
    options.batch_bytes = commit.batch_bytes;
    options.progress = std::move(progress);
    const CommitStats stats =
        commit_deltas_into(commit.base, std::vector<std::filesystem::path>(deltas.begin(), deltas.end()),
                           skip_identity ? IdentityCheck::skip : IdentityCheck::enforce, options);
    if (commit.json) {
        std::cout << json_text(stats_json(commit, stats)) << '\n';
    } else {
        print_text(commit, stats);
    }
}

}  // namespace diskshift::cli
