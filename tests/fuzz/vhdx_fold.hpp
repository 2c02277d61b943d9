// fuzz_vhdx's inputs: VHDX files folded so the fuzzer mutates structures rather than zeros.
//
// A VHDX file keeps its header area (file identifier, two headers, two region tables) in its first
// 320 KiB and starts every region and payload block on a 1 MiB boundary (MS-VHDX 2.2, 2.3); what a
// writer puts in a region (log entries, the metadata table and its items, BAT entries) fills its
// first KiB, and the rest of each MiB is mostly zeros. A folded input holds the file's first
// 320 KiB, then the first 128 KiB of every following MiB; everything else reads as zeros. An
// empty 4 MiB VHDX (8 MiB on disk) folds to 1.2 MiB, which makes the fuzzer about six times faster
// and aims its mutations at the metadata.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <diskshift/io.hpp>

namespace diskshift::fuzz {

inline constexpr std::uint64_t vhdx_fold_head_bytes = 320 * 1024;
inline constexpr std::uint64_t vhdx_fold_kept_bytes = 128 * 1024;
inline constexpr std::uint64_t vhdx_fold_stride = 1024 * 1024;

/// The file a folded input stands for, read in place (nothing is unfolded into memory). Its size:
/// the input's size up to vhdx_fold_head_bytes; beyond, whole MiBs, the last one partly kept.
class FoldedVhdxSource final : public ByteSource {
public:
    FoldedVhdxSource(std::vector<std::byte> folded, std::string name);

    const std::string& name() const override { return name_; }
    std::uint64_t size() const override { return size_; }

private:
    void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const override;

    std::vector<std::byte> folded_;
    std::string name_;
    std::uint64_t size_;
};

/// The folded form of a VHDX file's bytes; `dropped_nonzero` counts the non-zero bytes left out.
std::vector<std::byte> fold_vhdx(std::span<const std::byte> file, std::uint64_t& dropped_nonzero);

}  // namespace diskshift::fuzz
