// The shared part of the fuzz targets: the input opened the way the tools open a file, and the
// image read back within fixed bounds. Every target's LLVMFuzzerTestOneInput calls into here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <diskshift/error.hpp>
#include <diskshift/io.hpp>

namespace diskshift::fuzz {

/// Images up to this virtual size are read whole through convert(); larger ones are sampled
/// (read_bounded). Under ASan and UBSan one input of this size converts in well under a second.
inline constexpr std::uint64_t convert_cap_bytes = std::uint64_t{32} << 20;

/// Prints the error when DISKSHIFT_FUZZ_VERBOSE is set (to see what a seed or a finding does).
void note_error(const Error& e);

/// Runs `body`; a diskshift::Error is the expected answer to a bad input and is swallowed.
/// Anything else escapes: libFuzzer reports an uncaught exception (std::bad_alloc included) as
/// a crash, which is what we want.
template <typename Body>
void expect_only_errors(Body&& body)
{
    try {
        body();
    } catch (const Error& e) {
        note_error(e);
    }
}

/// The input as text (descriptors, manifests, OVF).
inline std::string_view as_text(std::span<const std::uint8_t> input) noexcept
{
    return {reinterpret_cast<const char*>(input.data()), input.size()};
}

/// Opens `input` as an image of `format` (forced: no probing), in a MemorySource named `name`,
/// and reads it with read_bounded(). A file the image names (a VMDK extent) is served a part of the
/// input (related_file), so nothing outside the input is ever read. Delta layers are opened
/// alone. Errors (diskshift::Error) are swallowed.
void open_and_read(std::span<const std::uint8_t> input, const std::string& format, const std::string& name);

/// The same for a source the target made from its input (fuzz_vhdx: a folded file); files the
/// image names are refused.
void open_and_read(std::shared_ptr<const ByteSource> source, const std::string& format);

}  // namespace diskshift::fuzz
