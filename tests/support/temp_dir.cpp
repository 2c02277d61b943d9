#include "support/temp_dir.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace dstest {

TempDir::TempDir()
{
    std::string pattern = (std::filesystem::current_path() / "diskshift-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    path_ = pattern;
}

TempDir::~TempDir()
{
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::vector<std::string> TempDir::names() const
{
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
        out.push_back(entry.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> TempDir::sink_temporaries() const
{
    std::vector<std::string> out = names();
    std::erase_if(out, [](const std::string& name) { return name.find(".diskshift-") == std::string::npos; });
    return out;
}

}  // namespace dstest
