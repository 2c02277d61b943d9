// Fake guest trees for the fixup tests: files written under a temporary root, and fake guest tools
// (dracut, update-initramfs, grub2-mkconfig, …) that only record how they were called.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dstest {

/// Writes `text` to `file`, creating its folders.
void put_file(const std::filesystem::path& file, const std::string& text);

/// Makes `root` + `guest_path` a shell script that appends "<its name> <its arguments>" as one
/// line to $DISKSHIFT_GUEST_ROOT/var/log/diskshift-fake-tools.log and exits 0.
void put_fake_tool(const std::filesystem::path& root, const std::string& guest_path);

/// The lines the fake tools under `root` logged, in order.
std::vector<std::string> fake_tool_calls(const std::filesystem::path& root);

}  // namespace dstest
