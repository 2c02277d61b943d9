#include "common/cli.hpp"

#include <csignal>
#include <iostream>

#include <fmt/format.h>

#include <diskshift/error.hpp>
#include <diskshift/version.hpp>

namespace diskshift::cli {
namespace {

volatile std::sig_atomic_t signal_seen = 0;

extern "C" void note_signal(int signal_number)
{
    signal_seen = signal_number;
}

void install_signal_handlers()
{
    struct sigaction action {};
    action.sa_handler = note_signal;
    sigemptyset(&action.sa_mask);
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
        sigaction(signal_number, &action, nullptr);
    }
    // A closed pipe on stdout, or a file grown past the size limit, is a write error to report,
    // not a reason to die.
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
}

int report_failure(const std::string& tool, const std::string& message)
{
    std::cout.flush();
    std::cerr << tool << ": " << message << '\n';
    return exit_failed;
}

}  // namespace

bool interrupted() noexcept
{
    return signal_seen != 0;
}

int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body)
{
    const std::string tool = app.get_name();
    app.set_version_flag("--version", std::string(diskshift::version()));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    install_signal_handlers();
    try {
        body();
        std::cout.flush();
        // A signal that arrives once the work is complete (during the final rename, say) changes
        // nothing: the output is whole, so the run succeeded.
        if (!std::cout) {
            return report_failure(tool, "cannot write to standard output");
        }
        return exit_ok;
    } catch (const Error& e) {
        if (e.code() == Errc::cancelled && interrupted()) {
            return report_failure(tool, fmt::format("interrupted by signal {}; {}", static_cast<int>(signal_seen),
                                                    e.what()));
        }
        return report_failure(tool, e.what());
    } catch (const UsageError& e) {
        report_failure(tool, e.what());
        return exit_usage;
    } catch (const std::bad_alloc&) {
        return report_failure(tool, "out of memory");
    } catch (const std::exception& e) {
        return report_failure(tool, fmt::format("internal error: {}", e.what()));
    }
}

}  // namespace diskshift::cli
