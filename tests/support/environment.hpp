// Setting an environment variable for the programs a test starts.
#pragma once

#include <stdlib.h>

#include <optional>
#include <string>

namespace dstest {

/// Sets `name` to `value` for the processes the test starts, restoring the old value at the end.
class ScopedEnvironment {
public:
    ScopedEnvironment(const char* name, const char* value) : name_(name)
    {
        if (const char* old = ::getenv(name)) {
            old_ = old;
        }
        ::setenv(name, value, 1);
    }
    ~ScopedEnvironment()
    {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnvironment(const ScopedEnvironment&) = delete;
    ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

/// A libguestfs backend that does not exist: imgfix then fails at once where it would launch the
/// appliance, so a test can see that it got that far without waiting ~20 s.
inline constexpr const char* no_libguestfs_backend = "diskshift-test-no-such-backend";

}  // namespace dstest
