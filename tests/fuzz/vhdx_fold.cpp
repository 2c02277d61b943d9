#include "vhdx_fold.hpp"

#include <algorithm>

namespace diskshift::fuzz {
namespace {

/// Where the file byte at `offset` is in the folded input, or nothing (a dropped byte, zero).
/// `run` receives how many following bytes share the answer.
bool folded_index(std::uint64_t offset, std::uint64_t& index, std::uint64_t& run)
{
    if (offset < vhdx_fold_stride) {
        const bool kept = offset < vhdx_fold_head_bytes;
        index = offset;
        run = (kept ? vhdx_fold_head_bytes : vhdx_fold_stride) - offset;
        return kept;
    }
    const std::uint64_t mib = offset / vhdx_fold_stride;
    const std::uint64_t within = offset % vhdx_fold_stride;
    index = vhdx_fold_head_bytes + (mib - 1) * vhdx_fold_kept_bytes + within;
    const bool kept = within < vhdx_fold_kept_bytes;
    run = (kept ? vhdx_fold_kept_bytes : vhdx_fold_stride) - within;
    return kept;
}

std::uint64_t unfolded_size(std::uint64_t folded)
{
    if (folded <= vhdx_fold_head_bytes) {
        return folded;
    }
    const std::uint64_t chunks = (folded - vhdx_fold_head_bytes + vhdx_fold_kept_bytes - 1) / vhdx_fold_kept_bytes;
    return (1 + chunks) * vhdx_fold_stride;
}

}  // namespace

FoldedVhdxSource::FoldedVhdxSource(std::vector<std::byte> folded, std::string name)
    : folded_(std::move(folded)), name_(std::move(name)), size_(unfolded_size(folded_.size()))
{
}

void FoldedVhdxSource::do_read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    while (!buf.empty()) {
        std::uint64_t index = 0;
        std::uint64_t run = 0;
        const bool kept = folded_index(offset, index, run);
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(run, buf.size()));
        // Past the input's end (its last chunk partly kept) reads as zeros too.
        std::size_t have = 0;
        if (kept && index < folded_.size()) {
            have = static_cast<std::size_t>(std::min<std::uint64_t>(n, folded_.size() - index));
            std::copy_n(folded_.begin() + static_cast<std::ptrdiff_t>(index), have, buf.begin());
        }
        std::fill(buf.begin() + static_cast<std::ptrdiff_t>(have), buf.begin() + static_cast<std::ptrdiff_t>(n),
                  std::byte{0});
        buf = buf.subspan(n);
        offset += n;
    }
}

std::vector<std::byte> fold_vhdx(std::span<const std::byte> file, std::uint64_t& dropped_nonzero)
{
    std::vector<std::byte> folded;
    dropped_nonzero = 0;
    for (std::uint64_t offset = 0; offset < file.size();) {
        std::uint64_t index = 0;
        std::uint64_t run = 0;
        const bool kept = folded_index(offset, index, run);
        const auto piece = file.subspan(offset, std::min<std::uint64_t>(run, file.size() - offset));
        if (kept) {
            folded.insert(folded.end(), piece.begin(), piece.end());
        } else {
            dropped_nonzero += static_cast<std::uint64_t>(
                std::count_if(piece.begin(), piece.end(), [](std::byte b) { return b != std::byte{0}; }));
        }
        offset += piece.size();
    }
    return folded;
}

}  // namespace diskshift::fuzz
