// Formats: the built-in list, lookup by name, detection (raw never guessed), opening as raw.
#include <algorithm>
#include <string>

#include <doctest/doctest.h>

#include <diskshift/format.hpp>
#include <diskshift/io.hpp>

#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/printing.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace dstest;

namespace {

constexpr std::uint64_t seed = 0x5eed0003;

}  // namespace

TEST_SUITE("format") {

TEST_CASE("builtin_formats: raw is built in and can be written")
{
    const auto formats = diskshift::builtin_formats();
    const auto raw = std::find_if(formats.begin(), formats.end(),
                                  [](const diskshift::Format* f) { return f->name() == "raw"; });
    REQUIRE(raw != formats.end());
    CHECK((*raw)->can_write());
    CHECK_FALSE((*raw)->description().empty());
    CHECK(&diskshift::find_format("raw") == *raw);
}

TEST_CASE("find_format: an unknown name throws unsupported listing the known formats")
{
    CHECK(error_kind_of([] { (void)diskshift::find_format("nope"); }) == "unsupported");
    const std::string message = error_message_of([] { (void)diskshift::find_format("nope"); });
    CHECK(contains(message, "nope"));
    CHECK(contains(message, "raw"));
    CHECK(error_kind_of([] { (void)diskshift::find_format(""); }) == "unsupported");
}

TEST_CASE("detect_format: raw is never guessed, the message says to pass -f raw")
{
    const TempDir dir;
    write_text_file(dir / "notes.txt", "just some text, not a disk image\n");
    write_whole_file(dir / "random.bin", random_bytes(256 * 1024, seed));
    write_whole_file(dir / "zeros.bin", std::vector<std::byte>(1024 * 1024));
    write_whole_file(dir / "empty.bin", {});

    for (const std::string name : {"notes.txt", "random.bin", "zeros.bin", "empty.bin"}) {
        CAPTURE(name);
        const diskshift::FileSource source(dir / name);
        CHECK(error_kind_of([&] { (void)diskshift::detect_format(source); }) == "unsupported");
        const std::string message = error_message_of([&] { (void)diskshift::detect_format(source); });
        CHECK(contains(message, name));
        CHECK(contains(message, "raw is never guessed"));
        CHECK(contains(message, "-f raw"));
    }
}

TEST_CASE("open_image: without a format an unrecognised file is refused")
{
    const TempDir dir;
    write_text_file(dir / "notes.txt", "hello\n");
    CHECK(error_kind_of([&] { (void)diskshift::open_image(dir / "notes.txt"); }) == "unsupported");
    CHECK(error_kind_of([&] { (void)diskshift::open_image(dir / "missing.img"); }) == "io");
}

TEST_CASE("open_image: format raw presents the file as it is")
{
    const TempDir dir;
    const auto path = dir / "disk.img";
    write_whole_file(path, random_bytes(3 * 4096 + 5, seed));

    diskshift::OpenOptions options;
    options.format = "raw";
    const auto image = diskshift::open_image(path, options);
    const diskshift::ImageInfo& info = image->info();
    CHECK(info.format == "raw");
    CHECK(info.filename == path.string());
    CHECK(info.virtual_size == 3 * 4096 + 5);
    CHECK(image->size() == 3 * 4096 + 5);
    CHECK(info.subformat == std::nullopt);
    CHECK(info.cluster_size == std::nullopt);
    CHECK_FALSE(info.parent.has_value());
    CHECK(info.id.empty());
    CHECK(info.allocated_bytes == allocated_bytes(path));
}

TEST_CASE("open_image: an unknown format name is refused")
{
    const TempDir dir;
    write_text_file(dir / "disk.img", "x");
    diskshift::OpenOptions options;
    options.format = "nope";
    CHECK(error_kind_of([&] { (void)diskshift::open_image(dir / "disk.img", options); }) == "unsupported");
}

}  // TEST_SUITE
