// Exit statuses and messages of imginfo and imgconv, and what a failing imgconv leaves behind.
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/files.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/sparse_layout.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed0007;

/// A folder with a text file (not a disk image) and a small raw disk.
struct Inputs {
    TempDir dir;
    std::filesystem::path text = dir / "notes.txt";
    std::filesystem::path disk = dir / "disk.img";
    std::filesystem::path destination = dir / "dst.img";

    Inputs()
    {
        write_text_file(text, "not a disk image\n");
        write_sparse_file(disk, {4 * MiB, {{0, 64 * KiB}, {3 * MiB, 4 * KiB}}}, seed);
    }

    /// Runs imgconv with `args` and checks that it failed with `status` and left no destination
    /// and no temporary file.
    ProcessResult imgconv_fails(const std::vector<std::string>& args, int status) const
    {
        const std::vector<std::string> before = dir.names();
        const ProcessResult run = run_tool("imgconv", args);
        INFO(run.describe());
        CHECK(run.exit_code() == status);
        CHECK_FALSE(std::filesystem::exists(destination));
        CHECK(dir.sink_temporaries().empty());
        CHECK(dir.names() == before);
        return run;
    }
};

}  // namespace

TEST_SUITE("cli") {

TEST_CASE("imginfo: a file that is no known format fails with 1 and suggests -f raw")
{
    const Inputs in;
    const ProcessResult run = run_tool("imginfo", {in.text.string()});
    INFO(run.describe());
    CHECK(run.exit_code() == 1);
    CHECK(contains(run.err, in.text.string()));
    CHECK(contains(run.err, "-f raw"));
    CHECK(run.out.empty());
}

TEST_CASE("imginfo: a missing file fails with 1 naming the file")
{
    const Inputs in;
    const auto missing = in.dir / "missing.img";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{missing.string()}, {"-f", "raw", missing.string()}, {"-f", "raw", "--map", missing.string()}}) {
        const ProcessResult run = run_tool("imginfo", args);
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, missing.string()));
    }
}

TEST_CASE("imginfo: text output of a raw disk and --help")
{
    const Inputs in;
    const ProcessResult info = run_tool("imginfo", {"-f", "raw", in.disk.string()});
    INFO(info.describe());
    CHECK(info.exit_code() == 0);
    CHECK(contains(info.out, in.disk.string()));
    CHECK(contains(info.out, "raw"));

    const ProcessResult help = run_tool("imginfo", {"--help"});
    CHECK(help.exit_code() == 0);
    CHECK(contains(help.out, "--map"));
}

TEST_CASE("imginfo: bad usage exits with 2")
{
    const Inputs in;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{}, {"--no-such-flag", in.disk.string()}, {"-f"}, {"--json", "--map", "-f", "raw", in.disk.string()},
          {in.disk.string(), "extra-argument"}}) {
        const ProcessResult run = run_tool("imginfo", args);
        CAPTURE(args);
        INFO(run.describe());
        CHECK(run.exit_code() == 2);
        CHECK_FALSE(run.err.empty());
    }
}

TEST_CASE("imgconv: a file that is no known format fails with 1, suggests -f raw and leaves nothing")
{
    const Inputs in;
    const ProcessResult run = in.imgconv_fails({"-O", "raw", in.text.string(), in.destination.string()}, 1);
    CHECK(contains(run.err, in.text.string()));
    CHECK(contains(run.err, "-f raw"));
}

TEST_CASE("imgconv: a missing source fails with 1 naming it and leaves nothing")
{
    const Inputs in;
    const auto missing = in.dir / "missing.img";
    const ProcessResult run = in.imgconv_fails({"-f", "raw", "-O", "raw", missing.string(), in.destination.string()}, 1);
    CHECK(contains(run.err, missing.string()));
}

TEST_CASE("imgconv: bad usage exits with 2 and leaves nothing")
{
    const Inputs in;
    const std::string src = in.disk.string();
    const std::string dst = in.destination.string();
    for (const std::vector<std::string>& args : {std::vector<std::string>{},
                                                 {"--no-such-flag", "-f", "raw", "-O", "raw", src, dst},
                                                 {"-f", "raw", src, dst},
                                                 {"-f", "raw", "-O", "raw", "--threads", "abc", src, dst},
                                                 {"-f", "raw", "-O", "raw", "--threads", "0", src, dst},
                                                 {"-f", "raw", "-O", "raw", src}}) {
        CAPTURE(args);
        const ProcessResult run = in.imgconv_fails(args, 2);
        CHECK_FALSE(run.err.empty());
    }
}

