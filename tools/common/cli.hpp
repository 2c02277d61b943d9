// Shared plumbing for the command-line tools: exit codes, signals, progress.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include <diskshift/image.hpp>

namespace diskshift::cli {

/// Exit statuses every tool uses.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;

/// A tool's main: parses the arguments (bad usage exits 2, --help 0), turns SIGINT, SIGTERM and
/// SIGHUP into a cancellation, runs `body`, and reports any failure on stderr as
/// "<tool>: <message>" with exit status 1. No output is left behind on failure: the library's
/// sinks remove their temporary files as the exception unwinds.
int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body);

/// A usage error found only once the input is open (an OVA with several disks and no --disk):
/// run() reports it like a bad argument, with exit status 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// True once a terminating signal has arrived.
bool interrupted() noexcept;

/// A progress callback that stops the work when a signal arrives, and draws a progress bar on
/// stderr when `show` is set: on a terminal only, unless `force`.
ProgressFn progress_callback(bool show, bool force);

/// `value` as indented JSON text. Strings from a damaged image may hold bytes that are not UTF-8:
/// they become U+FFFD instead of an exception.
template <typename Json>
std::string json_text(const Json& value)
{
    return value.dump(2, ' ', false, Json::error_handler_t::replace);
}

}  // namespace diskshift::cli
