#include "support/ova_builder.hpp"

#include <doctest/doctest.h>

#include "support/byte_range.hpp"
#include "support/commands.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/random_data.hpp"

namespace dstest {

std::vector<std::byte> ova_disk_bytes(std::uint64_t size, std::uint64_t seed, std::uint64_t random_prefix)
{
    REQUIRE(size % (64 * KiB) == 0);
    std::vector<std::byte> bytes(size);
    RandomBytes random(seed);
    random.fill(std::span(bytes).first(random_prefix));
    for (const std::uint64_t at : {size / 4, size / 2, size - 64 * KiB}) {
        random.fill(std::span(bytes).subspan(at, 64 * KiB));
    }
    return bytes;
}

void write_disk_file(const std::filesystem::path& raw, DiskFile kind, const std::filesystem::path& out)
{
    const std::string in = raw.string();
    switch (kind) {
    case DiskFile::stream_vmdk_qemu:
        run_checked({qemu_img().string(), "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", in,
                     out.string()});
        break;
    case DiskFile::stream_vmdk_ours:
        run_checked({tool_path("imgconv").string(), "-f", "raw", "-O", "vmdk", in, out.string()});
        break;
    case DiskFile::sparse_vmdk:
        run_checked({qemu_img().string(), "convert", "-f", "raw", "-O", "vmdk", in, out.string()});
        break;
    case DiskFile::vhd_dynamic:
        run_checked({tool_path("imgconv").string(), "-f", "raw", "-O", "vhd", in, out.string()});
        break;
    case DiskFile::raw:
        std::filesystem::copy_file(raw, out, std::filesystem::copy_options::overwrite_existing);
        break;
    }
}

std::string ova_descriptor(const std::string& name)
{
    return read_text_file(std::filesystem::path(DISKSHIFT_SOURCE_DIR) / "testdata" / "ova" / name);
}

void set_ovf_size(std::string& ovf, std::uint64_t stand_in, std::uint64_t real)
{
    const std::string from = "ovf:size=\"" + std::to_string(stand_in) + "\"";
    const std::size_t at = ovf.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "the descriptor has no " << from);
    ovf.replace(at, from.size(), "ovf:size=\"" + std::to_string(real) + "\"");
}

std::string manifest_line(const std::filesystem::path& dir, const std::string& file, const std::string& algorithm,
                          ManifestSpelling spelling)
{
    std::string program = algorithm == "SHA1" ? "sha1sum" : algorithm == "SHA256" ? "sha256sum" : "sha512sum";
    const ProcessResult run = run_program(program, {(dir / file).string()});
    const std::string hex = run.out.substr(0, run.out.find(' '));
    return spelling == ManifestSpelling::openssl ? algorithm + "(" + file + ")= " + hex + "\n"
                                                 : algorithm + " (" + file + ") = " + hex + "\n";
}

void pack_ova(const std::filesystem::path& dir, const std::vector<std::string>& members, const std::string& format,
              const std::filesystem::path& ova)
{
    std::vector<std::string> args = {"--format=" + format, "-cf", ova.string(), "-C", dir.string()};
    args.insert(args.end(), members.begin(), members.end());
    run_program("tar", args);
}

nlohmann::json ova_info(const std::filesystem::path& ova, const std::string& disk)
{
    std::vector<std::string> args = {"--json", ova.string()};
    if (!disk.empty()) {
        args.insert(args.begin(), {"--disk", disk});
    }
    const ProcessResult run = run_tool("imginfo", args);
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    return nlohmann::json::parse(run.out);
}

}  // namespace dstest
