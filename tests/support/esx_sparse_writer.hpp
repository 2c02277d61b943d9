// A test generator of ESXi sparse VMDK extents: small seSparse and COWD (vmfsSparse) files with
// chosen grains allocated (random data), zeroed, unmapped or left unallocated, laid out the way
// reference vmdk.md §6 and §7 describe them, plus the descriptor qemu-img needs to open them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <diskshift/extent.hpp>

namespace dstest {

/// What the generator stores for one grain; grains not listed are unallocated.
enum class EsxGrainFill {
    data,      ///< random bytes
    zero,      ///< seSparse only: a zeroed-grain entry
    unmapped,  ///< seSparse only: a SCSI-unmapped entry (reads as zeros)
};

struct EsxSparseSpec {
    std::uint64_t capacity_sectors = 0;
    std::uint32_t grain_sectors = 8;  ///< COWD: any of 1..2048; seSparse: always 8
    std::map<std::uint64_t, EsxGrainFill> grains;  ///< by grain number
    /// seSparse: the number of the first grain cluster allocated (>= 4096 exercises every bit of
    /// the shuffled cluster number; the clusters before it are left as a hole of zeros).
    std::uint64_t first_cluster = 0;
    std::uint64_t seed = 1;
};

/// A generated extent and what it must read as.
struct EsxSparseFile {
    std::vector<std::byte> bytes;  ///< the extent file
    std::uint64_t size = 0;        ///< the disk's bytes (capacity)
    std::uint64_t grain_bytes = 0;
    std::uint64_t directory_offset = 0;    ///< where the grain directory starts
    std::uint64_t first_table_offset = 0;  ///< where the grain table of the lowest grain listed starts
    /// Each grain listed in the spec: its fill and, for data, where its bytes are in the file.
    std::map<std::uint64_t, std::pair<EsxGrainFill, std::uint64_t>> grains;

    /// The disk bytes [offset, offset + out.size()) the extent is meant to hold.
    void expected(std::span<std::byte> out, std::uint64_t offset) const;
    /// The extents [0, size) a reader must report: data, zero (zeroed and unmapped grains) and
    /// unallocated, neighbours merged.
    diskshift::ExtentList expected_map() const;
};

/// A seSparse extent (version 0x200000001, 4 KiB grains, 4096-entry grain tables).
EsxSparseFile make_sesparse(const EsxSparseSpec& spec);

/// A COWD extent (version 1, 4096-entry grain tables); only `data` grains.
EsxSparseFile make_cowd(const EsxSparseSpec& spec);

/// A descriptor naming one extent `file` of `sectors`: `create_type` "seSparse" with `extent_type`
/// "SESPARSE", or "vmfsSparse" with "VMFSSPARSE".
std::string esx_descriptor(const std::string& create_type, const std::string& extent_type, std::uint64_t sectors,
                           const std::string& file);

}  // namespace dstest
