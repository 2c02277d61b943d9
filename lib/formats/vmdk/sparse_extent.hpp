// Internal: hosted sparse extents, magic "KDMV" (VMware "Virtual Disk Format 5.0", "Hosted Sparse
// Extents" and "Stream-Optimized Compressed Sparse Extents"): monolithicSparse files, the pieces of
// twoGbMaxExtentSparse disks, and streamOptimized files in VMware's layout (grain directory at the
// end, found through the footer) and in qemu's (grain directory up front).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/vmdk/extent_data.hpp"

namespace diskshift::formats::vmdk {

/// The 512-byte header at the start of the extent (and, in stream files, the footer).
struct SparseHeader {
    std::uint32_t version = 0;
    std::uint32_t flags = 0;
    std::uint64_t capacity = 0;       ///< sectors
    std::uint64_t grain_sectors = 0;
    std::uint64_t descriptor_offset = 0;  ///< sector, 0 when none is embedded
    std::uint64_t descriptor_sectors = 0;
    std::uint32_t gtes_per_gt = 0;
    std::uint64_t rgd_offset = 0;  ///< redundant grain directory, sector
    std::uint64_t gd_offset = 0;   ///< grain directory, sector
    std::uint64_t overhead = 0;    ///< sectors of metadata before the first grain
    std::uint16_t compress_algorithm = 0;

    bool redundant_tables() const noexcept;
    bool zeroed_grains() const noexcept;
    bool compressed() const noexcept;
    bool markers() const noexcept;
};

/// True when `head` starts with the hosted sparse magic "KDMV".
bool is_hosted_sparse_header(std::span<const std::byte> head) noexcept;

/// Reads and checks the header at offset 0 of `file`. Throws Error(Errc::corrupt) or
/// Error(Errc::unsupported) naming the file, the field and its offset.
SparseHeader read_sparse_header(const ByteSource& file);

/// The footer of a stream file whose header gives the grain directory's place as GD_AT_END: the
/// last three sectors must be a footer marker, the footer and an end-of-stream marker (technote,
/// "The Footer"). Throws Error(Errc::corrupt) naming the structure and its offset otherwise.
SparseHeader read_stream_footer_of(const ByteSource& file);

/// Lays `header` out as the 512-byte structure (magic, fields, the new-line test characters, zero
/// padding), for a file's header or a stream file's footer.
void store_sparse_header(const SparseHeader& header, std::span<std::byte, sector_bytes> out) noexcept;

/// The descriptor text embedded in the extent ("" when there is none), cut at the first NUL.
std::string read_embedded_descriptor(const ByteSource& file, const SparseHeader& header);

/// Opens the extent: reads the footer of a stream file, loads the grain directory and every grain
/// table (and the redundant copies, which must point inside the file too) and checks each entry
/// against the file. Differences between the primary and redundant tables are added to `warnings`.
std::unique_ptr<ExtentData> open_hosted_sparse_extent(std::shared_ptr<const ByteSource> file,
                                                      std::vector<std::string>& warnings);

}  // namespace diskshift::formats::vmdk
