// Fuzz target: a file opened as VHD and read through convert() (see fuzz_harness.cpp for the bounds).
#include <cstddef>
#include <cstdint>

#include "fuzz_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    diskshift::fuzz::open_and_read({data, size}, "vhd", "fuzz.vhd");
    return 0;
}
