// Fuzz target: VMDK descriptor text alone (parse_descriptor and the probe's looks_like_descriptor),
// without the extents it names; fuzz_vmdk covers the descriptor with its extents.
#include <cstddef>
#include <cstdint>

#include "formats/vmdk/descriptor.hpp"
#include "fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = diskshift::fuzz::as_text({data, size});
    (void)diskshift::formats::vmdk::looks_like_descriptor(text);
    diskshift::fuzz::expect_only_errors([&] {
        const auto descriptor = diskshift::formats::vmdk::parse_descriptor(text, "fuzz.vmdk");
        (void)descriptor.ddb_value("ddb.adapterType");
    });
    return 0;
}
