#include <diskshift/extent.hpp>

#include <algorithm>

#include "core/fail.hpp"

namespace diskshift {

const char* to_string(ExtentKind kind) noexcept
{
    switch (kind) {
    case ExtentKind::data: return "data";
    case ExtentKind::zero: return "zero";
    case ExtentKind::unallocated: return "unallocated";
    }
    return "unknown";
}

void ExtentList::append(std::uint64_t length, ExtentKind kind)
{
    if (length == 0) {
        return;
    }
    const std::uint64_t offset = end_offset();
    if (length > UINT64_MAX - offset) {
        fail(Errc::invalid_argument, "extent list: extent at offset {} of length {} overflows", offset, length);
    }
    if (!extents_.empty() && extents_.back().kind == kind) {
        extents_.back().length += length;
    } else {
        extents_.push_back({offset, length, kind});
    }
}

void ExtentList::add(const Extent& e)
{
    if (e.offset != end_offset()) {
        fail(Errc::invalid_argument, "extent list: extent at offset {} does not follow the list's end {}", e.offset,
             end_offset());
    }
    if (e.length == 0) {
        fail(Errc::invalid_argument, "extent list: empty extent at offset {}", e.offset);
    }
    append(e.length, e.kind);
}

void ExtentList::append(const ExtentList& other)
{
    if (other.start_offset() != end_offset()) {
        fail(Errc::invalid_argument, "extent list: list starting at {} does not follow the list's end {}",
             other.start_offset(), end_offset());
    }
    for (const Extent& e : other) {
        append(e.length, e.kind);
    }
}

ExtentList ExtentList::slice(std::uint64_t offset, std::uint64_t length) const
{
    if (offset < start_offset() || offset > end_offset() || length > end_offset() - offset) {
        fail(Errc::invalid_argument, "extent list: slice [{}, +{}) is outside [{}, {})", offset, length,
             start_offset(), end_offset());
    }
    ExtentList out(offset);
    const std::uint64_t end = offset + length;
    // First extent ending after `offset`.
    auto it = std::upper_bound(extents_.begin(), extents_.end(), offset,
                               [](std::uint64_t o, const Extent& e) { return o < e.end(); });
    for (; it != extents_.end() && it->offset < end; ++it) {
        const std::uint64_t from = std::max(it->offset, offset);
        const std::uint64_t to = std::min(it->end(), end);
        out.append(to - from, it->kind);
    }
    return out;
}

std::uint64_t ExtentList::bytes_of(ExtentKind kind) const noexcept
{
    std::uint64_t total = 0;
    for (const Extent& e : extents_) {
        if (e.kind == kind) {
            total += e.length;
        }
    }
    return total;
}

}  // namespace diskshift
