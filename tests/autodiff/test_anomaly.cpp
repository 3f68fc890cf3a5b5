// The NaN/Inf debug mode names the first op whose output (or backward cotangent) was not
// finite.
#include "helpers.hpp"

using namespace descent;

TEST(Anomaly, NamesFirstNonFiniteForwardOp) {
  AnomalyGuard on;
  Var x(Tensor::from_vector(std::vector<double>{1.0, -1.0}, {2}), true);
  Var y = exp(x);  // finite
  try {
    Var z = log(x) * y;  // log(-1) = NaN: log is the first op
    FAIL() << "expected NonFiniteError";
  } catch (const NonFiniteError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("log:", 0), 0u) << e.what();
  }
}

TEST(Anomaly, NamesBackwardOp) {
  AnomalyGuard on;
  Var x(Tensor::from_vector(std::vector<double>{0.0, 4.0}, {2}), true);
  Var y = sum(sqrt(x));  // forward finite, d sqrt at 0 is infinite
  try {
    grad(y, {x});
    FAIL() << "expected NonFiniteError";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("sqrt"), std::string::npos) << e.what();
  }
}

TEST(Anomaly, OffByDefault) {
  EXPECT_FALSE(detect_anomaly());
  Var x(Tensor::scalar(-1.0, DType::f64), true);
  EXPECT_NO_THROW(log(x));
}
