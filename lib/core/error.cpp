#include <diskshift/error.hpp>

namespace diskshift {

std::string_view to_string(Errc code) noexcept
{
    switch (code) {
    case Errc::io: return "io";
    case Errc::corrupt: return "corrupt";
    case Errc::unsupported: return "unsupported";
    case Errc::chain_mismatch: return "chain_mismatch";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::guest: return "guest";
    case Errc::cancelled: return "cancelled";
    }
    return "unknown";
}

Error::Error(Errc code, const std::string& message, int sys_errno)
    : std::runtime_error(message), code_(code), sys_errno_(sys_errno)
{
}

}  // namespace diskshift
