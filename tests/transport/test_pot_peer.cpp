// descent against POT (Debian's python3-pot) on the same random problems: exact costs to
// 1e-9, Sinkhorn to 1e-6 at equal ε and tolerance, the 1-D and sliced closed forms and the
// fixed-support barycenter. Skipped with a message where no python3 imports ot.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/peer.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/transport/barycenter.hpp"
#include "descent/transport/closed_form.hpp"
#include "descent/transport/cost.hpp"
#include "descent/transport/exact.hpp"
#include "descent/transport/sinkhorn.hpp"
#include "descent/transport/sliced.hpp"

using namespace descent;
using namespace descent::transport;
using nlohmann::json;

namespace {

Tensor random_weights(Rng& rng, int64_t n) {
  Tensor w = rng.uniform_tensor({n}, DType::f64, 0.2, 1.0);
  return mul(w, 1.0 / sum_all(w));
}

}  // namespace

TEST(PotPeer, SameAnswersOnTheSameProblems) {
  DESCENT_REQUIRE_PEER(python, "ot");
  Rng rng(13);
  json req;
  // Exact and entropic OT, weighted, 70 x 50 points in the plane.
  const int64_t n = 70, m = 50;
  const Tensor x = rng.uniform_tensor({n, 2}, DType::f64), y = rng.uniform_tensor({m, 2}, DType::f64, 0.5, 1.5);
  const Tensor a = random_weights(rng, n), b = random_weights(rng, m), C = cost_matrix(x, y);
  const double eps = 0.02, tol = 1e-11;
  req["ot"] = {{"a", a.to_vector()}, {"b", b.to_vector()}, {"C", C.to_vector()}, {"epsilon", eps}, {"tolerance", tol}};
  // 1-D with weights, p = 1.5.
  const Tensor x1 = rng.normal_tensor({40}, DType::f64), y1 = rng.normal_tensor({65}, DType::f64, 1.0, 2.0);
  const Tensor a1 = random_weights(rng, 40), b1 = random_weights(rng, 65);
  req["one_d"] = {{"x", x1.to_vector()}, {"y", y1.to_vector()}, {"a", a1.to_vector()}, {"b", b1.to_vector()}, {"p", 1.5}};
  // Sliced, 5-D, given directions.
  const Tensor xs = rng.normal_tensor({30, 5}, DType::f64), ys = rng.normal_tensor({45, 5}, DType::f64, 0.5);
  const Tensor as = random_weights(rng, 30), bs = random_weights(rng, 45), dirs = random_directions(20, 5, 7);
  req["sliced"] = {{"x", xs.to_vector()}, {"y", ys.to_vector()}, {"a", as.to_vector()}, {"b", bs.to_vector()},
                   {"d", 5},          {"p", 2.0},          {"directions", dirs.to_vector()}};
  // Fixed-support barycenter of three histograms on a grid of 30 points in [0, 1].
  const int64_t nb = 30;
  const Tensor grid = mul(Tensor::arange(nb, DType::f64), 1.0 / (nb - 1));
  const Tensor Cb = cost_matrix(grid, grid);
  Tensor H = Tensor::empty({nb, 3}, DType::f64);
  for (int64_t k = 0; k < 3; ++k) {
    const Tensor h = random_weights(rng, nb);
    for (int64_t i = 0; i < nb; ++i) H.set(i * 3 + k, h.at(i));
  }
  // Uniform λ: POT 0.8.2 starts its iterative Bregman projections from scalings whose
  // λ-weighted log-mean is not zero (an unweighted geometric mean), which that iteration
  // preserves, so for non-uniform λ it converges to a feasible but suboptimal point.
  const Tensor lambdas = Tensor::full({3}, 1.0 / 3.0, DType::f64);
  req["barycenter"] = {{"n", nb}, {"histograms", H.to_vector()}, {"C", Cb.to_vector()}, {"epsilon", 0.01},
                       {"lambdas", lambdas.to_vector()}};

  const std::string path = ::testing::TempDir() + "transport_pot_request.json";
  std::ofstream(path) << std::setprecision(17) << req.dump();
  const auto reply =
      descent::testing::run_command(python + " " + descent::testing::source_dir() + "/tests/transport/pot_peer.py " + path);
  std::remove(path.c_str());
  ASSERT_TRUE(reply) << "pot_peer.py failed";
  const json pot = json::parse(*reply);

  EXPECT_NEAR(exact_ot(a, b, C).cost, pot["emd"].get<double>(), 1e-9);
  SinkhornOptions o;
  o.epsilon = eps;
  o.tolerance = tol;
  const SinkhornResult plain = sinkhorn(a, b, C, o), logd = sinkhorn_log(a, b, C, o);
  EXPECT_NEAR(plain.cost, pot["sinkhorn"].get<double>(), 1e-6);
  EXPECT_NEAR(logd.cost, pot["sinkhorn"].get<double>(), 1e-6);
  EXPECT_NEAR(logd.cost, pot["sinkhorn_log"].get<double>(), 1e-6);
  const auto pot_plan = pot["sinkhorn_plan"].get<std::vector<double>>();
  double worst = 0;
  for (int64_t k = 0; k < n * m; ++k) worst = std::max(worst, std::abs(pot_plan[k] - logd.plan.at(k)));
  EXPECT_LT(worst, 1e-9);

  EXPECT_NEAR(transport_1d(x1, y1, a1, b1, 1.5).cost, pot["wasserstein_1d"].get<double>(), 1e-12);
  EXPECT_NEAR(sliced_wasserstein(xs, ys, dirs, as, bs, 2.0), pot["sliced"].get<double>(), 1e-12);

  BarycenterOptions bo;
  bo.epsilon = 0.01;
  bo.tolerance = 1e-13;
  const FixedSupportBarycenter bary = sinkhorn_barycenter(H, Cb, lambdas, bo);
  EXPECT_TRUE(bary.converged);
  const auto pot_bary = pot["barycenter"].get<std::vector<double>>();
  for (int64_t i = 0; i < nb; ++i) EXPECT_NEAR(bary.weights.at(i), pot_bary[i], 1e-9) << "support point " << i;
}
