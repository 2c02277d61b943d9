// Internal: what the two ESXi sparse extents (seSparse and COWD) share. Both map the guest through
// a grain directory (loaded at open) of grain tables (loaded on demand into a bounded cache) whose
// entries each locate one grain. The formats differ only in their headers and in how an entry is
// encoded, so each one decodes its entries and hands the rest to GrainTableExtent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/file_range.hpp"
#include "formats/vmdk/extent_data.hpp"

namespace diskshift::formats::vmdk {

/// The `N` bytes at `offset`, after require_inside_file() for `structure`.
template <std::size_t N>
std::array<std::byte, N> read_structure(const ByteSource& file, std::uint64_t offset, std::string_view structure)
{
    require_inside_file(file, offset, N, structure);
    std::array<std::byte, N> bytes{};
    file.read_at(bytes, offset);
    return bytes;
}

/// `sectors` in bytes; throws Error(Errc::corrupt) naming `field` of the header at `header_offset`
/// when the product does not fit in 64 bits.
std::uint64_t sectors_to_bytes(const ByteSource& file, std::uint64_t sectors, std::string_view field,
                               std::uint64_t header_offset);

/// `base + index * unit`, or UINT64_MAX when it does not fit (a place past any file's end).
std::uint64_t saturating_offset(std::uint64_t base, std::uint64_t index, std::uint64_t unit) noexcept;

/// What one grain table entry says, once decoded.
struct GrainEntry {
    ExtentKind kind = ExtentKind::unallocated;
    std::uint64_t file_offset = 0;  ///< where the grain's bytes are, for `data`; a multiple of 512
    bool valid = true;              ///< false for an encoding the format does not define
};

/// How a format's grains are laid out and encoded.
struct GrainLayout {
    std::uint64_t size = 0;               ///< the extent's bytes
    std::uint64_t grain_bytes = 0;        ///< bytes one grain holds
    std::uint64_t entries_per_table = 0;  ///< grain table entries (4096 for both formats)
    std::size_t entry_bytes = 0;          ///< 4 (COWD) or 8 (seSparse)
    /// The grain table of each grain directory entry (its file offset, or no_table), covering the
    /// whole extent, each table already checked to lie inside the file.
    std::vector<std::uint64_t> table_offsets;
    /// Decodes one grain table entry (the raw little-endian value).
    std::function<GrainEntry(std::uint64_t)> decode;

    static constexpr std::uint64_t no_table = UINT64_MAX;

    std::uint64_t table_bytes() const noexcept { return entries_per_table * entry_bytes; }
    std::uint64_t table_coverage() const noexcept { return entries_per_table * grain_bytes; }
};

/// The grain directory entries a capacity of `size` bytes needs with tables covering `coverage`.
std::uint64_t tables_needed(std::uint64_t size, std::uint64_t coverage) noexcept;

/// An extent read through a grain directory and grain tables. Grain tables are read whole on first
/// use, their entries checked against the file, and kept in a cache of bounded size guarded by a
/// mutex, so that several threads may read at once.
class GrainTableExtent final : public ExtentData {
public:
    GrainTableExtent(std::shared_ptr<const ByteSource> file, GrainLayout layout, nlohmann::ordered_json details);

    std::uint64_t size() const noexcept override { return layout_.size; }
    void read(std::span<std::byte> buf, std::uint64_t offset) const override;
    ExtentList map(std::uint64_t offset, std::uint64_t length) const override;
    nlohmann::ordered_json details() const override { return details_; }

private:
    /// A grain table decoded: per grain, its file offset with the kind in the low two bits.
    using Table = std::vector<std::uint64_t>;

    std::shared_ptr<const Table> table(std::size_t index) const;
    std::shared_ptr<const Table> load_table(std::size_t index) const;
    template <typename Visit>
    void walk(std::uint64_t offset, std::uint64_t length, Visit&& visit) const;

    std::shared_ptr<const ByteSource> file_;
    GrainLayout layout_;
    nlohmann::ordered_json details_;

    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::size_t, std::shared_ptr<const Table>> cache_;
    mutable std::deque<std::size_t> cache_order_;  ///< table indexes in the order they were cached
};

}  // namespace diskshift::formats::vmdk
