// diskshift — extents: what one layer of a disk says about a byte range.
#pragma once

#include <cstdint>
#include <vector>

namespace diskshift {

/// The three answers a layer can give for a range of its disk.
enum class ExtentKind : std::uint8_t {
    data,         ///< this layer supplies the bytes (they may still happen to be zero)
    zero,         ///< this layer defines the bytes as zero; a parent is not consulted
    unallocated,  ///< this layer says nothing: a read falls through to the parent, or reads zeros
                  ///< at the bottom of a chain (and for an image opened alone)
};

/// "data", "zero" or "unallocated".
const char* to_string(ExtentKind kind) noexcept;

struct Extent {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    ExtentKind kind = ExtentKind::data;

    std::uint64_t end() const noexcept { return offset + length; }
    friend bool operator==(const Extent&, const Extent&) = default;
};

/// An ascending, contiguous run of extents with no empty extent, where neighbours of one kind are
/// always merged. Every mutation keeps these rules or throws Error(Errc::invalid_argument).
class ExtentList {
public:
    using const_iterator = std::vector<Extent>::const_iterator;

    /// An empty list whose first extent will start at `start`.
    explicit ExtentList(std::uint64_t start = 0) noexcept : start_(start) {}

    /// Appends `length` bytes of `kind` at end_offset(); merges with the last extent when the kind
    /// matches. A zero length is ignored.
    void append(std::uint64_t length, ExtentKind kind);
    /// Appends `e`, which must start exactly at end_offset().
    void add(const Extent& e);
    /// Appends every extent of `other`, which must start at end_offset().
    void append(const ExtentList& other);

    /// The part of this list inside [offset, offset + length), which must lie inside the list.
    ExtentList slice(std::uint64_t offset, std::uint64_t length) const;

    std::uint64_t start_offset() const noexcept { return start_; }
    std::uint64_t end_offset() const noexcept { return extents_.empty() ? start_ : extents_.back().end(); }
    std::uint64_t length() const noexcept { return end_offset() - start_; }
    /// Total bytes of extents of `kind`.
    std::uint64_t bytes_of(ExtentKind kind) const noexcept;

    bool empty() const noexcept { return extents_.empty(); }
    std::size_t size() const noexcept { return extents_.size(); }
    const Extent& operator[](std::size_t i) const { return extents_[i]; }
    const Extent& front() const { return extents_.front(); }
    const Extent& back() const { return extents_.back(); }
    const_iterator begin() const noexcept { return extents_.begin(); }
    const_iterator end() const noexcept { return extents_.end(); }

    friend bool operator==(const ExtentList&, const ExtentList&) = default;

private:
    std::uint64_t start_;
    std::vector<Extent> extents_;
};

}  // namespace diskshift
