// The OVF descriptor: parse_ovf() on the hand-written producer-style descriptors of testdata/ova
// (files, disks, controllers, machine facts), capacity units, namespace spellings, fileRef by id,
// malformed and hostile XML; render_ovf() read back by parse_ovf() and checked by xmllint.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include <diskshift/error.hpp>
#include <fmt/format.h>

#include "formats/ova/ovf.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace diskshift::formats::ova;
using dstest::MiB;

namespace {

OvfDescriptor parse_testdata(const std::string& name)
{
    const std::string text = dstest::read_text_file(std::string(DISKSHIFT_SOURCE_DIR) + "/testdata/ova/" + name);
    return parse_ovf(text, name);
}

const OvfFile& file_named(const OvfDescriptor& d, const std::string& id)
{
    const auto found = std::find_if(d.files.begin(), d.files.end(), [&](const OvfFile& f) { return f.id == id; });
    REQUIRE_MESSAGE(found != d.files.end(), "no File " << id);
    return *found;
}

const OvfDisk& disk_named(const OvfDescriptor& d, const std::string& id)
{
    const auto found = std::find_if(d.disks.begin(), d.disks.end(), [&](const OvfDisk& k) { return k.id == id; });
    REQUIRE_MESSAGE(found != d.disks.end(), "no Disk " << id);
    return *found;
}

const OvfAttachment& attachment_of(const OvfDescriptor& d, const std::string& disk_id)
{
    const auto& all = d.machine.attachments;
    const auto found =
        std::find_if(all.begin(), all.end(), [&](const OvfAttachment& a) { return a.disk_id == disk_id; });
    REQUIRE_MESSAGE(found != all.end(), "disk " << disk_id << " is not attached");
    return *found;
}

/// "scsi/lsilogic 0:1": where an attachment is, in one comparable string.
std::string where(const OvfAttachment& a)
{
    return a.controller + "/" + a.controller_subtype + " " + std::to_string(a.controller_index) + ":" +
           std::to_string(a.position);
}

std::string all_warnings(const OvfDescriptor& d)
{
    std::string text;
    for (const auto& w : d.warnings) text += w + "\n";
    return text;
}

/// A minimal descriptor around one Disk element's attributes, for unit and namespace checks.
std::string one_disk_ovf(const std::string& disk_attributes,
                         const std::string& envelope_ns = "http://schemas.dmtf.org/ovf/envelope/1")
{
    return "<?xml version=\"1.0\"?>\n"
           "<Envelope xmlns=\"" +
           envelope_ns + "\" xmlns:ovf=\"" + envelope_ns +
           "\">\n"
           "  <References><File ovf:id=\"f1\" ovf:href=\"d.vmdk\"/></References>\n"
           "  <DiskSection><Info>x</Info><Disk ovf:diskId=\"d1\" ovf:fileRef=\"f1\" " +
           disk_attributes +
           "/></DiskSection>\n"
           "  <VirtualSystem ovf:id=\"vm\"><Info>x</Info></VirtualSystem>\n"
           "</Envelope>\n";
}

std::uint64_t capacity_with_units(const std::string& capacity, const std::string& units)
{
    const auto d = parse_ovf(
        one_disk_ovf("ovf:capacity=\"" + capacity + "\" ovf:capacityAllocationUnits=\"" + units + "\""), "units.ovf");
    INFO(all_warnings(d));
    return d.disks.at(0).capacity;
}

}  // namespace

