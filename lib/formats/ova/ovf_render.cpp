// Writing an OVF 1.0 descriptor in the shape VMware ovftool/vSphere export (DSP0243 1.x; the
// element order of DSP8023: References, DiskSection, NetworkSection, VirtualSystem), which
// vSphere, ovftool, VirtualBox and the clouds' import services accept (ova-ovf.md §1, §7.2, §8).
#include "formats/ova/ovf.hpp"

#include <array>
#include <utility>

#include <fmt/format.h>

#include "core/fail.hpp"

namespace diskshift::formats::ova {
namespace {

/// The format URI VMware writes for stream-optimized disks (ova-ovf.md §1.5); ESXi rejects
/// descriptors with an empty or other URI for them.
constexpr std::string_view stream_vmdk_uri =
    "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";
constexpr std::string_view network_name = "VM Network";

/// A parallel SCSI bus has 16 ids; VMware reserves id 7 for the controller itself.
constexpr int scsi_units_per_controller = 15;
constexpr int scsi_controller_unit = 7;
/// vSphere accepts at most 4 SCSI controllers per VM.
constexpr std::size_t max_scsi_controllers = 4;

std::string xml_escape(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        // XML 1.0 §2.2 forbids the other C0 controls, even escaped.
        default: out += (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') ? ' ' : c;
        }
    }
    return out;
}

/// CIM_OperatingSystem.OsType for a vmw:osType guest id (ova-ovf.md §1.7 table); 1 ("Other")
/// when there is no closer code. Importers prefer vmw:osType; the CIM id is for the others.
std::string_view cim_os_id(std::string_view guest_id)
{
    const auto has = [&](std::string_view part) { return guest_id.find(part) != std::string_view::npos; };
    if (guest_id == "otherGuest64") return "102";                             // Other 64-bit
    if (guest_id.starts_with("other")) return has("Linux") ? (has("64") ? "101" : "36") : "1";  // Linux (64-bit), Other
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 19> by_prefix = {{
        {"windows7Server64", "103"}, {"windows7", "105"},       {"windows8Server64", "112"}, {"windows8", "113"},
        {"winLonghorn64", "77"},     {"winLonghorn", "76"},     {"winNetEnterprise64", "70"}, {"winNet", "69"},
        {"winXP", "67"},             {"ubuntu64", "94"},        {"ubuntu", "93"},            {"debian", "96"},
        {"centos", "107"},           {"rhel", "80"},            {"sles", "85"},              {"oracleLinux", "109"},
        {"vmwarePhoton64", "100"},   {"freebsd", "42"},         {"solaris", "81"},
    }};
    for (const auto& [prefix, id] : by_prefix)
        if (guest_id.starts_with(prefix)) return id;
    return "1";
}

void render_references(std::string& out, const std::vector<OvfOutputDisk>& disks)
{
    out += "  <References>\n";
    for (std::size_t i = 0; i < disks.size(); ++i)
        out += fmt::format("    <File ovf:href=\"{}\" ovf:id=\"file{}\" ovf:size=\"{}\"/>\n", xml_escape(disks[i].href),
                           i + 1, disks[i].file_size);
    out += "  </References>\n";
}

void render_disk_section(std::string& out, const std::vector<OvfOutputDisk>& disks)
{
    out += "  <DiskSection>\n    <Info>Virtual disk information</Info>\n";
    for (std::size_t i = 0; i < disks.size(); ++i)
        out += fmt::format(
            "    <Disk ovf:capacity=\"{}\" ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"vmdisk{}\" "
            "ovf:fileRef=\"file{}\" "
            "ovf:format=\"{}\" ovf:populatedSize=\"{}\"/>\n",
            disks[i].capacity, i + 1, i + 1, stream_vmdk_uri, disks[i].populated_size);
    out += "  </DiskSection>\n";
}

void render_item(std::string& out, const std::vector<std::pair<std::string_view, std::string>>& fields)
{
    // RASD child elements in the alphabetical order of the CIM schema, as ovftool writes them.
    out += "      <Item>\n";
    for (const auto& [name, value] : fields) out += fmt::format("        <rasd:{0}>{1}</rasd:{0}>\n", name, value);
    out += "      </Item>\n";
}

void render_hardware(std::string& out, const OvfOutputMachine& machine, const std::vector<OvfOutputDisk>& disks)
{
    out += fmt::format(
        "    <VirtualHardwareSection>\n"
        "      <Info>Virtual hardware requirements</Info>\n"
        "      <System>\n"
        "        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n"
        "        <vssd:InstanceID>0</vssd:InstanceID>\n"
        "        <vssd:VirtualSystemIdentifier>{}</vssd:VirtualSystemIdentifier>\n"
        "        <vssd:VirtualSystemType>{}</vssd:VirtualSystemType>\n"
        "      </System>\n",
        xml_escape(machine.name), xml_escape(machine.system_type));
    int instance = 1;
    render_item(out, {{"AllocationUnits", "hertz * 10^6"},
                      {"Description", "Number of Virtual CPUs"},
                      {"ElementName", fmt::format("{} virtual CPU(s)", machine.cpus)},
                      {"InstanceID", std::to_string(instance++)},
                      {"ResourceType", "3"},
                      {"VirtualQuantity", std::to_string(machine.cpus)}});
    render_item(out, {{"AllocationUnits", "byte * 2^20"},
                      {"Description", "Memory Size"},
                      {"ElementName", fmt::format("{}MB of memory", machine.memory_mib)},
                      {"InstanceID", std::to_string(instance++)},
                      {"ResourceType", "4"},
                      {"VirtualQuantity", std::to_string(machine.memory_mib)}});
    const std::size_t controllers = (disks.size() + scsi_units_per_controller - 1) / scsi_units_per_controller;
    const int first_controller = instance;
    for (std::size_t c = 0; c < std::max<std::size_t>(controllers, 1); ++c)
        render_item(out, {{"Address", std::to_string(c)},
                          {"Description", "SCSI Controller"},
                          {"ElementName", fmt::format("SCSI Controller {}", c)},
                          {"InstanceID", std::to_string(instance++)},
                          {"ResourceSubType", "lsilogic"},
                          {"ResourceType", "6"}});
    for (std::size_t i = 0; i < disks.size(); ++i) {
        const int slot = static_cast<int>(i % scsi_units_per_controller);
        const int unit = slot < scsi_controller_unit ? slot : slot + 1;
        render_item(out,
                    {{"AddressOnParent", std::to_string(unit)},
                     {"ElementName", fmt::format("Hard Disk {}", i + 1)},
                     {"HostResource", fmt::format("ovf:/disk/vmdisk{}", i + 1)},
                     {"InstanceID", std::to_string(instance++)},
                     {"Parent", std::to_string(first_controller + static_cast<int>(i / scsi_units_per_controller))},
                     {"ResourceType", "17"}});
    }
    // E1000: every guest has a driver for it (VmxNet3 needs VMware Tools).
    render_item(out, {{"AddressOnParent", "7"},
                      {"AutomaticAllocation", "true"},
                      {"Connection", std::string(network_name)},
                      {"Description", fmt::format("E1000 ethernet adapter on &quot;{}&quot;", network_name)},
                      {"ElementName", "Network adapter 1"},
                      {"InstanceID", std::to_string(instance++)},
                      {"ResourceSubType", "E1000"},
                      {"ResourceType", "10"}});
    out += fmt::format("      <vmw:Config ovf:required=\"false\" vmw:key=\"firmware\" vmw:value=\"{}\"/>\n",
                       machine.firmware == "efi" ? "efi" : "bios");
    out += "    </VirtualHardwareSection>\n";
}

}  // namespace

