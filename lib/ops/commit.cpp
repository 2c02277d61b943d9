// In-place commit of delta layers into a raw or fixed-VHD base, made crash-safe by an undo journal
// (the in-place variant of the crash-safe merge: original bytes are saved and synced before the
// base is overwritten; batches are marked done once the base is synced).
#include <diskshift/commit.hpp>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include <diskshift/error.hpp>
#include <diskshift/format.hpp>

#include "core/fail.hpp"
#include "ops/extent_walk.hpp"
#include "ops/read_write_file.hpp"
#include "ops/undo_journal.hpp"

namespace diskshift {
namespace {

using ops::JournalHeader;
using ops::JournalState;
using ops::ReadWriteFile;
using ops::UndoJournal;
using ops::UndoRecord;

/// Unchanged bytes are skipped at this granularity (aligned to guest offsets): one page.
constexpr std::uint64_t compare_block = 4096;
/// The deltas and the base are read this much at a time.
constexpr std::uint64_t read_window = 1ULL << 20;

/// Opens the base read-only and refuses any layout but guest offset = file offset (raw, fixed VHD).
std::shared_ptr<const Image> open_base(const std::filesystem::path& base, const std::string& format)
{
    OpenOptions open;
    open.format = format;
    open.allow_delta_alone = true;  // so that a differencing base is named as such below
    std::shared_ptr<const Image> image = open_image(base, open);
    const ImageInfo& info = image->info();
    const std::string kind = info.subformat ? fmt::format("{} {}", *info.subformat, info.format) : info.format;
    const bool fixed_vhd = info.format == "vhd" && info.subformat == "fixed";
    if (info.format != "raw" && !fixed_vhd) {
        fail(Errc::unsupported,
             "{}: is a {} image; an in-place commit writes only into a raw or fixed VHD base, where the guest's "
             "bytes lie in the file as they are. Merge into a new file instead (imgmerge -o)",
             base.string(), kind);
    }
    return image;
}

/// The base as the journal header records it.
JournalHeader header_of(const std::filesystem::path& base, const Image& image)
{
    const ImageInfo& info = image.info();
    return JournalHeader{info.format, info.id, std::filesystem::file_size(base), info.virtual_size, {}};
}

std::string journal_summary(const JournalState& state)
{
    return fmt::format("{} ranges, {} original bytes saved{}", state.record_count, state.saved_bytes,
                       state.committed ? ", all new bytes written" : "");
}

/// Refuses to recover with a journal that another base or other deltas wrote.
void check_journal_matches(const std::filesystem::path& journal, const JournalHeader& found, const JournalHeader& base,
                           const std::optional<std::string>& changes_identity)
{
    if (found.base_format != base.base_format || found.base_id != base.base_id ||
        found.base_file_size != base.base_file_size || found.virtual_size != base.virtual_size) {
        fail(Errc::chain_mismatch,
             "{}: the undo journal was written for a {} base of {} bytes (id \"{}\"), but the base is a {} file of {} "
             "bytes (id \"{}\")",
             journal.string(), found.base_format, found.base_file_size, found.base_id, base.base_format,
             base.base_file_size, base.base_id);
    }
    if (changes_identity && *changes_identity != found.changes_identity) {
        fail(Errc::chain_mismatch,
             "{}: the interrupted commit was writing other deltas ({}) than these ({}); resume with the same deltas, "
             "or roll back",
             journal.string(), found.changes_identity, *changes_identity);
    }
}

/// "<id or file name>:<size>" per delta, oldest first: what a resume must be given again.
std::string deltas_identity(const Chain& chain)
{
    std::string text;
    for (std::size_t i = 1; i < chain.layers.size(); ++i) {
        const ImageInfo& info = chain.layers[i].image->info();
        text += fmt::format("{}{}:{}", text.empty() ? "" : ",", info.id.empty() ? info.filename : info.id,
                            info.virtual_size);
    }
    return text;
}

/// The chain base + deltas. A raw base cannot be probed nor checked, so with IdentityCheck::skip the
/// deltas are opened alone over it (their sizes are checked against the base by commit_into).
Chain open_commit_chain(const std::filesystem::path& base, const std::vector<std::filesystem::path>& deltas,
                        IdentityCheck identity, const std::string& base_format)
{
    std::shared_ptr<const Image> base_image = open_base(base, base_format);
    if (base_image->info().format != "raw") {
        std::vector<std::filesystem::path> base_first = {base};
        base_first.insert(base_first.end(), deltas.begin(), deltas.end());
        return open_chain(base_first, ChainOptions{identity});
    }
    if (identity != IdentityCheck::skip) {
        fail(Errc::chain_mismatch,
             "chain_mismatch: {}: a raw base records no identity, so no delta can be checked against it; give "
             "--unsafe-skip-identity if you are sure the deltas were taken over exactly this disk",
             base.string());
    }
    Chain chain;
    chain.layers.push_back({base, std::move(base_image), LinkStatus::base, {}, {}});
    OpenOptions alone;
    alone.allow_delta_alone = true;
    for (const std::filesystem::path& delta : deltas) {
        chain.layers.push_back({delta, open_image(delta, alone), LinkStatus::not_checked, {}, {}});
    }
    return chain;
}

/// Scans the changes, saves the original bytes of the blocks that differ and writes the new ones,
/// one bounded batch at a time.
class Committer {
public:
    Committer(ReadWriteFile& base, const Image& changes, const CommitOptions& options, CommitStats& stats,
              std::optional<UndoJournal>& journal, std::function<UndoJournal()> create_journal)
        : base_(base), changes_(changes), options_(options), stats_(stats), journal_(journal),
          create_journal_(std::move(create_journal)), original_(options.batch_bytes), updated_(options.batch_bytes),
          window_old_(read_window), window_new_(read_window)
    {
    }