TEST_CASE("OVF: a vSphere export with one disk")
{
    const OvfDescriptor d = parse_testdata("vsphere-1disk.ovf");
    CHECK(d.version == "1.0");
    REQUIRE(d.files.size() == 1);
    CHECK(d.files[0].id == "file1");
    CHECK(d.files[0].href == "web01-disk1.vmdk");
    CHECK(d.files[0].size == 1000101u);
    CHECK(d.files[0].compression.empty());
    CHECK_FALSE(d.files[0].chunk_size.has_value());
    REQUIRE(d.disks.size() == 1);
    const OvfDisk& disk = d.disks[0];
    CHECK(disk.id == "vmdisk1");
    CHECK(disk.file_ref == "file1");
    CHECK(disk.capacity == 4 * MiB);
    CHECK(disk.populated_size == 3 * MiB);
    CHECK(disk.format == "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized");
    CHECK(disk.parent_ref.empty());
    CHECK_FALSE(disk.optical);
    const OvfMachine& m = d.machine;
    CHECK(m.name == "web01");
    CHECK(m.os_id == "101");
    CHECK(m.os_type == "debian11_64Guest");
    CHECK(m.cpus == 1);
    CHECK(m.memory_bytes == 512 * MiB);
    CHECK(m.firmware == "bios");
    CHECK(m.system_type == "vmx-19");
    REQUIRE(m.nics.size() == 1);
    CHECK(m.nics[0].name == "Network adapter 1");
    CHECK(m.nics[0].network == "VM Network");
    CHECK(m.nics[0].model == "VmxNet3");
    CHECK(where(attachment_of(d, "vmdisk1")) == "scsi/lsilogic 0:0");
    // The empty CD drive on the secondary IDE channel.
    const auto cd = std::find_if(m.attachments.begin(), m.attachments.end(),
                                 [](const OvfAttachment& a) { return a.kind == "cdrom"; });
    REQUIRE(cd != m.attachments.end());
    CHECK(where(*cd) == "ide/ 1:0");
    CHECK(cd->file_ref.empty());
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: a vSphere export with two disks on a paravirtual SCSI controller and EFI")
{
    const OvfDescriptor d = parse_testdata("vsphere-2disks.ovf");
    REQUIRE(d.disks.size() == 2);
    CHECK(disk_named(d, "vmdisk1").capacity == 2 * MiB);
    CHECK(disk_named(d, "vmdisk2").capacity == 3 * MiB);  // capacityAllocationUnits="byte"
    CHECK(file_named(d, disk_named(d, "vmdisk2").file_ref).href == "db02-disk2.vmdk");
    CHECK(where(attachment_of(d, "vmdisk1")) == "scsi/VirtualSCSI 0:0");
    CHECK(where(attachment_of(d, "vmdisk2")) == "scsi/VirtualSCSI 0:1");
    CHECK(d.machine.firmware == "efi");
    CHECK(d.machine.cpus == 2);
    CHECK(d.machine.memory_bytes == 2048 * MiB);
    CHECK(d.machine.os_type == "ubuntu64Guest");
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: an ovftool descriptor with a prefixed envelope, InstanceId and a gzip file")
{
    const OvfDescriptor d = parse_testdata("ovftool-gzip.ovf");
    REQUIRE(d.files.size() == 1);
    CHECK(d.files[0].id == "appliance-disk");
    CHECK(d.files[0].href == "appliance-disk1.vmdk.gz");
    CHECK(d.files[0].compression == "gzip");
    CHECK(disk_named(d, "disk-a").file_ref == "appliance-disk");
    CHECK(disk_named(d, "disk-a").capacity == 2 * MiB);
    CHECK(where(attachment_of(d, "disk-a")) == "ide/ 0:0");
    CHECK(d.machine.memory_bytes == 256 * MiB);  // "MegaBytes"
    CHECK(d.machine.nics.at(0).model == "PCNet32");
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: a vCenter export with a chunk size")
{
    const OvfDescriptor d = parse_testdata("vcenter-chunked.ovf");
    REQUIRE(d.files.size() == 1);
    CHECK(d.files[0].chunk_size == 262144u);
    CHECK(d.files[0].size == 1000401u);
    CHECK(d.disks.at(0).capacity == 4 * MiB);
    CHECK(where(attachment_of(d, "vmdisk1")) == "scsi/lsilogicsas 0:0");
    CHECK(d.machine.name == "archive-vm");
    CHECK(d.machine.os_id == "80");
    CHECK(d.machine.os_type == "rhel7_64Guest");
    CHECK(d.machine.cpus == 4);
    CHECK(d.machine.memory_bytes == 4096 * MiB);
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: a VirtualBox export with a SATA disk, an ISO and EFI in vbox:Machine")
{
    const OvfDescriptor d = parse_testdata("virtualbox.ovf");
    REQUIRE(d.files.size() == 2);
    CHECK_FALSE(d.files[0].size.has_value());
    CHECK_FALSE(d.files[1].size.has_value());
    const OvfDisk& disk = disk_named(d, "vmdisk1");
    CHECK(disk.capacity == 3 * MiB);  // no unit: bytes
    CHECK_FALSE(disk.optical);
    const OvfDisk& iso = disk_named(d, "iso2");
    CHECK(iso.optical);
    CHECK(file_named(d, iso.file_ref).href == "devbox-file002.iso");
    CHECK(where(attachment_of(d, "vmdisk1")) == "sata/AHCI 0:0");
    const OvfAttachment& cd = attachment_of(d, "iso2");
    CHECK(cd.kind == "cdrom");
    CHECK(cd.file_ref == "file2");
    CHECK(where(cd) == "sata/AHCI 0:1");
    CHECK(d.machine.firmware == "efi");
    CHECK(d.machine.name == "devbox");  // from ovf:id: VirtualBox writes no Name
    CHECK(d.machine.os_id == "96");
    CHECK(d.machine.os_type == "Debian_64");
    CHECK(d.machine.cpus == 2);
    CHECK(d.machine.memory_bytes == 1024 * MiB);
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: an oVirt descriptor in OVF 0.9 style")
{
    const OvfDescriptor d = parse_testdata("ovirt.ovf");
    CHECK(d.version == "0.9");
    REQUIRE(d.files.size() == 1);
    REQUIRE(d.disks.size() == 1);
    const OvfDisk& disk = d.disks[0];
    CHECK(disk.capacity == 2 * MiB);
    CHECK(disk.file_ref == d.files[0].id);  // virt-v2v wrote the href in fileRef
    CHECK(d.files[0].href == "5e1d3c6a-0b7f-4d29-a8e4-2c9f61b07d15/b3a0f7e2-6c41-4e8d-9f25-d17c0a4e8b96");
    CHECK(disk.format == "http://en.wikipedia.org/wiki/Byte");
    CHECK(disk.parent_ref.empty());  // ovf:parentRef=""
    const OvfAttachment& a = attachment_of(d, disk.id);
    CHECK(a.controller == "virtio");
    CHECK(d.machine.name == "rhel-app");
    CHECK(d.machine.os_id.empty());  // the section's ovf:id is a uuid, not a CIM number
    CHECK(d.machine.os_type == "rhel_8x64");
    CHECK(d.machine.cpus == 2);  // num_of_sockets × cpu_per_socket
    CHECK(d.machine.memory_bytes == 768 * MiB);
    REQUIRE(d.machine.nics.size() == 1);
    CHECK(d.machine.nics[0].name == "eth0");
    CHECK(d.machine.nics[0].network == "ovirtmgmt");
    CHECK(dstest::contains(all_warnings(d), "href"));
}

TEST_CASE("OVF: an OVF 2.0 descriptor with StorageItem and EthernetPortItem")
{
    const OvfDescriptor d = parse_testdata("ovf2.ovf");
    CHECK(d.version == "2.0");
    CHECK(d.disks.at(0).capacity == 2 * MiB);
    CHECK(where(attachment_of(d, "vmdisk1")) == "ide/PIIX4 0:0");
    const auto cd = std::find_if(d.machine.attachments.begin(), d.machine.attachments.end(),
                                 [](const OvfAttachment& a) { return a.kind == "cdrom"; });
    REQUIRE(cd != d.machine.attachments.end());
    CHECK(where(*cd) == "ide/PIIX4 1:0");
    REQUIRE(d.machine.nics.size() == 2);  // both, although they share InstanceID 7
    CHECK(d.machine.nics[0].network == "Bridged");
    CHECK(d.machine.nics[1].network == "Internal");
    CHECK(d.machine.nics[1].model == "virtio");
    CHECK(d.machine.memory_bytes == 2048 * MiB);
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: a blank disk beside a disk with a file, and ProductSection properties")
{
    const OvfDescriptor d = parse_testdata("blank-disk.ovf");
    REQUIRE(d.files.size() == 1);
    REQUIRE(d.disks.size() == 2);
    CHECK(disk_named(d, "system").file_ref == "file0");
    CHECK(disk_named(d, "logs").file_ref.empty());
    CHECK(disk_named(d, "logs").capacity == 3 * MiB);
    CHECK(where(attachment_of(d, "logs")) == "scsi/VirtualSCSI 0:1");
    CHECK(d.machine.os_id == "100");
    CHECK(d.machine.os_type == "vmwarePhoton64Guest");
    CHECK(d.machine.firmware == "efi");
    REQUIRE(d.machine.properties.size() == 3);
    CHECK(d.machine.properties[0].key == "guestinfo.hostname");
    CHECK(d.machine.properties[0].value == "logserver.local");
    CHECK(d.machine.properties[1].key == "guestinfo.root_password");
    CHECK(d.machine.properties[1].value.empty());
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: twelve disks in a sub-folder on one SCSI controller")
{
    const OvfDescriptor d = parse_testdata("twelve-disks.ovf");
    REQUIRE(d.files.size() == 12);
    REQUIRE(d.disks.size() == 12);
    for (int i = 1; i <= 12; ++i) {
        CAPTURE(i);
        const OvfDisk& disk = disk_named(d, "vmdisk" + std::to_string(i));
        CHECK(file_named(d, disk.file_ref).href == "disks/disk-" + std::to_string(i) + ".vmdk");
        CHECK(disk.capacity == 1 * MiB);
        CHECK(disk.format == "http://www.vmware.com/interfaces/specifications/vmdk.html#monolithicSparse");
        const int unit = i <= 7 ? i - 1 : i;  // unit 7 is the controller's
        CHECK(where(attachment_of(d, disk.id)) == "scsi/lsilogic 0:" + std::to_string(unit));
    }
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: a delta disk names its parent")
{
    const OvfDescriptor d = parse_testdata("delta.ovf");
    CHECK(disk_named(d, "vmdisk1").parent_ref == "basedisk1");
    CHECK(disk_named(d, "basedisk1").parent_ref.empty());
    CHECK(file_named(d, disk_named(d, "basedisk1").file_ref).href == "linked-base.vmdk");
    CHECK(d.machine.attachments.size() == 1);  // only the child is attached
    CHECK(where(attachment_of(d, "vmdisk1")) == "scsi/lsilogic 0:0");
    CHECK(d.machine.nics.empty());
    CHECK(d.warnings.empty());  // the unattached base is a parent, not a stray disk
}

TEST_CASE("OVF: a XenServer export with a VHD disk")
{
    const OvfDescriptor d = parse_testdata("xenserver.ovf");
    REQUIRE(d.disks.size() == 1);
    CHECK(d.disks[0].format == "http://www.microsoft.com/technet/virtualserver/downloads/vhdspec.mspx");
    CHECK(d.disks[0].capacity == 4 * MiB);
    CHECK(file_named(d, d.disks[0].file_ref).href == "a7d41e22-90b3-4c1f-8d6e-5f0b2c9a3e71.vhd");
    CHECK(where(attachment_of(d, d.disks[0].id)) == "ide/ 0:0");  // Parent is the controller's uuid
    CHECK(d.machine.system_type == "hvm-3.0-unknown");
    CHECK(d.machine.os_type == "Debian Bookworm 12");
    CHECK(d.machine.cpus == 2);
    CHECK(d.machine.memory_bytes == 1024 * MiB);
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: capacity allocation units as producers write them")
{
    CHECK(capacity_with_units("3", "byte * 2^20") == 3 * MiB);
    CHECK(capacity_with_units("2", "byte * 2^30") == 2ULL << 30);
    CHECK(capacity_with_units("2", "byte*2^30") == 2ULL << 30);
    CHECK(capacity_with_units("5", "byte * 2^10") == 5 * 1024);
    CHECK(capacity_with_units("1", "byte * 2^40") == 1ULL << 40);
    CHECK(capacity_with_units("7", "byte * 10^3") == 7000);
    CHECK(capacity_with_units("4096", "byte") == 4096);
    CHECK(capacity_with_units("4096", "bytes") == 4096);
    CHECK(capacity_with_units("3", "MegaBytes") == 3 * MiB);
    CHECK(capacity_with_units("3", "MB") == 3 * MiB);
    CHECK(capacity_with_units("2", "GigaBytes") == 2ULL << 30);
    CHECK(capacity_with_units("2", "GB") == 2ULL << 30);
    CHECK(capacity_with_units("8", "KiloBytes") == 8192);
    CHECK(capacity_with_units("8", "KB") == 8192);
    CHECK(capacity_with_units(" 12 ", "byte * 2^20") == 12 * MiB);
    // No unit attribute: bytes.
    CHECK(parse_ovf(one_disk_ovf("ovf:capacity=\"1234\""), "x.ovf").disks.at(0).capacity == 1234);
    // An unknown unit is a warning; the number is read as bytes.
    const auto odd = parse_ovf(one_disk_ovf("ovf:capacity=\"9\" ovf:capacityAllocationUnits=\"furlongs\""), "odd.ovf");
    CHECK(odd.disks.at(0).capacity == 9);
    CHECK(dstest::contains(all_warnings(odd), "furlongs"));
    // A placeholder left in a template is a warning too, never an error.
    const auto templ = parse_ovf(one_disk_ovf("ovf:capacity=\"@@VMDK_CAPACITY@@\""), "template.ovf");
    CHECK(templ.disks.at(0).capacity == 0);
    CHECK(dstest::contains(all_warnings(templ), "@@VMDK_CAPACITY@@"));
    // A capacity that overflows 64 bits is corrupt.
    CHECK(dstest::error_kind_of([] { capacity_with_units("99999999999", "byte * 2^40"); }) == "corrupt");
}

TEST_CASE("OVF: a capacity given by a ProductSection property")
{
    const std::string xml =
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">"
        "<References/>"
        "<DiskSection><Info>x</Info><Disk ovf:diskId=\"data\" ovf:capacity=\"${data_size}\" "
        "ovf:capacityAllocationUnits=\"byte * 2^20\"/></DiskSection>"
        "<VirtualSystem ovf:id=\"vm\"><Info>x</Info>"
        "<ProductSection><Info>x</Info><Property ovf:key=\"data_size\" ovf:type=\"int\" "
        "ovf:value=\"3\"/></ProductSection>"
        "</VirtualSystem></Envelope>";
    const auto d = parse_ovf(xml, "property.ovf");
    CHECK(d.disks.at(0).capacity == 3 * MiB);
    CHECK(d.disks.at(0).file_ref.empty());
}

TEST_CASE("OVF: namespace spellings, prefixes and the default namespace")
{
    const std::string disk = "ovf:capacity=\"2\" ovf:capacityAllocationUnits=\"byte * 2^20\"";
    for (const std::string uri :
         {"http://schemas.dmtf.org/ovf/envelope/1", "http://schemas.dmtf.org/ovf/envelope/1/",
          "http://schemas.dmtf.org/ovf/envelope/2", "http://www.vmware.com/schema/ovf/1/envelope"}) {
        CAPTURE(uri);
        const auto d = parse_ovf(one_disk_ovf(disk, uri), "ns.ovf");
        CHECK(d.disks.at(0).capacity == 2 * MiB);
        CHECK(d.disks.at(0).file_ref == "f1");
        CHECK(d.files.at(0).href == "d.vmdk");
    }
    CHECK(parse_ovf(one_disk_ovf(disk, "http://schemas.dmtf.org/ovf/envelope/2"), "v2.ovf").version == "2.0");
    CHECK(parse_ovf(one_disk_ovf(disk, "http://www.vmware.com/schema/ovf/1/envelope"), "v09.ovf").version == "0.9");

    // Unusual prefixes for every namespace: only the URIs count.
    const std::string odd_prefixes =
        "<e:Envelope xmlns:e=\"http://schemas.dmtf.org/ovf/envelope/1/\" "
        "xmlns:r=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\" "
        "xmlns:s=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData\" "
        "xmlns:v=\"http://www.vmware.com/schema/ovf\">"
        "<e:References><e:File e:id=\"a\" e:href=\"a.vmdk\" e:size=\"10\"/></e:References>"
        "<e:DiskSection><e:Info>x</e:Info><e:Disk e:diskId=\"d\" e:fileRef=\"a\" e:capacity=\"1\" "
        "e:capacityAllocationUnits=\"byte * 2^20\"/></e:DiskSection>"
        "<e:VirtualSystem e:id=\"vm\"><e:Info>x</e:Info><e:Name>odd</e:Name>"
        "<e:OperatingSystemSection e:id=\"94\" v:osType=\"ubuntu64Guest\"><e:Info>x</e:Info></e:OperatingSystemSection>"
        "<e:VirtualHardwareSection><e:Info>x</e:Info>"
        "<e:System><s:VirtualSystemType>vmx-15</s:VirtualSystemType></e:System>"
        "<e:Item><r:InstanceID>1</r:InstanceID><r:ResourceType>3</r:ResourceType><r:VirtualQuantity>3</"
        "r:VirtualQuantity></e:Item>"
        "<e:Item><r:InstanceID>2</r:InstanceID><r:ResourceType>6</r:ResourceType><r:ResourceSubType>lsilogic</"
        "r:ResourceSubType></e:Item>"
        "<e:Item><r:InstanceID>3</r:InstanceID><r:ResourceType>17</r:ResourceType><r:Parent>2</r:Parent>"
        "<r:HostResource>ovf:/disk/d</r:HostResource><r:AddressOnParent>2</r:AddressOnParent></e:Item>"
        "<v:Config v:key=\"firmware\" v:value=\"efi\"/>"
        "</e:VirtualHardwareSection></e:VirtualSystem></e:Envelope>";
    const auto d = parse_ovf(odd_prefixes, "prefixes.ovf");
    CHECK(d.files.at(0).size == 10u);
    CHECK(d.disks.at(0).capacity == 1 * MiB);
    CHECK(d.machine.name == "odd");
    CHECK(d.machine.os_type == "ubuntu64Guest");
    CHECK(d.machine.system_type == "vmx-15");
    CHECK(d.machine.cpus == 3);
    CHECK(d.machine.firmware == "efi");
    CHECK(where(attachment_of(d, "d")) == "scsi/lsilogic 0:2");
    CHECK(d.warnings.empty());

    // An OVF-looking document in another namespace is not an OVF descriptor.
    CHECK(dstest::error_kind_of([&] { parse_ovf(one_disk_ovf(disk, "urn:example:not-ovf"), "other.ovf"); }) ==
          "corrupt");
}

TEST_CASE("OVF: undeclared prefixes and a namespace-less envelope are read with a warning")
{
    // Hand-written descriptors: ovf: and xsi: used without being declared, or no namespace at all.
    const std::string undeclared =
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\">"
        "<References><File ovf:id=\"file1\" ovf:href=\"disk.vmdk\"/></References>"
        "<Section xsi:type=\"ovf:DiskSection_Type\"><Disk ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" "
        "ovf:capacity=\"1048576\"/></Section>"
        "</Envelope>";
    const auto d = parse_ovf(undeclared, "undeclared.ovf");
    CHECK(d.files.at(0).href == "disk.vmdk");
    CHECK(d.disks.at(0).capacity == 1 * MiB);
    CHECK(dstest::contains(all_warnings(d), "namespace"));

    const auto bare = parse_ovf(
        "<Envelope><References><File id=\"a\" href=\"a.vmdk\"/></References>"
        "<DiskSection><Disk diskId=\"d\" fileRef=\"a\" capacity=\"4096\"/></DiskSection></Envelope>",
        "bare.ovf");
    CHECK(bare.disks.at(0).capacity == 4096);
    CHECK(dstest::contains(all_warnings(bare), "no namespace"));
}

TEST_CASE("OVF: NVMe, SATA and virtio-scsi controllers as producers write them")
{
    const auto item = [](int id, int type, const std::string& subtype) {
        return "<Item><rasd:InstanceID>" + std::to_string(id) + "</rasd:InstanceID><rasd:ResourceType>" +
               std::to_string(type) + "</rasd:ResourceType><rasd:ResourceSubType>" + subtype +
               "</rasd:ResourceSubType><rasd:Address>" + std::to_string(id % 2) + "</rasd:Address></Item>";
    };
    const auto disk_item = [](int id, int parent, const std::string& disk) {
        return "<Item><rasd:InstanceID>" + std::to_string(id) +
               "</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType><rasd:Parent>" + std::to_string(parent) +
               "</rasd:Parent><rasd:HostResource>/disk/" + disk + "</rasd:HostResource></Item>";
    };
    std::string xml =
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
        "CIM_ResourceAllocationSettingData\"><References/>"
        "<DiskSection><Info>x</Info>";
    for (const char* id : {"a", "b", "c", "d"})
        xml += std::string("<Disk ovf:diskId=\"") + id + "\" ovf:capacity=\"1\"/>";
    xml += "</DiskSection><VirtualSystem ovf:id=\"vm\"><Info>x</Info><VirtualHardwareSection><Info>x</Info>" +
           item(1, 20, "vmware.nvme.controller") + item(2, 20, "NVMe") + item(3, 20, "vmware.sata.ahci") +
           item(4, 20, "VirtioSCSI") + disk_item(5, 1, "a") + disk_item(6, 2, "b") + disk_item(7, 3, "c") +
           disk_item(8, 4, "d") + "</VirtualHardwareSection></VirtualSystem></Envelope>";
    const auto d = parse_ovf(xml, "buses.ovf");
    CHECK(where(attachment_of(d, "a")) == "nvme/vmware.nvme.controller 1:0");
    CHECK(where(attachment_of(d, "b")) == "nvme/NVMe 0:0");
    CHECK(where(attachment_of(d, "c")) == "sata/vmware.sata.ahci 1:0");
    CHECK(where(attachment_of(d, "d")) == "scsi/VirtioSCSI 0:0");
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: the first VirtualSystem of a collection, and XenServer's UEFI boot parameter")
{
    const std::string xml =
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:xenovf=\"http://schemas.citrix.com/ovf/envelope/1\"><References/>"
        "<VirtualSystemCollection ovf:id=\"vapp\"><Info>x</Info>"
        "<VirtualSystem ovf:id=\"first\"><Info>x</Info><VirtualHardwareSection><Info>x</Info>"
        "<xenovf:VirtualSystemOtherConfigurationData Name=\"HVM_boot_params\"><xenovf:Value>order=dc;firmware=uefi"
        "</xenovf:Value></xenovf:VirtualSystemOtherConfigurationData></VirtualHardwareSection></VirtualSystem>"
        "<VirtualSystem ovf:id=\"second\"><Info>x</Info></VirtualSystem>"
        "</VirtualSystemCollection></Envelope>";
    const auto d = parse_ovf(xml, "vapp.ovf");
    CHECK(d.machine.name == "first");
    CHECK(d.machine.firmware == "efi");
    CHECK(dstest::contains(all_warnings(d), "more than one VirtualSystem"));
}

TEST_CASE("OVF: disks find their files by id, never by position")
{
    // References in another order than the disks, an ISO in between, ids that are not fileN.
    const std::string xml =
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\">"
        "<References>"
        "<File ovf:id=\"second.vmdk_id\" ovf:href=\"second.vmdk\"/>"
        "<File ovf:id=\"tools\" ovf:href=\"tools.iso\"/>"
        "<File ovf:id=\"first.vmdk_id\" ovf:href=\"first.vmdk\"/>"
        "</References>"
        "<DiskSection><Info>x</Info>"
        "<Disk ovf:diskId=\"a\" ovf:fileRef=\"first.vmdk_id\" ovf:capacity=\"1048576\"/>"
        "<Disk ovf:diskId=\"b\" ovf:capacity=\"2097152\"/>"
        "<Disk ovf:diskId=\"c\" ovf:fileRef=\"second.vmdk_id\" ovf:capacity=\"3145728\"/>"
        "</DiskSection>"
        "<VirtualSystem ovf:id=\"vm\"><Info>x</Info><VirtualHardwareSection><Info>x</Info>"
        "<Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>5</rasd:ResourceType></Item>"
        "<Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>15</rasd:ResourceType><rasd:Parent>1</"
        "rasd:Parent>"
        "<rasd:HostResource>ovf:/file/tools</rasd:HostResource><rasd:AddressOnParent>1</rasd:AddressOnParent></Item>"
        "<Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType><rasd:Parent>1</"
        "rasd:Parent>"
        "<rasd:HostResource>ovf:/disk/c</rasd:HostResource></Item>"
        "</VirtualHardwareSection></VirtualSystem></Envelope>";
    const auto d = parse_ovf(xml, "byid.ovf");
    CHECK(file_named(d, disk_named(d, "a").file_ref).href == "first.vmdk");
    CHECK(disk_named(d, "b").file_ref.empty());
    CHECK(file_named(d, disk_named(d, "c").file_ref).href == "second.vmdk");
    const auto cd = std::find_if(d.machine.attachments.begin(), d.machine.attachments.end(),
                                 [](const OvfAttachment& a) { return a.kind == "cdrom"; });
    REQUIRE(cd != d.machine.attachments.end());
    CHECK(cd->file_ref == "tools");
    CHECK(where(*cd) == "ide/ 0:1");
    CHECK(where(attachment_of(d, "c")) == "ide/ 0:0");
    // The unattached disks are reported, not refused.
    CHECK(dstest::contains(all_warnings(d), "\"a\" is attached to no controller"));
}

TEST_CASE("OVF: malformed XML and a dangling fileRef are corrupt and name the descriptor")
{
    const std::string truncated = one_disk_ovf("ovf:capacity=\"1\"").substr(0, 200);
    CHECK(dstest::error_kind_of([&] { parse_ovf(truncated, "broken.ovf"); }) == "corrupt");
    CHECK(dstest::contains(dstest::error_message_of([&] { parse_ovf(truncated, "broken.ovf"); }), "broken.ovf"));
    CHECK(dstest::error_kind_of([] { parse_ovf("", "empty.ovf"); }) == "corrupt");
    CHECK(dstest::error_kind_of([] { parse_ovf("not xml at all", "text.ovf"); }) == "corrupt");

    std::string dangling = one_disk_ovf("ovf:capacity=\"1\"");
    dangling.replace(dangling.find("ovf:fileRef=\"f1\""), 16, "ovf:fileRef=\"f9\"");
    const std::string message = dstest::error_message_of([&] { parse_ovf(dangling, "dangling.ovf"); });
    CHECK(dstest::error_kind_of([&] { parse_ovf(dangling, "dangling.ovf"); }) == "corrupt");
    CHECK(dstest::contains(message, "dangling.ovf"));
    CHECK(dstest::contains(message, "f9"));

    std::string duplicate = one_disk_ovf("ovf:capacity=\"1\"");
    duplicate.replace(duplicate.find("</References>"), 0, "<File ovf:id=\"f1\" ovf:href=\"other.vmdk\"/>");
    CHECK(dstest::error_kind_of([&] { parse_ovf(duplicate, "dup.ovf"); }) == "corrupt");

    CHECK(dstest::error_kind_of([] { parse_ovf(std::string(5 << 20, ' '), "huge.ovf"); }) == "unsupported");
}

TEST_CASE("OVF: a descriptor near the size cap with thousands of disks binds them all quickly")
{
    constexpr int count = 17000;
    std::string xml =
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:r=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\"><References>";
    for (int i = 0; i < count; ++i) xml += fmt::format("<File ovf:id=\"f{0}\" ovf:href=\"h{0}\"/>", i);
    xml += "</References><DiskSection>";
    for (int i = 0; i < count; ++i) xml += fmt::format("<Disk ovf:diskId=\"d{0}\" ovf:fileRef=\"f{0}\" ovf:capacity=\"1\"/>", i);
    xml += "</DiskSection><VirtualSystem ovf:id=\"x\"><VirtualHardwareSection>";
    for (int i = count - 1; i >= 0; --i)  // bound through the file, in reverse order
        xml += fmt::format("<Item><r:InstanceID>{0}</r:InstanceID><r:ResourceType>17</r:ResourceType>"
                           "<r:HostResource>ovf:/file/f{0}</r:HostResource></Item>",
                           i);
    xml += "</VirtualHardwareSection></VirtualSystem></Envelope>";
    REQUIRE(xml.size() < 4 * MiB);

    const auto start = std::chrono::steady_clock::now();
    const auto d = parse_ovf(xml, "many.ovf");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    REQUIRE(d.machine.attachments.size() == count);
    CHECK(d.machine.attachments.front().disk_id == "d" + std::to_string(count - 1));
    CHECK(d.machine.attachments.back().disk_id == "d0");
    CHECK(d.warnings.empty());
}

TEST_CASE("OVF: external entities are never read, entity bombs never expand")
{
    dstest::TempDir dir;
    const auto secret = dir / "secret.txt";
    dstest::write_text_file(secret, "TOP-SECRET-CONTENT");
    const std::string absolute = std::filesystem::absolute(secret).string();
    const std::string xxe =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE Envelope [\n"
        "  <!ENTITY xxe SYSTEM \"file://" +
        absolute +
        "\">\n"
        "  <!ENTITY net SYSTEM \"http://127.0.0.1:9/ovf-entity\">\n"
        "]>\n"
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">"
        "<References><File ovf:id=\"f1\" ovf:href=\"d.vmdk\"/></References>"
        "<DiskSection><Info>x</Info><Disk ovf:diskId=\"d1\" ovf:fileRef=\"f1\" ovf:capacity=\"1\"/></DiskSection>"
        "<VirtualSystem ovf:id=\"vm\"><Info>x</Info><Name>n&xxe;&net;</Name>"
        "<ProductSection><Info>x</Info><Property ovf:key=\"k\" "
        "ovf:value=\"v\"><Value>&xxe;</Value></Property></ProductSection>"
        "</VirtualSystem></Envelope>";
    std::string seen;
    try {
        const auto d = parse_ovf(xxe, "xxe.ovf");
        seen = d.machine.name;
        for (const auto& p : d.machine.properties) seen += p.key + p.value;
        for (const auto& w : d.warnings) seen += w;
        CHECK(d.machine.name == "n");
    } catch (const diskshift::Error& e) {  // refusing the document is fine too
        seen = e.what();
    }
    CHECK_FALSE(dstest::contains(seen, "TOP-SECRET"));

    // A billion laughs: refused (or left unexpanded) at once, without exhausting memory.
    std::string bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE Envelope [\n<!ENTITY l0 \"lol\">\n";
    for (int i = 1; i <= 10; ++i)
        bomb += "<!ENTITY l" + std::to_string(i) + " \"" + [&] {
            std::string ten;
            for (int k = 0; k < 10; ++k) ten += "&l" + std::to_string(i - 1) + ";";
            return ten;
        }() + "\">\n";
    bomb +=
        "]>\n<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" "
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">"
        "<References/><VirtualSystem ovf:id=\"x&l10;\"><Info>x</Info><Name>&l10;</Name></VirtualSystem></Envelope>";
    const auto start = std::chrono::steady_clock::now();
    std::string name;
    try {
        name = parse_ovf(bomb, "bomb.ovf").machine.name;
    } catch (const diskshift::Error&) {
    }
    CHECK(name.size() < 1000);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("OVF: render_ovf reads back to the same files, disks and machine")
{
    OvfOutputMachine machine;
    machine.name = "app & <db> \"1\"";
    machine.os_type = "ubuntu64Guest";
    machine.cpus = 4;
    machine.memory_mib = 3072;
    machine.system_type = "vmx-14";
    machine.firmware = "efi";
    std::vector<OvfOutputDisk> disks;
    for (int i = 0; i < 17; ++i)  // more than one SCSI controller holds
        disks.push_back({"app-disk" + std::to_string(i + 1) + ".vmdk", 70000u + i, (i + 1) * MiB, i * 4096u});

    const OvfDescriptor d = parse_ovf(render_ovf(machine, disks), "rendered.ovf");
    CHECK(d.version == "1.0");
    CHECK(d.warnings.empty());
    REQUIRE(d.files.size() == disks.size());
    REQUIRE(d.disks.size() == disks.size());
    for (std::size_t i = 0; i < disks.size(); ++i) {
        CAPTURE(i);
        const OvfDisk& disk = d.disks[i];
        const OvfFile& file = file_named(d, disk.file_ref);
        CHECK(file.href == disks[i].href);
        CHECK(file.size == disks[i].file_size);
        CHECK(file.compression.empty());
        CHECK(disk.capacity == disks[i].capacity);
        CHECK(disk.populated_size == disks[i].populated_size);
        CHECK(disk.format == "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized");
        const OvfAttachment& a = attachment_of(d, disk.id);
        CHECK(a.controller == "scsi");
        CHECK(a.controller_subtype == "lsilogic");
        CHECK(a.controller_index == static_cast<int>(i / 15));
        const int slot = static_cast<int>(i % 15);
        CHECK(a.position == (slot < 7 ? slot : slot + 1));  // SCSI id 7 is the controller's
    }
    CHECK(d.machine.name == machine.name);
    CHECK(d.machine.os_type == "ubuntu64Guest");
    CHECK(d.machine.os_id == "94");
    CHECK(d.machine.cpus == 4);
    CHECK(d.machine.memory_bytes == 3072 * MiB);
    CHECK(d.machine.system_type == "vmx-14");
    CHECK(d.machine.firmware == "efi");
    REQUIRE(d.machine.nics.size() == 1);
    CHECK(d.machine.nics[0].network == "VM Network");
    CHECK(parse_ovf(render_ovf(OvfOutputMachine{}, {disks[0]}), "bios.ovf").machine.firmware == "bios");

    CHECK(dstest::error_kind_of([&] {
        render_ovf(machine, std::vector<OvfOutputDisk>(61, disks[0]));
    }) == "invalid_argument");
}

TEST_CASE("OVF: render_ovf output is well-formed for xmllint")
{
    dstest::TempDir dir;
    OvfOutputMachine machine;
    machine.name = "x<&>\x01y";  // a control character cannot appear in XML 1.0, even escaped
    const std::vector<OvfOutputDisk> disks = {{"vm-disk1.vmdk", 123456, 4 * MiB, 1 * MiB},
                                              {"vm-disk2.vmdk", 654321, 2 * MiB, 0}};
    const auto path = dir / "rendered.ovf";
    dstest::write_text_file(path, render_ovf(machine, disks));
    dstest::run_program("xmllint", {"--noout", "--nonet", path.string()});
    // The oracle itself refuses a broken descriptor.
    const auto broken = dir / "broken.ovf";
    dstest::write_text_file(broken, render_ovf(machine, disks).substr(0, 400));
    CHECK(dstest::run_process({dstest::required_program("xmllint"), "--noout", broken.string()}).exit_code() != 0);
}
