// Checking what a call throws: the diskshift::Error code, or a description of anything else.
#pragma once

#include <functional>
#include <string>

namespace dstest {

/// What `action` throws: the name of a diskshift::Errc ("invalid_argument"), "no error", or
/// "other exception: <what>". Compare it with CHECK(... == "io") to see the actual kind on failure.
std::string error_kind_of(const std::function<void()>& action);

/// The message of the diskshift::Error `action` throws, or "(no diskshift::Error thrown)".
std::string error_message_of(const std::function<void()>& action);

/// The errno a diskshift::Error thrown by `action` carries, or -1 when none is thrown.
int error_errno_of(const std::function<void()>& action);

}  // namespace dstest
