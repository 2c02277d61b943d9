#include "formats/vmdk/descriptor.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <random>

#include "core/fail.hpp"

namespace diskshift::formats::vmdk {
namespace {

constexpr std::string_view blanks = " \t\r\v\f";

std::string_view trim(std::string_view s) noexcept
{
    const auto first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos) {
        return {};
    }
    return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

/// The technote says descriptor keys and values are not case-sensitive.
char ascii_lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) noexcept
{
    return text.size() >= prefix.size() && equal_ignoring_case(text.substr(0, prefix.size()), prefix);
}

std::string_view unquote(std::string_view value) noexcept
{
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        return value.substr(1, value.size() - 2);
    }
    return value;
}

template <std::size_t N>
std::optional<std::size_t> index_of(const std::array<std::string_view, N>& names, std::string_view word) noexcept
{
    for (std::size_t i = 0; i < N; ++i) {
        if (equal_ignoring_case(names[i], word)) {
            return i;
        }
    }
    return std::nullopt;
}

// Index order follows the enums.
constexpr std::array<std::string_view, 3> access_names = {"RW", "RDONLY", "NOACCESS"};
constexpr std::array<std::string_view, 6> type_names = {"SPARSE", "FLAT", "ZERO", "VMFS", "VMFSSPARSE", "SESPARSE"};

/// Splits off the next blank-separated word of `rest`.
std::string_view next_word(std::string_view& rest) noexcept
{
    rest = trim(rest);
    const auto end = std::min(rest.find_first_of(blanks), rest.size());
    const std::string_view word = rest.substr(0, end);
    rest = rest.substr(end);
    return word;
}

template <typename T>
std::optional<T> parse_number(std::string_view text, int base) noexcept
{
    T value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return value;
}

/// True when the line starts like an extent line: an access word followed by a number.
bool is_extent_line(std::string_view line) noexcept
{
    std::string_view rest = line;
    if (!index_of(access_names, next_word(rest))) {
        return false;
    }
    const std::string_view size = next_word(rest);
    return !size.empty() && size.front() >= '0' && size.front() <= '9';
}

class Parser {
public:
    explicit Parser(const std::string& where) : where_(where) {}

    void line(std::string_view raw, std::size_t number)
    {
        const std::string_view text = trim(raw);
        if (text.empty() || text.front() == '#') {
            return;
        }
        if (is_extent_line(text)) {
            extent(text, number);
        } else if (const auto equals = text.find('='); equals != std::string_view::npos) {
            setting(trim(text.substr(0, equals)), unquote(trim(text.substr(equals + 1))), number);
        } else {
            out_.warnings.push_back(fmt::format("{}: descriptor line {} ignored: neither a setting nor an extent",
                                                where_, number));
        }
    }

    Descriptor finish() { return std::move(out_); }

private:
    void setting(std::string_view key, std::string_view value, std::size_t number)
    {
        if (equal_ignoring_case(key, "version")) {
            out_.version = value;
        } else if (equal_ignoring_case(key, "createType")) {
            out_.create_type = value;
        } else if (equal_ignoring_case(key, "CID")) {
            out_.cid = cid(value, "CID", number);
        } else if (equal_ignoring_case(key, "parentCID")) {
            out_.parent_cid = cid(value, "parentCID", number);
        } else if (equal_ignoring_case(key, "parentFileNameHint")) {
            out_.parent_hint = value;
        } else if (starts_with_ignoring_case(key, "ddb.")) {
            out_.ddb.emplace_back(key, value);
        }
    }

    std::uint32_t cid(std::string_view value, std::string_view key, std::size_t number) const
    {
        const auto parsed = parse_number<std::uint32_t>(value, 16);
        if (!parsed) {
            fail(Errc::corrupt, "{}: descriptor line {}: {} \"{}\" is not a 32-bit hexadecimal number", where_,
                 number, key, value);
        }
        return *parsed;
    }

    void extent(std::string_view text, std::size_t number)
    {
        if (out_.extents.size() == max_extent_lines) {
            fail(Errc::corrupt, "{}: descriptor has more than {} extent lines (line {})", where_, max_extent_lines,
                 number);
        }
        ExtentLine e;
        e.line_number = number;
        std::string_view rest = text;
        e.access = static_cast<ExtentAccess>(*index_of(access_names, next_word(rest)));
        const std::string_view size_word = next_word(rest);
        const auto sectors = parse_number<std::uint64_t>(size_word, 10);
        if (!sectors || *sectors > max_disk_sectors - total_sectors_) {
            fail(Errc::corrupt, "{}: descriptor line {}: extent size \"{}\" makes the disk larger than {} sectors",
                 where_, number, size_word, max_disk_sectors);
        }
        e.sectors = *sectors;
        total_sectors_ += *sectors;
        const std::string_view type_word = next_word(rest);
        const auto type = index_of(type_names, type_word);
        if (!type) {
            fail(Errc::unsupported, "{}: descriptor line {}: extent type \"{}\" is not supported (known: SPARSE, "
                 "FLAT, ZERO, VMFS, VMFSSPARSE, SESPARSE)", where_, number, type_word);
        }
        e.type = static_cast<ExtentType>(*type);
        rest = trim(rest);
        if (e.type != ExtentType::zero) {
            e.file = file_name(rest, number);
            offset(e, trim(rest), number);
        }
        out_.extents.push_back(std::move(e));
    }

