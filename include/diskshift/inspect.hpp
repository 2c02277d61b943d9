// diskshift — inspect: describe an image for people and for programs.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include <diskshift/image.hpp>

namespace diskshift {

/// A size for people: binary units, three significant digits ("1 GiB", "4.02 MiB", "512 B").
std::string human_size(std::uint64_t bytes);

/// The image's description as JSON: filename, format, subformat (or null), virtual_size,
/// cluster_size (or null), allocated_bytes, id, parent (null or {hint, id}), details, warnings.
nlohmann::ordered_json describe_json(const Image& image);

/// The same description as text for people, in the manner of `qemu-img info`.
void describe_text(std::ostream& out, const Image& image);

/// Writes the allocation map as a JSON array of {"offset","length","kind"} covering the whole disk,
/// streaming (memory does not grow with the number of extents). `progress` may cancel.
void write_map_json(std::ostream& out, const Image& image, const ProgressFn& progress = {});

}  // namespace diskshift
