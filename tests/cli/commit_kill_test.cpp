// imgmerge --into: an in-place commit of a differencing VHD into its fixed VHD base, killed with
// SIGKILL at random moments, must always recover to exactly the old base (--rollback) or exactly
// the merged result (--resume); and a clean commit writes at most 2.2 times the delta's data.
#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/files.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vhd_builder.hpp"
#include "support/vhd_delta_pair.hpp"

using namespace dstest;
namespace fs = std::filesystem;

namespace {

constexpr int kill_rounds = 20;

/// 64 MiB base; the delta changes about 10% of it in 64 KiB blocks (every third half present)
/// and stores 8 blocks the base already holds.
vhd::DeltaPairSpec kill_test_spec()
{
    vhd::DeltaPairSpec spec;
    spec.disk_size = 64 << 20;
    spec.changed_blocks = 100;
    spec.unchanged_blocks = 8;
    spec.seed = 7;
    return spec;
}

struct KillFixture {
    KillFixture() : pair(vhd::make_delta_pair(kill_test_spec()))
    {
        write_whole_file(delta, pair.delta_file);
        reset_base();
    }

    /// Puts the old base back, rewriting only the 64 KiB blocks that differ: a whole rewrite would
    /// leave 64 MiB dirty for the commit's first sync to flush.
    void reset_base() const
    {
        if (!fs::exists(base)) {
            write_whole_file(base, pair.base_file);
            return;
        }
        const auto now = read_whole_file(base);
        REQUIRE(now.size() == pair.base_file.size());
        const Fd fd = open_file(base, O_WRONLY);
        constexpr std::size_t block = 64 * 1024;
        for (std::size_t at = 0; at < now.size(); at += block) {
            const std::size_t n = std::min(block, now.size() - at);
            const auto old = std::span(pair.base_file).subspan(at, n);
            if (!std::equal(old.begin(), old.end(), now.begin() + static_cast<std::ptrdiff_t>(at))) {
                write_at(fd.get(), old, at);
            }
        }
    }
    fs::path journal() const { return base.string() + ".diskshift-undo"; }

    /// imgmerge --into BASE with small batches, so that a kill lands between many syncs.
    std::vector<std::string> command(const std::vector<std::string>& extra = {}) const
    {
        std::vector<std::string> argv = {tool_path("imgmerge").string(), "--into", base.string(), "--batch-size",
                                         "64K"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(delta.string());
        return argv;
    }

    /// "old", "merged" or "other".
    std::string base_state() const
    {
        const auto bytes = read_whole_file(base);
        return bytes == pair.base_file ? "old" : bytes == pair.merged_file ? "merged" : "other";
    }

    TempDir dir;
    fs::path base = dir / "base.vhd";
    fs::path delta = dir / "delta.vhd";
    vhd::DeltaPair pair;
};

ProcessResult run_argv(const std::vector<std::string>& argv)
{
    return run_process(argv);
}

/// A moment anywhere in a clean run's duration, process start included.
std::chrono::microseconds random_moment(std::chrono::duration<double> clean_run, RandomBytes& random)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(clean_run * static_cast<double>(random.below(1000)) /
                                                                 1000.0);
}

/// Runs `argv` and sends it SIGKILL after `delay` unless it has ended by then.
void kill_at(const std::vector<std::string>& argv, std::chrono::microseconds delay, const TempDir& dir)
{
    {
        BackgroundProcess process(argv, dir / "out.txt", dir / "err.txt");
        std::this_thread::sleep_for(delay);
        if (!process.has_exited()) {
            process.send_signal(SIGKILL);
        }
        process.wait();
    }
    fs::remove(dir / "out.txt");
    fs::remove(dir / "err.txt");
}

}  // namespace

TEST_CASE("imgmerge --into: a clean commit writes the merged disk, keeps the footer, writes at most 2.2x the delta")
{
    const KillFixture f;
    const ProcessResult run = run_argv(f.command({"--json"}));
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    CHECK(f.base_state() == "merged");  // the whole file: data and the fixed VHD footer
    CHECK_FALSE(fs::exists(f.journal()));
    const auto json = nlohmann::json::parse(run.out);
    const auto delta_bytes = json.at("delta_bytes").get<std::uint64_t>();
    const auto written = json.at("base_bytes_written").get<std::uint64_t>() +
                         json.at("journal_bytes_written").get<std::uint64_t>();
    CHECK(delta_bytes == f.pair.delta_bytes);
    MESSAGE("delta data " << delta_bytes << " bytes; written to base + journal " << written << " bytes ("
                          << static_cast<double>(written) / static_cast<double>(delta_bytes) << "x) in "
                          << json.at("batches").get<std::uint64_t>() << " batches, " << run.seconds << " s");
    CHECK(written * 10 <= delta_bytes * 22);

    // Again: every block now holds what the delta says, so nothing is written at all.
    const ProcessResult again = run_argv(f.command({"--json"}));
    REQUIRE(again.exit_code() == 0);
    CHECK(nlohmann::json::parse(again.out).at("base_bytes_written") == 0);
    CHECK(nlohmann::json::parse(again.out).at("journal_bytes_written") == 0);
    CHECK(f.dir.names() == std::vector<std::string>{"base.vhd", "delta.vhd"});
}

