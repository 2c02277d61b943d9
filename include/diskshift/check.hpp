// diskshift — check: verify an image's structure, in the manner of `qemu-img check`.
//
// check_image() opens a file read-only and never changes it. Each format looks at its own tables
// (VHD footer and BAT, VHDX headers, region tables, BAT and log, VMDK grain directories and grain
// tables, stream markers, OVA manifest digests) and lists every inconsistency with the structure
// it concerns and its byte offset in the file; then, when the tables hold together, every
// allocated range of the disk is read once, so damaged compressed grains show up too. A format
// without a structural checker (raw) gets only the read pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <diskshift/error.hpp>
#include <diskshift/format.hpp>

namespace diskshift {

/// One inconsistency: the structure concerned ("BAT entry 17", "grain table 3", "header 2"), the
/// byte offset in the checked file where that structure (or the bad field) is, and what is wrong.
/// A problem inside a file the image refers to (a VMDK extent, a disk inside an OVA) names that
/// file in `structure`; its offset is then inside that file, or inside the OVA for a disk read in
/// place from the package.
struct CheckProblem {
    std::string structure;
    std::optional<std::uint64_t> offset;  ///< unknown only when a reader's error named no offset
    std::string message;
};

/// The result of a check: where, what, and every problem found (at most `max_problems` listed).
struct CheckReport {
    std::string filename;
    std::string format;
    std::optional<std::string> subformat;
    std::vector<CheckProblem> problems;
    std::uint64_t unlisted_problems = 0;  ///< problems found beyond the listing cap
    std::size_t max_problems = 1000;
    bool read_data = true;  ///< whether check_by_reading() reads the data or only opens the image
    /// Facts about the file's state that are not problems in themselves, e.g. {"log": "pending
    /// replay (3 entries)"} for a VHDX whose log was not replayed yet.
    nlohmann::ordered_json state = nlohmann::ordered_json::object();

    bool clean() const noexcept { return problems.empty(); }
    /// Lists one problem, or counts it in `unlisted_problems` once the cap is reached.
    void add(std::string structure, std::optional<std::uint64_t> offset, std::string message);
    /// Lists a reader's error as a problem of `structure`; the offset is the last "offset 0x…" its
    /// message names.
    void add_error(std::string structure, const Error& error);
    /// Appends `other`'s problems, their structures prefixed with `prefix` and their offsets moved
    /// by `offset_shift` (a disk checked through a window of a package).
    void merge(const CheckReport& other, const std::string& prefix, std::uint64_t offset_shift);
};

struct CheckOptions {
    OpenOptions open;  ///< format (empty: probe; raw is never guessed) and, in an OVA, the disk
    std::size_t max_problems = 1000;
    /// Read every allocated range once the tables hold together (off: the tables only, which
    /// takes a moment however large the disk is).
    bool read_data = true;
};

/// Checks the image at `path`. Throws Error only when the file cannot be read at all (missing,
/// unreadable, not a recognised format); everything found inside the file is in the report.
CheckReport check_image(const std::filesystem::path& path, const CheckOptions& options = {});

/// The default check of Format::check(): opens `source` as `format` (a delta alone is allowed)
/// and, when report.read_data, reads every allocated range of the disk; an Error becomes a problem.
void check_by_reading(const Format& format, std::shared_ptr<const ByteSource> source, const OpenContext& context,
                      CheckReport& report);

/// Reads every `data` range of `image` in large pieces; the first Error becomes a problem.
void read_every_extent(const Image& image, CheckReport& report);

/// The report as JSON: {filename, format, subformat, clean, problems: [{structure, offset,
/// message}], unlisted_problems, state}.
nlohmann::ordered_json check_json(const CheckReport& report);

/// The report as text: one line per problem "<file>: <structure> at offset 0x…: <message>", the
/// state facts, and a summary line.
void check_text(std::ostream& out, const CheckReport& report);

}  // namespace diskshift
