// Opening test images through the public API.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <diskshift/image.hpp>

namespace dstest {

/// `bytes` as a raw image read from a MemorySource (everything is a `data` extent).
std::unique_ptr<diskshift::Image> open_raw_bytes(std::vector<std::byte> bytes, const std::string& name = "memory.img");

/// A file opened as a raw image.
std::unique_ptr<diskshift::Image> open_raw_file(const std::filesystem::path& path);

}  // namespace dstest
