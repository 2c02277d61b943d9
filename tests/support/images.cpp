#include "support/images.hpp"

#include <diskshift/format.hpp>
#include <diskshift/io.hpp>

namespace dstest {

std::unique_ptr<diskshift::Image> open_raw_bytes(std::vector<std::byte> bytes, const std::string& name)
{
    diskshift::OpenContext context;
    context.options.format = "raw";
    return diskshift::open_image(std::make_shared<diskshift::MemorySource>(std::move(bytes), name), context);
}

std::unique_ptr<diskshift::Image> open_raw_file(const std::filesystem::path& path)
{
    diskshift::OpenOptions options;
    options.format = "raw";
    return diskshift::open_image(path, options);
}

}  // namespace dstest
