// Test support for VHDX: where a file's regions are, in-place patches that keep the checksums valid,
// and a writer of pending logs (MS-VHDX 2.3) so the reader's replay can be checked against qemu's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dstest {

/// The places a VHDX file's current header and region table name.
struct VhdxRegions {
    std::uint64_t bat_offset = 0;
    std::uint64_t metadata_offset = 0;
    std::uint64_t log_offset = 0;
    std::uint64_t log_length = 0;
};

VhdxRegions read_vhdx_regions(const std::filesystem::path& path);

/// Overwrites bytes of `path` at `offset` (pwrite; the file grows if needed).
void patch_file(const std::filesystem::path& path, std::uint64_t offset, std::vector<std::byte> bytes);
void patch_le64(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t value);
void patch_le32(const std::filesystem::path& path, std::uint64_t offset, std::uint32_t value);

/// Recomputes the CRC-32C of the structure of `size` bytes at `offset` (checksum at offset + 4):
/// a header (4 KiB) or a region table (64 KiB).
void reseal_checksum(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t size);

/// One descriptor: a 4 KiB data page written at `file_offset`, or, with `page` empty,
/// `zero_length` bytes zeroed from `file_offset`.
struct VhdxLogDescriptor {
    std::uint64_t file_offset = 0;
    std::vector<std::byte> page;
    std::uint64_t zero_length = 0;
};

struct VhdxLogEntry {
    std::vector<VhdxLogDescriptor> descriptors;
    std::uint64_t last_file_offset = 0;  ///< the file size after this entry (0: the current size)
    bool bad_checksum = false;           ///< store a checksum that does not match
};

/// Writes `entries` at the start of the log region as one sequence (sequence numbers 1, 2, …, every
/// Tail naming the first entry) and sets the LogGuid of both headers, resealing their checksums.
/// Everything else in the file stays as it was: the log is pending.
void write_vhdx_log(const std::filesystem::path& path, const std::vector<VhdxLogEntry>& entries);

/// The absolute file offset of the metadata item whose GUID is written `guid_text`
/// ("CAA16737-FA36-…"); throws when the metadata table does not list it.
std::uint64_t vhdx_metadata_item_offset(const std::filesystem::path& path, const std::string& guid_text);

}  // namespace dstest
