// OverlayImage: extents are merged from the layers' extents top down, without reading data; a
// read asks each range of the layer that answers for it, in one call per range.
#include "layers/overlay_image.hpp"

#include <algorithm>

#include <diskshift/merge.hpp>

#include "core/fail.hpp"

namespace diskshift::layers {
namespace {

/// The merged disk's description: the top layer's, without a parent, occupying what all layers do.
ImageInfo overlay_info(const std::vector<std::shared_ptr<const Image>>& base_first)
{
    if (base_first.empty()) {
        fail(Errc::invalid_argument, "an overlay needs at least one layer");
    }
    ImageInfo info = base_first.back()->info();
    info.parent.reset();
    info.allocated_bytes = 0;
    for (const auto& layer : base_first) {
        info.allocated_bytes += layer->info().allocated_bytes;
    }
    info.details["layers"] = base_first.size();
    return info;
}

}  // namespace

OverlayImage::OverlayImage(ImageInfo info, std::vector<std::shared_ptr<const Image>> base_first)
    : Image(std::move(info)), layers_(std::move(base_first))
{
}

void OverlayImage::resolve(std::size_t count, std::uint64_t offset, std::uint64_t length,
                           std::vector<Piece>& out) const
{
    const auto add = [&out](std::uint64_t at, std::uint64_t bytes, ExtentKind kind, std::size_t layer) {
        Piece* last = out.empty() ? nullptr : &out.back();
        if (last != nullptr && last->kind == kind && (kind != ExtentKind::data || last->layer == layer)) {
            last->length += bytes;
        } else {
            out.push_back({at, bytes, kind, layer});
        }
    };
    if (count == 0) {
        add(offset, length, ExtentKind::unallocated, 0);  // below the base: nothing answers
        return;
    }
    const std::size_t index = count - 1;
    const Image& layer = *layers_[index];
    const std::uint64_t end = offset + length;
    const std::uint64_t inside_end = std::min(end, layer.size());
    if (offset < inside_end) {
        for (const Extent& e : layer.extents(offset, inside_end - offset)) {
            if (e.kind == ExtentKind::unallocated) {
                resolve(index, e.offset, e.length, out);
            } else {
                add(e.offset, e.length, e.kind, index);
            }
        }
    }
    if (end > layer.size()) {
        // Past this layer's end its child reads zeros, whatever lies below (qcow2 spec: "If the
        // backing file is smaller than the image, they shall read zeros").
        const std::uint64_t from = std::max(offset, layer.size());
        add(from, end - from, ExtentKind::zero, index);
    }
}

void OverlayImage::do_read(std::span<std::byte> buf, std::uint64_t offset) const
{
    std::vector<Piece> pieces;
    resolve(layers_.size(), offset, buf.size(), pieces);
    for (const Piece& p : pieces) {
        const std::span<std::byte> part = buf.subspan(p.offset - offset, p.length);
        if (p.kind == ExtentKind::data) {
            layers_[p.layer]->read(part, p.offset);
        } else {
            std::ranges::fill(part, std::byte{0});
        }
    }
}

ExtentList OverlayImage::do_extents(std::uint64_t offset, std::uint64_t length) const
{
    std::vector<Piece> pieces;
    resolve(layers_.size(), offset, length, pieces);
    ExtentList out(offset);
    for (const Piece& p : pieces) {
        out.append(p.length, p.kind);
    }
    return out;
}

UnallocatedImage::UnallocatedImage(std::uint64_t size)
    : Image([size] {
          ImageInfo info;
          info.filename = "(base left out)";
          info.format = "none";
          info.virtual_size = size;
          return info;
      }())
{
}

void UnallocatedImage::do_read(std::span<std::byte> buf, std::uint64_t) const
{
    std::ranges::fill(buf, std::byte{0});
}

ExtentList UnallocatedImage::do_extents(std::uint64_t offset, std::uint64_t length) const
{
    ExtentList out(offset);
    out.append(length, ExtentKind::unallocated);
    return out;
}

}  // namespace diskshift::layers

namespace diskshift {

std::unique_ptr<Image> overlay_layers(std::vector<std::shared_ptr<const Image>> base_first)
{
    ImageInfo info = layers::overlay_info(base_first);
    return std::make_unique<layers::OverlayImage>(std::move(info), std::move(base_first));
}

}  // namespace diskshift
