#include "support/imgcheck_run.hpp"

#include <cstddef>

#include "support/files.hpp"

namespace dstest {

CheckRun imgcheck(const std::filesystem::path& file, const std::vector<std::string>& extra)
{
    std::vector<std::string> args = {"--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(file.string());
    const ProcessResult run = run_tool("imgcheck", args);
    CheckRun out;
    out.exit_code = run.exit_code();
    out.text = run.describe();
    INFO(out.text);
    REQUIRE((out.exit_code == 0 || out.exit_code == 1));
    REQUIRE(!run.out.empty());
    out.report = nlohmann::json::parse(run.out);
    return out;
}

bool has_problem(const nlohmann::json& report, const std::string& structure, std::uint64_t offset)
{
    for (const auto& p : report.at("problems")) {
        if (p.at("structure").get<std::string>().find(structure) != std::string::npos && p.at("offset").is_number() &&
            p.at("offset").get<std::uint64_t>() == offset) {
            return true;
        }
    }
    return false;
}

std::vector<std::byte> be32_bytes(std::uint32_t value)
{
    return {std::byte(value >> 24), std::byte(value >> 16), std::byte(value >> 8), std::byte(value)};
}

namespace {

std::uint64_t load(const std::filesystem::path& file, std::uint64_t offset, unsigned width, bool big)
{
    const std::vector<std::byte> bytes = read_whole_file(file);
    REQUIRE(offset + width <= bytes.size());
    std::uint64_t v = 0;
    for (unsigned i = 0; i < width; ++i) {
        const unsigned at = big ? i : width - 1 - i;
        v = v << 8 | std::to_integer<std::uint64_t>(bytes[offset + at]);
    }
    return v;
}

}  // namespace

std::uint32_t be32_at(const std::filesystem::path& file, std::uint64_t offset)
{
    return static_cast<std::uint32_t>(load(file, offset, 4, true));
}

std::uint64_t le64_at(const std::filesystem::path& file, std::uint64_t offset)
{
    return load(file, offset, 8, false);
}

}  // namespace dstest
