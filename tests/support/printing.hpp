// How doctest prints diskshift values in failure messages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <diskshift/extent.hpp>

#include "support/sparse_layout.hpp"

namespace doctest {

template <>
struct StringMaker<diskshift::Extent> {
    static String convert(const diskshift::Extent& e)
    {
        return fmt::format("{{{}, {}, {}}}", e.offset, e.length, diskshift::to_string(e.kind)).c_str();
    }
};

template <>
struct StringMaker<diskshift::ExtentList> {
    static String convert(const diskshift::ExtentList& list)
    {
        constexpr std::size_t shown = 16;
        std::string text = fmt::format("ExtentList(start {}) [", list.start_offset());
        for (std::size_t i = 0; i < list.size() && i < shown; ++i) {
            text += (i == 0 ? "" : ", ") + std::string(StringMaker<diskshift::Extent>::convert(list[i]).c_str());
        }
        text += list.size() > shown ? fmt::format(", … {} more]", list.size() - shown) : "]";
        return text.c_str();
    }
};

template <typename T>
struct StringMaker<std::optional<T>> {
    static String convert(const std::optional<T>& value)
    {
        return value ? toString(*value) : String("nullopt");
    }
};

template <>
struct StringMaker<std::nullopt_t> {
    static String convert(std::nullopt_t) { return "nullopt"; }
};

template <>
struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& names)
    {
        return fmt::format("[{}]", fmt::join(names, ", ")).c_str();
    }
};

template <>
struct StringMaker<std::vector<dstest::ByteRange>> {
    static String convert(const std::vector<dstest::ByteRange>& ranges)
    {
        std::string text = "[";
        for (const dstest::ByteRange& r : ranges) {
            text += fmt::format("{}[{}, {})", text.size() > 1 ? ", " : "", r.offset, r.end());
        }
        return (text + "]").c_str();
    }
};

}  // namespace doctest
