#include "ops/undo_journal.hpp"

#include <unistd.h>

#include <array>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include <diskshift/io.hpp>

#include "core/crc32c.hpp"
#include "core/endian.hpp"
#include "core/fail.hpp"

namespace diskshift::ops {
namespace {

// The layout described in undo_journal.hpp.
constexpr std::array<char, 8> header_magic = {'D', 'S', 'U', 'N', 'D', 'O', '0', '1'};
constexpr std::size_t header_prefix_size = 16;     // magic, JSON length, JSON CRC
constexpr std::uint32_t max_header_json = 64 << 10;
constexpr std::uint32_t record_magic = 0x52555344;  // "DSUR" little-endian
constexpr std::size_t record_header_size = 40;
constexpr std::size_t record_crc_covered = 36;

enum RecordKind : std::uint32_t { undo = 1, batch_done = 2, committed = 3 };

std::string header_json(const JournalHeader& h)
{
    const nlohmann::ordered_json j = {
        {"base_format", h.base_format},       {"base_id", h.base_id},
        {"base_file_size", h.base_file_size}, {"virtual_size", h.virtual_size},
        {"changes", h.changes_identity},
    };
    return j.dump();
}

JournalHeader parse_header_json(const std::string& name, const std::string& text)
{
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        JournalHeader h;
        h.base_format = j.at("base_format").get<std::string>();
        h.base_id = j.at("base_id").get<std::string>();
        h.base_file_size = j.at("base_file_size").get<std::uint64_t>();
        h.virtual_size = j.at("virtual_size").get<std::uint64_t>();
        h.changes_identity = j.at("changes").get<std::string>();
        return h;
    } catch (const nlohmann::json::exception& e) {
        fail(Errc::corrupt, "{}: undo journal header (offset {:#x}) is not the JSON diskshift writes: {}", name,
             header_prefix_size, e.what());
    }
}

JournalHeader read_header(const ByteSource& file, std::uint64_t& end)
{
    std::array<std::byte, header_prefix_size> prefix{};
    if (file.size() < prefix.size()) {
        fail(Errc::corrupt, "{}: undo journal is shorter than its header ({} bytes)", file.name(), file.size());
    }
    file.read_at(prefix, 0);
    if (std::memcmp(prefix.data(), header_magic.data(), header_magic.size()) != 0) {
        fail(Errc::corrupt, "{}: not a diskshift undo journal (no \"DSUNDO01\" at offset 0)", file.name());
    }
    const auto length = load_le<std::uint32_t>(prefix.data() + 8);
    const auto crc = load_le<std::uint32_t>(prefix.data() + 12);
    if (length > max_header_json || length > file.size() - prefix.size()) {
        fail(Errc::corrupt, "{}: undo journal header length {} (offset 0x8) is past the end of the file or over {}",
             file.name(), length, max_header_json);
    }
    std::string text(length, '\0');
    file.read_at(std::as_writable_bytes(std::span(text)), prefix.size());
    if (crc32c(std::as_bytes(std::span(text))) != crc) {
        fail(Errc::corrupt, "{}: undo journal header checksum (offset 0xc) does not match its text", file.name());
    }
    end = prefix.size() + length;
    return parse_header_json(file.name(), text);
}

struct RawRecord {
    std::uint32_t kind = 0;
    std::uint64_t sequence = 0;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::uint32_t payload_crc = 0;
};

std::array<std::byte, record_header_size> record_header_bytes(const RawRecord& r)
{
    std::array<std::byte, record_header_size> b{};
    store_le<std::uint32_t>(b.data(), record_magic);
    store_le<std::uint32_t>(b.data() + 4, r.kind);
    store_le<std::uint64_t>(b.data() + 8, r.sequence);
    store_le<std::uint64_t>(b.data() + 16, r.offset);
    store_le<std::uint64_t>(b.data() + 24, r.length);
    store_le<std::uint32_t>(b.data() + 32, r.payload_crc);
    store_le<std::uint32_t>(b.data() + 36, crc32c(std::span(b).first(record_crc_covered)));
    return b;
}

/// The record at `position` if it is whole and valid for a disk of `disk_size` bytes.
std::optional<RawRecord> read_record(const ByteSource& file, std::uint64_t position, std::uint64_t expected_sequence,
                                     std::uint64_t disk_size, std::vector<std::byte>& payload)
{
    std::array<std::byte, record_header_size> b{};
    if (file.size() - position < b.size()) {
        return std::nullopt;
    }
    file.read_at(b, position);
    RawRecord r;
    r.kind = load_le<std::uint32_t>(b.data() + 4);
    r.sequence = load_le<std::uint64_t>(b.data() + 8);
    r.offset = load_le<std::uint64_t>(b.data() + 16);
    r.length = load_le<std::uint64_t>(b.data() + 24);
    r.payload_crc = load_le<std::uint32_t>(b.data() + 32);
    const bool header_ok = load_le<std::uint32_t>(b.data()) == record_magic &&
                           load_le<std::uint32_t>(b.data() + 36) == crc32c(std::span(b).first(record_crc_covered)) &&
                           r.sequence == expected_sequence;
    if (!header_ok || r.kind < undo || r.kind > committed) {
        return std::nullopt;
    }
    if (r.kind != undo) {
        return r.length == 0 ? std::optional(r) : std::nullopt;
    }
    const bool range_ok = r.length > 0 && r.length <= max_undo_record && r.offset <= disk_size &&
                          r.length <= disk_size - r.offset && r.length <= file.size() - position - b.size();
    if (!range_ok) {
        return std::nullopt;
    }
    payload.resize(static_cast<std::size_t>(r.length));
    file.read_at(payload, position + b.size());
    if (crc32c(payload) != r.payload_crc) {
        return std::nullopt;
    }
    return r;
}

void note_undo(JournalState& state, const UndoRecord& record)
{
    state.unsynced.push_back(record);
    ++state.record_count;
    state.saved_bytes += record.length;
    state.saved_end = record.offset + record.length;
}

JournalState parse(const ByteSource& file, const UndoVisitor& visit)
{
    JournalState state;
    std::uint64_t position = 0;
    state.header = read_header(file, position);
    std::vector<std::byte> payload;
    payload.reserve(max_undo_record);
    while (auto r = read_record(file, position, state.next_sequence, state.header.virtual_size, payload)) {
        if (r->kind == undo) {
            const UndoRecord record{r->offset, r->length, position + record_header_size};
            note_undo(state, record);
            if (visit) {
                visit(record, payload);
            }
        } else if (r->kind == batch_done) {
            state.unsynced.clear();
        } else {
            state.committed = true;
        }
        position += record_header_size + r->length;
        ++state.next_sequence;
        if (state.committed) {
            break;
        }
    }
    state.valid_end = position;
    return state;
}

}  // namespace

