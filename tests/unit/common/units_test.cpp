#include "berth/common/units.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

// go-units HumanSize (the default precision, 4), as moby's progress bars print sizes. The CLI's
// precision-3 form is tested with the CLI (tests/unit/cli/format_test.cpp).
TEST(Units, HumanSizeIsGoUnitsHumanSize) {
    EXPECT_EQ(human_size(512), "512B");
    EXPECT_EQ(human_size(1234567), "1.235MB");
    EXPECT_EQ(human_size(2000), "2kB");
}

}  // namespace
}  // namespace berth
