// Interrupted conversions: SIGINT or SIGTERM during imgconv, or a write that fails (the file-size
// limit of `ulimit -f`), into every format diskshift writes. Exit status 1 (never death by the
// signal), a message, and nothing left behind.
#include <signal.h>

#include <chrono>
#include <optional>
#include <regex>
#include <thread>

#include <doctest/doctest.h>

#include <diskshift/format.hpp>

#include "support/disk_fixture.hpp"
#include "support/files.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

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

/// The command line of imgconv -f raw -O `format` with `flags`, from the disk's source to its
/// destination.
std::vector<std::string> imgconv_command(const DiskFixture& disk, const std::vector<std::string>& flags,
                                         const std::string& format = "raw")
{
    std::vector<std::string> argv{tool_path("imgconv").string(), "-f", "raw", "-O", format};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(disk.source.string());
    argv.push_back(disk.destination.string());
    return argv;
}

/// Starts imgconv with one thread on the disk, sends `signal_number` ~50 ms after its temporary
/// file appears, and returns how it ended; nullopt when it finished successfully before the signal.
std::optional<InterruptedRun> interrupt_imgconv(const DiskFixture& disk, const std::string& format, int signal_number)
{
    const TempDir logs;
    BackgroundProcess imgconv(imgconv_command(disk, {"--threads", "1"}, format), logs / "stdout", logs / "stderr");
    const bool started = wait_for_temporary(imgconv, disk.dir);
    if (started) {
        std::this_thread::sleep_for(delay_before_signal);
    }
    if (started && !imgconv.has_exited()) {
        imgconv.send_signal(signal_number);
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

/// The formats diskshift writes.
std::vector<std::string> writable_formats()
{
    std::vector<std::string> names;
    for (const diskshift::Format* format : diskshift::builtin_formats()) {
        if (format->can_write()) {
            names.emplace_back(format->name());
        }
    }
    return names;
}

/// Interrupts a conversion into `format` with `signal_number` on the standard disk, or on the
/// 8 GiB one when the standard disk is done before the signal lands, and checks the outcome.
void check_interruption(const std::string& format, int signal_number)
{
    INFO("output format ", format, ", signal ", signal_number);
    {
        const DiskFixture disk = DiskFixture::standard();
        if (const std::optional<InterruptedRun> run = interrupt_imgconv(disk, format, signal_number)) {
            check_interrupted_cleanly(*run, disk);
            return;
        }
    }
    MESSAGE("imgconv finished the 1 GiB disk before the signal; retrying with an 8 GiB disk");
    const DiskFixture disk = slow_disk();
    const std::optional<InterruptedRun> run = interrupt_imgconv(disk, format, signal_number);
    REQUIRE_MESSAGE(run.has_value(), "imgconv finished even the 8 GiB disk before the signal; "
                                     "the interruption was never tested");
    check_interrupted_cleanly(*run, disk);
}

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("imgconv: SIGINT or SIGTERM while writing any format gives exit status 1 and leaves nothing")
{
    for (const std::string& format : writable_formats()) {
        check_interruption(format, SIGINT);
        check_interruption(format, SIGTERM);
    }
}

TEST_CASE("imgconv: a write that fails (ulimit -f) into any format gives exit status 1, a message, and nothing")
{
    const DiskFixture disk = DiskFixture::standard();
    for (const std::string& format : writable_formats()) {
        INFO("output format ", format);
        // bash counts `ulimit -f` in KiB: the 100 MiB of data cannot fit in 8 MiB, whatever the format.
        std::vector<std::string> argv{"/bin/bash", "-c", "ulimit -f 8192 && exec \"$@\"", "bash"};
        const std::vector<std::string> imgconv = imgconv_command(disk, {}, format);
        argv.insert(argv.end(), imgconv.begin(), imgconv.end());
        const ProcessResult result = run_process(argv);
        INFO(result.describe());
        CHECK(result.exit_code() == 1);
        CHECK(contains(result.err, disk.destination.string()));
        CHECK(contains(result.err, "File too large"));
        CHECK_FALSE(std::filesystem::exists(disk.destination));
        CHECK(disk.dir.sink_temporaries().empty());
        CHECK(disk.dir.names() == std::vector<std::string>{"src.img"});
    }
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
