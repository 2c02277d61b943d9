#include "formats/vmdk/flat_extent.hpp"

#include <algorithm>

#include "core/fail.hpp"
#include "core/file_range.hpp"

namespace diskshift::formats::vmdk {
namespace {

class FlatExtent final : public ExtentData {
public:
    FlatExtent(std::shared_ptr<const ByteSource> file, std::uint64_t offset, std::uint64_t size)
        : file_(std::move(file)), offset_(offset), size_(size)
    {
    }

    std::uint64_t size() const noexcept override { return size_; }

    void read(std::span<std::byte> buf, std::uint64_t offset) const override { file_->read_at(buf, offset_ + offset); }

    ExtentList map(std::uint64_t offset, std::uint64_t length) const override
    {
        ExtentList out(offset);
        for (const Extent& e : file_->allocation(offset_ + offset, std::min(length, size_ - offset))) {
            out.append(e.length, e.kind);
        }
        return out;
    }

    nlohmann::ordered_json details() const override { return {{"offset", offset_}}; }

private:
    std::shared_ptr<const ByteSource> file_;
    std::uint64_t offset_;
    std::uint64_t size_;
};

class ZeroExtent final : public ExtentData {
public:
    explicit ZeroExtent(std::uint64_t size) : size_(size) {}

    std::uint64_t size() const noexcept override { return size_; }

    void read(std::span<std::byte> buf, std::uint64_t) const override { std::fill(buf.begin(), buf.end(), std::byte{0}); }

    ExtentList map(std::uint64_t offset, std::uint64_t length) const override
    {
        ExtentList out(offset);
        out.append(std::min(length, size_ - offset), ExtentKind::zero);
        return out;
    }

    nlohmann::ordered_json details() const override { return nlohmann::ordered_json::object(); }

private:
    std::uint64_t size_;
};

}  // namespace

std::unique_ptr<ExtentData> open_flat_extent(std::shared_ptr<const ByteSource> file, std::uint64_t offset,
                                             std::uint64_t size)
{
    if (!inside_file(*file, offset, size)) {
        fail(Errc::corrupt, "{}: flat extent of {} bytes at offset {} does not fit in the file's {} bytes "
             "(offset 0x{:x})", file->name(), size, offset, file->size(), file->size());
    }
    return std::make_unique<FlatExtent>(std::move(file), offset, size);
}

std::unique_ptr<ExtentData> make_zero_extent(std::uint64_t size)
{
    return std::make_unique<ZeroExtent>(size);
}

}  // namespace diskshift::formats::vmdk
