// Internal: the structural checkers of the built-in formats (lib/formats/<fmt>/<fmt>_check.cpp),
// called by each Format::check(). Each adds every problem it finds to `report`, sets the report's
// subformat, and reads the disk once (read_every_extent) when the structure holds together.
#pragma once

#include <memory>

#include <diskshift/check.hpp>
#include <diskshift/format.hpp>

namespace diskshift::formats {

void check_vhd(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
               CheckReport& report);
void check_ova(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
               CheckReport& report);
void check_vmdk(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
                CheckReport& report);
void check_vhdx(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
                CheckReport& report);

}  // namespace diskshift::formats