    /// Rewrites the new bytes of the records whose batch was not marked done (a killed run may
    /// have written them partly), then marks them done.
    void redo_unsynced()
    {
        const std::vector<UndoRecord>& unsynced = journal_->state().unsynced;
        if (unsynced.empty()) {
            return;
        }
        for (const UndoRecord& r : unsynced) {
            const auto piece = std::span(window_new_).first(static_cast<std::size_t>(r.length));
            changes_.read(piece, r.offset);
            base_.write_at(piece, r.offset);
            stats_.base_bytes_written += r.length;
        }
        base_.sync_data();
        journal_->append_batch_done();
    }

    /// Commits every change at or after guest offset `start`.
    void run(std::uint64_t start)
    {
        for_each_extent(
            changes_,
            [&](const Extent& e) {
                if (e.kind == ExtentKind::unallocated) {
                    return;
                }
                stats_.delta_bytes += e.length;
                if (e.end() > start) {
                    const std::uint64_t from = std::max(e.offset, start);
                    commit_range(from, e.end() - from);
                }
            },
            [&](std::uint64_t) {});
        flush();
    }

private:
    void commit_range(std::uint64_t offset, std::uint64_t length)
    {
        while (length > 0) {
            const auto n = static_cast<std::size_t>(std::min(length, read_window));
            const auto fresh = std::span(window_new_).first(n);
            const auto old = std::span(window_old_).first(n);
            changes_.read(fresh, offset);
            base_.read_at(old, offset);
            for (std::size_t at = 0; at < n;) {
                const auto piece = static_cast<std::size_t>(
                    std::min<std::uint64_t>(n - at, compare_block - (offset + at) % compare_block));
                if (std::memcmp(fresh.data() + at, old.data() + at, piece) != 0) {
                    add_change(offset + at, old.subspan(at, piece), fresh.subspan(at, piece));
                }
                at += piece;
            }
            offset += n;
            length -= n;
            report_progress(offset);
        }
    }

    void report_progress(std::uint64_t done)
    {
        if (options_.progress && !options_.progress(done, changes_.size())) {
            fail(Errc::cancelled, "commit stopped at guest offset {:#x}", done);
        }
    }

