// Internal: an OVF descriptor as the OVA reader and writer see it (DMTF DSP0243, OVF 0.9, 1.x and
// 2.0 envelopes). parse_ovf() reads what producers write; render_ovf() writes what VMware,
// vSphere and the clouds' import services accept. Both use libxml2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diskshift::formats::ova {

/// One References/File: a file of the package, possibly gzip-compressed or split into chunks.
struct OvfFile {
    std::string id;                      ///< ovf:id
    std::string href;                    ///< as written; may name a sub-folder
    std::optional<std::uint64_t> size;   ///< ovf:size, when given (of the stored, compressed file)
    std::string compression;             ///< "" or "gzip"
    std::optional<std::uint64_t> chunk_size;  ///< ovf:chunkSize: members are href.000000000, …
};

/// One DiskSection/Disk: a virtual disk, backed by a file or blank.
struct OvfDisk {
    std::string id;                      ///< ovf:diskId
    std::string file_ref;                ///< ovf:fileRef, "" for a blank disk
    std::uint64_t capacity = 0;          ///< in bytes, capacityAllocationUnits applied
    std::optional<std::uint64_t> populated_size;  ///< ovf:populatedSize, when given
    std::string format;                  ///< ovf:format URI, as written
    std::string parent_ref;              ///< ovf:parentRef, "" when none
    /// An ISO/UDF image, not a disk to convert: its format URI says so, or it is attached only as a
    /// CD (VirtualBox lists the ISO it exports in DiskSection and binds a CD drive to it).
    bool optical = false;
};

/// Where a disk (or CD) is attached: its controller and position.
struct OvfAttachment {
    std::string kind;           ///< "disk" or "cdrom"
    std::string disk_id;        ///< the OvfDisk id of a disk, or of a CD's image listed in DiskSection
                                ///< (VirtualBox); "" otherwise
    std::string file_ref;       ///< the OvfFile id of a CD's ISO, when any
    std::string controller;     ///< "ide", "scsi", "sata", "nvme", "virtio" (oVirt virtio-blk), ""
                                ///< when unknown
    std::string controller_subtype;  ///< ResourceSubType: "lsilogic", "VirtualSCSI", "AHCI", …
    int controller_index = 0;   ///< the controller's Address (bus number)
    int position = 0;           ///< AddressOnParent
};

struct OvfNic {
    std::string name;           ///< ElementName
    std::string network;        ///< Connection
    std::string model;          ///< ResourceSubType: "E1000", "VmxNet3", …
};

struct OvfProperty {
    std::string key;
    std::string value;
};

/// The virtual machine the package describes (its first VirtualSystem).
struct OvfMachine {
    std::string name;
    std::string os_id;          ///< OperatingSystemSection ovf:id (CIM number), "" when absent
    std::string os_type;        ///< vmw:osType, vbox:OSType or the Description, "" when absent
    unsigned cpus = 0;
    std::uint64_t memory_bytes = 0;
    std::string firmware;       ///< "bios", "efi"
    std::string system_type;    ///< VirtualSystemType, e.g. "vmx-13"
    std::vector<OvfNic> nics;
    std::vector<OvfAttachment> attachments;
    std::vector<OvfProperty> properties;  ///< ProductSection properties
};

struct OvfDescriptor {
    std::string version;        ///< "0.9", "1.0", "2.0" (from the envelope namespace)
    std::vector<OvfFile> files;
    std::vector<OvfDisk> disks;
    OvfMachine machine;
    std::vector<std::string> warnings;
};

/// Parses a descriptor; malformed XML or a disk whose fileRef names no file is Error(Errc::corrupt)
/// naming `name`.
OvfDescriptor parse_ovf(std::string_view xml, std::string_view name);

/// A disk the OVA writer adds: its stream-optimized VMDK member.
struct OvfOutputDisk {
    std::string href;           ///< member name, e.g. "vm-disk1.vmdk"
    std::uint64_t file_size = 0;     ///< bytes of the VMDK member
    std::uint64_t capacity = 0;      ///< virtual size in bytes
    std::uint64_t populated_size = 0;
};

struct OvfOutputMachine {
    std::string name = "vm";
    std::string os_type = "otherGuest64";  ///< vmw:osType
    unsigned cpus = 1;
    std::uint64_t memory_mib = 1024;
    std::string system_type = "vmx-13";
    std::string firmware = "bios";  ///< "bios" or "efi": vmw:Config firmware (a UEFI guest needs "efi")
};

/// An OVF 1.0 envelope, VMware-compatible: one VirtualSystem, a SCSI (lsilogic) controller with
/// every disk, stream-optimized disk format URI, sizes and capacities in bytes.
std::string render_ovf(const OvfOutputMachine& machine, const std::vector<OvfOutputDisk>& disks);

}  // namespace diskshift::formats::ova
