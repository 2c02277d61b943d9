#include "formats/vmdk/hosted_writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <limits>
#include <vector>

#include <diskshift/image.hpp>

#include "core/endian.hpp"
#include "core/fail.hpp"
#include "formats/vmdk/descriptor.hpp"
#include "formats/vmdk/sparse_layout.hpp"

namespace diskshift::formats::vmdk {
namespace {

/// Sector offsets in grain tables are 32 bits wide, and VMware's hosted sparse disks stop below
/// 2^32 sectors (2 TiB); open-vmdk refuses larger capacities.
constexpr std::uint64_t max_capacity_sectors = (std::uint64_t{1} << 32) - 1;

/// The libdeflate level of stream grains unless `compression_level` says otherwise: the lowest
/// whose output is no larger than qemu-img's (zlib level 6) on a disk of system libraries.
constexpr int default_compression_level = 5;
constexpr int min_compression_level = 1;
constexpr int max_compression_level = 12;

/// An adapter type VMware writes in ddb.adapterType (technote: ide, buslogic, lsilogic,
/// legacyESX; vSphere also writes lsisas1068 and pvscsi) and the geometry it implies: 16 heads
/// for IDE (ATA limits cylinders to 16383), 255 for SCSI, 63 sectors per track.
struct Adapter {
    std::string_view name;
    std::uint32_t heads;
    std::uint64_t max_cylinders;
};
constexpr std::uint32_t sectors_per_track = 63;
constexpr std::array<Adapter, 6> adapters = {{
    {"ide", 16, 16383},
    {"buslogic", 255, 65535},
    {"lsilogic", 255, 65535},
    {"legacyESX", 255, 65535},
    {"lsisas1068", 255, 65535},
    {"pvscsi", 255, 65535},
}};
constexpr std::string_view default_adapter = "lsilogic";

/// qemu-img and open-vmdk write "4"; open-vmdk notes only ESX 3.x and older read it.
constexpr std::string_view default_hardware_version = "4";
constexpr unsigned max_hardware_version = 255;
/// 2147483647 means "tools provided by the host" (open-vmdk's and qemu-img's default).
constexpr std::string_view default_tools_version = "2147483647";

const Adapter* find_adapter(std::string_view name) noexcept
{
    const auto it = std::ranges::find_if(adapters, [&](const Adapter& a) { return equal_ignoring_case(a.name, name); });
    return it == adapters.end() ? nullptr : &*it;
}

std::string adapter_names()
{
    std::string names;
    for (const Adapter& a : adapters) {
        names += names.empty() ? "" : ", ";
        names += a.name;
    }
    return names;
}

/// The source's adapter type when it is a VMDK that names a known one.
const Adapter* source_adapter(const ImageInfo* source) noexcept
{
    if (source == nullptr || source->format != "vmdk" || !source->details.is_object()) {
        return nullptr;
    }
    const auto it = source->details.find("adapter_type");
    return it != source->details.end() && it->is_string() ? find_adapter(it->get_ref<const std::string&>()) : nullptr;
}

const Adapter& chosen_adapter(std::optional<std::string> option, const ImageInfo* source)
{
    if (!option) {
        const Adapter* from_source = source_adapter(source);
        return from_source != nullptr ? *from_source : *find_adapter(default_adapter);
    }
    const Adapter* named = find_adapter(*option);
    if (named == nullptr) {
        fail(Errc::invalid_argument, "vmdk: adapter_type={} is not one of {}", *option, adapter_names());
    }
    return *named;
}

/// A whole number in [min, max] given for option `key`, kept as the text it was given in.
std::string whole_number(std::optional<std::string> value, std::string_view key, std::uint64_t min, std::uint64_t max,
                         std::string_view fallback)
{
    if (!value) {
        return std::string(fallback);
    }
    std::uint64_t number = 0;
    const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), number);
    if (value->empty() || ec != std::errc() || end != value->data() + value->size() || number < min || number > max) {
        fail(Errc::invalid_argument, "vmdk: {}={} is not a whole number from {} to {}", key, *value, min, max);
    }
    return std::to_string(number);
}

