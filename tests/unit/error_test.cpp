// Errc names and what an Error carries.
#include <cerrno>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

#include <diskshift/error.hpp>

#include "support/printing.hpp"

using diskshift::Errc;

TEST_SUITE("error") {

TEST_CASE("Errc: every kind has its documented name")
{
    CHECK(diskshift::to_string(Errc::io) == "io");
    CHECK(diskshift::to_string(Errc::corrupt) == "corrupt");
    CHECK(diskshift::to_string(Errc::unsupported) == "unsupported");
    CHECK(diskshift::to_string(Errc::chain_mismatch) == "chain_mismatch");
    CHECK(diskshift::to_string(Errc::invalid_argument) == "invalid_argument");
    CHECK(diskshift::to_string(Errc::guest) == "guest");
    CHECK(diskshift::to_string(Errc::cancelled) == "cancelled");
}

TEST_CASE("Error: carries its code, errno and message and is a runtime_error")
{
    const diskshift::Error with_errno(Errc::io, "disk.img: read failed", ENOSPC);
    CHECK(with_errno.code() == Errc::io);
    CHECK(with_errno.sys_errno() == ENOSPC);
    CHECK(std::string(with_errno.what()) == "disk.img: read failed");

    const diskshift::Error without_errno(Errc::corrupt, "disk.vhdx: BAT entry 17 points past end of file");
    CHECK(without_errno.code() == Errc::corrupt);
    CHECK(without_errno.sys_errno() == 0);

    try {
        throw diskshift::Error(Errc::chain_mismatch, "child.vmdk: parent CID differs");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "child.vmdk: parent CID differs");
    }
}

}  // TEST_SUITE
