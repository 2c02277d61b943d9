// Internal: the unified diff (diff -u) of two texts, for imgfix --dry-run.
#pragma once

#include <string>
#include <string_view>

namespace diskshift::guest {

/// The lines of context around each change, as diff -u.
inline constexpr std::size_t diff_context_lines = 3;

/// "--- <old_label>", "+++ <new_label>" and the hunks turning `before` into `after`, in the format
/// of GNU diff -u (POSIX diff, "Unified Format"); "" when the texts are equal. Texts whose line
/// counts multiply past 16 million are shown as one hunk replacing everything.
std::string unified_diff(std::string_view before, std::string_view after, const std::string& old_label,
                         const std::string& new_label);

}  // namespace diskshift::guest
