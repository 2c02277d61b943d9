#include "support/vhdx_log_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "core/crc32c.hpp"
#include "core/endian.hpp"
#include "formats/vhdx/vhdx_layout.hpp"
#include "support/files.hpp"

namespace dstest {
namespace {

namespace vhdx = diskshift::formats::vhdx;
using diskshift::load_le;
using diskshift::store_le;

constexpr std::uint64_t sector = 4096;
constexpr vhdx::Guid test_log_guid = vhdx::guid_from_text("6c0a7b5e-1d2f-4a3b-9c8d-0e1f2a3b4c5d");

std::vector<std::byte> read_range(const std::filesystem::path& path, std::uint64_t offset, std::size_t length)
{
    const Fd fd = open_file(path, O_RDONLY);
    std::vector<std::byte> bytes(length);
    if (::pread(fd.get(), bytes.data(), length, static_cast<off_t>(offset)) != static_cast<ssize_t>(length)) {
        throw std::runtime_error("read_range: short read of " + path.string());
    }
    return bytes;
}

/// A GUID's stored bytes from its text form (first three fields little-endian).
std::vector<std::byte> read_guid_text(const std::string& text)
{
    std::string hex;
    std::copy_if(text.begin(), text.end(), std::back_inserter(hex), [](char c) { return c != '-'; });
    std::vector<std::byte> display(16);
    for (std::size_t i = 0; i < 16; ++i) {
        display[i] = static_cast<std::byte>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    }
    std::reverse(display.begin(), display.begin() + 4);
    std::reverse(display.begin() + 4, display.begin() + 6);
    std::reverse(display.begin() + 6, display.begin() + 8);
    return display;
}

void put_text(std::byte* p, const char* text) { std::memcpy(p, text, std::strlen(text)); }

void seal(std::vector<std::byte>& bytes)
{
    std::memset(bytes.data() + 4, 0, 4);
    store_le<std::uint32_t>(bytes.data() + 4, diskshift::crc32c(bytes));
}

/// One log entry's bytes: header, descriptors, then one data sector per data descriptor.
std::vector<std::byte> entry_bytes(const VhdxLogEntry& spec, std::uint64_t sequence, std::uint64_t file_size)
{
    const std::uint64_t count = spec.descriptors.size();
    const std::uint64_t descriptor_sectors = (count + 2 + 127) / 128;
    const std::uint64_t data_count = static_cast<std::uint64_t>(std::count_if(
        spec.descriptors.begin(), spec.descriptors.end(), [](const VhdxLogDescriptor& d) { return !d.page.empty(); }));
    std::vector<std::byte> e((descriptor_sectors + data_count) * sector);
    put_text(e.data(), "loge");
    store_le<std::uint32_t>(e.data() + 8, static_cast<std::uint32_t>(e.size()));
    store_le<std::uint32_t>(e.data() + 12, 0);  // Tail: the first entry, at log offset 0
    store_le<std::uint64_t>(e.data() + 16, sequence);
    store_le<std::uint32_t>(e.data() + 24, static_cast<std::uint32_t>(count));
    std::memcpy(e.data() + 32, test_log_guid.data(), 16);
    store_le<std::uint64_t>(e.data() + 48, file_size);
    store_le<std::uint64_t>(e.data() + 56, std::max(file_size, spec.last_file_offset));
    std::uint64_t data_sector = descriptor_sectors;
    for (std::uint64_t k = 0; k < count; ++k) {
        const VhdxLogDescriptor& d = spec.descriptors[k];
        std::byte* p = e.data() + 64 + 32 * k;
        store_le<std::uint64_t>(p + 16, d.file_offset);
        store_le<std::uint64_t>(p + 24, sequence);
        if (d.page.empty()) {
            put_text(p, "zero");
            store_le<std::uint64_t>(p + 8, d.zero_length);
            continue;
        }
        put_text(p, "desc");
        std::memcpy(p + 4, d.page.data() + 4092, 4);  // TrailingBytes
        std::memcpy(p + 8, d.page.data(), 8);         // LeadingBytes
        std::byte* s = e.data() + sector * data_sector++;
        put_text(s, "data");
        store_le<std::uint32_t>(s + 4, static_cast<std::uint32_t>(sequence >> 32));
        std::memcpy(s + 8, d.page.data() + 8, 4084);
        store_le<std::uint32_t>(s + 4092, static_cast<std::uint32_t>(sequence));
    }
    seal(e);
    if (spec.bad_checksum) {
        e[4] ^= std::byte{1};
    }
    return e;
}

}  // namespace

VhdxRegions read_vhdx_regions(const std::filesystem::path& path)
{
    const std::vector<std::byte> head = read_range(path, 0, 1024 * 1024);
    VhdxRegions r;
    const std::byte* h1 = head.data() + vhdx::header_offsets[0];
    const std::byte* h2 = head.data() + vhdx::header_offsets[1];
    const std::byte* h = load_le<std::uint64_t>(h1 + 8) >= load_le<std::uint64_t>(h2 + 8) ? h1 : h2;
    r.log_length = load_le<std::uint32_t>(h + 68);
    r.log_offset = load_le<std::uint64_t>(h + 72);
    const std::byte* table = head.data() + vhdx::region_table_offsets[0];
    for (std::uint32_t i = 0; i < load_le<std::uint32_t>(table + 8); ++i) {
        const std::byte* entry = table + 16 + 32 * i;
        const std::uint64_t offset = load_le<std::uint64_t>(entry + 16);
        if (std::equal(vhdx::bat_region_guid.begin(), vhdx::bat_region_guid.end(), entry)) {
            r.bat_offset = offset;
        } else if (std::equal(vhdx::metadata_region_guid.begin(), vhdx::metadata_region_guid.end(), entry)) {
            r.metadata_offset = offset;
        }
    }
    return r;
}

void patch_file(const std::filesystem::path& path, std::uint64_t offset, std::vector<std::byte> bytes)
{
    const Fd fd = open_file(path, O_WRONLY);
    write_at(fd.get(), bytes, offset);
}

void patch_le64(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t value)
{
    std::vector<std::byte> bytes(8);
    store_le(bytes.data(), value);
    patch_file(path, offset, bytes);
}

void patch_le32(const std::filesystem::path& path, std::uint64_t offset, std::uint32_t value)
{
    std::vector<std::byte> bytes(4);
    store_le(bytes.data(), value);
    patch_file(path, offset, bytes);
}

void reseal_checksum(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t size)
{
    std::vector<std::byte> bytes = read_range(path, offset, size);
    seal(bytes);
    patch_file(path, offset, bytes);
}

void write_vhdx_log(const std::filesystem::path& path, const std::vector<VhdxLogEntry>& entries)
{
    const VhdxRegions regions = read_vhdx_regions(path);
    const std::uint64_t file_size = std::filesystem::file_size(path);
    std::vector<std::byte> log;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::vector<std::byte> e = entry_bytes(entries[i], i + 1, file_size);
        log.insert(log.end(), e.begin(), e.end());
    }
    if (log.size() > regions.log_length) {
        throw std::runtime_error("write_vhdx_log: the entries do not fit the log of " + path.string());
    }
    patch_file(path, regions.log_offset, log);
    for (const std::uint64_t header : vhdx::header_offsets) {
        patch_file(path, header + 48, {test_log_guid.begin(), test_log_guid.end()});
        reseal_checksum(path, header, vhdx::header_size);
    }
}

std::uint64_t vhdx_metadata_item_offset(const std::filesystem::path& path, const std::string& guid_text)
{
    const VhdxRegions regions = read_vhdx_regions(path);
    const std::vector<std::byte> table = read_range(path, regions.metadata_offset, 64 * 1024);
    const std::vector<std::byte> wanted = read_guid_text(guid_text);
    for (std::uint16_t i = 0; i < load_le<std::uint16_t>(table.data() + 10); ++i) {
        const std::byte* entry = table.data() + 32 + 32 * i;
        if (std::equal(wanted.begin(), wanted.end(), entry)) {
            return regions.metadata_offset + load_le<std::uint32_t>(entry + 16);
        }
    }
    throw std::runtime_error("no metadata item " + guid_text + " in " + path.string());
}

}  // namespace dstest

