// commit_into() and rollback_commit(): an in-place commit of a differencing VHD into its fixed VHD
// base, checked against the bytes the chain reads (built independently of the reader), including
// interruptions, torn journals, recoveries and refusals.
#include <doctest/doctest.h>

#include <fcntl.h>

#include <filesystem>

#include <diskshift/commit.hpp>
#include <diskshift/error.hpp>
#include <diskshift/format.hpp>

#include "ops/undo_journal.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/vhd_builder.hpp"
#include "support/vhd_delta_pair.hpp"

using namespace diskshift;
namespace fs = std::filesystem;

namespace {

/// The pair on disk: base.vhd and delta.vhd, the delta opened as the changes.
struct CommitFixture {
    explicit CommitFixture(const dstest::vhd::DeltaPairSpec& spec) : pair(dstest::vhd::make_delta_pair(spec))
    {
        dstest::write_whole_file(base, pair.base_file);
        dstest::write_whole_file(delta_path, pair.delta_file);
        OpenOptions open;
        open.allow_delta_alone = true;
        delta = open_image(delta_path, open);
    }

    CommitStats commit(CommitOptions options = {}) const { return commit_into(base, *delta, "delta.vhd", options); }
    bool base_is_old() const { return dstest::read_whole_file(base) == pair.base_file; }
    bool base_is_merged() const { return dstest::read_whole_file(base) == pair.merged_file; }
    bool journal_exists() const { return fs::exists(undo_journal_path(base)); }

    /// Commits with small batches and stops after `windows` progress reports, as a signal would.
    void interrupt_after(int windows) const
    {
        CommitOptions options;
        options.batch_bytes = min_commit_batch;
        int calls = 0;
        options.progress = [&](std::uint64_t, std::uint64_t) { return ++calls <= windows; };
        const std::string message = dstest::error_message_of([&] { commit(options); });
        CHECK(dstest::contains(message, "--resume"));
        CHECK(dstest::contains(message, "--rollback"));
    }

    dstest::TempDir dir;
    fs::path base = dir / "base.vhd";
    fs::path delta_path = dir / "delta.vhd";
    dstest::vhd::DeltaPair pair;
    std::unique_ptr<Image> delta;
};

dstest::vhd::DeltaPairSpec spread_spec()
{
    dstest::vhd::DeltaPairSpec spec;
    spec.disk_size = 8 << 20;
    spec.changed_blocks = 24;
    spec.unchanged_blocks = 4;
    return spec;
}

CommitOptions with_recovery(CommitRecovery recovery)
{
    CommitOptions options;
    options.recovery = recovery;
    return options;
}

}  // namespace

TEST_CASE("commit_into: a differencing VHD goes into its fixed VHD base; footer kept, journal removed")
{
    const CommitFixture f(spread_spec());
    const CommitStats stats = f.commit();
    CHECK(f.base_is_merged());  // the footer is part of the file compared
    CHECK_FALSE(f.journal_exists());
    CHECK(stats.delta_bytes == f.pair.delta_bytes);
    // The four unchanged blocks are skipped: only the 24 changed ones (every third half present).
    CHECK(stats.changed_bytes == (16 + 8 / 2) * 64 * 1024);
    CHECK(stats.base_bytes_written == stats.changed_bytes);
    CHECK(stats.batches >= 1);
    CHECK(stats.base_bytes_written + stats.journal_bytes_written <= stats.delta_bytes * 22 / 10);
}

TEST_CASE("commit_into: a delta that changes nothing writes nothing, not even a journal")
{
    dstest::vhd::DeltaPairSpec spec;
    spec.changed_blocks = 0;
    spec.unchanged_blocks = 6;
    const CommitFixture f(spec);
    const auto before = fs::last_write_time(f.base);
    const CommitStats stats = f.commit();
    CHECK(stats.delta_bytes == 6 * 64 * 1024);
    CHECK(stats.base_bytes_written == 0);
    CHECK(stats.journal_bytes_written == 0);
    CHECK(stats.batches == 0);
    CHECK(fs::last_write_time(f.base) == before);
    CHECK(f.dir.names() == std::vector<std::string>{"base.vhd", "delta.vhd"});
}

