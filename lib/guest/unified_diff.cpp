#include "guest/unified_diff.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace diskshift::guest {
namespace {

/// A line of text and whether it ended with a newline (only a last line may not).
struct Line {
    std::string_view text;
    bool has_newline = true;
    bool operator==(const Line& other) const = default;
};

std::vector<Line> lines_of(std::string_view text)
{
    std::vector<Line> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        if (end == std::string_view::npos) {
            lines.push_back({text, false});
            break;
        }
        lines.push_back({text.substr(0, end), true});
        text.remove_prefix(end + 1);
    }
    return lines;
}

/// One line of the edit script: kept (' '), removed ('-') or added ('+'), with the number of old
/// and new lines before it.
struct Op {
    char kind;
    const Line* line;
    std::size_t old_before;
    std::size_t new_before;
};

/// The largest line-count product the LCS table is built for (16 M cells of 4 bytes).
constexpr std::uint64_t max_table_cells = 16ULL << 20;

/// The shortest edit script through a longest common subsequence table.
std::vector<Op> edit_script(const std::vector<Line>& a, const std::vector<Line>& b)
{
    std::vector<Op> ops;
    const std::size_t n = a.size();
    const std::size_t m = b.size();
    if (static_cast<std::uint64_t>(n + 1) * (m + 1) > max_table_cells) {
        for (std::size_t i = 0; i < n; ++i) {
            ops.push_back({'-', &a[i], i, 0});
        }
        for (std::size_t j = 0; j < m; ++j) {
            ops.push_back({'+', &b[j], n, j});
        }
        return ops;
    }
    // common[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
    std::vector<std::uint32_t> common((n + 1) * (m + 1), 0);
    const auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return common[i * (m + 1) + j]; };
    for (std::size_t i = n; i-- > 0;) {
        for (std::size_t j = m; j-- > 0;) {
            at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
        }
    }
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && a[i] == b[j]) {
            ops.push_back({' ', &a[i], i, j});
            ++i;
            ++j;
        } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
            ops.push_back({'-', &a[i], i, j});
            ++i;
        } else {
            ops.push_back({'+', &b[j], i, j});
            ++j;
        }
    }
    return ops;
}

/// "start,count" of a hunk side as diff -u writes it: a count of 1 is left out, and an empty side
/// names the line before it.
std::string hunk_range(std::size_t first, std::size_t count)
{
    if (count == 1) {
        return fmt::format("{}", first + 1);
    }
    return fmt::format("{},{}", count == 0 ? first : first + 1, count);
}

void append_hunk(std::string& out, const std::vector<Op>& ops, std::size_t begin, std::size_t end)
{
    std::size_t old_count = 0;
    std::size_t new_count = 0;
    for (std::size_t k = begin; k < end; ++k) {
        old_count += ops[k].kind != '+';
        new_count += ops[k].kind != '-';
    }
    out += fmt::format("@@ -{} +{} @@\n", hunk_range(ops[begin].old_before, old_count),
                       hunk_range(ops[begin].new_before, new_count));
    for (std::size_t k = begin; k < end; ++k) {
        out += ops[k].kind;
        out += ops[k].line->text;
        out += '\n';
        if (!ops[k].line->has_newline) {
            out += "\\ No newline at end of file\n";
        }
    }
}

}  // namespace

std::string unified_diff(std::string_view before, std::string_view after, const std::string& old_label,
                         const std::string& new_label)
{
    const std::vector<Line> a = lines_of(before);
    const std::vector<Line> b = lines_of(after);
    const std::vector<Op> ops = edit_script(a, b);
    const auto is_change = [&](std::size_t k) { return ops[k].kind != ' '; };
    std::string out;
    std::size_t k = 0;
    while (k < ops.size()) {
        while (k < ops.size() && !is_change(k)) {
            ++k;
        }
        if (k == ops.size()) {
            break;
        }
        const std::size_t begin = k >= diff_context_lines ? k - diff_context_lines : 0;
        std::size_t last_change = k;
        // A hunk goes on while the next change is at most two contexts away.
        for (std::size_t next = k + 1; next < ops.size() && next <= last_change + 2 * diff_context_lines + 1; ++next) {
            if (is_change(next)) {
                last_change = next;
            }
        }
        const std::size_t end = std::min(ops.size(), last_change + diff_context_lines + 1);
        if (out.empty()) {
            out = "--- " + old_label + "\n+++ " + new_label + "\n";
        }
        append_hunk(out, ops, begin, end);
        k = end;
    }
    return out;
}

}  // namespace diskshift::guest
