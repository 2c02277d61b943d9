// OverlayImage: layers read as one disk, checked against a byte-by-byte model of the chain rules
// (topmost answer wins, unallocated falls through, zeros past a lower layer's end), on random
// layer stacks; reads go only to the layer that answers, in one call per range.
#include <doctest/doctest.h>

#include <mutex>
#include <vector>

#include <diskshift/merge.hpp>

#include "support/random_data.hpp"

using namespace diskshift;

namespace {

/// A layer made of (length, kind) segments whose data bytes tell the layer and the offset apart.
class ScriptedLayer final : public Image {
public:
    ScriptedLayer(int tag, std::vector<Extent> segments)
        : Image(info_for(segments)), tag_(tag), segments_(std::move(segments))
    {
    }

    static std::byte byte_at(int tag, std::uint64_t offset)
    {
        return static_cast<std::byte>(((tag * 37 + offset * 13) & 0xFF) | 1);
    }

    ExtentKind kind_at(std::uint64_t offset) const
    {
        for (const Extent& e : segments_) {
            if (offset >= e.offset && offset < e.end()) {
                return e.kind;
            }
        }
        FAIL("offset outside the layer");
        return ExtentKind::unallocated;
    }

    /// The reads this layer served, as (offset, length).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> reads() const
    {
        const std::lock_guard lock(mutex_);
        return reads_;
    }

private:
    static ImageInfo info_for(const std::vector<Extent>& segments)
    {
        ImageInfo info;
        info.filename = "scripted";
        info.format = "test";
        info.virtual_size = segments.empty() ? 0 : segments.back().end();
        return info;
    }

    void do_read(std::span<std::byte> buf, std::uint64_t offset) const override
    {
        {
            const std::lock_guard lock(mutex_);
            reads_.emplace_back(offset, buf.size());
        }
        for (std::size_t i = 0; i < buf.size(); ++i) {
            buf[i] = kind_at(offset + i) == ExtentKind::data ? byte_at(tag_, offset + i) : std::byte{0};
        }
    }

    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override
    {
        ExtentList out(offset);
        for (const Extent& e : segments_) {
            const std::uint64_t from = std::max(e.offset, offset);
            const std::uint64_t to = std::min(e.end(), offset + length);
            if (from < to) {
                out.append(to - from, e.kind);
            }
        }
        return out;
    }

    int tag_;
    std::vector<Extent> segments_;
    mutable std::mutex mutex_;
    mutable std::vector<std::pair<std::uint64_t, std::uint64_t>> reads_;
};

std::shared_ptr<ScriptedLayer> layer(int tag, const std::vector<std::pair<std::uint64_t, ExtentKind>>& segments)
{
    std::vector<Extent> extents;
    std::uint64_t at = 0;
    for (const auto& [length, kind] : segments) {
        extents.push_back({at, length, kind});
        at += length;
    }
    return std::make_shared<ScriptedLayer>(tag, std::move(extents));
}

/// The chain rules, one byte at a time: what the disk reads at `offset` and which kind answers.
std::pair<std::byte, ExtentKind> model_at(const std::vector<std::shared_ptr<ScriptedLayer>>& base_first,
                                          std::uint64_t offset)
{
    for (std::size_t k = base_first.size(); k-- > 0;) {
        const ScriptedLayer& l = *base_first[k];
        if (offset >= l.size()) {
            return {std::byte{0}, ExtentKind::zero};
        }
        const ExtentKind kind = l.kind_at(offset);
        if (kind == ExtentKind::data) {
            return {ScriptedLayer::byte_at(static_cast<int>(k), offset), kind};
        }
        if (kind == ExtentKind::zero) {
            return {std::byte{0}, kind};
        }
    }
    return {std::byte{0}, ExtentKind::unallocated};
}

std::unique_ptr<Image> overlay_of(const std::vector<std::shared_ptr<ScriptedLayer>>& base_first)
{
    return overlay_layers(std::vector<std::shared_ptr<const Image>>(base_first.begin(), base_first.end()));
}

/// Reads and extents of the overlay equal the model's, over the whole disk and over random ranges.
void check_against_model(const std::vector<std::shared_ptr<ScriptedLayer>>& base_first, dstest::RandomBytes& random)
{
    const auto overlay = overlay_of(base_first);
    const std::uint64_t size = overlay->size();
    REQUIRE(size == base_first.back()->size());
    ExtentList expected;
    std::vector<std::byte> expected_bytes(size);
    for (std::uint64_t x = 0; x < size; ++x) {
        const auto [value, kind] = model_at(base_first, x);
        expected.append(1, kind);
        expected_bytes[x] = value;
    }
    CHECK(overlay->extents() == expected);
    std::vector<std::byte> got(size);
    overlay->read(got, 0);
    CHECK(got == expected_bytes);
    for (int i = 0; i < 20; ++i) {
        const std::uint64_t offset = random.below(size);
        const std::uint64_t length = 1 + random.below(size - offset);
        std::vector<std::byte> part(length);
        overlay->read(part, offset);
        CHECK(std::equal(part.begin(), part.end(), expected_bytes.begin() + static_cast<std::ptrdiff_t>(offset)));
        CHECK(overlay->extents(offset, length) == expected.slice(offset, length));
    }
}

using K = ExtentKind;

}  // namespace

