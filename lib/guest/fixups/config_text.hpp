// Internal: line and field editing of the plain-text configuration files the fixups change, keeping
// every untouched byte (spacing, comments, the final newline) as it was.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "guest/file_edit.hpp"

namespace diskshift::guest::fixups {

/// Text longer than this is never given to std::regex, whose matcher recurses per character
/// (libstdc++): a hostile guest file must not exhaust the stack. Device names, interface names and
/// the configuration lines matched are far shorter.
inline constexpr std::size_t max_matched_length = 1024;

/// std::regex_match / std::regex_search, false for text over max_matched_length.
bool matches(const std::string& text, std::smatch& match, const std::regex& pattern);
bool matches(const std::string& text, const std::regex& pattern);
bool contains_match(const std::string& text, std::smatch& match, const std::regex& pattern);

/// The lines of `text` without their '\n'; joining them with '\n' gives `text` back (a final
/// newline becomes a last empty line).
std::vector<std::string> split_lines(std::string_view text);
std::string join_lines(const std::vector<std::string>& lines);

/// A whitespace-separated field of a line: where it starts and how long it is.
struct FieldSpan {
    std::size_t offset = 0;
    std::size_t length = 0;
};
std::vector<FieldSpan> field_spans(std::string_view line);
inline std::string_view field(std::string_view line, FieldSpan span) { return line.substr(span.offset, span.length); }
/// The whitespace-separated fields of `line`, as views into it.
std::vector<std::string_view> fields_of(std::string_view line);

/// True for an empty line or one whose first non-blank character is '#'.
bool is_blank_or_comment(std::string_view line);

/// Whether the comma-separated `list` holds `item`.
bool has_list_item(std::string_view list, std::string_view item, char separator = ',');

/// The value of the shell-style assignment NAME=value on `line` (quotes kept), if it is one.
std::optional<std::string> shell_assignment(std::string_view line, std::string_view name);
/// The value without one pair of surrounding quotes, and the quote character used ('\0' if none).
std::pair<std::string, char> unquote(std::string_view value);

/// The values of `key` in section [`section`] of an INI-style file (systemd units, NetworkManager
/// keyfiles), in order; keys repeat in systemd files.
std::vector<std::string> ini_values(std::string_view text, std::string_view section, std::string_view key);

/// A change of a file's content for replace_file(): the new text and what changed, or nothing.
struct TextEdit {
    std::string text;
    std::vector<std::string> details;
    bool changed() const { return !details.empty(); }
};

/// Writes `edit` to `path` when it changed anything, appending the change (detail "<topic>: <the
/// edit's details>") to `changes`.
void apply_edit(GuestFs& fs, const std::string& path, const TextEdit& edit, BackupPlace place,
                std::string_view topic, std::vector<Change>& changes);

/// Appends the change, if any, to `changes`.
void add_change(std::vector<Change>& changes, std::optional<Change> change);

/// The items joined with `separator`.
std::string joined(const std::vector<std::string>& items, std::string_view separator);

}  // namespace diskshift::guest::fixups