    /// The quoted file name at the start of `rest`, which is advanced past it.
    std::string file_name(std::string_view& rest, std::size_t number) const
    {
        const auto close = rest.size() > 1 && rest.front() == '"' ? rest.find('"', 1) : std::string_view::npos;
        if (close == std::string_view::npos || close == 1) {
            fail(Errc::corrupt, "{}: descriptor line {}: the extent's file name is missing or not quoted", where_,
                 number);
        }
        std::string name(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
        return name;
    }

    void offset(ExtentLine& e, std::string_view rest, std::size_t number) const
    {
        if (rest.empty()) {
            return;
        }
        const auto parsed = parse_number<std::uint64_t>(rest, 10);
        if (!parsed || *parsed > max_disk_sectors * 2) {
            fail(Errc::corrupt, "{}: descriptor line {}: extent offset \"{}\" is not a sector number", where_, number,
                 rest);
        }
        e.offset_sectors = *parsed;
    }

    const std::string& where_;
    Descriptor out_;
    std::uint64_t total_sectors_ = 0;
};

}  // namespace

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string Descriptor::ddb_value(std::string_view key) const
{
    for (const auto& [name, value] : ddb) {
        if (equal_ignoring_case(name, key)) {
            return value;
        }
    }
    return {};
}

Descriptor parse_descriptor(std::string_view text, const std::string& where)
{
    text = text.substr(0, std::min(text.find('\0'), text.size()));
    Parser parser(where);
    std::size_t number = 1;
    while (!text.empty()) {
        const auto end = std::min(text.find('\n'), text.size());
        parser.line(text.substr(0, end), number++);
        text = text.substr(std::min(end + 1, text.size()));
    }
    return parser.finish();
}

bool looks_like_descriptor(std::string_view head) noexcept
{
    head = trim(head.substr(0, std::min(head.find('\0'), head.size())));
    if (starts_with_ignoring_case(head, "# Disk DescriptorFile")) {
        return true;
    }
    while (!head.empty()) {
        const auto end = std::min(head.find('\n'), head.size());
        const std::string_view line = trim(head.substr(0, end));
        if (!line.empty() && line.front() != '#') {
            const auto equals = line.find('=');
            return equals != std::string_view::npos && equal_ignoring_case(trim(line.substr(0, equals)), "version");
        }
        head = head.substr(std::min(end + 1, head.size()));
    }
    return false;
}

std::string_view to_string(ExtentAccess access) noexcept
{
    return access_names[static_cast<std::size_t>(access)];
}

std::string_view to_string(ExtentType type) noexcept
{
    return type_names[static_cast<std::size_t>(type)];
}

std::string format_cid(std::uint32_t cid)
{
    return fmt::format("{:08x}", cid);
}

std::string format_descriptor(const NewDescriptor& d)
{
    // The layout of the technote's examples.
    return fmt::format("# Disk DescriptorFile\n"
                       "version=1\n"
                       "CID={0}\n"
                       "parentCID={1}\n"
                       "createType=\"{2}\"\n"
                       "\n"
                       "# Extent description\n"
                       "RW {3} SPARSE \"{4}\"\n"
                       "\n"
                       "# The Disk Data Base\n"
                       "#DDB\n"
                       "\n"
                       "ddb.adapterType = \"{5}\"\n"
                       "ddb.geometry.cylinders = \"{6}\"\n"
                       "ddb.geometry.heads = \"{7}\"\n"
                       "ddb.geometry.sectors = \"{8}\"\n"
                       "ddb.longContentID = \"{9}\"\n"
                       "ddb.virtualHWVersion = \"{10}\"\n"
                       "ddb.toolsVersion = \"{11}\"\n",
                       format_cid(d.id.cid), format_cid(no_parent_cid), d.create_type, d.sectors, d.file,
                       d.adapter_type, d.cylinders, d.heads, d.sectors_per_track, d.id.long_content_id,
                       d.hardware_version, d.tools_version);
}

DiskIdentity fresh_identity()
{
    // Technote, "Content ID": ffffffff means "no parent"; fffffffe is also kept out of the way.
    constexpr std::uint32_t reserved_cids = 0xfffffffeU;
    std::random_device entropy;
    DiskIdentity id;
    do {
        id.cid = static_cast<std::uint32_t>(entropy());
    } while (id.cid >= reserved_cids);
    // ddb.longContentID: 32 hexadecimal digits whose last 8 are the CID.
    id.long_content_id = fmt::format("{:08x}{:08x}{:08x}{}", entropy(), entropy(), entropy(), format_cid(id.cid));
    return id;
}

}  // namespace diskshift::formats::vmdk