TEST_CASE("overlay: the topmost answer wins, unallocated falls through, zeros in a delta hide the base")
{
    const auto base = layer(0, {{4096, K::data}, {4096, K::unallocated}, {4096, K::data}, {4096, K::zero}});
    const auto delta = layer(1, {{1024, K::unallocated}, {1024, K::data}, {1024, K::zero}, {13312, K::unallocated}});
    const auto overlay = overlay_of({base, delta});
    ExtentList expected;
    for (const auto& [length, kind] : std::vector<std::pair<std::uint64_t, K>>{
             {2048, K::data}, {1024, K::zero}, {1024, K::data}, {4096, K::unallocated}, {4096, K::data},
             {4096, K::zero}}) {
        expected.append(length, kind);
    }
    CHECK(overlay->extents() == expected);
    std::vector<std::byte> bytes(16384);
    overlay->read(bytes, 0);
    CHECK(bytes[0] == ScriptedLayer::byte_at(0, 0));
    CHECK(bytes[1024] == ScriptedLayer::byte_at(1, 1024));
    CHECK(bytes[2048] == std::byte{0});  // zeroed in the delta over base data
    CHECK(bytes[3072] == ScriptedLayer::byte_at(0, 3072));
    // Each layer served only its own ranges, one read per range.
    using Reads = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    CHECK(delta->reads() == Reads{{1024, 1024}});
    CHECK(base->reads() == Reads{{0, 1024}, {3072, 1024}, {8192, 4096}});
    CHECK_FALSE(overlay->info().parent.has_value());
}

TEST_CASE("overlay: a child larger than its parent reads zeros past the parent's end; a smaller one truncates")
{
    const auto base = layer(0, {{4096, K::data}});
    const auto grown = layer(1, {{8192, K::unallocated}});
    const auto grown_view = overlay_of({base, grown});
    CHECK(grown_view->size() == 8192);
    ExtentList expected;
    expected.append(4096, K::data);
    expected.append(4096, K::zero);
    CHECK(grown_view->extents() == expected);

    // Shrunk, then grown again: what the shrink cut off stays zero.
    const auto shrunk = layer(2, {{2048, K::unallocated}});
    const auto regrown = layer(3, {{8192, K::unallocated}});
    const auto view = overlay_of({base, shrunk, regrown});
    ExtentList after;
    after.append(2048, K::data);
    after.append(6144, K::zero);
    CHECK(view->extents() == after);
    std::vector<std::byte> bytes(8192);
    view->read(bytes, 0);
    CHECK(bytes[2047] == ScriptedLayer::byte_at(0, 2047));
    CHECK(bytes[2048] == std::byte{0});
    CHECK(overlay_of({base, shrunk})->size() == 2048);
}

TEST_CASE("overlay: random stacks of up to six layers read and map as the byte-by-byte model says")
{
    dstest::RandomBytes random(8);
    for (int round = 0; round < 40; ++round) {
        INFO("round ", round);
        std::vector<std::shared_ptr<ScriptedLayer>> stack;
        const std::size_t count = 1 + random.below(6);
        for (std::size_t k = 0; k < count; ++k) {
            std::vector<std::pair<std::uint64_t, K>> segments;
            const std::uint64_t size = 512 * (1 + random.below(24));
            for (std::uint64_t at = 0; at < size;) {
                const std::uint64_t length = std::min(size - at, 512 * (1 + random.below(4)) - random.below(3));
                segments.emplace_back(length, static_cast<K>(random.below(3)));
                at += length;
            }
            stack.push_back(layer(static_cast<int>(k), segments));
        }
        check_against_model(stack, random);
    }
}

TEST_CASE("merged_deltas: only what the deltas say, over a base left out; zeros past the base's end")
{
    Chain chain;
    for (const auto& image : {layer(0, {{8192, K::data}}),
                              layer(1, {{1024, K::data}, {1024, K::zero}, {6144, K::unallocated}}),
                              layer(2, {{4096, K::unallocated}, {512, K::data}, {7680, K::unallocated}})}) {
        ChainLayer l;
        l.image = image;
        chain.layers.push_back(std::move(l));
    }
    const auto deltas = merged_deltas(chain, 8192);
    CHECK(deltas->size() == 12288);
    ExtentList expected;
    for (const auto& [length, kind] : std::vector<std::pair<std::uint64_t, K>>{
             {1024, K::data}, {1024, K::zero}, {2048, K::unallocated}, {512, K::data}, {3584, K::unallocated},
             {4096, K::zero}}) {
        expected.append(length, kind);
    }
    CHECK(deltas->extents() == expected);
    std::vector<std::byte> bytes(12288);
    deltas->read(bytes, 0);
    CHECK(bytes[0] == ScriptedLayer::byte_at(1, 0));
    CHECK(bytes[4096] == ScriptedLayer::byte_at(2, 4096));
    CHECK(bytes[5000] == std::byte{0});  // the base is left out: it is never read
    CHECK(static_cast<const ScriptedLayer&>(*chain.layers[0].image).reads().empty());
}
