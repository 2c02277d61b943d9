// Stale temporary files (issue 9): a run killed before it could clean up leaves
// ".<DST>.diskshift-<pid>-<n>.tmp" next to DST; the next run on the same DST removes it when that
// pid is dead, and leaves alone the temporaries of runs still alive.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/commands.hpp"
#include "support/disk_fixture.hpp"
#include "support/environment.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace dstest;
using namespace std::chrono_literals;

namespace {

std::string temporary_leaf(const std::string& destination, pid_t pid)
{
    return fmt::format(".{}.diskshift-{}-0.tmp", destination, pid);
}

/// imgconv -f raw -O raw SRC DST, which must succeed.
void convert(const std::filesystem::path& source, const std::filesystem::path& destination)
{
    const ProcessResult run = run_tool("imgconv", {"-f", "raw", "-O", "raw", source.string(), destination.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
}

}  // namespace

TEST_CASE("Stale temporaries: the next imgconv on DST removes a dead run's temporary, not a live one's")
{
    const TempDir dir;
    write_whole_file(dir / "src.img", std::vector<std::byte>(64 * 1024, std::byte{7}));
    const std::string stale = temporary_leaf("dst.img", dead_pid());
    const std::string live = temporary_leaf("dst.img", ::getpid());
    const std::string other = temporary_leaf("other.img", dead_pid());
    for (const std::string& name : {stale, live, other}) {
        write_text_file(dir / name, "left behind");
    }
    convert(dir / "src.img", dir / "dst.img");
    CHECK_FALSE(std::filesystem::exists(dir / stale));
    CHECK(std::filesystem::exists(dir / live));
    CHECK(std::filesystem::exists(dir / other));  // another destination's: not this run's business
    CHECK(std::filesystem::exists(dir / "dst.img"));
}

TEST_CASE("Stale temporaries: a SIGKILLed imgconv leaves its temporary, which the next run on DST cleans")
{
    DiskFixture disk = DiskFixture::standard();
    const TempDir logs;
    {
        BackgroundProcess imgconv({tool_path("imgconv").string(), "-f", "raw", "-O", "raw", "--threads", "1",
                                   disk.source.string(), disk.destination.string()},
                                  logs / "stdout", logs / "stderr");
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (disk.dir.sink_temporaries().empty() && !imgconv.has_exited()) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(1ms);
        }
        REQUIRE_MESSAGE(!imgconv.has_exited(), "imgconv ended before it could be killed");
        imgconv.send_signal(SIGKILL);
        CHECK_FALSE(imgconv.wait().exited);
    }
    const auto left = disk.dir.sink_temporaries();
    REQUIRE(left.size() == 1);  // SIGKILL cannot be caught: the temporary stays
    CHECK_FALSE(std::filesystem::exists(disk.destination));
    convert(disk.source, disk.destination);
    CHECK(disk.dir.sink_temporaries().empty());
    CHECK(std::filesystem::exists(disk.destination));
}

TEST_CASE("imgfix --output: nothing is left when the fix fails, and no copy is made when an image is damaged")
{
    const TempDir dir;
    write_whole_file(dir / "disk.raw", std::vector<std::byte>(1 << 20, std::byte{0}));
    run_program("qemu-img", {"create", "-q", "-f", "vmdk", (dir / "disk.vmdk").string(), "1M"});
    std::vector<std::byte> damaged(1024, std::byte{0});  // a VMDK magic, then nothing valid
    std::memcpy(damaged.data(), "KDMV", 4);
    write_whole_file(dir / "damaged.vmdk", damaged);
    // A backend libguestfs does not know: the launch fails at once, after the copy was made.
    const ScopedEnvironment backend("LIBGUESTFS_BACKEND", no_libguestfs_backend);
    {
        const ProcessResult run =
            run_tool("imgfix", {"-f", "raw", "--output", (dir / "out.raw").string(), (dir / "disk.raw").string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
        CHECK(dir.sink_temporaries().empty());
    }
    {
        const ProcessResult run = run_tool("imgfix", {"--output", (dir / "out").string(), (dir / "disk.vmdk").string(),
                                                      (dir / "damaged.vmdk").string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK(run.err.find("damaged.vmdk") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir / "out"));
        CHECK(dir.sink_temporaries().empty());
    }
}
