#include <diskshift/writer.hpp>

#include <cctype>
#include <charconv>

#include "core/fail.hpp"

namespace diskshift {
namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return s;
}

std::string lower(std::string s)
{
    for (char& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

/// The multiplier of a size suffix: none or B (bytes), or K, M, G, T (powers of 1024) alone or
/// followed by B or iB.
std::uint64_t size_multiplier(const std::string& suffix, const std::string& key)
{
    const std::string unit = lower(suffix);
    if (unit.empty() || unit == "b") {
        return 1;
    }
    static constexpr std::string_view prefixes = "kmgt";
    const std::size_t power = prefixes.find(unit.front());
    const std::string_view rest = std::string_view(unit).substr(1);
    if (power == std::string_view::npos || !(rest.empty() || rest == "b" || rest == "ib")) {
        fail(Errc::invalid_argument, "option {}: unknown size suffix '{}' (use K, M, G or T)", key, suffix);
    }
    return 1ULL << (10 * (power + 1));
}

}  // namespace

void OptionMap::parse(std::string_view text)
{
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (item.empty()) {
            continue;
        }
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            fail(Errc::invalid_argument, "option '{}' has no value (write key=value)", item);
        }
        set(std::string(trim(item.substr(0, eq))), std::string(trim(item.substr(eq + 1))));
    }
}

void OptionMap::set(std::string key, std::string value)
{
    if (key.empty()) {
        fail(Errc::invalid_argument, "option with an empty key (value '{}')", value);
    }
    if (values_.contains(key)) {
        fail(Errc::invalid_argument, "option {} is given twice", key);
    }
    values_.emplace(std::move(key), std::move(value));
}

std::optional<std::string> OptionMap::take(const std::string& key)
{
    auto node = values_.extract(key);
    if (node.empty()) {
        return std::nullopt;
    }
    return std::move(node.mapped());
}

std::optional<std::uint64_t> OptionMap::take_size(const std::string& key)
{
    const auto text = take(key);
    if (!text) {
        return std::nullopt;
    }
    std::uint64_t number = 0;
    const char* first = text->data();
    const char* last = first + text->size();
    const auto [rest, ec] = std::from_chars(first, last, number);
    if (ec != std::errc{} || rest == first) {
        fail(Errc::invalid_argument, "option {}: '{}' is not a size", key, *text);
    }
    const std::uint64_t multiplier = size_multiplier(std::string(rest, last), key);
    if (number > UINT64_MAX / multiplier) {
        fail(Errc::invalid_argument, "option {}: '{}' is too large", key, *text);
    }
    return number * multiplier;
}

std::optional<bool> OptionMap::take_bool(const std::string& key)
{
    const auto text = take(key);
    if (!text) {
        return std::nullopt;
    }
    const std::string value = lower(*text);
    if (value == "on" || value == "true" || value == "yes" || value == "1") return true;
    if (value == "off" || value == "false" || value == "no" || value == "0") return false;
    fail(Errc::invalid_argument, "option {}: '{}' is not on or off", key, *text);
}

void OptionMap::require_all_taken(std::string_view format) const
{
    if (values_.empty()) {
        return;
    }
    std::string names;
    for (const auto& [key, value] : values_) {
        names += names.empty() ? key : ", " + key;
    }
    fail(Errc::invalid_argument, "the {} writer does not know the option{} {}", format,
         values_.size() > 1 ? "s" : "", names);
}

}  // namespace diskshift
