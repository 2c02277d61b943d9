#include "support/guest_tree.hpp"

#include <fstream>

namespace dstest {

void put_file(const std::filesystem::path& file, const std::string& text)
{
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

void put_fake_tool(const std::filesystem::path& root, const std::string& guest_path)
{
    const auto file = root / std::filesystem::path(guest_path).relative_path();
    put_file(file,
             "#!/bin/sh\n"
             "mkdir -p \"$DISKSHIFT_GUEST_ROOT/var/log\"\n"
             "echo \"$(basename \"$0\")${*:+ $*}\" >> \"$DISKSHIFT_GUEST_ROOT/var/log/diskshift-fake-tools.log\"\n");
    std::filesystem::permissions(file, std::filesystem::perms::owner_all);
}

std::vector<std::string> fake_tool_calls(const std::filesystem::path& root)
{
    std::vector<std::string> calls;
    std::ifstream in(root / "var/log/diskshift-fake-tools.log");
    for (std::string line; std::getline(in, line);) {
        calls.push_back(line);
    }
    return calls;
}

}  // namespace dstest
