// Internal: the decompressed bytes of a gzip file (RFC 1952), streamed through zlib and never
// written anywhere: a gzip-compressed disk inside an OVA is read in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include <diskshift/io.hpp>

namespace diskshift {

/// Reads go forward through one inflate stream. The last 16 MiB produced stay in memory, so
/// readers on several threads that are slightly out of order cost nothing; a read further back
/// restarts from the nearest checkpoint (a copy of the inflate state taken every 64 MiB or more,
/// at most 256 of them) instead of the start. size() is only known once the whole stream has been
/// inflated: the first call does that pass. Reads are serialised (one inflate stream).
class GzipSource final : public ByteSource {
public:
    GzipSource(std::shared_ptr<const ByteSource> compressed, std::string name);
    ~GzipSource() override;
    GzipSource(const GzipSource&) = delete;
    GzipSource& operator=(const GzipSource&) = delete;

    const std::string& name() const override { return name_; }
    /// Inflates the whole stream on first call. A damaged or cut stream is Error(Errc::corrupt).
    std::uint64_t size() const override;
    std::uint64_t allocated_bytes() const override { return compressed_->allocated_bytes(); }

    /// Reads up to `buf.size()` bytes from the start without needing size(): for looking at a
    /// disk's first bytes cheaply. Returns how many bytes the stream had (fewer at its end).
    std::size_t read_head(std::span<std::byte> buf) const;

private:
    struct Stream;

    void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const override;

    std::shared_ptr<const ByteSource> compressed_;
    std::string name_;
    mutable std::mutex mutex_;
    std::unique_ptr<Stream> stream_;  ///< guarded by mutex_
};

}  // namespace diskshift
