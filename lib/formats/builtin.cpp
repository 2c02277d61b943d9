// The one explicit list of built-in formats. A new format adds its accessor here (no static
// self-registration: linkers drop unreferenced objects from static libraries).
#include "formats/builtin.hpp"

#include <array>

namespace diskshift {

std::span<const Format* const> builtin_formats() noexcept
{
    static const std::array list = {
        &formats::raw_format(),
        &formats::vmdk_format(),
        &formats::vhd_format(),
        &formats::vhdx_format(),
        &formats::ova_format(),
    };
    return list;
}

}  // namespace diskshift
