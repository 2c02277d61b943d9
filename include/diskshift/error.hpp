// diskshift — errors.
//
// Library code throws only diskshift::Error. Its message names the file, the structure and the
// offset concerned, e.g. "disk.vhdx: BAT entry 17 points past end of file (offset 0x…)".
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace diskshift {

/// What kind of failure an Error reports. Tools map every kind to exit status 1.
enum class Errc {
    io,                ///< the operating system refused a read, write, open, sync or rename
    corrupt,           ///< a structure in an image is inconsistent or points outside the file
    unsupported,       ///< a valid input that diskshift cannot handle (yet), or an unknown format
    chain_mismatch,    ///< a delta does not belong to the parent it was given
    invalid_argument,  ///< the caller asked for something impossible (bad option, bad range)
    guest,             ///< a guest operating system could not be inspected or changed
    cancelled,         ///< the caller stopped the operation (progress callback, signal)
};

/// The name of an error kind as it appears in messages and JSON ("chain_mismatch").
std::string_view to_string(Errc code) noexcept;

class Error : public std::runtime_error {
public:
    /// `sys_errno` is the errno behind an `io` error, 0 otherwise.
    Error(Errc code, const std::string& message, int sys_errno = 0);

    Errc code() const noexcept { return code_; }
    int sys_errno() const noexcept { return sys_errno_; }

private:
    Errc code_;
    int sys_errno_;
};

}  // namespace diskshift
