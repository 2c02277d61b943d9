// imgconv's progress output: silent when stderr is not a terminal, unless --force-progress.
#include <algorithm>
#include <iterator>
#include <regex>
#include <string>

#include <doctest/doctest.h>

#include "support/files.hpp"
#include "support/process.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed0008;

/// Runs imgconv -f raw -O raw with `flags` on a small sparse disk; requires success.
ProcessResult convert_with_flags(const std::vector<std::string>& flags)
{
    const TempDir dir;
    write_sparse_file(dir / "src.img", {64 * MiB, {{0, 4 * MiB}, {32 * MiB, 4 * MiB}}}, seed);
    std::vector<std::string> args{"-f", "raw", "-O", "raw"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back((dir / "src.img").string());
    args.push_back((dir / "dst.img").string());
    const ProcessResult run = run_tool("imgconv", args);
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    CHECK(file_difference(dir / "src.img", dir / "dst.img") == "");
    return run;
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("imgconv -p: no progress when stderr is not a terminal")
{
    const ProcessResult run = convert_with_flags({"-p"});
    INFO(run.describe());
    CHECK_FALSE(contains(run.err, "%"));
    CHECK(run.err.empty());
    CHECK(run.out.empty());
}

TEST_CASE("imgconv --force-progress: progress lines with a percentage on a non-terminal stderr")
{
    const ProcessResult run = convert_with_flags({"--force-progress"});
    INFO(run.describe());
    CHECK(contains(run.err, "%"));
    CHECK(contains(run.err, "100"));
    CHECK_FALSE(contains(run.err, "\r"));  // lines, not a redrawn bar
    CHECK(run.out.empty());
}

TEST_CASE("imgconv --force-progress: each line shows bytes done of the total, the rate, and the time left or taken")
{
    const ProcessResult run = convert_with_flags({"--force-progress"});
    INFO(run.describe());
    const std::regex line(R"(\] +[0-9.]+% +[0-9.]+ [KMGT]?i?B / 64 MiB +[0-9.]+ [KMGT]?i?B/s +(ETA [0-9-]+:[0-9-]+|in [0-9]+:[0-9]{2})\n)");
    const std::regex first(R"(^\[\.+\] +0\.0% +0 B / 64 MiB +0 B/s +ETA --:--\n)");
    const std::regex last(R"(100\.0% +64 MiB / 64 MiB +[0-9.]+ [KMG]iB/s +in 0:0[0-9]\n$)");
    const auto lines = std::distance(std::sregex_iterator(run.err.begin(), run.err.end(), line), std::sregex_iterator());
    CHECK(lines == std::count(run.err.begin(), run.err.end(), '\n'));
    CHECK(std::regex_search(run.err, first));
    CHECK(std::regex_search(run.err, last));
}

}  // TEST_SUITE
