#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <system_error>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/files.hpp"

namespace dstest {
namespace {

[[noreturn]] void throw_errno(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

/// Both ends of a pipe, closed on destruction unless released.
struct Pipe {
    int read = -1;
    int write = -1;

    Pipe()
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            throw_errno("pipe2");
        }
        read = fds[0];
        write = fds[1];
    }
    ~Pipe()
    {
        close_read();
        close_write();
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;

    void close_read() { close_fd(read); }
    void close_write() { close_fd(write); }

private:
    static void close_fd(int& fd)
    {
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
    }
};

/// In the child: makes `fd` the descriptor `target`, or exits with 127.
void redirect_or_die(int fd, int target)
{
    if (::dup2(fd, target) < 0) {
        ::_exit(127);
    }
}

/// In the child: replaces the process by `argv`; exits with 127 if it cannot.
[[noreturn]] void exec_or_die(const std::vector<std::string>& argv)
{
    std::vector<char*> args;
    for (const std::string& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    const std::string message = fmt::format("cannot run {}: {}\n", argv[0], ::strerror(errno));
    (void)!::write(STDERR_FILENO, message.data(), message.size());
    ::_exit(127);
}

/// Forks a child whose stdin is /dev/null and stdout/stderr are `out` and `err`, running `argv`.
pid_t spawn(const std::vector<std::string>& argv, int out, int err)
{
    const Fd null = open_file("/dev/null", O_RDONLY);
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw_errno("fork");
    }
    if (pid == 0) {
        redirect_or_die(null.get(), STDIN_FILENO);
        redirect_or_die(out, STDOUT_FILENO);
        redirect_or_die(err, STDERR_FILENO);
        exec_or_die(argv);
    }
    return pid;
}

/// Waits for `pid`; `usage`, when given, receives the child's resource use (its peak memory).
ExitStatus wait_for(pid_t pid, rusage* usage = nullptr)
{
    int status = 0;
    while (::wait4(pid, &status, 0, usage) < 0) {
        if (errno != EINTR) {
            throw_errno("wait4");
        }
    }
    return ExitStatus::from_wait_status(status);
}

/// Reads both pipes until both reach end of file, so neither child write can block.
void drain(int out_fd, int err_fd, std::string& out, std::string& err)
{
    std::array<pollfd, 2> fds{{{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}}};
    std::array<std::string*, 2> sinks{&out, &err};
    std::array<char, 65536> buffer{};
    int open_count = 2;
    while (open_count > 0) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("poll");
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
            if (n > 0) {
                sinks[i]->append(buffer.data(), static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_count;
            }
        }
    }
}

}  // namespace

ExitStatus ExitStatus::from_wait_status(int status)
{
    ExitStatus out;
    out.exited = WIFEXITED(status);
    out.code = out.exited ? WEXITSTATUS(status) : -1;
    out.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return out;
}

std::string ExitStatus::describe() const
{
    return exited ? fmt::format("exit status {}", code) : fmt::format("killed by signal {} ({})", signal, ::strsignal(signal));
}

std::string ProcessResult::describe() const
{
    return fmt::format("{}\n--- stdout ---\n{}\n--- stderr ---\n{}", status.describe(), out.substr(0, 4000),
                       err.substr(0, 4000));
}

ProcessResult run_process(const std::vector<std::string>& argv)
{
    Pipe out_pipe;
    Pipe err_pipe;
    const auto started = std::chrono::steady_clock::now();
    const pid_t pid = spawn(argv, out_pipe.write, err_pipe.write);
    out_pipe.close_write();
    err_pipe.close_write();
    ProcessResult result;
    drain(out_pipe.read, err_pipe.read, result.out, result.err);
    rusage usage{};
    result.status = wait_for(pid, &usage);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    result.max_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // ru_maxrss is in KiB
    return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const std::filesystem::path& out_file,
                                     const std::filesystem::path& err_file)
{
    const Fd out = open_file(out_file, O_WRONLY | O_CREAT | O_TRUNC);
    const Fd err = open_file(err_file, O_WRONLY | O_CREAT | O_TRUNC);
    pid_ = spawn(argv, out.get(), err.get());
}

BackgroundProcess::~BackgroundProcess()
{
    if (!status_) {
        ::kill(pid_, SIGKILL);
        int ignored = 0;
        ::waitpid(pid_, &ignored, 0);
    }
}

bool BackgroundProcess::has_exited()
{
    if (status_) {
        return true;
    }
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done < 0) {
        throw_errno("waitpid");
    }
    if (done == pid_) {
        status_ = ExitStatus::from_wait_status(status);
    }
    return status_.has_value();
}

void BackgroundProcess::send_signal(int signal_number) const
{
    if (::kill(pid_, signal_number) != 0) {
        throw_errno("kill");
    }
}

ExitStatus BackgroundProcess::wait()
{
    if (!status_) {
        status_ = wait_for(pid_);
    }
    return *status_;
}

std::filesystem::path tool_path(const std::string& name)
{
    const std::filesystem::path path = std::filesystem::path(DISKSHIFT_BIN_DIR) / name;
    REQUIRE_MESSAGE(::access(path.c_str(), X_OK) == 0, "the tool ", path.string(), " has not been built");
    return path;
}

ProcessResult run_tool(const std::string& name, const std::vector<std::string>& args)
{
    std::vector<std::string> argv{tool_path(name).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv);
}

std::optional<std::filesystem::path> find_on_path(const std::string& name)
{
    const char* path_variable = std::getenv("PATH");
    std::string_view rest = path_variable != nullptr ? path_variable : "/usr/bin:/bin";
    while (!rest.empty()) {
        const std::size_t colon = rest.find(':');
        const std::filesystem::path candidate = std::filesystem::path(rest.substr(0, colon)) / name;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
    return std::nullopt;
}

pid_t dead_pid()
{
    const pid_t child = ::fork();
    if (child < 0) {
        throw_errno("fork");
    }
    if (child == 0) {
        ::_exit(0);
    }
    wait_for(child);
    // The pid is free until the kernel hands it out again, which takes a full lap of pid numbers.
    if (::kill(child, 0) != 0 && errno == ESRCH) {
        return child;
    }
    constexpr pid_t unlikely_pid = 999999;
    REQUIRE_MESSAGE((::kill(unlikely_pid, 0) != 0 && errno == ESRCH), "no dead pid found");
    return unlikely_pid;
}

std::uint64_t hostile_input_memory_limit() noexcept
{
#ifdef DISKSHIFT_SANITIZED
    return 512ULL << 20;
#else
    return 64ULL << 20;
#endif
}

}  // namespace dstest
