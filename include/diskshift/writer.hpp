// diskshift — writers: how a format turns a stream of extents into an image file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace diskshift {

struct ImageInfo;

/// Output options ("-o key=value,key=value"). Each format takes the keys it knows; any key left
/// over is an error, so a misspelt option never passes silently.
class OptionMap {
public:
    OptionMap() = default;
    /// Parses "key=value,key=value"; may be called repeatedly to add more. A key given twice, a
    /// missing '=' or an empty key throws Error(Errc::invalid_argument).
    void parse(std::string_view text);
    void set(std::string key, std::string value);

    /// Removes and returns the value of `key`.
    std::optional<std::string> take(const std::string& key);
    /// A size with an optional K/M/G/T suffix (powers of 1024), e.g. "2M".
    std::optional<std::uint64_t> take_size(const std::string& key);
    /// on/off, true/false, yes/no, 1/0.
    std::optional<bool> take_bool(const std::string& key);

    /// Throws Error(Errc::invalid_argument) naming every key not taken, for `format`.
    void require_all_taken(std::string_view format) const;
    bool empty() const noexcept { return values_.empty(); }

private:
    std::map<std::string, std::string> values_;
};

/// What a format needs to create an image.
struct CreateRequest {
    std::uint64_t virtual_size = 0;
    OptionMap options;
    const ImageInfo* source = nullptr;  ///< the image being converted, when there is one
};

/// Chunks handed to a ChunkEncoder start at multiples of this on the virtual disk and are this long
/// (the last one may be shorter, ending at the disk's end).
inline constexpr std::uint64_t encoder_chunk_bytes = std::uint64_t{1} << 20;

/// The part of a writer's work that can run on worker threads, one chunk at a time (compressing
/// grains, for example). convert() keeps one encoder per chunk buffer and reuses it for later
/// chunks, so an encoder's buffers are allocated once.
class ChunkEncoder {
public:
    virtual ~ChunkEncoder() = default;
    /// Called on a worker thread, concurrently with other encoders. `data` holds the disk's bytes
    /// from `offset` (a multiple of encoder_chunk_bytes), zeros included; at least one of its
    /// 4 KiB blocks is not all zeros.
    virtual void encode(std::uint64_t offset, std::span<const std::byte> data) = 0;
};

/// Receives a disk's contents and lays them out in one format. convert() calls write() for data,
/// write_zeroes() only where a range must read as zeros over something already written, and
/// finish() once at the end; then the caller commits the sink. Never-written ranges read as zeros.
class Writer {
public:
    virtual ~Writer() = default;

    /// True when write() must be called in ascending, non-overlapping order (stream formats).
    virtual bool sequential() const noexcept { return false; }
    /// True when write() may be called from several threads at once, for disjoint ranges, in any
    /// order: convert() then writes each chunk from the worker that read it.
    virtual bool concurrent_writes() const noexcept { return false; }
    virtual void write(std::uint64_t offset, std::span<const std::byte> data) = 0;
    virtual void write_zeroes(std::uint64_t offset, std::uint64_t length) = 0;
    /// A writer that encodes on worker threads returns an encoder for each chunk buffer; convert()
    /// then calls write_encoded() in ascending order instead of write(). Null (the default) means
    /// write() receives the data.
    virtual std::unique_ptr<ChunkEncoder> make_encoder() { return nullptr; }
    /// Stores what `encoder` made of its last chunk; called in ascending chunk order.
    virtual void write_encoded(const ChunkEncoder& encoder);
    /// Writes the remaining metadata. Nothing may be written afterwards.
    virtual void finish() = 0;
};

}  // namespace diskshift
