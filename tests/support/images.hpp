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

/// Compares what two images give a guest, in 1 MiB reads: "" when they are equal, otherwise the
/// sizes or the offset of the first different byte. Past the end of the shorter image, the longer
/// one must read zeros when `allow_zero_tail` is set (a format that rounds its size up).
std::string image_difference(const diskshift::Image& expected, const diskshift::Image& actual,
                             bool allow_zero_tail = false);

}  // namespace dstest
