// Internal: several sources read as one, end to end (a disk an OVA stores as chunks).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <diskshift/io.hpp>

namespace diskshift {

/// The bytes of `parts` one after the other. Each read goes to the parts it covers; allocation()
/// asks each part in turn.
class ConcatSource final : public ByteSource {
public:
    ConcatSource(std::vector<std::shared_ptr<const ByteSource>> parts, std::string name);

    const std::string& name() const override { return name_; }
    std::uint64_t size() const override { return starts_.back(); }
    std::uint64_t allocated_bytes() const override;

private:
    void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const override;
    ExtentList do_allocation(std::uint64_t offset, std::uint64_t length) const override;

    /// Calls `visit(part, offset in part, length)` for each piece of [offset, offset + length).
    template <typename Visit>
    void for_each_piece(std::uint64_t offset, std::uint64_t length, Visit&& visit) const;

    std::vector<std::shared_ptr<const ByteSource>> parts_;
    std::vector<std::uint64_t> starts_;  ///< parts_.size() + 1 entries: where each part starts, then the end
    std::string name_;
};

}  // namespace diskshift
