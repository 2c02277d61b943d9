// Conformance over every built-in format: what our writer writes reads back the same through our
// reader and through qemu-img, and what qemu-img writes reads the same through our reader.
// A new format is covered by adding its line to `qemu_flavours`; the test fails until it has one.
#include <doctest/doctest.h>

#include <fcntl.h>

#include <algorithm>
#include <string>
#include <vector>

#include <diskshift/convert.hpp>
#include <diskshift/format.hpp>

#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/images.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"
#include "support/temp_dir.hpp"

using namespace dstest;

namespace {

/// How qemu-img names and creates one of our formats.
struct QemuFlavour {
    std::string format;                    ///< our name
    std::string qemu_format;               ///< qemu-img's name
    std::vector<std::string> qemu_create;  ///< extra `qemu-img convert` arguments
    bool qemu_size_rounds_up = false;      ///< qemu's output may be longer (zeros at the end)
};

const std::vector<QemuFlavour> qemu_flavours = {
    {"raw", "raw", {}, false},
    {"vmdk", "vmdk", {"-o", "subformat=streamOptimized"}, false},
    {"vhd", "vpc", {}, true},
    {"vhdx", "vhdx", {}, false},
    {"ova", "", {}, false},  // a package, not a qemu-img format: tests/unit/ova_* and tests/cli/ova_* cover it
};

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

/// A 5 MiB + 1536 disk: random data in the first and last sectors, a 3 MiB run, an unaligned
/// piece, explicitly written zeros between holes.
std::filesystem::path write_source_disk(const TempDir& dir)
{
    const std::filesystem::path path = dir / "source.raw";
    const std::uint64_t size = 5 * MiB + 1536;
    const Fd fd = open_file(path, O_RDWR | O_CREAT | O_TRUNC);
    REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
    RandomBytes random(20261123);
    write_at(fd.get(), random.make(512), 0);
    write_at(fd.get(), random.make(3 * MiB), 64 * KiB);
    write_at(fd.get(), std::vector<std::byte>(8 * KiB), 3 * MiB + 128 * KiB);
    write_at(fd.get(), random.make(1000), 4 * MiB + 100);
    write_at(fd.get(), random.make(512), size - 512);
    return path;
}

const QemuFlavour* flavour_of(std::string_view format)
{
    const auto it = std::find_if(qemu_flavours.begin(), qemu_flavours.end(),
                                 [&](const QemuFlavour& f) { return f.format == format; });
    return it == qemu_flavours.end() ? nullptr : &*it;
}

/// Opens a file by probing, or by name for raw (which is never probed).
std::unique_ptr<diskshift::Image> open_as(const std::filesystem::path& path, std::string_view format)
{
    diskshift::OpenOptions options;
    if (format == "raw") {
        options.format = "raw";
    }
    auto image = diskshift::open_image(path, options);
    CHECK(image->info().format == format);
    return image;
}


void check_our_writer(const TempDir& dir, const std::filesystem::path& source_path, const QemuFlavour& flavour)
{
    const auto source = open_raw_file(source_path);
    const std::filesystem::path written = dir / ("ours." + flavour.format);
    diskshift::ConvertOptions options;
    options.format = flavour.format;
    diskshift::convert(*source, written, options);

    INFO("our ", flavour.format, " writer, read back by our reader");
    CHECK(image_difference(*source, *open_as(written, flavour.format)) == "");

    INFO("our ", flavour.format, " writer, read by qemu-img compare");
    const ProcessResult compare = run_process({qemu_img().string(), "compare", "-f", "raw", "-F",
                                               flavour.qemu_format, source_path.string(), written.string()});
    INFO(compare.describe());
    CHECK(compare.exit_code() == 0);
}

/// The source disk in `flavour`'s format, written by qemu-img: <dir>/qemu.<format>.
std::filesystem::path write_with_qemu(const TempDir& dir, const std::filesystem::path& source_path,
                                      const QemuFlavour& flavour)
{
    const std::filesystem::path written = dir / ("qemu." + flavour.format);
    std::vector<std::string> argv = {qemu_img().string(), "convert", "-f", "raw", "-O", flavour.qemu_format};
    argv.insert(argv.end(), flavour.qemu_create.begin(), flavour.qemu_create.end());
    argv.insert(argv.end(), {source_path.string(), written.string()});
    const ProcessResult convert = run_process(argv);
    INFO(convert.describe());
    REQUIRE(convert.exit_code() == 0);
    return written;
}

void check_our_reader(const TempDir& dir, const std::filesystem::path& source_path, const QemuFlavour& flavour)
{
    const std::filesystem::path written = write_with_qemu(dir, source_path, flavour);
    INFO("qemu-img's ", flavour.format, " read by our reader");
    CHECK(image_difference(*open_raw_file(source_path), *open_as(written, flavour.format),
                           flavour.qemu_size_rounds_up) == "");
}

/// Converts `input` (read as `in`) into `out` with our writer, then reads the result back with our
/// reader and with qemu-img and compares both with the source disk. `in`'s qemu-made file may be
/// longer than the source (zeros at the end), and so then is the output.
void check_pair(const TempDir& dir, const std::filesystem::path& source_path, const std::filesystem::path& input,
                const QemuFlavour& in, const QemuFlavour& out)
{
    INFO("read ", in.format, " (", input.filename().string(), "), write ", out.format);
    const std::filesystem::path written = dir / ("pair-" + in.format + "." + out.format);
    diskshift::ConvertOptions options;
    options.format = out.format;
    diskshift::convert(*open_as(input, in.format), written, options);

    CHECK(image_difference(*open_raw_file(source_path), *open_as(written, out.format), in.qemu_size_rounds_up) == "");
    const ProcessResult compare = run_process({qemu_img().string(), "compare", "-f", "raw", "-F", out.qemu_format,
                                               source_path.string(), written.string()});
    INFO(compare.describe());
    CHECK(compare.exit_code() == 0);
    std::filesystem::remove(written);
}

}  // namespace

TEST_SUITE("conformance") {

TEST_CASE("conformance: every built-in format has a qemu-img flavour to be checked against")
{
    for (const diskshift::Format* format : diskshift::builtin_formats()) {
        CHECK_MESSAGE(flavour_of(format->name()) != nullptr,
                      "add a qemu_flavours line for the format " << format->name());
    }
}

TEST_CASE("conformance: each format reads what qemu-img writes, and writes what it reads back")
{
    const TempDir dir;
    const std::filesystem::path source = write_source_disk(dir);
    for (const diskshift::Format* format : diskshift::builtin_formats()) {
        const QemuFlavour* flavour = flavour_of(format->name());
        REQUIRE(flavour != nullptr);
        if (flavour->qemu_format.empty()) {
            continue;
        }
        INFO("format ", format->name());
        check_our_reader(dir, source, *flavour);
        if (format->can_write()) {
            check_our_writer(dir, source, *flavour);
        }
    }
}

TEST_CASE("conformance: every read format x every write format: write, read back with ours and qemu-img, compare")
{
    const TempDir dir;
    const std::filesystem::path source = write_source_disk(dir);
    for (const diskshift::Format* reader : diskshift::builtin_formats()) {
        const QemuFlavour* in = flavour_of(reader->name());
        REQUIRE(in != nullptr);
        if (in->qemu_format.empty()) {
            continue;
        }
        const std::filesystem::path input = in->format == "raw" ? source : write_with_qemu(dir, source, *in);
        for (const diskshift::Format* writer : diskshift::builtin_formats()) {
            if (writer->can_write()) {
                check_pair(dir, source, input, *in, *flavour_of(writer->name()));
            }
        }
    }
}

}  // TEST_SUITE
