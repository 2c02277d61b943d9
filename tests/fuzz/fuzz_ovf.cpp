// Fuzz target: an OVF descriptor (parse_ovf: the envelope, References, DiskSection, the
// VirtualSystem's hardware).
#include <cstddef>
#include <cstdint>

#include "formats/ova/ovf.hpp"
#include "fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    diskshift::fuzz::expect_only_errors(
        [&] { (void)diskshift::formats::ova::parse_ovf(diskshift::fuzz::as_text({data, size}), "fuzz.ovf"); });
    return 0;
}
