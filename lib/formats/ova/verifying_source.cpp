#include "formats/ova/verifying_source.hpp"

#include <algorithm>

#include "core/fail.hpp"

namespace diskshift::formats::ova {
namespace {

/// Reads starting at most this far past the watermark hash the gap instead of leaving it for
/// finish(): concurrent readers of neighbouring chunks, and the padding between a stream VMDK's
/// grains, stay within it.
constexpr std::uint64_t max_gap_bytes = std::uint64_t{16} << 20;
/// The gap and the unread rest are hashed in reads of this size.
constexpr std::size_t hash_read_bytes = std::size_t{1} << 20;

ShaAlgorithm algorithm_of(const ManifestEntry& entry)
{
    const auto algorithm = sha_algorithm_named(entry.algorithm);
    if (!algorithm) {
        fail(Errc::invalid_argument, "manifest digest algorithm '{}' is not supported", entry.algorithm);
    }
    return *algorithm;
}

}  // namespace

VerifyingSource::VerifyingSource(std::shared_ptr<const ByteSource> member, const ManifestEntry& entry,
                                 std::string manifest)
    : member_(std::move(member)), entry_(entry), manifest_(std::move(manifest)), sha_(algorithm_of(entry))
{
}

void VerifyingSource::do_read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    member_->read_at(buf, offset);
    const std::lock_guard lock(mutex_);
    if (offset > watermark_ && offset - watermark_ <= max_gap_bytes) {
        hash_from_source(offset);
    }
    const std::uint64_t end = offset + buf.size();
    if (offset <= watermark_ && watermark_ < end) {
        sha_.update(buf.subspan(static_cast<std::size_t>(watermark_ - offset)));
        watermark_ = end;
    }
    compare_if_complete();
}

void VerifyingSource::hash_from_source(std::uint64_t end) const
{
    gap_buffer_.resize(hash_read_bytes);
    while (watermark_ < end) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(hash_read_bytes, end - watermark_));
        const std::span<std::byte> piece = std::span(gap_buffer_).first(n);
        member_->read_at(piece, watermark_);
        sha_.update(piece);
        watermark_ += n;
    }
}

void VerifyingSource::compare_if_complete() const
{
    if (watermark_ == member_->size() && !actual_) {
        actual_ = sha_.finish();
    }
    if (actual_ && *actual_ != entry_.digest) {
        fail(Errc::corrupt, "{}: {} digest {} does not match the one {} lists ({}): the package is damaged or was "
             "altered", member_->name(), entry_.algorithm, *actual_, manifest_, entry_.digest);
    }
}

void VerifyingSource::finish() const
{
    const std::lock_guard lock(mutex_);
    hash_from_source(member_->size());
    compare_if_complete();
}

std::uint64_t VerifyingSource::hashed_bytes() const
{
    const std::lock_guard lock(mutex_);
    return watermark_;
}

}  // namespace diskshift::formats::ova
