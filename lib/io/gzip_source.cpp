// A gzip file's decompressed bytes, streamed through zlib's inflate (RFC 1952 members, one after
// another when the file holds several, as `cat a.gz b.gz` makes).
#include "io/gzip_source.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <vector>

#include "core/fail.hpp"

namespace diskshift {
namespace {

/// Output is produced in blocks of this size, at multiples of it; checkpoints fall on block starts.
constexpr std::size_t block_bytes = std::size_t{1} << 20;
/// Blocks kept after they are produced: reads this far behind the newest one are served from memory.
constexpr std::size_t window_blocks = 16;
/// Compressed bytes read at a time.
constexpr std::size_t input_bytes = std::size_t{256} << 10;
/// Checkpoints start this far apart; when there would be more than max_checkpoints, every other
/// one goes and the distance doubles, so memory stays bounded (each holds a 32 KiB window).
constexpr std::uint64_t first_checkpoint_interval = std::uint64_t{64} << 20;
constexpr std::size_t max_checkpoints = 256;
/// RFC 1952 §2.3.1: ID1 ID2 of every gzip member.
constexpr unsigned char gzip_id1 = 0x1f;
constexpr unsigned char gzip_id2 = 0x8b;
/// zlib: window bits 15 (the deflate maximum) plus 16 selects the gzip wrapper.
constexpr int gzip_window_bits = 15 + 16;

struct Block {
    std::uint64_t offset = 0;
    std::vector<std::byte> data;
};

/// Frees a copied inflate state: zlib's allocations, then the struct.
struct InflateStateDeleter {
    void operator()(z_stream* state) const noexcept
    {
        inflateEnd(state);
        delete state;
    }
};

/// A copy of the inflate state at `out_offset`, after `in_offset` compressed bytes.
struct Checkpoint {
    std::uint64_t out_offset = 0;
    std::uint64_t in_offset = 0;
    std::unique_ptr<z_stream, InflateStateDeleter> state;
};

}  // namespace

struct GzipSource::Stream {
    Stream(const ByteSource& compressed, const std::string& name) : input(compressed), name(name)
    {
        in_buffer.resize(input_bytes);
        start_fresh();
    }
    ~Stream() { inflateEnd(&z); }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    const ByteSource& input;
    const std::string& name;
    z_stream z{};
    std::vector<unsigned char> in_buffer;
    std::uint64_t in_next = 0;   ///< compressed offset of the first byte not yet loaded
    std::uint64_t out_end = 0;   ///< decompressed bytes produced so far
    bool at_end = false;
    std::optional<std::uint64_t> total;
    std::deque<Block> window;    ///< the newest blocks produced, ascending and contiguous
    std::vector<std::vector<std::byte>> spare;  ///< buffers of dropped blocks, reused
    std::vector<Checkpoint> checkpoints;        ///< ascending by out_offset
    std::uint64_t interval = first_checkpoint_interval;

    std::uint64_t in_consumed() const noexcept { return in_next - z.avail_in; }

    void start_fresh()
    {
        if (inflateInit2(&z, gzip_window_bits) != Z_OK) {
            fail(Errc::io, "{}: cannot start a gzip decompressor (out of memory?)", name);
        }
        in_next = 0;
        out_end = 0;
        at_end = false;
    }

    void drop_window()
    {
        for (Block& block : window) {
            spare.push_back(std::move(block.data));
        }
        window.clear();
    }

    /// Goes back to the last checkpoint at or before `offset` (or the start).
    void rewind_to(std::uint64_t offset)
    {
        drop_window();
        inflateEnd(&z);
        z = z_stream{};
        const auto after = std::upper_bound(checkpoints.begin(), checkpoints.end(), offset,
                                            [](std::uint64_t at, const Checkpoint& c) { return at < c.out_offset; });
        if (after == checkpoints.begin()) {
            start_fresh();
            return;
        }
        const Checkpoint& from = *std::prev(after);
        if (inflateCopy(&z, from.state.get()) != Z_OK) {
            fail(Errc::io, "{}: cannot restore a gzip checkpoint (out of memory?)", name);
        }
        z.next_in = nullptr;
        z.avail_in = 0;
        in_next = from.in_offset;
        out_end = from.out_offset;
        at_end = false;
    }

    void take_checkpoint()
    {
        if (out_end == 0 || out_end % interval != 0 || (!checkpoints.empty() && checkpoints.back().out_offset >= out_end)) {
            return;
        }
        Checkpoint checkpoint;
        checkpoint.out_offset = out_end;
        checkpoint.in_offset = in_consumed();
        auto copy = std::make_unique<z_stream>();
        if (inflateCopy(copy.get(), &z) != Z_OK) {
            return;  // out of memory for a checkpoint: reads further back restart from an earlier one
        }
        checkpoint.state.reset(copy.release());
        checkpoints.push_back(std::move(checkpoint));
        if (checkpoints.size() > max_checkpoints) {
            interval *= 2;
            std::erase_if(checkpoints, [&](const Checkpoint& c) { return c.out_offset % interval != 0; });
        }
    }

