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

/// The big-endian bytes of `value`, 4 bytes long (VHD fields; patch_file() writes them).
std::vector<std::byte> be32_bytes(std::uint32_t value);

/// The big-endian 32-bit value at `offset` of `file`.
std::uint32_t be32_at(const std::filesystem::path& file, std::uint64_t offset);

/// The little-endian 64-bit value at `offset` of `file`.
std::uint64_t le64_at(const std::filesystem::path& file, std::uint64_t offset);

}  // namespace dstest
