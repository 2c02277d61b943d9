// Internal: throwing diskshift::Error with a formatted message.
#pragma once

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include <diskshift/error.hpp>

namespace diskshift {

template <typename... Args>
[[noreturn]] void fail(Errc code, fmt::format_string<Args...> format, Args&&... args)
{
    throw Error(code, fmt::format(format, std::forward<Args>(args)...));
}

/// An Errc::io error for a failed system call: the message ends with strerror(err).
template <typename... Args>
[[noreturn]] void fail_errno(int err, fmt::format_string<Args...> format, Args&&... args)
{
    throw Error(Errc::io, fmt::format("{}: {}", fmt::format(format, std::forward<Args>(args)...), std::strerror(err)),
                err);
}

}  // namespace diskshift
