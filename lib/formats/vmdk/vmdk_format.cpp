// VMDK: a descriptor (a text file, or text embedded in a hosted sparse extent) and the extents it
// lists, concatenated in line order (VMware "Virtual Disk Format 5.0"). A file is one of:
//   - a hosted sparse extent ("KDMV"): monolithicSparse or streamOptimized, one extent whose
//     embedded descriptor gives the identity (its extent line's file name is ignored: files are
//     renamed after export);
//   - a descriptor file (monolithicFlat, twoGbMaxExtent*, vmfs, ESXi deltas) naming extent files
//     in its folder;
//   - an ESXi seSparse or COWD extent by itself, without its descriptor.
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>

#include "core/fail.hpp"
#include "formats/builtin.hpp"
#include "formats/checks.hpp"
#include "formats/delta.hpp"
#include "formats/vmdk/descriptor.hpp"
#include "formats/vmdk/extent_data.hpp"
#include "formats/vmdk/flat_extent.hpp"
#include "formats/vmdk/hosted_writer.hpp"
#include "formats/vmdk/sparse_extent.hpp"

namespace diskshift::formats {
namespace {

using namespace vmdk;

/// An extent placed on the virtual disk.
struct PlacedExtent {
    std::uint64_t start = 0;
    std::shared_ptr<const ExtentData> data;
};

class VmdkImage final : public Image {
public:
    VmdkImage(ImageInfo info, std::vector<PlacedExtent> extents) : Image(std::move(info)), extents_(std::move(extents))
    {
    }

private:
    void do_read(std::span<std::byte> buf, std::uint64_t offset) const override
    {
        for (auto it = extent_at(offset); !buf.empty(); ++it) {
            const std::uint64_t within = offset - it->start;
            const std::uint64_t length = std::min<std::uint64_t>(buf.size(), it->data->size() - within);
            it->data->read(buf.first(length), within);
            buf = buf.subspan(length);
            offset += length;
        }
    }

    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override
    {
        const auto it = extent_at(offset);
        const std::uint64_t within = offset - it->start;
        const std::uint64_t end = std::min(it->data->size(), within + length);
        const ExtentList part = it->data->map(within, end - within);
        if (part.empty() || part.start_offset() != within) {
            fail(Errc::corrupt, "{}: extent at disk offset {} gave no map at its offset {}", info().filename, it->start,
                 within);
        }
        ExtentList out(offset);
        for (const Extent& e : part) {
            const std::uint64_t from = std::max(e.offset, within);
            const std::uint64_t to = std::min(e.end(), it->data->size());
            if (from < to) {
                out.append(to - from, e.kind);
            }
        }
        return out;
    }

    /// The extent holding `offset` (which lies inside the disk).
    std::vector<PlacedExtent>::const_iterator extent_at(std::uint64_t offset) const
    {
        const auto after = std::upper_bound(extents_.begin(), extents_.end(), offset,
                                            [](std::uint64_t at, const PlacedExtent& e) { return at < e.start; });
        return std::prev(after);
    }

    std::vector<PlacedExtent> extents_;
};

/// An extent line's file and place: identical lines share one opened extent, so a descriptor
/// repeating a file thousands of times opens it, and loads its tables, once.
using ExtentKey = std::tuple<std::string, ExtentType, std::uint64_t, std::uint64_t>;

/// What an open gathers before the image is made.
struct Parts {
    Descriptor descriptor;
    std::string subformat;
    std::vector<PlacedExtent> extents;
    nlohmann::ordered_json extent_details = nlohmann::ordered_json::array();
    std::optional<std::uint64_t> grain_bytes;
    std::uint64_t allocated_bytes = 0;
    std::vector<std::string> warnings;
    std::map<std::string, std::shared_ptr<const ByteSource>> files;  ///< by lexically normal name
    std::map<ExtentKey, std::shared_ptr<const ExtentData>> opened;

