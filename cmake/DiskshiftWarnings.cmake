# Compiler flags every diskshift target gets: warnings, and the sanitizers when asked for.
add_library(diskshift_flags INTERFACE)
target_compile_options(diskshift_flags INTERFACE -Wall -Wextra -Wpedantic)
if(DISKSHIFT_WERROR)
    target_compile_options(diskshift_flags INTERFACE -Werror)
endif()
# GCC 12 at -O3 reports std::string concatenations inside libstdc++ as overlapping memcpy calls
# (-Wrestrict, GCC bug 105329, fixed in GCC 13); the warning stays on for other compilers.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(diskshift_flags INTERFACE -Wno-restrict)
endif()
if(DISKSHIFT_SANITIZE)
    set(_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_compile_options(diskshift_flags INTERFACE ${_sanitizers})
    target_link_options(diskshift_flags INTERFACE ${_sanitizers})
    # GCC 12's flow analysis sees the sanitizers' instrumentation and reports uninitialised values
    # inside <regex> that are not there; the sanitizers themselves check the real thing at run time.
    target_compile_options(diskshift_flags INTERFACE -Wno-maybe-uninitialized)
endif()
# The fuzz build (tests/fuzz): every diskshift file carries libFuzzer's coverage hooks and the
# sanitizers; the fuzz targets add -fsanitize=fuzzer (libFuzzer's main) when they link.
if(DISKSHIFT_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "DISKSHIFT_FUZZ needs clang (libFuzzer): configure with CXX=clang++")
    endif()
    set(_fuzz_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_compile_options(diskshift_flags INTERFACE -fsanitize=fuzzer-no-link ${_fuzz_sanitizers})
    target_link_options(diskshift_flags INTERFACE ${_fuzz_sanitizers})
endif()
