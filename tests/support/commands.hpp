// Running the oracles and fixture tools a test needs (qemu-img, qemu-io, …) and requiring success.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/process.hpp"

namespace dstest {

/// The path of `name` on PATH; fails the test when it is missing (it is a declared dependency).
inline std::string required_program(const std::string& name)
{
    const auto path = find_on_path(name);
    REQUIRE_MESSAGE(path.has_value(), name << " is not on PATH; it is a declared test dependency");
    return path->string();
}

/// Runs `argv` and fails the test, showing its output, unless it exits 0.
inline ProcessResult run_checked(const std::vector<std::string>& argv)
{
    ProcessResult run = run_process(argv);
    INFO(run.describe());
    REQUIRE(run.exit_code() == 0);
    return run;
}

/// Runs the program `name` found on PATH (qemu-img, qemu-io, …) with `args`, like run_checked().
inline ProcessResult run_program(const std::string& name, const std::vector<std::string>& args)
{
    std::vector<std::string> argv = {required_program(name)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_checked(argv);
}

/// The qemu-img on PATH, the oracle most tests compare with.
inline std::filesystem::path qemu_img()
{
    return required_program("qemu-img");
}

}  // namespace dstest
