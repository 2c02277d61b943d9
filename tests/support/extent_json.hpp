// Reading allocation maps: diskshift's --map / write_map_json output and `qemu-img map --output=json`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <diskshift/extent.hpp>

#include "support/sparse_layout.hpp"

namespace dstest {

/// The entries of a diskshift map, exactly as written (not merged). Throws
/// nlohmann::json::exception when an entry lacks offset, length or kind.
std::vector<diskshift::Extent> extents_from_map_json(const nlohmann::json& map);

/// "" when `extents` cover [0, size) contiguously, without empty extents and with neighbours of
/// different kinds; otherwise the first rule broken.
std::string map_rule_violation(const std::vector<diskshift::Extent>& extents, std::uint64_t size);

/// The same extents as an ExtentList starting at 0.
diskshift::ExtentList to_extent_list(const std::vector<diskshift::Extent>& extents);

/// The byte ranges `qemu-img map --output=json` marks "data": true, adjacent entries merged.
std::vector<ByteRange> data_ranges_from_qemu_map(const nlohmann::json& map);

/// "" when the lists are equal, otherwise the first difference (lists can hold many thousand
/// extents, too many to print whole).
std::string extent_difference(const diskshift::ExtentList& expected, const diskshift::ExtentList& actual);
std::string range_difference(const std::vector<ByteRange>& expected, const std::vector<ByteRange>& actual);

}  // namespace dstest
