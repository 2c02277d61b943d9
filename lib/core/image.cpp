#include <diskshift/image.hpp>

#include "core/fail.hpp"

namespace diskshift {
namespace {

void check_range(const ImageInfo& info, std::uint64_t offset, std::uint64_t length, const char* what)
{
    if (offset > info.virtual_size || length > info.virtual_size - offset) {
        fail(Errc::invalid_argument, "{}: {} of {} bytes at offset {} is past the disk's end ({} bytes)",
             info.filename, what, length, offset, info.virtual_size);
    }
}

}  // namespace

void Image::read(std::span<std::byte> buf, std::uint64_t offset) const
{
    check_range(info_, offset, buf.size(), "read");
    if (!buf.empty()) {
        do_read(buf, offset);
    }
}

ExtentList Image::extents(std::uint64_t offset, std::uint64_t length) const
{
    check_range(info_, offset, length, "extent query");
    ExtentList out(offset);
    const std::uint64_t end = offset + length;
    while (out.end_offset() < end) {
        const std::uint64_t at = out.end_offset();
        const ExtentList part = do_extents(at, end - at);
        if (part.start_offset() != at || part.empty()) {
            fail(Errc::corrupt, "{}: the {} reader answered no extent at offset {}", info_.filename, info_.format, at);
        }
        out.append(part.slice(at, std::min(part.end_offset(), end) - at));
    }
    return out;
}

}  // namespace diskshift
