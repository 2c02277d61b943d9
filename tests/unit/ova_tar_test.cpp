// The OVA tar index: archives made by GNU tar in its three formats, members over 8 GiB (base-256
// and pax sizes, written by hand as holes and checked with `tar -tv`), and hostile members.
#include <sys/stat.h>

#include <fcntl.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <diskshift/error.hpp>
#include <diskshift/io.hpp>

#include "formats/ova/tar_index.hpp"
#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"
#include "support/random_data.hpp"
#include "support/tar_builder.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace diskshift;
using namespace diskshift::formats::ova;
using namespace dstest;

namespace {

/// Runs GNU tar in `dir` (member names are relative to it).
void run_tar(const TempDir& dir, const std::vector<std::string>& args)
{
    std::vector<std::string> argv = {"-C", dir.path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    run_program("tar", argv);
}

std::vector<std::byte> member_bytes(const ByteSource& tar, const TarMember& member)
{
    std::vector<std::byte> bytes(member.size);
    tar.read_at(bytes, member.data_offset);
    return bytes;
}

const TarMember* find_member(const std::vector<TarMember>& members, const std::string& name)
{
    for (const TarMember& m : members) {
        if (m.name == name) {
            return &m;
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE("OVA tar index: ustar, GNU and pax archives from tar list every file with its bytes, long names too")
{
    TempDir dir;
    // Over ustar's 100-byte name: ustar splits it into prefix and name, GNU writes 'L', pax a path.
    const std::string long_name = "disks/" + std::string(60, 'd') + "/" + std::string(60, 'n') + ".vmdk";
    std::filesystem::create_directories((dir / long_name).parent_path());
    const std::vector<std::byte> ovf = random_bytes(700, 1);
    const std::vector<std::byte> disk = random_bytes(5000, 2);
    const std::vector<std::byte> empty;
    write_whole_file(dir / "vm.ovf", ovf);
    write_whole_file(dir / long_name, disk);
    write_whole_file(dir / "disks/empty", empty);

    for (const std::string format : {"ustar", "gnu", "pax"}) {
        CAPTURE(format);
        const std::string archive = "vm-" + format + ".ova";
        // A directory entry is stored too (disks/), and a "./" prefix as `tar -C dir .` would write.
        run_tar(dir, {"--format=" + format, "-cf", (dir / archive).string(), "vm.ovf", "./disks"});
        const auto source = std::make_shared<FileSource>(dir / archive);
        const std::vector<TarMember> members = index_tar(*source);
        REQUIRE(members.size() == 3);  // the two folders are not listed
        CHECK(members[0].name == "vm.ovf");
        const TarMember* big = find_member(members, long_name);
        REQUIRE(big != nullptr);
        CHECK(member_bytes(*source, members[0]) == ovf);
        CHECK(member_bytes(*source, *big) == disk);
        const TarMember* nothing = find_member(members, "disks/empty");
        REQUIRE(nothing != nullptr);
        CHECK(nothing->size == 0);
        const std::vector<std::byte> whole = read_whole_file(dir / archive);
        CHECK(first_tar_member(std::span(whole).first(4096), source->size()) == "vm.ovf");
    }
}

TEST_CASE("OVA tar index: a member over 8 GiB in GNU base-256 or a pax size is found, and so is the one after it")
{
    TempDir dir;
    require_hole_support(dir.path());
    const std::uint64_t huge = 8 * GiB + 3 * MiB + 100;  // needs more than 11 octal digits
    const std::vector<std::byte> tail_data = random_bytes(4096, 3);
    const std::vector<std::byte> after = random_bytes(1000, 4);
    for (const TarSize encoding : {TarSize::gnu_base256, TarSize::pax}) {
        CAPTURE(static_cast<int>(encoding));
        const auto path = dir / "big.ova";
        std::filesystem::remove(path);
        {
            const Fd fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
            const std::vector<std::byte> first = tar_file_headers("disk.raw", huge, encoding);
            write_at(fd.get(), first, 0);
            const std::uint64_t data = first.size();
            write_at(fd.get(), tail_data, data + huge - tail_data.size());  // the rest stays a hole
            const std::uint64_t next = data + tar_padded(huge);
            const std::vector<std::byte> second = tar_file_headers("after.mf", after.size(), TarSize::octal);
            write_at(fd.get(), second, next);
            write_at(fd.get(), after, next + second.size());
            write_at(fd.get(), std::vector<std::byte>(1024), next + second.size() + tar_padded(after.size()));
        }
        // The oracle: GNU tar reads the same names and size from these headers.
        const ProcessResult listing = run_program("tar", {"-tvf", path.string()});
        CHECK(contains(listing.out, std::to_string(huge) + " "));
        CHECK(contains(listing.out, "after.mf"));

        const auto source = std::make_shared<FileSource>(path);
        const std::vector<TarMember> members = index_tar(*source);
        REQUIRE(members.size() == 2);
        CHECK(members[0].name == "disk.raw");
        CHECK(members[0].size == huge);
        std::vector<std::byte> end(tail_data.size());
        source->read_at(end, members[0].data_offset + huge - end.size());
        CHECK(end == tail_data);
        CHECK(members[1].name == "after.mf");
        CHECK(member_bytes(*source, members[1]) == after);
    }
}

TEST_CASE("OVA tar index: '..', absolute names, symbolic and hard links and FIFOs are refused, naming the member")
{
    TempDir dir;
    write_text_file(dir / "x", "payload\n");
    REQUIRE(::symlink("x", (dir / "link").c_str()) == 0);
    REQUIRE(::link((dir / "x").c_str(), (dir / "hard").c_str()) == 0);
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0644) == 0);

    struct Case {
        std::string what;
        std::vector<std::string> tar_args;  // after "-cf hostile.tar"
        std::string named;
    };
    const std::vector<Case> cases = {
        {"parent folder", {"-P", "--transform=s|^x$|../x|", "x"}, "../x"},
        {"deeper parent folder", {"-P", "--transform=s|^x$|a/../../x|", "x"}, "a/../../x"},
        {"absolute", {"-P", "--transform=s|^x$|/etc/x|", "x"}, "/etc/x"},
        {"symbolic link", {"x", "link"}, "link"},
        {"hard link", {"x", "hard"}, "hard"},
        {"FIFO", {"x", "fifo"}, "fifo"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        std::vector<std::string> args = {"--format=gnu", "-cf", (dir / "hostile.tar").string()};
        args.insert(args.end(), c.tar_args.begin(), c.tar_args.end());
        run_tar(dir, args);
        const FileSource source(dir / "hostile.tar");
        CHECK(error_kind_of([&] { index_tar(source); }) == "corrupt");
        CHECK(contains(error_message_of([&] { index_tar(source); }), "'" + c.named + "'"));
    }
}

TEST_CASE("OVA tar index: damaged headers, members past the end and repeated names are refused; probing never throws")
{
    TempDir dir;
    write_whole_file(dir / "vm.ovf", random_bytes(3000, 5));
    run_tar(dir, {"--format=ustar", "-cf", (dir / "good.tar").string(), "vm.ovf"});
    const std::vector<std::byte> good = read_whole_file(dir / "good.tar");

    std::vector<std::byte> bad_sum = good;
    bad_sum[10] ^= std::byte{1};  // inside the name: the checksum no longer matches
    CHECK(error_kind_of([&] { index_tar(MemorySource(bad_sum, "bad-sum.tar")); }) == "corrupt");
    CHECK_FALSE(first_tar_member(bad_sum, bad_sum.size()).has_value());

    const std::vector<std::byte> cut(good.begin(), good.begin() + 1024);  // header + 1 of 6 data blocks
    CHECK(contains(error_message_of([&] { index_tar(MemorySource(cut, "cut.tar")); }), "past the end"));

    std::vector<std::byte> twice;  // the member, then the whole archive again
    twice.reserve(512 + 3072 + good.size());
    twice.insert(twice.end(), good.begin(), good.begin() + 512 + 3072);
    twice.insert(twice.end(), good.begin(), good.end());
    CHECK(contains(error_message_of([&] { index_tar(MemorySource(twice, "twice.tar")); }), "appears twice"));

    CHECK_FALSE(first_tar_member(random_bytes(65536, 6), 65536).has_value());
    CHECK(first_tar_member(good, good.size()) == "vm.ovf");
    CHECK(index_tar(MemorySource(std::vector<std::byte>(1024), "empty.tar")).empty());
}

TEST_CASE("OVA tar index: member names are normalised, and unsafe ones have no normal form")
{
    CHECK(normalise_member_name("./vm.ovf") == "vm.ovf");
    CHECK(normalise_member_name("disks//./d1.vmdk") == "disks/d1.vmdk");
    CHECK(normalise_member_name("disks/") == "disks");
    CHECK_FALSE(normalise_member_name("../x").has_value());
    CHECK_FALSE(normalise_member_name("a/../x").has_value());
    CHECK_FALSE(normalise_member_name("/etc/x").has_value());
    CHECK_FALSE(normalise_member_name("").has_value());
    CHECK_FALSE(normalise_member_name("./").has_value());
    CHECK_FALSE(normalise_member_name(std::string_view("a\0b", 3)).has_value());
}