    void add_change(std::uint64_t offset, std::span<const std::byte> old, std::span<const std::byte> fresh)
    {
        if (used_ + old.size() > original_.size()) {
            flush();
        }
        const bool extends = !pending_.empty() && pending_.back().offset + pending_.back().length == offset &&
                             pending_.back().length + old.size() <= ops::max_undo_record;
        if (extends) {
            pending_.back().length += old.size();
        } else {
            pending_.push_back({offset, old.size(), used_});
        }
        std::memcpy(original_.data() + used_, old.data(), old.size());
        std::memcpy(updated_.data() + used_, fresh.data(), fresh.size());
        used_ += old.size();
    }

    /// One batch: originals to the journal and synced, new bytes to the base and synced, then the
    /// batch marked done (made durable with the next batch's journal sync or the final one).
    void flush()
    {
        if (pending_.empty()) {
            return;
        }
        if (!journal_) {
            journal_.emplace(create_journal_());
        }
        for (const Pending& p : pending_) {
            journal_->append_undo(p.offset, std::span(original_).subspan(p.position, p.length));
        }
        journal_->sync();
        for (const Pending& p : pending_) {
            base_.write_at(std::span(updated_).subspan(p.position, p.length), p.offset);
            stats_.base_bytes_written += p.length;
        }
        base_.sync_data();
        journal_->append_batch_done();
        stats_.changed_bytes += used_;
        ++stats_.batches;
        pending_.clear();
        used_ = 0;
    }

    struct Pending {
        std::uint64_t offset;
        std::uint64_t length;
        std::size_t position;  ///< in original_ and updated_
    };

