// Finding formats by name and by content, and opening images.
#include <diskshift/format.hpp>

#include <algorithm>
#include <vector>

#include "core/fail.hpp"

namespace diskshift {
namespace {

constexpr std::uint64_t probe_head_bytes = 64 * 1024;
constexpr std::uint64_t probe_tail_bytes = 4 * 1024;
/// Images opened through other images (extents, parents, disks in packages) nest at most this deep.
constexpr unsigned max_open_depth = 32;

std::string format_names(bool only_probing)
{
    std::string names;
    for (const Format* format : builtin_formats()) {
        if (only_probing && format->name() == "raw") {
            continue;
        }
        names += fmt::format("{}{}", names.empty() ? "" : ", ", format->name());
    }
    return names.empty() ? "none" : names;
}

}  // namespace

std::unique_ptr<Writer> Format::create(ByteSink& sink, CreateRequest) const
{
    fail(Errc::unsupported, "{}: diskshift cannot write the {} format", sink.name(), name());
}

void Writer::write_encoded(const ChunkEncoder&)
{
    fail(Errc::invalid_argument, "write_encoded() called on a writer that has no chunk encoder");
}

std::shared_ptr<const ByteSource> OpenContext::open_related(const std::string& name) const
{
    if (resolver) {
        return resolver(name);
    }
    return std::make_shared<FileSource>(folder / name);
}

const Format& find_format(std::string_view name)
{
    for (const Format* format : builtin_formats()) {
        if (format->name() == name) {
            return *format;
        }
    }
    fail(Errc::unsupported, "unknown format '{}' (known: {})", name, format_names(false));
}

const Format& detect_format(const ByteSource& source)
{
    const std::uint64_t size = source.size();
    std::vector<std::byte> head(std::min(size, probe_head_bytes));
    std::vector<std::byte> tail(std::min(size, probe_tail_bytes));
    source.read_at(head, 0);
    source.read_at(tail, size - tail.size());
    const ProbeInput input{head, tail, size};

    const Format* best = nullptr;
    int best_score = 0;
    for (const Format* format : builtin_formats()) {
        const int score = format->name() == "raw" ? 0 : format->probe(input);
        if (score > best_score) {
            best = format;
            best_score = score;
        }
    }
    if (best == nullptr) {
        fail(Errc::unsupported,
             "{}: not a recognised disk image (tried: {}); raw is never guessed, pass -f raw to read it as raw",
             source.name(), format_names(true));
    }
    return *best;
}

std::unique_ptr<Image> open_image(std::shared_ptr<const ByteSource> source, const OpenContext& context)
{
    if (context.depth > max_open_depth) {
        fail(Errc::corrupt, "{}: images refer to each other more than {} levels deep", source->name(),
             max_open_depth);
    }
    const Format& format =
        context.options.format.empty() ? detect_format(*source) : find_format(context.options.format);
    return format.open(std::move(source), context);
}

std::unique_ptr<Image> open_image(const std::filesystem::path& path, const OpenOptions& options)
{
    OpenContext context;
    context.options = options;
    context.folder = path.parent_path();
    return open_image(std::make_shared<FileSource>(path), context);
}

}  // namespace diskshift
