// Checking an image: the report, the default check (open and read everything), text and JSON.
#include <diskshift/check.hpp>

#include <algorithm>
#include <charconv>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/fail.hpp"
#include "ops/extent_walk.hpp"

namespace diskshift {
namespace {

/// The read pass reads data ranges this many bytes at a time.
constexpr std::uint64_t read_piece_bytes = 4ULL << 20;

/// The value of the last "offset 0x…" a reader's message names, the convention of every Error.
std::optional<std::uint64_t> last_offset_in(const std::string& message)
{
    static constexpr std::string_view marker = "offset 0x";
    const std::size_t at = message.rfind(marker);
    if (at == std::string::npos) {
        return std::nullopt;
    }
    const char* first = message.data() + at + marker.size();
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(first, message.data() + message.size(), value, 16);
    if (ec != std::errc{} || end == first) {
        return std::nullopt;
    }
    return value;
}

std::string without_prefix(const std::string& text, const std::string& prefix)
{
    return !prefix.empty() && text.starts_with(prefix + ": ") ? text.substr(prefix.size() + 2) : text;
}

std::string offset_text(const std::optional<std::uint64_t>& offset)
{
    return offset ? fmt::format(" at offset 0x{:x}", *offset) : std::string();
}

}  // namespace

void CheckReport::add(std::string structure, std::optional<std::uint64_t> offset, std::string message)
{
    if (problems.size() >= max_problems) {
        ++unlisted_problems;
        return;
    }
    problems.push_back({std::move(structure), offset, std::move(message)});
}

void CheckReport::add_error(std::string structure, const Error& error)
{
    const std::string message = error.what();
    add(std::move(structure), last_offset_in(message), without_prefix(message, filename));
}

void CheckReport::merge(const CheckReport& other, const std::string& prefix, std::uint64_t offset_shift)
{
    for (const CheckProblem& p : other.problems) {
        add(prefix + p.structure, p.offset ? std::optional(*p.offset + offset_shift) : std::nullopt, p.message);
    }
    unlisted_problems += other.unlisted_problems;
    for (const auto& [key, value] : other.state.items()) {
        state[prefix + key] = value;
    }
}

void Format::check(std::shared_ptr<const ByteSource> source, const OpenContext& context, CheckReport& report) const
{
    check_by_reading(*this, std::move(source), context, report);
}

void check_by_reading(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
                      CheckReport& report)
{
    std::unique_ptr<Image> image;
    try {
        image = format.open(std::move(source), context);
    } catch (const Error& e) {
        report.add_error("image", e);
        return;
    }
    report.subformat = image->info().subformat;
    if (report.read_data) {
        read_every_extent(*image, report);
    }
}

void read_every_extent(const Image& image, CheckReport& report)
{
    std::vector<std::byte> buffer;
    try {
        for_each_extent(
            image,
            [&](const Extent& e) {
                if (e.kind != ExtentKind::data) {
                    return;
                }
                buffer.resize(static_cast<std::size_t>(std::min(read_piece_bytes, e.length)));
                for (std::uint64_t at = e.offset; at < e.end(); at += read_piece_bytes) {
                    const std::uint64_t n = std::min(read_piece_bytes, e.end() - at);
                    image.read(std::span(buffer).first(static_cast<std::size_t>(n)), at);
                }
            },
            [](std::uint64_t) {});
    } catch (const Error& e) {
        report.add_error("disk data", e);
    }
}

CheckReport check_image(const std::filesystem::path& path, const CheckOptions& options)
{
    auto source = std::make_shared<FileSource>(path);
    OpenContext context;
    context.options = options.open;
    context.options.allow_delta_alone = true;  // a delta's own structure is checked without its parent
    context.folder = path.parent_path();
    const Format& format =
        options.open.format.empty() ? detect_format(*source) : find_format(options.open.format);

    CheckReport report;
    report.filename = source->name();
    report.format = std::string(format.name());
    report.max_problems = options.max_problems;
    report.read_data = options.read_data;
    format.check(std::move(source), context, report);
    return report;
}

nlohmann::ordered_json check_json(const CheckReport& report)
{
    nlohmann::ordered_json out;
    out["filename"] = report.filename;
    out["format"] = report.format;
    out["subformat"] = report.subformat ? nlohmann::ordered_json(*report.subformat) : nlohmann::ordered_json(nullptr);
    out["clean"] = report.clean();
    out["problems"] = nlohmann::ordered_json::array();
    for (const CheckProblem& p : report.problems) {
        out["problems"].push_back({{"structure", p.structure},
                                   {"offset", p.offset ? nlohmann::ordered_json(*p.offset) : nullptr},
                                   {"message", p.message}});
    }
    out["unlisted_problems"] = report.unlisted_problems;
    out["state"] = report.state;
    return out;
}

void check_text(std::ostream& out, const CheckReport& report)
{
    for (const CheckProblem& p : report.problems) {
        fmt::print(out, "{}: {}{}: {}\n", report.filename, p.structure, offset_text(p.offset), p.message);
    }
    if (report.unlisted_problems > 0) {
        fmt::print(out, "{}: ... and {} more problems not listed\n", report.filename, report.unlisted_problems);
    }
    for (const auto& [key, value] : report.state.items()) {
        fmt::print(out, "{}: {}: {}\n", report.filename, key, value.is_string() ? value.get<std::string>() : value.dump());
    }
    const std::string kind = report.format + (report.subformat ? " (" + *report.subformat + ")" : "");
    const std::uint64_t total = report.problems.size() + report.unlisted_problems;
    if (total == 0) {
        fmt::print(out, "{}: {} image: no problems found\n", report.filename, kind);
    } else {
        fmt::print(out, "{}: {} image: {} problem{} found\n", report.filename, kind, total, total == 1 ? "" : "s");
    }
}

}  // namespace diskshift
