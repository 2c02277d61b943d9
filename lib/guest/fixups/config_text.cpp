#include "guest/fixups/config_text.hpp"

namespace diskshift::guest::fixups {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

bool matches(const std::string& text, std::smatch& match, const std::regex& pattern)
{
    return text.size() <= max_matched_length && std::regex_match(text, match, pattern);
}

bool matches(const std::string& text, const std::regex& pattern)
{
    return text.size() <= max_matched_length && std::regex_match(text, pattern);
}

bool contains_match(const std::string& text, std::smatch& match, const std::regex& pattern)
{
    return text.size() <= max_matched_length && std::regex_search(text, match, pattern);
}

std::vector<std::string> split_lines(std::string_view text)
{
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (;;) {
        const auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            lines.emplace_back(text.substr(start));
            return lines;
        }
        lines.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
}

std::string join_lines(const std::vector<std::string>& lines) { return joined(lines, "\n"); }

std::string joined(const std::vector<std::string>& items, std::string_view separator)
{
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
            out += separator;
        }
        out += items[i];
    }
    return out;
}

std::vector<FieldSpan> field_spans(std::string_view line)
{
    std::vector<FieldSpan> spans;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i])) {
            ++i;
        }
        if (i > start) {
            spans.push_back({start, i - start});
        }
    }
    return spans;
}

std::vector<std::string_view> fields_of(std::string_view line)
{
    std::vector<std::string_view> fields;
    for (const auto span : field_spans(line)) {
        fields.push_back(field(line, span));
    }
    return fields;
}

bool is_blank_or_comment(std::string_view line)
{
    const auto first = line.find_first_not_of(" \t\r");
    return first == std::string_view::npos || line[first] == '#';
}

bool has_list_item(std::string_view list, std::string_view item, char separator)
{
    std::size_t start = 0;
    for (;;) {
        const auto end = list.find(separator, start);
        if (list.substr(start, end - start) == item) {
            return true;
        }
        if (end == std::string_view::npos) {
            return false;
        }
        start = end + 1;
    }
}

std::optional<std::string> shell_assignment(std::string_view line, std::string_view name)
{
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return std::nullopt;
    }
    line.remove_prefix(first);
    if (line.starts_with("export ")) {
        line.remove_prefix(7);
    }
    if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != '=') {
        return std::nullopt;
    }
    std::string_view value = line.substr(name.size() + 1);
    while (!value.empty() && is_blank(value.back())) {
        value.remove_suffix(1);
    }
    return std::string(value);
}

std::pair<std::string, char> unquote(std::string_view value)
{
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
        return {std::string(value.substr(1, value.size() - 2)), value.front()};
    }
    return {std::string(value), '\0'};
}

std::vector<std::string> ini_values(std::string_view text, std::string_view section, std::string_view key)
{
    std::vector<std::string> values;
    bool in_section = false;
    for (const auto& raw : split_lines(text)) {
        std::string_view line(raw);
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string_view::npos) {
            continue;
        }
        line.remove_prefix(first);
        while (!line.empty() && is_blank(line.back())) {
            line.remove_suffix(1);
        }
        if (line.front() == '[') {
            in_section = line.size() == section.size() + 2 && line.substr(1, section.size()) == section &&
                         line.back() == ']';
            continue;
        }
        const auto equals = line.find('=');
        if (!in_section || equals == std::string_view::npos) {
            continue;
        }
        std::string_view name = line.substr(0, equals);
        while (!name.empty() && is_blank(name.back())) {
            name.remove_suffix(1);
        }
        if (name == key) {
            std::string_view value = line.substr(equals + 1);
            const auto start = value.find_first_not_of(" \t");
            values.emplace_back(start == std::string_view::npos ? std::string_view{} : value.substr(start));
        }
    }
    return values;
}

void apply_edit(GuestFs& fs, const std::string& path, const TextEdit& edit, BackupPlace place,
                std::string_view topic, std::vector<Change>& changes)
{
    if (edit.changed()) {
        add_change(changes, replace_file(fs, path, edit.text, place,
                                         std::string(topic) + ": " + joined(edit.details, "; ")));
    }
}

void add_change(std::vector<Change>& changes, std::optional<Change> change)
{
    if (change) {
        changes.push_back(std::move(*change));
    }
}

}  // namespace diskshift::guest::fixups
