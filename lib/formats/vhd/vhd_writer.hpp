// Internal: the VHD writer (fixed and dynamic disks), reached through the vhd Format's create().
#pragma once

#include <memory>

#include <diskshift/io.hpp>
#include <diskshift/writer.hpp>

namespace diskshift::formats::vhd {

/// Takes the options subformat=dynamic|fixed, block_size= (dynamic) and azure=on|off, checks the
/// disk size against them, and returns a writer into `sink`.
std::unique_ptr<Writer> create_writer(ByteSink& sink, CreateRequest request);

}  // namespace diskshift::formats::vhd
