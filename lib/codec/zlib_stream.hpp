// Internal: one zlib stream (RFC 1950: deflate data with a 2-byte header and an Adler-32 trailer)
// in and out of a buffer, with libdeflate. VMDK grains are such streams (VMware's technote says
// "RFC 1951", but every VMware, qemu and open-vmdk grain carries the zlib wrapper).
//
// Each thread keeps its own (de)compressor, made on first use: the calls are safe from several
// threads at once and allocate nothing after a thread's first call.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

namespace diskshift::codec {

/// Decompresses the zlib stream at the start of `in` into `out`; bytes after the stream's end are
/// ignored (grains are padded to a sector). Returns the number of bytes produced, or nullopt when
/// the stream is damaged, is cut short, or would produce more than `out.size()` bytes.
std::optional<std::size_t> zlib_decompress(std::span<const std::byte> in, std::span<std::byte> out) noexcept;

/// The most bytes zlib_compress() can produce for `input_bytes` of input.
std::size_t zlib_compress_bound(std::size_t input_bytes) noexcept;

/// Compresses `in` as one zlib stream at `level` (0 stores, 1 fastest … 12 smallest) into `out`.
/// Returns the bytes written, or nullopt when `out` is smaller than zlib_compress_bound().
std::optional<std::size_t> zlib_compress(std::span<const std::byte> in, std::span<std::byte> out, int level) noexcept;

}  // namespace diskshift::codec