TEST_CASE("commit_into: an interrupted commit refuses a plain rerun, then rolls back to the old base")
{
    const CommitFixture f(spread_spec());
    f.interrupt_after(3);
    REQUIRE(f.journal_exists());
    CHECK_FALSE(f.base_is_old());  // some batches went in
    const std::string refusal = dstest::error_message_of([&] { f.commit(); });
    CHECK(dstest::contains(refusal, "interrupted commit"));
    CHECK(dstest::contains(refusal, "--resume"));
    CHECK(dstest::contains(refusal, "--rollback"));
    CHECK(dstest::contains(refusal, "base.vhd.diskshift-undo"));

    const CommitStats stats = rollback_commit(f.base, {});
    CHECK(stats.rolled_back);
    CHECK(stats.restored_bytes > 0);
    CHECK(f.base_is_old());
    CHECK_FALSE(f.journal_exists());
}

TEST_CASE("commit_into: an interrupted commit resumes to exactly the merged result")
{
    const CommitFixture f(spread_spec());
    f.interrupt_after(4);
    REQUIRE(f.journal_exists());
    const CommitStats stats = f.commit(with_recovery(CommitRecovery::resume));
    CHECK(stats.resumed);
    CHECK(f.base_is_merged());
    CHECK_FALSE(f.journal_exists());
}

TEST_CASE("commit_into: a batch not marked done is redone by resume and undone by rollback")
{
    for (const CommitRecovery recovery : {CommitRecovery::resume, CommitRecovery::rollback}) {
        CAPTURE(static_cast<int>(recovery));
        const CommitFixture f(spread_spec());
        f.interrupt_after(5);
        REQUIRE(f.journal_exists());
        // Drop the last record (the 40-byte "batch done" mark) and add a torn record after it, then
        // scribble over what that batch wrote: as if the kill came during the batch's base writes.
        const fs::path journal = undo_journal_path(f.base);
        fs::resize_file(journal, fs::file_size(journal) - 40);
        {
            const dstest::Fd fd = dstest::open_file(journal, O_WRONLY);
            dstest::write_at(fd.get(), std::vector<std::byte>(100, std::byte{0x5A}), fs::file_size(journal));
        }
        const ops::JournalState state = ops::UndoJournal::read(journal);
        REQUIRE_FALSE(state.unsynced.empty());
        auto scribbled = dstest::read_whole_file(f.base);
        for (const ops::UndoRecord& r : state.unsynced) {
            std::fill_n(scribbled.begin() + static_cast<std::ptrdiff_t>(r.offset), r.length, std::byte{0x77});
        }
        dstest::write_whole_file(f.base, scribbled);

        if (recovery == CommitRecovery::resume) {
            f.commit(with_recovery(recovery));
        } else {
            rollback_commit(f.base, {});
        }
        CHECK((recovery == CommitRecovery::resume ? f.base_is_merged() : f.base_is_old()));
        CHECK_FALSE(f.journal_exists());
    }
}

TEST_CASE("commit_into: recovery checks the journal against the base and the deltas")
{
    const CommitFixture f(spread_spec());
    CHECK(dstest::error_kind_of([&] { f.commit(with_recovery(CommitRecovery::resume)); }) == "invalid_argument");
    CHECK(dstest::error_kind_of([&] { rollback_commit(f.base, {}); }) == "invalid_argument");
    f.interrupt_after(2);
    const std::string other = dstest::error_message_of(
        [&] { commit_into(f.base, *f.delta, "other.vhd", with_recovery(CommitRecovery::resume)); });
    CHECK(dstest::contains(other, "other deltas"));
    CHECK(dstest::error_kind_of([&] {
              commit_into(f.base, *f.delta, "other.vhd", with_recovery(CommitRecovery::resume));
          }) == "chain_mismatch");
    CHECK(f.journal_exists());
    f.commit(with_recovery(CommitRecovery::resume));
    CHECK(f.base_is_merged());
}

