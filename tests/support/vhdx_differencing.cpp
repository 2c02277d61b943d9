// Test support for VHDX differencing disks: a qemu-made VHDX turned into a delta by editing its
// metadata (qemu cannot create differencing VHDX files).
#include "support/vhdx_differencing.hpp"

#include <algorithm>

#include "core/endian.hpp"
#include "formats/vhdx/vhdx_layout.hpp"
#include "support/byte_range.hpp"
#include "support/files.hpp"
#include "support/vhdx_log_writer.hpp"

namespace dstest {

namespace {

/// A parent locator item (MS-VHDX 2.6.2.6) holding `entries`, keys and values in UTF-16LE.
std::vector<std::byte> parent_locator(const std::vector<std::pair<std::string, std::string>>& entries)
{
    namespace vhdx = diskshift::formats::vhdx;
    std::vector<std::byte> item(20 + 12 * entries.size());
    std::copy(vhdx::vhdx_locator_type_guid.begin(), vhdx::vhdx_locator_type_guid.end(), item.begin());
    diskshift::store_le<std::uint16_t>(item.data() + 18, static_cast<std::uint16_t>(entries.size()));
    auto append_utf16 = [&](const std::string& text) {
        const auto offset = static_cast<std::uint32_t>(item.size());
        for (const char c : text) {
            item.push_back(static_cast<std::byte>(c));
            item.push_back(std::byte{0});
        }
        return offset;
    };
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::uint32_t key = append_utf16(entries[i].first);
        const std::uint32_t value = append_utf16(entries[i].second);
        std::byte* e = item.data() + 20 + 12 * i;
        diskshift::store_le<std::uint32_t>(e, key);
        diskshift::store_le<std::uint32_t>(e + 4, value);
        diskshift::store_le<std::uint16_t>(e + 8, static_cast<std::uint16_t>(2 * entries[i].first.size()));
        diskshift::store_le<std::uint16_t>(e + 10, static_cast<std::uint16_t>(2 * entries[i].second.size()));
    }
    return item;
}

}  // namespace

void make_differencing(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& locator_entries)
{
    namespace vhdx = diskshift::formats::vhdx;
    const VhdxRegions regions = read_vhdx_regions(path);
    const std::uint64_t parameters = vhdx_metadata_item_offset(path, "CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    patch_le32(path, parameters + 4, 2);  // HasParent
    const std::vector<std::byte> locator = parent_locator(locator_entries);
    patch_file(path, regions.metadata_offset + 512 * KiB, locator);
    const std::vector<std::byte> table = read_whole_file(path);
    const std::uint16_t count = diskshift::load_le<std::uint16_t>(table.data() + regions.metadata_offset + 10);
    std::vector<std::byte> entry(32);
    std::copy(vhdx::parent_locator_guid.begin(), vhdx::parent_locator_guid.end(), entry.begin());
    diskshift::store_le<std::uint32_t>(entry.data() + 16, 512 * KiB);
    diskshift::store_le<std::uint32_t>(entry.data() + 20, static_cast<std::uint32_t>(locator.size()));
    diskshift::store_le<std::uint32_t>(entry.data() + 24, 4);  // IsRequired
    patch_file(path, regions.metadata_offset + 32 + 32 * count, entry);
    patch_le32(path, regions.metadata_offset + 8, static_cast<std::uint32_t>(count + 1) << 16);
}

}  // namespace dstest
