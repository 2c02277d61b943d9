// diskshift — delta chains: a base and the deltas over it, opened, checked and read as one disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <diskshift/convert.hpp>
#include <diskshift/image.hpp>

namespace diskshift {

/// What open_chain() does when a delta's recorded parent identity differs from its parent's.
enum class IdentityCheck {
    enforce,  ///< throw Error(Errc::chain_mismatch) naming both files and both identities
    report,   ///< record the mismatch in the layer's link and go on (imginfo --chain)
    /// Dangerous: accept any parent whose virtual size equals the delta's. A wrong parent then
    /// gives a disk mixing two unrelated ones, silently.
    skip,
};

struct ChainOptions {
    IdentityCheck identity = IdentityCheck::enforce;
};

/// How a layer relates to the one below it.
enum class LinkStatus {
    base,            ///< the bottom layer: it names no parent
    verified,        ///< the delta's recorded parent identity is the parent's identity
    not_checked,     ///< IdentityCheck::skip: the identity was not compared (sizes were)
    mismatch,        ///< IdentityCheck::report: the identities differ (see ChainLayer::link)
    parent_missing,  ///< IdentityCheck::report: the parent could not be found or opened
};

/// "base", "verified", "not_checked", "mismatch" or "parent_missing".
const char* to_string(LinkStatus status) noexcept;

struct ChainLayer {
    std::filesystem::path path;          ///< the file the layer was opened from
    std::shared_ptr<const Image> image;  ///< the layer alone: its unallocated ranges read as zeros
    LinkStatus status = LinkStatus::base;
    std::string link;                    ///< the link in words: identities compared, what was wrong
    std::vector<std::string> warnings;   ///< e.g. a VHD parent time stamp that differs
};

/// An opened chain. `layers` lists the base first and the top last. `merged` is the disk the top
/// layer presents (its size), read through every layer; it is null when a link is broken
/// (possible only with IdentityCheck::report).
struct Chain {
    std::vector<ChainLayer> layers;
    std::shared_ptr<const Image> merged;
};

/// Opens `top` and follows the parent each delta names, down to a layer that names none. A hint
/// is looked up relative to the folder of the layer naming it, then as written (Windows '\'
/// separators read as '/'). Every file is opened read-only. Checks each link before returning:
/// VMDK parentCID = the parent's CID; VHD parent unique id = the parent footer's unique id (a parent
/// time stamp that differs from the parent file's modification time is only a warning); VHDX
/// parent_linkage (or parent_linkage2) = the parent's DataWriteGuid. A missing parent is
/// Error(Errc::chain_mismatch) naming the hint and the paths tried.
Chain open_chain(const std::filesystem::path& top, const ChainOptions& options = {});

/// The same for a chain given explicitly, base first: `base_first[0]` must name no parent, each
/// later file must be a delta over the one before it (its hint is not used). Giving only the first
/// k deltas materialises the disk as it was at that point.
Chain open_chain(const std::vector<std::filesystem::path>& base_first, const ChainOptions& options = {});

/// The layers `base_first` read as one disk of the top layer's size. Per range, the topmost layer
/// with data or zeros there answers; `unallocated` falls through; past a lower layer's end the disk
/// reads zeros (a child larger than its parent). Neither extents() nor read() touch bytes the
/// answering layer does not supply.
std::unique_ptr<Image> overlay_layers(std::vector<std::shared_ptr<const Image>> base_first);

/// The deltas of `chain` (every layer but the base) merged over a base of `base_size` bytes whose
/// contents are left out: ranges no delta answers for are `unallocated` below `base_size` and
/// `zero` above it. What an in-place commit must write into the base, and nothing else.
std::unique_ptr<Image> merged_deltas(const Chain& chain, std::uint64_t base_size);

/// Writes the disk `chain` presents into a new image at `destination` through convert() (sparse,
/// parallel, any writable format, written under a temporary name). Refuses a destination that is
/// one of the layers, and a chain whose links do not hold (no merged view).
ConvertStats materialise(const Chain& chain, const std::filesystem::path& destination, const ConvertOptions& options);

/// The chain as JSON: {"complete": bool, "layers": [top first: {filename, format, subformat,
/// virtual_size, id, parent, link: {status, text}, allocation: {data, zero, unallocated,
/// allocated_bytes}, warnings}]}.
nlohmann::ordered_json describe_chain_json(const Chain& chain);

/// The same for people, one block per layer, top first.
void describe_chain_text(std::ostream& out, const Chain& chain);

}  // namespace diskshift
