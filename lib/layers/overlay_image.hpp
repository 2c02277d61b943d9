// Internal: layers read as one disk, the topmost layer that answers for a range supplying it.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <diskshift/image.hpp>

namespace diskshift::layers {

/// The disk `base_first` presents together, the size of its last (top) layer. See overlay_layers()
/// in merge.hpp for the rules.
class OverlayImage final : public Image {
public:
    OverlayImage(ImageInfo info, std::vector<std::shared_ptr<const Image>> base_first);

private:
    /// A range and the layer that answers for it (`layer` is meaningful for data only).
    struct Piece {
        std::uint64_t offset;
        std::uint64_t length;
        ExtentKind kind;
        std::size_t layer;
    };

    /// Appends the pieces of [offset, offset + length) as the lowest `count` layers give them.
    void resolve(std::size_t count, std::uint64_t offset, std::uint64_t length, std::vector<Piece>& out) const;

    void do_read(std::span<std::byte> buf, std::uint64_t offset) const override;
    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override;

    std::vector<std::shared_ptr<const Image>> layers_;
};

/// A layer that answers `unallocated` everywhere and reads zeros: the stand-in for a base whose
/// contents are left out (merged_deltas()).
class UnallocatedImage final : public Image {
public:
    explicit UnallocatedImage(std::uint64_t size);

private:
    void do_read(std::span<std::byte> buf, std::uint64_t offset) const override;
    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override;
};

}  // namespace diskshift::layers
