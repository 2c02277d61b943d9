#include "support/tar_builder.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace dstest {
namespace {

constexpr std::size_t block = 512;

void put_text(std::vector<std::byte>& header, std::size_t offset, const std::string& text)
{
    std::memcpy(header.data() + offset, text.data(), text.size());
}

/// One header block; `size_field` is the 12 bytes of the size field, already encoded.
std::vector<std::byte> header_block(const std::string& name, char type, const std::vector<std::byte>& size_field,
                                    bool gnu_magic)
{
    std::vector<std::byte> header(block);
    put_text(header, 0, name.substr(0, 100));
    put_text(header, 100, "0000644");
    put_text(header, 108, "0000000");
    put_text(header, 116, "0000000");
    std::copy(size_field.begin(), size_field.end(), header.begin() + 124);
    put_text(header, 136, "14000000000");
    header[156] = static_cast<std::byte>(type);
    put_text(header, 257, gnu_magic ? "ustar  " : "ustar");
    if (!gnu_magic) {
        put_text(header, 263, "00");
    }
    std::fill_n(header.begin() + 148, 8, std::byte{' '});
    unsigned sum = 0;
    for (std::byte b : header) {
        sum += std::to_integer<unsigned>(b);
    }
    put_text(header, 148, fmt::format("{:06o}", sum));
    header[154] = std::byte{0};
    return header;
}

std::vector<std::byte> octal_size(std::uint64_t size)
{
    std::vector<std::byte> field(12);
    const std::string digits = fmt::format("{:011o}", size);
    std::memcpy(field.data(), digits.data(), 11);
    return field;
}

std::vector<std::byte> base256_size(std::uint64_t size)
{
    std::vector<std::byte> field(12);
    field[0] = std::byte{0x80};
    for (std::size_t i = 0; i < 8; ++i) {
        field[11 - i] = static_cast<std::byte>(size >> (8 * i));
    }
    return field;
}

/// A pax record "<len> key=value\n", the length counting itself.
std::string pax_record(const std::string& key, const std::string& value)
{
    const std::size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
    std::size_t length = body + 1;
    while (fmt::format("{}", length).size() + body != length) {
        ++length;
    }
    return fmt::format("{} {}={}\n", length, key, value);
}

}  // namespace

std::uint64_t tar_padded(std::uint64_t size)
{
    return (size + block - 1) / block * block;
}

std::vector<std::byte> tar_file_headers(const std::string& name, std::uint64_t size, TarSize encoding)
{
    switch (encoding) {
    case TarSize::octal:
        return header_block(name, '0', octal_size(size), false);
    case TarSize::gnu_base256:
        return header_block(name, '0', base256_size(size), true);
    case TarSize::pax: {
        const std::string records = pax_record("size", std::to_string(size)) + pax_record("path", name);
        std::vector<std::byte> out = header_block("PaxHeaders/" + name, 'x', octal_size(records.size()), false);
        std::vector<std::byte> data(tar_padded(records.size()));
        std::memcpy(data.data(), records.data(), records.size());
        out.insert(out.end(), data.begin(), data.end());
        const std::vector<std::byte> member = header_block(name, '0', octal_size(0), false);
        out.insert(out.end(), member.begin(), member.end());
        return out;
    }
    }
    return {};
}

}  // namespace dstest
