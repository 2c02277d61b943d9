// The VHDX log (MS-VHDX 2.3): finding the active sequence and replaying it in memory. The replay
// never writes to the file: it builds a map of replaced 4 KiB pages and zeroed ranges that a
// ReplayedSource lays over the file, so every later structure is read as replayed.
#include <algorithm>
#include <cstring>
#include <map>

#include "core/crc32c.hpp"
#include "core/endian.hpp"
#include "core/fail.hpp"
#include "core/file_range.hpp"
#include "core/text.hpp"
#include "formats/vhdx/vhdx_layout.hpp"

namespace diskshift::formats::vhdx {
namespace {

/// Our cap on file offsets named by the log: far beyond any real file, and overflow-free.
constexpr std::uint64_t max_log_target = 1ULL << 52;
constexpr std::uint64_t entry_header_size = 64;     // 2.3.1.1
constexpr std::uint64_t descriptor_size = 32;       // 2.3.1.2, 2.3.1.3
constexpr std::uint64_t data_payload_size = 4084;   // 2.3.1.4: 4096 - signature, SequenceHigh, SequenceLow

using Page = std::array<std::byte, log_sector_size>;

/// The file as it reads after the replay: replaced pages and zeroed ranges over the original bytes,
/// and zeros past its end up to the size the log extends it to. Immutable once built.
class ReplayedSource final : public ByteSource {
public:
    explicit ReplayedSource(std::shared_ptr<const ByteSource> file)
        : file_(std::move(file)), size_(file_->size())
    {
    }

    const std::string& name() const override { return file_->name(); }
    std::uint64_t size() const override { return size_; }
    std::uint64_t allocated_bytes() const override { return file_->allocated_bytes(); }

    /// A page written after a zeroed range that covers it wins, because reads lay pages over zeroes.
    void write_page(std::uint64_t offset, const Page& page)
    {
        pages_[offset] = page;
        size_ = std::max(size_, offset + page.size());
    }

    /// Drops the pages the range covers and merges it with the zeroed ranges it touches.
    void write_zeroes(std::uint64_t offset, std::uint64_t length)
    {
        std::uint64_t end = offset + length;
        pages_.erase(pages_.lower_bound(offset), pages_.lower_bound(end));
        auto it = zeroes_.upper_bound(offset);
        if (it != zeroes_.begin() && std::prev(it)->second >= offset) {
            --it;
        }
        while (it != zeroes_.end() && it->first <= end) {
            offset = std::min(offset, it->first);
            end = std::max(end, it->second);
            it = zeroes_.erase(it);
        }
        zeroes_.emplace(offset, end);
        size_ = std::max(size_, end);
    }

    void extend_to(std::uint64_t size) { size_ = std::max(size_, size); }

private:
    void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const override
    {
        const std::uint64_t end = offset + buf.size();
        const std::uint64_t in_file = offset < file_->size() ? std::min<std::uint64_t>(buf.size(), file_->size() - offset) : 0;
        file_->read_at(buf.first(in_file), offset);
        std::fill(buf.begin() + static_cast<std::ptrdiff_t>(in_file), buf.end(), std::byte{0});
        auto copy_in = [&](std::uint64_t start, std::uint64_t stop, const std::byte* source) {
            const std::uint64_t from = std::max(start, offset);
            const std::uint64_t to = std::min(stop, end);
            if (from >= to) {
                return;
            }
            std::byte* target = buf.data() + (from - offset);
            if (source == nullptr) {
                std::memset(target, 0, to - from);
            } else {
                std::memcpy(target, source + (from - start), to - from);
            }
        };
        auto z = zeroes_.upper_bound(offset);
        if (z != zeroes_.begin()) {
            --z;
        }
        for (; z != zeroes_.end() && z->first < end; ++z) {
            copy_in(z->first, z->second, nullptr);
        }
        const std::uint64_t first_page = offset - offset % log_sector_size;
        for (auto p = pages_.lower_bound(first_page); p != pages_.end() && p->first < end; ++p) {
            copy_in(p->first, p->first + log_sector_size, p->second.data());
        }
    }

