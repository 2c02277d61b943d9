#include "support/errors.hpp"

#include <exception>

#include <diskshift/error.hpp>

namespace dstest {

std::string error_kind_of(const std::function<void()>& action)
{
    try {
        action();
    } catch (const diskshift::Error& e) {
        return std::string(diskshift::to_string(e.code()));
    } catch (const std::exception& e) {
        return std::string("other exception: ") + e.what();
    }
    return "no error";
}

std::string error_message_of(const std::function<void()>& action)
{
    try {
        action();
    } catch (const diskshift::Error& e) {
        return e.what();
    }
    return "(no diskshift::Error thrown)";
}

int error_errno_of(const std::function<void()>& action)
{
    try {
        action();
    } catch (const diskshift::Error& e) {
        return e.sys_errno();
    }
    return -1;
}

}  // namespace dstest
