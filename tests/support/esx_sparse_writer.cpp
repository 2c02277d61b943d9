#include "support/esx_sparse_writer.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "core/endian.hpp"
#include "support/random_data.hpp"

namespace dstest {
namespace {

using diskshift::store_le;

constexpr std::uint64_t sector = 512;
constexpr std::uint64_t table_entries = 4096;

std::uint64_t div_up(std::uint64_t value, std::uint64_t unit) { return (value + unit - 1) / unit; }

/// The grain tables the listed grains need, by table number.
std::set<std::uint64_t> tables_used(const EsxSparseSpec& spec)
{
    std::set<std::uint64_t> tables;
    for (const auto& [grain, fill] : spec.grains) {
        tables.insert(grain / table_entries);
    }
    return tables;
}

/// The data grains in the order their bytes are stored: runs of 8 guest-consecutive grains stay in
/// order (so readers can merge their reads), the runs themselves come last first (so they cannot
/// assume the file follows the guest).
std::vector<std::uint64_t> storage_order(const EsxSparseSpec& spec)
{
    std::vector<std::uint64_t> data;
    for (const auto& [grain, fill] : spec.grains) {
        if (fill == EsxGrainFill::data) {
            data.push_back(grain);
        }
    }
    constexpr std::size_t run = 8;
    std::vector<std::uint64_t> order;
    for (std::size_t end = data.size(); end > 0;) {
        const std::size_t begin = end > run ? end - run : 0;
        order.insert(order.end(), data.begin() + static_cast<std::ptrdiff_t>(begin),
                     data.begin() + static_cast<std::ptrdiff_t>(end));
        end = begin;
    }
    return order;
}

/// Numbers the used tables last first, so that table numbers differ from grain directory numbers.
std::map<std::uint64_t, std::uint64_t> table_slots(const std::set<std::uint64_t>& tables)
{
    std::map<std::uint64_t, std::uint64_t> slots;
    std::uint64_t slot = 0;
    for (auto it = tables.rbegin(); it != tables.rend(); ++it) {
        slots[*it] = slot++;
    }
    return slots;
}

void check_grains_fit(const EsxSparseSpec& spec, std::uint64_t grain_bytes)
{
    const std::uint64_t grains = div_up(spec.capacity_sectors * sector, grain_bytes);
    if (!spec.grains.empty() && spec.grains.rbegin()->first >= grains) {
        throw std::invalid_argument("esx sparse writer: a grain lies past the capacity");
    }
}

/// Fills each data grain with random bytes and records where every listed grain went.
void place_grains(EsxSparseFile& file, const EsxSparseSpec& spec,
                  const std::map<std::uint64_t, std::uint64_t>& data_offsets)
{
    RandomBytes random(spec.seed);
    for (const auto& [grain, fill] : spec.grains) {
        std::uint64_t offset = 0;
        if (fill == EsxGrainFill::data) {
            offset = data_offsets.at(grain);
            random.fill(std::span(file.bytes).subspan(offset, file.grain_bytes));
        }
        file.grains[grain] = {fill, offset};
    }
}

}  // namespace

void EsxSparseFile::expected(std::span<std::byte> out, std::uint64_t offset) const
{
    std::fill(out.begin(), out.end(), std::byte{0});
    const std::uint64_t end = offset + out.size();
    for (auto it = grains.lower_bound(offset / grain_bytes); it != grains.end() && it->first * grain_bytes < end;
         ++it) {
        const auto& [fill, file_offset] = it->second;
        if (fill != EsxGrainFill::data) {
            continue;
        }
        const std::uint64_t grain_start = it->first * grain_bytes;
        const std::uint64_t from = std::max(offset, grain_start);
        const std::uint64_t to = std::min({end, grain_start + grain_bytes, size});
        std::memcpy(out.data() + (from - offset), bytes.data() + file_offset + (from - grain_start), to - from);
    }
}

diskshift::ExtentList EsxSparseFile::expected_map() const
{
    diskshift::ExtentList map(0);
    for (const auto& [grain, entry] : grains) {
        const std::uint64_t start = grain * grain_bytes;
        map.append(start - map.end_offset(), diskshift::ExtentKind::unallocated);
        map.append(std::min(grain_bytes, size - start),
                   entry.first == EsxGrainFill::data ? diskshift::ExtentKind::data : diskshift::ExtentKind::zero);
    }
    map.append(size - map.end_offset(), diskshift::ExtentKind::unallocated);
    return map;
}

EsxSparseFile make_sesparse(const EsxSparseSpec& spec)
{
    constexpr std::uint64_t grain_sectors = 8;
    constexpr std::uint64_t table_sectors = 64;
    EsxSparseFile file;
    file.size = spec.capacity_sectors * sector;
    file.grain_bytes = grain_sectors * sector;
    check_grains_fit(spec, file.grain_bytes);

    const std::set<std::uint64_t> tables = tables_used(spec);
    const std::map<std::uint64_t, std::uint64_t> slots = table_slots(tables);
    const std::vector<std::uint64_t> order = storage_order(spec);
    const std::uint64_t directory_entries = div_up(file.size, table_entries * file.grain_bytes);
    // Sectors: const header 0, volatile header 1, journal header 2-3, journal 4-7, then the grain
    // directory, the grain tables (one spare), the grains.
    const std::uint64_t directory_sector = 8;
    const std::uint64_t directory_sectors = std::max<std::uint64_t>(1, div_up(directory_entries * 8, sector));
    const std::uint64_t tables_sector = directory_sector + directory_sectors;
    const std::uint64_t tables_sectors = (tables.size() + 1) * table_sectors;
    const std::uint64_t grains_sector = tables_sector + tables_sectors;
    const std::uint64_t grains_sectors = (spec.first_cluster + order.size()) * grain_sectors;
    file.bytes.assign((grains_sector + grains_sectors) * sector, std::byte{0});
    file.directory_offset = directory_sector * sector;

    const std::array<std::uint64_t, 26> header = {
        0xCAFEBABE, 0x0000000200000001, spec.capacity_sectors, grain_sectors, table_sectors, 0, 0, 0, 0, 0,
        1, 1,                           // volatile header
        2, 2, 4, 4,                     // journal header, journal
        directory_sector, directory_sectors, tables_sector, tables_sectors,
        grains_sector, 0, grains_sector, 0,  // free bitmap, backmap (empty)
        grains_sector, grains_sectors};
    for (std::size_t i = 0; i < header.size(); ++i) {
        store_le<std::uint64_t>(file.bytes.data() + 8 * i, header[i]);
    }
    store_le<std::uint64_t>(file.bytes.data() + sector, 0xCAFECAFE);
    store_le<std::uint64_t>(file.bytes.data() + sector + 8, tables.size());
    store_le<std::uint64_t>(file.bytes.data() + sector + 16, 1);

    for (const auto& [table, slot] : slots) {
        store_le<std::uint64_t>(file.bytes.data() + file.directory_offset + 8 * table, 0x1000000000000000 | slot);
    }
    file.first_table_offset = tables.empty() ? 0 : (tables_sector + slots.at(*tables.begin()) * table_sectors) * sector;

    std::map<std::uint64_t, std::uint64_t> data_offsets;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::uint64_t cluster = spec.first_cluster + i;
        data_offsets[order[i]] = grains_sector * sector + cluster * file.grain_bytes;
    }
    for (const auto& [grain, fill] : spec.grains) {
        std::uint64_t entry = fill == EsxGrainFill::zero ? 0x2000000000000000 : 0x1000000000000000;
        if (fill == EsxGrainFill::data) {
            // The cluster number is stored shuffled: its low 12 bits in bits 48-59, the rest in 0-47.
            const std::uint64_t cluster = (data_offsets.at(grain) - grains_sector * sector) / file.grain_bytes;
            entry = 0x3000000000000000 | ((cluster & 0xFFF) << 48) | (cluster >> 12);
        }
        const std::uint64_t table_start = (tables_sector + slots.at(grain / table_entries) * table_sectors) * sector;
        store_le<std::uint64_t>(file.bytes.data() + table_start + 8 * (grain % table_entries), entry);
    }
    place_grains(file, spec, data_offsets);
    return file;
}

