// Non-finite numbers survive a JSON round trip (core/json_numbers.hpp): nlohmann writes NaN as
// null, which a diverged run's checkpoint could not read back.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "descent/core/json_numbers.hpp"

using namespace descent;

TEST(JsonNumbers, NonFiniteValuesRoundTripLosslessly) {
  const double inf = std::numeric_limits<double>::infinity();
  nlohmann::json j = {{"loss", NAN}, {"up", inf}, {"down", -inf}, {"ok", 1.25}, {"name", "run"},
                      {"history", {{{"test_loss", NAN}}, {{"test_loss", 0.5}}}}, {"count", 3}};
  EXPECT_TRUE(nlohmann::json::parse(j.dump())["loss"].is_null());  // the defect, without encoding
  const nlohmann::json back = decode_non_finite(nlohmann::json::parse(encode_non_finite(j).dump()));
  EXPECT_TRUE(std::isnan(back["loss"].get<double>()));
  EXPECT_EQ(back["up"].get<double>(), inf);
  EXPECT_EQ(back["down"].get<double>(), -inf);
  EXPECT_EQ(back["ok"].get<double>(), 1.25);
  EXPECT_EQ(back["name"], "run");
  EXPECT_EQ(back["count"].get<int>(), 3);
  EXPECT_TRUE(std::isnan(back["history"][0]["test_loss"].get<double>()));
  EXPECT_EQ(back["history"][1]["test_loss"].get<double>(), 0.5);
  EXPECT_EQ(encode_non_finite(j)["loss"], "NaN");
}
