#include "support/vhd_builder.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace dstest::vhd {
namespace {

constexpr std::uint64_t sector = 512;

void put_be(std::byte* p, std::uint64_t value, std::size_t bytes)
{
    for (std::size_t i = 0; i < bytes; ++i) {
        p[bytes - 1 - i] = static_cast<std::byte>(value >> (8 * i));
    }
}

void put_text(std::byte* p, std::string_view text)
{
    std::memcpy(p, text.data(), text.size());
}

/// Ones' complement of the byte sum, with the checksum field (still zero) included.
void put_checksum(std::span<std::byte> structure, std::size_t field, bool wrong)
{
    std::uint32_t sum = 0;
    for (const std::byte b : structure) {
        sum += static_cast<std::uint8_t>(b);
    }
    put_be(structure.data() + field, ~sum + (wrong ? 1U : 0U), 4);
}

std::uint64_t round_up(std::uint64_t value, std::uint64_t unit) { return (value + unit - 1) / unit * unit; }

std::uint64_t bitmap_size(std::uint64_t block_size) { return round_up((block_size / sector + 7) / 8, sector); }

}  // namespace

std::array<std::byte, 512> footer_bytes(const FooterFields& f)
{
    if (f.creator.size() != 4) {
        throw std::invalid_argument("a creator code has four bytes");
    }
    std::array<std::byte, 512> b{};
    put_text(b.data(), "conectix");
    put_be(b.data() + 8, 2, 4);           // features: reserved bit set
    put_be(b.data() + 12, 0x10000, 4);    // format version 1.0
    put_be(b.data() + 16, f.data_offset, 8);
    put_be(b.data() + 24, 0x260cf38f, 4);  // time stamp
    put_text(b.data() + 28, f.creator);
    put_be(b.data() + 32, 0x000a0000, 4);  // creator version 10.0
    put_text(b.data() + 36, "Wi2k");
    put_be(b.data() + 40, f.current_size, 8);
    put_be(b.data() + 48, f.current_size, 8);
    put_be(b.data() + 56, f.cylinders, 2);
    b[58] = static_cast<std::byte>(f.heads);
    b[59] = static_cast<std::byte>(f.sectors_per_track);
    put_be(b.data() + 60, f.disk_type, 4);
    std::copy(f.unique_id.begin(), f.unique_id.end(), b.begin() + 68);
    put_checksum(b, 64, f.bad_checksum);
    return b;
}

std::vector<std::byte> fixed_vhd(std::span<const std::byte> data, const FooterFields& footer)
{
    std::vector<std::byte> file(data.begin(), data.end());
    const auto f = footer_bytes(footer);
    file.insert(file.end(), f.begin(), f.end());
    return file;
}

std::vector<std::byte> utf16(std::u16string_view text, bool big_endian)
{
    std::vector<std::byte> out;
    for (const char16_t c : text) {
        const auto high = static_cast<std::byte>(c >> 8);
        const auto low = static_cast<std::byte>(c & 0xFF);
        out.push_back(big_endian ? high : low);
        out.push_back(big_endian ? low : high);
    }
    return out;
}

std::uint32_t SparseVhd::table_entries() const
{
    return max_table_entries != 0 ? max_table_entries
                                  : static_cast<std::uint32_t>((footer.current_size + block_size - 1) / block_size);
}


std::vector<std::byte> SparseVhd::build() const
{
    const std::uint32_t entries = table_entries();
    FooterFields f = footer;
    f.data_offset = header_offset;
    const auto footer_copy = footer_bytes(f);

    std::vector<std::byte> file(footer_copy.begin(), footer_copy.end());
    file.resize(bat_offset + round_up(std::uint64_t{entries} * 4, sector));

    std::byte* h = file.data() + header_offset;
    put_text(h, "cxsparse");
    put_be(h + 8, ~std::uint64_t{0}, 8);
    put_be(h + 16, bat_offset, 8);
    put_be(h + 24, 0x10000, 4);
    put_be(h + 28, entries, 4);
    put_be(h + 32, block_size, 4);
    std::copy(parent_id.begin(), parent_id.end(), h + 40);
    put_be(h + 56, parent_timestamp, 4);
    const std::vector<std::byte> name = utf16(parent_name, true);
    std::copy(name.begin(), name.end(), h + 64);
    for (std::size_t i = 0; i < locators.size(); ++i) {
        const Locator& l = locators[i];
        std::byte* e = file.data() + header_offset + 576 + 24 * i;
        put_text(e, l.platform);
        put_be(e + 4, round_up(l.data.size(), sector), 4);
        put_be(e + 8, l.data.size(), 4);
        put_be(e + 16, file.size(), 8);
        file.insert(file.end(), l.data.begin(), l.data.end());
        file.resize(round_up(file.size(), sector));
        h = file.data() + header_offset;
    }
    put_checksum(std::span(h, 1024), 36, bad_header_checksum);

    for (std::uint32_t i = 0; i < entries; ++i) {
        put_be(file.data() + bat_offset + 4 * i, 0xFFFFFFFF, 4);
    }
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
        const auto& [index, block] = *it;
        put_be(file.data() + bat_offset + 4 * index, file.size() / sector, 4);
        std::vector<std::byte> bitmap = block.bitmap;
        bitmap.resize(bitmap_size(block_size), block.bitmap.empty() ? std::byte{0xFF} : std::byte{0});
        file.insert(file.end(), bitmap.begin(), bitmap.end());
        std::vector<std::byte> data = block.data;
        data.resize(block_size);
        file.insert(file.end(), data.begin(), data.end());
    }
    const auto tail = footer_bytes(f);
    file.insert(file.end(), tail.begin(), tail.end());
    return file;
}

void patch_be32(std::vector<std::byte>& file, std::uint64_t offset, std::uint32_t value)
{
    put_be(file.data() + offset, value, 4);
}

void patch_be64(std::vector<std::byte>& file, std::uint64_t offset, std::uint64_t value)
{
    put_be(file.data() + offset, value, 8);
}

}  // namespace dstest::vhd
