// The tar index of an OVA: POSIX.1-1988 ustar headers, the GNU 'L' long name and base-256 numbers,
// and POSIX.1-2001 pax extended headers ('x' for the next member, 'g' for every later one).
#include "formats/ova/tar_index.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "formats/ova/tar_layout.hpp"

namespace diskshift::formats::ova {
namespace {

using Block = std::array<std::byte, tar::block_size>;

/// A long name or a pax header larger than this is refused (real ones are a few hundred bytes).
constexpr std::uint64_t max_extension_bytes = 1 << 20;
/// More members than this is not an OVA (a package holds a descriptor, a manifest and its disks).
constexpr std::size_t max_members = 100000;

std::span<const std::byte> field_bytes(const Block& block, tar::Field field)
{
    return std::span(block).subspan(field.offset, field.length);
}

/// A text field: its bytes up to the first NUL.
std::string field_text(const Block& block, tar::Field field)
{
    const auto bytes = field_bytes(block, field);
    const auto end = std::find(bytes.begin(), bytes.end(), std::byte{0});
    return std::string(reinterpret_cast<const char*>(bytes.data()), static_cast<std::size_t>(end - bytes.begin()));
}

/// GNU base-256: the first byte's high bit set, the rest a big-endian two's-complement number.
/// Negative numbers (bit 6 of the first byte) and numbers beyond 63 bits are refused.
std::optional<std::uint64_t> parse_base256(std::span<const std::byte> bytes)
{
    if ((bytes[0] & std::byte{0x40}) != std::byte{0}) {
        return std::nullopt;
    }
    std::uint64_t value = std::to_integer<std::uint64_t>(bytes[0] & std::byte{0x3f});
    for (std::byte b : bytes.subspan(1)) {
        if (value >> 55 != 0) {
            return std::nullopt;
        }
        value = (value << 8) | std::to_integer<std::uint64_t>(b);
    }
    return value;
}

/// A numeric field: octal digits, optionally led by spaces and ended by a space or NUL (POSIX
/// ustar), or GNU base-256. An empty field is 0.
std::optional<std::uint64_t> parse_number(std::span<const std::byte> bytes)
{
    if ((bytes[0] & std::byte{0x80}) != std::byte{0}) {
        return parse_base256(bytes);
    }
    std::size_t at = 0;
    while (at < bytes.size() && bytes[at] == std::byte{' '}) {
        ++at;
    }
    std::uint64_t value = 0;
    for (; at < bytes.size(); ++at) {
        const char c = static_cast<char>(bytes[at]);
        if (c == ' ' || c == '\0') {
            break;
        }
        if (c < '0' || c > '7' || value >> 60 != 0) {
            return std::nullopt;
        }
        value = value * 8 + static_cast<std::uint64_t>(c - '0');
    }
    // Only terminators may follow the digits.
    for (; at < bytes.size(); ++at) {
        if (bytes[at] != std::byte{' '} && bytes[at] != std::byte{0}) {
            return std::nullopt;
        }
    }
    return value;
}

bool is_zero_block(const Block& block)
{
    return std::all_of(block.begin(), block.end(), [](std::byte b) { return b == std::byte{0}; });
}

/// POSIX: the checksum is the sum of the header's bytes as unsigned, with the checksum field
/// taken as spaces. Some historic tars summed signed chars; both are accepted.
bool checksum_matches(const Block& block)
{
    const auto stored = parse_number(field_bytes(block, tar::checksum));
    if (!stored) {
        return false;
    }
    std::uint64_t unsigned_sum = 0;
    std::int64_t signed_sum = 0;
    for (std::size_t i = 0; i < block.size(); ++i) {
        const bool in_checksum = i >= tar::checksum.offset && i < tar::checksum.offset + tar::checksum.length;
        const std::byte b = in_checksum ? std::byte{' '} : block[i];
        unsigned_sum += std::to_integer<std::uint64_t>(b);
        signed_sum += static_cast<signed char>(b);
    }
    return *stored == unsigned_sum || static_cast<std::int64_t>(*stored) == signed_sum;
}

bool is_posix_ustar(const Block& block)
{
    return field_text(block, tar::magic) == "ustar";  // "ustar\0"; old GNU writes "ustar "
}

/// The name the header block itself gives: POSIX ustar joins `prefix` and `name` (old GNU headers
/// use the prefix area for other fields, so only the POSIX magic counts).
std::string header_name(const Block& block)
{
    std::string name = field_text(block, tar::name);
    if (is_posix_ustar(block)) {
        const std::string prefix = field_text(block, tar::prefix);
        if (!prefix.empty()) {
            name = prefix + "/" + name;
        }
    }
    return name;
}

std::uint64_t padded_size(std::uint64_t size)
{
    return (size + tar::block_size - 1) / tar::block_size * tar::block_size;
}

const char* refused_type(char type)
{
    switch (type) {
    case tar::type_hard_link: return "a hard link";
    case tar::type_symlink: return "a symbolic link";
    case tar::type_char_device: return "a character device";
    case tar::type_block_device: return "a block device";
    case tar::type_fifo: return "a FIFO";
    case tar::type_gnu_long_link: return "a link (GNU long link name)";
    default: return nullptr;
    }
}

}  // namespace

std::optional<std::string> normalise_member_name(std::string_view name)
{
    if (name.empty() || name.front() == '/' || name.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    std::string out;
    while (!name.empty()) {
        const std::size_t slash = name.find('/');
        const std::string_view part = name.substr(0, slash);
        name = slash == std::string_view::npos ? std::string_view() : name.substr(slash + 1);
        if (part == "..") {
            return std::nullopt;
        }
        if (part.empty() || part == ".") {
            continue;
        }
        out += out.empty() ? "" : "/";
        out += part;
    }
    if (out.empty()) {
        return std::nullopt;
    }
    return out;
}

TarWalker::TarWalker(const ByteSource& tar, std::uint64_t archive_size) : tar_(tar), archive_size_(archive_size) {}

std::string TarWalker::read_extension(std::uint64_t data_offset, std::uint64_t size, std::uint64_t header_offset) const
{
    if (size > max_extension_bytes) {
        fail(Errc::corrupt, "{}: tar extension header at offset {:#x} holds {} bytes, more than the {} allowed",
             tar_.name(), header_offset, size, max_extension_bytes);
    }
    std::string text(size, '\0');
    tar_.read_at(std::as_writable_bytes(std::span(text)), data_offset);
    return text;
}

/// pax records: "<length> <key>=<value>\n", the length counting the whole record in decimal
/// (POSIX.1-2001, pax "Extended Header Format").
void TarWalker::apply_pax_records(std::string_view records, Overrides& target, std::uint64_t header_offset) const
{
    while (!records.empty() && records.front() != '\0') {
        std::size_t length = 0;
        const auto [end, ec] = std::from_chars(records.data(), records.data() + records.size(), length);
        const std::size_t digits = static_cast<std::size_t>(end - records.data());
        if (ec != std::errc() || *end != ' ' || length <= digits + 1 || length > records.size() ||
            records[length - 1] != '\n') {
            fail(Errc::corrupt, "{}: malformed pax record in the extended header at offset {:#x}", tar_.name(),
                 header_offset);
        }
        const std::string_view record = records.substr(digits + 1, length - digits - 2);
        records.remove_prefix(length);
        const std::size_t equals = record.find('=');
        if (equals == std::string_view::npos) {
            fail(Errc::corrupt, "{}: pax record without '=' in the extended header at offset {:#x}", tar_.name(),
                 header_offset);
        }
        const std::string_view key = record.substr(0, equals);
        const std::string_view value = record.substr(equals + 1);
        if (key == "path") {
            target.path = std::string(value);
        } else if (key == "size") {
            std::uint64_t size = 0;
            const auto [size_end, size_ec] = std::from_chars(value.data(), value.data() + value.size(), size);
            if (size_ec != std::errc() || size_end != value.data() + value.size()) {
                fail(Errc::corrupt, "{}: pax size '{}' is not a number (extended header at offset {:#x})", tar_.name(),
                     value, header_offset);
            }
            target.size = size;
        } else if (key.starts_with("GNU.sparse.")) {
            fail(Errc::unsupported, "{}: GNU sparse tar members are not supported (extended header at offset {:#x})",
                 tar_.name(), header_offset);
        }
    }
}

std::optional<TarMember> TarWalker::next()
{
    Overrides local;           // from 'x' and 'L' headers, for the next member only
    std::uint64_t first_header = offset_;
    Block block{};
    while (true) {
        const std::uint64_t at = offset_;
        if (at == archive_size_) {
            return std::nullopt;  // some writers omit the two zero blocks that end an archive
        }
        if (archive_size_ - at < tar::block_size) {
            fail(Errc::corrupt, "{}: the archive ends inside a tar header (offset {:#x})", tar_.name(), at);
        }
        tar_.read_at(block, at);
        if (is_zero_block(block)) {
            return std::nullopt;
        }
        if (!checksum_matches(block)) {
            fail(Errc::corrupt, "{}: tar header at offset {:#x} has a wrong checksum (not a tar archive, or damaged)",
                 tar_.name(), at);
        }
        const char type = static_cast<char>(block[tar::typeflag.offset]);
        const auto header_size = parse_number(field_bytes(block, tar::size));
        if (!header_size) {
            fail(Errc::corrupt, "{}: tar header at offset {:#x} has an unreadable size field", tar_.name(), at);
        }
        const bool extension = type == tar::type_gnu_long_name || type == tar::type_pax_member ||
                               type == tar::type_pax_global;
        const std::uint64_t size = extension ? *header_size : local.size.value_or(global_.size.value_or(*header_size));
        const std::uint64_t data_offset = at + tar::block_size;
        if (size > archive_size_ - data_offset) {
            fail(Errc::corrupt, "{}: tar member at offset {:#x} claims {} bytes, past the end of the archive ({} bytes)",
                 tar_.name(), at, size, archive_size_);
        }
        offset_ = std::min(data_offset + padded_size(size), archive_size_);  // the last padding may be cut

        if (type == tar::type_gnu_long_name) {
            std::string name = read_extension(data_offset, size, at);
            name.resize(std::min(name.size(), name.find('\0')));
            local.path = std::move(name);
            continue;
        }
        if (type == tar::type_pax_member || type == tar::type_pax_global) {
            apply_pax_records(read_extension(data_offset, size, at), type == tar::type_pax_global ? global_ : local,
                              at);
            continue;
        }
        const std::string raw_name = local.path.value_or(global_.path.value_or(header_name(block)));
        if (const char* what = refused_type(type)) {
            fail(Errc::corrupt, "{}: tar member '{}' (header at offset {:#x}) is {}: links, devices and FIFOs are "
                 "refused in a package", tar_.name(), raw_name, first_header, what);
        }
        const auto name = normalise_member_name(raw_name);
        if (!name) {
            fail(Errc::corrupt, "{}: tar member '{}' (header at offset {:#x}) has an empty, absolute or '..' name: "
                 "refused, it could reach outside the package", tar_.name(), raw_name, first_header);
        }
        if (type == tar::type_directory) {
            first_header = offset_;
            local = {};
            continue;
        }
        if (type != tar::type_file && type != tar::type_file_old && type != tar::type_contiguous) {
            fail(Errc::unsupported, "{}: tar member '{}' (header at offset {:#x}) has type '{}', which a package "
                 "does not use", tar_.name(), *name, first_header, type);
        }
        return TarMember{*name, data_offset, size, first_header};
    }
}

std::vector<TarMember> index_tar(const ByteSource& tar)
{
    TarWalker walker(tar, tar.size());
    std::vector<TarMember> members;
    std::set<std::string> names;
    while (auto member = walker.next()) {
        if (!names.insert(member->name).second) {
            fail(Errc::corrupt, "{}: tar member '{}' appears twice (again at offset {:#x})", tar.name(), member->name,
                 member->header_offset);
        }
        if (members.size() == max_members) {
            fail(Errc::corrupt, "{}: more than {} tar members: not a package", tar.name(), max_members);
        }
        members.push_back(std::move(*member));
    }
    return members;
}

std::optional<std::string> first_tar_member(std::span<const std::byte> head, std::uint64_t file_size) noexcept
{
    try {
        const MemorySource source(std::vector<std::byte>(head.begin(), head.end()), "probe");
        TarWalker walker(source, file_size);
        auto member = walker.next();
        return member ? std::optional<std::string>(std::move(member->name)) : std::nullopt;
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace diskshift::formats::ova
