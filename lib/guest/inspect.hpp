// Internal: what a guest is, read from its files (os-release, the boot loader's configuration,
// /lib/modules, the network configuration) and from the block facts its GuestFs gives, so that the
// same code inspects a libguestfs guest and a local folder.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <diskshift/guest.hpp>

namespace diskshift::guest {

/// Everything OsInfo holds; fields the guest does not reveal stay empty.
OsInfo inspect_guest(const GuestFs& fs);

/// Orders version strings the way rpm and dpkg order kernels: runs of digits compare as numbers,
/// other runs as text. Negative, zero or positive like strcmp.
int compare_versions(std::string_view a, std::string_view b);

/// The network interfaces the guest's configuration sets up (not loopback), by name, in the style
/// `os.network_style` names.
std::vector<std::string> configured_interfaces(const GuestFs& fs, const OsInfo& os);

}  // namespace diskshift::guest
