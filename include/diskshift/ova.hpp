// diskshift — OVA packages: the disks of an opened package, and checking what was read against
// its manifest. An OVA opens like any image (open_image), as one of its disks: OpenOptions::disk
// picks it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <diskshift/image.hpp>

namespace diskshift {

/// One disk of an OVA, as its descriptor lists it.
struct OvaDiskEntry {
    std::string id;        ///< ovf:diskId
    std::string href;      ///< the file it is stored in; empty for a blank disk
    std::uint64_t capacity = 0;
    std::string format;    ///< "vmdk", "vhd", "raw", "iso", "qcow2", "blank", … (from the file's content)
};

/// The disks of the package `image` was opened from, in the descriptor's order; empty when
/// `image` is not a disk of an OVA.
std::vector<OvaDiskEntry> ova_disks(const Image& image);

/// True when `image` is a disk of an OVA that holds several and none was asked for
/// (OpenOptions::disk empty): it is the first one.
bool ova_disk_chosen_by_default(const Image& image);

/// Completes the manifest check of every package file `image` read from: hashes what reads never
/// covered, then compares. Throws Error(Errc::corrupt) naming the file when a digest differs.
/// Does nothing for an image that is not a disk of an OVA. Call it when reading is over, before
/// trusting the output (imgconv calls it before DST appears).
void verify_ova_reads(const Image& image);

/// The name imgconv --all-disks gives a disk: its id, with anything but letters, digits, '-',
/// '_' and inner '.' replaced by '_', then "." and the output format ("vmdisk1.vmdk").
std::string ova_disk_file_name(std::string_view disk_id, std::string_view output_format);

}  // namespace diskshift
