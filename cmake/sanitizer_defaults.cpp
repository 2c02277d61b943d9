// Linked into every executable of a DISKSHIFT_SANITIZE build (cmake/DiskshiftWarnings.cmake).
// The sanitizers end a program with exit status 1 by default, the status our tools give a refused
// input, so a test expecting "exit 1" would pass over a heap overflow. These status codes are ones
// no diskshift tool uses; ASAN_OPTIONS / UBSAN_OPTIONS set in the environment still override them.
extern "C" {

const char* __asan_default_options()
{
    return "exitcode=86";
}

const char* __ubsan_default_options()
{
    return "exitcode=87:print_stacktrace=1";
}

const char* __lsan_default_options()
{
    return "exitcode=88";
}

}  // extern "C"
