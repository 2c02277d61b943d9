// diskshift — formats: probe, open and create, and the built-in list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <diskshift/image.hpp>
#include <diskshift/io.hpp>
#include <diskshift/writer.hpp>

namespace diskshift {

struct CheckReport;

/// What probing sees of a file: its first and last bytes, read once for every format.
struct ProbeInput {
    std::span<const std::byte> head;  ///< the first min(64 KiB, size) bytes
    std::span<const std::byte> tail;  ///< the last min(4 KiB, size) bytes (a VHD footer)
    std::uint64_t file_size = 0;
};

struct OpenOptions {
    std::string format;              ///< a format name, or empty to probe (raw is never guessed)
    bool allow_delta_alone = false;  ///< open a delta by itself: its unallocated ranges read as zero
    /// In a package (OVA): the disk to open, by its id or its number from 1. Empty: the only
    /// disk, or the first of several (ova_disk_chosen_by_default() then says so).
    std::string disk;
};

/// Handed to Format::open: the caller's options and a way to reach files an image refers to
/// (VMDK extents, parents), relative to the image's folder.
struct OpenContext {
    OpenOptions options;
    std::filesystem::path folder;  ///< where relative names are resolved
    unsigned depth = 0;            ///< nesting of images opened through other images
    /// Opens a file named by the image; null means "a FileSource under `folder`".
    std::function<std::shared_ptr<const ByteSource>(const std::string& name)> resolver;

    std::shared_ptr<const ByteSource> open_related(const std::string& name) const;
};

class Format {
public:
    virtual ~Format() = default;

    virtual std::string_view name() const noexcept = 0;
    virtual std::string_view description() const noexcept = 0;
    virtual bool can_write() const noexcept { return false; }

    /// How sure this format is that the bytes are its own: 0 (not mine) to 100. Pure: no I/O.
    virtual int probe(const ProbeInput& input) const noexcept = 0;
    virtual std::unique_ptr<Image> open(std::shared_ptr<const ByteSource> source,
                                        const OpenContext& context) const = 0;
    /// Creates a writer into `sink`. The default throws Error(Errc::unsupported).
    virtual std::unique_ptr<Writer> create(ByteSink& sink, CreateRequest request) const;
    /// Checks the structure of the image in `source`, adding what is wrong to `report` (check.hpp).
    /// The default opens the image and reads every allocated range (check_by_reading()).
    virtual void check(std::shared_ptr<const ByteSource> source, const OpenContext& context,
                       CheckReport& report) const;
};

/// The built-in formats, in the order of lib/formats/builtin.cpp.
std::span<const Format* const> builtin_formats() noexcept;

/// The format called `name`; Error(Errc::unsupported) lists the known names otherwise.
const Format& find_format(std::string_view name);

/// The format whose probe scores highest; an unrecognised source is Error(Errc::unsupported)
/// naming the formats tried. Raw is never the answer: it must be asked for by name.
const Format& detect_format(const ByteSource& source);

/// Opens a file (read-only) or a source as an image, by name or by probing.
std::unique_ptr<Image> open_image(const std::filesystem::path& path, const OpenOptions& options = {});
std::unique_ptr<Image> open_image(std::shared_ptr<const ByteSource> source, const OpenContext& context);

}  // namespace diskshift
