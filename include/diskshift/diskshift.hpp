// diskshift — the whole public API.
#pragma once

#include <diskshift/check.hpp>
#include <diskshift/commit.hpp>
#include <diskshift/convert.hpp>
#include <diskshift/error.hpp>
#include <diskshift/extent.hpp>
#include <diskshift/format.hpp>
#include <diskshift/image.hpp>
#include <diskshift/inspect.hpp>
#include <diskshift/io.hpp>
#include <diskshift/merge.hpp>
#include <diskshift/ova.hpp>
#include <diskshift/ova_writer.hpp>
#include <diskshift/version.hpp>
#include <diskshift/writer.hpp>
