// diskshift — writers: how a format turns a stream of extents into an image file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
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

/// Receives a disk's contents and lays them out in one format. convert() calls write() for data,
/// write_zeroes() only where a range must read as zeros over something already written, and
/// finish() once at the end; then the caller commits the sink. Never-written ranges read as zeros.
class Writer {
public:
    virtual ~Writer() = default;

    /// True when write() must be called in ascending, non-overlapping order (stream formats).
    virtual bool sequential() const noexcept { return false; }
    virtual void write(std::uint64_t offset, std::span<const std::byte> data) = 0;
    virtual void write_zeroes(std::uint64_t offset, std::uint64_t length) = 0;
    /// Writes the remaining metadata. Nothing may be written afterwards.
    virtual void finish() = 0;
};

}  // namespace diskshift
