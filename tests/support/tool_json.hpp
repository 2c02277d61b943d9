// What the tools report about an image in JSON: our `imginfo --json` and `qemu-img info`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/commands.hpp"
#include "support/process.hpp"

namespace dstest {

/// `imginfo --json FILE`, which must succeed.
inline nlohmann::json imginfo_json(const std::filesystem::path& file)
{
    const ProcessResult run = run_tool("imginfo", {"--json", file.string()});
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    return nlohmann::json::parse(run.out);
}

/// `qemu-img info --output=json` of FILE read as `qemu_format`, which must succeed.
inline nlohmann::json qemu_info_json(const std::filesystem::path& file, const std::string& qemu_format)
{
    const ProcessResult run =
        run_checked({qemu_img().string(), "info", "--output=json", "-f", qemu_format, file.string()});
    return nlohmann::json::parse(run.out);
}

/// The virtual size `qemu-img info` gives FILE read as `qemu_format` (qemu probes a fixed VHD as raw).
inline std::uint64_t qemu_virtual_size(const std::filesystem::path& file, const std::string& qemu_format)
{
    return qemu_info_json(file, qemu_format).at("virtual-size").get<std::uint64_t>();
}

}  // namespace dstest
