// Describing and materialising an opened chain.
#include <diskshift/merge.hpp>

#include <diskshift/inspect.hpp>

#include "core/fail.hpp"
#include "ops/extent_walk.hpp"

namespace diskshift {
namespace {

/// Bytes of each extent kind in one layer, from its metadata alone.
nlohmann::ordered_json allocation_of(const Image& image)
{
    std::uint64_t bytes[3] = {0, 0, 0};
    for_each_extent(
        image, [&bytes](const Extent& e) { bytes[static_cast<int>(e.kind)] += e.length; }, [](std::uint64_t) {});
    return {{"data", bytes[static_cast<int>(ExtentKind::data)]},
            {"zero", bytes[static_cast<int>(ExtentKind::zero)]},
            {"unallocated", bytes[static_cast<int>(ExtentKind::unallocated)]},
            {"allocated_bytes", image.info().allocated_bytes}};
}

nlohmann::ordered_json layer_json(const ChainLayer& layer)
{
    const ImageInfo& info = layer.image->info();
    nlohmann::ordered_json out;
    out["filename"] = layer.path.string();
    out["format"] = info.format;
    out["subformat"] = info.subformat ? nlohmann::ordered_json(*info.subformat) : nlohmann::ordered_json(nullptr);
    out["virtual_size"] = info.virtual_size;
    out["id"] = info.id;
    out["parent"] = info.parent ? nlohmann::ordered_json{{"hint", info.parent->hint}, {"id", info.parent->id}}
                                : nlohmann::ordered_json(nullptr);
    out["link"] = {{"status", to_string(layer.status)}, {"text", layer.link}};
    out["allocation"] = allocation_of(*layer.image);
    nlohmann::ordered_json warnings = info.warnings;
    for (const std::string& w : layer.warnings) {
        warnings.push_back(w);
    }
    out["warnings"] = std::move(warnings);
    return out;
}

}  // namespace

nlohmann::ordered_json describe_chain_json(const Chain& chain)
{
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (auto it = chain.layers.rbegin(); it != chain.layers.rend(); ++it) {
        layers.push_back(layer_json(*it));
    }
    return {{"complete", chain.merged != nullptr}, {"layers", std::move(layers)}};
}

void describe_chain_text(std::ostream& out, const Chain& chain)
{
    const nlohmann::ordered_json json = describe_chain_json(chain);
    const auto text = [](const nlohmann::ordered_json& value) { return value.get<std::string>(); };
    const auto size = [](const nlohmann::ordered_json& value) { return human_size(value.get<std::uint64_t>()); };
    std::size_t depth = 0;
    for (const auto& layer : json["layers"]) {
        out << "layer " << depth << (depth == 0 ? " (top)" : "") << ": " << text(layer["filename"]) << '\n'
            << "  format: " << text(layer["format"]);
        if (!layer["subformat"].is_null()) {
            out << ' ' << text(layer["subformat"]);
        }
        out << "\n  virtual size: " << size(layer["virtual_size"]) << " (" << layer["virtual_size"] << " bytes)\n"
            << "  id: " << (text(layer["id"]).empty() ? "(none)" : text(layer["id"])) << '\n';
        if (!layer["parent"].is_null()) {
            out << "  parent: \"" << text(layer["parent"]["hint"]) << "\" id " << text(layer["parent"]["id"]) << '\n';
        }
        const auto& link = layer["link"];
        out << "  link: " << text(link["status"]);
        if (!text(link["text"]).empty()) {
            out << " (" << text(link["text"]) << ')';
        }
        const auto& a = layer["allocation"];
        out << "\n  allocation: data " << size(a["data"]) << ", zero " << size(a["zero"]) << ", unallocated "
            << size(a["unallocated"]) << "; " << size(a["allocated_bytes"]) << " on disk\n";
        for (const auto& warning : layer["warnings"]) {
            out << "  warning: " << text(warning) << '\n';
        }
        ++depth;
    }
    out << "chain: " << (chain.merged ? "complete" : "BROKEN") << ", " << chain.layers.size() << " layer"
        << (chain.layers.size() == 1 ? "" : "s") << '\n';
}

ConvertStats materialise(const Chain& chain, const std::filesystem::path& destination, const ConvertOptions& options)
{
    if (!chain.merged) {
        fail(Errc::chain_mismatch, "{}: the chain is broken; nothing is written", destination.string());
    }
    for (const ChainLayer& layer : chain.layers) {
        std::error_code ec;
        if (std::filesystem::equivalent(layer.path, destination, ec)) {
            fail(Errc::invalid_argument, "{}: the destination is a layer of the chain; diskshift never modifies its "
                 "input", destination.string());
        }
    }
    return convert(*chain.merged, destination, options);
}

}  // namespace diskshift
