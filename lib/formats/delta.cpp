#include "formats/delta.hpp"

#include "core/fail.hpp"

namespace diskshift::formats {

void refuse_delta_alone(const ImageInfo& info, const OpenContext& context)
{
    if (!info.parent || context.options.allow_delta_alone) {
        return;
    }
    const ParentRef& parent = *info.parent;
    fail(Errc::invalid_argument,
         "{}: is a {} delta layer; it needs its parent \"{}\" (parent id {}). Read the whole chain "
         "with imgmerge, or open the delta layer alone on purpose (its unallocated ranges then read "
         "as zeros)",
         info.filename, info.format, parent.hint.empty() ? "(no name recorded)" : parent.hint,
         parent.id.empty() ? "(none recorded)" : parent.id);
}

}  // namespace diskshift::formats
