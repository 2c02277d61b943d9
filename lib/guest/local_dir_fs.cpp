#include "guest/local_dir_fs.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/fail.hpp"

extern char** environ;

namespace diskshift::guest {
namespace fs = std::filesystem;
namespace {

std::string read_all(int fd)
{
    std::string out;
    std::array<char, 4096> buf{};
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n > 0) {
            out.append(buf.data(), static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            return out;
        }
    }
}

/// The environment of this process plus DISKSHIFT_GUEST_ROOT.
std::vector<std::string> child_environment(const fs::path& root)
{
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        if (std::string_view(*entry).rfind("DISKSHIFT_GUEST_ROOT=", 0) != 0) {
            env.emplace_back(*entry);
        }
    }
    env.push_back("DISKSHIFT_GUEST_ROOT=" + root.string());
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings)
{
    std::vector<char*> pointers;
    for (auto& s : strings) {
        pointers.push_back(s.data());
    }
    pointers.push_back(nullptr);
    return pointers;
}

/// Runs `program` with `argv`, its output captured, in folder `cwd`.
CommandResult spawn_and_wait(const fs::path& program, std::vector<std::string> argv, const fs::path& cwd)
{
    std::array<int, 2> pipe_fds{};
    if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
        fail_errno(errno, "pipe");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    std::vector<std::string> env = child_environment(cwd);
    pid_t pid = 0;
    const int err = posix_spawn(&pid, program.c_str(), &actions, nullptr, c_strings(argv).data(),
                                c_strings(env).data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (err != 0) {
        ::close(pipe_fds[0]);
        fail(Errc::guest, "{}: cannot run: {}", program.string(), std::strerror(err));
    }
    CommandResult result;
    result.output = read_all(pipe_fds[0]);
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

}  // namespace

LocalDirGuestFs::LocalDirGuestFs(fs::path root, std::vector<Filesystem> filesystems, std::vector<Disk> disks)
    : root_(std::move(root)), filesystems_(std::move(filesystems)), disks_(std::move(disks))
{
    if (!fs::is_directory(root_)) {
        fail(Errc::guest, "{}: not a folder", root_.string());
    }
}

std::string LocalDirGuestFs::name() const { return root_.string(); }

fs::path LocalDirGuestFs::host_path(const std::string& guest_path) const
{
    const fs::path relative = fs::path(guest_path).relative_path();
    if (std::ranges::find(relative, "..") != relative.end()) {
        fail(Errc::guest, "{}: the guest path {} leaves the guest's root", name(), guest_path);
    }
    return root_ / relative;
}

bool LocalDirGuestFs::exists(const std::string& path) const
{
    std::error_code ec;
    return fs::exists(fs::symlink_status(host_path(path), ec));
}

bool LocalDirGuestFs::is_directory(const std::string& path) const { return fs::is_directory(host_path(path)); }

std::string LocalDirGuestFs::read_file(const std::string& path) const
{
    std::ifstream in(host_path(path), std::ios::binary);
    if (!in) {
        fail(Errc::guest, "{}: cannot read {}", name(), path);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void LocalDirGuestFs::write_file(const std::string& path, std::string_view content)
{
    std::ofstream out(host_path(path), std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.flush()) {
        fail(Errc::guest, "{}: cannot write {}", name(), path);
    }
}

std::vector<std::string> LocalDirGuestFs::list(const std::string& folder) const
{
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(host_path(folder), ec)) {
        names.push_back(entry.path().filename().string());
    }
    std::ranges::sort(names);
    return names;
}

void LocalDirGuestFs::make_directories(const std::string& path)
{
    std::error_code ec;
    fs::create_directories(host_path(path), ec);
    if (ec) {
        fail(Errc::guest, "{}: cannot create folder {}: {}", name(), path, ec.message());
    }
}

void LocalDirGuestFs::copy(const std::string& from, const std::string& to)
{
    std::error_code ec;
    fs::copy_file(host_path(from), host_path(to), fs::copy_options::overwrite_existing, ec);
    if (ec) {
        fail(Errc::guest, "{}: cannot copy {} to {}: {}", name(), from, to, ec.message());
    }
}

void LocalDirGuestFs::rename(const std::string& from, const std::string& to)
{
    std::error_code ec;
    fs::rename(host_path(from), host_path(to), ec);
    if (ec) {
        fail(Errc::guest, "{}: cannot rename {} to {}: {}", name(), from, to, ec.message());
    }
}

void LocalDirGuestFs::remove(const std::string& path)
{
    std::error_code ec;
    fs::remove(host_path(path), ec);
    if (ec) {
        fail(Errc::guest, "{}: cannot remove {}: {}", name(), path, ec.message());
    }
}

CommandResult LocalDirGuestFs::run(const std::vector<std::string>& argv)
{
    if (argv.empty()) {
        fail(Errc::invalid_argument, "{}: run() needs a program", name());
    }
    std::vector<std::string> candidates;
    if (argv[0].starts_with('/')) {
        candidates.push_back(argv[0]);
    } else {
        for (const char* folder : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
            candidates.push_back(folder + argv[0]);
        }
    }
    for (const auto& candidate : candidates) {
        const fs::path program = host_path(candidate);
        if (::access(program.c_str(), X_OK) == 0) {
            return spawn_and_wait(program, argv, root_);
        }
    }
    fail(Errc::guest, "{}: the guest has no program {}", name(), argv[0]);
}

std::uint64_t LocalDirGuestFs::free_bytes(const std::string& path) const
{
    std::error_code ec;
    const auto space = fs::space(host_path(path), ec);
    if (ec) {
        fail(Errc::guest, "{}: cannot tell the free space of {}: {}", name(), path, ec.message());
    }
    return space.available;
}

}  // namespace diskshift::guest