    std::shared_ptr<const ByteSource> file_;
    std::uint64_t size_;
    std::map<std::uint64_t, Page> pages_;               ///< 4 KiB-aligned offset -> the page's bytes
    std::map<std::uint64_t, std::uint64_t> zeroes_;     ///< disjoint, merged: start -> end
};

/// One entry of the log (2.3.1.1) that passed every check.
struct Entry {
    std::uint64_t at = 0;  ///< offset inside the log
    std::uint32_t length = 0;
    std::uint32_t tail = 0;
    std::uint64_t sequence = 0;
    std::uint64_t flushed_file_offset = 0;
    std::uint64_t last_file_offset = 0;
    std::uint32_t descriptor_count = 0;
};

/// What a log slot holds: nothing of this log, a valid entry, or an entry of this log that fails
/// a check (`problem` says which).
struct SlotCheck {
    enum { absent, valid, damaged } state = absent;
    Entry entry;
    std::string problem;
};

/// The log read into memory, with each slot checked at most once.
class Log {
public:
    Log(const ByteSource& file, const Header& header) : header_(header), bytes_(header.log_length)
    {
        file.read_at(bytes_, header.log_offset);
        checks_.resize(slots());
    }

    std::uint64_t slots() const noexcept { return bytes_.size() / log_sector_size; }
    std::uint64_t length() const noexcept { return bytes_.size(); }

    /// Sector `index` of the entry at `at`, wrapping around the circular buffer.
    const std::byte* sector(std::uint64_t at, std::uint64_t index) const
    {
        return bytes_.data() + (at + index * log_sector_size) % bytes_.size();
    }

    const SlotCheck& check(std::uint64_t at)
    {
        auto& slot = checks_[at / log_sector_size];
        if (!slot) {
            slot = check_entry(at);
        }
        return *slot;
    }

    /// Calls `zero(offset, length)` and `data(offset, page)` for the descriptors of a valid entry.
    template <typename Zero, typename Data>
    void for_each_descriptor(const Entry& e, Zero&& zero, Data&& data) const
    {
        std::uint64_t data_sector = descriptor_sectors(e.descriptor_count);
        for (std::uint64_t k = 0; k < e.descriptor_count; ++k) {
            const std::byte* d = descriptor(e.at, k);
            if (std::memcmp(d, "zero", 4) == 0) {
                zero(load_le<std::uint64_t>(d + 16), load_le<std::uint64_t>(d + 8));
                continue;
            }
            // A data sector: LeadingBytes ‖ Data ‖ TrailingBytes (2.3.1.3, 2.3.1.4).
            Page page;
            const std::byte* s = sector(e.at, data_sector++);
            std::memcpy(page.data(), d + 8, 8);
            std::memcpy(page.data() + 8, s + 8, data_payload_size);
            std::memcpy(page.data() + 8 + data_payload_size, d + 4, 4);
            data(load_le<std::uint64_t>(d + 16), page);
        }
    }

private:
    static std::uint64_t descriptor_sectors(std::uint64_t count)
    {
        // The 64-byte entry header takes the room of two descriptors (2.3.1.1).
        return (count + 2 + log_sector_size / descriptor_size - 1) / (log_sector_size / descriptor_size);
    }

    const std::byte* descriptor(std::uint64_t at, std::uint64_t k) const
    {
        const std::uint64_t position = entry_header_size + k * descriptor_size;
        return sector(at, position / log_sector_size) + position % log_sector_size;
    }

    SlotCheck check_entry(std::uint64_t at) const
    {
        const std::byte* h = sector(at, 0);
        SlotCheck result;
        if (std::memcmp(h, "loge", 4) != 0 || std::memcmp(h + 32, header_.log_guid.data(), 16) != 0) {
            return result;
        }
        Entry& e = result.entry;
        e.at = at;
        e.length = load_le<std::uint32_t>(h + 8);
        e.tail = load_le<std::uint32_t>(h + 12);
        e.sequence = load_le<std::uint64_t>(h + 16);
        e.descriptor_count = load_le<std::uint32_t>(h + 24);
        e.flushed_file_offset = load_le<std::uint64_t>(h + 48);
        e.last_file_offset = load_le<std::uint64_t>(h + 56);
        result.problem = entry_problem(e);
        result.state = result.problem.empty() ? SlotCheck::valid : SlotCheck::damaged;
        return result;
    }

