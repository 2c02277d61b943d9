// convert(): walks the source's extents, skips zero and unallocated ranges, reads data in chunks on
// the worker pool, drops all-zero blocks, and hands the rest to the writer in ascending order.
#include <diskshift/convert.hpp>

#include <algorithm>
#include <deque>
#include <future>
#include <vector>

#include <diskshift/format.hpp>
#include <diskshift/io.hpp>

#include "core/bytes.hpp"
#include "core/fail.hpp"
#include "ops/extent_walk.hpp"
#include "ops/worker_pool.hpp"

namespace diskshift {
namespace {

/// Data is read in chunks of this size, aligned to it on the virtual disk (1 MiB: big sequential
/// reads, and little memory per worker).
constexpr std::uint64_t chunk_bytes = 1 << 20;
/// Chunks in flight per worker: enough to keep every worker busy while the writer catches up.
constexpr unsigned chunks_per_worker = 3;

static_assert(chunk_bytes % zero_detect_block == 0);

struct Run {
    std::uint64_t offset;  ///< on the virtual disk
    std::uint64_t length;
};

/// A chunk's buffer and what was found in it. Slots are reused round-robin: nothing is allocated
/// per chunk once every slot has been used once.
struct Slot {
    std::vector<std::byte> buffer;
    std::vector<Run> runs;  ///< the non-zero parts, ascending
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

/// Reads a chunk and records its non-zero runs, at zero_detect_block granularity on the disk.
void scan_chunk(const Image& source, Slot& slot)
{
    slot.buffer.resize(chunk_bytes);
    slot.runs.clear();
    source.read(std::span(slot.buffer).first(slot.length), slot.offset);
    const std::uint64_t end = slot.offset + slot.length;
    std::uint64_t at = slot.offset;
    while (at < end) {
        const std::uint64_t block_end = std::min(end, (at / zero_detect_block + 1) * zero_detect_block);
        const bool zero = is_all_zero(std::span(slot.buffer).subspan(at - slot.offset, block_end - at));
        if (!zero) {
            if (!slot.runs.empty() && slot.runs.back().offset + slot.runs.back().length == at) {
                slot.runs.back().length += block_end - at;
            } else {
                slot.runs.push_back({at, block_end - at});
            }
        }
        at = block_end;
    }
}

class Converter {
public:
    Converter(const Image& source, Writer& writer, const ConvertOptions& options)
        : source_(source), writer_(writer), progress_(options.progress), pool_(options.threads)
    {
        slots_.resize(pool_.size() * chunks_per_worker);
        stats_.virtual_size = source.size();
    }

    ConvertStats run()
    {
        report_progress();
        for_each_extent(
            source_,
            [this](const Extent& e) {
                if (e.kind == ExtentKind::data) {
                    queue_data(e);
                } else {
                    queue_skip(e.length);
                }
            },
            [](std::uint64_t) {});
        while (!steps_.empty()) {
            retire_oldest();
        }
        writer_.finish();
        return stats_;
    }

private:
    /// A chunk being read on the pool, or a zero range that counts as done once every chunk before
    /// it is written.
    struct Step {
        Slot* slot = nullptr;  ///< null for a skipped range
        std::future<void> scanned;
        std::uint64_t skip_length = 0;
    };

    void queue_data(const Extent& e)
    {
        for (std::uint64_t at = e.offset; at < e.end();) {
            const std::uint64_t chunk_end = std::min(e.end(), (at / chunk_bytes + 1) * chunk_bytes);
            // Slots are used round-robin and retired in order, so the next slot is free once
            // fewer than all of them are in flight.
            while (chunks_in_flight_ == slots_.size()) {
                retire_oldest();
            }
            Slot& slot = slots_[next_slot_++ % slots_.size()];
            slot.offset = at;
            slot.length = chunk_end - at;
            steps_.push_back({&slot, pool_.submit([this, &slot] { scan_chunk(source_, slot); }), 0});
            ++chunks_in_flight_;
            at = chunk_end;
        }
    }

    void queue_skip(std::uint64_t length)
    {
        if (steps_.empty()) {
            account(0, length);
        } else {
            steps_.push_back({nullptr, {}, length});
        }
    }

    void retire_oldest()
    {
        Step step = std::move(steps_.front());
        steps_.pop_front();
        if (step.slot == nullptr) {
            account(0, step.skip_length);
            return;
        }
        --chunks_in_flight_;
        step.scanned.get();
        const Slot& slot = *step.slot;
        std::uint64_t written = 0;
        for (const Run& run : slot.runs) {
            writer_.write(run.offset, std::span(slot.buffer).subspan(run.offset - slot.offset, run.length));
            written += run.length;
        }
        account(written, slot.length - written);
    }

    void account(std::uint64_t data, std::uint64_t zero)
    {
        stats_.data_bytes += data;
        stats_.zero_bytes += zero;
        done_ += data + zero;
        report_progress();
    }

    void report_progress()
    {
        if (progress_ && !progress_(done_, source_.size())) {
            fail(Errc::cancelled, "{}: conversion stopped at offset {} of {}", source_.info().filename, done_,
                 source_.size());
        }
    }

    const Image& source_;
    Writer& writer_;
    const ProgressFn& progress_;
    ConvertStats stats_;
    std::uint64_t done_ = 0;
    // Declared before the pool: members are destroyed in reverse order, so the pool joins its
    // workers before the slots they fill go away.
    std::vector<Slot> slots_;
    WorkerPool pool_;
    std::size_t next_slot_ = 0;
    std::size_t chunks_in_flight_ = 0;
    std::deque<Step> steps_;
};

void check_not_an_input(const Image& source, const std::filesystem::path& destination)
{
    std::error_code ec;
    if (std::filesystem::equivalent(source.info().filename, destination, ec)) {
        fail(Errc::invalid_argument, "{}: the destination is the source; diskshift never modifies its input",
             destination.string());
    }
}

}  // namespace

ConvertStats convert(const Image& source, Writer& writer, const ConvertOptions& options)
{
    return Converter(source, writer, options).run();
}

ConvertStats convert(const Image& source, const std::filesystem::path& destination, const ConvertOptions& options)
{
    check_not_an_input(source, destination);
    const Format& format = find_format(options.format);
    if (!format.can_write()) {
        fail(Errc::unsupported, "{}: diskshift cannot write the {} format", destination.string(), format.name());
    }
    FileSink sink(destination);
    CreateRequest request{source.size(), options.options, &source.info()};
    const std::unique_ptr<Writer> writer = format.create(sink, std::move(request));
    const ConvertStats stats = convert(source, *writer, options);
    sink.commit();
    return stats;
}

}  // namespace diskshift
