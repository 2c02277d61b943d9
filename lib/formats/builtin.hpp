// Internal: the built-in formats, one accessor per format folder.
#pragma once

#include <diskshift/format.hpp>

namespace diskshift::formats {

const Format& raw_format() noexcept;
const Format& vmdk_format() noexcept;
const Format& vhd_format() noexcept;
const Format& vhdx_format() noexcept;
const Format& ova_format() noexcept;

}  // namespace diskshift::formats
