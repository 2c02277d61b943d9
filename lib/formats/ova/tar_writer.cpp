// Tar member headers after POSIX.1-2008 "pax Interchange Format": a ustar header block, preceded
// by an 'x' header and its records when the name or the size needs more room than ustar gives.
#include "formats/ova/tar_writer.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <string>

#include <fmt/format.h>

#include "core/fail.hpp"

namespace diskshift::formats::ova::tar {
namespace {

/// ustar's `name` field holds at most this many bytes (no NUL needed when full).
constexpr std::size_t max_ustar_name = name.length;
/// GNU tar's marker for a base-256 number: the high bit of the field's first byte.
constexpr unsigned char base256_flag = 0x80;
/// Regular files are stored rw-r--r--.
constexpr unsigned file_mode = 0644;

using Block = std::array<std::byte, block_size>;

void put_text(Block& block, Field field, std::string_view text)
{
    std::copy_n(reinterpret_cast<const std::byte*>(text.data()), std::min(text.size(), field.length),
                block.begin() + static_cast<std::ptrdiff_t>(field.offset));
}

/// A number as octal digits filling the field but its last byte, which stays NUL (POSIX ustar).
void put_octal(Block& block, Field field, std::uint64_t value)
{
    put_text(block, field, fmt::format("{:0{}o}", value, field.length - 1));
}

/// A number too large for the octal digits, in GNU tar's base-256 form: big-endian in the
/// field's bytes, the first byte's high bit set.
void put_base256(Block& block, Field field, std::uint64_t value)
{
    for (std::size_t i = field.length; i-- > 1;) {
        block[field.offset + i] = static_cast<std::byte>(value & 0xFF);
        value >>= 8;
    }
    block[field.offset] = static_cast<std::byte>(base256_flag);
}

/// The header checksum: the sum of the block's bytes with the checksum field counted as spaces,
/// stored as six octal digits, a NUL and a space (POSIX ustar "chksum").
void put_checksum(Block& block)
{
    std::fill_n(block.begin() + static_cast<std::ptrdiff_t>(checksum.offset), checksum.length, std::byte{' '});
    unsigned sum = 0;
    for (const std::byte b : block) {
        sum += std::to_integer<unsigned>(b);
    }
    put_text(block, checksum, fmt::format("{:06o}", sum));
    block[checksum.offset + 6] = std::byte{0};
}

Block ustar_header(std::string_view member_name, std::uint64_t size, std::int64_t mtime, char type)
{
    Block block{};
    put_text(block, name, member_name.substr(0, max_ustar_name));
    put_octal(block, mode, file_mode);
    put_octal(block, uid, 0);
    put_octal(block, gid, 0);
    if (size <= max_octal_size) {
        put_octal(block, tar::size, size);
    } else {
        put_base256(block, tar::size, size);
    }
    put_octal(block, tar::mtime, static_cast<std::uint64_t>(std::max<std::int64_t>(mtime, 0)));
    block[typeflag.offset] = static_cast<std::byte>(type);
    put_text(block, magic, std::string_view("ustar\0", 6));
    put_text(block, version, "00");
    put_checksum(block);
    return block;
}

/// One pax record, "<length> <key>=<value>\n", where <length> counts the whole record, itself
/// included.
std::string pax_record(std::string_view key, std::string_view value)
{
    const std::size_t rest = key.size() + value.size() + 3;  // ' ', '=', '\n'
    std::size_t length = rest + std::to_string(rest).size();
    length = rest + std::to_string(length).size();  // one more digit if the first guess crossed a power of 10
    return fmt::format("{} {}={}\n", length, key, value);
}

/// A `comment` record (ignored by readers, POSIX pax) exactly `length` bytes long, length >= 13:
/// its length prefix is `length` itself, so the value takes what the frame leaves.
std::string pax_comment_of_length(std::size_t length)
{
    const std::size_t frame = std::to_string(length).size() + std::string_view(" comment=\n").size();
    return fmt::format("{} comment={}\n", length, std::string(length - frame, ' '));
}

bool needs_pax_path(std::string_view member_name) noexcept
{
    return member_name.size() > max_ustar_name;
}

bool needs_pax_size(std::uint64_t size_bound) noexcept
{
    return size_bound > max_octal_size;
}

/// The pax records of a member; "" when ustar alone holds it.
std::string pax_records(std::string_view member_name, std::uint64_t size, std::uint64_t size_bound)
{
    std::string records;
    if (needs_pax_path(member_name)) {
        records += pax_record("path", member_name);
    }
    if (needs_pax_size(size_bound)) {
        records += pax_record("size", std::to_string(size));
    }
    return records;
}

void check_member(const Member& member)
{
    if (member.name.empty() || member.name.find('\0') != std::string_view::npos) {
        fail(Errc::invalid_argument, "tar: a member name must be non-empty text without NUL bytes");
    }
    if (member.size > member.size_bound) {
        fail(Errc::invalid_argument, "tar: member {} has {} bytes, over the {} reserved for it", member.name,
             member.size, member.size_bound);
    }
}

void append(std::vector<std::byte>& out, std::span<const std::byte> bytes)
{
    out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace

std::vector<std::byte> member_header(const Member& member)
{
    check_member(member);
    std::vector<std::byte> out;
    std::string records = pax_records(member.name, member.size, member.size_bound);
    if (!records.empty()) {
        // The blocks the records take with the largest size they may carry: a smaller size's
        // shorter record is made up with a comment, so the header keeps its reserved length.
        const std::uint64_t reserved = padded_size(pax_records(member.name, member.size_bound, member.size_bound).size());
        if (padded_size(records.size()) < reserved) {
            records += pax_comment_of_length(reserved - records.size());
        }
        const std::string pax_name = "PaxHeaders/" + std::string(member.name.substr(0, max_ustar_name - 11));
        append(out, ustar_header(pax_name, records.size(), member.mtime, type_pax_member));
        append(out, std::as_bytes(std::span(records)));
        out.resize(padded_size(out.size()), std::byte{0});
    }
    append(out, ustar_header(member.name, member.size, member.mtime, type_file));
    return out;
}

std::uint64_t member_header_bytes(std::string_view member_name, std::uint64_t size_bound)
{
    const std::string records = pax_records(member_name, size_bound, size_bound);
    return (records.empty() ? 0 : block_size + padded_size(records.size())) + block_size;
}

}  // namespace diskshift::formats::ova::tar
