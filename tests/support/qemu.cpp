#include "support/qemu.hpp"

#include <doctest/doctest.h>

#include "support/process.hpp"

namespace dstest {

std::string qemu_tool(const std::string& name)
{
    const auto path = find_on_path(name);
    REQUIRE_MESSAGE(path.has_value(), name << " is not on PATH; it is a declared test dependency (qemu-utils)");
    return path->string();
}

void run_qemu(const std::string& name, const std::vector<std::string>& args)
{
    std::vector<std::string> argv = {qemu_tool(name)};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult result = run_process(argv);
    INFO(result.describe());
    REQUIRE(result.exit_code() == 0);
}

}  // namespace dstest
