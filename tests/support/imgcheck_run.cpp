#include "support/imgcheck_run.hpp"

#include <fcntl.h>

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

void patch_file(const std::filesystem::path& file, std::uint64_t offset, const std::vector<std::uint8_t>& bytes)
{
    const Fd fd = open_file(file, O_WRONLY);
    write_at(fd.get(), std::as_bytes(std::span(bytes)), offset);
}

std::vector<std::uint8_t> int_bytes(std::uint64_t value, unsigned width, bool big)
{
    std::vector<std::uint8_t> out(width);
    for (unsigned i = 0; i < width; ++i) {
        out[big ? width - 1 - i : i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
    return out;
}

}  // namespace dstest
