// convert(): walks the source's extents, skips zero and unallocated ranges, reads data in 1 MiB
// chunks on the worker pool, drops all-zero blocks, runs the writer's encoder (compression) there
// too, and hands the results to the writer in ascending order.
#include <diskshift/convert.hpp>

#include <algorithm>
#include <deque>
#include <future>
#include <vector>

#include <diskshift/format.hpp>
#include <diskshift/io.hpp>

#include "core/bytes.hpp"
#include "core/fail.hpp"
#include "ops/destination.hpp"
#include "ops/extent_walk.hpp"
#include "ops/worker_pool.hpp"

namespace diskshift {
namespace {

/// Data is read in chunks of this size, aligned to it on the virtual disk: big sequential reads,
/// little memory per worker, and whole chunks for writers that encode (compress) on the workers.
constexpr std::uint64_t chunk_bytes = encoder_chunk_bytes;
/// Chunks in flight per worker: enough to keep every worker busy while the writer catches up.
constexpr unsigned chunks_per_worker = 3;

static_assert(chunk_bytes % zero_detect_block == 0);

struct Run {
    std::uint64_t offset;  ///< on the virtual disk
    std::uint64_t length;
    std::uint64_t end() const noexcept { return offset + length; }
};

/// Appends [offset, offset + length) to ascending `runs`, merging it with the last run it touches.
void append_run(std::vector<Run>& runs, std::uint64_t offset, std::uint64_t length)
{
    if (!runs.empty() && runs.back().end() == offset) {
        runs.back().length += length;
    } else {
        runs.push_back({offset, length});
    }
}

/// One chunk of the disk: its buffer, the source's data ranges in it, and what was found there.
/// Slots are reused round-robin: nothing is allocated per chunk once every slot has been used once.
struct Slot {
    std::vector<std::byte> buffer;
    std::vector<Run> reads;  ///< the source's data ranges in the chunk, ascending
    std::vector<Run> runs;   ///< their non-zero parts, ascending
    std::unique_ptr<ChunkEncoder> encoder;  ///< null when the writer takes data through write()
    std::uint64_t offset = 0;               ///< a multiple of chunk_bytes
    std::uint64_t length = 0;
};

/// Records the non-zero parts of `read`, at zero_detect_block granularity on the disk.
void find_non_zero_runs(Slot& slot, const Run& read)
{
    std::uint64_t at = read.offset;
    while (at < read.end()) {
        const std::uint64_t block_end = std::min(read.end(), (at / zero_detect_block + 1) * zero_detect_block);
        if (!is_all_zero(std::span(slot.buffer).subspan(at - slot.offset, block_end - at))) {
            append_run(slot.runs, at, block_end - at);
        }
        at = block_end;
    }
}

/// Hands a chunk's non-zero runs to the writer.
void write_runs(Writer& writer, const Slot& slot)
{
    for (const Run& run : slot.runs) {
        writer.write(run.offset, std::span(slot.buffer).subspan(run.offset - slot.offset, run.length));
    }
}

/// The bytes of a chunk's non-zero runs.
std::uint64_t run_bytes(const Slot& slot)
{
    std::uint64_t data = 0;
    for (const Run& run : slot.runs) {
        data += run.length;
    }
    return data;
}

/// Reads a chunk's data ranges and finds their non-zero runs. For a writer that encodes, the rest
/// of the chunk is zero-filled and the encoder runs here, on the worker.
void fill_chunk(const Image& source, Slot& slot)
{
    slot.buffer.resize(chunk_bytes);
    slot.runs.clear();
    const std::span<std::byte> chunk = std::span(slot.buffer).first(slot.length);
    std::uint64_t filled = slot.offset;
    for (const Run& read : slot.reads) {
        if (slot.encoder) {
            std::ranges::fill(chunk.subspan(filled - slot.offset, read.offset - filled), std::byte{0});
        }
        source.read(chunk.subspan(read.offset - slot.offset, read.length), read.offset);
        find_non_zero_runs(slot, read);
        filled = read.end();
    }
    if (slot.encoder && !slot.runs.empty()) {
        std::ranges::fill(chunk.subspan(filled - slot.offset), std::byte{0});
        slot.encoder->encode(slot.offset, chunk);
    }
}

class Converter {
public:
    Converter(const Image& source, Writer& writer, const ConvertOptions& options)
        : source_(source),
          writer_(writer),
          progress_(options.progress),
          pool_(options.threads)
    {
        slots_.resize(pool_.size() * chunks_per_worker);
        for (Slot& slot : slots_) {
            slot.encoder = writer_.make_encoder();
        }
        writes_on_workers_ = writer.concurrent_writes() && !writer.sequential() && !slots_.front().encoder;
        stats_.virtual_size = source.size();
    }

