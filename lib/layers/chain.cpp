// open_chain(): finds and opens every layer of a delta chain, checks each child-parent link by the
// identity its format records, and presents the merged disk.
#include <diskshift/merge.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <set>

#include <diskshift/format.hpp>

#include "core/fail.hpp"
#include "formats/vhd/vhd_layout.hpp"
#include "layers/overlay_image.hpp"

namespace diskshift {
namespace {

/// Chains longer than this are taken for a loop or a hostile file (VMware allows 255 snapshots of
/// a disk, but 32 is its documented recommended maximum; qemu nests at most 64 backing files deep
/// only with care).
constexpr std::size_t max_chain_layers = 256;

ChainLayer open_layer(const std::filesystem::path& path)
{
    OpenOptions options;
    options.allow_delta_alone = true;  // the chain supplies what the delta leaves to its parent
    ChainLayer layer;
    layer.path = path;
    layer.image = open_image(path, options);
    return layer;
}

const ImageInfo& info_of(const ChainLayer& layer)
{
    return layer.image->info();
}

/// What a format calls the identity a child records and the one its parent has.
struct IdentityNames {
    const char* child;
    const char* parent;
};

IdentityNames identity_names(const std::string& format)
{
    if (format == "vmdk") {
        return {"parentCID", "CID"};  // VMDK 5.0 technote, "The Descriptor File"
    }
    if (format == "vhd") {
        return {"parent unique id", "footer unique id"};  // VHD spec, "Dynamic Disk Header Format"
    }
    if (format == "vhdx") {
        return {"parent_linkage", "DataWriteGuid"};  // MS-VHDX 2.6.2.6.3
    }
    return {"parent id", "id"};
}

/// The parent identities a child accepts: VHDX allows parent_linkage2 as well (MS-VHDX 2.6.2.6.3).
std::vector<std::string> accepted_parent_ids(const ImageInfo& child)
{
    std::vector<std::string> ids = {child.parent->id};
    const auto& details = child.details;
    if (child.format == "vhdx" && details.contains("parent_locator") &&
        details["parent_locator"].contains("parent_linkage2")) {
        std::string second = details["parent_locator"]["parent_linkage2"].get<std::string>();
        std::erase_if(second, [](char c) { return c == '{' || c == '}'; });
        std::ranges::transform(second, second.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        ids.push_back(second);
    }
    return ids;
}

/// A VHD child records its parent's modification time; a different one is only worth a warning
/// (Xen's blktap disabled this check: copying a file changes its time).
void check_vhd_parent_time(const ChainLayer& child, const ChainLayer& parent, std::vector<std::string>& warnings)
{
    const auto& details = info_of(child).details;
    struct stat st {};
    if (!details.contains("parent_timestamp") || ::stat(parent.path.c_str(), &st) != 0) {
        return;
    }
    const std::string recorded = details["parent_timestamp"].get<std::string>();
    const std::string actual =
        formats::vhd::vhd_time_text(formats::vhd::vhd_timestamp_of(std::chrono::system_clock::from_time_t(st.st_mtime)));
    if (recorded.starts_with("0 ") || recorded == actual) {
        return;
    }
    warnings.push_back(fmt::format("{}: records the parent time stamp {}, but {} was modified at {}",
                                   info_of(child).filename, recorded, parent.path.string(), actual));
}

/// Compares the identity `child` records for its parent with `parent`'s; sets the child's status
/// and link text, or throws when `options` enforce the check.
void check_link(ChainLayer& child, const ChainLayer& parent, const ChainOptions& options)
{
    const ImageInfo& c = info_of(child);
    const ImageInfo& p = info_of(parent);
    if (options.identity == IdentityCheck::skip) {
        if (c.virtual_size != p.virtual_size) {
            fail(Errc::chain_mismatch,
                 "chain_mismatch: {}: is {} bytes but its parent {} is {} bytes; without the identity check "
                 "(--unsafe-skip-identity) a parent of another size is refused",
                 c.filename, c.virtual_size, p.filename, p.virtual_size);
        }
        child.status = LinkStatus::not_checked;
        child.link = fmt::format("identity not checked (sizes match: {} bytes)", c.virtual_size);
        return;
    }
    const IdentityNames names = identity_names(c.format);
    std::string problem;
    if (c.format != p.format) {
        problem = fmt::format("{}: is a {} delta, but its parent {} is a {} image", c.filename, c.format,
                              p.filename, p.format);
    } else if (const auto ids = accepted_parent_ids(c); p.id.empty() || std::ranges::find(ids, p.id) == ids.end()) {
        problem = fmt::format("{}: {} {} does not match the {} {} of its parent {}", c.filename, names.child,
                              c.parent->id.empty() ? "(none)" : c.parent->id, names.parent,
                              p.id.empty() ? "(none recorded)" : p.id, p.filename);
    }
    if (!problem.empty()) {
        if (options.identity == IdentityCheck::enforce) {
            fail(Errc::chain_mismatch, "chain_mismatch: {}; the delta does not belong to this parent", problem);
        }
        child.status = LinkStatus::mismatch;
        child.link = problem;
        return;
    }
    child.status = LinkStatus::verified;
    child.link = fmt::format("{} {} = {} of {}", names.child, c.parent->id, names.parent, p.filename);
    if (c.format == "vhd") {
        check_vhd_parent_time(child, parent, child.warnings);
    }
}

/// Where a parent hint may point: relative to the child's folder, then as written. Windows
/// separators are read as '/'.
std::vector<std::filesystem::path> parent_candidates(const ChainLayer& child)
{
    std::string hint = info_of(child).parent->hint;
    std::ranges::replace(hint, '\\', '/');
    const std::filesystem::path written(hint);
    std::vector<std::filesystem::path> out;
    if (written.is_relative() && !child.path.parent_path().empty()) {
        out.push_back(child.path.parent_path() / written);
    }
    out.push_back(written);
    return out;
}

/// The first candidate that exists, or nothing.
std::optional<std::filesystem::path> find_parent(const ChainLayer& child, std::string& looked_for)
{
    for (const std::filesystem::path& candidate : parent_candidates(child)) {
        looked_for += fmt::format("{}{}", looked_for.empty() ? "" : ", ", candidate.string());
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec)) {
            return candidate;
        }
    }
    return std::nullopt;
}

void check_length(std::size_t layers, const std::filesystem::path& path)
{
    if (layers > max_chain_layers) {
        fail(Errc::corrupt, "{}: the chain has more than {} layers (a loop of parent hints?)", path.string(),
             max_chain_layers);
    }
}

/// Builds the merged view when every link holds.
Chain finish(std::vector<ChainLayer> base_first)
{
    Chain chain;
    chain.layers = std::move(base_first);
    const bool complete = std::ranges::all_of(chain.layers, [](const ChainLayer& l) {
        return l.status == LinkStatus::base || l.status == LinkStatus::verified || l.status == LinkStatus::not_checked;
    });
    if (complete) {
        std::vector<std::shared_ptr<const Image>> images;
        for (const ChainLayer& layer : chain.layers) {
            images.push_back(layer.image);
        }
        chain.merged = overlay_layers(std::move(images));
    }
    return chain;
}

}  // namespace

