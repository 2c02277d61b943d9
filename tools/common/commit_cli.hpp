// imgmerge --into: the command-line side of an in-place commit (options, checks, summary).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <diskshift/commit.hpp>

namespace diskshift::cli {

struct CommitCli {
    std::string base;  ///< --into BASE; empty when no in-place commit is asked for
    std::string base_format;
    bool resume = false;
    bool rollback = false;
    bool json = false;
    std::uint64_t batch_bytes = default_commit_batch;

    bool active() const noexcept { return !base.empty(); }
};

/// Adds --into, --base-format, --resume, --rollback, --batch-size and --json to `app`.
void add_commit_options(CLI::App& app, CommitCli& commit);

/// Bad combinations, as CLI::ValidationError (exit 2): --resume/--rollback without --into, both of
/// them, --into with -o DST or --chain.
void check_commit_usage(const CommitCli& commit, bool has_destination, bool explicit_chain);

/// Runs the commit of `deltas` (oldest first) into the base and prints a summary on stdout (JSON
/// with --json).
void run_commit(const CommitCli& commit, const std::vector<std::string>& deltas, bool skip_identity,
                ProgressFn progress);

}  // namespace diskshift::cli
