// The progress bar: bytes done, rate and time left, redrawn at most ten times a second on a
// terminal, or printed as a line a second when forced onto a file or pipe.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include <diskshift/inspect.hpp>

#include "common/cli.hpp"

namespace diskshift::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string clock_time(double seconds)
{
    const auto whole = static_cast<long long>(seconds + 0.5);
    return whole >= 3600 ? fmt::format("{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60)
                         : fmt::format("{}:{:02}", whole / 60, whole % 60);
}

class ProgressBar {
public:
    explicit ProgressBar(bool terminal) : terminal_(terminal) {}

    void update(std::uint64_t done, std::uint64_t total)
    {
        const Clock::time_point now = Clock::now();
        const bool finished = done >= total;
        if (!finished && now - last_draw_ < (terminal_ ? std::chrono::milliseconds(100) : std::chrono::seconds(1))) {
            return;
        }
        if (finished && drew_final_) {
            return;
        }
        last_draw_ = now;
        drew_final_ = finished;
        draw(done, total, std::chrono::duration<double>(now - start_).count());
    }

private:
    void draw(std::uint64_t done, std::uint64_t total, double elapsed) const
    {
        const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
        const auto rate = static_cast<std::uint64_t>(elapsed > 0 ? static_cast<double>(done) / elapsed : 0);
        const std::string left = fraction >= 1.0   ? fmt::format("in {}", clock_time(elapsed))
                                 : fraction > 0.0 ? fmt::format("ETA {}", clock_time(elapsed / fraction - elapsed))
                                                  : "ETA --:--";
        constexpr int width = 30;
        const int filled = static_cast<int>(fraction * width);
        const std::string line =
            fmt::format("[{:#<{}}{:.<{}}] {:5.1f}%  {} / {}  {}/s  {}", "", filled, "", width - filled,
                        fraction * 100, human_size(done), human_size(total), human_size(rate), left);
        if (terminal_) {
            std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), fraction >= 1.0 ? "\n" : "");
        } else {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
        std::fflush(stderr);
    }

    bool terminal_;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_draw_{};
    bool drew_final_ = false;
};

}  // namespace

ProgressFn progress_callback(bool show, bool force)
{
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    if (!(show && (terminal || force))) {
        return [](std::uint64_t, std::uint64_t) { return !interrupted(); };
    }
    auto bar = std::make_shared<ProgressBar>(terminal);
    return [bar](std::uint64_t done, std::uint64_t total) {
        bar->update(done, total);
        return !interrupted();
    };
}

}  // namespace diskshift::cli
