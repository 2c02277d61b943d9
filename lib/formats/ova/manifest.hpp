// Internal: an OVA's manifest (.mf) and certificate (.cert) (DSP0243 "Package structure"): the
// digests of the package's files, in the spellings producers write.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diskshift::formats::ova {

/// One line: "SHA256(disk.vmdk)= hex" (openssl, VMware) or "SHA256 (disk.vmdk) = hex" (VirtualBox);
/// Oracle's "SHA-256(...)" is accepted too.
struct ManifestEntry {
    std::string algorithm;  ///< "SHA1", "SHA256" or "SHA512"
    std::string file;       ///< as listed, "./" removed
    std::string digest;     ///< lower-case hex, of the length the algorithm gives
    std::size_t line = 0;   ///< 1-based, for messages
};

struct Manifest {
    std::string name;  ///< the manifest's member name
    std::vector<ManifestEntry> entries;
    std::vector<std::string> warnings;  ///< lines not understood, algorithms not supported, repeats
    /// Files named by a line of a supported algorithm whose digest is not hex of the right length:
    /// a damaged line, which the package refuses for a file it reads.
    std::vector<std::string> damaged;

    /// The entry for `file` (a name relative to the descriptor's folder), or null.
    const ManifestEntry* find(std::string_view file) const noexcept;
};

/// Parses a manifest; never throws for its content: a line it cannot use becomes a warning.
Manifest parse_manifest(std::string_view text, std::string_view name);

/// What a .cert says: the digest line that signs the manifest and whether an X.509 certificate
/// follows. The signature itself is not checked.
struct Certificate {
    std::string name;          ///< the certificate's member name
    std::string algorithm;     ///< the signature's digest, "SHA256"…, or "" when no line is understood
    std::string signed_file;   ///< the file the signature covers (the manifest)
    bool has_x509 = false;     ///< a "-----BEGIN CERTIFICATE-----" block is present
};

Certificate parse_certificate(std::string_view text, std::string_view name);

}  // namespace diskshift::formats::ova
