// diskshift — images: the guest-visible disk one layer of a format presents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <diskshift/extent.hpp>

namespace diskshift {

/// The parent a delta layer names: where to look (`hint`, as written in the file) and what
/// identity the parent must have (`id`: a VMDK CID, a VHD UUID, a VHDX DataWriteGuid).
struct ParentRef {
    std::string hint;
    std::string id;
};

struct ImageInfo {
    std::string filename;                      ///< the file the image was opened from
    std::string format;                        ///< "raw", "vmdk", "vhd", …
    std::optional<std::string> subformat;      ///< "streamOptimized", "dynamic", …
    std::uint64_t virtual_size = 0;            ///< bytes the guest sees
    std::optional<std::uint64_t> cluster_size; ///< allocation unit (grain, block), if any
    std::uint64_t allocated_bytes = 0;         ///< bytes the image's files occupy on their storage
    std::string id;                            ///< this layer's own identity, empty when none
    std::optional<ParentRef> parent;           ///< set for a delta layer
    nlohmann::ordered_json details = nlohmann::ordered_json::object();  ///< format-specific facts
    std::vector<std::string> warnings;         ///< damage read around, ignored fields, …
};

/// Called as work advances; returning false stops the operation with Error(Errc::cancelled).
using ProgressFn = std::function<bool(std::uint64_t done, std::uint64_t total)>;

/// One layer of a disk. read() and extents() check their range once and call the format's private
/// hooks; both are safe to call from several threads at once. An image answers for its own layer:
/// `unallocated` ranges read as zeros here, and OverlayImage lets them fall through to a parent.
/// A layer shorter than its parent reads zeros (allocated) past its own end.
class Image {
public:
    virtual ~Image() = default;
    Image(const Image&) = delete;
    Image& operator=(const Image&) = delete;

    const ImageInfo& info() const noexcept { return info_; }
    std::uint64_t size() const noexcept { return info_.virtual_size; }

    /// Reads exactly `buf.size()` guest bytes at `offset`; the range must lie inside size().
    void read(std::span<std::byte> buf, std::uint64_t offset) const;

    /// Extents covering exactly [offset, offset + length), which must lie inside size().
    ExtentList extents(std::uint64_t offset, std::uint64_t length) const;
    ExtentList extents() const { return extents(0, size()); }

protected:
    explicit Image(ImageInfo info) : info_(std::move(info)) {}
    ImageInfo& mutable_info() noexcept { return info_; }

private:
    /// Fills `buf` from `offset`; called with a range inside size().
    virtual void do_read(std::span<std::byte> buf, std::uint64_t offset) const = 0;
    /// Returns a list starting at `offset` that covers at least one byte; it may stop before
    /// `offset + length` (it is called again for the rest) or go past it (it is clipped).
    virtual ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const = 0;

    ImageInfo info_;
};

}  // namespace diskshift
