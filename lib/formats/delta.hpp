// Internal: the rule every format with delta layers (VMDK, VHD, VHDX) applies on open.
#pragma once

#include <diskshift/format.hpp>

namespace diskshift::formats {

/// A delta read by itself shows zeros where its parent has data, so a conversion would silently
/// produce a wrong disk. Throws Error(Errc::invalid_argument) naming the parent the delta needs,
/// unless `info` has no parent or the caller set OpenOptions::allow_delta_alone.
void refuse_delta_alone(const ImageInfo& info, const OpenContext& context);

}  // namespace diskshift::formats
