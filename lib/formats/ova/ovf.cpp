// Reading OVF descriptors (DMTF DSP0243 / ISO 17203; OVF 0.9 drafts, 1.x and 2.0) as producers
// write them: see ova-ovf.md §1 (elements), §2 (units) and §7 (producers' quirks).
#include "formats/ova/ovf.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/fail.hpp"

namespace diskshift::formats::ova {
namespace {

/// Real descriptors are well under 1 MiB (VMware appliances with hundreds of properties and long
/// EULAs stay below that); anything bigger is refused before libxml2 sees it. libxml2's tree takes
/// about 20 times the text: a crafted 4 MiB descriptor costs under 100 MiB.
constexpr std::size_t max_descriptor_bytes = 4 << 20;

// ---------------------------------------------------------------------------------------------
// Text helpers

std::string_view trim(std::string_view text)
{
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

std::optional<std::uint64_t> parse_u64(std::string_view text)
{
    text = trim(text);
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<int> parse_int(std::string_view text)
{
    const auto value = parse_u64(text);
    if (!value || *value > 1'000'000) return std::nullopt;
    return static_cast<int>(*value);
}

std::optional<std::uint64_t> multiply(std::uint64_t a, std::uint64_t b)
{
    std::uint64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
    return product;
}

/// One factor of a DSP0004 programmatic unit: "1024", "2^30", "10^6".
std::optional<std::uint64_t> unit_factor(std::string_view factor)
{
    const auto caret = factor.find('^');
    if (caret == std::string_view::npos) return parse_u64(factor);
    const auto base = parse_u64(factor.substr(0, caret));
    const auto exponent = parse_u64(factor.substr(caret + 1));
    if (!base || !exponent || *exponent > 64) return std::nullopt;
    std::optional<std::uint64_t> value = 1;
    for (std::uint64_t i = 0; i < *exponent && value; ++i) value = multiply(*value, *base);
    return value;
}

/// Bytes per unit of `units` (capacityAllocationUnits, or a memory AllocationUnits): the DSP0004
/// programmatic form "byte * 2^30" and the names producers write instead (ova-ovf.md §2: KB, MB,
/// GB, KiloBytes, MegaBytes, GigaBytes; binary multiples, as VirtualBox and CloudStack read them).
std::optional<std::uint64_t> unit_multiplier(std::string_view units)
{
    std::string text;
    for (const char c : lower(units))
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') text += c;
    static const std::map<std::string, std::uint64_t, std::less<>> names = {
        {"byte", 1},          {"bytes", 1},         {"b", 1},
        {"kb", 1ULL << 10},   {"kib", 1ULL << 10},  {"kilobyte", 1ULL << 10}, {"kilobytes", 1ULL << 10},
        {"mb", 1ULL << 20},   {"mib", 1ULL << 20},  {"megabyte", 1ULL << 20}, {"megabytes", 1ULL << 20},
        {"gb", 1ULL << 30},   {"gib", 1ULL << 30},  {"gigabyte", 1ULL << 30}, {"gigabytes", 1ULL << 30},
        {"tb", 1ULL << 40},   {"tib", 1ULL << 40},  {"terabyte", 1ULL << 40}, {"terabytes", 1ULL << 40},
    };
    if (const auto found = names.find(text); found != names.end()) return found->second;
    std::string_view rest = text;
    if (rest.substr(0, 5) == "bytes") rest.remove_prefix(5);
    else if (rest.substr(0, 4) == "byte") rest.remove_prefix(4);
    else return std::nullopt;
    std::optional<std::uint64_t> value = 1;
    while (!rest.empty() && value) {
        if (rest.front() != '*') return std::nullopt;
        rest.remove_prefix(1);
        const auto next = rest.find('*');
        const auto factor = unit_factor(rest.substr(0, next));
        value = factor ? multiply(*value, *factor) : std::nullopt;
        rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next);
    }
    return value;
}

// ---------------------------------------------------------------------------------------------
// libxml2 access by local name and namespace family, never by prefix

/// The namespaces an OVF uses, whatever their spelling (trailing slash, .xsd suffix, version).
enum class Ns { none, ovf, rasd, vssd, vmw, vbox, xsi, other };

std::string_view to_view(const xmlChar* text)
{
    return text ? std::string_view(reinterpret_cast<const char*>(text)) : std::string_view{};
}

Ns family_of(const xmlNs* ns)
{
    if (!ns) return Ns::none;
    const std::string_view uri = to_view(ns->href);
    // ova-ovf.md §1.1: envelope/1, envelope/1/ (oVirt), envelope/2, and the 0.9 draft's URI.
    if (uri.starts_with("http://schemas.dmtf.org/ovf/envelope/") ||
        uri.starts_with("http://www.vmware.com/schema/ovf/1/envelope"))
        return Ns::ovf;
    // The RASD family: rasd (Item), sasd (StorageItem) and epasd (EthernetPortItem) carry the same fields.
    if (contains(uri, "CIM_ResourceAllocationSettingData") || contains(uri, "CIM_StorageAllocationSettingData") ||
        contains(uri, "CIM_EthernetPortAllocationSettingData"))
        return Ns::rasd;
    if (contains(uri, "CIM_VirtualSystemSettingData")) return Ns::vssd;
    if (uri.starts_with("http://www.vmware.com/schema/ovf")) return Ns::vmw;
    if (uri.starts_with("http://www.virtualbox.org/ovf/machine")) return Ns::vbox;
    if (uri == "http://www.w3.org/2001/XMLSchema-instance") return Ns::xsi;
    return Ns::other;
}

/// The local part of a name. With an undeclared prefix libxml2 keeps "prefix:local" as the name
/// and no namespace (hand-written descriptors do this), so the prefix is cut here too.
std::string_view local_part(std::string_view name)
{
    const auto colon = name.rfind(':');
    return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string_view local_name(const xmlNode* node) { return local_part(to_view(node->name)); }

/// An element of the OVF envelope itself: its namespace, or none for careless producers.
bool is_ovf(const xmlNode* node)
{
    const Ns ns = family_of(node->ns);
    return ns == Ns::ovf || ns == Ns::none;
}

std::vector<const xmlNode*> child_elements(const xmlNode* parent)
{
    std::vector<const xmlNode*> out;
    for (const xmlNode* child = parent->children; child; child = child->next)
        if (child->type == XML_ELEMENT_NODE) out.push_back(child);
    return out;
}

/// The text directly inside a node (text and CDATA children), trimmed. Entity references are
/// never expanded: an entity declared in a DOCTYPE contributes nothing.
std::string text_of(const xmlNode* node)
{
    std::string text;
    for (const xmlNode* child = node->children; child; child = child->next)
        if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) text += to_view(child->content);
    return std::string(trim(text));
}

/// An attribute's value: its text children only (entity references are not expanded).
std::string value_of(const xmlAttr* attr)
{
    std::string value;
    for (const xmlNode* child = attr->children; child; child = child->next)
        if (child->type == XML_TEXT_NODE) value += to_view(child->content);
    return value;
}

/// An attribute by local name: the OVF namespace (or none) first, then any namespace, because
/// producers spell vmw:key as ovf:key and put ovf attributes on vendor elements.
std::optional<std::string> attribute(const xmlNode* node, std::string_view name)
{
    const xmlAttr* fallback = nullptr;
    for (const xmlAttr* attr = node->properties; attr; attr = attr->next) {
        if (local_part(to_view(attr->name)) != name) continue;
        const Ns ns = family_of(attr->ns);
        if (ns == Ns::ovf || ns == Ns::none) {
            fallback = attr;
            break;
        }
        if (!fallback) fallback = attr;
    }
    if (!fallback) return std::nullopt;
    return value_of(fallback);
}

std::string attribute_or_empty(const xmlNode* node, std::string_view name)
{
    return std::string(trim(attribute(node, name).value_or("")));
}

/// What an envelope element is: its local name, or for OVF 0.9 `<Section xsi:type="ovf:DiskSection_Type">`
/// and `<Content xsi:type="ovf:VirtualSystem_Type">` the type's local part without "_Type".
std::string kind_of(const xmlNode* node)
{
    const std::string_view name = local_name(node);
    if (name == "Section" || name == "Content") {
        for (const xmlAttr* attr = node->properties; attr; attr = attr->next) {
            // xsi:type, declared or not (hand-written descriptors forget xmlns:xsi).
            const bool is_xsi = family_of(attr->ns) == Ns::xsi || (!attr->ns && to_view(attr->name) == "xsi:type");
            if (local_part(to_view(attr->name)) != "type" || !is_xsi) continue;
            const std::string value = value_of(attr);
            std::string_view type = trim(local_part(value));
            if (type.ends_with("_Type")) type.remove_suffix(5);
            return std::string(type);
        }
    }
    return std::string(name);
}

const xmlNode* first_child(const xmlNode* parent, std::string_view name)
{
    for (const xmlNode* child : child_elements(parent))
        if (local_name(child) == name) return child;
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// The parser

/// "2.0" for the envelope/2 namespace, "0.9" for the draft's namespace or ovf:version="0.9"
/// (oVirt writes it with the envelope/1/ namespace), "1.0" otherwise.
std::string envelope_version(const xmlNode* root)
{
    const std::string_view uri = root->ns ? to_view(root->ns->href) : std::string_view{};
    if (contains(uri, "envelope/2")) return "2.0";
    if (contains(uri, "vmware.com") || attribute_or_empty(root, "version").starts_with("0.")) return "0.9";
    return "1.0";
}

/// One RASD item (Item, StorageItem or EthernetPortItem): the fields importers use (ova-ovf.md §1.6).
struct RasdItem {
    std::string instance_id, resource_type, subtype, parent, address, address_on_parent, host_resource;
    std::string connection, element_name, caption, allocation_units, virtual_quantity;
    std::string sockets, cores_per_socket;  // oVirt: rasd:num_of_sockets, rasd:cpu_per_socket
};

struct Controller {
    std::string kind, subtype;
    int index = 0;
};

// CIM_ResourceAllocationSettingData.ResourceType (ova-ovf.md §1.6).
constexpr int rt_other = 1, rt_processor = 3, rt_memory = 4, rt_ide = 5, rt_scsi = 6, rt_ethernet = 10;
constexpr int rt_cd = 15, rt_dvd = 16, rt_disk = 17, rt_storage = 20;

/// The bus a controller item stands for, "" when it is not a disk controller.
std::string controller_kind(int resource_type, std::string_view subtype)
{
    if (resource_type == rt_ide) return "ide";
    if (resource_type == rt_scsi) return "scsi";
    if (resource_type != rt_storage && resource_type != rt_other) return "";
    // "Other storage device": AHCI / vmware.sata.ahci, NVMe / vmware.nvme.controller, VirtioSCSI.
    const std::string sub = lower(subtype);
    if (contains(sub, "nvme")) return "nvme";
    if (contains(sub, "ahci") || contains(sub, "sata")) return "sata";
    if (contains(sub, "virtio") && contains(sub, "scsi")) return "scsi";
    return "";
}

/// A HostResource: "ovf:/disk/ID", "/disk/ID", "ovf://disk/ID", "ovf:/file/ID" (ova-ovf.md §1.6).
struct HostResource {
    enum class Kind { none, disk, file, other } kind = Kind::none;
    std::string id;
};

HostResource parse_host_resource(std::string_view text)
{
    text = trim(text);
    if (text.empty()) return {};
    std::string_view rest = text;
    if (rest.starts_with("ovf:")) rest.remove_prefix(4);
    while (rest.starts_with("/")) rest.remove_prefix(1);
    if (rest.starts_with("disk/")) return {HostResource::Kind::disk, std::string(rest.substr(5))};
    if (rest.starts_with("file/")) return {HostResource::Kind::file, std::string(rest.substr(5))};
    return {HostResource::Kind::other, std::string(text)};
}

bool is_optical_format(std::string_view format_uri)
{
    // ISO 9660 (VirtualBox) and UDF (XenServer) images (ova-ovf.md §1.5).
    return contains(format_uri, "Ecma-119") || contains(format_uri, "udf260");
}

class Parser {
public:
    explicit Parser(std::string_view name) : name_(name) {}

    OvfDescriptor parse(const xmlNode* root);

    /// A warning about the descriptor, prefixed with its name.
    template <typename... Args>
    void warning(fmt::format_string<Args...> format, Args&&... args)
    {
        out_.warnings.push_back(fmt::format("{}: {}", name_, fmt::format(format, std::forward<Args>(args)...)));
    }

private:
    template <typename... Args>
    [[noreturn]] void corrupt(fmt::format_string<Args...> format, Args&&... args)
    {
        fail(Errc::corrupt, "{}: {}", name_, fmt::format(format, std::forward<Args>(args)...));
    }

    void find_system(const xmlNode* parent, const xmlNode*& system);
    void read_files(const xmlNode* references);
    void read_disks(const xmlNode* section);
    std::uint64_t disk_capacity(const xmlNode* disk, const std::string& disk_id);
    void read_properties(const xmlNode* product);
    void read_system(const xmlNode* system);
    void read_os(const xmlNode* section);
    void read_hardware(const xmlNode* section);
    void read_vbox_machine(const xmlNode* machine);
    RasdItem read_item(const xmlNode* item);
    void read_processor(const RasdItem& item);
    void read_memory(const RasdItem& item);
    void attach(const RasdItem& item, bool is_cd);
    std::string disk_for_item(const RasdItem& item, const HostResource& resource);
    void resolve_file_refs();

    // Lookups by id go through maps: a 4 MiB descriptor can hold 20 000 disks and items.
    using Index = std::map<std::string, std::size_t, std::less<>>;

    OvfDisk* find_disk(std::string_view id)
    {
        const auto found = disk_by_id_.find(id);
        return found == disk_by_id_.end() ? nullptr : &out_.disks[found->second];
    }
    bool has_file(std::string_view id) const { return file_by_id_.find(id) != file_by_id_.end(); }

    std::string name_;
    OvfDescriptor out_;
    Index file_by_id_, file_by_href_, disk_by_id_;
    Index disk_by_file_;  // the first disk backed by each File id, once fileRefs are resolved
    Index property_by_key_;
    std::map<std::string, Controller> controllers_;       // by InstanceID
    std::map<std::string, std::string> disk_interfaces_;  // oVirt ovf:disk-interface, by diskId
};

OvfDescriptor Parser::parse(const xmlNode* root)
{
    if (local_name(root) != "Envelope" || !is_ovf(root))
        corrupt("the root element is <{}>, not an OVF Envelope in the DMTF OVF namespace", to_view(root->name));
    if (!root->ns) warning("the Envelope has no namespace; read as OVF 1.0");
    out_.version = envelope_version(root);

    std::vector<const xmlNode*> disk_sections;
    const xmlNode* system = nullptr;
    for (const xmlNode* child : child_elements(root)) {
        if (!is_ovf(child)) continue;
        const std::string kind = kind_of(child);
        if (kind == "References") read_files(child);
        else if (kind == "DiskSection") disk_sections.push_back(child);
    }
    find_system(root, system);
    // Properties first: a capacity may be "${property}" (DSP0243 9.1).
    if (system)
        for (const xmlNode* child : child_elements(system))
            if (is_ovf(child) && kind_of(child) == "ProductSection") read_properties(child);
    for (const xmlNode* section : disk_sections) read_disks(section);
    resolve_file_refs();
    out_.machine.firmware = "bios";
    if (system) read_system(system);
    else warning("no VirtualSystem: no machine facts");
    return std::move(out_);
}

void Parser::find_system(const xmlNode* parent, const xmlNode*& system)
{
    for (const xmlNode* child : child_elements(parent)) {
        if (!is_ovf(child)) continue;
        const std::string kind = kind_of(child);
        if (kind == "VirtualSystemCollection") {
            find_system(child, system);  // depth bounded by libxml2's nesting limit
        } else if (kind == "VirtualSystem" && system) {
            warning("more than one VirtualSystem; only the first (\"{}\") is read", attribute_or_empty(system, "id"));
        } else if (kind == "VirtualSystem") {
            system = child;
        }
    }
}

void Parser::read_files(const xmlNode* references)
{
    for (const xmlNode* node : child_elements(references)) {
        if (local_name(node) != "File") continue;
        OvfFile file;
        file.id = attribute_or_empty(node, "id");
        file.href = attribute_or_empty(node, "href");
        if (file.id.empty() || file.href.empty())
            corrupt("References/File #{} lacks ovf:id or ovf:href", out_.files.size() + 1);
        if (!file_by_id_.emplace(file.id, out_.files.size()).second)
            corrupt("two References/File elements have ovf:id \"{}\"", file.id);
        file_by_href_.emplace(file.href, out_.files.size());
        if (const auto size = attribute(node, "size")) {
            file.size = parse_u64(*size);
            if (!file.size) warning("File \"{}\": ovf:size \"{}\" is not a number; ignored", file.id, *size);
        }
        const std::string compression = lower(attribute_or_empty(node, "compression"));
        file.compression = compression == "identity" ? "" : compression;
        if (!file.compression.empty() && file.compression != "gzip")
            warning("File \"{}\": unknown ovf:compression \"{}\"", file.id, file.compression);
        if (const auto chunk = attribute(node, "chunkSize")) {
            file.chunk_size = parse_u64(*chunk);
            if (!file.chunk_size || *file.chunk_size == 0) {
                warning("File \"{}\": ovf:chunkSize \"{}\" is not a positive number; ignored", file.id, *chunk);
                file.chunk_size.reset();
            }
        }
        out_.files.push_back(std::move(file));
    }
}

void Parser::read_disks(const xmlNode* section)
{
    for (const xmlNode* node : child_elements(section)) {
        if (local_name(node) != "Disk") continue;
        OvfDisk disk;
        disk.id = attribute_or_empty(node, "diskId");
        if (disk.id.empty()) corrupt("DiskSection/Disk #{} has no ovf:diskId", out_.disks.size() + 1);
        if (!disk_by_id_.emplace(disk.id, out_.disks.size()).second)
            corrupt("two DiskSection/Disk elements have ovf:diskId \"{}\"", disk.id);
        disk.file_ref = attribute_or_empty(node, "fileRef");  // "" (ova-compose) = absent = blank disk
        disk.parent_ref = attribute_or_empty(node, "parentRef");
        disk.format = attribute_or_empty(node, "format");
        disk.optical = is_optical_format(disk.format);
        disk.capacity = disk_capacity(node, disk.id);
        if (const auto populated = attribute(node, "populatedSize")) {
            disk.populated_size = parse_u64(*populated);
            if (!disk.populated_size)
                warning("Disk \"{}\": ovf:populatedSize \"{}\" is not a number; ignored", disk.id, *populated);
        }
        if (const auto interface = attribute(node, "disk-interface")) disk_interfaces_[disk.id] = *interface;
        out_.disks.push_back(std::move(disk));
    }
}

std::uint64_t Parser::disk_capacity(const xmlNode* disk, const std::string& disk_id)
{
    auto text = attribute(disk, "capacity");
    std::string units = attribute_or_empty(disk, "capacityAllocationUnits");
    if (!text) {
        // oVirt writes no capacity, only ovf:size in whole GiB (virt-v2v output_rhev.ml).
        text = attribute(disk, "size");
        units = "byte * 2^30";
        if (!text) {
            warning("Disk \"{}\" has no ovf:capacity", disk_id);
            return 0;
        }
    }
    std::string value(trim(*text));
    if (value.starts_with("${") && value.ends_with("}")) {
        const std::string key = value.substr(2, value.size() - 3);
        const auto found = property_by_key_.find(key);
        if (found == property_by_key_.end()) {
            warning("Disk \"{}\": capacity names property \"{}\", which no ProductSection defines", disk_id, key);
            return 0;
        }
        value = out_.machine.properties[found->second].value;
    }
    const auto amount = parse_u64(value);
    if (!amount) {
        warning("Disk \"{}\": ovf:capacity \"{}\" is not a number", disk_id, value);
        return 0;
    }
    const auto multiplier = unit_multiplier(units.empty() ? "byte" : units);
    if (!multiplier) {
        warning("Disk \"{}\": unknown capacityAllocationUnits \"{}\"; read as bytes", disk_id, units);
        return *amount;
    }
    const auto bytes = multiply(*amount, *multiplier);
    if (!bytes) corrupt("Disk \"{}\": capacity {} × \"{}\" overflows 64 bits", disk_id, *amount, units);
    return *bytes;
}

void Parser::resolve_file_refs()
{
    for (OvfDisk& disk : out_.disks) {
        if (disk.file_ref.empty() || has_file(disk.file_ref)) continue;
        // virt-v2v's oVirt output puts the File's href ("image/volume") in fileRef, not its id.
        const auto by_href = file_by_href_.find(disk.file_ref);
        if (by_href == file_by_href_.end())
            corrupt("DiskSection/Disk \"{}\" has ovf:fileRef \"{}\", which names no References/File", disk.id,
                    disk.file_ref);
        const std::string& id = out_.files[by_href->second].id;
        warning("Disk \"{}\": ovf:fileRef \"{}\" is a File's href, not its id (oVirt); read as File \"{}\"", disk.id,
                disk.file_ref, id);
        disk.file_ref = id;
    }
    for (std::size_t i = 0; i < out_.disks.size(); ++i)
        if (!out_.disks[i].file_ref.empty()) disk_by_file_.emplace(out_.disks[i].file_ref, i);
    for (const OvfDisk& disk : out_.disks)
        if (!disk.parent_ref.empty() && !find_disk(disk.parent_ref))
            warning("Disk \"{}\": ovf:parentRef \"{}\" names no disk", disk.id, disk.parent_ref);
}

void Parser::read_properties(const xmlNode* product)
{
    // DSP0243 9.5: a property's full key is [class.]key[.instance].
    const std::string product_class = attribute_or_empty(product, "class");
    const std::string instance = attribute_or_empty(product, "instance");
    for (const xmlNode* node : child_elements(product)) {
        if (local_name(node) != "Property") continue;
        std::string key = attribute_or_empty(node, "key");
        if (key.empty()) continue;
        if (!product_class.empty()) key = product_class + "." + key;
        if (!instance.empty()) key += "." + instance;
        property_by_key_.emplace(key, out_.machine.properties.size());  // the first definition counts
        out_.machine.properties.push_back({std::move(key), attribute(node, "value").value_or("")});
    }
}

void Parser::read_system(const xmlNode* system)
{
    OvfMachine& machine = out_.machine;
    const xmlNode* name = first_child(system, "Name");
    machine.name = name ? text_of(name) : "";
    if (machine.name.empty()) machine.name = attribute_or_empty(system, "id");
    bool have_hardware = false;
    for (const xmlNode* child : child_elements(system)) {
        const Ns ns = family_of(child->ns);
        if (ns == Ns::vbox && local_name(child) == "Machine") {
            read_vbox_machine(child);
            continue;
        }
        if (ns != Ns::ovf && ns != Ns::none) continue;
        const std::string kind = kind_of(child);
        if (kind == "OperatingSystemSection") {
            read_os(child);
        } else if (kind == "VirtualHardwareSection") {
            if (!have_hardware) read_hardware(child);
            else warning("more than one VirtualHardwareSection; only the first is read");
            have_hardware = true;
        }
    }
    if (!have_hardware) warning("the VirtualSystem has no VirtualHardwareSection");
}

void Parser::read_os(const xmlNode* section)
{
    OvfMachine& machine = out_.machine;
    // 0.9 oVirt sections carry the VM's uuid in ovf:id, not a CIM number.
    const std::string id = attribute_or_empty(section, "id");
    machine.os_id = parse_u64(id) ? id : "";
    // The vendor's own field first (ova-ovf.md §1.7: the CIM id and vmw:osType can disagree).
    machine.os_type = attribute_or_empty(section, "osType");
    for (const xmlNode* child : child_elements(section))
        if (machine.os_type.empty() && family_of(child->ns) == Ns::vbox && local_name(child) == "OSType")
            machine.os_type = text_of(child);
    if (const xmlNode* description = first_child(section, "Description"); description && machine.os_type.empty())
        machine.os_type = text_of(description);
}

void Parser::read_vbox_machine(const xmlNode* machine)
{
    // VirtualBox settings: <Hardware><Firmware type="EFI"/> (the OVF part says nothing of firmware).
    const xmlNode* hardware = first_child(machine, "Hardware");
    const xmlNode* firmware = hardware ? first_child(hardware, "Firmware") : nullptr;
    if (!firmware) return;
    const std::string type = lower(attribute_or_empty(firmware, "type"));
    if (type.starts_with("efi")) out_.machine.firmware = "efi";
}

RasdItem Parser::read_item(const xmlNode* node)
{
    RasdItem item;
    static const std::map<std::string_view, std::string RasdItem::*> fields = {
        {"InstanceID", &RasdItem::instance_id},
        {"InstanceId", &RasdItem::instance_id},  // ovftool resources, oVirt (ova-ovf.md §1.6)
        {"ResourceType", &RasdItem::resource_type},
        {"ResourceSubType", &RasdItem::subtype},
        {"Parent", &RasdItem::parent},
        {"Address", &RasdItem::address},
        {"AddressOnParent", &RasdItem::address_on_parent},
        {"HostResource", &RasdItem::host_resource},
        {"Connection", &RasdItem::connection},
        {"ElementName", &RasdItem::element_name},
        {"Caption", &RasdItem::caption},
        {"AllocationUnits", &RasdItem::allocation_units},
        {"VirtualQuantity", &RasdItem::virtual_quantity},
        {"num_of_sockets", &RasdItem::sockets},
        {"cpu_per_socket", &RasdItem::cores_per_socket},
    };
    for (const xmlNode* child : child_elements(node)) {
        const auto field = fields.find(local_name(child));
        if (field != fields.end() && (item.*(field->second)).empty()) item.*(field->second) = text_of(child);
    }
    // oVirt names NICs in rasd:Name.
    if (item.element_name.empty())
        if (const xmlNode* name = first_child(node, "Name")) item.element_name = text_of(name);
    if (item.element_name.empty()) item.element_name = item.caption;
    return item;
}

void Parser::read_hardware(const xmlNode* section)
{
    OvfMachine& machine = out_.machine;
    std::vector<RasdItem> items;
    for (const xmlNode* child : child_elements(section)) {
        const std::string_view name = local_name(child);
        const Ns ns = family_of(child->ns);
        if (name == "System") {
            if (const xmlNode* type = first_child(child, "VirtualSystemType")) machine.system_type = text_of(type);
        } else if (name == "Item" || name == "StorageItem" || name == "EthernetPortItem") {
            items.push_back(read_item(child));
        } else if (ns == Ns::vmw && (name == "Config" || name == "ExtraConfig")) {
            if (attribute_or_empty(child, "key") == "firmware") {
                const std::string value = lower(attribute_or_empty(child, "value"));
                machine.firmware = value == "efi" ? "efi" : "bios";
            }
        } else if (name == "VirtualSystemOtherConfigurationData" &&
                   attribute_or_empty(child, "Name") == "HVM_boot_params") {
            // XenServer: XAPI's VM.HVM_boot_params holds firmware=uefi for UEFI guests.
            const xmlNode* value = first_child(child, "Value");
            if (value && contains(lower(text_of(value)), "firmware=uefi")) machine.firmware = "efi";
        }
    }
    for (const RasdItem& item : items) {
        const int type = parse_int(item.resource_type).value_or(0);
        const std::string kind = controller_kind(type, item.subtype);
        if (!item.instance_id.empty() && (type == rt_ide || type == rt_scsi || type == rt_storage || !kind.empty()))
            controllers_[item.instance_id] = {kind, item.subtype, parse_int(item.address).value_or(0)};
    }
    for (const RasdItem& item : items) {
        const auto type = parse_int(item.resource_type);
        if (!type) {
            warning("hardware item \"{}\" has no valid ResourceType \"{}\"; ignored", item.instance_id,
                    item.resource_type);
            continue;
        }
        switch (*type) {
        case rt_processor: read_processor(item); break;
        case rt_memory: read_memory(item); break;
        case rt_ethernet: machine.nics.push_back({item.element_name, item.connection, item.subtype}); break;
        case rt_disk: attach(item, false); break;
        case rt_cd:
        case rt_dvd: attach(item, true); break;
        default: break;
        }
    }
    std::set<std::string_view> used;  // attached, or the parent of a delta
    for (const OvfAttachment& a : machine.attachments) used.insert(a.disk_id);
    for (const OvfDisk& disk : out_.disks) used.insert(disk.parent_ref);
    for (const OvfDisk& disk : out_.disks)
        if (!used.contains(disk.id)) warning("Disk \"{}\" is attached to no controller", disk.id);
}

void Parser::read_processor(const RasdItem& item)
{
    std::optional<std::uint64_t> count = parse_u64(item.virtual_quantity);
    if (!count && !item.sockets.empty()) {  // oVirt: sockets × cores per socket
        const auto sockets = parse_u64(item.sockets);
        const auto cores = parse_u64(item.cores_per_socket.empty() ? "1" : item.cores_per_socket);
        if (sockets && cores) count = multiply(*sockets, *cores);
    }
    if (!count || *count == 0 || *count > 1'000'000) {
        warning("processor item \"{}\": no valid CPU count", item.instance_id);
        return;
    }
    out_.machine.cpus = static_cast<unsigned>(*count);
}

void Parser::read_memory(const RasdItem& item)
{
    const auto quantity = parse_u64(item.virtual_quantity);
    // No AllocationUnits: MiB, as VirtualBox and virt-v2v assume.
    const auto multiplier = unit_multiplier(item.allocation_units.empty() ? "byte * 2^20" : item.allocation_units);
    const auto bytes = quantity && multiplier ? multiply(*quantity, *multiplier) : std::nullopt;
    if (!bytes) {
        warning("memory item \"{}\": cannot read {} \"{}\"", item.instance_id, item.virtual_quantity,
                item.allocation_units);
        return;
    }
    out_.machine.memory_bytes = *bytes;
}

std::string Parser::disk_for_item(const RasdItem& item, const HostResource& resource)
{
    const auto disk_with_file = [&](std::string_view file_id) -> std::string {
        const auto found = disk_by_file_.find(file_id);
        return found == disk_by_file_.end() ? "" : out_.disks[found->second].id;
    };
    switch (resource.kind) {
    case HostResource::Kind::disk: return find_disk(resource.id) ? resource.id : "";
    case HostResource::Kind::file: return disk_with_file(resource.id);
    case HostResource::Kind::other:
        // oVirt: HostResource is the disk's fileRef ("image/volume"); InstanceId is the diskId.
        if (find_disk(resource.id)) return resource.id;
        if (const std::string by_file = disk_with_file(resource.id); !by_file.empty()) return by_file;
        return find_disk(item.instance_id) ? item.instance_id : "";
    case HostResource::Kind::none: break;
    }
    return "";
}

void Parser::attach(const RasdItem& item, bool is_cd)
{
    OvfAttachment attachment;
    attachment.kind = is_cd ? "cdrom" : "disk";
    attachment.position = parse_int(item.address_on_parent).value_or(0);
    const HostResource resource = parse_host_resource(item.host_resource);
    const std::string disk_id = disk_for_item(item, resource);
    if (is_cd) {
        if (OvfDisk* disk = find_disk(disk_id)) {  // VirtualBox lists the ISO in DiskSection
            disk->optical = true;
            attachment.disk_id = disk->id;
            attachment.file_ref = disk->file_ref;
        } else if (resource.kind == HostResource::Kind::file) {
            attachment.file_ref = resource.id;
            if (!has_file(resource.id))
                warning("CD item \"{}\": HostResource \"{}\" names no file", item.instance_id, item.host_resource);
        }
    } else {
        if (disk_id.empty()) {
            warning("disk item \"{}\": HostResource \"{}\" names no disk; ignored", item.instance_id,
                    item.host_resource);
            return;
        }
        attachment.disk_id = disk_id;
    }
    const auto controller = item.parent.empty() ? controllers_.end() : controllers_.find(item.parent);
    if (controller != controllers_.end()) {
        attachment.controller = controller->second.kind;
        attachment.controller_subtype = controller->second.subtype;
        attachment.controller_index = controller->second.index;
    } else if (const auto interface = disk_interfaces_.find(disk_id); interface != disk_interfaces_.end()) {
        // oVirt: ovf:disk-interface on the Disk ("IDE", "VirtIO", "VirtIO_SCSI", "SATA").
        const std::string bus = lower(interface->second);
        attachment.controller = bus == "ide"            ? "ide"
                                : bus == "sata"         ? "sata"
                                : contains(bus, "scsi") ? "scsi"
                                : bus == "virtio"       ? "virtio"
                                                        : "";
        attachment.controller_subtype = interface->second;
    } else if (!item.parent.empty()) {
        warning("item \"{}\": Parent \"{}\" names no controller", item.instance_id, item.parent);
    }
    out_.machine.attachments.push_back(std::move(attachment));
}

struct DocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
struct ParserCtxtFree {
    void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};

}  // namespace

OvfDescriptor parse_ovf(std::string_view xml, std::string_view name)
{
    if (xml.size() > max_descriptor_bytes)
        fail(Errc::unsupported, "{}: the OVF descriptor has {} bytes, more than the {} MiB this reader accepts", name,
             xml.size(), max_descriptor_bytes >> 20);
    xmlInitParser();
    const std::unique_ptr<xmlParserCtxt, ParserCtxtFree> ctxt(xmlNewParserCtxt());
    if (!ctxt) fail(Errc::io, "{}: libxml2 could not allocate a parser", name);
    // No network (NONET); no entity substitution (no NOENT) and no DTD loading or validation
    // (no DTDLOAD/DTDATTR/DTDVALID), so external entities are never read; no XML_PARSE_HUGE, so
    // libxml2 keeps its depth and size limits. Errors are collected, not printed.
    constexpr int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    const std::string url(name);
    const std::unique_ptr<xmlDoc, DocFree> doc(
        xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), url.c_str(), nullptr, options));
    if (!doc || !ctxt->wellFormed) {
        const xmlError* error = xmlCtxtGetLastError(ctxt.get());
        const std::string message = error && error->message ? std::string(trim(error->message)) : "not well-formed XML";
        fail(Errc::corrupt, "{}: malformed OVF descriptor: {} (line {})", name, message, error ? error->line : 0);
    }
    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!root) fail(Errc::corrupt, "{}: the OVF descriptor has no root element", name);
    Parser parser(name);
    if (!ctxt->nsWellFormed)
        parser.warning("namespace errors (an undeclared prefix?); elements matched by local name");
    if (doc->intSubset) parser.warning("the descriptor has a DOCTYPE; its entities are not expanded");
    return parser.parse(root);
}

}  // namespace diskshift::formats::ova
