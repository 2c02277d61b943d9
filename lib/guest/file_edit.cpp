#include "guest/file_edit.hpp"

namespace diskshift::guest {
namespace {

std::string parent_folder(const std::string& path)
{
    const auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? std::string("/") : path.substr(0, slash);
}

}  // namespace

std::string keep_original(GuestFs& fs, const std::string& path, BackupPlace place)
{
    std::string backup = backup_path(path, place);
    if (!fs.exists(backup)) {
        fs.make_directories(parent_folder(backup));
        fs.copy(path, backup);
    }
    return backup;
}

std::string backup_path(const std::string& path, BackupPlace place)
{
    if (place == BackupPlace::beside) {
        return path + std::string(backup_suffix);
    }
    return std::string(backup_folder) + path;
}

std::optional<Change> replace_file(GuestFs& fs, const std::string& path, std::string_view content,
                                   BackupPlace place, std::string detail)
{
    if (fs.read_file(path) == content) {
        return std::nullopt;
    }
    std::string backup = keep_original(fs, path, place);
    fs.write_file(path, content);
    return Change{path, "edited", std::move(backup), std::move(detail)};
}

std::optional<Change> write_file(GuestFs& fs, const std::string& path, std::string_view content, BackupPlace place,
                                 std::string detail)
{
    if (fs.exists(path)) {
        return replace_file(fs, path, content, place, std::move(detail));
    }
    fs.make_directories(parent_folder(path));
    fs.write_file(path, content);
    return Change{path, "created", "", std::move(detail)};
}

std::optional<Change> remove_file(GuestFs& fs, const std::string& path, BackupPlace place, std::string detail)
{
    if (!fs.exists(path)) {
        return std::nullopt;
    }
    std::string backup = backup_path(path, place);
    if (fs.exists(backup)) {
        fs.remove(path);
    } else {
        fs.make_directories(parent_folder(backup));
        fs.rename(path, backup);
    }
    return Change{path, "removed", std::move(backup), std::move(detail)};
}

}  // namespace diskshift::guest
