// Internal: a fixed pool of worker threads for independent jobs (reading, zero detection,
// (de)compression). Results come back through futures, so the caller keeps them in order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace diskshift {

class WorkerPool {
public:
    /// `threads` workers (at most max_threads); 0 means one per core.
    explicit WorkerPool(unsigned threads);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    unsigned size() const noexcept { return static_cast<unsigned>(workers_.size()); }

    /// Runs `job` on a worker; its result or exception arrives through the future.
    template <typename Job>
    auto submit(Job job) -> std::future<decltype(job())>
    {
        auto task = std::make_shared<std::packaged_task<decltype(job())()>>(std::move(job));
        auto result = task->get_future();
        enqueue([task] { (*task)(); });
        return result;
    }

    /// One worker per core (at least one).
    static unsigned default_threads() noexcept;
    /// More threads than this is a mistake, not a speed-up.
    static constexpr unsigned max_threads = 1024;

private:
    /// Drops jobs not yet started, waits for the running ones, joins the workers.
    void stop() noexcept;
    void enqueue(std::function<void()> job);
    void work();

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace diskshift
