#include <doctest/doctest.h>

#include "formats/delta.hpp"
#include "support/errors.hpp"
#include "support/text.hpp"

using namespace diskshift;

TEST_CASE("refuse_delta_alone: a delta needs its parent unless the caller asks for the layer alone")
{
    ImageInfo info;
    info.filename = "child.vmdk";
    info.format = "vmdk";
    OpenContext context;
    auto open_it = [&] { formats::refuse_delta_alone(info, context); };
    CHECK(dstest::error_kind_of(open_it) == "no error");

    info.parent = ParentRef{"base.vmdk", "1234abcd"};
    CHECK(dstest::error_kind_of(open_it) == "invalid_argument");
    const std::string message = dstest::error_message_of(open_it);
    CHECK(dstest::contains(message, "child.vmdk"));
    CHECK(dstest::contains(message, "\"base.vmdk\""));
    CHECK(dstest::contains(message, "1234abcd"));

    context.options.allow_delta_alone = true;
    CHECK(dstest::error_kind_of(open_it) == "no error");
}
