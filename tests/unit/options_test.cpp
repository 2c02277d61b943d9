// OptionMap: parsing "-o key=value,..." and taking typed values.
#include <doctest/doctest.h>

#include <diskshift/writer.hpp>

#include "support/errors.hpp"
#include "support/printing.hpp"
#include "support/text.hpp"

using diskshift::OptionMap;
using dstest::error_kind_of;
using dstest::contains;
using dstest::error_message_of;

namespace {

/// The size `text` parses to as option "s", or nullopt if it is refused as invalid_argument.
std::optional<std::uint64_t> size_of(const std::string& text)
{
    OptionMap options;
    options.set("s", text);
    std::optional<std::uint64_t> out;
    if (error_kind_of([&] { out = options.take_size("s"); }) != "no error") {
        return std::nullopt;
    }
    return out;
}

/// The bool `text` parses to as option "b", or nullopt if it is refused as invalid_argument.
std::optional<bool> bool_of(const std::string& text)
{
    OptionMap options;
    options.set("b", text);
    std::optional<bool> out;
    if (error_kind_of([&] { out = options.take_bool("b"); }) != "no error") {
        return std::nullopt;
    }
    return out;
}

}  // namespace

TEST_SUITE("options") {

TEST_CASE("OptionMap: parse key=value pairs and take them once")
{
    OptionMap options;
    options.parse("a=1,b=2");
    CHECK_FALSE(options.empty());
    CHECK(options.take("a") == std::optional<std::string>("1"));
    CHECK(options.take("a") == std::nullopt);
    CHECK(options.take("missing") == std::nullopt);
    CHECK(options.take("b") == std::optional<std::string>("2"));
    CHECK(options.empty());
    options.require_all_taken("raw");
}

TEST_CASE("OptionMap: repeated parse adds keys, values keep '=' after the first")
{
    OptionMap options;
    options.parse("a=1");
    options.parse("b=x=y, c = spaced ");
    CHECK(options.take("a") == std::optional<std::string>("1"));
    CHECK(options.take("b") == std::optional<std::string>("x=y"));
    CHECK(options.take("c") == std::optional<std::string>("spaced"));
    CHECK(options.empty());
}

TEST_CASE("OptionMap: a key given twice is refused, also across parse calls")
{
    OptionMap once;
    CHECK(error_kind_of([&] { once.parse("a=1,a=2"); }) == "invalid_argument");
    OptionMap twice;
    twice.parse("subformat=1");
    CHECK(error_kind_of([&] { twice.parse("subformat=3"); }) == "invalid_argument");
    CHECK(contains(error_message_of([&] { twice.set("subformat", "4"); }), "subformat"));
    CHECK(twice.take("subformat") == std::optional<std::string>("1"));
}

TEST_CASE("OptionMap: an item without '=' or with an empty key is refused")
{
    OptionMap options;
    CHECK(error_kind_of([&] { options.parse("a=1,flag"); }) == "invalid_argument");
    CHECK(contains(error_message_of([&] { OptionMap().parse("flag"); }), "flag"));
    CHECK(error_kind_of([&] { OptionMap().parse("=1"); }) == "invalid_argument");
}

TEST_CASE("OptionMap: take_size with suffixes K, M, G, T and KiB")
{
    CHECK(size_of("0") == 0u);
    CHECK(size_of("512") == 512u);
    CHECK(size_of("4K") == 4096u);
    CHECK(size_of("4k") == 4096u);
    CHECK(size_of("4KiB") == 4096u);
    CHECK(size_of("2M") == 2u << 20);
    CHECK(size_of("2MiB") == 2u << 20);
    CHECK(size_of("3G") == 3ULL << 30);
    CHECK(size_of("1GiB") == 1ULL << 30);
    CHECK(size_of("5T") == 5ULL << 40);
    CHECK(size_of("5TiB") == 5ULL << 40);
    OptionMap none;
    CHECK(none.take_size("absent") == std::nullopt);
}

TEST_CASE("OptionMap: take_size refuses garbage, negative numbers, unknown suffixes and overflow")
{
    for (const std::string text : {"", "abc", "-1", "12X", "1.5M", "M", "4KK", "16777216T", "99999999999999999999"}) {
        CAPTURE(text);
        CHECK(size_of(text) == std::nullopt);
    }
}

TEST_CASE("OptionMap: take_size refuses a lone iB or B after a unit")
{
    // "iB" is only meaningful after K, M, G or T; "4iB" and "4BB" are typing mistakes.
    for (const std::string text : {"4iB", "4BB"}) {
        CAPTURE(text);
        CHECK(size_of(text) == std::nullopt);
    }
}

TEST_CASE("OptionMap: take_bool variants")
{
    for (const std::string text : {"on", "true", "yes", "1", "ON", "True", "YES"}) {
        CAPTURE(text);
        CHECK(bool_of(text) == true);
    }
    for (const std::string text : {"off", "false", "no", "0", "Off", "FALSE"}) {
        CAPTURE(text);
        CHECK(bool_of(text) == false);
    }
    for (const std::string text : {"", "2", "maybe", "enable"}) {
        CAPTURE(text);
        CHECK(bool_of(text) == std::nullopt);
    }
}

TEST_CASE("OptionMap: require_all_taken names every leftover key and the format")
{
    OptionMap options;
    options.parse("cluster=64K,foo=1,bar=2");
    (void)options.take_size("cluster");
    const std::string message = error_message_of([&] { options.require_all_taken("vhdx"); });
    CHECK(error_kind_of([&] { options.require_all_taken("vhdx"); }) == "invalid_argument");
    CHECK(contains(message, "foo"));
    CHECK(contains(message, "bar"));
    CHECK(contains(message, "vhdx"));
    CHECK_FALSE(contains(message, "cluster"));
}

}  // TEST_SUITE
