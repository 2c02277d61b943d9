// Text checks for messages and tool output.
#pragma once

#include <string>
#include <string_view>

namespace dstest {

inline bool contains(std::string_view text, std::string_view part)
{
    return text.find(part) != std::string_view::npos;
}

}  // namespace dstest