    std::string entry_problem(const Entry& e) const
    {
        if (e.length == 0 || e.length % log_sector_size != 0 || e.length > length()) {
            return fmt::format("has the length {}, not a 4 KiB multiple within the log", e.length);
        }
        if (e.sequence == 0) {
            return "has the sequence number 0";
        }
        const std::uint64_t sectors = e.length / log_sector_size;
        if (e.descriptor_count > e.length / descriptor_size || descriptor_sectors(e.descriptor_count) > sectors) {
            return fmt::format("lists {} descriptors, more than its {} bytes hold", e.descriptor_count, e.length);
        }
        if (e.flushed_file_offset > max_log_target || e.last_file_offset > max_log_target) {
            return "names a file size beyond any real file";
        }
        std::uint64_t data_sector = descriptor_sectors(e.descriptor_count);
        for (std::uint64_t k = 0; k < e.descriptor_count; ++k) {
            std::string problem = descriptor_problem(e, k, data_sector, sectors);
            if (!problem.empty()) {
                return fmt::format("descriptor {} {}", k, problem);
            }
        }
        std::array<std::byte, log_sector_size> first;
        std::memcpy(first.data(), sector(e.at, 0), first.size());
        std::memset(first.data() + 4, 0, 4);
        std::uint32_t crc = crc32c(first);
        for (std::uint64_t i = 1; i < sectors; ++i) {
            crc = crc32c(std::span(sector(e.at, i), log_sector_size), crc);
        }
        if (crc != load_le<std::uint32_t>(sector(e.at, 0) + 4)) {
            return "has a bad CRC-32C checksum";
        }
        return {};
    }

    /// Checks descriptor `k`; a data descriptor consumes the data sector `data_sector`.
    std::string descriptor_problem(const Entry& e, std::uint64_t k, std::uint64_t& data_sector,
                                   std::uint64_t sectors) const
    {
        const std::byte* d = descriptor(e.at, k);
        const std::uint64_t file_offset = load_le<std::uint64_t>(d + 16);
        if (load_le<std::uint64_t>(d + 24) != e.sequence) {
            return "carries another sequence number";
        }
        if (file_offset % log_sector_size != 0 || file_offset > max_log_target) {
            return fmt::format("targets the file offset 0x{:x}, not 4 KiB-aligned", file_offset);
        }
        if (std::memcmp(d, "zero", 4) == 0) {
            const std::uint64_t zero_length = load_le<std::uint64_t>(d + 8);
            return zero_length % log_sector_size != 0 || zero_length > max_log_target
                       ? fmt::format("zeroes 0x{:x} bytes, not a 4 KiB multiple", zero_length)
                       : std::string{};
        }
        if (std::memcmp(d, "desc", 4) != 0) {
            return "has no \"zero\" or \"desc\" signature";
        }
        if (data_sector >= sectors) {
            return "has no data sector inside the entry";
        }
        const std::byte* s = sector(e.at, data_sector++);
        const std::uint64_t sequence = (std::uint64_t{load_le<std::uint32_t>(s + 4)} << 32) | load_le<std::uint32_t>(s + 4092);
        if (std::memcmp(s, "data", 4) != 0 || sequence != e.sequence) {
            return "has a data sector without the \"data\" signature or the entry's sequence number";
        }
        return {};
    }

