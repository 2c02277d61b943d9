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
# AddressSanitizer and UndefinedBehaviorSanitizer, for the sanitized build and the fuzz build.
set(_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
if(DISKSHIFT_SANITIZE)
    set(DISKSHIFT_SANITIZER_FLAGS ${_sanitizers})
    target_compile_options(diskshift_flags INTERFACE ${DISKSHIFT_SANITIZER_FLAGS})
    target_link_options(diskshift_flags INTERFACE ${DISKSHIFT_SANITIZER_FLAGS})
    # GCC 12's flow analysis sees the sanitizers' instrumentation and reports uninitialised values
    # inside <regex> that are not there; the sanitizers themselves check the real thing at run time.
    target_compile_options(diskshift_flags INTERFACE -Wno-maybe-uninitialized)
endif()

# Every executable of a sanitized build (tools, tests) carries the sanitizers' default options: a
# sanitizer report must not end the program with exit status 1, which means "the input was refused".
function(diskshift_sanitizer_defaults target)
    if(DISKSHIFT_SANITIZE)
        target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/sanitizer_defaults.cpp)
    endif()
endfunction()

# The fuzz build (tests/fuzz): every diskshift file carries libFuzzer's coverage hooks and the
# sanitizers; the fuzz targets add -fsanitize=fuzzer (libFuzzer's main) when they link.
if(DISKSHIFT_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "DISKSHIFT_FUZZ needs clang (libFuzzer): configure with CXX=clang++")
    endif()
    target_compile_options(diskshift_flags INTERFACE -fsanitize=fuzzer-no-link ${_sanitizers})
    target_link_options(diskshift_flags INTERFACE ${_sanitizers})
endif()
