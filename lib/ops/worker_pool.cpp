#include "ops/worker_pool.hpp"

#include <system_error>

#include "core/fail.hpp"

namespace diskshift {

unsigned WorkerPool::default_threads() noexcept
{
    const unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 1 : cores;
}

WorkerPool::WorkerPool(unsigned threads)
{
    if (threads > max_threads) {
        fail(Errc::invalid_argument, "{} worker threads asked for; at most {} are allowed", threads, max_threads);
    }
    const unsigned count = threads == 0 ? default_threads() : threads;
    workers_.reserve(count);
    try {
        for (unsigned i = 0; i < count; ++i) {
            workers_.emplace_back([this] { work(); });
        }
    } catch (const std::system_error& e) {
        stop();
        fail(Errc::io, "cannot start {} worker threads (started {}): {}", count, workers_.size(), e.what());
    }
}

WorkerPool::~WorkerPool()
{
    stop();
}

void WorkerPool::stop() noexcept
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
    }
    ready_.notify_all();
    for (std::thread& worker : workers_) {
        worker.join();
    }
}

void WorkerPool::enqueue(std::function<void()> job)
{
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
}

void WorkerPool::work()
{
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) {
                return;
            }
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();
    }
}

}  // namespace diskshift
