// Internal: the contents of one VMDK extent, in bytes from the extent's own start. The descriptor
// reader concatenates extents in line order; each extent type (FLAT, SPARSE, VMFSSPARSE,
// SESPARSE, ZERO) provides one of these.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include <nlohmann/json.hpp>

#include <diskshift/extent.hpp>
#include <diskshift/io.hpp>

namespace diskshift::formats::vmdk {

/// The unit every VMDK size and offset is counted in.
inline constexpr std::uint64_t sector_bytes = 512;

class ExtentData {
public:
    virtual ~ExtentData() = default;

    /// The extent's length in bytes, as its own header states it.
    virtual std::uint64_t size() const noexcept = 0;
    /// Fills `buf` from `offset` (inside size()); unallocated and zero ranges read as zeros.
    /// Safe to call from several threads at once.
    virtual void read(std::span<std::byte> buf, std::uint64_t offset) const = 0;
    /// Like Image::do_extents: a list starting at `offset` covering at least one byte; it may stop
    /// early or run past `offset + length`.
    virtual ExtentList map(std::uint64_t offset, std::uint64_t length) const = 0;
    /// Header facts for imginfo (version, grain size, table places), an object.
    virtual nlohmann::ordered_json details() const = 0;
};

/// True when `head` (the file's first bytes) starts with a seSparse or a COWD (vmfsSparse) header.
bool is_esx_sparse_header(std::span<const std::byte> head) noexcept;

/// An ESXi seSparse extent (const header magic 0xCAFEBABE). Throws Error(Errc::corrupt) naming
/// the file and the structure when the headers or tables are inconsistent with the file.
std::unique_ptr<ExtentData> open_sesparse_extent(std::shared_ptr<const ByteSource> file);

/// An ESXi vmfsSparse extent (header magic "COWD"), same error rules.
std::unique_ptr<ExtentData> open_cowd_extent(std::shared_ptr<const ByteSource> file);

}  // namespace diskshift::formats::vmdk