TEST_CASE("commit_into: refuses sparse bases, other sizes and bad batch sizes before writing")
{
    const CommitFixture f(spread_spec());
    dstest::vhd::SparseVhd dynamic;
    dynamic.footer.disk_type = 3;
    dynamic.footer.current_size = 8 << 20;
    const fs::path dynamic_path = f.dir / "dynamic.vhd";
    dstest::write_whole_file(dynamic_path, dynamic.build());
    const std::string message = dstest::error_message_of([&] { commit_into(dynamic_path, *f.delta, "d", {}); });
    CHECK(dstest::contains(message, "dynamic vhd"));
    CHECK(dstest::contains(message, "raw or fixed VHD"));
    CHECK(dstest::error_kind_of([&] { commit_into(dynamic_path, *f.delta, "d", {}); }) == "unsupported");

    const fs::path small = f.dir / "small.img";
    dstest::write_whole_file(small, std::vector<std::byte>(1 << 20));
    CommitOptions raw;
    raw.base_format = "raw";
    CHECK(dstest::error_kind_of([&] { commit_into(small, *f.delta, "d", raw); }) == "unsupported");

    CommitOptions tiny;
    tiny.batch_bytes = 4096;
    CHECK(dstest::error_kind_of([&] { f.commit(tiny); }) == "invalid_argument");
    CHECK(f.base_is_old());
    CHECK_FALSE(f.journal_exists());
}

TEST_CASE("commit_deltas_into: the chain's identity checks run before any byte is written")
{
    const CommitFixture f(spread_spec());
    const fs::path delta = f.delta_path;
    const CommitStats stats = commit_deltas_into(f.base, {delta}, IdentityCheck::enforce, {});
    CHECK(f.base_is_merged());
    CHECK(stats.changed_bytes > 0);

    // Another base of the same size: its unique id is not the one the delta records.
    dstest::vhd::DeltaPairSpec other_spec = spread_spec();
    other_spec.seed = 2;
    const auto other = dstest::vhd::make_delta_pair(other_spec);
    const fs::path other_base = f.dir / "other.vhd";
    dstest::write_whole_file(other_base, other.base_file);
    const std::string message =
        dstest::error_message_of([&] { commit_deltas_into(other_base, {delta}, IdentityCheck::enforce, {}); });
    CHECK(dstest::contains(message, "does not match"));
    CHECK(dstest::read_whole_file(other_base) == other.base_file);
    CHECK_FALSE(fs::exists(undo_journal_path(other_base)));

    // A raw base has no identity: only --unsafe-skip-identity lets a delta in.
    const fs::path raw = f.dir / "base.img";
    const std::span<const std::byte> old_data = std::span(f.pair.base_file).first(8 << 20);
    dstest::write_whole_file(raw, old_data);
    CommitOptions raw_base;
    raw_base.base_format = "raw";
    CHECK(dstest::error_kind_of([&] { commit_deltas_into(raw, {delta}, IdentityCheck::enforce, raw_base); }) ==
          "chain_mismatch");
    CHECK(dstest::read_whole_file(raw) == std::vector<std::byte>(old_data.begin(), old_data.end()));
    commit_deltas_into(raw, {delta}, IdentityCheck::skip, raw_base);
    const auto merged = std::span(f.pair.merged_file).first(8 << 20);
    CHECK(dstest::read_whole_file(raw) == std::vector<std::byte>(merged.begin(), merged.end()));
}

