#include "codec/zlib_stream.hpp"

#include <array>
#include <memory>

#include <libdeflate.h>

namespace diskshift::codec {
namespace {

/// libdeflate's compression levels are 0 to 12.
constexpr int max_level = 12;

struct DecompressorFree {
    void operator()(libdeflate_decompressor* d) const noexcept { libdeflate_free_decompressor(d); }
};
struct CompressorFree {
    void operator()(libdeflate_compressor* c) const noexcept { libdeflate_free_compressor(c); }
};

/// This thread's decompressor, or null when it cannot be allocated.
libdeflate_decompressor* thread_decompressor() noexcept
{
    thread_local std::unique_ptr<libdeflate_decompressor, DecompressorFree> decompressor(
        libdeflate_alloc_decompressor());
    return decompressor.get();
}

/// This thread's compressor for `level` (clamped to 0…12), or null when it cannot be allocated.
libdeflate_compressor* thread_compressor(int level) noexcept
{
    thread_local std::array<std::unique_ptr<libdeflate_compressor, CompressorFree>, max_level + 1> compressors;
    const auto index = static_cast<std::size_t>(level < 0 ? 0 : level > max_level ? max_level : level);
    if (!compressors[index]) {
        compressors[index].reset(libdeflate_alloc_compressor(static_cast<int>(index)));
    }
    return compressors[index].get();
}

}  // namespace

std::optional<std::size_t> zlib_decompress(std::span<const std::byte> in, std::span<std::byte> out) noexcept
{
    libdeflate_decompressor* decompressor = thread_decompressor();
    if (decompressor == nullptr) {
        return std::nullopt;
    }
    std::size_t used = 0;
    std::size_t produced = 0;
    const libdeflate_result result = libdeflate_zlib_decompress_ex(decompressor, in.data(), in.size(), out.data(),
                                                                   out.size(), &used, &produced);
    if (result != LIBDEFLATE_SUCCESS) {
        return std::nullopt;
    }
    return produced;
}

std::size_t zlib_compress_bound(std::size_t input_bytes) noexcept
{
    return libdeflate_zlib_compress_bound(nullptr, input_bytes);
}

std::optional<std::size_t> zlib_compress(std::span<const std::byte> in, std::span<std::byte> out, int level) noexcept
{
    libdeflate_compressor* compressor = thread_compressor(level);
    if (compressor == nullptr) {
        return std::nullopt;
    }
    const std::size_t written = libdeflate_zlib_compress(compressor, in.data(), in.size(), out.data(), out.size());
    if (written == 0) {
        return std::nullopt;
    }
    return written;
}

}  // namespace diskshift::codec