UndoJournal::UndoJournal(ReadWriteFile file, JournalState state) : file_(std::move(file)), state_(std::move(state))
{
}

UndoJournal UndoJournal::create(const std::filesystem::path& path, const JournalHeader& header)
{
    // The header is written and synced under a temporary name, then renamed into place (never
    // over an existing journal): a journal is either absent or starts with a whole header. A
    // temporary file a killed run left behind is replaced.
    std::filesystem::path temporary = path;
    temporary += ".new";
    if (::unlink(temporary.c_str()) != 0 && errno != ENOENT) {
        fail_errno(errno, "{}: cannot remove the unfinished journal a killed run left", temporary.string());
    }
    ReadWriteFile file(temporary, ReadWriteFile::Mode::create_new);
    const std::string text = header_json(header);
    std::vector<std::byte> bytes(header_prefix_size + text.size());
    std::memcpy(bytes.data(), header_magic.data(), header_magic.size());
    store_le<std::uint32_t>(bytes.data() + 8, static_cast<std::uint32_t>(text.size()));
    store_le<std::uint32_t>(bytes.data() + 12, crc32c(std::as_bytes(std::span(text))));
    std::memcpy(bytes.data() + header_prefix_size, text.data(), text.size());
    file.write_at(bytes, 0);
    file.sync_data();
    file.rename(temporary, path);
    sync_folder_of(path);
    JournalState state;
    state.header = header;
    state.valid_end = bytes.size();
    UndoJournal journal(std::move(file), std::move(state));
    journal.bytes_written_ = bytes.size();
    return journal;
}

UndoJournal UndoJournal::reopen(const std::filesystem::path& path, const UndoVisitor& visit)
{
    ReadWriteFile file(path, ReadWriteFile::Mode::open_existing);
    JournalState state = read(path, visit);
    if (file.size() != state.valid_end) {
        file.truncate(state.valid_end);
        file.sync_data();
    }
    return UndoJournal(std::move(file), std::move(state));
}

JournalState UndoJournal::read(const std::filesystem::path& path, const UndoVisitor& visit)
{
    return parse(FileSource(path), visit);
}

JournalHeader UndoJournal::read_header(const std::filesystem::path& path)
{
    std::uint64_t end = 0;
    return diskshift::ops::read_header(FileSource(path), end);
}

void UndoJournal::remove(const std::filesystem::path& path)
{
    if (::unlink(path.c_str()) != 0) {
        fail_errno(errno, "{}: cannot remove the undo journal", path.string());
    }
    sync_folder_of(path);
}

void UndoJournal::append_record(std::uint32_t kind, std::uint64_t offset, std::span<const std::byte> payload)
{
    const RawRecord r{kind, state_.next_sequence, offset, payload.size(), crc32c(payload)};
    const auto header = record_header_bytes(r);
    file_.write_at(header, state_.valid_end);
    file_.write_at(payload, state_.valid_end + header.size());
    state_.valid_end += header.size() + payload.size();
    bytes_written_ += header.size() + payload.size();
    ++state_.next_sequence;
}

void UndoJournal::append_undo(std::uint64_t offset, std::span<const std::byte> original)
{
    const std::uint64_t payload_position = state_.valid_end + record_header_size;
    append_record(undo, offset, original);
    note_undo(state_, {offset, original.size(), payload_position});
}

void UndoJournal::append_batch_done()
{
    append_record(batch_done, 0, {});
    state_.unsynced.clear();
}

void UndoJournal::append_committed()
{
    append_record(committed, 0, {});
    state_.committed = true;
}

void UndoJournal::sync()
{
    file_.sync_data();
}

}  // namespace diskshift::ops
