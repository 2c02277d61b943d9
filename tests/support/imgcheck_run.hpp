// Running imgcheck in tests, and damaging a file in place at a known offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace dstest {

/// `imgcheck --json [extra…] FILE`; its exit status must be 0 or 1 and its output JSON.
struct CheckRun {
    int exit_code = -1;
    nlohmann::json report;
    std::string text;  ///< the whole run, for failure messages
};

CheckRun imgcheck(const std::filesystem::path& file, const std::vector<std::string>& extra = {});

/// True when the report lists a problem whose structure contains `structure` at `offset`.
bool has_problem(const nlohmann::json& report, const std::string& structure, std::uint64_t offset);

/// Overwrites `bytes` at `offset` of `file`.
void patch_file(const std::filesystem::path& file, std::uint64_t offset, const std::vector<std::uint8_t>& bytes);

/// The big-endian (`big` true) or little-endian bytes of `value`, `width` bytes long.
std::vector<std::uint8_t> int_bytes(std::uint64_t value, unsigned width, bool big);

}  // namespace dstest
