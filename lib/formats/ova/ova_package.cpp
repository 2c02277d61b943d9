// An OVA read in place (DSP0243 "OVF package": a tar holding the descriptor, an optional
// manifest and certificate, and the files the descriptor's References name).
#include "formats/ova/ova_package.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include <diskshift/format.hpp>

#include "core/fail.hpp"
#include "io/concat_source.hpp"
#include "io/gzip_source.hpp"

namespace diskshift::formats::ova {
namespace {

/// Descriptors are a few KiB to a few hundred; manifests and certificates smaller still.
constexpr std::uint64_t max_descriptor_bytes = std::uint64_t{32} << 20;
constexpr std::uint64_t max_side_file_bytes = std::uint64_t{1} << 20;
/// What format detection looks at: as much as detect_format() gives the probes.
constexpr std::size_t head_bytes = 64 * 1024;
constexpr std::size_t tail_bytes = 4 * 1024;
/// ISO 9660 §8.1: the first volume descriptor at 32 KiB, "CD001" after its type byte.
constexpr std::uint64_t iso_identifier_offset = 0x8001;
/// The qcow2 magic "QFI\xfb" (qcow2 specification, header offset 0).
constexpr std::string_view qcow2_magic = "QFI\xfb";

/// Runs `parse` over a member's text; its errors name the package, then the member, so that a
/// message always names the file the user gave.
template <typename Parse>
auto parsed_in(const std::string& package, Parse&& parse)
{
    try {
        return parse();
    } catch (const Error& e) {
        throw Error(e.code(), fmt::format("{}: {}", package, e.what()), e.sys_errno());
    }
}

bool ends_with_ignoring_case(std::string_view text, std::string_view suffix)
{
    return text.size() >= suffix.size() &&
           std::equal(suffix.begin(), suffix.end(), text.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
}

std::string folder_of(const std::string& name)
{
    const std::size_t slash = name.rfind('/');
    return slash == std::string::npos ? std::string() : name.substr(0, slash);
}

std::string join(const std::string& folder, const std::string& name)
{
    return folder.empty() ? name : folder + "/" + name;
}

bool is_url(std::string_view href)
{
    return href.find("://") != std::string_view::npos;
}

/// DSP0243 §5.5 (chunked files): "<href>.000000000", "<href>.000000001", …
std::string chunk_name(const std::string& href, std::size_t index)
{
    return fmt::format("{}.{:09}", href, index);
}

bool bytes_match(std::span<const std::byte> bytes, std::uint64_t offset, std::string_view text)
{
    return bytes.size() >= offset + text.size() &&
           std::equal(text.begin(), text.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                      [](char c, std::byte b) { return static_cast<std::byte>(c) == b; });
}

nlohmann::ordered_json text_or_null(const std::string& text)
{
    return text.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(text);
}

template <typename T>
nlohmann::ordered_json optional_or_null(const std::optional<T>& value)
{
    return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

bool is_descriptor_name(std::string_view name) noexcept
{
    return ends_with_ignoring_case(name, ".ovf");
}

OvaPackage::OvaPackage(std::shared_ptr<const ByteSource> ova) : ova_(std::move(ova)), members_(index_tar(*ova_))
{
    std::vector<const TarMember*> descriptors;
    for (const TarMember& member : members_) {
        if (is_descriptor_name(member.name)) {
            descriptors.push_back(&member);
        }
    }
    if (descriptors.empty()) {
        fail(Errc::corrupt, "{}: the package holds no OVF descriptor (.ovf member)", name());
    }
    if (descriptors.size() > 1) {
        fail(Errc::unsupported, "{}: the package holds {} descriptors ({}, {}, …); diskshift reads packages with one",
             name(), descriptors.size(), descriptors[0]->name, descriptors[1]->name);
    }
    const TarMember& descriptor = *descriptors.front();
    descriptor_name_ = descriptor.name;
    folder_ = folder_of(descriptor.name);
    if (&descriptor != &members_.front()) {
        warnings_.push_back(fmt::format("{}: the descriptor {} is not the package's first member (DSP0243 puts it "
                                        "first; some importers insist)", name(), descriptor.name));
    }

    // <name>.mf and <name>.cert beside the descriptor (DSP0243); else the only one there is.
    const std::string base = descriptor.name.substr(0, descriptor.name.size() - 4);
    const auto side_file = [&](const std::string& extension) -> const TarMember* {
        if (const TarMember* same_base = find_member(base + extension)) {
            return same_base;
        }
        const TarMember* only = nullptr;
        for (const TarMember& member : members_) {
            if (ends_with_ignoring_case(member.name, extension)) {
                if (only != nullptr) {
                    return nullptr;
                }
                only = &member;
            }
        }
        return only;
    };
    if (const TarMember* mf = side_file(".mf")) {
        const auto text = read_small_member(*mf, max_side_file_bytes);
        manifest_ = parsed_in(name(), [&] { return parse_manifest(text, mf->name); });
        warnings_.insert(warnings_.end(), manifest_->warnings.begin(), manifest_->warnings.end());
    }
    if (const TarMember* cert = side_file(".cert")) {
        const auto text = read_small_member(*cert, max_side_file_bytes);
        certificate_ = parsed_in(name(), [&] { return parse_certificate(text, cert->name); });
    }
    // Read whole through its VerifyingSource: a wrong descriptor digest fails here.
    const auto text = read_small_member(descriptor, max_descriptor_bytes);
    descriptor_ = parsed_in(name(), [&] { return parse_ovf(text, descriptor.name); });
    warnings_.insert(warnings_.end(), descriptor_.warnings.begin(), descriptor_.warnings.end());
    check_manifest_coverage();
}

const TarMember* OvaPackage::find_member(const std::string& member_name) const noexcept
{
    const auto it = std::find_if(members_.begin(), members_.end(), [&](const TarMember& m) { return m.name == member_name; });
    return it == members_.end() ? nullptr : &*it;
}

std::string OvaPackage::relative_name(const TarMember& member) const
{
    return folder_.empty() ? member.name : member.name.substr(folder_.size() + 1);
}

std::string OvaPackage::resolve_href(const std::string& href) const
{
    return normalise_member_name(join(folder_, href)).value_or(std::string());
}

std::string OvaPackage::read_small_member(const TarMember& member, std::uint64_t limit)
{
    if (member.size > limit) {
        fail(Errc::corrupt, "{}: {} holds {} bytes, more than the {} a package's {} may have", name(), member.name,
             member.size, limit, is_descriptor_name(member.name) ? "descriptor" : "manifest or certificate");
    }
    std::string text(member.size, '\0');
    member_source(member)->read_at(std::as_writable_bytes(std::span(text)), 0);
    return text;
}

std::shared_ptr<const ByteSource> OvaPackage::member_source(const TarMember& member)
{
    if (const auto known = verifiers_.find(member.name); known != verifiers_.end()) {
        return known->second;
    }
    auto bytes = std::make_shared<SubrangeSource>(ova_, member.data_offset, member.size,
                                                  fmt::format("{}:{}", name(), member.name));
    const ManifestEntry* entry = manifest_ ? manifest_->find(relative_name(member)) : nullptr;
    const bool is_side_file = manifest_ && (member.name == manifest_->name || (certificate_ && member.name == certificate_->name));
    if (entry == nullptr || is_side_file) {
        return bytes;
    }
    auto verifier = std::make_shared<VerifyingSource>(std::move(bytes), *entry, manifest_->name);
    verifiers_.emplace(member.name, verifier);
    return verifier;
}

std::vector<const TarMember*> OvaPackage::members_of(const OvfFile& file) const
{
    const std::string path = resolve_href(file.href);
    if (path.empty() || is_url(file.href)) {
        return {};
    }
    std::vector<const TarMember*> found;
    if (file.chunk_size) {
        while (const TarMember* chunk = find_member(chunk_name(path, found.size()))) {
            found.push_back(chunk);
        }
    }
    if (found.empty()) {
        // vCenter writes chunkSize even on files it did not split (sample "nostalgia-chunkdisk").
        if (const TarMember* whole = find_member(path)) {
            found.push_back(whole);
        }
    }
    return found;
}

void OvaPackage::check_manifest_coverage()
{
    if (!manifest_) {
        warnings_.push_back(fmt::format("{}: no manifest (.mf): the package's files are not verified", name()));
    }
    std::set<std::string> referenced = {descriptor_name_};
    for (const OvfFile& file : descriptor_.files) {
        const std::vector<const TarMember*> parts = members_of(file);
        std::uint64_t stored = 0;
        for (const TarMember* part : parts) {
            referenced.insert(part->name);
            stored += part->size;
        }
        if (parts.empty()) {
            warnings_.push_back(fmt::format("{}: File {} (href {}) is not in the package", name(), file.id, file.href));
        } else if (file.size && *file.size != stored) {
            warnings_.push_back(fmt::format("{}: File {} says ovf:size {} but the package stores {} bytes for {}",
                                            name(), file.id, *file.size, stored, file.href));
        }
    }
    if (!manifest_) {
        return;
    }
    for (const std::string& member : referenced) {
        const std::string listed = relative_name(*find_member(member));
        if (manifest_->find(listed) == nullptr &&
            std::find(manifest_->damaged.begin(), manifest_->damaged.end(), listed) != manifest_->damaged.end()) {
            fail(Errc::corrupt, "{}: {} lists {} with a damaged digest (not hex, or not the algorithm's length): the "
                 "package is damaged or was altered", name(), manifest_->name, member);
        }
        if (manifest_->find(listed) == nullptr) {
            warnings_.push_back(fmt::format("{}: {} does not list {}: it is not verified", name(), manifest_->name, member));
        }
    }
    for (const ManifestEntry& entry : manifest_->entries) {
        if (find_member(join(folder_, entry.file)) == nullptr) {
            warnings_.push_back(fmt::format("{}: {} lists {}, which the package does not hold", name(), manifest_->name,
                                            entry.file));
        }
    }
}

const OvfDisk& OvaPackage::choose_disk(const std::string& choice) const
{
    const std::vector<OvfDisk>& disks = descriptor_.disks;
    if (disks.empty()) {
        fail(Errc::unsupported, "{}: the descriptor lists no disk", name());
    }
    if (choice.empty()) {
        // The default is the first hard disk: an ISO listed in DiskSection (VirtualBox) is a CD.
        const auto first_hard = std::find_if(disks.begin(), disks.end(), [](const OvfDisk& d) { return !d.optical; });
        return first_hard != disks.end() ? *first_hard : disks.front();
    }
    for (const OvfDisk& disk : disks) {
        if (disk.id == choice) {
            return disk;
        }
    }
    std::size_t number = 0;
    const auto [end, ec] = std::from_chars(choice.data(), choice.data() + choice.size(), number);
    if (ec == std::errc() && end == choice.data() + choice.size() && number >= 1 && number <= disks.size()) {
        return disks[number - 1];
    }
    std::string ids;
    for (std::size_t i = 0; i < disks.size(); ++i) {
        ids += fmt::format("{}{} {}", i == 0 ? "" : ", ", i + 1, disks[i].id);
    }
    fail(Errc::invalid_argument, "{}: no disk '{}' in the package; its disks are {}", name(), choice, ids);
}

const OvfFile* OvaPackage::file_of(const OvfDisk& disk) const noexcept
{
    if (disk.file_ref.empty()) {
        return nullptr;
    }
    // oVirt writes the File's href ("<image>/<volume>") as the Disk's fileRef, not its id.
    const auto by_id = std::find_if(descriptor_.files.begin(), descriptor_.files.end(),
                                    [&](const OvfFile& f) { return f.id == disk.file_ref; });
    const auto it = by_id != descriptor_.files.end()
                        ? by_id
                        : std::find_if(descriptor_.files.begin(), descriptor_.files.end(),
                                       [&](const OvfFile& f) { return f.href == disk.file_ref; });
    return it == descriptor_.files.end() ? nullptr : &*it;
}

std::shared_ptr<const ByteSource> OvaPackage::disk_source(const OvfDisk& disk)
{
    const OvfFile* file = file_of(disk);
    if (file == nullptr) {
        fail(Errc::invalid_argument, "{}: disk {} is blank (no file): it has no bytes to read", name(), disk.id);
    }
    if (is_url(file->href)) {
        fail(Errc::unsupported, "{}: disk {} is at {}; diskshift reads only files inside the package", name(), disk.id,
             file->href);
    }
    if (resolve_href(file->href).empty()) {
        fail(Errc::corrupt, "{}: disk {}: href '{}' is empty, absolute or leaves the package: refused", name(),
             disk.id, file->href);
    }
    const std::vector<const TarMember*> parts = members_of(*file);
    if (parts.empty()) {
        fail(Errc::corrupt, "{}: disk {}: the package holds no member {}{}", name(), disk.id, file->href,
             file->chunk_size ? " (nor its chunks .000000000, …)" : "");
    }
    std::shared_ptr<const ByteSource> stored;
    if (parts.size() == 1) {
        stored = member_source(*parts.front());
    } else {
        std::vector<std::shared_ptr<const ByteSource>> chunks;
        for (const TarMember* part : parts) {
            chunks.push_back(member_source(*part));
        }
        stored = std::make_shared<ConcatSource>(std::move(chunks), fmt::format("{}:{}", name(), file->href));
    }
    if (file->compression.empty() || file->compression == "identity") {
        return stored;
    }
    if (file->compression == "gzip") {
        return std::make_shared<GzipSource>(stored, fmt::format("{}:{} (gzip)", name(), file->href));
    }
    fail(Errc::unsupported, "{}: disk {}: ovf:compression '{}' is not supported (gzip is)", name(), disk.id,
         file->compression);
}

std::shared_ptr<const ByteSource> OvaPackage::related_member(const std::string& folder, const std::string& member_name)
{
    const auto path = normalise_member_name(join(folder, member_name));
    const TarMember* member = path ? find_member(*path) : nullptr;
    if (member == nullptr) {
        fail(Errc::corrupt, "{}: the package holds no member '{}' (named from {})", name(), member_name,
             folder.empty() ? "its top folder" : folder);
    }
    return member_source(*member);
}

const OvfDisk* OvaPackage::parent_of(const OvfDisk& disk) const
{
    const auto it = std::find_if(descriptor_.disks.begin(), descriptor_.disks.end(),
                                 [&](const OvfDisk& d) { return d.id == disk.parent_ref; });
    if (it == descriptor_.disks.end()) {
        fail(Errc::corrupt, "{}: disk {} has ovf:parentRef '{}', which names no disk", name(), disk.id,
             disk.parent_ref);
    }
    return &*it;
}

void OvaPackage::finish_verification(const OvfDisk& disk)
{
    const OvfDisk* layer = &disk;
    // A chain has at most as many layers as there are disks (open refuses loops).
    for (std::size_t depth = 0; layer != nullptr && depth < descriptor_.disks.size(); ++depth) {
        if (const OvfFile* file = file_of(*layer)) {
            for (const TarMember* part : members_of(*file)) {
                if (const auto verifier = verifiers_.find(part->name); verifier != verifiers_.end()) {
                    verifier->second->finish();
                }
            }
        }
        layer = layer->parent_ref.empty() ? nullptr : parent_of(*layer);
    }
}

const Format& probed_format_or_raw(const ByteSource& source)
{
    try {
        return detect_format(source);
    } catch (const Error& e) {
        if (e.code() != Errc::unsupported) {
            throw;
        }
    }
    return find_format("raw");
}

std::string OvaPackage::detected_format(const OvfDisk& disk)
{
    const OvfFile* file = file_of(disk);
    if (file == nullptr) {
        return "blank";
    }
    if (members_of(*file).empty() || is_url(file->href)) {
        return "missing";
    }
    std::shared_ptr<const ByteSource> source;
    try {
        source = disk_source(disk);
    } catch (const Error& e) {
        if (e.code() != Errc::unsupported) {
            throw;
        }
        return "unsupported";  // a compression diskshift does not read: opening the disk says why
    }
    std::vector<std::byte> head(head_bytes);
    std::vector<std::byte> tail;
    if (const auto* gzip = dynamic_cast<const GzipSource*>(source.get())) {
        head.resize(gzip->read_head(head));  // the tail would cost inflating the whole disk
    } else {
        head.resize(std::min<std::uint64_t>(head.size(), source->size()));
        source->read_at(head, 0);
        tail.resize(std::min<std::uint64_t>(tail_bytes, source->size()));
        source->read_at(tail, source->size() - tail.size());
    }
    const ProbeInput input{head, tail, head.size()};
    int best = 0;
    std::string format = "raw";
    for (const Format* candidate : builtin_formats()) {
        if (const int score = candidate->probe(input); score > best) {
            best = score;
            format = std::string(candidate->name());
        }
    }
    if (best == 0 && bytes_match(head, 0, qcow2_magic)) {
        return "qcow2";
    }
    if (best == 0 && bytes_match(head, iso_identifier_offset, "CD001")) {
        return "iso";
    }
    return format;
}

nlohmann::ordered_json OvaPackage::describe()
{
    const OvfMachine& vm = descriptor_.machine;
    nlohmann::ordered_json out;
    std::set<std::string> algorithms;
    if (manifest_) {
        for (const ManifestEntry& entry : manifest_->entries) {
            algorithms.insert(entry.algorithm);
        }
    }
    out["package"] = {
        {"descriptor", descriptor_name_},
        {"ovf_version", descriptor_.version},
        {"manifest", manifest_ ? nlohmann::ordered_json(manifest_->name) : nlohmann::ordered_json(nullptr)},
        {"manifest_algorithms", algorithms},
        {"certificate", certificate_ ? nlohmann::ordered_json{{"file", certificate_->name},
                                                              {"algorithm", text_or_null(certificate_->algorithm)},
                                                              {"x509", certificate_->has_x509}}
                                     : nlohmann::ordered_json(nullptr)},
    };
    nlohmann::ordered_json nics = nlohmann::ordered_json::array();
    for (const OvfNic& nic : vm.nics) {
        nics.push_back({{"name", nic.name}, {"network", nic.network}, {"model", nic.model}});
    }
    out["vm"] = {
        {"name", vm.name},         {"os_id", text_or_null(vm.os_id)}, {"os_type", text_or_null(vm.os_type)},
        {"cpus", vm.cpus},         {"memory_bytes", vm.memory_bytes}, {"firmware", text_or_null(vm.firmware)},
        {"system_type", text_or_null(vm.system_type)}, {"nics", nics},
    };
    nlohmann::ordered_json disks = nlohmann::ordered_json::array();
    for (const OvfDisk& disk : descriptor_.disks) {
        const OvfFile* file = file_of(disk);
        const auto attached = std::find_if(vm.attachments.begin(), vm.attachments.end(),
                                           [&](const OvfAttachment& a) { return !a.disk_id.empty() && a.disk_id == disk.id; });
        const bool has_attachment = attached != vm.attachments.end();
        disks.push_back({
            {"id", disk.id},
            {"href", file != nullptr ? nlohmann::ordered_json(file->href) : nlohmann::ordered_json(nullptr)},
            {"capacity", disk.capacity},
            {"format", detected_format(disk)},
            {"format_uri", text_or_null(disk.format)},
            {"populated_size", optional_or_null(disk.populated_size)},
            {"compression", file != nullptr ? text_or_null(file->compression) : nlohmann::ordered_json(nullptr)},
            {"chunk_size", file != nullptr ? optional_or_null(file->chunk_size) : nlohmann::ordered_json(nullptr)},
            {"parent", text_or_null(disk.parent_ref)},
            {"controller", has_attachment ? text_or_null(attached->controller) : nlohmann::ordered_json(nullptr)},
            {"controller_model", has_attachment ? text_or_null(attached->controller_subtype) : nlohmann::ordered_json(nullptr)},
            {"bus", has_attachment ? nlohmann::ordered_json(attached->controller_index) : nlohmann::ordered_json(nullptr)},
            {"position", has_attachment ? nlohmann::ordered_json(attached->position) : nlohmann::ordered_json(nullptr)},
        });
    }
    out["disks"] = disks;
    return out;
}

}  // namespace diskshift::formats::ova
