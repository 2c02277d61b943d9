// A folder for one test's files, below the test's working directory (the build tree, where the file
// system supports holes), removed with everything in it when the test ends.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dstest {

class TempDir {
public:
    /// A new, empty folder below the current working directory.
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

    /// The names of the entries in the folder, sorted.
    std::vector<std::string> names() const;
    /// The names of temporary files a FileSink made (they contain ".diskshift-"), sorted.
    std::vector<std::string> sink_temporaries() const;

private:
    std::filesystem::path path_;
};

}  // namespace dstest
