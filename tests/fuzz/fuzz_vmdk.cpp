// Fuzz target: a file opened as VMDK and read through convert() (see fuzz_harness.cpp for the bounds).
#include <cstddef>
#include <cstdint>

#include "fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    diskshift::fuzz::open_and_read({data, size}, "vmdk", "fuzz.vmdk");
    return 0;
}