std::string render_ovf(const OvfOutputMachine& machine, const std::vector<OvfOutputDisk>& disks)
{
    if (disks.size() > scsi_units_per_controller * max_scsi_controllers)
        fail(Errc::invalid_argument, "an OVA holds at most {} disks ({} SCSI controllers of {}); {} given",
             scsi_units_per_controller * max_scsi_controllers, max_scsi_controllers, scsi_units_per_controller,
             disks.size());
    if (machine.cpus == 0 || machine.memory_mib == 0)
        fail(Errc::invalid_argument, "the OVF machine needs at least 1 CPU and 1 MiB of memory");
    std::string out =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\" "
        "xmlns:vmw=\"http://www.vmware.com/schema/ovf\" "
        "xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n";
    render_references(out, disks);
    render_disk_section(out, disks);
    out += fmt::format(
        "  <NetworkSection>\n"
        "    <Info>The list of logical networks</Info>\n"
        "    <Network ovf:name=\"{0}\">\n"
        "      <Description>The {0} network</Description>\n"
        "    </Network>\n"
        "  </NetworkSection>\n",
        network_name);
    const std::string name = xml_escape(machine.name);
    out += fmt::format(
        "  <VirtualSystem ovf:id=\"{0}\">\n"
        "    <Info>A virtual machine</Info>\n"
        "    <Name>{0}</Name>\n"
        "    <OperatingSystemSection ovf:id=\"{1}\" vmw:osType=\"{2}\">\n"
        "      <Info>The kind of installed guest operating system</Info>\n"
        "    </OperatingSystemSection>\n",
        name, cim_os_id(machine.os_type), xml_escape(machine.os_type));
    render_hardware(out, machine, disks);
    out += "  </VirtualSystem>\n</Envelope>\n";
    return out;
}

}  // namespace diskshift::formats::ova
