// write_ova(): the OVA as one tar written in place. The front of the file is reserved for the OVF
// descriptor and the manifest, whose lengths are known before any disk is written (the OVF's
// numbers are rendered at their widest and the text padded with trailing spaces; each manifest
// line has a fixed length). Each disk then streams through the stream-optimized VMDK writer into
// a window of the file after its own header, hashed (SHA-256) as it is written. Last, the OVF is
// rendered with the real sizes and written with the manifest into the reserved front.
#include <diskshift/ova_writer.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <limits>
#include <set>

#include <diskshift/convert.hpp>
#include <diskshift/format.hpp>

#include "core/fail.hpp"
#include "core/sha.hpp"
#include "formats/ova/ovf.hpp"
#include "formats/ova/tar_writer.hpp"
#include "ops/destination.hpp"

namespace diskshift {
namespace {

using formats::ova::OvfOutputDisk;
using formats::ova::OvfOutputMachine;
namespace tar = formats::ova::tar;

/// The manifest's digest (DSP0243 "manifest file"): SHA-256, which VMware's mkova.sh uses for
/// hardware versions 13 and 14 (the OVF says vmx-13) and ova-compose by default.
constexpr ShaAlgorithm manifest_digest = ShaAlgorithm::sha256;

// vSphere 8's configuration maximums for a virtual machine: 768 vCPUs, 24 TB of memory, a name of
// at most 80 characters; 4 MiB is the least memory a VMware VM can have.
constexpr unsigned max_cpus = 768;
constexpr std::uint64_t min_memory_mib = 4;
constexpr std::uint64_t max_memory_mib = std::uint64_t{24} << 20;
constexpr std::size_t max_name_length = 80;

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

unsigned parse_cpus(const std::string& text)
{
    unsigned cpus = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cpus);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || cpus < 1 || cpus > max_cpus) {
        fail(Errc::invalid_argument, "ova: cpus={} is not a whole number from 1 to {}", text, max_cpus);
    }
    return cpus;
}

/// MiB per unit of a memory size: none (MiB), M, G or T, alone or followed by B or iB; 0 when
/// the unit is none of these.
std::uint64_t memory_unit_mib(std::string_view unit) noexcept
{
    if (unit.empty()) {
        return 1;
    }
    const std::string_view rest = unit.substr(1);
    if (!(rest.empty() || rest == "B" || rest == "b" || rest == "iB" || rest == "ib")) {
        return 0;
    }
    switch (std::toupper(static_cast<unsigned char>(unit.front()))) {
    case 'M': return 1;
    case 'G': return std::uint64_t{1} << 10;
    case 'T': return std::uint64_t{1} << 20;
    default: return 0;
    }
}

/// Memory in MiB: a plain number is MiB; M, G or T name the unit.
std::uint64_t parse_memory_mib(const std::string& text)
{
    std::uint64_t number = 0;
    const char* last = text.data() + text.size();
    const auto [end, ec] = std::from_chars(text.data(), last, number);
    const std::uint64_t unit = memory_unit_mib(std::string_view(end, static_cast<std::size_t>(last - end)));
    if (ec != std::errc() || end == text.data() || unit == 0 || number > max_memory_mib / unit ||
        number * unit < min_memory_mib) {
        fail(Errc::invalid_argument, "ova: memory={} is not an amount from {} MiB to {} TiB (a plain number is "
             "MiB; M, G or T name the unit)", text, min_memory_mib, max_memory_mib >> 20);
    }
    return number * unit;
}

/// vmw:osType values are VMware guest ids: letters, digits and '_', such as "ubuntu64Guest",
/// "windows9_64Guest", "otherGuest".
std::string parse_os_type(const std::string& text)
{
    const bool plain = !text.empty() && std::ranges::all_of(text, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
    });
    if (!plain || text.find("Guest") == std::string::npos) {
        fail(Errc::invalid_argument, "ova: os={} is not a VMware guest id such as otherGuest64, ubuntu64Guest or "
             "windows9_64Guest", text);
    }
    return text;
}

