// Test support for VHDX differencing disks (qemu cannot create them).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace dstest {

/// Turns a qemu-made VHDX into a differencing one: sets HasParent and adds a parent locator item
/// (MS-VHDX 2.6.2.6) holding `locator_entries` (key, value), e.g. {"parent_linkage", "{guid}"} and
/// {"relative_path", ".\\parent.vhdx"}, at 512 KiB into the metadata region (qemu's items are all
/// in its first 64 KiB of items).
void make_differencing(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, std::string>>& locator_entries);

}  // namespace dstest
