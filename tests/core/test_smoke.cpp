#include <gtest/gtest.h>
#include "descent/core.hpp"
using namespace descent;
TEST(Smoke, Matmul) {
  Tensor a = Tensor::ones({2, 3}), b = Tensor::ones({3, 4});
  EXPECT_EQ(matmul(a, b).at(0), 3.0);
}
