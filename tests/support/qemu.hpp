// Running qemu-img and qemu-io, the independent oracles, to make and read fixtures.
#pragma once

#include <string>
#include <vector>

namespace dstest {

/// The path of a qemu tool ("qemu-img", "qemu-io"); fails the test when it is not on PATH.
std::string qemu_tool(const std::string& name);

/// Runs a qemu tool with `args` and fails the test unless it exits with status 0.
void run_qemu(const std::string& name, const std::vector<std::string>& args);

}  // namespace dstest
