// ESXi seSparse extents (reference vmdk.md §7). VMware publishes no specification; the checks are
// as strict as the one layout known: version 0x200000001, 4 KiB grains, 4096-entry grain tables.
#include <array>

#include "core/endian.hpp"
#include "core/fail.hpp"
#include "formats/vmdk/esx_sparse.hpp"

namespace diskshift::formats::vmdk {
namespace {

constexpr std::uint64_t const_header_magic = 0xCAFEBABE;
constexpr std::uint64_t volatile_header_magic = 0xCAFECAFE;
constexpr std::uint64_t supported_version = 0x0000000200000001;
constexpr std::uint64_t grain_sectors = 8;
constexpr std::uint64_t grain_table_sectors = 64;
constexpr std::uint64_t entries_per_table = grain_table_sectors * sector_bytes / 8;
// The largest seSparse disk (VMware documents 62 TB); it bounds the grain directory to 4 Mi entries.
constexpr std::uint64_t max_capacity = std::uint64_t{64} << 40;
// A grain directory entry names a grain table by index: top 32 bits 0x10000000, low 32 the index.
constexpr std::uint64_t allocated_table_tag = 0x10000000;

/// The const header at sector 0: 26 little-endian u64 fields, all sizes and offsets in sectors.
struct ConstHeader {
    std::uint64_t magic, version, capacity, grain_size, grain_table_size, flags;
    std::array<std::uint64_t, 4> reserved;
    std::uint64_t volatile_header_offset, volatile_header_size;
    std::uint64_t journal_header_offset, journal_header_size, journal_offset, journal_size;
    std::uint64_t grain_dir_offset, grain_dir_size, grain_tables_offset, grain_tables_size;
    std::uint64_t free_bitmap_offset, free_bitmap_size, backmap_offset, backmap_size;
    std::uint64_t grains_offset, grains_size;
};

ConstHeader parse_const_header(const std::byte* p)
{
    std::array<std::uint64_t, 26> field{};
    for (std::size_t i = 0; i < field.size(); ++i) {
        field[i] = load_le<std::uint64_t>(p + 8 * i);
    }
    return ConstHeader{field[0],  field[1],  field[2],  field[3],  field[4],  field[5],  {field[6], field[7], field[8], field[9]},
                       field[10], field[11], field[12], field[13], field[14], field[15], field[16], field[17],
                       field[18], field[19], field[20], field[21], field[22], field[23], field[24], field[25]};
}

void check_const_header(const ByteSource& file, const ConstHeader& h)
{
    const std::string& name = file.name();
    if (h.magic != const_header_magic) {
        fail(Errc::corrupt, "{}: seSparse const header has a bad magic 0x{:x} (offset 0x0)", name, h.magic);
    }
    if (h.version != supported_version) {
        fail(Errc::corrupt, "{}: seSparse const header has an unknown version 0x{:x}, only 0x{:x} is defined (offset 0x8)",
             name, h.version, supported_version);
    }
    if (h.grain_size != grain_sectors) {
        fail(Errc::corrupt, "{}: seSparse grain size is {} sectors, not {} (offset 0x18)", name, h.grain_size,
             grain_sectors);
    }
    if (h.grain_table_size != grain_table_sectors) {
        fail(Errc::corrupt, "{}: seSparse grain table size is {} sectors, not {} (offset 0x20)", name,
             h.grain_table_size, grain_table_sectors);
    }
    if (h.flags != 0) {
        fail(Errc::unsupported, "{}: seSparse const header has flags 0x{:x}, which diskshift does not know (offset 0x28)",
             name, h.flags);
    }
    for (std::size_t i = 0; i < h.reserved.size(); ++i) {
        if (h.reserved[i] != 0) {
            fail(Errc::corrupt, "{}: seSparse const header reserved field {} is not zero (offset 0x{:x})", name, i + 1,
                 48 + 8 * i);
        }
    }
}

/// The volatile header: a journal left to replay means the extent is inconsistent without it.
void check_volatile_header(const ByteSource& file, const ConstHeader& h)
{
    const std::uint64_t offset = sectors_to_bytes(file, h.volatile_header_offset, "volatile_header_offset", 80);
    const auto head = read_structure<sector_bytes>(file, offset, "seSparse volatile header");
    const auto magic = load_le<std::uint64_t>(head.data());
    if (magic != volatile_header_magic) {
        fail(Errc::corrupt, "{}: seSparse volatile header has a bad magic 0x{:x} (offset 0x{:x})", file.name(), magic,
             offset);
    }
    if (load_le<std::uint64_t>(head.data() + 24) != 0) {
        fail(Errc::unsupported,
             "{}: seSparse extent is dirty: its journal must be replayed first, which diskshift does not do; "
             "power the virtual machine on and off (or consolidate it) on ESXi (volatile header offset 0x{:x})",
             file.name(), offset);
    }
}

/// The file offset of the grain table each grain directory entry names (or no_table).
std::vector<std::uint64_t> load_grain_directory(const ByteSource& file, const ConstHeader& h, std::uint64_t size)
{
    const std::string& name = file.name();
    const std::uint64_t needed = tables_needed(size, entries_per_table * grain_sectors * sector_bytes);
    const std::uint64_t dir_offset = sectors_to_bytes(file, h.grain_dir_offset, "grain_dir_offset", 128);
    const std::uint64_t dir_entries = sectors_to_bytes(file, h.grain_dir_size, "grain_dir_size", 136) / 8;
    if (dir_entries < needed) {
        fail(Errc::corrupt, "{}: seSparse grain directory holds {} entries, the capacity needs {} (offset 0x{:x})",
             name, dir_entries, needed, dir_offset);
    }
    require_inside_file(file, dir_offset, needed * 8, "seSparse grain directory");
    const std::uint64_t tables_base = sectors_to_bytes(file, h.grain_tables_offset, "grain_tables_offset", 144);
    const std::uint64_t table_count = h.grain_tables_size / grain_table_sectors;

    std::vector<std::byte> raw(needed * 8);
    file.read_at(raw, dir_offset);
    std::vector<std::uint64_t> tables(needed, GrainLayout::no_table);
    for (std::size_t i = 0; i < tables.size(); ++i) {
        const auto entry = load_le<std::uint64_t>(raw.data() + 8 * i);
        const std::uint64_t entry_offset = dir_offset + 8 * i;
        if (entry == 0) {
            continue;
        }
        const std::uint64_t index = entry & 0xFFFFFFFF;
        if (entry >> 32 != allocated_table_tag) {
            fail(Errc::corrupt, "{}: seSparse grain directory entry {} is invalid (0x{:x}) (offset 0x{:x})", name, i,
                 entry, entry_offset);
        }
        const std::uint64_t table_offset = saturating_offset(tables_base, index, grain_table_sectors * sector_bytes);
        if (index >= table_count || !inside_file(file, table_offset, grain_table_sectors * sector_bytes)) {
            fail(Errc::corrupt,
                 "{}: seSparse grain directory entry {} names grain table {}, outside the grain tables ({} in the "
                 "header) or the file (offset 0x{:x})",
                 name, i, index, table_count, entry_offset);
        }
        tables[i] = table_offset;
    }
    return tables;
}

/// A grain table entry: the top nibble says what the grain is.
GrainEntry decode_entry(std::uint64_t value, std::uint64_t grains_base)
{
    switch (value >> 60) {
    case 0x0:  // unallocated; the rest must be zero
        return GrainEntry{ExtentKind::unallocated, 0, value == 0};
    case 0x1:  // unmapped by a SCSI UNMAP: reads as zeros
    case 0x2:  // zeroed
        return GrainEntry{ExtentKind::zero, 0, true};
    case 0x3: {  // allocated: the grain number's bits are shuffled
        const std::uint64_t grain = ((value & 0x0FFF000000000000) >> 48) | ((value & 0x0000FFFFFFFFFFFF) << 12);
        return GrainEntry{ExtentKind::data, saturating_offset(grains_base, grain, grain_sectors * sector_bytes), true};
    }
    default:
        return GrainEntry{ExtentKind::unallocated, 0, false};
    }
}

nlohmann::ordered_json describe(const ConstHeader& h, const std::vector<std::uint64_t>& tables)
{
    const auto allocated = std::count_if(tables.begin(), tables.end(),
                                         [](std::uint64_t t) { return t != GrainLayout::no_table; });
    return nlohmann::ordered_json{
        {"extent_format", "seSparse"},
        {"version", fmt::format("0x{:x}", h.version)},
        {"capacity_sectors", h.capacity},
        {"grain_size", grain_sectors * sector_bytes},
        {"grain_table_entries", entries_per_table},
        {"grain_directory_offset", h.grain_dir_offset * sector_bytes},
        {"grain_directory_entries", tables.size()},
        {"grain_tables_offset", h.grain_tables_offset * sector_bytes},
        {"grain_tables_allocated", allocated},
        {"grains_offset", h.grains_offset * sector_bytes},
    };
}

}  // namespace

std::unique_ptr<ExtentData> open_sesparse_extent(std::shared_ptr<const ByteSource> file)
{
    const ConstHeader header =
        parse_const_header(read_structure<sector_bytes>(*file, 0, "seSparse const header").data());
    check_const_header(*file, header);
    check_volatile_header(*file, header);

    GrainLayout layout;
    layout.size = sectors_to_bytes(*file, header.capacity, "capacity", 16);
    if (layout.size > max_capacity) {
        fail(Errc::corrupt, "{}: seSparse capacity of {} sectors is over the format's 64 TiB (offset 0x10)",
             file->name(), header.capacity);
    }
    layout.grain_bytes = grain_sectors * sector_bytes;
    layout.entries_per_table = entries_per_table;
    layout.entry_bytes = 8;
    layout.table_offsets = load_grain_directory(*file, header, layout.size);
    const std::uint64_t grains_base = sectors_to_bytes(*file, header.grains_offset, "grains_offset", 192);
    layout.decode = [grains_base](std::uint64_t value) { return decode_entry(value, grains_base); };
    nlohmann::ordered_json details = describe(header, layout.table_offsets);
    return std::make_unique<GrainTableExtent>(std::move(file), std::move(layout), std::move(details));
}

}  // namespace diskshift::formats::vmdk