TEST_CASE("imgmerge --into: killed with SIGKILL at 20 random moments, recovery gives the old base or the result")
{
    const KillFixture f;
    // The second clean run is timed: the first one also flushes the whole base the fixture wrote.
    REQUIRE(run_argv(f.command()).exit_code() == 0);
    f.reset_base();
    const ProcessResult clean = run_argv(f.command());
    REQUIRE(clean.exit_code() == 0);
    const auto clean_run = std::chrono::duration<double>(clean.seconds);
    RandomBytes random(20261123);
    int interrupted = 0;
    for (int round = 0; round < kill_rounds; ++round) {
        CAPTURE(round);
        f.reset_base();
        kill_at(f.command(), random_moment(clean_run, random), f.dir);
        if (!fs::exists(f.journal())) {
            // Killed before the first batch, or after the journal was removed.
            const std::string state = f.base_state();
            CHECK((state == "old" || state == "merged"));
            continue;
        }
        ++interrupted;
        const ProcessResult refused = run_argv(f.command());
        CHECK(refused.exit_code() == 1);
        CHECK(contains(refused.err, "--resume"));
        CHECK(contains(refused.err, "--rollback"));
        const bool rollback = round % 2 == 0;
        const std::vector<std::string> recover = f.command({rollback ? "--rollback" : "--resume"});
        if (round % 4 >= 2) {
            // The recovery is killed too; running it again must still give the same end.
            kill_at(recover, random_moment(clean_run, random), f.dir);
        }
        if (fs::exists(f.journal())) {
            const ProcessResult recovery = run_argv(recover);
            INFO(recovery.describe());
            CHECK(recovery.exit_code() == 0);
        }
        CHECK(f.base_state() == (rollback ? "old" : "merged"));
        CHECK_FALSE(fs::exists(f.journal()));
    }
    MESSAGE(interrupted << " of " << kill_rounds << " kills interrupted a commit (clean run " << clean.seconds
                        << " s)");
    CHECK(interrupted >= kill_rounds / 4);
}

TEST_CASE("imgmerge --into: bad combinations are usage errors; a dynamic base is refused")
{
    const KillFixture f;
    const std::string imgmerge = tool_path("imgmerge").string();
    CHECK(run_argv({imgmerge, "--resume", f.delta.string()}).exit_code() == 2);
    CHECK(run_argv({imgmerge, "--into", f.base.string(), "--resume", "--rollback", f.delta.string()}).exit_code() ==
          2);
    CHECK(run_argv({imgmerge, "--into", f.base.string(), "-o", (f.dir / "x.raw").string(), f.delta.string()})
              .exit_code() == 2);
    CHECK(run_argv(f.command({"--batch-size", "1K"})).exit_code() == 2);

    vhd::SparseVhd dynamic;
    dynamic.footer.disk_type = 3;
    dynamic.footer.current_size = 64 << 20;
    const fs::path dynamic_path = f.dir / "dynamic.vhd";
    write_whole_file(dynamic_path, dynamic.build());
    const ProcessResult refused = run_argv({imgmerge, "--into", dynamic_path.string(), f.delta.string()});
    CHECK(refused.exit_code() == 1);
    CHECK(contains(refused.err, "raw or fixed VHD"));
    CHECK(f.base_state() == "old");
}

TEST_CASE("imgmerge --into: SIGINT stops the commit with exit status 1 and says how to recover")
{
    const KillFixture f;
    BackgroundProcess commit(f.command(), f.dir / "out.txt", f.dir / "err.txt");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!fs::exists(f.journal()) && !commit.has_exited() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE_MESSAGE(fs::exists(f.journal()), "the commit ended or wrote no journal within 10 s");
    commit.send_signal(SIGINT);
    const ExitStatus status = commit.wait();
    const std::string err = read_text_file(f.dir / "err.txt");
    INFO(err);
    if (status.exited && status.code == 0) {
        MESSAGE("the commit finished before the signal arrived");
        CHECK(f.base_state() == "merged");
        return;
    }
    CHECK(status.exited);
    CHECK(status.code == 1);
    CHECK(contains(err, "interrupted by signal"));
    CHECK(contains(err, "--resume"));
    CHECK(contains(err, "--rollback"));
    REQUIRE(fs::exists(f.journal()));
    CHECK(run_argv(f.command({"--rollback"})).exit_code() == 0);
    CHECK(f.base_state() == "old");
}
