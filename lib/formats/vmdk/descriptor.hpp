// Internal: the VMDK descriptor, the text that says what a disk is made of (VMware "Virtual Disk
// Format 5.0", "The Descriptor File"). It is a file of its own (monolithicFlat, twoGbMaxExtent*,
// vmfs, ESXi deltas) or embedded in a hosted sparse extent (monolithicSparse, streamOptimized).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/vmdk/extent_data.hpp"

namespace diskshift::formats::vmdk {

/// Descriptors larger than this are refused: 32768 extent lines fit comfortably in it.
inline constexpr std::uint64_t max_descriptor_bytes = 4 << 20;
/// The most extent lines a descriptor may have. VMware's largest disk (62 TiB) split into 2 GiB
/// extents needs 31744.
inline constexpr std::size_t max_extent_lines = 32768;
/// The largest disk diskshift reads as VMDK, in 512-byte sectors: 64 TiB, above VMware's 62 TiB.
inline constexpr std::uint64_t max_disk_sectors = 1ULL << 37;
/// parentCID of a disk without a parent (technote, "Parent Content ID").
inline constexpr std::uint32_t no_parent_cid = 0xffffffff;

enum class ExtentAccess { read_write, read_only, no_access };
enum class ExtentType { sparse, flat, zero, vmfs, vmfs_sparse, se_sparse };

/// One extent line: `ACCESS SIZE TYPE "FILE" [OFFSET]`.
struct ExtentLine {
    ExtentAccess access = ExtentAccess::read_write;
    std::uint64_t sectors = 0;
    ExtentType type = ExtentType::sparse;
    std::string file;                 ///< empty for ZERO extents
    std::uint64_t offset_sectors = 0;  ///< where a FLAT extent starts in its file
    std::size_t line_number = 0;
};

struct Descriptor {
    std::string version;
    std::string create_type;
    std::optional<std::uint32_t> cid;
    std::uint32_t parent_cid = no_parent_cid;
    std::string parent_hint;  ///< parentFileNameHint
    std::vector<ExtentLine> extents;
    /// `ddb.*` keys in file order, with their values unquoted.
    std::vector<std::pair<std::string, std::string>> ddb;
    std::vector<std::string> warnings;  ///< lines that were ignored

    /// The value of a ddb key (compared without regard to case), or empty.
    std::string ddb_value(std::string_view key) const;
};

/// Parses descriptor text; `where` names it in messages ("disk.vmdk" or "disk.vmdk: embedded
/// descriptor"). Text after a NUL byte is padding and ignored. Throws Error(Errc::corrupt) for a
/// malformed extent line, a CID that is not hexadecimal, more than max_extent_lines extents or a
/// disk over max_disk_sectors.
Descriptor parse_descriptor(std::string_view text, const std::string& where);

/// True when `head` (a file's first bytes) looks like a descriptor file: it starts with
/// "# Disk DescriptorFile", or its first setting is `version=`.
bool looks_like_descriptor(std::string_view head) noexcept;

std::string_view to_string(ExtentAccess access) noexcept;
std::string_view to_string(ExtentType type) noexcept;

/// A new disk's content IDs: the CID and ddb.longContentID (32 hexadecimal digits ending in it).
struct DiskIdentity {
    std::uint32_t cid = 0;
    std::string long_content_id;
};

/// A fresh random identity; the CID is never ffffffff (no parent) nor fffffffe.
DiskIdentity fresh_identity();

/// What a writer puts in the descriptor embedded in a new hosted sparse file.
struct NewDescriptor {
    DiskIdentity id;
    std::string create_type;  ///< "streamOptimized" or "monolithicSparse"
    std::uint64_t sectors = 0;
    std::string file;  ///< the extent's file name: the file itself
    std::string adapter_type;
    std::uint64_t cylinders = 0;
    std::uint32_t heads = 0;
    std::uint32_t sectors_per_track = 0;
    std::string hardware_version;
    std::string tools_version;
};

/// The descriptor text: header settings, one `RW <sectors> SPARSE "<file>"` extent line and the
/// disk database (adapter type, geometry, long content ID, hardware and tools versions).
std::string format_descriptor(const NewDescriptor& d);

/// Compares descriptor words as the technote says they compare: without regard to ASCII case.
bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept;

/// A CID as VMDK writes it: 8 lower-case hexadecimal digits.
std::string format_cid(std::uint32_t cid);

}  // namespace diskshift::formats::vmdk