    const Header& header_;
    std::vector<std::byte> bytes_;
    std::vector<std::optional<SlotCheck>> checks_;
};

/// The active sequence (2.3.3): among runs of valid entries whose sequence numbers rise by one,
/// the run whose head has the highest sequence number and whose head's Tail names an entry of the
/// run; the entries from that tail to the head, in order. Empty when there is none.
std::vector<Entry> active_sequence(Log& log)
{
    std::vector<Entry> best;
    for (std::uint64_t slot = 0; slot < log.slots(); ++slot) {
        const SlotCheck* c = &log.check(slot * log_sector_size);
        if (c->state != SlotCheck::valid) {
            continue;
        }
        std::vector<Entry> run = {c->entry};
        while (run.size() < log.slots()) {
            c = &log.check((run.back().at + run.back().length) % log.length());
            if (c->state != SlotCheck::valid || c->entry.sequence != run.back().sequence + 1) {
                break;
            }
            run.push_back(c->entry);
        }
        const auto tail = std::find_if(run.begin(), run.end(), [&](const Entry& e) { return e.at == run.back().tail; });
        if (tail != run.end() && (best.empty() || run.back().sequence > best.back().sequence)) {
            best.assign(tail, run.end());
        }
    }
    return best;
}

/// The first entry of this log that fails a check, if any.
std::optional<SlotCheck> first_damaged(Log& log)
{
    for (std::uint64_t slot = 0; slot < log.slots(); ++slot) {
        if (const SlotCheck& c = log.check(slot * log_sector_size); c.state == SlotCheck::damaged) {
            return c;
        }
    }
    return std::nullopt;
}

void check_log_region(const ByteSource& file, const Header& h)
{
    if (h.log_length > max_log_length) {
        fail(Errc::unsupported, "{}: the log is {} bytes long, more than the {} bytes this reader replays "
             "(header {} at offset 0x{:x})", file.name(), h.log_length, max_log_length, h.index,
             header_offsets[h.index - 1]);
    }
    if (h.log_length == 0 || !inside_file(file, h.log_offset, h.log_length)) {
        fail(Errc::corrupt, "{}: the log [0x{:x}, +0x{:x}) named by header {} is empty or lies past the end of the file "
             "(offset 0x{:x})", file.name(), h.log_offset, h.log_length, h.index, header_offsets[h.index - 1]);
    }
}

}  // namespace

std::shared_ptr<const ByteSource> replay_log(std::shared_ptr<const ByteSource> file, const Header& header,
                                             ImageInfo& info)
{
    if (is_zero_guid(header.log_guid)) {
        return file;
    }
    check_log_region(*file, header);
    Log log(*file, header);
    const std::vector<Entry> sequence = active_sequence(log);
    const std::optional<SlotCheck> damaged = first_damaged(log);
    auto& details = info.details["log"];
    details["guid"] = format_windows_guid(header.log_guid);
    details["offset"] = header.log_offset;
    details["length"] = header.log_length;
    if (sequence.empty()) {
        if (damaged) {
            fail(Errc::corrupt, "{}: the pending log cannot be replayed: its entry at log offset 0x{:x} {} "
                 "(offset 0x{:x})", file->name(), damaged->entry.at, damaged->problem, header.log_offset + damaged->entry.at);
        }
        details["replayed"] = false;
        info.warnings.push_back("the header names a log, but the log holds no valid entry of it; nothing was replayed");
        return file;
    }
    auto replayed = std::make_shared<ReplayedSource>(file);
    std::uint64_t zero_descriptors = 0;
    std::uint64_t data_descriptors = 0;
    for (const Entry& e : sequence) {
        if (e.flushed_file_offset > replayed->size()) {
            fail(Errc::corrupt, "{}: log entry {} says the file was flushed up to 0x{:x}, but it ends at 0x{:x}: "
                 "the file is truncated (offset 0x{:x})", file->name(), e.sequence, e.flushed_file_offset,
                 replayed->size(), header.log_offset + e.at);
        }
        auto zero = [&](std::uint64_t offset, std::uint64_t length) {
            replayed->write_zeroes(offset, length);
            ++zero_descriptors;
        };
        auto data = [&](std::uint64_t offset, const Page& page) {
            replayed->write_page(offset, page);
            ++data_descriptors;
        };
        log.for_each_descriptor(e, zero, data);
        replayed->extend_to(e.last_file_offset);
    }
    details["replayed"] = true;
    details["entries"] = sequence.size();
    details["sequence_numbers"] = fmt::format("{}-{}", sequence.front().sequence, sequence.back().sequence);
    details["data_descriptors"] = data_descriptors;
    details["zero_descriptors"] = zero_descriptors;
    if (damaged) {
        details["damaged_entry"] = fmt::format("log offset 0x{:x} {} (not part of the replayed sequence)",
                                               damaged->entry.at, damaged->problem);
    }
    info.warnings.push_back(fmt::format("the file has a pending log ({} entries); it was replayed in memory only, "
                                        "the file itself is unchanged", sequence.size()));
    return replayed;
}

}  // namespace diskshift::formats::vhdx
