// Fuzz target: an OVA's manifest (.mf) and certificate (.cert) parsers, both given the input.
#include <cstddef>
#include <cstdint>

#include "formats/ova/manifest.hpp"
#include "fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = diskshift::fuzz::as_text({data, size});
    diskshift::fuzz::expect_only_errors([&] {
        const auto manifest = diskshift::formats::ova::parse_manifest(text, "fuzz.mf");
        for (const auto& entry : manifest.entries) {
            (void)manifest.find(entry.file);
        }
    });
    diskshift::fuzz::expect_only_errors([&] { (void)diskshift::formats::ova::parse_certificate(text, "fuzz.cert"); });
    return 0;
}
