// Internal: how every fixup changes a guest file — only when the content differs, keeping the first
// original, so that a second run changes nothing and the user can always go back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <diskshift/guest.hpp>

namespace diskshift::guest {

/// Where the original of a changed file is kept.
enum class BackupPlace {
    /// Beside the file as `<file>.diskshift.orig`: a suffix that RHEL initscripts and
    /// NetworkManager ignore (they skip `*.orig`), and that readers of `*.conf`, `*.rules`, `*.yaml`
    /// never load.
    beside,
    /// Under /var/lib/diskshift/backup/<path>: for folders whose every file is loaded
    /// (network-scripts, system-connections, netplan, interfaces.d, systemd/network), where even
    /// an ignored suffix is not safe for every reader.
    backup_folder,
};

inline constexpr std::string_view backup_suffix = ".diskshift.orig";
inline constexpr std::string_view backup_folder = "/var/lib/diskshift/backup";

/// Where the original of `path` goes for `place`.
std::string backup_path(const std::string& path, BackupPlace place);

/// Copies `path` to its backup place unless an earlier run kept its original there already (the
/// first original wins); returns the backup's path. For files a guest tool rewrites (an initrd).
std::string keep_original(GuestFs& fs, const std::string& path, BackupPlace place);

/// Replaces the content of `path` (an existing file) with `content`. Returns nothing when the
/// content is already that; otherwise keeps the original (unless a backup from an earlier run is
/// there already: the first original wins) and returns an "edited" change.
std::optional<Change> replace_file(GuestFs& fs, const std::string& path, std::string_view content,
                                   BackupPlace place, std::string detail);

/// Creates `path` with `content` when it is missing ("created", no backup), replaces it as
/// replace_file() does otherwise.
std::optional<Change> write_file(GuestFs& fs, const std::string& path, std::string_view content, BackupPlace place,
                                 std::string detail);

/// Moves `path` to its backup place; nothing when `path` is already gone.
std::optional<Change> remove_file(GuestFs& fs, const std::string& path, BackupPlace place, std::string detail);

}  // namespace diskshift::guest
