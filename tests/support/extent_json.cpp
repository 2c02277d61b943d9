#include "support/extent_json.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace dstest {
namespace {

diskshift::ExtentKind kind_from_name(const std::string& name)
{
    for (const auto kind : {diskshift::ExtentKind::data, diskshift::ExtentKind::zero,
                            diskshift::ExtentKind::unallocated}) {
        if (name == diskshift::to_string(kind)) {
            return kind;
        }
    }
    throw std::invalid_argument("unknown extent kind '" + name + "'");
}

std::string describe(const diskshift::Extent& e)
{
    return fmt::format("{{offset {}, length {}, {}}}", e.offset, e.length, diskshift::to_string(e.kind));
}

std::string describe(const ByteRange& r)
{
    return fmt::format("[{}, {})", r.offset, r.end());
}

/// The first index where two sequences differ, described with `describe`.
template <typename List>
std::string first_difference(const List& expected, const List& actual)
{
    const std::size_t common = std::min(expected.size(), actual.size());
    for (std::size_t i = 0; i < common; ++i) {
        if (!(expected[i] == actual[i])) {
            return fmt::format("entry {} of {}: expected {}, got {}", i, expected.size(), describe(expected[i]),
                               describe(actual[i]));
        }
    }
    if (expected.size() != actual.size()) {
        const bool actual_longer = actual.size() > expected.size();
        return fmt::format("expected {} entries, got {}; first {} one: {}", expected.size(), actual.size(),
                           actual_longer ? "extra" : "missing",
                           describe(actual_longer ? actual[common] : expected[common]));
    }
    return "";
}

}  // namespace

std::vector<diskshift::Extent> extents_from_map_json(const nlohmann::json& map)
{
    std::vector<diskshift::Extent> out;
    for (const nlohmann::json& entry : map) {
        out.push_back({entry.at("offset").get<std::uint64_t>(), entry.at("length").get<std::uint64_t>(),
                       kind_from_name(entry.at("kind").get<std::string>())});
    }
    return out;
}

std::string map_rule_violation(const std::vector<diskshift::Extent>& extents, std::uint64_t size)
{
    std::uint64_t expected_offset = 0;
    for (std::size_t i = 0; i < extents.size(); ++i) {
        const diskshift::Extent& e = extents[i];
        if (e.offset != expected_offset) {
            return fmt::format("extent {} {} should start at {}", i, describe(e), expected_offset);
        }
        if (e.length == 0) {
            return fmt::format("extent {} {} is empty", i, describe(e));
        }
        if (i > 0 && extents[i - 1].kind == e.kind) {
            return fmt::format("extent {} {} has the kind of its neighbour and should be merged", i, describe(e));
        }
        expected_offset = e.end();
    }
    if (expected_offset != size) {
        return fmt::format("the extents end at {}, the disk at {}", expected_offset, size);
    }
    return "";
}

diskshift::ExtentList to_extent_list(const std::vector<diskshift::Extent>& extents)
{
    diskshift::ExtentList out;
    for (const diskshift::Extent& e : extents) {
        out.add(e);
    }
    return out;
}

std::vector<ByteRange> data_ranges_from_qemu_map(const nlohmann::json& map)
{
    std::vector<ByteRange> out;
    for (const nlohmann::json& entry : map) {
        if (entry.at("data").get<bool>()) {
            append_merged(out, {entry.at("start").get<std::uint64_t>(), entry.at("length").get<std::uint64_t>()});
        }
    }
    return out;
}

std::string extent_difference(const diskshift::ExtentList& expected, const diskshift::ExtentList& actual)
{
    const std::vector<diskshift::Extent> e(expected.begin(), expected.end());
    const std::vector<diskshift::Extent> a(actual.begin(), actual.end());
    if (expected.start_offset() != actual.start_offset()) {
        return fmt::format("expected a list starting at {}, got one starting at {}", expected.start_offset(),
                           actual.start_offset());
    }
    return first_difference(e, a);
}

std::string range_difference(const std::vector<ByteRange>& expected, const std::vector<ByteRange>& actual)
{
    return first_difference(expected, actual);
}

}  // namespace dstest