TEST_CASE("imgconv: --help exits with 0 and mentions the options")
{
    const ProcessResult run = run_tool("imgconv", {"--help"});
    INFO(run.describe());
    CHECK(run.exit_code() == 0);
    CHECK(contains(run.out, "--threads"));
    CHECK(contains(run.out, "--force-progress"));
}

TEST_CASE("imgconv: an unknown output format fails naming the known formats and leaves nothing")
{
    const Inputs in;
    const std::vector<std::string> args{"-f", "raw", "-O", "nope", in.disk.string(), in.destination.string()};
    const ProcessResult run = run_tool("imgconv", args);
    INFO(run.describe());
    CHECK((run.exit_code() == 1 || run.exit_code() == 2));
    CHECK(contains(run.err, "nope"));
    CHECK(contains(run.err, "raw"));
    CHECK_FALSE(std::filesystem::exists(in.destination));
    CHECK(in.dir.sink_temporaries().empty());
}

TEST_CASE("imgconv: an unknown output option fails with 1 naming it and leaves nothing")
{
    const Inputs in;
    const ProcessResult run =
        in.imgconv_fails({"-f", "raw", "-O", "raw", "-o", "foo=1", in.disk.string(), in.destination.string()}, 1);
    CHECK(contains(run.err, "foo"));
}

TEST_CASE("imgconv: a destination that cannot be written fails with 1 naming it")
{
    const Inputs in;
    std::filesystem::create_directory(in.dir / "folder.img");
    for (const std::filesystem::path& destination : {in.dir / "folder.img", in.dir / "missing" / "dst.img"}) {
        const ProcessResult run = run_tool("imgconv", {"-f", "raw", "-O", "raw", in.disk.string(), destination.string()});
        INFO(run.describe());
        CHECK(run.exit_code() == 1);
        CHECK(contains(run.err, destination.string()));
        CHECK(in.dir.sink_temporaries().empty());
    }
    CHECK(std::filesystem::is_directory(in.dir / "folder.img"));
    CHECK(std::filesystem::is_empty(in.dir / "folder.img"));
}

TEST_CASE("imgconv: converting onto the source fails with 1 and keeps the source")
{
    const Inputs in;
    const std::vector<std::byte> before = read_whole_file(in.disk);
    const ProcessResult run = run_tool("imgconv", {"-f", "raw", "-O", "raw", in.disk.string(), in.disk.string()});
    INFO(run.describe());
    CHECK(run.exit_code() == 1);
    CHECK(read_whole_file(in.disk) == before);
    CHECK(in.dir.sink_temporaries().empty());
}

TEST_CASE("imgconv: an existing destination is replaced only by a successful run")
{
    const Inputs in;
    write_text_file(in.destination, "the old destination\n");

    for (const std::vector<std::string>& failing :
         {std::vector<std::string>{"-f", "raw", "-O", "raw", "-o", "foo=1", in.disk.string(), in.destination.string()},
          {"-O", "raw", in.text.string(), in.destination.string()},
          {"-f", "raw", "-O", "nope", in.disk.string(), in.destination.string()}}) {
        CAPTURE(failing);
        const ProcessResult run = run_tool("imgconv", failing);
        INFO(run.describe());
        CHECK(run.exit_code() != 0);
        CHECK(read_text_file(in.destination) == "the old destination\n");
        CHECK(in.dir.sink_temporaries().empty());
    }

    const ProcessResult run =
        run_tool("imgconv", {"-f", "raw", "-O", "raw", in.disk.string(), in.destination.string()});
    INFO(run.describe());
    CHECK(run.exit_code() == 0);
    CHECK(file_difference(in.disk, in.destination) == "");
    CHECK(in.dir.sink_temporaries().empty());
}

TEST_CASE("imgconv: --json prints a summary of the conversion")
{
    const Inputs in;
    const ProcessResult run =
        run_tool("imgconv", {"-f", "raw", "-O", "raw", "--json", in.disk.string(), in.destination.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    const nlohmann::json summary = nlohmann::json::parse(run.out);
    CHECK(summary.at("virtual_size") == 4 * MiB);
    CHECK(summary.at("data_bytes") == 68 * KiB);
    CHECK(summary.at("format") == "raw");
    CHECK(file_difference(in.disk, in.destination) == "");
}

}  // TEST_SUITE