namespace {

/// A monolithicFlat VMDK of 4 MiB filled with 0x11 (its extent base-flat.vmdk is the raw base) and
/// a sparse delta over it with zeroed grains.
struct FlatVmdkChain {
    FlatVmdkChain()
    {
        dstest::run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat",
                                         base_vmdk.string(), "4M"});
        dstest::run_program("qemu-io", {"-f", "raw", "-c", "write -P 0x11 0 4M", flat.string()});
    }

    fs::path add_delta(const fs::path& parent, const std::string& name, const std::vector<std::string>& writes) const
    {
        const fs::path delta = dir / name;
        dstest::run_program("qemu-img", {"create", "-q", "-f", "vmdk", "-o", "zeroed_grain=on", "-b", parent.string(),
                                         "-F", "vmdk", delta.string()});
        std::vector<std::string> args = {"-f", "vmdk"};
        for (const std::string& write : writes) {
            args.insert(args.end(), {"-c", write});
        }
        args.push_back(delta.string());
        dstest::run_program("qemu-io", args);
        return delta;
    }

    /// qemu-img convert of the chain up to `top`: the oracle.
    fs::path expected(const fs::path& top) const
    {
        const fs::path out = dir / "expected.raw";
        dstest::run_program("qemu-img", {"convert", "-O", "raw", top.string(), out.string()});
        return out;
    }

    dstest::TempDir dir;
    fs::path base_vmdk = dir / "base.vmdk";
    fs::path flat = dir / "base-flat.vmdk";
};

CommitOptions raw_base()
{
    CommitOptions options;
    options.base_format = "raw";
    return options;
}

}  // namespace

TEST_CASE("commit_deltas_into: a VMDK delta with zeroed grains over a raw base equals qemu-img convert")
{
    const FlatVmdkChain chain;
    // New data, zeroed grains over the base's data, and a grain holding what the base holds.
    const fs::path top = chain.add_delta(chain.base_vmdk, "top.vmdk",
                                         {"write -P 0x22 64k 128k", "write -z 1M 256k", "write -P 0x11 2M 64k"});
    const fs::path expected = chain.expected(top);
    const CommitStats stats = commit_deltas_into(chain.flat, {top}, IdentityCheck::skip, raw_base());
    CHECK(dstest::file_difference(expected, chain.flat) == "");
    CHECK(stats.delta_bytes == (128 + 256 + 64) * 1024);
    CHECK(stats.changed_bytes == (128 + 256) * 1024);  // the unchanged grain is not written
    CHECK(stats.base_bytes_written == stats.changed_bytes);
    CHECK(chain.dir.names() == std::vector<std::string>{"base-flat.vmdk", "base.vmdk", "expected.raw", "top.vmdk"});
}

TEST_CASE("commit_deltas_into: two deltas, oldest first, go in as the newest one reads")
{
    const FlatVmdkChain chain;
    const fs::path snap1 = chain.add_delta(chain.base_vmdk, "snap1.vmdk", {"write -P 0x22 0 1M", "write -z 2M 1M"});
    // The newer delta overwrites part of each: data over the zeros, zeros over the data.
    const fs::path snap2 = chain.add_delta(snap1, "snap2.vmdk", {"write -P 0x33 2M 256k", "write -z 512k 256k"});
    const fs::path expected = chain.expected(snap2);
    commit_deltas_into(chain.flat, {snap1, snap2}, IdentityCheck::skip, raw_base());
    CHECK(dstest::file_difference(expected, chain.flat) == "");
}

TEST_CASE("commit_into: a journal killed while being created is no interrupted commit and is replaced")
{
    const CommitFixture f(spread_spec());
    // The journal is made under this name and renamed into place once its header is synced.
    fs::path unfinished = undo_journal_path(f.base);
    unfinished += ".new";
    dstest::write_text_file(unfinished, "DSUN");
    f.commit();
    CHECK(f.base_is_merged());
    CHECK(f.dir.names() == std::vector<std::string>{"base.vhd", "delta.vhd"});
}
