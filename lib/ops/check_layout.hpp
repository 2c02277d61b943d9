// Internal: what a structural checker needs: a map of the file's pieces that finds those lying
// past the end of the file or over each other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <diskshift/check.hpp>

namespace diskshift {

/// The pieces of one file that tables point at (headers, tables, grains, blocks), each named by a
/// kind ("grain table") and an optional number. report() lists every piece that runs past the end
/// of the file and every piece that overlaps another. 24 bytes per piece: a checker adds one per
/// allocated grain or block, whose number the file's size bounds.
class FileLayout {
public:
    static constexpr std::uint64_t no_number = UINT64_MAX;

    explicit FileLayout(std::uint64_t file_size) : file_size_(file_size), max_pieces_(file_size / 512 + 4096) {}

    /// Registers a kind of piece ("BAT", "block") and returns its handle for add().
    std::uint16_t kind(std::string name);
    void add(std::uint16_t kind, std::uint64_t offset, std::uint64_t length, std::uint64_t number = no_number);

    /// Adds to `report` one problem per piece outside the file and per overlap; `prefix` goes in
    /// front of each structure (the extent's file name, or empty).
    void report(CheckReport& report, const std::string& prefix = {});

    /// "grain table 3" or "BAT".
    std::string label(std::uint16_t kind, std::uint64_t number) const;

private:
    struct Piece {
        std::uint64_t offset;
        std::uint64_t length;
        std::uint64_t number;
        std::uint16_t kind;
    };

    std::uint64_t file_size_;
    std::uint64_t max_pieces_;
    std::uint64_t ignored_ = 0;  ///< pieces beyond max_pieces_
    std::vector<std::string> kinds_;
    std::vector<Piece> pieces_;
};

}  // namespace diskshift
