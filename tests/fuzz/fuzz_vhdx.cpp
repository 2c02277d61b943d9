// Fuzz target: a folded VHDX file (vhdx_fold.hpp) opened as VHDX and read through convert() (see
// fuzz_harness.cpp for the bounds).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz_harness.hpp"
#include "vhdx_fold.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    diskshift::fuzz::open_and_read(
        std::make_shared<diskshift::fuzz::FoldedVhdxSource>(std::vector<std::byte>(bytes, bytes + size), "fuzz.vhdx"),
        "vhdx");
    return 0;
}