NewDescriptor describe(CreateRequest& request, const ByteSink& sink, std::string_view create_type,
                       std::uint64_t capacity_sectors)
{
    const Adapter& adapter = chosen_adapter(request.options.take("adapter_type"), request.source);
    NewDescriptor d;
    d.id = fresh_identity();
    d.create_type = create_type;
    d.sectors = capacity_sectors;
    d.file = std::filesystem::path(sink.name()).filename().string();
    d.adapter_type = adapter.name;
    d.heads = adapter.heads;
    d.sectors_per_track = sectors_per_track;
    const std::uint64_t per_cylinder = std::uint64_t{adapter.heads} * sectors_per_track;
    d.cylinders = std::clamp<std::uint64_t>(units_for(capacity_sectors, per_cylinder), 1,
                                            adapter.max_cylinders);
    d.hardware_version = whole_number(request.options.take("hwversion"), "hwversion", 1, max_hardware_version,
                                      default_hardware_version);
    d.tools_version = whole_number(request.options.take("toolsversion"), "toolsversion", 0,
                                   std::numeric_limits<std::int32_t>::max(), default_tools_version);
    return d;
}

std::uint64_t capacity_of(const CreateRequest& request, const ByteSink& sink)
{
    if (request.virtual_size % sector_bytes != 0) {
        fail(Errc::unsupported, "{}: a VMDK's size is a whole number of 512-byte sectors, and {} bytes is not; "
             "extend the source to a multiple of 512 first", sink.name(), request.virtual_size);
    }
    const std::uint64_t sectors = request.virtual_size / sector_bytes;
    if (sectors == 0) {
        fail(Errc::unsupported, "{}: an empty disk cannot be written as a VMDK: qemu-img refuses to open a "
             "sparse VMDK of 0 sectors, even one it made itself", sink.name());
    }
    if (sectors > max_capacity_sectors) {
        fail(Errc::unsupported, "{}: {} bytes is over the {} bytes (2 TiB less a sector) a VMware hosted sparse "
             "VMDK can hold", sink.name(), request.virtual_size, max_capacity_sectors * sector_bytes);
    }
    return sectors;
}

int compression_level(CreateRequest& request, bool stream)
{
    const std::optional<std::string> level = request.options.take("compression_level");
    if (level && !stream) {
        fail(Errc::invalid_argument, "vmdk: compression_level applies to subformat=streamOptimized only");
    }
    return std::stoi(whole_number(level, "compression_level", min_compression_level, max_compression_level,
                                  std::to_string(default_compression_level)));
}

}  // namespace

SparseHeader new_header(const NewFile& file)
{
    SparseHeader h;
    h.flags = flag_newline_test;
    h.capacity = file.capacity_sectors;
    h.grain_sectors = new_grain_sectors;
    h.descriptor_offset = new_descriptor_offset;
    h.descriptor_sectors = units_for(file.descriptor.size(), sector_bytes);
    h.gtes_per_gt = new_gtes_per_gt;
    return h;
}

void write_header_and_descriptor(ByteSink& sink, const SparseHeader& header, const std::string& descriptor)
{
    std::vector<std::byte> bytes((new_descriptor_offset + header.descriptor_sectors) * sector_bytes);
    store_sparse_header(header, std::span(bytes).first<sector_bytes>());
    std::ranges::copy(std::as_bytes(std::span(descriptor)), bytes.begin() + new_descriptor_offset * sector_bytes);
    sink.write_at(bytes, 0);
}

std::uint32_t table_entry(const ByteSink& sink, std::uint64_t sector)
{
    if (sector > std::numeric_limits<std::uint32_t>::max()) {
        fail(Errc::unsupported, "{}: the file would grow past 2^32 sectors (2 TiB), the most a sparse extent's "
             "32-bit grain table entries address", sink.name());
    }
    return static_cast<std::uint32_t>(sector);
}

void store_table_entries(std::byte* out, std::span<const std::uint32_t> entries) noexcept
{
    for (std::size_t i = 0; i < entries.size(); ++i) {
        store_le<std::uint32_t>(out + 4 * i, entries[i]);
    }
}

std::unique_ptr<Writer> create_writer(ByteSink& sink, CreateRequest request)
{
    const std::string subformat = request.options.take("subformat").value_or("streamOptimized");
    const bool stream = equal_ignoring_case(subformat, "streamOptimized");
    if (!stream && !equal_ignoring_case(subformat, "monolithicSparse")) {
        fail(Errc::invalid_argument, "vmdk: subformat={} is not one of streamOptimized, monolithicSparse", subformat);
    }
    NewFile file;
    file.capacity_sectors = capacity_of(request, sink);
    file.compression_level = compression_level(request, stream);
    file.descriptor = format_descriptor(
        describe(request, sink, stream ? "streamOptimized" : "monolithicSparse", file.capacity_sectors));
    request.options.require_all_taken("vmdk");
    return stream ? make_stream_writer(sink, std::move(file)) : make_sparse_writer(sink, std::move(file));
}

}  // namespace diskshift::formats::vmdk
