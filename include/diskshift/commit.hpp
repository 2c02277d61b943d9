// diskshift — commit_into(): write delta layers into their raw or fixed-VHD base in place, for
// disks too large to copy. Crash-safe through an undo journal next to the base.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <diskshift/image.hpp>
#include <diskshift/merge.hpp>

namespace diskshift {

/// What to do about an undo journal an interrupted commit left next to the base.
enum class CommitRecovery {
    none,      ///< start a commit; refuse (naming --rollback and --resume) when a journal is there
    resume,    ///< finish the interrupted commit with the same deltas
    rollback,  ///< restore the old base from the journal; no deltas are needed
};

/// Undo-journal batches: the original bytes of up to this many changed bytes are saved and synced
/// before the base is written, then the base is synced. Memory is two batches.
inline constexpr std::uint64_t default_commit_batch = 16ULL << 20;
inline constexpr std::uint64_t min_commit_batch = 64ULL << 10;
inline constexpr std::uint64_t max_commit_batch = 64ULL << 20;

struct CommitOptions {
    std::string base_format;   ///< the base's format ("raw" must be named), or empty to probe
    CommitRecovery recovery = CommitRecovery::none;
    std::uint64_t batch_bytes = default_commit_batch;  ///< inside [min_commit_batch, max_commit_batch]
    ProgressFn progress;       ///< called with guest offsets scanned of the virtual size
};

struct CommitStats {
    std::uint64_t virtual_size = 0;
    std::uint64_t delta_bytes = 0;    ///< data and zero bytes the deltas define (the changes)
    std::uint64_t changed_bytes = 0;  ///< bytes that differed from the base and were replaced
    std::uint64_t base_bytes_written = 0;
    std::uint64_t journal_bytes_written = 0;
    std::uint64_t batches = 0;        ///< journal syncs followed by base writes
    std::uint64_t restored_bytes = 0; ///< original bytes written back by a rollback
    bool resumed = false;             ///< an interrupted commit was finished
    bool rolled_back = false;         ///< an interrupted commit was undone
};

/// The undo journal of `base`: "<base>.diskshift-undo" in the same folder.
std::filesystem::path undo_journal_path(const std::filesystem::path& base);

/// Writes `changes` into the raw or fixed-VHD file `base` in place. `changes` is the merged view
/// of the delta layers only (without the base): its `data` and `zero` extents are written, its
/// `unallocated` ranges are left alone, and only the blocks whose bytes differ are touched.
/// `changes_identity` names the deltas (their identities and sizes); a resume must give the same.
/// The caller has checked that the deltas belong to this base.
///
/// Before a batch of base blocks is overwritten, their original bytes go to the undo journal,
/// which is synced first; after the base is synced, the batch is marked done. When every batch
/// is in, the journal says "committed" and is removed. If a run is interrupted, the next one
/// refuses to start until told to roll back (the exact old base) or resume (the exact result).
/// A delta that changes nothing writes nothing. Sparse or dynamic bases are refused
/// (Errc::unsupported), and so are deltas of another size than the base.
CommitStats commit_into(const std::filesystem::path& base, const Image& changes, const std::string& changes_identity,
                        const CommitOptions& options);

/// Opens `deltas` (oldest first) as a chain over `base` and commits their merged view into it
/// (merged_deltas()). The chain's identity checks run before any byte is written; a raw base
/// records no identity, so it is refused unless `identity` is IdentityCheck::skip (then only the
/// sizes are checked). With CommitRecovery::rollback the deltas are not needed and not opened.
CommitStats commit_deltas_into(const std::filesystem::path& base, const std::vector<std::filesystem::path>& deltas,
                               IdentityCheck identity, const CommitOptions& options);

/// Undoes the interrupted commit whose journal lies next to `base` (options.recovery is ignored).
CommitStats rollback_commit(const std::filesystem::path& base, const CommitOptions& options);

}  // namespace diskshift