/// The firmware the VM boots with: VMware's vmw:Config "firmware" values.
std::string parse_firmware(const std::string& text)
{
    if (text != "bios" && text != "efi") {
        fail(Errc::invalid_argument, "ova: firmware={} is not bios or efi", text);
    }
    return text;
}

std::string parse_name(const std::string& text)
{
    const bool printable = std::ranges::none_of(text, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
    if (text.empty() || text.size() > max_name_length || !printable) {
        fail(Errc::invalid_argument, "ova: name='{}' must be 1 to {} printable characters", text, max_name_length);
    }
    return text;
}

/// `text` as a member name: characters other than letters, digits, '.', '-', '_' and '+' become
/// '_', so that the name is a plain relative URI in the OVF's href and a safe file name when the
/// OVA is extracted.
std::string member_stem(std::string_view text)
{
    std::string stem(text);
    for (char& c : stem) {
        const bool safe = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_' || c == '+';
        if (!safe) {
            c = '_';
        }
    }
    return stem.empty() ? "disk" : stem;
}

/// One VMDK member name per disk, from its source file's stem; a name already taken gets "-2",
/// "-3", ... appended.
std::vector<std::string> disk_member_names(const std::vector<const Image*>& disks)
{
    std::vector<std::string> names;
    std::set<std::string> taken;
    for (const Image* disk : disks) {
        const std::string stem = member_stem(std::filesystem::path(disk->info().filename).stem().string());
        std::string name = stem + ".vmdk";
        for (unsigned n = 2; taken.contains(name); ++n) {
            name = fmt::format("{}-{}.vmdk", stem, n);
        }
        taken.insert(name);
        names.push_back(name);
    }
    return names;
}

/// The most bytes a stream-optimized VMDK of `capacity` bytes can take: each 64 KiB grain
/// compresses to at most its size plus a little (zlib's stored blocks) behind a 12-byte marker in
/// whole sectors, and a 2 KiB grain table plus its marker follows every 32 MiB; an eighth over
/// the capacity and 16 MiB for the header, descriptor, directory and footer is ample.
std::uint64_t vmdk_size_bound(std::uint64_t capacity) noexcept
{
    return capacity + capacity / 8 + 16 * mib;
}

/// A window of the OVA, from `base` on, that one disk's VMDK writer sees as its whole file. What
/// is written is hashed on the way, in file order; gaps the writer leaves read as zeros and are
/// hashed as such. The stream writer writes in ascending order, which is all this accepts.
class MemberSink final : public ByteSink {
public:
    MemberSink(ByteSink& file, std::uint64_t base, std::string name)
        : file_(file), base_(base), name_(std::move(name))
    {
    }

    const std::string& name() const override { return name_; }

    void write_at(std::span<const std::byte> data, std::uint64_t offset) override
    {
        hash_up_to(offset);
        file_.write_at(data, base_ + offset);
        sha_.update(data);
        size_ = std::max(size_, offset + data.size());
    }

    void write_zeroes(std::uint64_t offset, std::uint64_t length) override
    {
        hash_up_to(offset);
        file_.write_zeroes(base_ + offset, length);
        size_ = std::max(size_, offset + length);
        hash_up_to(offset + length);
    }

    void resize(std::uint64_t size) override
    {
        if (size < sha_.message_size()) {
            fail(Errc::unsupported, "{}: a disk inside an OVA cannot be cut back to {} bytes", name_, size);
        }
        size_ = size;
    }

    std::uint64_t size() const override { return size_; }

    void commit() override { fail(Errc::unsupported, "{}: a disk inside an OVA is committed with the OVA", name_); }

    /// The member's digest, once its writer has finished.
    std::string finish()
    {
        hash_up_to(size_);
        return sha_.finish();
    }

private:
    /// Hashes the zeros between what is hashed and `offset`; a write before that point would
    /// change bytes already hashed.
    void hash_up_to(std::uint64_t offset)
    {
        if (offset < sha_.message_size()) {
            fail(Errc::unsupported, "{}: the VMDK writer went back to offset {} after writing up to {}", name_,
                 offset, sha_.message_size());
        }
        static constexpr std::array<std::byte, 64 * 1024> zeros{};
        while (sha_.message_size() < offset) {
            sha_.update(std::span(zeros).first(std::min<std::uint64_t>(zeros.size(), offset - sha_.message_size())));
        }
    }

    ByteSink& file_;
    std::uint64_t base_;
    std::string name_;
    std::uint64_t size_ = 0;
    Sha sha_{manifest_digest};
};

/// "SHA256(name)= hex\n": the openssl-style line VMware expects (no space before '(').
std::string manifest_line(const OvaMember& member)
{
    return fmt::format("{}({})= {}\n", sha_name(manifest_digest), member.name, member.sha256);
}

std::uint64_t manifest_size(const std::vector<std::string>& names)
{
    std::uint64_t size = 0;
    for (const std::string& name : names) {
        size += manifest_line({name, 0, std::string(2 * sha_digest_size(manifest_digest), '0')}).size();
    }
    return size;
}

/// The OVF with every number at its widest: the most bytes the descriptor can take.
std::uint64_t ovf_size_bound(const OvfOutputMachine& machine, const std::vector<std::string>& disk_names)
{
    constexpr std::uint64_t widest = std::numeric_limits<std::uint64_t>::max();
    std::vector<OvfOutputDisk> disks;
    for (const std::string& name : disk_names) {
        disks.push_back({name, widest, widest, widest});
    }
    return formats::ova::render_ovf(machine, disks).size();
}

void append(std::vector<std::byte>& out, std::span<const std::byte> bytes)
{
    out.insert(out.end(), bytes.begin(), bytes.end());
}

/// A member's header, its data and the zeros that pad it to whole blocks.
void append_member(std::vector<std::byte>& out, const tar::Member& member, std::string_view data)
{
    append(out, tar::member_header(member));
    append(out, std::as_bytes(std::span(data)));
    out.resize(tar::padded_size(out.size()), std::byte{0});
}

class OvaWriter {
public:
    OvaWriter(const std::vector<const Image*>& disks, const std::filesystem::path& destination,
              const OvaWriteOptions& options)
        : disks_(disks), destination_(destination), options_(options), mtime_(std::time(nullptr))
    {
        if (disks_.empty()) {
            fail(Errc::invalid_argument, "{}: an OVA needs at least one disk", destination_.string());
        }
        for (const Image* disk : disks_) {
            require_not_an_input(*disk, destination_);
            total_bytes_ += disk->size();
        }
        machine_.name = options_.name.empty() ? destination_.stem().string() : options_.name;
        machine_.os_type = options_.os_type;
        machine_.cpus = options_.cpus;
        machine_.memory_mib = options_.memory_mib;
        machine_.firmware = options_.firmware;
        const std::string stem = member_stem(machine_.name);
        ovf_name_ = stem + ".ovf";
        manifest_name_ = stem + ".mf";
        disk_names_ = disk_member_names(disks_);
    }

    OvaWriteStats run()
    {
        FileSink file(destination_, options_.durability);
        ovf_size_ = ovf_size_bound(machine_, disk_names_);
        std::vector<std::string> hashed_names = disk_names_;
        hashed_names.insert(hashed_names.begin(), ovf_name_);
        manifest_size_ = manifest_size(hashed_names);
        std::uint64_t offset = tar::member_header_bytes(ovf_name_, ovf_size_) + tar::padded_size(ovf_size_) +
                               tar::member_header_bytes(manifest_name_, manifest_size_) +
                               tar::padded_size(manifest_size_);
        for (std::size_t i = 0; i < disks_.size(); ++i) {
            offset = write_disk(file, i, offset);
        }
        file.resize(offset + tar::end_of_archive_bytes);
        write_front(file);
        file.commit();
        stats_.size = offset + tar::end_of_archive_bytes;
        return stats_;
    }

private:
    /// Writes disk `index` as a member at `offset`; returns where the next member goes.
    std::uint64_t write_disk(ByteSink& file, std::size_t index, std::uint64_t offset)
    {
        const Image& image = *disks_[index];
        const std::string& name = disk_names_[index];
        const std::uint64_t bound = vmdk_size_bound(image.size());
        const std::uint64_t data_at = offset + tar::member_header_bytes(name, bound);
        // Named as a file inside the OVA, so that the VMDK's descriptor names its extent `name`.
        MemberSink member(file, data_at, (destination_ / name).string());
        CreateRequest request{image.size(), options_.disk_options, &image.info()};
        if (request.options.take("subformat").value_or("streamOptimized") != "streamOptimized") {
            fail(Errc::invalid_argument, "ova: the disks of an OVA are stream-optimized VMDKs; drop subformat");
        }
        const std::unique_ptr<Writer> writer = find_format("vmdk").create(member, std::move(request));
        ConvertOptions convert_options;
        convert_options.threads = options_.threads;
        convert_options.progress = [this](std::uint64_t done, std::uint64_t) {
            return !options_.progress || options_.progress(done_bytes_ + done, total_bytes_);
        };
        const ConvertStats converted = convert(image, *writer, convert_options);
        done_bytes_ += image.size();
        const std::uint64_t size = member.size();
        file.write_at(tar::member_header({name, size, mtime_, bound}), offset);
        ovf_disks_.push_back({name, size, image.size(), converted.data_bytes});
        disk_members_.push_back({name, size, member.finish()});
        return data_at + tar::padded_size(size);
    }

    /// The OVF, padded with trailing spaces to its reserved size, and the manifest, at offset 0.
    void write_front(ByteSink& file)
    {
        std::string ovf = formats::ova::render_ovf(machine_, ovf_disks_);
        if (ovf.size() > ovf_size_) {
            fail(Errc::io, "{}: the OVF descriptor came out {} bytes long, over the {} reserved for it",
                 destination_.string(), ovf.size(), ovf_size_);
        }
        // Whitespace after the root element is allowed (XML 1.0 section 2.1, "Misc").
        if (ovf.size() < ovf_size_) {
            ovf.resize(ovf_size_ - 1, ' ');
            ovf += '\n';
        }
        stats_.members.push_back({ovf_name_, ovf.size(), sha_hex(manifest_digest, std::as_bytes(std::span(ovf)))});
        std::string manifest = manifest_line(stats_.members.front());
        for (const OvaMember& disk : disk_members_) {
            manifest += manifest_line(disk);
        }
        stats_.members.push_back(
            {manifest_name_, manifest.size(), sha_hex(manifest_digest, std::as_bytes(std::span(manifest)))});
        stats_.members.insert(stats_.members.end(), disk_members_.begin(), disk_members_.end());

        std::vector<std::byte> front;
        append_member(front, {ovf_name_, ovf.size(), mtime_, ovf_size_}, ovf);
        append_member(front, {manifest_name_, manifest.size(), mtime_, manifest_size_}, manifest);
        file.write_at(front, 0);
    }

    const std::vector<const Image*>& disks_;
    const std::filesystem::path& destination_;
    const OvaWriteOptions& options_;
    std::int64_t mtime_;
    OvfOutputMachine machine_;
    std::string ovf_name_;
    std::string manifest_name_;
    std::vector<std::string> disk_names_;
    std::uint64_t ovf_size_ = 0;       ///< bytes reserved for the OVF
    std::uint64_t manifest_size_ = 0;  ///< the manifest's exact length
    std::uint64_t total_bytes_ = 0;
    std::uint64_t done_bytes_ = 0;
    std::vector<OvfOutputDisk> ovf_disks_;
    std::vector<OvaMember> disk_members_;
    OvaWriteStats stats_;
};

}  // namespace

void take_ova_options(OptionMap& options, OvaWriteOptions& out)
{
    if (const auto name = options.take("name")) {
        out.name = parse_name(*name);
    }
    if (const auto os = options.take("os")) {
        out.os_type = parse_os_type(*os);
    }
    if (const auto cpus = options.take("cpus")) {
        out.cpus = parse_cpus(*cpus);
    }
    if (const auto memory = options.take("memory")) {
        out.memory_mib = parse_memory_mib(*memory);
    }
    if (const auto firmware = options.take("firmware")) {
        out.firmware = parse_firmware(*firmware);
    }
}

OvaWriteStats write_ova(const std::vector<const Image*>& disks, const std::filesystem::path& destination,
                        const OvaWriteOptions& options)
{
    return OvaWriter(disks, destination, options).run();
}

}  // namespace diskshift