    Parts() = default;
    /// The parts a descriptor describes, starting with the warnings its parsing gave.
    explicit Parts(Descriptor parsed) : descriptor(std::move(parsed)), warnings(descriptor.warnings) {}

    std::uint64_t size() const { return extents.empty() ? 0 : extents.back().start + extents.back().data->size(); }

    /// Places `data` after the extents so far. An extent that an earlier line already opened
    /// shows no header facts again (`first_use` false).
    void add(std::shared_ptr<const ExtentData> data, nlohmann::ordered_json facts, bool first_use = true)
    {
        facts["size"] = data->size();
        if (first_use) {
            facts["header"] = data->details();
        }
        extent_details.push_back(std::move(facts));
        if (data->size() != 0) {
            const std::uint64_t start = size();
            extents.push_back({start, std::move(data)});
        }
    }
};

nlohmann::ordered_json extent_facts(ExtentAccess access, ExtentType type, const std::string& file)
{
    return {{"access", to_string(access)}, {"type", to_string(type)}, {"file", file}};
}

/// A monolithicSparse or streamOptimized file: one hosted sparse extent, the file itself.
Parts open_hosted_sparse(const std::shared_ptr<const ByteSource>& source)
{
    const SparseHeader header = read_sparse_header(*source);
    Parts parts(parse_descriptor(read_embedded_descriptor(*source, header), source->name() + ": embedded descriptor"));
    const ExtentAccess access =
        parts.descriptor.extents.empty() ? ExtentAccess::read_write : parts.descriptor.extents.front().access;
    parts.subformat = !parts.descriptor.create_type.empty() ? parts.descriptor.create_type
                      : header.compressed()                 ? "streamOptimized"
                                                            : "monolithicSparse";
    parts.grain_bytes = header.grain_sectors * sector_bytes;
    parts.allocated_bytes = source->allocated_bytes();
    parts.add(open_hosted_sparse_extent(source, parts.warnings), extent_facts(access, ExtentType::sparse, source->name()));
    return parts;
}

/// "COWD" at offset 0 marks a vmfsSparse extent; the other ESXi sparse header is seSparse.
bool is_cowd(std::span<const std::byte> head) noexcept
{
    return head.size() >= 4 && std::equal(head.begin(), head.begin() + 4, std::as_bytes(std::span("COWD", 4)).begin());
}

/// An ESXi seSparse or COWD extent opened without its descriptor: a disk of that one extent.
Parts open_bare_esx_sparse(const std::shared_ptr<const ByteSource>& source, std::span<const std::byte> head)
{
    Parts parts;
    const bool cowd = is_cowd(head);
    parts.subformat = cowd ? "vmfsSparse" : "seSparse";
    parts.allocated_bytes = source->allocated_bytes();
    parts.add(cowd ? open_cowd_extent(source) : open_sesparse_extent(source),
              extent_facts(ExtentAccess::read_write, cowd ? ExtentType::vmfs_sparse : ExtentType::se_sparse,
                           source->name()));
    return parts;
}

std::unique_ptr<ExtentData> open_listed_extent(const ExtentLine& line, std::shared_ptr<const ByteSource> file,
                                               Parts& parts)
{
    const std::uint64_t size = line.sectors * sector_bytes;
    switch (line.type) {
    case ExtentType::sparse: {
        // Checks the magic first: a file that is no sparse extent is named as such.
        const SparseHeader header = read_sparse_header(*file);
        parts.grain_bytes = parts.grain_bytes.value_or(header.grain_sectors * sector_bytes);
        return open_hosted_sparse_extent(std::move(file), parts.warnings);
    }
    case ExtentType::flat:
    case ExtentType::vmfs:
        return open_flat_extent(std::move(file), line.offset_sectors * sector_bytes, size);
    case ExtentType::vmfs_sparse:
        return open_cowd_extent(std::move(file));
    case ExtentType::se_sparse:
        return open_sesparse_extent(std::move(file));
    case ExtentType::zero:
        break;
    }
    return make_zero_extent(size);
}

/// Opens the file of one extent line and checks the extent's size against the line. Errors are
/// prefixed with the descriptor and the line that named the file.
void add_listed_extent(const std::string& descriptor_name, const ExtentLine& line, const OpenContext& context,
                       Parts& parts)
{
    nlohmann::ordered_json facts = extent_facts(line.access, line.type, line.file);
    if (line.type == ExtentType::flat) {
        facts["offset_sectors"] = line.offset_sectors;
    }
    if (line.type == ExtentType::zero || line.access == ExtentAccess::no_access) {
        if (line.access == ExtentAccess::no_access) {
            parts.warnings.push_back(fmt::format("{}: extent on descriptor line {} is NOACCESS; it reads as zeros",
                                                 descriptor_name, line.line_number));
        }
        parts.add(make_zero_extent(line.sectors * sector_bytes), std::move(facts));
        return;
    }
    try {
        const std::string name = std::filesystem::path(line.file).lexically_normal().string();
        std::shared_ptr<const ByteSource>& file = parts.files[name];
        if (!file) {
            file = context.open_related(line.file);
            parts.allocated_bytes += file->allocated_bytes();
        }
        std::shared_ptr<const ExtentData>& data = parts.opened[{name, line.type, line.offset_sectors, line.sectors}];
        const bool first_use = !data;
        if (first_use) {
            data = open_listed_extent(line, file, parts);
        }
        if (data->size() != line.sectors * sector_bytes) {
            // A sparse extent's own header states its capacity; like qemu, that is what the guest
            // sees (ESXi seSparse descriptors have been seen to disagree with it).
            parts.warnings.push_back(fmt::format(
                "{}: extent on descriptor line {} (\"{}\") holds {} sectors but its line says {}; using {}",
                descriptor_name, line.line_number, line.file, data->size() / sector_bytes, line.sectors,
                data->size() / sector_bytes));
        }
        parts.add(data, std::move(facts), first_use);
    } catch (const Error& e) {
        throw Error(e.code(), fmt::format("{}: extent on descriptor line {} (\"{}\"): {}", descriptor_name,
                                          line.line_number, line.file, e.what()),
                    e.sys_errno());
    }
}

/// A descriptor file and the extent files it names, resolved in its folder.
Parts open_descriptor_file(const std::shared_ptr<const ByteSource>& source, const OpenContext& context)
{
    std::string text(std::min(source->size(), max_descriptor_bytes), '\0');
    source->read_at(std::as_writable_bytes(std::span(text)), 0);
    if (!looks_like_descriptor(text)) {
        fail(Errc::corrupt, "{}: not a VMDK: no sparse extent header and no descriptor text (offset 0x0)",
             source->name());
    }
    if (source->size() > max_descriptor_bytes) {
        fail(Errc::corrupt, "{}: descriptor file of {} bytes is over the {} bytes a descriptor may have (offset 0x0)",
             source->name(), source->size(), max_descriptor_bytes);
    }
    Parts parts(parse_descriptor(text, source->name()));
    if (parts.descriptor.extents.empty()) {
        fail(Errc::corrupt, "{}: descriptor lists no extent (offset 0x0)", source->name());
    }
    parts.subformat = parts.descriptor.create_type;
    parts.allocated_bytes = source->allocated_bytes();
    for (const ExtentLine& line : parts.descriptor.extents) {
        add_listed_extent(source->name(), line, context, parts);
    }
    if (parts.extents.empty()) {
        fail(Errc::corrupt, "{}: descriptor's extents are all empty (offset 0x0)", source->name());
    }
    return parts;
}

nlohmann::ordered_json descriptor_details(const Parts& parts)
{
    const Descriptor& d = parts.descriptor;
    nlohmann::ordered_json out;
    out["createType"] = parts.subformat;
    out["CID"] = d.cid ? nlohmann::ordered_json(format_cid(*d.cid)) : nlohmann::ordered_json(nullptr);
    out["parentCID"] = format_cid(d.parent_cid);
    if (!d.parent_hint.empty()) {
        out["parentFileNameHint"] = d.parent_hint;
    }
    out["adapter_type"] = d.ddb_value("ddb.adapterType");
    out["hardware_version"] = d.ddb_value("ddb.virtualHWVersion");
    out["geometry"] = {{"cylinders", d.ddb_value("ddb.geometry.cylinders")},
                       {"heads", d.ddb_value("ddb.geometry.heads")},
                       {"sectors", d.ddb_value("ddb.geometry.sectors")}};
    out["extents"] = parts.extent_details;
    nlohmann::ordered_json ddb = nlohmann::ordered_json::object();
    for (const auto& [key, value] : d.ddb) {
        ddb[key] = value;
    }
    out["ddb"] = std::move(ddb);
    return out;
}

std::unique_ptr<Image> make_image(const ByteSource& source, Parts parts)
{
    ImageInfo info;
    info.filename = source.name();
    info.format = "vmdk";
    if (!parts.subformat.empty()) {
        info.subformat = parts.subformat;
    }
    info.virtual_size = parts.size();
    info.cluster_size = parts.grain_bytes;
    info.allocated_bytes = parts.allocated_bytes;
    if (parts.descriptor.cid) {
        info.id = format_cid(*parts.descriptor.cid);
    }
    if (parts.descriptor.parent_cid != no_parent_cid) {
        info.parent = ParentRef{parts.descriptor.parent_hint, format_cid(parts.descriptor.parent_cid)};
    }
    info.details = descriptor_details(parts);
    info.warnings = std::move(parts.warnings);
    return std::make_unique<VmdkImage>(std::move(info), std::move(parts.extents));
}

std::string_view as_text(std::span<const std::byte> bytes) noexcept
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Enough of a file's start for every extent header (a COWD header is 2 KiB).
constexpr std::uint64_t header_bytes = 4096;

class VmdkFormat final : public Format {
public:
    std::string_view name() const noexcept override { return "vmdk"; }
    std::string_view description() const noexcept override
    {
        return "VMware VMDK: monolithic, split, flat, vmfs and stream-optimized disks, and delta layers";
    }
    bool can_write() const noexcept override { return true; }

