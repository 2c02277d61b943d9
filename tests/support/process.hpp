// Running programs (the built tools, qemu-img) and capturing their exit status and output.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dstest {

/// How a process ended.
struct ExitStatus {
    bool exited = false;  ///< false: killed by a signal
    int code = -1;        ///< the exit status when `exited`
    int signal = 0;       ///< the signal that killed it otherwise

    static ExitStatus from_wait_status(int status);
    /// "exit status 1" or "killed by signal 2 (Interrupt)".
    std::string describe() const;
};

struct ProcessResult {
    ExitStatus status;
    std::string out;  ///< everything written to stdout
    std::string err;  ///< everything written to stderr
    double seconds = 0;               ///< wall time from start to exit
    std::uint64_t max_rss_bytes = 0;  ///< the child's peak resident memory (wait4's ru_maxrss)

    /// The exit code, or -1000 - signal when killed, so that CHECK(exit_code() == 0) tells both.
    int exit_code() const noexcept { return status.exited ? status.code : -1000 - status.signal; }
    /// The command's status and output, for failure messages.
    std::string describe() const;
};

/// Runs `argv` (argv[0] a path, no shell) with stdin from /dev/null and stdout and stderr captured
/// through pipes (so neither is a terminal), and waits for it.
ProcessResult run_process(const std::vector<std::string>& argv);

/// A process started in the background with stdout and stderr going to files. The destructor
/// kills it (SIGKILL) and reaps it if it is still running.
class BackgroundProcess {
public:
    BackgroundProcess(const std::vector<std::string>& argv, const std::filesystem::path& out_file,
                      const std::filesystem::path& err_file);
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;

    pid_t pid() const noexcept { return pid_; }
    /// True once the process has ended (it is then reaped, and wait() returns its status at once).
    bool has_exited();
    void send_signal(int signal_number) const;
    ExitStatus wait();

private:
    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;
};

/// Runs the built tool `name` with `args`, like run_process().
ProcessResult run_tool(const std::string& name, const std::vector<std::string>& args);

/// The most memory a tool may use on a small hostile input: 64 MiB. Sanitizer builds add shadow
/// memory and a quarantine of freed blocks (100-200 MiB measured), so there the bound is only a
/// guard against runaway allocation; the release build checks the real one.
std::uint64_t hostile_input_memory_limit() noexcept;

/// A built tool of this project: DISKSHIFT_BIN_DIR/<name>. Fails the test if it does not exist.
std::filesystem::path tool_path(const std::string& name);

/// `name` searched on PATH, if found.
std::optional<std::filesystem::path> find_on_path(const std::string& name);

/// A pid that no process has: a child that has already been reaped (or 999999 if that one runs).
pid_t dead_pid();

}  // namespace dstest
