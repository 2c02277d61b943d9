// diskshift — fix_guest(): make the disks of one Linux VM ready to boot in a cloud: pre-flight
// checks, then fstab, network, GRUB and initrd fixups, through libguestfs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <diskshift/guest.hpp>
#include <diskshift/image.hpp>

namespace diskshift {

struct FixRequest {
    /// Change nothing: run the fixups against an in-memory copy of every change and report diffs.
    bool dry_run = false;
    /// Inspect and run the checks only.
    bool check_only = false;
    /// Empty: change the images in place. Otherwise convert them to raw first and fix the copies:
    /// one image goes to this file, several to `<this folder>/<image name>.raw`.
    std::filesystem::path output;
    /// The images' format ("raw" must be named); empty to probe each image.
    std::string input_format;
    guest::FixOptions options;
    ProgressFn progress;  ///< called while the images are converted for `output`
};

/// What a dry run would write to one file.
struct FileDiff {
    std::string file;
    std::string diff;  ///< unified diff (diff -u)
};

struct FixReport {
    bool dry_run = false;
    bool check_only = false;
    guest::OsInfo os;
    std::vector<guest::Check> checks;
    std::vector<guest::Change> changes;  ///< in a dry run: the changes that would be made
    std::vector<FileDiff> diffs;         ///< dry run only
    std::vector<std::filesystem::path> images;  ///< the images inspected or fixed (the copies with `output`)

    bool any_check_failed() const;
};

/// Inspects and checks the guest on `images` (all the disks of one VM, boot disk first) and, unless
/// check_only, fixes it. Images libguestfs cannot write (stream-optimized VMDK, OVA) are refused
/// unless `output` is given or nothing is to be written. Throws Error (Errc::guest for libguestfs
/// failures, Errc::unsupported for formats and guests it cannot handle).
FixReport fix_guest(const std::vector<std::filesystem::path>& images, const FixRequest& request);

/// {"os":{...},"checks":[...],"changes":[{"file","action","backup","detail"}]}, plus "diffs" in a
/// dry run.
nlohmann::ordered_json to_json(const FixReport& report);

}  // namespace diskshift