EsxSparseFile make_cowd(const EsxSparseSpec& spec)
{
    constexpr std::uint64_t table_sectors = table_entries * 4 / sector;
    if (spec.capacity_sectors > UINT32_MAX) {
        throw std::invalid_argument("esx sparse writer: COWD capacity is a 32-bit sector count");
    }
    EsxSparseFile file;
    file.size = spec.capacity_sectors * sector;
    file.grain_bytes = spec.grain_sectors * sector;
    check_grains_fit(spec, file.grain_bytes);
    for (const auto& [grain, fill] : spec.grains) {
        if (fill != EsxGrainFill::data) {
            throw std::invalid_argument("esx sparse writer: COWD grains are data or unallocated");
        }
    }

    const std::set<std::uint64_t> tables = tables_used(spec);
    const std::map<std::uint64_t, std::uint64_t> slots = table_slots(tables);
    const std::vector<std::uint64_t> order = storage_order(spec);
    const std::uint64_t directory_entries = div_up(file.size, table_entries * file.grain_bytes);
    // Sectors: the 2048-byte header 0-3, the grain directory from 4, the grain tables, the grains.
    const std::uint64_t directory_sector = 4;
    const std::uint64_t tables_sector =
        directory_sector + std::max<std::uint64_t>(1, div_up(directory_entries * 4, sector));
    const std::uint64_t grains_sector = tables_sector + tables.size() * table_sectors;
    const std::uint64_t end_sector = grains_sector + order.size() * spec.grain_sectors;
    file.bytes.assign(end_sector * sector, std::byte{0});
    file.directory_offset = directory_sector * sector;

    std::byte* h = file.bytes.data();
    const std::array<std::uint32_t, 11> header = {
        0x44574F43, 1, 3, static_cast<std::uint32_t>(spec.capacity_sectors), spec.grain_sectors,
        static_cast<std::uint32_t>(directory_sector), static_cast<std::uint32_t>(directory_entries),
        static_cast<std::uint32_t>(end_sector), 1024, 16, 63};  // root geometry: cylinders, heads, sectors
    for (std::size_t i = 0; i < header.size(); ++i) {
        store_le<std::uint32_t>(h + 4 * i, header[i]);
    }
    store_le<std::uint32_t>(h + 1060, 1);  // generation
    std::memcpy(h + 1064, "diskshift test", 14);

    for (const auto& [table, slot] : slots) {
        store_le<std::uint32_t>(h + file.directory_offset + 4 * table,
                                static_cast<std::uint32_t>(tables_sector + slot * table_sectors));
    }
    file.first_table_offset = tables.empty() ? 0 : (tables_sector + slots.at(*tables.begin()) * table_sectors) * sector;

    std::map<std::uint64_t, std::uint64_t> data_offsets;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::uint64_t grain_sector = grains_sector + i * spec.grain_sectors;
        data_offsets[order[i]] = grain_sector * sector;
        const std::uint64_t table_start = (tables_sector + slots.at(order[i] / table_entries) * table_sectors) * sector;
        store_le<std::uint32_t>(h + table_start + 4 * (order[i] % table_entries), static_cast<std::uint32_t>(grain_sector));
    }
    place_grains(file, spec, data_offsets);
    return file;
}

std::string esx_descriptor(const std::string& create_type, const std::string& extent_type, std::uint64_t sectors,
                           const std::string& file)
{
    return fmt::format("# Disk DescriptorFile\n"
                       "version=1\n"
                       "CID=5eed0001\n"
                       "parentCID=ffffffff\n"
                       "createType=\"{}\"\n"
                       "\n"
                       "# Extent description\n"
                       "RW {} {} \"{}\"\n"
                       "\n"
                       "# The Disk Data Base\n"
                       "#DDB\n"
                       "ddb.virtualHWVersion = \"4\"\n",
                       create_type, sectors, extent_type, file);
}

}  // namespace dstest
