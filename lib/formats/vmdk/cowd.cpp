// ESXi vmfsSparse extents: the COWD ("copy on write disk") header of reference vmdk.md §6, a
// grain directory of 32-bit sector numbers of grain tables, and grain tables of 4096 32-bit sector
// numbers of grains (0: not allocated here).
#include "core/endian.hpp"
#include "core/fail.hpp"
#include "formats/vmdk/esx_sparse.hpp"

namespace diskshift::formats::vmdk {
namespace {

constexpr std::uint32_t magic = 0x44574F43;  // "COWD"
constexpr std::uint32_t supported_version = 1;
constexpr std::size_t header_bytes = 2048;
constexpr std::uint64_t entries_per_table = 4096;
// The technote allows grains from one sector to 1 MiB.
constexpr std::uint32_t max_grain_sectors = 2048;
constexpr std::uint32_t root_flag = 0x1;  // a base disk, not a child of another COWD disk

/// The header fields diskshift uses; all little-endian u32, offsets and sizes in sectors.
struct Header {
    std::uint32_t magic, version, flags, num_sectors, grain_size, gd_offset, gd_entries, free_sector;
    std::uint32_t generation, unclean_shutdown;
};

Header parse_header(const std::byte* p)
{
    const auto at = [p](std::size_t offset) { return load_le<std::uint32_t>(p + offset); };
    return Header{at(0), at(4), at(8), at(12), at(16), at(20), at(24), at(28), at(1060), at(1648)};
}

void check_header(const ByteSource& file, const Header& h)
{
    const std::string& name = file.name();
    if (h.magic != magic) {
        fail(Errc::corrupt, "{}: COWD header has a bad magic 0x{:x} (offset 0x0)", name, h.magic);
    }
    if (h.version != supported_version) {
        fail(Errc::corrupt, "{}: COWD header has an unknown version {}, only {} is defined (offset 0x4)", name,
             h.version, supported_version);
    }
    if (h.grain_size == 0 || h.grain_size > max_grain_sectors) {
        fail(Errc::corrupt, "{}: COWD grain size is {} sectors, outside 1..{} (offset 0x10)", name, h.grain_size,
             max_grain_sectors);
    }
}

/// The file offset of the grain table each grain directory entry names (or no_table).
std::vector<std::uint64_t> load_grain_directory(const ByteSource& file, const Header& h, std::uint64_t coverage)
{
    const std::string& name = file.name();
    const std::uint64_t needed = tables_needed(std::uint64_t{h.num_sectors} * sector_bytes, coverage);
    const std::uint64_t dir_offset = std::uint64_t{h.gd_offset} * sector_bytes;
    if (h.gd_entries < needed) {
        fail(Errc::corrupt, "{}: COWD grain directory holds {} entries, the capacity needs {} (offset 0x{:x})", name,
             h.gd_entries, needed, dir_offset);
    }
    require_inside_file(file, dir_offset, needed * 4, "COWD grain directory");

    std::vector<std::byte> raw(needed * 4);
    file.read_at(raw, dir_offset);
    std::vector<std::uint64_t> tables(needed, GrainLayout::no_table);
    for (std::size_t i = 0; i < tables.size(); ++i) {
        const std::uint64_t table_offset = std::uint64_t{load_le<std::uint32_t>(raw.data() + 4 * i)} * sector_bytes;
        if (table_offset == 0) {
            continue;
        }
        if (!inside_file(file, table_offset, entries_per_table * 4)) {
            fail(Errc::corrupt,
                 "{}: COWD grain directory entry {} points past the end of the file (grain table at 0x{:x}) "
                 "(offset 0x{:x})",
                 name, i, table_offset, dir_offset + 4 * i);
        }
        tables[i] = table_offset;
    }
    return tables;
}

GrainEntry decode_entry(std::uint64_t sector)
{
    if (sector == 0) {
        return GrainEntry{ExtentKind::unallocated, 0, true};
    }
    return GrainEntry{ExtentKind::data, sector * sector_bytes, true};
}

nlohmann::ordered_json describe(const Header& h)
{
    return nlohmann::ordered_json{
        {"extent_format", "vmfsSparse (COWD)"},
        {"version", h.version},
        {"flags", fmt::format("0x{:x}", h.flags)},
        {"root", (h.flags & root_flag) != 0},
        {"capacity_sectors", h.num_sectors},
        {"grain_size", std::uint64_t{h.grain_size} * sector_bytes},
        {"grain_table_entries", entries_per_table},
        {"grain_directory_offset", std::uint64_t{h.gd_offset} * sector_bytes},
        {"grain_directory_entries", h.gd_entries},
        {"free_sector", h.free_sector},
        {"generation", h.generation},
        {"unclean_shutdown", h.unclean_shutdown != 0},
    };
}

}  // namespace

std::unique_ptr<ExtentData> open_cowd_extent(std::shared_ptr<const ByteSource> file)
{
    const Header header = parse_header(read_structure<header_bytes>(*file, 0, "COWD header").data());
    check_header(*file, header);

    GrainLayout layout;
    layout.size = std::uint64_t{header.num_sectors} * sector_bytes;
    layout.grain_bytes = std::uint64_t{header.grain_size} * sector_bytes;
    layout.entries_per_table = entries_per_table;
    layout.entry_bytes = 4;
    layout.table_offsets = load_grain_directory(*file, header, layout.table_coverage());
    layout.decode = decode_entry;
    return std::make_unique<GrainTableExtent>(std::move(file), std::move(layout), describe(header));
}

}  // namespace diskshift::formats::vmdk