const char* to_string(LinkStatus status) noexcept
{
    switch (status) {
    case LinkStatus::base: return "base";
    case LinkStatus::verified: return "verified";
    case LinkStatus::not_checked: return "not_checked";
    case LinkStatus::mismatch: return "mismatch";
    case LinkStatus::parent_missing: return "parent_missing";
    }
    return "unknown";
}

Chain open_chain(const std::filesystem::path& top, const ChainOptions& options)
{
    std::vector<ChainLayer> top_first;
    top_first.push_back(open_layer(top));
    std::set<std::filesystem::path> seen = {std::filesystem::weakly_canonical(top)};
    while (info_of(top_first.back()).parent) {
        check_length(top_first.size(), top);
        ChainLayer& child = top_first.back();
        std::string looked_for;
        const auto parent_path = find_parent(child, looked_for);
        if (!parent_path) {
            const std::string problem = fmt::format("{}: its parent \"{}\" was not found (looked for {})",
                                                    info_of(child).filename, info_of(child).parent->hint, looked_for);
            if (options.identity == IdentityCheck::report) {
                child.status = LinkStatus::parent_missing;
                child.link = problem;
                break;
            }
            fail(Errc::chain_mismatch, "chain_mismatch: {}", problem);
        }
        if (!seen.insert(std::filesystem::weakly_canonical(*parent_path)).second) {
            fail(Errc::corrupt, "{}: parent hints loop back to {}", top.string(), parent_path->string());
        }
        ChainLayer parent = open_layer(*parent_path);
        check_link(top_first.back(), parent, options);
        top_first.push_back(std::move(parent));
    }
    std::ranges::reverse(top_first);
    return finish(std::move(top_first));
}

Chain open_chain(const std::vector<std::filesystem::path>& base_first, const ChainOptions& options)
{
    if (base_first.empty()) {
        fail(Errc::invalid_argument, "an explicit chain needs at least its base");
    }
    check_length(base_first.size(), base_first.back());
    std::vector<ChainLayer> layers;
    for (const std::filesystem::path& path : base_first) {
        ChainLayer layer = open_layer(path);
        const ImageInfo& info = info_of(layer);
        if (layers.empty() && info.parent) {
            fail(Errc::invalid_argument, "{}: is a {} delta (its parent is \"{}\"), not a base; give the chain "
                 "from its base", info.filename, info.format, info.parent->hint);
        }
        if (!layers.empty()) {
            if (!info.parent) {
                fail(Errc::invalid_argument, "{}: names no parent, so it cannot be a delta over {}", info.filename,
                     layers.back().path.string());
            }
            check_link(layer, layers.back(), options);
        }
        layers.push_back(std::move(layer));
    }
    return finish(std::move(layers));
}

std::unique_ptr<Image> merged_deltas(const Chain& chain, std::uint64_t base_size)
{
    std::vector<std::shared_ptr<const Image>> images = {std::make_shared<layers::UnallocatedImage>(base_size)};
    for (std::size_t i = 1; i < chain.layers.size(); ++i) {
        images.push_back(chain.layers[i].image);
    }
    return overlay_layers(std::move(images));
}

}  // namespace diskshift
