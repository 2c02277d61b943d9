#include "io/concat_source.hpp"

#include <algorithm>

namespace diskshift {

ConcatSource::ConcatSource(std::vector<std::shared_ptr<const ByteSource>> parts, std::string name)
    : parts_(std::move(parts)), name_(std::move(name))
{
    starts_.reserve(parts_.size() + 1);
    starts_.push_back(0);
    for (const auto& part : parts_) {
        starts_.push_back(starts_.back() + part->size());
    }
}

std::uint64_t ConcatSource::allocated_bytes() const
{
    std::uint64_t total = 0;
    for (const auto& part : parts_) {
        total += part->allocated_bytes();
    }
    return total;
}

template <typename Visit>
void ConcatSource::for_each_piece(std::uint64_t offset, std::uint64_t length, Visit&& visit) const
{
    // The last part whose start is at or before `offset`; empty parts are passed over.
    auto index = static_cast<std::size_t>(std::upper_bound(starts_.begin(), starts_.end() - 1, offset) -
                                          starts_.begin() - 1);
    while (length > 0) {
        const std::uint64_t inside = offset - starts_[index];
        const std::uint64_t n = std::min(length, parts_[index]->size() - inside);
        if (n > 0) {
            visit(*parts_[index], inside, n);
        }
        offset += n;
        length -= n;
        ++index;
    }
}

void ConcatSource::do_read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    std::size_t done = 0;
    for_each_piece(offset, buf.size(), [&](const ByteSource& part, std::uint64_t at, std::uint64_t n) {
        part.read_at(buf.subspan(done, static_cast<std::size_t>(n)), at);
        done += static_cast<std::size_t>(n);
    });
}

ExtentList ConcatSource::do_allocation(std::uint64_t offset, std::uint64_t length) const
{
    ExtentList out(offset);
    for_each_piece(offset, length, [&](const ByteSource& part, std::uint64_t at, std::uint64_t n) {
        for (const Extent& e : part.allocation(at, n)) {
            out.append(e.length, e.kind);
        }
    });
    return out;
}

}  // namespace diskshift
