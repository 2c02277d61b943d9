// Internal: a package member checked against its manifest digest while it is read, so a large
// disk is never read a second time just to verify it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <diskshift/io.hpp>

#include "core/sha.hpp"
#include "formats/ova/manifest.hpp"

namespace diskshift::formats::ova {

/// Bytes are hashed in order from a watermark (the first byte not yet hashed). A read that covers
/// the watermark advances it; a read that starts at most 16 MiB past it hashes the gap first,
/// reading those bytes once more (they were just read by a neighbouring reader, or are about to
/// be); a read further ahead, or behind, only reads. Once the watermark reaches the end the digest
/// is compared, and finish() hashes whatever was never read and compares. Safe to read from
/// several threads at once (the hashing is serialised).
class VerifyingSource final : public ByteSource {
public:
    /// `member` is the file's bytes as stored; `entry` its manifest line; `manifest` the
    /// manifest's name, for messages.
    VerifyingSource(std::shared_ptr<const ByteSource> member, const ManifestEntry& entry, std::string manifest);

    const std::string& name() const override { return member_->name(); }
    std::uint64_t size() const override { return member_->size(); }
    std::uint64_t allocated_bytes() const override { return member_->allocated_bytes(); }

    /// Hashes the bytes never read, then compares: Error(Errc::corrupt) naming the file and both
    /// digests when they differ. Later calls repeat the verdict without hashing again.
    void finish() const;
    /// How many bytes have been hashed so far (for tests).
    std::uint64_t hashed_bytes() const;

private:
    void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const override;
    ExtentList do_allocation(std::uint64_t offset, std::uint64_t length) const override
    {
        return member_->allocation(offset, length);
    }

    /// With the lock held: hashes [watermark_, end) by reading it, then compares at the end.
    void hash_from_source(std::uint64_t end) const;
    void compare_if_complete() const;

    std::shared_ptr<const ByteSource> member_;
    ManifestEntry entry_;
    std::string manifest_;
    mutable std::mutex mutex_;
    mutable Sha sha_;
    mutable std::uint64_t watermark_ = 0;
    mutable std::optional<std::string> actual_;   ///< the digest, once the watermark reached the end
    mutable std::vector<std::byte> gap_buffer_;
};

}  // namespace diskshift::formats::ova
