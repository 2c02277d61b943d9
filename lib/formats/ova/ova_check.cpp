// Checking an OVA (DSP0243): the tar headers, the OVF descriptor (and its manifest digest), each
// disk checked by its own format's checker in place (a window of the package, so problems give
// offsets in the .ova file), and every disk member's manifest digest computed over all its bytes.
// A disk stored gzip-compressed or in chunks is checked through its inflated bytes; its problems'
// offsets are then inside the inflated disk. The other members the manifest lists (NVRAM, ISO
// images not attached as disks) are hashed too.
#include <algorithm>
#include <set>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/sha.hpp"
#include "formats/checks.hpp"
#include "formats/ova/ova_package.hpp"
#include "formats/ova/tar_index.hpp"

namespace diskshift::formats {
namespace {

using ova::OvaPackage;
using ova::OvfDisk;
using ova::TarMember;

/// What the package's members are: their tar index, and the descriptor's folder.
struct Members {
    std::vector<TarMember> list;
    std::string folder;
    std::uint64_t descriptor_offset = 0;

    const TarMember* find(const std::string& href) const
    {
        const auto path = ova::normalise_member_name(folder.empty() ? href : folder + "/" + href);
        for (const TarMember& m : list) {
            if (path && m.name == *path) {
                return &m;
            }
        }
        return nullptr;
    }
};

std::string folder_of(const std::string& path)
{
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

/// Members are hashed this many bytes at a time.
constexpr std::uint64_t hash_piece_bytes = 4ULL << 20;

class OvaChecker {
public:
    OvaChecker(std::shared_ptr<const ByteSource> ova, const OpenContext& context, CheckReport& report)
        : ova_(std::move(ova)), context_(context), report_(report)
    {
    }

    void run()
    {
        try {
            members_.list = ova::index_tar(*ova_);
        } catch (const Error& e) {
            report_.add_error("tar", e);
            return;
        }
        for (const TarMember& m : members_.list) {
            if (ova::is_descriptor_name(m.name)) {
                members_.folder = folder_of(m.name);
                members_.descriptor_offset = m.data_offset;
                break;
            }
        }
        try {
            package_ = std::make_shared<OvaPackage>(ova_);
        } catch (const Error& e) {
            add_error("OVF descriptor", members_.descriptor_offset, e);
            return;
        }
        std::vector<const OvfDisk*> disks;
        if (!context_.options.disk.empty()) {
            disks.push_back(&package_->choose_disk(context_.options.disk));
        } else {
            for (const OvfDisk& disk : package_->descriptor().disks) {
                disks.push_back(&disk);
            }
        }
        std::string kinds;
        for (const OvfDisk* disk : disks) {
            const std::string kind = check_disk(*disk);
            if (!kind.empty()) {
                kinds += (kinds.empty() ? "" : ", ") + kind;
            }
        }
        if (!kinds.empty()) {
            report_.subformat = kinds;
        }
        check_other_digests();
    }

private:
    /// An error as a problem at `fallback` when its message names no offset; each message once
    /// (a parent disk's digest verdict repeats when its child is verified).
    void add_error(const std::string& structure, std::uint64_t fallback, const Error& e)
    {
        if (!reported_.insert(e.what()).second) {
            return;
        }
        const std::size_t before = report_.problems.size();
        report_.add_error(structure, e);
        if (report_.problems.size() > before && !report_.problems.back().offset) {
            report_.problems.back().offset = fallback;
        }
    }

    /// Members the manifest lists that no disk check verified: each hashed whole and compared.
    void check_other_digests()
    {
        const auto& manifest = package_->manifest();
        if (!manifest) {
            return;
        }
        std::vector<std::byte> buffer;
        for (const ova::ManifestEntry& entry : manifest->entries) {
            const TarMember* member = members_.find(entry.file);
            const auto algorithm = sha_algorithm_named(entry.algorithm);
            if (member == nullptr || !algorithm || verified_.contains(member->name) ||
                ova::is_descriptor_name(member->name)) {
                continue;  // missing members are the package's warnings; the descriptor was verified on opening
            }
            Sha sha(*algorithm);
            buffer.resize(static_cast<std::size_t>(std::min(hash_piece_bytes, member->size)));
            for (std::uint64_t at = 0; at < member->size; at += hash_piece_bytes) {
                const auto piece = std::span(buffer).first(static_cast<std::size_t>(std::min(hash_piece_bytes, member->size - at)));
                ova_->read_at(piece, member->data_offset + at);
                sha.update(piece);
            }
            if (const std::string digest = sha.finish(); digest != entry.digest) {
                report_.add(fmt::format("manifest digest of \"{}\"", member->name), member->data_offset,
                            fmt::format("{} digest {} does not match the one {} lists on line {} ({})", entry.algorithm,
                                        digest, manifest->name, entry.line, entry.digest));
            }
        }
    }

    /// Checks one disk; returns "<format>/<subformat>" for the summary.
    std::string check_disk(const OvfDisk& disk)
    {
        const ova::OvfFile* file = package_->file_of(disk);
        if (file == nullptr) {
            return {};  // a blank disk: nothing stored
        }
        mark_verified(file->href);
        const TarMember* member = members_.find(file->href);
        // Offsets inside messages are the disk file's own; the problem's offset is in the package.
        const std::string label = member ? fmt::format("disk {} ({}, member data at 0x{:x}): ", disk.id, file->href,
                                                       member->data_offset)
                                         : fmt::format("disk {} ({}): ", disk.id, file->href);
        const std::uint64_t member_offset = member ? member->data_offset : 0;
        std::shared_ptr<const ByteSource> verified;
        try {
            verified = package_->disk_source(disk);  // also sets up the manifest check of its members
        } catch (const Error& e) {
            add_error(label + "file", member_offset, e);
            return {};
        }
        // Stored plainly in one member: checked in place, offsets in the package.
        const bool in_place = member != nullptr && file->compression.empty() && member->size == verified->size();
        const std::shared_ptr<const ByteSource> bytes =
            in_place ? std::make_shared<SubrangeSource>(ova_, member->data_offset, member->size,
                                                        fmt::format("{}:{}", ova_->name(), member->name))
                     : verified;
        CheckReport inner;
        inner.filename = bytes->name();
        inner.max_problems = report_.max_problems;
        inner.read_data = report_.read_data;
        std::string kind;
        try {
            const Format& format = ova::probed_format_or_raw(*bytes);
            inner.format = std::string(format.name());
            format.check(bytes, inner_context(file->href), inner);
            kind = inner.format + (inner.subformat ? "/" + *inner.subformat : "");
        } catch (const Error& e) {
            inner.add_error("image", e);
        }
        report_.merge(inner, label, in_place ? member->data_offset : 0);
        try {
            package_->finish_verification(disk);
        } catch (const Error& e) {
            add_error(label + "manifest digest", member_offset, e);
        }
        return kind;
    }

    /// The members of a disk file (the file, or its chunks "<href>.000000000"…), whose digests
    /// OvaPackage::finish_verification() checks.
    void mark_verified(const std::string& href)
    {
        const auto path = ova::normalise_member_name(members_.folder.empty() ? href : members_.folder + "/" + href);
        for (const TarMember& m : members_.list) {
            if (path && (m.name == *path || m.name.starts_with(*path + "."))) {
                verified_.insert(m.name);
            }
        }
    }

    /// Files a VMDK descriptor inside the package names are members of the package.
    OpenContext inner_context(const std::string& href) const
    {
        OpenContext inner = context_;
        inner.options.format.clear();
        inner.options.disk.clear();
        inner.depth = context_.depth + 1;
        inner.resolver = [package = package_, folder = folder_of(href)](const std::string& name) {
            return package->related_member(folder, name);
        };
        return inner;
    }

    std::shared_ptr<const ByteSource> ova_;
    const OpenContext& context_;
    CheckReport& report_;
    Members members_;
    std::shared_ptr<OvaPackage> package_;
    std::set<std::string> reported_;
    std::set<std::string> verified_;  ///< member names whose digest a disk check verifies
};

}  // namespace

void check_ova(const Format&, std::shared_ptr<const ByteSource> source, const OpenContext& context,
               CheckReport& report)
{
    OvaChecker(std::move(source), context, report).run();
}

}  // namespace diskshift::formats
