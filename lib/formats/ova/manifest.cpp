// Manifest lines are "ALGO(file)= hex" with optional blanks before "(" and around "=" (openssl
// dgst, VMware; IPRT's "%s (%s) = %s" in VirtualBox). The name is what lies between the first "("
// and the last ")", so names with parentheses survive.
#include "formats/ova/manifest.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/sha.hpp"
#include "formats/ova/tar_index.hpp"

namespace diskshift::formats::ova {
namespace {

std::string_view trim(std::string_view text)
{
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!text.empty() && blank(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && blank(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

/// "SHA-256", "sha256" → "SHA256"; an algorithm diskshift does not know is kept as written.
std::string algorithm_name(std::string_view text)
{
    const auto known = sha_algorithm_named(text);
    return known ? std::string(sha_name(*known)) : std::string(text);
}

bool is_hex(std::string_view text)
{
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

struct DigestLine {
    std::string algorithm;
    std::string file;
    std::string digest;
};

/// Splits "ALGO ( file ) = digest"; nullopt when the line has another shape. The digest is
/// checked by the caller: a damaged one still names its file.
std::optional<DigestLine> split_digest_line(std::string_view line)
{
    const std::size_t open = line.find('(');
    const std::size_t close = line.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return std::nullopt;
    }
    const std::string_view rest = trim(line.substr(close + 1));
    if (rest.empty() || rest.front() != '=') {
        return std::nullopt;
    }
    const std::string_view algorithm = trim(line.substr(0, open));
    const std::string_view digest = trim(rest.substr(1));
    if (algorithm.empty() || digest.empty()) {
        return std::nullopt;
    }
    std::string hex(digest);
    std::transform(hex.begin(), hex.end(), hex.begin(), [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    return DigestLine{algorithm_name(algorithm), std::string(line.substr(open + 1, close - open - 1)), hex};
}

/// Calls `visit(line, number)` for each line, CR LF or LF ended.
template <typename Visit>
void for_each_line(std::string_view text, Visit&& visit)
{
    std::size_t number = 0;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        visit(trim(text.substr(0, end)), ++number);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    }
}

}  // namespace

const ManifestEntry* Manifest::find(std::string_view file) const noexcept
{
    const auto it = std::find_if(entries.begin(), entries.end(), [&](const ManifestEntry& e) { return e.file == file; });
    return it == entries.end() ? nullptr : &*it;
}

Manifest parse_manifest(std::string_view text, std::string_view name)
{
    Manifest manifest;
    manifest.name = std::string(name);
    for_each_line(text, [&](std::string_view line, std::size_t number) {
        if (line.empty()) {
            return;
        }
        const auto parsed = split_digest_line(line);
        if (!parsed) {
            manifest.warnings.push_back(fmt::format("{}: line {} is not 'ALGORITHM(file)= digest'; ignored", name, number));
            return;
        }
        const auto known = sha_algorithm_named(parsed->algorithm);
        if (!known) {
            manifest.warnings.push_back(fmt::format("{}: line {}: digest algorithm {} is not supported (SHA1, SHA256, "
                                                    "SHA512 are); {} is not checked", name, number, parsed->algorithm, parsed->file));
            return;
        }
        const std::string file = normalise_member_name(parsed->file).value_or(parsed->file);
        if (!is_hex(parsed->digest)) {
            manifest.warnings.push_back(fmt::format("{}: line {} is not 'ALGORITHM(file)= digest'; ignored", name, number));
            manifest.damaged.push_back(file);
            return;
        }
        const std::size_t hex_digits = 2 * sha_digest_size(*known);
        if (parsed->digest.size() != hex_digits) {
            manifest.warnings.push_back(fmt::format("{}: line {}: a {} digest has {} hex digits, not {}; ignored", name,
                                                    number, parsed->algorithm, parsed->digest.size(), hex_digits));
            manifest.damaged.push_back(file);
            return;
        }
        if (manifest.find(file) != nullptr) {
            manifest.warnings.push_back(fmt::format("{}: line {}: {} is listed again; the first line counts", name,
                                                    number, file));
            return;
        }
        manifest.entries.push_back({parsed->algorithm, file, parsed->digest, number});
    });
    return manifest;
}

Certificate parse_certificate(std::string_view text, std::string_view name)
{
    Certificate cert;
    cert.name = std::string(name);
    for_each_line(text, [&](std::string_view line, std::size_t) {
        if (line == "-----BEGIN CERTIFICATE-----") {
            cert.has_x509 = true;
        } else if (cert.algorithm.empty()) {
            if (const auto parsed = split_digest_line(line)) {
                cert.algorithm = parsed->algorithm;
                cert.signed_file = parsed->file;
            }
        }
    });
    return cert;
}

}  // namespace diskshift::formats::ova
