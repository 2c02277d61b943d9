#include <diskshift/io.hpp>

#include <algorithm>
#include <cstring>

namespace diskshift {

MemorySink::MemorySink(std::string name) : name_(std::move(name)) {}

void MemorySink::write_at(std::span<const std::byte> data, std::uint64_t offset)
{
    if (offset + data.size() > bytes_.size()) {
        bytes_.resize(offset + data.size());
    }
    std::memcpy(bytes_.data() + offset, data.data(), data.size());
}

void MemorySink::write_zeroes(std::uint64_t offset, std::uint64_t length)
{
    if (offset + length > bytes_.size()) {
        bytes_.resize(offset + length);
    }
    std::fill_n(bytes_.begin() + static_cast<std::ptrdiff_t>(offset), length, std::byte{0});
}

void MemorySink::resize(std::uint64_t size)
{
    bytes_.resize(size);
}

}  // namespace diskshift
