// Raw: the disk's bytes as they are. Holes in the file (SEEK_HOLE) read as `zero` extents, and the
// writer leaves holes for zero ranges. Raw is never guessed by probing.
#include <algorithm>

#include "core/fail.hpp"
#include "formats/builtin.hpp"

namespace diskshift::formats {
namespace {

class RawImage final : public Image {
public:
    RawImage(std::shared_ptr<const ByteSource> source, ImageInfo info)
        : Image(std::move(info)), source_(std::move(source))
    {
    }

private:
    void do_read(std::span<std::byte> buf, std::uint64_t offset) const override { source_->read_at(buf, offset); }

    ExtentList do_extents(std::uint64_t offset, std::uint64_t length) const override
    {
        return source_->allocation(offset, length);
    }

    std::shared_ptr<const ByteSource> source_;
};

class RawWriter final : public Writer {
public:
    RawWriter(ByteSink& sink, std::uint64_t size) : sink_(sink), size_(size) {}

    // No concurrent_writes(): convert() writes raw output in ascending order from one thread. On
    // ext4 two workers writing one file contend for its inode lock and scatter delayed allocation;
    // measured (bench/run.sh cases c and f), in-order writes were 1.5-2x faster and far steadier.
    void write(std::uint64_t offset, std::span<const std::byte> data) override { sink_.write_at(data, offset); }
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override { sink_.write_zeroes(offset, length); }
    void finish() override { sink_.resize(size_); }

private:
    ByteSink& sink_;
    std::uint64_t size_;
};

class RawFormat final : public Format {
public:
    std::string_view name() const noexcept override { return "raw"; }
    std::string_view description() const noexcept override { return "raw disk bytes (sparse where the file has holes)"; }
    bool can_write() const noexcept override { return true; }

    int probe(const ProbeInput&) const noexcept override { return 0; }

    std::unique_ptr<Image> open(std::shared_ptr<const ByteSource> source, const OpenContext&) const override
    {
        ImageInfo info;
        info.filename = source->name();
        info.format = "raw";
        info.virtual_size = source->size();
        info.allocated_bytes = source->allocated_bytes();
        return std::make_unique<RawImage>(std::move(source), std::move(info));
    }

    std::unique_ptr<Writer> create(ByteSink& sink, CreateRequest request) const override
    {
        request.options.require_all_taken(name());
        return std::make_unique<RawWriter>(sink, request.virtual_size);
    }
};

}  // namespace

const Format& raw_format() noexcept
{
    static const RawFormat format;
    return format;
}

}  // namespace diskshift::formats
