// Fuzz target: an OVA's tar index alone (ustar, GNU long names and base-256 sizes, pax records),
// as the OVA reader builds it, and the probe's look at the first member.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <diskshift/io.hpp>

#include "formats/ova/tar_index.hpp"
#include "fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
    (void)diskshift::formats::ova::first_tar_member(input, size);
    diskshift::fuzz::expect_only_errors([&] {
        const diskshift::MemorySource tar(std::vector<std::byte>(input.begin(), input.end()), "fuzz.ova");
        (void)diskshift::formats::ova::index_tar(tar);
    });
    return 0;
}