    ReadWriteFile& base_;
    const Image& changes_;
    const CommitOptions& options_;
    CommitStats& stats_;
    std::optional<UndoJournal>& journal_;
    std::function<UndoJournal()> create_journal_;
    std::vector<std::byte> original_;
    std::vector<std::byte> updated_;
    std::vector<std::byte> window_old_;
    std::vector<std::byte> window_new_;
    std::vector<Pending> pending_;
    std::size_t used_ = 0;
};

void check_batch_size(std::uint64_t batch)
{
    if (batch < min_commit_batch || batch > max_commit_batch) {
        fail(Errc::invalid_argument, "commit batch size {} is outside [{}, {}] bytes", batch, min_commit_batch,
             max_commit_batch);
    }
}

/// Adds to an error what state the base is left in and how to recover.
[[noreturn]] void fail_interrupted(const Error& e, const std::filesystem::path& journal)
{
    throw Error(e.code(),
                fmt::format("{}; the commit is interrupted and its undo journal {} is kept: run again with "
                            "--resume (same deltas) to finish it or --rollback to restore the old base",
                            e.what(), journal.string()),
                e.sys_errno());
}

/// The journal a commit continues: none for a fresh commit (refused while an interrupted one's
/// journal is there), the interrupted commit's for a resume.
std::optional<UndoJournal> journal_to_continue(const std::filesystem::path& base,
                                               const std::filesystem::path& journal_path, const JournalHeader& header,
                                               CommitRecovery recovery)
{
    const bool interrupted = std::filesystem::exists(journal_path);
    if (recovery == CommitRecovery::none) {
        if (interrupted) {
            fail(Errc::invalid_argument,
                 "{}: an interrupted commit left its undo journal {} ({}); run again with --resume (same deltas) "
                 "to finish it or --rollback to restore the old base",
                 base.string(), journal_path.string(), journal_summary(UndoJournal::read(journal_path)));
        }
        return std::nullopt;
    }
    if (!interrupted) {
        fail(Errc::invalid_argument, "{}: there is no interrupted commit to resume (no {})", base.string(),
             journal_path.string());
    }
    UndoJournal journal = UndoJournal::reopen(journal_path);
    check_journal_matches(journal_path, journal.state().header, header, header.changes_identity);
    return journal;
}

/// Every new byte is in the base and synced: says so in the journal, then removes it.
void finish(UndoJournal& journal, const std::filesystem::path& journal_path, CommitStats& stats)
{
    if (!journal.state().committed) {
        journal.append_committed();
        journal.sync();
    }
    stats.journal_bytes_written = journal.bytes_written();
    UndoJournal::remove(journal_path);
}

}  // namespace

std::filesystem::path undo_journal_path(const std::filesystem::path& base)
{
    std::filesystem::path journal = base;
    journal += ".diskshift-undo";
    return journal;
}

CommitStats commit_into(const std::filesystem::path& base, const Image& changes, const std::string& changes_identity,
                        const CommitOptions& options)
{
    if (options.recovery == CommitRecovery::rollback) {
        return rollback_commit(base, options);
    }
    check_batch_size(options.batch_bytes);
    JournalHeader header = header_of(base, *open_base(base, options.base_format));
    header.changes_identity = changes_identity;
    if (changes.size() != header.virtual_size) {
        fail(Errc::unsupported,
             "{}: the deltas' disk is {} bytes but the base's is {}; an in-place commit cannot resize the base",
             base.string(), changes.size(), header.virtual_size);
    }
    ReadWriteFile file(base, ReadWriteFile::Mode::open_existing);
    const std::filesystem::path journal_path = undo_journal_path(base);
    std::optional<UndoJournal> journal = journal_to_continue(base, journal_path, header, options.recovery);
    CommitStats stats;
    stats.virtual_size = header.virtual_size;
    stats.resumed = journal.has_value();
    Committer committer(file, changes, options, stats, journal,
                        [&] { return UndoJournal::create(journal_path, header); });
    try {
        if (!journal) {
            committer.run(0);
        } else if (!journal->state().committed) {
            committer.redo_unsynced();
            committer.run(journal->state().saved_end);
        }
        if (journal) {
            finish(*journal, journal_path, stats);
        }
    } catch (const Error& e) {
        if (journal) {
            fail_interrupted(e, journal_path);
        }
        throw;
    }
    return stats;
}

CommitStats commit_deltas_into(const std::filesystem::path& base, const std::vector<std::filesystem::path>& deltas,
                               IdentityCheck identity, const CommitOptions& options)
{
    if (options.recovery == CommitRecovery::rollback) {
        return rollback_commit(base, options);
    }
    if (deltas.empty()) {
        fail(Errc::invalid_argument, "{}: no delta to commit", base.string());
    }
    const Chain chain = open_commit_chain(base, deltas, identity, options.base_format);
    const auto changes = merged_deltas(chain, chain.layers.front().image->size());
    return commit_into(base, *changes, deltas_identity(chain), options);
}

CommitStats rollback_commit(const std::filesystem::path& base, const CommitOptions& options)
{
    const JournalHeader header = header_of(base, *open_base(base, options.base_format));
    ReadWriteFile file(base, ReadWriteFile::Mode::open_existing);
    const std::filesystem::path journal_path = undo_journal_path(base);
    if (!std::filesystem::exists(journal_path)) {
        fail(Errc::invalid_argument, "{}: there is no interrupted commit to roll back (no {})", base.string(),
             journal_path.string());
    }
    // Records cut short by a crash are not visited: their blocks were never overwritten. Ranges are
    // disjoint, so the order of the writes does not matter.
    check_journal_matches(journal_path, UndoJournal::read_header(journal_path), header, std::nullopt);
    CommitStats stats;
    UndoJournal::reopen(journal_path, [&](const UndoRecord& r, std::span<const std::byte> original) {
        file.write_at(original, r.offset);
        stats.restored_bytes += r.length;
    });
    stats.virtual_size = header.virtual_size;
    stats.rolled_back = true;
    stats.base_bytes_written = stats.restored_bytes;
    file.sync_data();
    UndoJournal::remove(journal_path);
    return stats;
}

}  // namespace diskshift
