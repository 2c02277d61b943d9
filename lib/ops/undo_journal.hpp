// Internal: the undo journal of an in-place commit. Before a block of the base is overwritten, its
// original bytes are appended here and made durable, so that an interrupted commit can be rolled
// back to exactly the old base, or finished.
//
// Layout (all integers little-endian):
//   header   "DSUNDO01" | u32 JSON length | u32 CRC-32C of the JSON | JSON text (the JournalHeader)
//   records  u32 "DSUR" | u32 kind | u64 sequence | u64 offset | u64 length | u32 CRC-32C of the
//            payload | u32 CRC-32C of the 36 bytes before it | payload (`length` bytes, undo only)
// Records are numbered from 0. Reading stops at the first record that is short, has a wrong
// sequence number or checksum, or lies outside the disk: that is where a killed run stopped writing,
// and no base byte was overwritten for it (the journal is synced before the base is written).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ops/read_write_file.hpp"

namespace diskshift::ops {

/// What a journal belongs to: the base it protects and the deltas being written into it.
struct JournalHeader {
    std::string base_format;       ///< "raw" or "vhd"
    std::string base_id;           ///< the base's own identity (a VHD unique id), empty for raw
    std::uint64_t base_file_size = 0;
    std::uint64_t virtual_size = 0;
    std::string changes_identity;  ///< which deltas: their identities and sizes

    friend bool operator==(const JournalHeader&, const JournalHeader&) = default;
};

/// One saved range of the base: `length` original bytes of guest offset `offset`, stored at
/// `payload_position` in the journal.
struct UndoRecord {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::uint64_t payload_position = 0;
};

/// What the valid part of a journal says. Memory stays bounded by one batch: only the records not
/// yet marked done are kept.
struct JournalState {
    JournalHeader header;
    /// The records after the last batch-done record: their new bytes may be partly written.
    std::vector<UndoRecord> unsynced;
    std::uint64_t record_count = 0;  ///< undo records
    std::uint64_t saved_bytes = 0;   ///< original bytes they hold
    std::uint64_t saved_end = 0;     ///< the guest offset where the last undo record ends (0: none)
    bool committed = false;          ///< every new byte is in the base: only the cleanup was left
    std::uint64_t valid_end = 0;     ///< the journal's length up to the last valid record
    std::uint64_t next_sequence = 0; ///< the number of valid records of every kind
};

/// Called for each valid undo record with the original bytes it saved.
using UndoVisitor = std::function<void(const UndoRecord& record, std::span<const std::byte> original)>;

/// The largest payload of one undo record; longer changed runs are split.
inline constexpr std::uint64_t max_undo_record = 1ULL << 20;

class UndoJournal {
public:
    /// Creates the journal at `path` (which must not exist), writes the header and makes the file
    /// and its folder entry durable.
    static UndoJournal create(const std::filesystem::path& path, const JournalHeader& header);
    /// Opens an existing journal to continue or undo it: reads its state, calling `visit` for each
    /// undo record, and cuts off anything after the last valid record.
    static UndoJournal reopen(const std::filesystem::path& path, const UndoVisitor& visit = {});
    /// Reads the valid part of the journal at `path`, calling `visit` for each undo record.
    static JournalState read(const std::filesystem::path& path, const UndoVisitor& visit = {});
    /// Reads only the header of the journal at `path`.
    static JournalHeader read_header(const std::filesystem::path& path);
    /// Deletes the journal at `path` and makes the deletion durable.
    static void remove(const std::filesystem::path& path);

    const JournalState& state() const noexcept { return state_; }
    /// Appends the original bytes of [offset, offset + original.size()); not yet durable.
    void append_undo(std::uint64_t offset, std::span<const std::byte> original);
    /// Says that the new bytes of every undo record so far are synced into the base.
    void append_batch_done();
    /// Says that the whole commit is in the base.
    void append_committed();
    /// Makes everything appended so far durable (fdatasync).
    void sync();
    /// Bytes this object has written to the journal file.
    std::uint64_t bytes_written() const noexcept { return bytes_written_; }

private:
    UndoJournal(ReadWriteFile file, JournalState state);
    void append_record(std::uint32_t kind, std::uint64_t offset, std::span<const std::byte> payload);

    ReadWriteFile file_;
    JournalState state_;
    std::uint64_t bytes_written_ = 0;
};

}  // namespace diskshift::ops
