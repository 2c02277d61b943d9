// SIGINT during imgconv: exit status 1 (never death by the signal), and nothing left behind.
#include <signal.h>

#include <chrono>
#include <optional>
#include <regex>
#include <thread>

#include <doctest/doctest.h>

#include "support/disk_fixture.hpp"
#include "support/files.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace dstest;
using namespace std::chrono_literals;

namespace {

constexpr auto temporary_file_timeout = 5s;
constexpr auto delay_before_signal = 50ms;

struct InterruptedRun {
    ExitStatus status;
    std::string err;
};

/// Waits until imgconv has created its temporary file; false if it ended first.
bool wait_for_temporary(BackgroundProcess& imgconv, const TempDir& dir)
{
    const auto deadline = std::chrono::steady_clock::now() + temporary_file_timeout;
    while (dir.sink_temporaries().empty()) {
        if (imgconv.has_exited()) {
            return false;
        }
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                        "imgconv created no temporary file in ", dir.path().string(), " within 5 s");
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// The command line of imgconv -f raw -O raw with `flags`, from the disk's source to its destination.
std::vector<std::string> imgconv_command(const DiskFixture& disk, const std::vector<std::string>& flags)
{
    std::vector<std::string> argv{tool_path("imgconv").string(), "-f", "raw", "-O", "raw"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(disk.source.string());
    argv.push_back(disk.destination.string());
    return argv;
}

/// Starts imgconv with one thread on the disk, sends SIGINT ~50 ms after its temporary file
/// appears, and returns how it ended; nullopt when it finished successfully before the signal.
std::optional<InterruptedRun> interrupt_imgconv(const DiskFixture& disk)
{
    const TempDir logs;
    BackgroundProcess imgconv(imgconv_command(disk, {"--threads", "1"}), logs / "stdout", logs / "stderr");
    const bool started = wait_for_temporary(imgconv, disk.dir);
    if (started) {
        std::this_thread::sleep_for(delay_before_signal);
    }
    if (started && !imgconv.has_exited()) {
        imgconv.send_signal(SIGINT);
    }
    InterruptedRun run{imgconv.wait(), read_text_file(logs / "stderr")};
    if (run.status.exited && run.status.code == 0) {
        return std::nullopt;
    }
    REQUIRE_MESSAGE(started, "imgconv failed before it started writing: ", run.status.describe(), "\n", run.err);
    return run;
}

/// Waits until `file` contains a match of `pattern` or `process` has ended.
void wait_for_text(const std::filesystem::path& file, const std::regex& pattern, BackgroundProcess& process)
{
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!std::regex_search(read_text_file(file), pattern) && !process.has_exited()) {
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "imgconv printed no final progress line");
        std::this_thread::sleep_for(1ms);
    }
}

/// The 8 GiB disk for machines that convert the standard one within the delay: more data, spread.
DiskFixture slow_disk()
{
    constexpr std::uint64_t seed = 0x5eed0009;
    return DiskFixture(scattered_layout(8 * GiB, 512 * MiB, seed), seed);
}

/// The run must have ended with exit status 1, leaving only the source in the folder.
void check_interrupted_cleanly(const InterruptedRun& run, const DiskFixture& disk)
{
    INFO("imgconv ", run.status.describe(), ", stderr: ", run.err);
    CHECK(run.status.exited);
    CHECK(run.status.code == 1);
    CHECK_FALSE(run.err.empty());
    CHECK_FALSE(std::filesystem::exists(disk.destination));
    CHECK(disk.dir.sink_temporaries().empty());
    CHECK(disk.dir.names() == std::vector<std::string>{"src.img"});
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("imgconv: SIGINT stops the conversion with exit status 1 and leaves nothing")
{
    {
        const DiskFixture disk = DiskFixture::standard();
        if (const std::optional<InterruptedRun> run = interrupt_imgconv(disk)) {
            check_interrupted_cleanly(*run, disk);
            return;
        }
    }
    MESSAGE("imgconv finished the 1 GiB disk before the signal; retrying with an 8 GiB disk");
    const DiskFixture disk = slow_disk();
    const std::optional<InterruptedRun> run = interrupt_imgconv(disk);
    REQUIRE_MESSAGE(run.has_value(), "imgconv finished even the 8 GiB disk before the signal; "
                                     "the interruption was never tested");
    check_interrupted_cleanly(*run, disk);
}

TEST_CASE("imgconv: SIGINT after the last progress line gives exit 0 and a copy or exit 1 and none")
{
    // The signal lands while imgconv finishes and commits the copy. Either answer is fine, as long
    // as the exit status tells the truth about the destination.
    const DiskFixture disk = DiskFixture::standard();
    const TempDir logs;
    BackgroundProcess imgconv(imgconv_command(disk, {"--force-progress"}), logs / "stdout", logs / "stderr");
    wait_for_text(logs / "stderr", std::regex(R"(100(\.0*)?\s*%)"), imgconv);
    if (!imgconv.has_exited()) {
        imgconv.send_signal(SIGINT);
    }
    const ExitStatus status = imgconv.wait();
    const bool copied = std::filesystem::exists(disk.destination);
    INFO("imgconv ", status.describe(), ", destination ", copied ? "exists" : "absent", ", stderr: ",
         read_text_file(logs / "stderr"));
    REQUIRE(status.exited);
    CHECK(disk.dir.sink_temporaries().empty());
    if (status.code == 0) {
        REQUIRE(copied);
        CHECK(file_difference(disk.source, disk.destination) == "");
    } else {
        CHECK(status.code == 1);
        CHECK_FALSE(copied);
    }
}

}  // TEST_SUITE
