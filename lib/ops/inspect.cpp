// Describing an image: JSON and text for imginfo, and the allocation map.
#include <diskshift/inspect.hpp>

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <diskshift/error.hpp>

#include "core/fail.hpp"
#include "ops/extent_walk.hpp"

namespace diskshift {
namespace {

nlohmann::ordered_json optional_json(const auto& value)
{
    return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

std::string scalar_text(const nlohmann::ordered_json& value)
{
    return value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Format-specific details as indented "key: value" lines; arrays of objects as numbered entries.
void print_details(std::ostream& out, const nlohmann::ordered_json& details, int indent)
{
    const std::string pad(static_cast<std::size_t>(indent), ' ');
    for (const auto& [key, value] : details.items()) {
        if (value.is_object()) {
            fmt::print(out, "{}{}:\n", pad, key);
            print_details(out, value, indent + 4);
        } else if (value.is_array() && !value.empty() && value.front().is_object()) {
            fmt::print(out, "{}{}:\n", pad, key);
            for (std::size_t i = 0; i < value.size(); ++i) {
                fmt::print(out, "{}    [{}]:\n", pad, i);
                print_details(out, value[i], indent + 8);
            }
        } else {
            fmt::print(out, "{}{}: {}\n", pad, key, scalar_text(value));
        }
    }
}

}  // namespace

nlohmann::ordered_json describe_json(const Image& image)
{
    const ImageInfo& info = image.info();
    nlohmann::ordered_json out;
    out["filename"] = info.filename;
    out["format"] = info.format;
    out["subformat"] = optional_json(info.subformat);
    out["virtual_size"] = info.virtual_size;
    out["cluster_size"] = optional_json(info.cluster_size);
    out["allocated_bytes"] = info.allocated_bytes;
    out["id"] = info.id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(info.id);
    out["parent"] = info.parent ? nlohmann::ordered_json{{"hint", info.parent->hint}, {"id", info.parent->id}}
                                : nlohmann::ordered_json(nullptr);
    out["details"] = info.details;
    out["warnings"] = info.warnings;
    return out;
}

void describe_text(std::ostream& out, const Image& image)
{
    const ImageInfo& info = image.info();
    fmt::print(out, "image: {}\n", info.filename);
    fmt::print(out, "file format: {}\n", info.format);
    if (info.subformat) {
        fmt::print(out, "subformat: {}\n", *info.subformat);
    }
    fmt::print(out, "virtual size: {} ({} bytes)\n", human_size(info.virtual_size), info.virtual_size);
    fmt::print(out, "disk size: {}\n", human_size(info.allocated_bytes));
    if (info.cluster_size) {
        fmt::print(out, "cluster size: {}\n", *info.cluster_size);
    }
    if (!info.id.empty()) {
        fmt::print(out, "id: {}\n", info.id);
    }
    if (info.parent) {
        fmt::print(out, "parent: {} (id {})\n", info.parent->hint, info.parent->id);
    }
    if (!info.details.empty()) {
        fmt::print(out, "format details:\n");
        print_details(out, info.details, 4);
    }
    for (const std::string& warning : info.warnings) {
        fmt::print(out, "warning: {}\n", warning);
    }
}

void write_map_json(std::ostream& out, const Image& image, const ProgressFn& progress)
{
    std::optional<Extent> pending;  // held back until the next window shows whether it goes on
    const char* separator = "\n";
    const auto emit = [&](const Extent& e) {
        fmt::print(out, "{}{{\"offset\":{},\"length\":{},\"kind\":\"{}\"}}", separator, e.offset, e.length,
                   to_string(e.kind));
        separator = ",\n";
    };
    out << '[';
    for_each_extent(
        image,
        [&](const Extent& e) {
            if (pending && pending->kind == e.kind) {
                pending->length += e.length;
                return;
            }
            if (pending) {
                emit(*pending);
            }
            pending = e;
        },
        [&](std::uint64_t reached) {
            if (progress && !progress(reached, image.size())) {
                fail(Errc::cancelled, "{}: map stopped at offset {}", image.info().filename, reached);
            }
        });
    if (pending) {
        emit(*pending);
    }
    out << "\n]\n";
}

}  // namespace diskshift
