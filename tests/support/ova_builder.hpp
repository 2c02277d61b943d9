// Building OVAs at test time the way producers do: disk files made with qemu-img and our own
// writers, descriptors from testdata/ova/, manifests from sha*sum, and GNU tar in the producer's
// format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dstest {

/// A raw disk of `size` bytes (a multiple of 64 KiB): zeros with random 64 KiB pieces at a quarter,
/// half and the end of the disk, and `random_prefix` random bytes at the start.
std::vector<std::byte> ova_disk_bytes(std::uint64_t size, std::uint64_t seed, std::uint64_t random_prefix = 0);

/// How a disk file inside a package is made from its raw bytes.
enum class DiskFile {
    stream_vmdk_qemu,  ///< qemu-img, subformat=streamOptimized
    stream_vmdk_ours,  ///< imgconv -O vmdk (streamOptimized)
    sparse_vmdk,       ///< qemu-img's default monolithicSparse
    vhd_dynamic,       ///< imgconv -O vhd (dynamic, exact size)
    raw,               ///< the bytes as they are
};

/// Writes the raw file `raw` as `kind` to `out`.
void write_disk_file(const std::filesystem::path& raw, DiskFile kind, const std::filesystem::path& out);

/// The text of testdata/ova/<name>.
std::string ova_descriptor(const std::string& name);

/// Replaces `ovf:size="<stand_in>"` with the real size; the stand-in must be there.
void set_ovf_size(std::string& ovf, std::uint64_t stand_in, std::uint64_t real);

/// A manifest line for <dir>/<file> computed with sha1sum, sha256sum or sha512sum ("SHA1",
/// "SHA256", "SHA512"): "SHA256(file)= hex" (openssl, VMware) or "SHA256 (file) = hex" (VirtualBox).
enum class ManifestSpelling { openssl, spaced };
std::string manifest_line(const std::filesystem::path& dir, const std::string& file, const std::string& algorithm,
                          ManifestSpelling spelling = ManifestSpelling::openssl);

/// `tar --format=<format> -cf <ova> -C <dir> <members...>`, members in the order given.
void pack_ova(const std::filesystem::path& dir, const std::vector<std::string>& members, const std::string& format,
              const std::filesystem::path& ova);

/// `imginfo --json [--disk ID] OVA`, which must succeed.
nlohmann::json ova_info(const std::filesystem::path& ova, const std::string& disk = "");

}  // namespace dstest
