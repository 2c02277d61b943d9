// diskshift — convert(): copy a disk from one image into a new one, sparse and in parallel.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include <diskshift/image.hpp>
#include <diskshift/io.hpp>
#include <diskshift/writer.hpp>

namespace diskshift {

struct ConvertOptions {
    std::string format = "raw";  ///< the output format's name
    OptionMap options;           ///< the output format's options (-o)
    unsigned threads = 0;        ///< worker threads; 0 means one per core
    ProgressFn progress;         ///< called as bytes of the virtual disk are done
    /// Whether DST must survive a power cut once convert() returns (fsync), or may be left to the
    /// kernel's write-back like qemu-img's and cp's output. DST appears complete either way.
    Durability durability = Durability::page_cache;
    /// Called once every byte is written, before DST appears; throwing leaves no DST. imgconv
    /// checks an OVA disk against the package's manifest here (verify_ova_reads).
    std::function<void()> before_commit;
};

struct ConvertStats {
    std::uint64_t virtual_size = 0;
    std::uint64_t data_bytes = 0;  ///< bytes handed to the writer as data
    std::uint64_t zero_bytes = 0;  ///< bytes skipped: zero or unallocated extents, all-zero blocks
};

/// The granularity at which convert() finds all-zero blocks inside data extents.
inline constexpr std::uint64_t zero_detect_block = 4096;

/// Writes `source` into a new image at `destination` in `options.format`. The output is written
/// under a temporary name and renamed into place only when complete; a failure or a cancellation
/// leaves no file behind. `destination` must not be a file the source reads.
ConvertStats convert(const Image& source, const std::filesystem::path& destination,
                     const ConvertOptions& options);

/// Streams `source` into a writer the caller made, then calls its finish(). Zero and unallocated
/// extents and all-zero blocks are skipped; the rest is read by worker threads and written in
/// ascending order.
ConvertStats convert(const Image& source, Writer& writer, const ConvertOptions& options);

}  // namespace diskshift
