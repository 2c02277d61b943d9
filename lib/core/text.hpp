// Internal: text found inside image structures (UTF-16 names, GUIDs).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>

namespace diskshift {

enum class Endian { little, big };

/// UTF-16 (either byte order) to UTF-8, stopping at the first NUL code unit. Unpaired surrogates
/// become U+FFFD; an odd trailing byte is ignored.
std::string utf16_to_utf8(std::span<const std::byte> bytes, Endian order);

/// A 16-byte GUID as Windows stores it (first three fields little-endian, as in VHDX), formatted
/// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lower case.
std::string format_windows_guid(std::span<const std::byte, 16> bytes);

/// A 16-byte UUID stored in network byte order (RFC 4122, as in the VHD footer), same formatting.
std::string format_uuid(std::span<const std::byte, 16> bytes);

/// A fresh random (version 4) UUID, stored in network byte order (Endian::big, as in the VHD
/// footer) or as Windows stores a GUID (Endian::little: first three fields little-endian, as in
/// VHDX).
std::array<std::byte, 16> random_uuid(Endian first_fields);

}  // namespace diskshift
