#include "fuzz_harness.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <vector>

#include <diskshift/check.hpp>
#include <diskshift/convert.hpp>
#include <diskshift/format.hpp>
#include <diskshift/image.hpp>
#include <diskshift/io.hpp>
#include <diskshift/ova.hpp>
#include <diskshift/writer.hpp>

namespace diskshift::fuzz {
namespace {

constexpr std::uint64_t sample_bytes = std::uint64_t{1} << 20;
/// Data extents of a sampled image read in part, and how much of each.
constexpr std::size_t sampled_extents = 8;
constexpr std::uint64_t extent_sample_bytes = 64 * 1024;
/// The disks of a package (an OVA) read: the first four.
constexpr std::size_t package_disks_read = 4;

/// A writer that keeps nothing. It checks what convert() hands it lies inside the disk: a range
/// outside is a bug in convert() or in a format's extents, reported as a crash.
class NullWriter final : public Writer {
public:
    explicit NullWriter(std::uint64_t virtual_size) : virtual_size_(virtual_size) {}

    void write(std::uint64_t offset, std::span<const std::byte> data) override { check(offset, data.size()); }
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override { check(offset, length); }
    void finish() override {}

private:
    void check(std::uint64_t offset, std::uint64_t length) const
    {
        if (offset > virtual_size_ || length > virtual_size_ - offset) {
            __builtin_trap();
        }
    }

    std::uint64_t virtual_size_;
};

void read_range(const Image& image, std::vector<std::byte>& buffer, std::uint64_t offset, std::uint64_t length)
{
    buffer.resize(length);
    image.read(buffer, offset);
}

/// The bound on the work one input may cause. A file of a few KiB can describe a 64 TiB disk
/// whose every grain or block points at the same data, so reading a large disk whole would turn
/// the fuzzer into a benchmark (and hit -timeout). The rule:
///   - a disk of at most convert_cap_bytes is read whole through convert() with one thread,
///     exactly as imgconv reads it, into a writer that keeps nothing;
///   - a larger disk is sampled: the extents of its first and last convert_cap_bytes / 2 bytes
///     (this walks the format's block tables over that window), its first and last MiB, and the
///     first 64 KiB of up to 8 data extents found in those windows.
void read_bounded(const Image& image)
{
    const std::uint64_t size = image.size();
    if (size <= convert_cap_bytes) {
        NullWriter writer(size);
        ConvertOptions options;
        options.threads = 1;
        convert(image, writer, options);
        return;
    }
    const std::uint64_t window = convert_cap_bytes / 2;
    std::vector<std::byte> buffer;
    std::size_t sampled = 0;
    for (const std::uint64_t start : {std::uint64_t{0}, size - window}) {
        for (const Extent& extent : image.extents(start, window)) {
            if (extent.kind == ExtentKind::data && sampled < sampled_extents) {
                read_range(image, buffer, extent.offset, std::min(extent.length, extent_sample_bytes));
                ++sampled;
            }
        }
    }
    read_range(image, buffer, 0, sample_bytes);
    read_range(image, buffer, size - sample_bytes, sample_bytes);
}

/// What a file the image names (a VMDK descriptor's extent) is served: the input's bytes from the
/// first 512-byte boundary after its first NUL byte, or the whole input when it has no NUL. A
/// descriptor file padded with NULs and followed by an extent thus fuzzes both in one input; the
/// descriptor parser ignores everything after a NUL (technote: padding).
std::shared_ptr<const ByteSource> related_file(const std::shared_ptr<const MemorySource>& input,
                                               std::span<const std::uint8_t> bytes)
{
    constexpr std::uint64_t sector = 512;
    const auto nul = std::find(bytes.begin(), bytes.end(), std::uint8_t{0});
    if (nul == bytes.end()) {
        return input;
    }
    const std::uint64_t start = std::min<std::uint64_t>(
        (static_cast<std::uint64_t>(nul - bytes.begin()) + sector) / sector * sector, bytes.size());
    return std::make_shared<SubrangeSource>(input, start, bytes.size() - start, input->name() + "-extent");
}

/// Opens and reads one disk; returns how many disks its package (an OVA) holds, 0 for a lone image.
std::size_t read_disk(const std::shared_ptr<const ByteSource>& source, const OpenContext& context)
{
    std::size_t disks = 0;
    expect_only_errors([&] {
        const std::unique_ptr<Image> image = open_image(source, context);
        read_bounded(*image);
        // What imgconv does before the output appears: the manifest check of an OVA's files.
        verify_ova_reads(*image);
        disks = ova_disks(*image).size();
        if (std::getenv("DISKSHIFT_FUZZ_VERBOSE") != nullptr) {
            std::cerr << "read " << image->info().format << " of " << image->size() << " bytes\n";
        }
    });
    return disks;
}

/// What imgcheck does with the file: the format's structural check. Its tables only: the read
/// pass of a large disk is as unbounded as convert() (read_bounded() covers the reading).
void check_structure(const std::shared_ptr<const ByteSource>& source, const OpenContext& context)
{
    expect_only_errors([&] {
        CheckReport report;
        report.read_data = false;
        find_format(context.options.format).check(source, context, report);
    });
}

void open_with_related(const std::shared_ptr<const ByteSource>& source, std::shared_ptr<const ByteSource> related,
                       const std::string& format)
{
    OpenContext context;
    context.options.format = format;
    context.options.allow_delta_alone = true;
    context.resolver = [related, name = source->name()](const std::string& file) {
        if (!related) {
            throw Error(Errc::unsupported, name + ": the fuzz harness serves no file \"" + file + "\"");
        }
        return related;
    };
    check_structure(source, context);
    const std::size_t disks = read_disk(source, context);
    // A package's other disks, by number, up to a few.
    for (std::size_t disk = 2; disk <= std::min(disks, package_disks_read); ++disk) {
        context.options.disk = std::to_string(disk);
        read_disk(source, context);
    }
}

}  // namespace

void note_error(const Error& e)
{
    static const bool verbose = std::getenv("DISKSHIFT_FUZZ_VERBOSE") != nullptr;
    if (verbose) {
        std::cerr << "diskshift::Error: " << e.what() << '\n';
    }
}

void open_and_read(std::span<const std::uint8_t> input, const std::string& format, const std::string& name)
{
    std::vector<std::byte> bytes(input.size());
    std::copy(input.begin(), input.end(), reinterpret_cast<std::uint8_t*>(bytes.data()));
    const auto source = std::make_shared<const MemorySource>(std::move(bytes), name);
    open_with_related(source, related_file(source, input), format);
}

void open_and_read(std::shared_ptr<const ByteSource> source, const std::string& format)
{
    open_with_related(source, nullptr, format);
}

}  // namespace diskshift::fuzz
