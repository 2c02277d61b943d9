// Internal: an OVA opened in place: its tar index, OVF descriptor, manifest and certificate, and a
// source for each disk (its member, or its chunks end to end, inflated when gzip-compressed),
// checked against the manifest as it is read. Nothing is ever extracted.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <diskshift/io.hpp>

#include "formats/ova/manifest.hpp"
#include "formats/ova/ovf.hpp"
#include "formats/ova/tar_index.hpp"
#include "formats/ova/verifying_source.hpp"

namespace diskshift {
class Format;
}

namespace diskshift::formats::ova {

/// The format of a disk inside a package, by content: the best probe, else raw (an ISO, or a raw
/// disk as oVirt and virt-v2v store them). Errors other than "no format recognised" propagate.
const Format& probed_format_or_raw(const ByteSource& source);

/// True for a name ending ".ovf", in any case (DSP0243: the descriptor).
bool is_descriptor_name(std::string_view name) noexcept;

class OvaPackage {
public:
    /// Indexes the tar, reads and parses the descriptor (checking it against the manifest), the
    /// manifest and the certificate. Throws Error(Errc::corrupt) for a package without exactly one
    /// descriptor, Error(Errc::unsupported) for several.
    explicit OvaPackage(std::shared_ptr<const ByteSource> ova);

    const OvfDescriptor& descriptor() const noexcept { return descriptor_; }
    const std::vector<std::string>& warnings() const noexcept { return warnings_; }
    const std::string& name() const noexcept { return ova_->name(); }
    /// The manifest beside the descriptor, when the package has one.
    const std::optional<Manifest>& manifest() const noexcept { return manifest_; }

    /// The disk called `choice` (its id, or its number from 1); with an empty choice the only
    /// disk, or the first when there are several. Error(Errc::invalid_argument) lists the disks
    /// when `choice` names none.
    const OvfDisk& choose_disk(const std::string& choice) const;
    const OvfFile* file_of(const OvfDisk& disk) const noexcept;
    /// The disk `disk`'s ovf:parentRef names; Error(Errc::corrupt) when it names none.
    const OvfDisk* parent_of(const OvfDisk& disk) const;

    /// The disk's bytes as its format reader should see them: the member, or the chunks end to end,
    /// inflated when gzip-compressed; each member checked against the manifest as it is read.
    /// Error(Errc::corrupt) when a member the descriptor names is missing.
    std::shared_ptr<const ByteSource> disk_source(const OvfDisk& disk);

    /// A member by name relative to `folder` (a disk's folder inside the package), for VMDK
    /// descriptors that name other files; Error(Errc::corrupt) when the package has no such member.
    std::shared_ptr<const ByteSource> related_member(const std::string& folder, const std::string& name);

    /// Hashes what was never read of the members of `disk` (and of its parents) and compares them
    /// with the manifest.
    void finish_verification(const OvfDisk& disk);

    /// {"package": {...}, "vm": {...}, "disks": [...]}: what imginfo shows of the package.
    nlohmann::ordered_json describe();

private:
    /// The members a File is stored in: one, or its chunks in order.
    std::vector<const TarMember*> members_of(const OvfFile& file) const;
    const TarMember* find_member(const std::string& name) const noexcept;
    /// A member's bytes, through its VerifyingSource when the manifest lists it.
    std::shared_ptr<const ByteSource> member_source(const TarMember& member);
    std::string relative_name(const TarMember& member) const;
    std::string resolve_href(const std::string& href) const;
    std::string read_small_member(const TarMember& member, std::uint64_t limit);
    void check_manifest_coverage();
    std::string detected_format(const OvfDisk& disk);

    std::shared_ptr<const ByteSource> ova_;
    std::vector<TarMember> members_;
    std::string folder_;  ///< the descriptor's folder inside the package, "" at the top
    std::string descriptor_name_;
    OvfDescriptor descriptor_;
    std::optional<Manifest> manifest_;
    std::optional<Certificate> certificate_;
    std::map<std::string, std::shared_ptr<VerifyingSource>> verifiers_;  ///< by member name
    std::vector<std::string> warnings_;
};

}  // namespace diskshift::formats::ova