    ConvertStats run()
    {
        report_progress();
        for_each_extent(
            source_,
            [this](const Extent& e) {
                if (e.kind == ExtentKind::data) {
                    add_data(e);
                } else {
                    add_zero(e);
                }
            },
            [](std::uint64_t) {});
        submit_pending();
        while (!steps_.empty()) {
            retire_oldest();
        }
        writer_.finish();
        return stats_;
    }

private:
    /// A chunk being filled on the pool, or a zero range; everything before `end` on the disk is
    /// done once the step and those before it are retired.
    struct Step {
        Slot* slot = nullptr;  ///< null for a zero range
        std::future<void> filled;
        std::uint64_t end = 0;
    };

    void add_data(const Extent& e)
    {
        for (std::uint64_t at = e.offset; at < e.end();) {
            const std::uint64_t chunk = at / chunk_bytes * chunk_bytes;
            if (pending_ != nullptr && pending_->offset != chunk) {
                submit_pending();
            }
            if (pending_ == nullptr) {
                pending_ = &claim_slot(chunk);
            }
            const std::uint64_t chunk_end = chunk + pending_->length;
            const std::uint64_t end = std::min(e.end(), chunk_end);
            append_run(pending_->reads, at, end - at);
            at = end;
            if (end == chunk_end) {
                submit_pending();
            }
        }
    }

    void add_zero(const Extent& e)
    {
        if (pending_ != nullptr && e.end() <= pending_->offset + pending_->length) {
            return;  // inside the chunk being gathered, which accounts for it
        }
        submit_pending();
        if (steps_.empty()) {
            account(e.end(), 0);
        } else {
            steps_.push_back({nullptr, {}, e.end()});
        }
    }

    /// The next slot, once it is free. Slots are claimed round-robin and retired in order, so it
    /// is free once fewer than all of them are in flight.
    Slot& claim_slot(std::uint64_t chunk)
    {
        while (chunks_in_flight_ == slots_.size()) {
            retire_oldest();
        }
        Slot& slot = slots_[next_slot_++ % slots_.size()];
        ++chunks_in_flight_;
        slot.offset = chunk;
        slot.length = std::min(chunk_bytes, source_.size() - chunk);
        slot.reads.clear();
        return slot;
    }

    void submit_pending()
    {
        if (pending_ == nullptr) {
            return;
        }
        Slot* slot = pending_;
        pending_ = nullptr;
        steps_.push_back({slot, pool_.submit([this, slot] {
                              fill_chunk(source_, *slot);
                              if (writes_on_workers_) {
                                  write_runs(writer_, *slot);
                              }
                          }),
                          slot->offset + slot->length});
    }

    void retire_oldest()
    {
        Step step = std::move(steps_.front());
        steps_.pop_front();
        std::uint64_t written = 0;
        if (step.slot != nullptr) {
            --chunks_in_flight_;
            step.filled.get();
            written = write_chunk(*step.slot);
        }
        account(step.end, written);
    }

    /// Hands a filled chunk to the writer, unless its worker has written it; returns its data bytes.
    std::uint64_t write_chunk(const Slot& slot)
    {
        if (slot.encoder) {
            if (!slot.runs.empty()) {
                writer_.write_encoded(*slot.encoder);
            }
        } else if (!writes_on_workers_) {
            write_runs(writer_, slot);
        }
        return run_bytes(slot);
    }

    /// Everything before `end` is done, `data` bytes of it handed to the writer as data.
    void account(std::uint64_t end, std::uint64_t data)
    {
        stats_.data_bytes += data;
        stats_.zero_bytes += end - done_ - data;
        done_ = end;
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
    bool writes_on_workers_ = false;  ///< the writer takes write() calls from the workers
    ConvertStats stats_;
    std::uint64_t done_ = 0;
    // Declared before the pool: members are destroyed in reverse order, so the pool joins its
    // workers before the slots they fill go away.
    std::vector<Slot> slots_;
    WorkerPool pool_;
    std::size_t next_slot_ = 0;
    std::size_t chunks_in_flight_ = 0;
    Slot* pending_ = nullptr;  ///< the chunk whose data ranges are being gathered
    std::deque<Step> steps_;
};

}  // namespace

void require_not_an_input(const Image& source, const std::filesystem::path& destination)
{
    std::error_code ec;
    if (std::filesystem::equivalent(source.info().filename, destination, ec)) {
        fail(Errc::invalid_argument, "{}: the destination is the source; diskshift never modifies its input",
             destination.string());
    }
}

ConvertStats convert(const Image& source, Writer& writer, const ConvertOptions& options)
{
    return Converter(source, writer, options).run();
}

ConvertStats convert(const Image& source, const std::filesystem::path& destination, const ConvertOptions& options)
{
    require_not_an_input(source, destination);
    const Format& format = find_format(options.format);
    if (!format.can_write()) {
        fail(Errc::unsupported, "{}: diskshift cannot write the {} format", destination.string(), format.name());
    }
    FileSink sink(destination, options.durability);
    CreateRequest request{source.size(), options.options, &source.info()};
    const std::unique_ptr<Writer> writer = format.create(sink, std::move(request));
    const ConvertStats stats = convert(source, *writer, options);
    if (options.before_commit) {
        options.before_commit();
    }
    sink.commit();
    return stats;
}

}  // namespace diskshift
