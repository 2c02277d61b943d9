#include "ops/check_layout.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace diskshift {

std::uint16_t FileLayout::kind(std::string name)
{
    kinds_.push_back(std::move(name));
    return static_cast<std::uint16_t>(kinds_.size() - 1);
}

void FileLayout::add(std::uint16_t kind, std::uint64_t offset, std::uint64_t length, std::uint64_t number)
{
    if (length == 0) {
        return;
    }
    if (pieces_.size() >= max_pieces_) {
        ++ignored_;
        return;
    }
    pieces_.push_back({offset, length, number, kind});
}

std::string FileLayout::label(std::uint16_t kind, std::uint64_t number) const
{
    return number == no_number ? kinds_[kind] : fmt::format("{} {}", kinds_[kind], number);
}

void FileLayout::report(CheckReport& report, const std::string& prefix)
{
    if (ignored_ > 0) {
        report.add(prefix + "tables", std::nullopt,
                   fmt::format("they place {} grains, blocks or tables, more than a file of 0x{:x} bytes can hold; "
                               "the last {} were not checked", pieces_.size() + ignored_, file_size_, ignored_));
    }
    // At one offset, the kind registered first (metadata, before the grains or blocks tables
    // point at) comes first, so the pointed-at piece is the one reported as overlapping.
    std::sort(pieces_.begin(), pieces_.end(), [](const Piece& a, const Piece& b) {
        return a.offset != b.offset ? a.offset < b.offset
                                    : (a.kind != b.kind ? a.kind < b.kind : a.number < b.number);
    });
    const Piece* widest = nullptr;  // of the pieces seen so far, the one reaching furthest
    for (const Piece& p : pieces_) {
        const std::string name = label(p.kind, p.number);
        if (p.offset > file_size_ || p.length > file_size_ - p.offset) {
            report.add(prefix + name, p.offset,
                       fmt::format("[0x{:x}, 0x{:x}) lies past the end of the file (0x{:x} bytes)", p.offset,
                                   p.offset + p.length, file_size_));
            continue;  // one problem is enough: a piece running past the end would overlap all after it
        }
        if (widest != nullptr && p.offset < widest->offset + widest->length) {
            report.add(prefix + name, p.offset,
                       fmt::format("[0x{:x}, 0x{:x}) overlaps {} at [0x{:x}, 0x{:x})", p.offset, p.offset + p.length,
                                   label(widest->kind, widest->number), widest->offset,
                                   widest->offset + widest->length));
        }
        if (widest == nullptr || p.offset + p.length > widest->offset + widest->length) {
            widest = &p;
        }
    }
}

}  // namespace diskshift
