#include "support/vhd_delta_pair.hpp"

#include <algorithm>
#include <numeric>

#include "support/random_data.hpp"
#include "support/vhd_builder.hpp"

namespace dstest::vhd {
namespace {

std::array<std::byte, 16> uuid_from(RandomBytes& random)
{
    std::array<std::byte, 16> id{};
    random.fill(id);
    return id;
}

/// The first half of a block's sectors present (MSB first: sector 0 is bit 7 of byte 0).
std::vector<std::byte> half_bitmap(std::uint32_t block_size)
{
    const std::size_t sectors = block_size / 512;
    std::vector<std::byte> bitmap(sectors / 8, std::byte{0});
    std::fill_n(bitmap.begin(), sectors / 16, std::byte{0xFF});
    return bitmap;
}

}  // namespace

DeltaPair make_delta_pair(const DeltaPairSpec& spec)
{
    RandomBytes random(spec.seed);
    std::vector<std::byte> data = random.make(static_cast<std::size_t>(spec.disk_size));
    FooterFields base_footer;
    base_footer.current_size = spec.disk_size;
    base_footer.unique_id = uuid_from(random);

    SparseVhd delta;
    delta.footer.disk_type = 4;
    delta.footer.current_size = spec.disk_size;
    delta.footer.unique_id = uuid_from(random);
    delta.block_size = spec.block_size;
    delta.parent_id = base_footer.unique_id;
    delta.parent_name = u"base.vhd";
    delta.locators = {{"W2ru", utf16(u".\\base.vhd", false)}};

    std::vector<std::uint32_t> order(static_cast<std::size_t>(spec.disk_size / spec.block_size));
    std::iota(order.begin(), order.end(), 0U);
    for (std::size_t i = order.size(); i > 1; --i) {
        std::swap(order[i - 1], order[static_cast<std::size_t>(random.below(i))]);
    }
    DeltaPair pair;
    pair.base_file = fixed_vhd(data, base_footer);
    std::vector<std::byte> merged = data;
    for (std::size_t i = 0; i < spec.changed_blocks + spec.unchanged_blocks && i < order.size(); ++i) {
        const std::uint64_t at = std::uint64_t{order[i]} * spec.block_size;
        const bool changed = i < spec.changed_blocks;
        const bool half = changed && i % 3 == 2;
        Block block;
        block.data = changed ? random.make(spec.block_size)
                             : std::vector<std::byte>(data.begin() + static_cast<std::ptrdiff_t>(at),
                                                      data.begin() + static_cast<std::ptrdiff_t>(at + spec.block_size));
        if (half) {
            block.bitmap = half_bitmap(spec.block_size);
        }
        const std::uint64_t present = half ? spec.block_size / 2 : spec.block_size;
        std::copy_n(block.data.begin(), present, merged.begin() + static_cast<std::ptrdiff_t>(at));
        pair.delta_bytes += present;
        delta.blocks[order[i]] = std::move(block);
    }
    pair.delta_file = delta.build();
    pair.merged_file = fixed_vhd(merged, base_footer);
    return pair;
}

}  // namespace dstest::vhd
