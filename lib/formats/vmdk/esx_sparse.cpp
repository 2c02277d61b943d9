// ESXi sparse extents: the signature test and the grain directory / grain table walk that seSparse
// (sesparse.cpp) and COWD (cowd.cpp) share.
#include "formats/vmdk/esx_sparse.hpp"

#include <algorithm>

#include "core/endian.hpp"
#include "core/fail.hpp"

namespace diskshift::formats::vmdk {
namespace {

// A decoded table keeps each grain as one word: the file offset (a multiple of 512) with the kind
// in the two low bits.
constexpr std::uint64_t kind_mask = 3;
constexpr std::uint64_t unallocated_code = 0;
constexpr std::uint64_t zero_code = 1;
constexpr std::uint64_t data_code = 2;

// Tables kept in memory at once: 256 × 4096 entries × 8 bytes = 8 MiB at most.
constexpr std::size_t max_cached_tables = 256;

std::uint64_t pack(const GrainEntry& entry) noexcept
{
    switch (entry.kind) {
    case ExtentKind::data:
        return entry.file_offset | data_code;
    case ExtentKind::zero:
        return zero_code;
    case ExtentKind::unallocated:
        break;
    }
    return unallocated_code;
}

ExtentKind kind_of(std::uint64_t word) noexcept
{
    switch (word & kind_mask) {
    case data_code:
        return ExtentKind::data;
    case zero_code:
        return ExtentKind::zero;
    default:
        return ExtentKind::unallocated;
    }
}

/// A stretch of the extent with one kind; `data` stretches are contiguous in the file too.
struct Run {
    ExtentKind kind = ExtentKind::unallocated;
    std::uint64_t file_offset = 0;
    std::uint64_t length = 0;
};

}  // namespace

bool is_esx_sparse_header(std::span<const std::byte> head) noexcept
{
    // seSparse: u64 0xCAFEBABE at 0; COWD: u32 "COWD" at 0 (reference vmdk.md §6, §7).
    constexpr std::uint64_t sesparse_magic = 0xCAFEBABE;
    constexpr std::uint32_t cowd_magic = 0x44574F43;
    return (head.size() >= 8 && load_le<std::uint64_t>(head.data()) == sesparse_magic) ||
           (head.size() >= 4 && load_le<std::uint32_t>(head.data()) == cowd_magic);
}

std::uint64_t sectors_to_bytes(const ByteSource& file, std::uint64_t sectors, std::string_view field,
                               std::uint64_t header_offset)
{
    if (sectors > UINT64_MAX / sector_bytes) {
        fail(Errc::corrupt, "{}: header field {} is too large ({} sectors) (offset 0x{:x})", file.name(), field, sectors,
             header_offset);
    }
    return sectors * sector_bytes;
}

std::uint64_t saturating_offset(std::uint64_t base, std::uint64_t index, std::uint64_t unit) noexcept
{
    if (unit != 0 && index > (UINT64_MAX - base) / unit) {
        return UINT64_MAX;
    }
    return base + index * unit;
}

std::uint64_t tables_needed(std::uint64_t size, std::uint64_t coverage) noexcept
{
    return size / coverage + (size % coverage != 0 ? 1 : 0);
}

GrainTableExtent::GrainTableExtent(std::shared_ptr<const ByteSource> file, GrainLayout layout,
                                   nlohmann::ordered_json details)
    : file_(std::move(file)), layout_(std::move(layout)), details_(std::move(details))
{
}

std::shared_ptr<const GrainTableExtent::Table> GrainTableExtent::table(std::size_t index) const
{
    if (layout_.table_offsets[index] == GrainLayout::no_table) {
        return nullptr;
    }
    {
        const std::lock_guard lock(cache_mutex_);
        if (auto found = cache_.find(index); found != cache_.end()) {
            return found->second;
        }
    }
    // Loaded outside the lock so that other threads go on reading cached tables meanwhile; when
    // two threads load the same table, the first one cached wins.
    std::shared_ptr<const Table> loaded = load_table(index);
    const std::lock_guard lock(cache_mutex_);
    const auto [slot, inserted] = cache_.emplace(index, std::move(loaded));
    if (inserted) {
        cache_order_.push_back(index);
        if (cache_order_.size() > max_cached_tables) {
            cache_.erase(cache_order_.front());
            cache_order_.pop_front();
        }
    }
    return slot->second;
}

std::shared_ptr<const GrainTableExtent::Table> GrainTableExtent::load_table(std::size_t index) const
{
    const std::uint64_t table_offset = layout_.table_offsets[index];
    std::vector<std::byte> raw(layout_.table_bytes());
    file_->read_at(raw, table_offset);

    auto table = std::make_shared<Table>(layout_.entries_per_table);
    const std::uint64_t first_grain_offset = index * layout_.table_coverage();
    for (std::size_t i = 0; i < table->size(); ++i) {
        const std::byte* at = raw.data() + i * layout_.entry_bytes;
        const std::uint64_t value =
            layout_.entry_bytes == 8 ? load_le<std::uint64_t>(at) : load_le<std::uint32_t>(at);
        const std::uint64_t entry_offset = table_offset + i * layout_.entry_bytes;
        const GrainEntry entry = layout_.decode(value);
        if (!entry.valid) {
            fail(Errc::corrupt, "{}: grain table entry {} of grain table {} is invalid (0x{:x}) (offset 0x{:x})",
                 file_->name(), i, index, value, entry_offset);
        }
        const std::uint64_t guest_offset = first_grain_offset + i * layout_.grain_bytes;
        if (entry.kind == ExtentKind::data && guest_offset < layout_.size) {
            // Only the part of the last grain inside the extent has to be stored.
            const std::uint64_t needed = std::min(layout_.grain_bytes, layout_.size - guest_offset);
            if (!inside_file(*file_, entry.file_offset, needed)) {
                fail(Errc::corrupt,
                     "{}: grain table entry {} of grain table {} points past the end of the file (grain at 0x{:x}) "
                     "(offset 0x{:x})",
                     file_->name(), i, index, entry.file_offset, entry_offset);
            }
        }
        (*table)[i] = pack(entry);
    }
    return table;
}

template <typename Visit>
void GrainTableExtent::walk(std::uint64_t offset, std::uint64_t length, Visit&& visit) const
{
    Run pending;
    const auto add = [&](ExtentKind kind, std::uint64_t file_offset, std::uint64_t n) {
        const bool continues = pending.length != 0 && pending.kind == kind &&
                               (kind != ExtentKind::data || pending.file_offset + pending.length == file_offset);
        if (continues) {
            pending.length += n;
            return;
        }
        if (pending.length != 0) {
            visit(pending);
        }
        pending = Run{kind, file_offset, n};
    };

    const std::uint64_t coverage = layout_.table_coverage();
    const std::uint64_t end = offset + length;
    std::uint64_t pos = offset;
    while (pos < end) {
        const std::uint64_t table_end = pos + std::min(end - pos, coverage - pos % coverage);
        const std::shared_ptr<const Table> table = this->table(pos / coverage);
        if (!table) {
            add(ExtentKind::unallocated, 0, table_end - pos);
            pos = table_end;
            continue;
        }
        while (pos < table_end) {
            const std::uint64_t within = pos % layout_.grain_bytes;
            const std::uint64_t n = std::min(layout_.grain_bytes - within, table_end - pos);
            const std::uint64_t word = (*table)[pos % coverage / layout_.grain_bytes];
            add(kind_of(word), (word & ~kind_mask) + within, n);
            pos += n;
        }
    }
    if (pending.length != 0) {
        visit(pending);
    }
}

void GrainTableExtent::read(std::span<std::byte> buf, std::uint64_t offset) const
{
    if (offset > layout_.size || buf.size() > layout_.size - offset) {
        fail(Errc::invalid_argument, "{}: read of {} bytes at {} is past the extent's end ({})", file_->name(),
             buf.size(), offset, layout_.size);
    }
    std::size_t done = 0;
    walk(offset, buf.size(), [&](const Run& run) {
        const std::span<std::byte> out = buf.subspan(done, run.length);
        if (run.kind == ExtentKind::data) {
            file_->read_at(out, run.file_offset);
        } else {
            std::fill(out.begin(), out.end(), std::byte{0});
        }
        done += run.length;
    });
}

ExtentList GrainTableExtent::map(std::uint64_t offset, std::uint64_t length) const
{
    ExtentList extents(offset);
    if (offset < layout_.size) {
        walk(offset, std::min(length, layout_.size - offset),
             [&](const Run& run) { extents.append(run.length, run.kind); });
    }
    return extents;
}

}  // namespace diskshift::formats::vmdk
