#include "guest/recording_fs.hpp"

#include <algorithm>

#include "core/fail.hpp"

namespace diskshift::guest {
namespace {

/// "/etc/fstab" -> "/etc"; "/x" -> "/".
std::string parent_of(const std::string& path)
{
    const auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? std::string("/") : path.substr(0, slash);
}

std::string child_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

const RecordingGuestFs::Entry* RecordingGuestFs::entry(const std::string& path) const
{
    const auto it = entries_.find(path);
    return it != entries_.end() ? &it->second : nullptr;
}

bool RecordingGuestFs::exists(const std::string& path) const
{
    if (const Entry* e = entry(path)) {
        return e->kind != Entry::Kind::removed;
    }
    return folders_.contains(path) || base_.exists(path);
}

bool RecordingGuestFs::is_directory(const std::string& path) const
{
    if (const Entry* e = entry(path)) {
        return e->kind == Entry::Kind::guest_file && base_.is_directory(e->value);
    }
    return folders_.contains(path) || base_.is_directory(path);
}

std::string RecordingGuestFs::read_file(const std::string& path) const
{
    const Entry* e = entry(path);
    if (e == nullptr) {
        return base_.read_file(path);
    }
    switch (e->kind) {
    case Entry::Kind::content:
        return e->value;
    case Entry::Kind::guest_file:
        return base_.read_file(e->value);
    case Entry::Kind::removed:
        break;
    }
    fail(Errc::guest, "{}: cannot read {}: removed earlier in this dry run", name(), path);
}

void RecordingGuestFs::write_file(const std::string& path, std::string_view content)
{
    entries_[path] = {Entry::Kind::content, std::string(content)};
}

std::vector<std::string> RecordingGuestFs::list(const std::string& folder) const
{
    std::set<std::string> names;
    if (!entry(folder)) {
        const auto guest_names = base_.list(folder);
        names.insert(guest_names.begin(), guest_names.end());
    }
    for (const auto& [path, e] : entries_) {
        if (parent_of(path) == folder) {
            if (e.kind == Entry::Kind::removed) {
                names.erase(child_name(path));
            } else {
                names.insert(child_name(path));
            }
        }
    }
    for (const auto& path : folders_) {
        if (path != "/" && parent_of(path) == folder) {
            names.insert(child_name(path));
        }
    }
    return {names.begin(), names.end()};
}

void RecordingGuestFs::make_directories(const std::string& path)
{
    for (std::string folder = path; folder != "/" && !folder.empty(); folder = parent_of(folder)) {
        folders_.insert(folder);
    }
}

void RecordingGuestFs::copy(const std::string& from, const std::string& to)
{
    if (!exists(from)) {
        fail(Errc::guest, "{}: cannot copy {}: no such file", name(), from);
    }
    const Entry* source = entry(from);
    entries_[to] = source != nullptr ? *source : Entry{Entry::Kind::guest_file, from};
}

void RecordingGuestFs::rename(const std::string& from, const std::string& to)
{
    copy(from, to);
    entries_[from] = {Entry::Kind::removed, ""};
}

void RecordingGuestFs::remove(const std::string& path)
{
    if (!exists(path)) {
        fail(Errc::guest, "{}: cannot remove {}: no such file", name(), path);
    }
    entries_[path] = {Entry::Kind::removed, ""};
}

CommandResult RecordingGuestFs::run(const std::vector<std::string>& argv)
{
    commands_.push_back(argv);
    return {};
}

std::vector<RecordingGuestFs::WrittenFile> RecordingGuestFs::written_files() const
{
    std::vector<WrittenFile> files;
    for (const auto& [path, e] : entries_) {
        if (e.kind != Entry::Kind::content) {
            continue;
        }
        const bool existed = base_.exists(path);
        std::string before = existed ? base_.read_file(path) : std::string();
        if (!existed || before != e.value) {
            files.push_back({path, existed, std::move(before), e.value});
        }
    }
    return files;
}

}  // namespace diskshift::guest