    int probe(const ProbeInput& input) const noexcept override
    {
        if (is_hosted_sparse_header(input.head)) {
            return 100;
        }
        if (is_esx_sparse_header(input.head) || looks_like_descriptor(as_text(input.head))) {
            return 90;
        }
        return 0;
    }

    std::unique_ptr<Image> open(std::shared_ptr<const ByteSource> source, const OpenContext& context) const override
    {
        std::array<std::byte, header_bytes> head_bytes{};
        const std::span<std::byte> head = std::span(head_bytes).first(std::min(source->size(), header_bytes));
        source->read_at(head, 0);
        Parts parts;
        if (is_hosted_sparse_header(head)) {
            parts = open_hosted_sparse(source);
        } else if (is_esx_sparse_header(head)) {
            parts = open_bare_esx_sparse(source, head);
        } else {
            parts = open_descriptor_file(source, context);
        }
        auto image = make_image(*source, std::move(parts));
        refuse_delta_alone(image->info(), context);
        return image;
    }

    std::unique_ptr<Writer> create(ByteSink& sink, CreateRequest request) const override
    {
        return create_writer(sink, std::move(request));
    }

    void check(std::shared_ptr<const ByteSource> source, const OpenContext& context,
               CheckReport& report) const override
    {
        check_vmdk(*this, std::move(source), context, report);
    }
};

}  // namespace

const Format& vmdk_format() noexcept
{
    static const VmdkFormat format;
    return format;
}

}  // namespace diskshift::formats
