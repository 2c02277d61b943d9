// ESXi sparse extents: seSparse and COWD (vmfsSparse). Not yet implemented.
#include "formats/vmdk/extent_data.hpp"

#include "core/fail.hpp"

namespace diskshift::formats::vmdk {

bool is_esx_sparse_header(std::span<const std::byte>) noexcept { return false; }

std::unique_ptr<ExtentData> open_sesparse_extent(std::shared_ptr<const ByteSource> file)
{
    fail(Errc::unsupported, "{}: seSparse extents are not supported yet", file->name());
}

std::unique_ptr<ExtentData> open_cowd_extent(std::shared_ptr<const ByteSource> file)
{
    fail(Errc::unsupported, "{}: vmfsSparse (COWD) extents are not supported yet", file->name());
}

}  // namespace diskshift::formats::vmdk
