// ParameterLayout: blocks must tile θ in order with unique names and consecutive groups;
// views alias the flat buffer; groups get their [begin, end); masks select blocks or groups.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "descent/core/error.hpp"
#include "descent/core/parameter_layout.hpp"

using namespace descent;

namespace {

ParameterLayout two_layers() {
  // Layer 0: W [3, 2], b [3]; layer 1 has no parameters; layer 2: W [1, 3].
  return ParameterLayout({{"0.weight", 0, {3, 2}, 0}, {"0.bias", 6, {3}, 0}, {"2.weight", 9, {1, 3}, 2}},
                         {{"0", "Linear(2 → 3)"}, {"1", "tanh"}, {"2", "Linear(3 → 1)"}});
}

}  // namespace

TEST(ParameterLayout, GroupsSpanTheirBlocksAndViewsAliasTheBuffer) {
  const ParameterLayout layout = two_layers();
  EXPECT_EQ(layout.size(), 12);
  ASSERT_EQ(layout.groups().size(), 2u);  // the parameter-free group is left out
  EXPECT_EQ(layout.groups()[0].name, "0");
  EXPECT_EQ(layout.groups()[0].begin, 0);
  EXPECT_EQ(layout.groups()[0].end, 9);
  EXPECT_EQ(layout.groups()[1].name, "2");
  EXPECT_EQ(layout.groups()[1].begin, 9);
  EXPECT_EQ(layout.groups()[1].end, 12);
  Tensor theta = Tensor::zeros({12}, DType::f64);
  std::vector<Tensor> views = layout.views(theta);
  ASSERT_EQ(views.size(), 3u);
  EXPECT_EQ(views[1].shape(), (Shape{3}));
  views[1].fill(2.0);  // writes through to θ[6, 9)
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(theta.at(i), i >= 6 && i < 9 ? 2.0 : 0.0) << i;
  EXPECT_EQ(layout.block("2.weight").offset, 9);
  EXPECT_THROW(layout.block("1.weight"), InputError);
  EXPECT_THROW(layout.views(Tensor::zeros({11}, DType::f64)), ShapeError);
}

TEST(ParameterLayout, MaskSelectsNamedBlocksAndGroups) {
  const ParameterLayout layout = two_layers();
  const std::vector<std::string> names{"0.bias", "2"};
  const Tensor m = layout.mask(names, DType::f32);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(m.at(i), i >= 6 ? 1.0 : 0.0) << i;
  const std::vector<std::string> unknown{"3"};
  EXPECT_THROW(layout.mask(unknown, DType::f32), InputError);
}

TEST(ParameterLayout, RefusesGapsDuplicatesAndSplitGroups) {
  const std::vector<LayoutGroup> groups{{"a", ""}, {"b", ""}};
  EXPECT_THROW(ParameterLayout({{"x", 0, {2}, 0}, {"y", 3, {2}, 0}}, groups), ShapeError);  // gap
  EXPECT_THROW(ParameterLayout({{"x", 0, {2}, 0}, {"x", 2, {2}, 0}}, groups), InputError);  // duplicate
  EXPECT_THROW(ParameterLayout({{"x", 0, {2}, 0}, {"y", 2, {2}, 1}, {"z", 4, {1}, 0}}, groups), InputError);
  EXPECT_THROW(ParameterLayout({{"x", 0, {2}, 5}}, groups), InputError);  // no such group
}
