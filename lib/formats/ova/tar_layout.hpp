// Internal: the tar header block an OVA is made of (POSIX.1-1988 "ustar", with the GNU and POSIX.1-2001
// "pax" extensions). Shared by the OVA reader's tar index and the OVA writer.
#pragma once

#include <cstddef>

namespace diskshift::formats::ova::tar {

/// Every header and every member's data is a whole number of 512-byte blocks (POSIX ustar).
inline constexpr std::size_t block_size = 512;

/// One field of the ustar header block: where it starts and how many bytes it has.
struct Field {
    std::size_t offset;
    std::size_t length;
};

// The ustar header fields (POSIX.1-1988, "ustar Interchange Format"). Numbers are octal text,
// NUL- or space-terminated; GNU tar stores sizes too large for `size` in base 256 (high bit of the
// first byte set).
inline constexpr Field name{0, 100};
inline constexpr Field mode{100, 8};
inline constexpr Field uid{108, 8};
inline constexpr Field gid{116, 8};
inline constexpr Field size{124, 12};
inline constexpr Field mtime{136, 12};
inline constexpr Field checksum{148, 8};  ///< sum of the header's bytes with this field as spaces
inline constexpr Field typeflag{156, 1};
inline constexpr Field linkname{157, 100};
inline constexpr Field magic{257, 6};     ///< "ustar\0" (POSIX) or "ustar " (old GNU)
inline constexpr Field version{263, 2};   ///< "00" (POSIX) or " \0" (old GNU)
inline constexpr Field uname{265, 32};
inline constexpr Field gname{297, 32};
inline constexpr Field devmajor{329, 8};
inline constexpr Field devminor{337, 8};
inline constexpr Field prefix{345, 155};  ///< ustar: name = prefix + "/" + name when not empty

// Type flags (POSIX ustar, plus GNU 'L'/'K' and pax 'x'/'g').
inline constexpr char type_file = '0';
inline constexpr char type_file_old = '\0';  ///< pre-POSIX tar
inline constexpr char type_hard_link = '1';
inline constexpr char type_symlink = '2';
inline constexpr char type_char_device = '3';
inline constexpr char type_block_device = '4';
inline constexpr char type_directory = '5';
inline constexpr char type_fifo = '6';
inline constexpr char type_contiguous = '7';
inline constexpr char type_gnu_long_name = 'L';
inline constexpr char type_gnu_long_link = 'K';
inline constexpr char type_pax_member = 'x';  ///< pax records for the next member
inline constexpr char type_pax_global = 'g';  ///< pax records for every later member

/// The largest size the 11 octal digits of `size` hold: 8 GiB - 1. Larger members need a pax
/// `size` record or GNU base-256.
inline constexpr unsigned long long max_octal_size = 077777777777ULL;

}  // namespace diskshift::formats::ova::tar
