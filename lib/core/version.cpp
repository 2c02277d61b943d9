#include <diskshift/version.hpp>

namespace diskshift {

const char* version() noexcept { return DISKSHIFT_VERSION_STRING; }

}  // namespace diskshift