    /// Keeps the unread input and loads more after it, so that at least `wanted` bytes are
    /// available when the file has them.
    void refill(std::size_t wanted)
    {
        if (z.avail_in >= wanted || in_next == input.size()) {
            return;
        }
        if (z.avail_in > 0) {
            std::memmove(in_buffer.data(), z.next_in, z.avail_in);
        }
        const std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(in_buffer.size() - z.avail_in, input.size() - in_next));
        input.read_at(std::as_writable_bytes(std::span(in_buffer).subspan(z.avail_in, n)), in_next);
        in_next += n;
        z.next_in = in_buffer.data();
        z.avail_in += static_cast<uInt>(n);
    }

    /// After a member's end: another member follows (RFC 1952 §2.2), or the stream is over.
    /// Bytes after the last member that are not a gzip header are ignored, as gzip(1) does.
    bool next_member()
    {
        refill(2);
        if (z.avail_in < 2 || z.next_in[0] != gzip_id1 || z.next_in[1] != gzip_id2) {
            return false;
        }
        if (inflateReset(&z) != Z_OK) {
            fail(Errc::io, "{}: cannot restart the gzip decompressor", name);
        }
        return true;
    }

    void fill(std::vector<std::byte>& out)
    {
        out.resize(block_bytes);
        z.next_out = reinterpret_cast<unsigned char*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        while (z.avail_out > 0) {
            refill(1);
            if (z.avail_in == 0) {
                fail(Errc::corrupt, "{}: the gzip stream is cut short after {} compressed bytes (at decompressed "
                     "offset {:#x})", name, in_next, out_end + out.size() - z.avail_out);
            }
            const std::uint64_t at = in_consumed();
            const int status = inflate(&z, Z_NO_FLUSH);
            if (status == Z_STREAM_END) {
                if (!next_member()) {
                    at_end = true;
                    break;
                }
            } else if (status != Z_OK && status != Z_BUF_ERROR) {
                fail(Errc::corrupt, "{}: damaged gzip data near compressed offset {:#x}: {}", name, at,
                     z.msg != nullptr ? z.msg : "inflate failed");
            }
        }
        out.resize(out.size() - z.avail_out);
    }

    /// Produces the next block; false at the end of the stream.
    bool produce_block()
    {
        if (at_end) {
            return false;
        }
        take_checkpoint();
        std::vector<std::byte> data;
        if (!spare.empty()) {
            data = std::move(spare.back());
            spare.pop_back();
        }
        fill(data);
        if (at_end) {
            total = out_end + data.size();
        }
        if (data.empty()) {
            spare.push_back(std::move(data));
            return false;
        }
        window.push_back({out_end, std::move(data)});
        out_end += window.back().data.size();
        if (window.size() > window_blocks) {
            spare.push_back(std::move(window.front().data));
            window.pop_front();
        }
        return true;
    }

    /// Copies what the stream has of [offset, offset + buf.size()); returns the bytes copied.
    std::size_t read_some(std::span<std::byte> buf, std::uint64_t offset)
    {
        std::size_t copied = 0;
        while (copied < buf.size()) {
            const std::uint64_t at = offset + copied;
            if (!window.empty() && at >= window.front().offset && at < out_end) {
                const Block& block = window[static_cast<std::size_t>((at - window.front().offset) / block_bytes)];
                const std::size_t inside = static_cast<std::size_t>(at - block.offset);
                const std::size_t n = std::min(buf.size() - copied, block.data.size() - inside);
                std::memcpy(buf.data() + copied, block.data.data() + inside, n);
                copied += n;
            } else if (at >= out_end) {
                if (!produce_block()) {
                    break;
                }
            } else {
                rewind_to(at);
            }
        }
        return copied;
    }
};

GzipSource::GzipSource(std::shared_ptr<const ByteSource> compressed, std::string name)
    : compressed_(std::move(compressed)), name_(std::move(name)),
      stream_(std::make_unique<Stream>(*compressed_, name_))
{
}

GzipSource::~GzipSource() = default;

std::uint64_t GzipSource::size() const
{
    const std::lock_guard lock(mutex_);
    while (!stream_->total) {
        stream_->produce_block();  // the block that reaches the end sets the total
    }
    return *stream_->total;
}

std::size_t GzipSource::read_head(std::span<std::byte> buf) const
{
    const std::lock_guard lock(mutex_);
    return stream_->read_some(buf, 0);
}

void GzipSource::do_read_at(std::span<std::byte> buf, std::uint64_t offset) const
{
    const std::lock_guard lock(mutex_);
    if (stream_->read_some(buf, offset) != buf.size()) {
        fail(Errc::corrupt, "{}: the gzip stream ended before offset {:#x}", name_, offset + buf.size());
    }
}

}  // namespace diskshift
