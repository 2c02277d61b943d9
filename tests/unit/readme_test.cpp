// The README stays true: its formats table matches the built-in list, its API example is the
// file the consumer test builds, and CI runs the README's test command.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <diskshift/format.hpp>

namespace {

std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path);
    REQUIRE_MESSAGE(in, "cannot read " << path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string project_file(const char* relative)
{
    return read_text(std::filesystem::path(DISKSHIFT_SOURCE_DIR) / relative);
}

std::string trim(const std::string& s)
{
    const auto first = s.find_first_not_of(' ');
    const auto last = s.find_last_not_of(' ');
    return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

struct FormatRow {
    bool read = false;
    bool write = false;
};

/// The rows of the table between the formats-table markers: name -> read/write.
std::map<std::string, FormatRow> readme_format_rows(const std::string& readme)
{
    const auto begin = readme.find("<!-- formats-table");
    const auto end = readme.find("<!-- end formats-table -->");
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    std::istringstream table(readme.substr(begin, end - begin));
    std::map<std::string, FormatRow> rows;
    std::string line;
    while (std::getline(table, line)) {
        if (!line.starts_with("| ") || line.starts_with("| format") || line.starts_with("|---")) {
            continue;
        }
        std::vector<std::string> cells;
        std::istringstream cell_stream(line.substr(1));
        std::string cell;
        while (std::getline(cell_stream, cell, '|')) {
            cells.push_back(trim(cell));
        }
        REQUIRE_MESSAGE(cells.size() >= 3, "malformed formats-table row: " << line);
        rows[cells[0]] = {cells[1] == "yes", cells[2] == "yes"};
    }
    return rows;
}

}  // namespace

TEST_CASE("readme: the formats table lists exactly the built-in formats and what each can do")
{
    const auto rows = readme_format_rows(project_file("README.md"));
    CHECK(rows.size() == diskshift::builtin_formats().size());
    for (const diskshift::Format* format : diskshift::builtin_formats()) {
        const std::string name(format->name());
        const auto row = rows.find(name);
        REQUIRE_MESSAGE(row != rows.end(), "README formats table has no row for " << name);
        CHECK_MESSAGE(row->second.read, name << " is readable but the README says it is not");
        CHECK_MESSAGE(row->second.write == format->can_write(), name << ": README write column is wrong");
    }
}

TEST_CASE("readme: the API example is the one the consumer test builds")
{
    const std::string example = project_file("tests/consumer/project/example.cpp");
    CHECK_MESSAGE(project_file("README.md").find(example) != std::string::npos,
                  "README's C++ example differs from tests/consumer/project/example.cpp");
}

TEST_CASE("readme: CI runs the README's test command")
{
    const std::string command = "bash scripts/setup.sh test";
    CHECK(project_file("README.md").find(command) != std::string::npos);
    CHECK(project_file(".ci/run").find(command) != std::string::npos);
}
